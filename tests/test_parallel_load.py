"""Staged loads in worker processes (``CIPD_LOAD_WORKERS``) give what one process gives.

Real Oxigraph stores on disk, generated records (40 projects and the reference tables) in
chunks of 6 files, so that a load runs eight chunks across two workers. The records carry
problems in several chunks (an unknown profession, a project defined twice, a reflection by
somebody nobody knows) so that the comparison covers problems and findings, not only quads.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import signal
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from rdflib import BNode, Graph
from rdflib.namespace import RDF, SH

from cipd_graph import Settings
from cipd_graph._errors import StoreError
from cipd_graph._generate import generate
from cipd_graph.graph import GraphStore
from cipd_graph.load import LoadResult
from cipd_graph.load import staged as _staged
from cipd_graph.load import workers as _parallel
from cipd_graph.store import EmbeddedBackend, GraphLayout

from .test_faults import quads, records_and_derived, settings_for
from .test_staged_load import leftovers

CHUNK = 6


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("parallel")
    generate(target, projects=40, seed=11)
    return target


@pytest.fixture(scope="module")
def flawed(generated: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated records with problems planted in three different chunks."""
    target = tmp_path_factory.mktemp("flawed") / "records"
    shutil.copytree(generated, target)
    projects = sorted((target / "projects").glob("*.yaml"))
    first = projects[2].read_text(encoding="utf-8")
    projects[2].write_text(re.sub(r"profession: \w+", "profession: Alchemist", first, count=1))
    # The id of a project of chunk 1 again, in a file of a later chunk.
    later = projects[20].read_text(encoding="utf-8")
    project_id = re.search(r"^id: (\S+)", projects[1].read_text(encoding="utf-8"), re.M)
    assert project_id is not None
    projects[20].write_text(re.sub(r"^id: \S+", f"id: {project_id.group(1)}", later, flags=re.M))
    last = projects[35].read_text(encoding="utf-8")
    projects[35].write_text(re.sub(r"by: \S+", "by: nobody-we-know", last, count=1))
    return target


def load(
    records: Path, store: Path, workers: int, stage_quads: int = 0
) -> tuple[LoadResult, GraphStore]:
    settings = dataclasses.replace(
        settings_for(store), load_workers_setting=workers, stage_quads=stage_quads
    )
    s = GraphStore(store, settings)
    return s.load([records], staged=True, chunk=CHUNK), s


def outcome(result: LoadResult) -> tuple[object, ...]:
    """What a person reads of a load: problems, findings and batches, in their order."""
    return (
        [dataclasses.astuple(p) for p in result.problems],
        [dataclasses.astuple(f) for f in result.report.findings],
        [dataclasses.astuple(b) for b in result.batches],
        shacl_results(result.report.results),
    )


def shacl_results(graph: Graph) -> list[tuple[str, ...]]:
    """The SHACL results graph as a machine reads it: every result with its focus node,
    severity, messages, path, value and source shape (a blank-node shape by its properties,
    which shows it is the shipped shape itself), and how many reports there are."""
    reports = sorted(
        str(graph.value(r, SH.conforms)) for r in graph.subjects(RDF.type, SH.ValidationReport)
    )
    rows = []
    for r in graph.subjects(RDF.type, SH.ValidationResult):
        shape = graph.value(r, SH.sourceShape)
        shape_text = (
            str(
                sorted(
                    (str(p), str(o))
                    for p, o in graph.predicate_objects(shape)
                    if not isinstance(o, BNode)
                )
            )
            if isinstance(shape, BNode)
            else str(shape)
        )
        rows.append(
            (
                str(graph.value(r, SH.focusNode)),
                str(graph.value(r, SH.resultSeverity)),
                "|".join(sorted(str(m) for m in graph.objects(r, SH.resultMessage))),
                str(graph.value(r, SH.resultPath))
                if not isinstance(graph.value(r, SH.resultPath), BNode)
                else "(path)",
                repr(graph.value(r, SH.value)),
                shape_text,
                str(graph.value(r, SH.sourceConstraintComponent)),
            )
        )
    return [tuple(reports), *sorted(rows)]


def test_workers_store_exactly_what_one_process_stores(generated: Path, tmp_path: Path):
    one, s1 = load(generated, tmp_path / "one", workers=1)
    two, s2 = load(generated, tmp_path / "two", workers=2)
    assert one.ok and two.ok and one.written and two.written
    assert outcome(one) == outcome(two)
    assert records_and_derived(s1) == records_and_derived(s2)
    assert len(two.batches) == 47 and two.report.findings  # notes and warnings, no errors
    s1.close()
    s2.close()


def test_workers_report_exactly_what_one_process_reports(flawed: Path, tmp_path: Path):
    one, s1 = load(flawed, tmp_path / "one", workers=1)
    two, s2 = load(flawed, tmp_path / "two", workers=2)
    assert not one.ok and not two.written
    assert outcome(one) == outcome(two)
    text = two.to_text()
    assert "Alchemist" in text
    assert "also defined in" in text
    assert "nobody-we-know" in text or "person" in text
    # Nothing was written: both stores are as empty as before.
    assert records_and_derived(s1) == records_and_derived(s2) == set()
    s1.close()
    s2.close()


