"""Real processes for black-box tests: ``cipd`` commands and ``cipd serve`` on loopback, their
descendants, their memory, and checks that none is left behind."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "abuse-token-0123456789"
KEY = "abuse-key-0123456789abcdef"


def cipd_env(store: Path, **extra: str) -> dict[str, str]:
    """The environment of a ``cipd`` process working on ``store``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIPD_")}
    env.update(
        {
            "CIPD_STORE": str(store),
            "CIPD_PSEUDONYM_KEY": KEY,
            "CIPD_USER": "abuse",
            "CIPD_API_TOKEN": TOKEN,
        }
    )
    env.update(extra)
    return env


def cipd(*args: str, env: Mapping[str, str], **kwargs: object) -> subprocess.Popen[bytes]:
    """Start ``cipd ARGS`` (as ``python -m cipd_graph``)."""
    return subprocess.Popen(  # type: ignore[call-overload,no-any-return]
        [sys.executable, "-m", "cipd_graph", *args], cwd=ROOT, env=dict(env), **kwargs
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def served(store: Path, **extra: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``cipd serve`` on ``store`` at a free loopback port: the process and its URL. Stopped
    (SIGTERM, then SIGKILL) at the end if still running."""
    port = free_port()
    process = cipd(
        "serve",
        "--port",
        str(port),
        env=cipd_env(store, **extra),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"cipd serve stopped: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("cipd serve did not answer /health in 60 s")
            time.sleep(0.1)
        yield process, url
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """End ``process`` (and reap it): SIGTERM, then SIGKILL after 10 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stderr is not None:
        process.stderr.close()


def _ppid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def descendants(pid: int) -> set[int]:
    """Every living process below ``pid`` (children, their children, ...)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            ppid = _ppid(int(entry.name))
            if ppid is not None:
                parents[int(entry.name)] = ppid
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier and p not in found}
        found |= frontier
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def wait_gone(pids: set[int], timeout: float = 10) -> set[int]:
    """Wait up to ``timeout`` s for ``pids`` to end; those still running."""
    deadline = time.monotonic() + timeout
    left = {p for p in pids if alive(p)}
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = {p for p in left if alive(p)}
    return left


def kill_all(pids: set[int]) -> None:
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def peak_rss_mb(pid: int) -> float:
    """The peak resident memory of ``pid`` so far (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def rss_mb(pid: int) -> float:
    """The resident memory of ``pid`` now (VmRSS), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


#: Predicates whose values differ from one run of the same load to the next (load times).
_WHEN = ("<http://www.w3.org/ns/prov#generatedAtTime>", "<http://www.w3.org/ns/prov#startedAtTime>")


def state(store: Path) -> str:
    """A hash of the store's sorted N-Quads export (names included), without the load times
    provenance records: equal for the same content however and whenever it was loaded."""
    import hashlib

    from cipd_graph import Settings
    from cipd_graph.graph import GraphStore

    with GraphStore(store, Settings(store=str(store), pseudonym_key=KEY)) as s:
        data = s.export("nq", with_names=True).decode("utf-8")
    lines = sorted(line for line in data.splitlines() if line and not any(w in line for w in _WHEN))
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()
