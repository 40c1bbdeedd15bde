"""A large batch loaded in one step is validated in a forked process while the write is
planned (``cipd_graph.load.background``): it reports and stores exactly what validating in
the loading process does, writes nothing when the batch has an error, and fails the load,
changing nothing, when the validating process fails or is killed. No process is left.

Real Oxigraph stores on disk, generated records (40 projects), and the flawed copy of
``test_parallel_load`` (an unknown profession, a project defined twice, an unknown person).
The size from which a batch is validated aside is lowered so that 40 projects reach it.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import signal
from pathlib import Path

import pytest

from cipd_graph._errors import StoreError
from cipd_graph.graph import GraphStore
from cipd_graph.load import LoadResult
from cipd_graph.load import pipeline as _pipeline
from cipd_graph.load.pipeline import Pipeline

from .test_faults import quads, records_and_derived, settings_for
from .test_parallel_load import flawed, generated, outcome  # noqa: F401 (fixtures)


def _store_with_tables(records: Path, store: Path) -> Path:
    with GraphStore(store, settings_for(store)) as s:
        assert s.load([records / "reference"], staged=False).ok
    return store


def _load(records: Path, store: Path, workers: int) -> tuple[LoadResult, GraphStore]:
    settings = dataclasses.replace(settings_for(store), load_workers_setting=workers)
    s = GraphStore(store, settings)
    return s.load([records / "projects"], staged=False), s


@pytest.fixture
def aside(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Validate any batch of more than 100 triples aside; record whether each load forked."""
    forked: list[bool] = []
    original = _pipeline.Validation

    def recording(run, *, fork):  # type: ignore[no-untyped-def]
        forked.append(fork)
        return original(run, fork=fork)

    monkeypatch.setattr(_pipeline, "BACKGROUND_TRIPLES", 100)
    monkeypatch.setattr(_pipeline, "Validation", recording)
    return forked


def _in_one_process_and_aside(
    records: Path, tmp_path: Path, aside: list[bool]
) -> tuple[LoadResult, LoadResult, GraphStore, GraphStore]:
    """The projects of ``records`` loaded into two stores of its tables: validated in the
    loading process (one worker), then aside."""
    for name in ("one", "two"):
        if not (tmp_path / name).exists():
            _store_with_tables(records, tmp_path / name)
    one, s1 = _load(records, tmp_path / "one", workers=1)
    two, s2 = _load(records, tmp_path / "two", workers=2)
    assert aside[-2:] == [False, True]
    return one, two, s1, s2


def test_a_batch_validated_aside_stores_and_reports_what_one_process_does(
    generated: Path,  # noqa: F811
    tmp_path: Path,
    aside: list[bool],
):
    one, two, s1, s2 = _in_one_process_and_aside(generated, tmp_path, aside)
    assert one.written and two.written
    assert outcome(one) == outcome(two)
    assert two.report.findings  # notes and warnings, no errors
    assert records_and_derived(s1) == records_and_derived(s2)
    s1.close()
    s2.close()
    assert multiprocessing.active_children() == []
    # Each load says where its time went: SHACL in the loading process, or beside it.
    common = ["read and map", "checks"]
    assert [s.name for s in one.stages] == [*common, "validation", "plan", "derived facts", "write"]
    assert [(s.name, s.aside) for s in two.stages] == [
        *((name, False) for name in common),
        ("validation context", False),
        ("plan", False),
        ("derived facts", False),
        ("waiting for validation", False),
        ("validation", True),
        ("write", False),
    ]
    for result in (one, two):
        assert all(s.seconds >= 0 for s in result.stages)
        own = sum(s.seconds for s in result.stages if not s.aside)
        took = result.timing_text().removeprefix("took ").split(" s: read and map ")[0]
        assert abs(float(took) - own) < 0.01
    assert "; beside them, in another process: validation " in two.timing_text()
    assert "beside them" not in one.timing_text()


def test_a_batch_with_errors_found_aside_is_not_written(
    flawed: Path,  # noqa: F811
    tmp_path: Path,
    aside: list[bool],
):
    before = quads(_store_with_tables(flawed, tmp_path / "two"))
    one, two, s1, s2 = _in_one_process_and_aside(flawed, tmp_path, aside)
    s1.close()
    s2.close()
    # The duplicated project is a problem found before SHACL, and validation still runs.
    assert not one.ok and not one.written and not two.ok and not two.written
    assert outcome(one) == outcome(two)
    assert "Alchemist" in two.to_text()
    assert quads(tmp_path / "two") == before
    assert multiprocessing.active_children() == []


def _in_the_child(monkeypatch: pytest.MonkeyPatch, act) -> None:  # type: ignore[no-untyped-def]
    """Make SHACL validation run ``act`` when it runs in a forked process."""
    parent = os.getpid()
    original = Pipeline.validate_batches

    def validate(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if os.getpid() != parent:
            act()
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "validate_batches", validate)


def _fail() -> None:
    raise MemoryError("simulated: the validating process ran out of memory")


def _killed() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.parametrize(
    ("act", "message"),
    [
        (_fail, r"validating the batch failed[\s\S]*MemoryError"),
        (_killed, "ended without an answer; nothing was written"),
    ],
    ids=["fails", "killed"],
)
def test_a_validating_process_that_fails_or_is_killed_fails_the_load_and_changes_nothing(
    generated: Path,  # noqa: F811
    tmp_path: Path,
    aside: list[bool],
    monkeypatch: pytest.MonkeyPatch,
    act,  # type: ignore[no-untyped-def]
    message: str,
):
    store = _store_with_tables(generated, tmp_path / "store")
    before = quads(store)
    _in_the_child(monkeypatch, act)
    with pytest.raises(StoreError, match=message):
        _load(generated, store, workers=2)
    assert aside[-1] is True
    assert quads(store) == before
    assert multiprocessing.active_children() == []
