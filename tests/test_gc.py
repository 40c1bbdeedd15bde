"""Loads run with fewer cycle collections (``_gc``), and give the collector back as it was.

The thresholds are process-wide, so these tests check what a caller would see: raised while
a real load or check runs (in the loading process and in the forked workers), put back after
it, after a failure too, and never lowered or switched on against the caller's choice.
"""

from __future__ import annotations

import dataclasses
import gc
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from cipd_graph._errors import StoreError
from cipd_graph._generate import generate
from cipd_graph.graph import GraphStore
from cipd_graph.load import gc as _gc
from cipd_graph.load import workers as _parallel
from cipd_graph.store.change import Change

from .test_faults import settings_for
from .test_parallel_load import load

DEFAULT = (700, 10, 10)


@pytest.fixture(autouse=True)
def default_thresholds() -> Iterator[None]:
    saved = gc.get_threshold()
    gc.set_threshold(*DEFAULT)
    yield
    gc.set_threshold(*saved)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("gc")
    generate(target, projects=20, seed=5)
    return target


def test_raised_inside_the_block_and_restored_after_it():
    with _gc.fewer_collections():
        assert gc.get_threshold() == _gc.THRESHOLDS
        with _gc.fewer_collections():  # nested: one raise
            assert gc.get_threshold() == _gc.THRESHOLDS
        assert gc.get_threshold() == _gc.THRESHOLDS  # the inner exit does not restore
    assert gc.get_threshold() == DEFAULT


def test_what_was_there_before_the_block_is_frozen_in_it_and_given_back_after():
    assert gc.get_freeze_count() == 0
    before = {"kept": [1, 2, 3]}
    with _gc.fewer_collections():
        frozen = gc.get_freeze_count()
        assert frozen > 0
        assert not any(o is before for o in gc.get_objects())  # not walked
        with _gc.fewer_collections():  # nested: frozen once
            assert gc.get_freeze_count() == frozen
    assert gc.get_freeze_count() == 0
    assert any(o is before for o in gc.get_objects())  # collectable again


def test_objects_frozen_for_good_stay_frozen():
    inherited = {"model": [1, 2, 3]}
    gc.freeze()  # what a load worker does for its whole life (``settle_worker``)
    try:
        made = {"chunk": [4, 5, 6]}
        with _gc.fewer_collections():
            assert any(o is made for o in gc.get_objects())  # the block froze nothing more
        assert not any(o is inherited for o in gc.get_objects())  # nor unfroze anything
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_restored_when_the_block_fails():
    with pytest.raises(ValueError, match="boom"), _gc.fewer_collections():
        raise ValueError("boom")
    assert gc.get_threshold() == DEFAULT
    assert gc.get_freeze_count() == 0


def test_a_callers_higher_thresholds_and_a_switched_off_collector_are_kept():
    gc.set_threshold(50_000, 5, 20)
    with _gc.fewer_collections():
        assert gc.get_threshold() == (50_000, 10, 20)  # each one the higher of the two
    assert gc.get_threshold() == (50_000, 5, 20)
    gc.set_threshold(0)
    with _gc.fewer_collections():
        assert gc.get_threshold()[0] == 0  # not switched on behind the caller's back
    assert gc.get_threshold()[0] == 0


def test_overlapping_blocks_on_threads_restore_once_the_last_one_leaves():
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[tuple[int, ...]] = []

    def first() -> None:
        with _gc.fewer_collections():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with _gc.fewer_collections():
            second_in.set()
            first_out.wait(5)
            seen.append(gc.get_threshold())  # the first thread has left; still raised

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == [_gc.THRESHOLDS]
    assert gc.get_threshold() == DEFAULT


def test_a_load_and_a_check_run_raised_and_restore(generated: Path, tmp_path: Path):
    during: list[tuple[int, ...]] = []
    frozen: list[int] = []

    def progress(_message: str) -> None:
        during.append(gc.get_threshold())
        frozen.append(gc.get_freeze_count())

    store = GraphStore(tmp_path / "store", settings_for(tmp_path / "store"))
    result = store.load([generated], staged=False, progress=progress)
    assert result.ok and result.written and during
    assert set(during) == {_gc.THRESHOLDS}
    assert min(frozen) > 0
    assert gc.get_threshold() == DEFAULT
    assert gc.get_freeze_count() == 0
    original = store.pipeline.validate_batches

    def spy(*args: object, **kwargs: object) -> object:
        during.append(gc.get_threshold())
        return original(*args, **kwargs)  # type: ignore[arg-type]

    during.clear()
    store.pipeline.validate_batches = spy  # type: ignore[method-assign]
    assert store.validate(sorted((generated / "projects").glob("*.yaml"))[:3]).ok
    assert during == [_gc.THRESHOLDS]
    assert gc.get_threshold() == DEFAULT
    store.close()


def test_workers_freeze_what_they_inherit_and_collect_less(
    generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    original = _parallel._map_chunk

    def checked(store_: object, setup: object, number: int, *args: object) -> object:
        if gc.get_freeze_count() == 0 or gc.get_threshold() != _gc.THRESHOLDS:
            raise AssertionError(f"worker gc: {gc.get_freeze_count()} {gc.get_threshold()}")
        return original(store_, setup, number, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(_parallel, "_map_chunk", checked)  # the forked workers inherit it
    during: list[tuple[int, ...]] = []
    settings = dataclasses.replace(settings_for(tmp_path / "store"), load_workers_setting=2)
    store = GraphStore(tmp_path / "store", settings)
    result = store.load(
        [generated], staged=True, chunk=6, progress=lambda _m: during.append(gc.get_threshold())
    )
    assert result.ok and result.written
    assert len(during) > 5 and set(during) == {_gc.THRESHOLDS}  # the loading process too
    assert gc.get_freeze_count() == 0  # only the workers froze anything
    assert gc.get_threshold() == DEFAULT
    store.close()


def test_a_failed_staged_load_restores_the_thresholds(
    generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    def broken(*_args: object) -> object:
        raise MemoryError("simulated")

    monkeypatch.setattr(_parallel, "_map_chunk", broken)
    with pytest.raises(StoreError, match="MemoryError"):
        load(generated, tmp_path / "store", workers=2)
    assert gc.get_threshold() == DEFAULT


def test_an_edit_and_a_drop_run_frozen_too(
    generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The API's edits (a module mapping changed, a triple taken out) and a drop are writes
    of their own, not loads: they freeze what was there before them as well."""
    store = GraphStore(tmp_path / "store", settings_for(tmp_path / "store"))
    paths = sorted((generated / "projects").glob("*.yaml"))[:2]
    assert store.load([generated / "reference", *paths], staged=False).ok
    seen: list[int] = []
    original = Change.changeset

    def spy(self: Change) -> object:
        seen.append(gc.get_freeze_count())
        return original(self)

    monkeypatch.setattr(Change, "changeset", spy)
    graph = store.batch_graph(paths[0])
    triple = sorted(store.backend.graph_triples(graph), key=str)[0]
    store.edit(remove={graph: [triple]})
    store.drop(str(paths[1]))
    assert len(seen) == 2 and min(seen) > 0
    assert gc.get_freeze_count() == 0
    store.close()
