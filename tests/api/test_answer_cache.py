"""The API's whole-store answers: kept per store version, computed again in the background
only once writes have paused (CIPD_REFRESH_DELAY), on a real store on disk."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cipd_graph import Settings
from cipd_graph.api.cache import AnswerCache
from cipd_graph.graph import GraphStore

from ..conftest import SAMPLES

PROJECTS = sorted((SAMPLES / "projects").glob("*.yaml"))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[GraphStore]:
    settings = Settings(pseudonym_key="test-key-0123456789abcdef", user="tester")
    with GraphStore(tmp_path / "store", settings) as opened:
        assert opened.load([SAMPLES / "reference", PROJECTS[0]], staged=False).ok
        yield opened


class Counted:
    """A whole-store answer (the number of batches) that records when it was computed."""

    def __init__(self, store: GraphStore) -> None:
        self.store = store
        self.at: list[float] = []

    def __call__(self) -> int:
        self.at.append(time.monotonic())
        return len(self.store.record_graphs())


def _running(cache: AnswerCache) -> bool:
    """Whether this cache's background thread is alive (other servers' run in this process)."""
    return any(t is cache._thread and t.is_alive() for t in threading.enumerate())


def test_an_answer_is_kept_until_the_next_write(store: GraphStore) -> None:
    cache = AnswerCache(store, delay=60)
    batches = Counted(store)
    first = cache.get("batches", batches)
    assert cache.get("batches", batches) == first
    assert len(batches.at) == 1
    assert store.load([PROJECTS[1]], staged=False).ok
    assert cache.get("batches", batches) == first + 1  # the write's new version
    assert len(batches.at) == 2
    cache.close()


def test_background_answers_wait_until_writes_pause(store: GraphStore) -> None:
    delay = 3.0  # far longer than one small write, even on a loaded machine
    cache = AnswerCache(store, delay=delay)
    batches = Counted(store)
    cache.warm("batches", batches)
    store.pipeline.listeners.append(cache.refresh)
    try:
        # A run of real writes, each less than the delay after the last: nothing computed.
        writes_ended = time.monotonic()
        for project in PROJECTS[1:4]:
            assert store.load([project], staged=False).ok
            writes_ended = time.monotonic()
            assert batches.at == []
        deadline = time.monotonic() + 30
        # Until the answer is kept, not only started (``Counted`` notes its start: checking
        # the keys right after that failed now and then, the answer not yet kept).
        while cache.keys() != ["batches"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(batches.at) == 1, "computed once after the writes paused"
        assert batches.at[0] >= writes_ended + delay - 0.05
        assert cache.keys() == ["batches"]
        assert cache.get("batches", batches) == len(store.record_graphs())
        assert len(batches.at) == 1  # served from the cache: same version
    finally:
        store.pipeline.listeners.remove(cache.refresh)
        cache.close()
    assert not _running(cache)


def test_each_refresh_puts_the_work_off_again(store: GraphStore) -> None:
    delay = 1.0
    cache = AnswerCache(store, delay=delay)
    batches = Counted(store)
    cache.warm("batches", batches)
    try:
        last = time.monotonic()
        for _ in range(10):  # 2 s of refreshes, as writes every 0.2 s would call it
            cache.refresh()
            last = time.monotonic()
            time.sleep(0.2)
        assert batches.at == [], "nothing computed while refreshes kept coming"
        deadline = time.monotonic() + 30
        while not batches.at and time.monotonic() < deadline:
            time.sleep(0.05)
        assert batches.at and batches.at[0] >= last + delay
    finally:
        cache.close()


def test_close_stops_a_waiting_refresh(store: GraphStore) -> None:
    cache = AnswerCache(store, delay=3600)
    batches = Counted(store)
    cache.warm("batches", batches)
    cache.refresh()
    assert _running(cache)
    started = time.monotonic()
    cache.close(timeout=10)
    assert time.monotonic() - started < 5
    assert batches.at == []
    assert not _running(cache)


def test_the_delay_comes_from_the_environment() -> None:
    from cipd_graph._errors import ConfigError

    assert Settings.from_env({}).refresh_delay == 2.0
    assert Settings.from_env({"CIPD_REFRESH_DELAY": "0.5"}).refresh_delay == 0.5
    for bad in ("-1", "soon", "nan", "inf"):
        with pytest.raises(ConfigError, match="CIPD_REFRESH_DELAY"):
            Settings.from_env({"CIPD_REFRESH_DELAY": bad})


class RefusedError(Exception):
    """A refusal that depends on the store's content alone (as a figure too wide to draw)."""


