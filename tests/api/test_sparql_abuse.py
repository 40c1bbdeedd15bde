"""The SPARQL endpoint under abuse: queries never block the server (issue 23, point 2).

``cipd serve`` runs as a process of its own on loopback. Clients send, over and over and at
once, the 19.8 KB ``FILTER(1+1+...+1)`` query that once held ``/health`` up for 14 s, a
cross product that runs to the time limit, a query that builds a huge string, a sorted cross
product that its memory limit stops, and a deeply nested one. Meanwhile ``/health`` must answer within a
second every time, the abusive queries must get 400 or 503 (never a 5xx of another kind or
a hang), and the peak memory of the server and its query processes is measured. Half the
clients hammer without pause, half wait as ``Retry-After`` asks.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from cipd_graph import Settings
from cipd_graph.graph import GraphStore

from ..conftest import SAMPLES
from ..processes import alive as running

PATHOLOGICAL = {
    "plus": "SELECT * WHERE { FILTER(" + "+".join(["1"] * 9_900) + ") }",
    "cross": "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }",
    "memory": "SELECT (STRLEN(GROUP_CONCAT(?o; separator='..........................')) AS ?n) "
    "WHERE { ?a ?b ?o . ?c ?d ?e }",
    "nested": "SELECT * WHERE " + "{" * 60 + "?s ?p ?o " + "}" * 60,
    "sort": "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f } ORDER BY ?c ?f",
}
CLIENTS = 8
ABUSE_S = 8.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tree(root: int) -> list[int]:
    """``root`` and every process descending from it."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat[1])
    tree, grew = {root}, True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return sorted(tree)


def _rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text().splitlines()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status if line.startswith("VmRSS:")), 0)
    return total / 1024


@pytest.mark.slow
def test_health_answers_within_a_second_while_pathological_queries_run(tmp_path: Path):
    store = tmp_path / "store"
    key = "abuse-key-0123456789abcdef"
    with GraphStore(store, Settings(pseudonym_key=key, user="abuse")) as graph:
        assert graph.load([SAMPLES]).ok
    port = _free_port()
    env = {
        **os.environ,
        "CIPD_STORE": str(store),
        "CIPD_PSEUDONYM_KEY": key,
        "CIPD_PORT": str(port),
        "CIPD_QUERY_TIMEOUT": "3",
        "CIPD_QUERY_SLOTS": "2",
        "CIPD_QUERY_QUEUE": "4",
        "CIPD_QUERY_MEMORY": "1024",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "cipd_graph", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    seen: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        baseline_mb = _rss_mb(_tree(server.pid))

        codes: Counter[tuple[str, int]] = Counter()
        stop = time.monotonic() + ABUSE_S

        def abuse(i: int) -> None:
            names = list(PATHOLOGICAL)
            with httpx.Client(base_url=url, timeout=30) as http:
                k = i
                while time.monotonic() < stop:
                    name = names[k % len(names)]
                    response = http.post("/sparql", data={"query": PATHOLOGICAL[name]})
                    codes[name, response.status_code] += 1
                    k += 1
                    if response.status_code == 503 and i % 2:  # half the clients back off
                        time.sleep(float(response.headers.get("retry-after", "1")))

        clients = [threading.Thread(target=abuse, args=(i,)) for i in range(CLIENTS)]
        for client in clients:
            client.start()
        latencies: list[float] = []
        peak_mb, peak_processes = baseline_mb, 1
        with httpx.Client(base_url=url, timeout=30) as http:
            while any(c.is_alive() for c in clients):
                start = time.monotonic()
                health = http.get("/health")
                latencies.append(time.monotonic() - start)
                assert health.status_code == 200
                pids = _tree(server.pid)
                seen.extend(pids)
                peak_mb = max(peak_mb, _rss_mb(pids))
                peak_processes = max(peak_processes, len(pids))
                time.sleep(0.1)
        for client in clients:
            client.join()
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(30)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
    print(
        f"\n/health: {len(latencies)} calls, slowest {max(latencies):.3f} s; "
        f"server + query processes: {baseline_mb:.0f} MB at rest, peak {peak_mb:.0f} MB "
        f"with {peak_processes} processes; answers: {dict(sorted(codes.items()))}"
    )
    assert len(latencies) > 20
    assert max(latencies) < 1.0, sorted(latencies)[-5:]
    assert {code for name, code in codes if name != "nested"} <= {400, 503}, codes
    assert {code for name, code in codes if name == "nested"} <= {200, 503}, codes
    assert codes["plus", 400] > 0
    assert any(code == 503 for name, code in codes if name == "cross")  # time limit or queue
    # two query slots: the server, the forkserver, its resource tracker, two query processes
    assert peak_processes <= 5, peak_processes
    assert peak_mb < 2_500, peak_mb
    deadline = time.monotonic() + 15  # the forkserver and resource tracker follow their parent
    # a zombie left to an init that does not reap is not running
    while (alive := [p for p in set(seen) if running(p)]) and (time.monotonic() < deadline):
        time.sleep(0.1)
    assert not alive, f"processes left behind: {alive}"
