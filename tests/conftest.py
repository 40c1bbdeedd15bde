"""Shared fixtures: the ontology and model as shipped, read once per session; and a check
that the test run leaves no process behind."""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import Graph

from cipd_graph import Model, load_ontology, ontology_dir

#: ``PR_SET_CHILD_SUBREAPER`` from <linux/prctl.h>.
_PR_SET_CHILD_SUBREAPER = 36


def _children() -> dict[int, tuple[str, str]]:
    """This process's children: pid -> (state letter, command line)."""
    found: dict[int, tuple[str, str]] = {}
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            # "pid (comm) state ppid ...": comm may hold spaces and parentheses
            state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
            if int(ppid) != me:
                continue
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError):
            continue
        found[int(entry.name)] = (state, command.strip())
    return found


def _reap(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)


@pytest.fixture(scope="session", autouse=True)
def no_process_left_behind() -> Iterator[None]:
    """Fail the run if the tests leave a process running (a load worker of a killed load, a
    server never stopped, a query child...).

    This process becomes a *child subreaper* (Linux), so the orphans of every process a test
    starts are adopted by it rather than by init, and show as its children at the end. The
    multiprocessing helpers this process started for itself (a forkserver, a resource
    tracker) are stopped first; whatever else still runs is killed and fails the run.
    """
    if not sys.platform.startswith("linux"):
        yield
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    before = set(_children())
    yield
    import multiprocessing.forkserver
    import multiprocessing.resource_tracker

    for helper in (
        multiprocessing.forkserver._forkserver,  # type: ignore[attr-defined]
        multiprocessing.resource_tracker._resource_tracker,  # type: ignore[attr-defined]
    ):
        with contextlib.suppress(Exception):
            helper._stop()
    deadline = time.monotonic() + 10  # processes told to stop may take a moment
    while True:
        now = _children()
        _reap([pid for pid, (state, _) in now.items() if state == "Z"])
        left = {pid: c for pid, (state, c) in now.items() if state != "Z" and pid not in before}
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    for pid in left:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    _reap(list(left))
    if left:
        listed = "\n".join(f"  pid {pid}: {command[:300]}" for pid, command in sorted(left.items()))
        pytest.fail(f"the tests left {len(left)} process(es) running (now killed):\n{listed}")


@pytest.fixture(scope="session")
def ontology() -> Graph:
    """The merged ontology (do not mutate: copy it first)."""
    return load_ontology()


@pytest.fixture(scope="session")
def model(ontology: Graph) -> Model:
    return Model(ontology)


@pytest.fixture
def ontology_copy(tmp_path: Path) -> Path:
    """A writable copy of the ontology directory, for tests that edit or break it."""
    target = tmp_path / "ontology"
    shutil.copytree(ontology_dir(), target)
    return target


ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "examples" / "records"


@pytest.fixture
def settings():
    from cipd_graph import Settings

    return Settings(pseudonym_key="test-key-0123456789abcdef", user="tester")


@pytest.fixture
def records(tmp_path: Path) -> Path:
    """A writable copy of the sample records."""
    target = tmp_path / "records"
    shutil.copytree(SAMPLES, target)
    return target


@pytest.fixture(scope="session")
def loaded_sample_store(tmp_path_factory: pytest.TempPathFactory):
    """An on-disk store holding every sample record (read it, do not write)."""
    from cipd_graph import Settings
    from cipd_graph.graph import GraphStore

    location = tmp_path_factory.mktemp("sample-store")
    store = GraphStore(location, Settings(pseudonym_key="test-key-0123456789abcdef", user="tester"))
    result = store.load([SAMPLES])
    assert result.ok, result.to_text()
    yield store
    store.close()


@pytest.fixture(scope="session")
def virtuoso(tmp_path_factory: pytest.TempPathFactory):
    """A private Virtuoso Open Source server on loopback for this test session.

    CI installs it (.ci/run) and a missing server fails there; on a developer machine
    without the package the remote-backend tests are skipped.
    """
    import os

    from .virtuoso import Virtuoso, available

    if not available():
        if os.environ.get("CI"):
            pytest.fail("virtuoso-opensource is not installed; .ci/run installs it with apt")
        pytest.skip("virtuoso-opensource is not installed (apt-get install virtuoso-opensource)")
    server = Virtuoso(tmp_path_factory.mktemp("virtuoso"))
    server.start()
    yield server
    server.stop()