def test_chunks_written_to_disk_every_few_change_nothing(
    generated: Path, flawed: Path, tmp_path: Path
):
    """At most 2,500 quads pending: the chunks go to disk two or three at a time, on a
    thread, while later chunks' context is read from the pending file and the disk store
    together. Problems, findings, SHACL results and stored quads are those of a load that
    keeps every chunk pending until the end (the default, 0)."""
    whole, s1 = load(flawed, tmp_path / "one", workers=2, stage_quads=0)
    parts, s2 = load(flawed, tmp_path / "two", workers=2, stage_quads=2_500)
    assert not whole.ok and outcome(whole) == outcome(parts)
    assert "nobody-we-know" in parts.to_text() or "person" in parts.to_text()
    s1.close()
    s2.close()
    whole, s1 = load(generated, tmp_path / "three", workers=2, stage_quads=0)
    parts, s2 = load(generated, tmp_path / "four", workers=1, stage_quads=2_500)
    assert whole.written and parts.written and outcome(whole) == outcome(parts)
    assert records_and_derived(s1) == records_and_derived(s2)
    s1.close()
    s2.close()
    assert leftovers(tmp_path / "four") == []  # no pending files left behind


def with_reference_tables(generated: Path, tmp_path: Path) -> tuple[Path, set[str], Any]:
    """A store holding the reference tables, its quads, and the real chunk worker."""
    store = tmp_path / "store"
    first, s = load(Path(generated / "reference"), store, workers=1)
    assert first.ok
    s.close()
    return store, quads(store), _parallel._map_chunk


def test_a_worker_that_fails_fails_the_load_and_changes_nothing(
    generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    store, before, original = with_reference_tables(generated, tmp_path)

    def broken(store_: object, setup: object, number: int, *args: object) -> object:
        if number == 4:
            raise MemoryError("simulated: the worker ran out of memory")
        return original(store_, setup, number, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(_parallel, "_map_chunk", broken)  # the forked workers inherit it
    with pytest.raises(StoreError, match=r"chunk 4:[\s\S]*MemoryError"):
        load(generated, store, workers=2)
    assert quads(store) == before
    assert leftovers(store) == []


def test_a_worker_killed_fails_the_load_and_changes_nothing(
    generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    store, before, original = with_reference_tables(generated, tmp_path)

    def killed(store_: object, setup: object, number: int, *args: object) -> object:
        if number == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        return original(store_, setup, number, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(_parallel, "_map_chunk", killed)
    with pytest.raises(
        StoreError,
        match=r"a load worker stopped while working on chunks? ((\d+ and )?3\b|3 and \d+)",
    ):
        load(generated, store, workers=2)
    assert quads(store) == before
    assert leftovers(store) == []


def test_load_workers_come_from_the_environment():
    assert Settings.from_env({"CIPD_LOAD_WORKERS": "3"}).load_workers == 3
    assert Settings.from_env({}).load_workers == (os.cpu_count() or 1)
    with pytest.raises(Exception, match="CIPD_LOAD_WORKERS"):
        Settings.from_env({"CIPD_LOAD_WORKERS": "many"})


def test_a_failed_disk_write_fails_the_load_and_changes_nothing(
    generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A write of staged chunks to disk that fails on its thread (here: the disk is full)
    fails the load with a clear error, whichever chunk it surfaces at; nothing changes."""
    store, before, _chunk = with_reference_tables(generated, tmp_path)

    def full(self: Any, path: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_staged.Pending, "_write", full)
    settings = dataclasses.replace(settings_for(store), load_workers_setting=2, stage_quads=2_500)
    with GraphStore(store, settings) as s:
        with pytest.raises(StoreError, match=r"writing staged chunks to disk failed.*No space"):
            s.load([generated / "projects"], staged=True, chunk=CHUNK)
        assert {str(q) for q in s.oxigraph} == before  # the same open store, unchanged
    assert quads(store) == before
    assert leftovers(store) == []


def test_pending_chunks_are_read_back_as_the_disk_store_would_give_them(tmp_path: Path):
    """A subject's pending lines come back from every chunk that stated it, in whichever
    segment, and through the same term normalisation as the disk store (which keeps a
    positive integer as an xsd:integer): a context read from pending chunks and one from
    disk are the same triples."""
    directory = tmp_path / "oxigraph.v-test"
    staging = EmbeddedBackend(
        tmp_path, GraphLayout("urn:base/", "urn:ontology"), directory=directory
    )
    pending = _staged.Pending(staging, limit=3)
    xsd = "http://www.w3.org/2001/XMLSchema#"
    a, b, p, g = "<urn:x:a>", "<urn:x:b>", "<urn:x:p>", "<urn:x:g>"
    first = f'{a} {p} "1"^^<{xsd}positiveInteger> {g} .\n{b} {p} "b" {g} .\n'
    pending.add(first.encode())
    pending.add(f'{b} {p} {a} {g} .\n{a} {p} "a2" {g} .\n'.encode())  # 4 quads: to disk
    pending.add(f'{a} {p} "a3" {g} .\n'.encode())
    assert pending.writing is not None  # the first two chunks are going to disk
    found = pending.store_of(["urn:x:a"])
    assert found is not None
    expected = {f'"1"^^<{xsd}integer>', '"a2"', '"a3"'}
    assert {str(q.object) for q in found} == expected
    assert {str(q.subject) for q in found} == {a}
    assert pending.store_of(["urn:x:nothing"]) is None
    pending.flush()  # everything on disk: nothing pending, the same terms from the store
    assert pending.store_of(["urn:x:a"]) is None
    pending.close()
    on_disk = {
        str(q.object) for q in staging.store.quads_for_pattern(ox.NamedNode("urn:x:a"), None, None)
    }
    assert on_disk == expected
    staging.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["oxigraph.v-test"]