def test_a_kept_refusal_is_served_again_until_the_next_write(store: GraphStore) -> None:
    cache = AnswerCache(store, delay=60, keep=(RefusedError,))
    asked: list[int] = []

    def refuse() -> int:
        asked.append(len(store.record_graphs()))
        raise RefusedError(f"{asked[-1]} batches are too many")

    batches = len(store.record_graphs())
    for _ in range(3):
        with pytest.raises(RefusedError, match=f"^{batches} batches are too many") as caught:
            cache.get("figure", refuse)
        assert caught.value.__traceback__ is not None
    assert asked == [batches]  # the same version: refused once, the same refusal kept
    assert store.load([PROJECTS[1]], staged=False).ok
    with pytest.raises(RefusedError, match=f"^{batches + 1} batches"):
        cache.get("figure", refuse)
    assert asked == [batches, batches + 1]
    # Other errors are not kept: a bug or a timeout is met again, not served from memory.
    failures: list[int] = []

    def fail() -> int:
        failures.append(1)
        raise RuntimeError("a bug")

    for _ in range(2):
        with pytest.raises(RuntimeError):
            cache.get("other", fail)
    assert failures == [1, 1]
    cache.close()


class KeywordOnlyError(Exception):
    """An error class that ``copy.copy`` cannot rebuild from its arguments."""

    def __init__(self, *, why: str) -> None:
        super().__init__(why)


def test_a_kept_refusal_that_cannot_be_copied_is_raised_as_it_is(store: GraphStore) -> None:
    cache = AnswerCache(store, delay=60, keep=(KeywordOnlyError,))
    asked: list[int] = []

    def refuse() -> int:
        asked.append(1)
        raise KeywordOnlyError(why="too wide")

    for _ in range(2):
        with pytest.raises(KeywordOnlyError, match="too wide"):
            cache.get("figure", refuse)
    assert asked == [1]
    cache.close()


