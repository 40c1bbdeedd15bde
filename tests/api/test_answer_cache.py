"""The API's whole-store answers: kept per store version, computed again in the background
only once writes have paused (CIPD_REFRESH_DELAY), on a real store on disk."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

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
