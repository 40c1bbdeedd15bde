"""The API under load: it answers or sheds load (429/503), never falls over, never grows without bound."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from cipd_graph import Settings
from cipd_graph.api.limits import ConcurrencyLimit

from .conftest import Server, start_server

SLOW_QUERY = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o . ?s a ?c }"
TARGETS = [
    ("GET", "/sparql", {"query": SLOW_QUERY}),
    ("GET", "/sparql", {"query": "ASK { ?s a <https://w3id.org/cipd#Strand> }"}),
    ("GET", "/queries/cq02-weaving-levels", {}),
    ("GET", "/projects", {}),
    ("GET", "/stats", {}),
    ("GET", "/modules/ncu-qi-practice", {}),
]


def test_config_reads_the_limits():
    s = Settings.from_env({"CIPD_MAX_CONCURRENT": "3", "CIPD_MAX_QUEUE": "0"})
    assert (s.max_concurrent, s.max_queue) == (3, 0)
    assert Settings.from_env({}).max_concurrent == 8
    names = [name for name, _, _ in s.describe()]
    assert "CIPD_MAX_CONCURRENT" in names and "CIPD_MAX_QUEUE" in names
    from cipd_graph._errors import ConfigError

    with pytest.raises(ConfigError, match="CIPD_MAX_CONCURRENT='0'"):
        Settings.from_env({"CIPD_MAX_CONCURRENT": "0"})


def test_the_limiter_queues_then_refuses_with_retry_after():
    """One slot and a queue of one: the first runs, the second waits, the third gets 429."""

    async def scenario() -> list[object]:
        release = asyncio.Event()
        started = asyncio.Event()

        async def hold(_request: Request) -> PlainTextResponse:
            started.set()
            await release.wait()
            return PlainTextResponse("held")

        async def health(_request: Request) -> PlainTextResponse:
            return PlainTextResponse("ok")

        inner = Starlette(routes=[Route("/hold", hold), Route("/health", health)])
        app = ConcurrencyLimit(inner, max_concurrent=1, max_queue=1)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://limit") as client:
            first = asyncio.create_task(client.get("/hold"))
            await started.wait()
            second = asyncio.create_task(client.get("/hold"))
            while app.waiting < 1:
                await asyncio.sleep(0)
            third = await client.get("/hold")
            health = await client.get("/health")  # never queued
            release.set()
            done = [await first, await second]
        return [third, health, *done, app.in_flight, app.waiting, app.refused]

    third, health, first, second, in_flight, waiting, refused = asyncio.run(scenario())
    assert third.status_code == 429  # type: ignore[attr-defined]
    assert third.headers["retry-after"] == "1"  # type: ignore[attr-defined]
    assert "CIPD_MAX_CONCURRENT" in third.json()["detail"]  # type: ignore[attr-defined]
    assert health.status_code == 200  # type: ignore[attr-defined]
    assert first.status_code == second.status_code == 200  # type: ignore[attr-defined]
    assert (in_flight, waiting, refused) == (0, 0, 1)


# --------------------------------------------------------------------------- a real server


def descendants() -> int:
    """How many running processes descend from this one (SPARQL query children, the
    forkserver); zombies are left out."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":  # a killed child not yet reaped runs no query: not counted
            parents[int(entry.name)] = int(fields[1])
    mine = {os.getpid()}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in mine and pid not in mine:
                mine.add(pid)
                grew = True
    # only the query machinery (multiprocessing's forkserver, its tracker and children):
    # a browser of another test, spawning renderers as it pleases, is not the server's
    return sum(1 for pid in mine - {os.getpid()} if _multiprocessing(pid, parents))


def _multiprocessing(pid: int, parents: dict[int, int]) -> bool:
    for p in (pid, parents.get(pid, 0)):
        try:
            if b"multiprocessing" in Path(f"/proc/{p}/cmdline").read_bytes():
                return True
        except OSError:
            continue
    return False


def resources() -> dict[str, int]:
    status = Path("/proc/self/status").read_text().splitlines()
    rss_kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    return {
        "threads": threading.active_count(),
        "fds": len(list(Path("/proc/self/fd").iterdir())),
        "children": descendants(),
        "rss_mb": rss_kb // 1024,
    }


def settled(baseline: dict[str, int]) -> dict[str, int]:
    """Resources once the killed or finished query children are reaped (polled, not timed)."""
    deadline = time.monotonic() + 30
    now = resources()
    while now["children"] > baseline["children"] and time.monotonic() < deadline:
        time.sleep(0.1)
        now = resources()
    return now


async def burst(url: str, clients: int) -> Counter[int]:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

        async def one(i: int) -> list[int]:
            codes = []
            for k in range(2):  # each client calls twice, one call after the other
                method, path, params = TARGETS[(i + k) % len(TARGETS)]
                response = await client.request(method, path, params=params)
                if response.status_code == 429:
                    assert response.headers["retry-after"]
                codes.append(response.status_code)
            return codes

        answers = await asyncio.gather(*(one(i) for i in range(clients)))
        return Counter(code for codes in answers for code in codes)


class PeakChildren(threading.Thread):
    """Samples the number of descendant processes while a burst runs."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, descendants())
            time.sleep(0.01)


@pytest.fixture
def small_server(tmp_path: Path) -> Iterator[Server]:
    """A server with two slots, a queue of four and a tight query time limit."""
    yield from start_server(tmp_path / "store", max_concurrent=2, max_queue=4, query_timeout=2.0)


@pytest.mark.slow
def test_many_clients_get_answers_or_429_and_nothing_grows(small_server: Server):
    with small_server.client() as client:  # warm up: the forkserver, the worker threads
        assert client.get("/sparql", params={"query": SLOW_QUERY}).status_code == 200
    asyncio.run(burst(small_server.url, 12))
    baseline = settled(resources())

    rounds = []
    for _ in range(2):
        sampler = PeakChildren()
        sampler.start()
        counts = asyncio.run(burst(small_server.url, 120))
        sampler.stop.set()
        sampler.join()
        # two query children at most (the two slots), besides the forkserver
        assert sampler.peak <= baseline["children"] + 2, (sampler.peak, baseline)
        rounds.append((counts, settled(baseline)))
        with small_server.client() as client:
            health = client.get("/health")
        assert health.status_code == 200 and health.json()["status"] == "ok"

    for counts, _ in rounds:
        assert set(counts) <= {200, 429, 503}, counts
        assert counts[200] > 0, "the server answered nobody"
        assert counts[429] > 0, "120 clients against 2 slots and a queue of 4 must see 429s"
    first, last = rounds[0][1], rounds[-1][1]
    assert last["children"] <= baseline["children"], (baseline, last)
    assert last["fds"] <= first["fds"] + 10, (first, last)
    assert last["threads"] <= first["threads"] + 4, (first, last)
    assert last["rss_mb"] <= first["rss_mb"] + 150, (first, last)