def test_the_network_figure_too_wide_is_refused_once_a_version(
    store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the app: the refusal is a 400 each time, but the collaboration network (the
    whole store's people, 12 s at 10,000 projects) is built once for the version, by the
    background warm-up, not again by each dashboard that asks."""
    from fastapi.testclient import TestClient

    from cipd_graph.analytics import _figures
    from cipd_graph.api.main import create_app

    built: list[int] = []
    network = _figures.collaboration_network

    def counted(*args: object, **kwargs: object) -> object:
        built.append(1)
        return network(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_figures, "collaboration_network", counted)
    monkeypatch.setattr(_figures, "NETWORK_MOST_PEOPLE", 1)
    settings = Settings(pseudonym_key="test-key-0123456789abcdef", user="tester", refresh_delay=0)
    with TestClient(create_app(settings, store)) as client:
        cache = client.app.state.cache  # type: ignore[attr-defined]
        key = ("figure", "network", "svg", "all")
        deadline = time.monotonic() + 60
        kept = cache.keys()
        while key not in kept and time.monotonic() < deadline:
            time.sleep(0.05)
            kept = cache.keys()
        assert key in kept, "the warm-up met the refusal and kept it"
        assert len(built) == 1
        for _ in range(3):
            answer = client.get("/analytics/figures/network.svg", params={"scope": "all"})
            assert answer.status_code == 400
            assert "draws at most 1:" in answer.json()["detail"]
        assert len(built) == 1


class Gated:
    """A whole-store answer (the number of batches) that waits until ``gate`` opens."""

    def __init__(self, store: GraphStore) -> None:
        self.store = store
        self.gate = threading.Event()
        self.started = threading.Event()

    def __call__(self) -> int:
        self.started.set()
        assert self.gate.wait(60), "the test never opened the gate"
        return len(self.store.record_graphs())


def test_an_earlier_versions_answer_is_given_at_once_to_who_accepts_it(
    store: GraphStore,
) -> None:
    """``max_stale``: the answer kept from before a write comes back at once, saying which
    version it describes, and the current version's is computed in the background once
    writes pause; without it, the caller waits for the current version's."""
    cache = AnswerCache(store, delay=0.2)
    try:
        first = cache.answer("batches", Counted(store))
        assert not first.stale and first.version == store.version()
        assert store.load([PROJECTS[1]], staged=False).ok
        now = store.version()
        assert now != first.version
        slow = Gated(store)
        early = cache.answer("batches", slow, max_stale=math.inf)
        # Given while the computation for the new version cannot have finished.
        assert not slow.gate.is_set()
        assert (early.value, early.version, early.stale) == (first.value, first.version, True)
        assert slow.started.wait(30), "the new version's answer is computed in the background"
        slow.gate.set()
        deadline = time.monotonic() + 30
        latest = cache.answer("batches", slow, max_stale=math.inf)
        while latest.stale and time.monotonic() < deadline:
            time.sleep(0.05)
            latest = cache.answer("batches", slow, max_stale=math.inf)
        assert (latest.value, latest.version, latest.stale) == (first.value + 1, now, False)
        assert cache.computed == 2
    finally:
        cache.close()


def test_a_stale_answer_older_than_max_stale_or_none_at_all_is_waited_for(
    store: GraphStore,
) -> None:
    cache = AnswerCache(store, delay=60)
    try:
        nothing_yet = cache.answer("batches", Counted(store), max_stale=math.inf)
        assert not nothing_yet.stale, "with no answer kept, the caller waits for one"
        assert store.load([PROJECTS[1]], staged=False).ok
        time.sleep(1.1)  # the kept answer is now over a second old
        fresh = cache.answer("batches", Counted(store), max_stale=1)
        assert (fresh.value, fresh.stale) == (nothing_yet.value + 1, False)
        assert fresh.version == store.version()
    finally:
        cache.close()


def test_the_dashboard_never_waits_for_a_whole_store_answer_after_a_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through a real server: after a write, ``GET /stats`` with ``Cache-Control:
    max-stale`` answers at once with the counts from before it, its headers saying which
    version they describe and which the store is at; without it, the client waits for the
    new counts."""
    import cipd_graph.api.routers.stats as stats_route

    from .conftest import start_server
    from .test_rest import _new_project

    gate = threading.Event()
    counted = stats_route._stats

    def gated(store: GraphStore) -> object:
        assert gate.wait(60), "the test never opened the gate"
        return counted(store)

    gate.set()
    servers = start_server(tmp_path / "store", refresh_delay=0.2)
    server = next(servers)
    try:
        with server.client() as client, server.writer() as writer:
            before = client.get("/stats")
            assert before.status_code == 200
            assert before.headers["CIPD-Answer-Version"] == before.headers["CIPD-Store-Version"]
            assert int(before.headers["Age"]) >= 0
            monkeypatch.setattr(stats_route, "_stats", gated)
            gate.clear()
            posted = writer.post("/records", files={"files": ("ward9-falls.yaml", _new_project())})
            assert posted.status_code == 200, posted.text
            stale = client.get("/stats", headers={"Cache-Control": "max-stale"})
            assert stale.status_code == 200
            assert not gate.is_set(), "answered while the new counts could not be computed"
            assert stale.json() == before.json()
            assert stale.headers["CIPD-Answer-Version"] == before.headers["CIPD-Answer-Version"]
            assert stale.headers["CIPD-Store-Version"] != stale.headers["CIPD-Answer-Version"]
            waiting: list[httpx.Response] = []
            asking = threading.Thread(target=lambda: waiting.append(client.get("/stats")))
            asking.start()
            asking.join(1.0)
            assert not waiting, "without max-stale the client waits for the new version"
            gate.set()
            asking.join(60)
            fresh = waiting[0]
            assert fresh.status_code == 200
            assert fresh.headers["CIPD-Answer-Version"] == fresh.headers["CIPD-Store-Version"]
            assert fresh.headers["CIPD-Store-Version"] == stale.headers["CIPD-Store-Version"]
            assert fresh.json()["counts"] != before.json()["counts"]
    finally:
        gate.set()
        next(servers, None)


def test_warmed_answers_are_kept_on_disk_for_the_next_start(
    store: GraphStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A new cache over the same store (a server started again) takes the answer kept on
    disk: current while the store has not changed, an earlier version's after a write."""
    folder = tmp_path / "answers"
    first = AnswerCache(store, delay=60, directory=folder)
    first.warm("batches", Counted(store), int)
    kept = first.answer("batches", Counted(store))
    first.close()
    assert len(list(folder.glob("*.json"))) == 1
    again = AnswerCache(store, delay=60, directory=folder)
    counted = Counted(store)
    again.warm("batches", counted, int)
    assert again.answer("batches", counted) == kept
    assert counted.at == [] and again.computed == 0
    assert store.load([PROJECTS[1]], staged=False).ok
    earlier = again.answer("batches", counted, max_stale=math.inf)
    assert (earlier.value, earlier.version, earlier.stale) == (kept.value, kept.version, True)
    current = again.answer("batches", counted)
    assert (current.value, current.stale) == (kept.value + 1, False)
    again.close()
    # What cannot be read back into its type is left out, and said so.
    path = next(folder.glob("*.json"))
    for broken in (
        "{not json",
        json.dumps({"key": "'batches'", "version": "v", "computed_at": 1, "json": "many"}),
        json.dumps({"key": "'other'", "version": "v", "computed_at": 1, "json": 3}),
    ):
        path.write_text(broken, encoding="utf-8")
        caplog.clear()
        fresh = AnswerCache(store, delay=60, directory=folder)
        recount = Counted(store)
        fresh.warm("batches", recount, int)
        assert fresh.keys() == [], "read when first asked for, not before"
        assert fresh.get("batches", recount) == kept.value + 1
        assert len(recount.at) == 1, "computed: the file was not this answer"
        assert ("left out" in caplog.text) == (broken.startswith("{not") or "many" in broken)
        fresh.close()


def test_the_dashboards_answers_read_back_from_disk_equal_those_computed(
    store: GraphStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every answer the app keeps on disk (counts, scopes, coverage, matrix, collaboration,
    figures and practice-to-learning links of scope all), and a refusal (the network too wide to draw), reads back equal to
    the one computed, without computing it again."""
    from cipd_graph.analytics import AnalyticsError, _figures
    from cipd_graph.api.routers import analytics as analytics_route
    from cipd_graph.api.routers import stats as stats_route

    monkeypatch.setattr(_figures, "NETWORK_MOST_PEOPLE", 1)
    folder = tmp_path / "answers"

    def answers(cache: AnswerCache) -> dict[object, object]:
        found: dict[object, object] = {}
        for key, compute in cache._warm.items():
            try:
                found[key] = cache.get(key, compute)
            except AnalyticsError as refused:
                found[key] = ("refused", type(refused), str(refused))
        return found

    computed = AnswerCache(store, delay=0, directory=folder, keep=(AnalyticsError,))
    for route in (stats_route, analytics_route):
        route.warm(computed, store)
    values = answers(computed)
    computed.close()
    assert len(values) == len(list(folder.glob("*.json"))) == 8
    refused = values[("figure", "network", "svg", "all")]
    assert isinstance(refused, tuple) and "draws at most 1:" in refused[2]

    def never() -> object:
        raise AssertionError("computed again")

    read = AnswerCache(store, delay=0, directory=folder, keep=(AnalyticsError,))
    for route in (stats_route, analytics_route):
        route.warm(read, store)
    read._warm = dict.fromkeys(read._warm, never)
    assert answers(read) == values
    assert read.computed == 0
    read.close()
