"""Staged loads: large loads written chunk by chunk into a checkpoint of the store, swapped in.

Every test runs on a real Oxigraph store on disk and generated records (60 projects and the
reference tables, ``cipd generate``), with chunks of 7 files so that a load runs nine chunks.
The kill tests SIGKILL a real child process at a point it announces through a marker file.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest

from cipd_graph._generate import generate
from cipd_graph.graph import GraphStore

from .test_derive_incremental import check
from .test_faults import child, kill_when_marked, quads, records_and_derived, settings_for

CHUNK = 7


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("generated")
    generate(target, projects=60, seed=7)
    return target


@pytest.fixture(scope="module")
def one_transaction(generated: Path, tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """What the one-transaction path stores for the generated records."""
    store = tmp_path_factory.mktemp("one") / "store"
    with GraphStore(store, settings_for(store)) as s:
        result = s.load([generated], staged=False)
        assert result.ok and result.written
        return records_and_derived(s)


def copy_of(generated: Path, tmp_path: Path) -> Path:
    records = tmp_path / "records"
    shutil.copytree(generated, records)
    return records


def leftovers(store: Path) -> list[str]:
    """Everything in the store's folder beside the live store and what its link points at."""
    live = store / "oxigraph"
    keep = {"oxigraph", str(live.readlink()) if live.is_symlink() else "oxigraph"}
    return sorted(
        p.name for p in store.iterdir() if p.name.startswith("oxigraph") and p.name not in keep
    )


def test_a_staged_load_stores_what_one_transaction_stores(
    generated: Path, one_transaction: set[str], tmp_path: Path
):
    store = tmp_path / "store"
    messages: list[str] = []
    with GraphStore(store, settings_for(store)) as s:
        result = s.load([generated], staged=True, chunk=CHUNK, progress=messages.append)
        assert result.ok and result.written
        assert records_and_derived(s) == one_transaction
        files = len(list(generated.rglob("*.yaml"))) + len(list(generated.rglob("*.csv")))
        assert len(result.batches) == len(s.sources()) == files == 67
        assert all(src.loaded_by == "faults" for src in s.sources())
    assert sum(m.startswith("staged chunk") for m in messages) == 1 + -(-60 // CHUNK)
    assert [s.name for s in result.stages] == [
        "read, map and validate, in chunks",
        "bulk write",
        "compaction",
        "derived facts",
        "swap",
    ]
    assert (store / "oxigraph").is_symlink() and leftovers(store) == []
    # Reopened from disk it holds the same.
    with GraphStore(store, settings_for(store)) as s:
        assert records_and_derived(s) == one_transaction


def test_a_staged_load_into_a_store_with_derived_facts_replaces_them(
    generated: Path, tmp_path: Path
):
    """The union keeps no fact the rules derived before the load and would not derive now
    (it kept a person's earlier ``cipd:projectCount`` beside the new one), nor the facts
    of a rule that is gone; and it keeps a derived fact a record also states."""
    projects = sorted((generated / "projects").glob("*.yaml"))
    store = tmp_path / "store"
    gone_rule = "https://w3id.org/cipd/data/graph/inferred/a-rule-there-is-no-longer"
    with GraphStore(store, settings_for(store)) as s:
        assert s.load([generated / "reference", *projects[:20]]).ok
        orphan = ox.Triple(
            ox.NamedNode("https://w3id.org/cipd/data/x"),
            ox.NamedNode("https://w3id.org/cipd#projectCount"),
            ox.Literal("7", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")),
        )
        for graph in (ox.NamedNode(gone_rule), ox.DefaultGraph()):
            s.oxigraph.add(ox.Quad(orphan.subject, orphan.predicate, orphan.object, graph))
        result = s.load(projects[20:], staged=True, chunk=CHUNK)
        assert result.ok and result.written
        assert gone_rule not in s.named_graphs()
        # The union and every rule's graph, against a full recomputation (some of the
        # derived facts are also stated by records: those stay).
        check(s)


def test_a_large_load_is_staged_by_default_and_a_small_one_is_not(generated: Path, tmp_path: Path):
    store = tmp_path / "store"
    with GraphStore(store, settings_for(store)) as s:
        assert not s.pipeline.stages([generated])  # 67 files < CIPD_BULK_FILES (500)
    settings = settings_for(store)
    small = type(settings)(**{**settings.__dict__, "bulk_files": 60, "bulk_chunk": 30})
    with GraphStore(store, small) as s:
        assert s.pipeline.stages([generated]) and not s.pipeline.stages([generated / "reference"])
        assert s.load([generated]).written
    assert (store / "oxigraph").is_symlink()
    with GraphStore(None, small) as s:
        assert not s.pipeline.stages([generated])  # in memory: nothing to stage


def test_errors_in_any_chunk_change_nothing_and_are_all_reported(generated: Path, tmp_path: Path):
    records = copy_of(generated, tmp_path)
    store = tmp_path / "store"
    with GraphStore(store, settings_for(store)) as s:
        assert s.load([records / "reference"]).ok
    before = quads(store)
    first, last = (
        records / "projects/synthetic-000003.yaml",
        records / "projects/synthetic-000059.yaml",
    )
    first.write_text(re.sub(r"(?m)^start: .*$", "start: not-a-date", first.read_text()), "utf-8")
    text = last.read_text()
    last.write_text(
        text.replace("quality_dimensions: [", "quality_dimensions: [no-such-dimension, "), "utf-8"
    )
    # The same project defined again by a file in a later chunk.
    twin = records / "projects/zz-twin.yaml"
    twin.write_text((records / "projects/synthetic-000010.yaml").read_text(), "utf-8")

    with GraphStore(store, settings_for(store)) as s:
        result = s.load([records], staged=True, chunk=CHUNK)
    assert not result.ok and not result.written
    where = {(p.file, p.field) for p in result.problems}
    assert (str(first), "start") in where
    assert any(
        p.file == str(last) and p.line and p.field.startswith("quality_dimensions")
        for p in result.problems
    )
    assert any(
        p.file == str(twin) and "also defined in" in p.reason and "synthetic-000010" in p.reason
        for p in result.problems
    )
    assert "nothing was written" in result.to_text()
    assert quads(store) == before
    assert leftovers(store) == []


def test_a_staged_reload_replaces_each_file_batch(
    generated: Path, one_transaction: set[str], tmp_path: Path
):
    records = copy_of(generated, tmp_path)
    store = tmp_path / "store"
    with GraphStore(store, settings_for(store)) as s:
        assert s.load([records], staged=True, chunk=CHUNK).written
        project = records / "projects/synthetic-000020.yaml"
        text = project.read_text()
        project.write_text(text.replace('title: "Improving', 'title: "Changed: improving'), "utf-8")
        result = s.load([records], staged=True, chunk=CHUNK)
        assert result.written and all(b.replaces for b in result.batches)
        assert len(s.sources()) == 67
        again = records_and_derived(s)
    # Exactly what loading the changed files once gives.
    clean = tmp_path / "clean"
    with GraphStore(clean, settings_for(clean)) as s:
        assert s.load([records], staged=False).written
        assert records_and_derived(s) == again
    assert again != one_transaction and any("Changed: improving" in q for q in again)


def test_stale_staging_directories_are_removed_on_open(tmp_path: Path):
    store = tmp_path / "store"
    with GraphStore(store, settings_for(store)):
        pass
    for name in ("oxigraph.v-0123456789ab", "oxigraph.old-0123456789ab"):
        (store / name).mkdir()
        (store / name / "CURRENT").write_text("junk", "utf-8")
    (store / "oxigraph.link-0123456789ab").symlink_to("oxigraph.v-0123456789ab")
    (store / "oxigraph.keep").mkdir()  # not ours to remove
    with GraphStore(store, settings_for(store)) as s:
        assert s.stats()["batches"] == 0
    assert leftovers(store) == ["oxigraph.keep"]


def as_plain(store: Path) -> None:
    """Make ``store`` a plain directory, as the releases before staged loads made it."""
    live = store / "oxigraph"
    target = live.resolve()
    live.unlink()
    target.rename(live)


def test_a_swap_cut_between_its_renames_opens_the_store_before(generated: Path, tmp_path: Path):
    """A store made before staged loads is a plain directory: that release's swap renamed it
    aside, then linked; killed in between, the next open puts it back (and links it)."""
    store = tmp_path / "store"
    with GraphStore(store, settings_for(store)) as s:
        assert s.load([generated / "reference"]).ok
    as_plain(store)
    before = quads(store)
    (store / "oxigraph").rename(store / "oxigraph.old-0123456789ab")
    assert quads(store) == before
    assert (store / "oxigraph").is_symlink() and leftovers(store) == []


def test_a_plain_store_becomes_a_link_when_a_writer_opens_it(generated: Path, tmp_path: Path):
    """Every writer opens the store by a version directory a swap never renames; a plain
    directory becomes one on the first open, and an open killed half-way is put right."""
    store = tmp_path / "store"
    with GraphStore(store, settings_for(store)) as s:
        assert s.load([generated / "reference"]).ok
    assert (store / "oxigraph").is_symlink()
    as_plain(store)
    before = quads(store)
    assert (store / "oxigraph").is_symlink() and leftovers(store) == []
    # Killed between its rename and its link: the link is ready, the live name is missing.
    live = store / "oxigraph"
    target = live.resolve()
    as_plain(store)
    (store / "oxigraph.link-0123456789ab").symlink_to(target.name)
    live.rename(target)
    assert quads(store) == before
    assert live.resolve() == target and leftovers(store) == []


def kill_at(store: Path, marker: Path, stage: str, records: Path) -> None:
    process = child(
        "staged",
        str(marker),
        stage,
        str(records),
        store=store,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    kill_when_marked(process, marker, repr(stage))


@pytest.mark.parametrize(
    ("stage", "linked", "expect"),
    [
        ("staged chunk 2/", False, "before"),
        ("swapping", False, "before"),
        ("swapped", False, "after"),
        ("staged chunk 5/", True, "before"),
        ("swapping", True, "before"),
        ("swapped", True, "after"),
    ],
)
def test_a_staged_load_killed_leaves_the_store_before_or_after(
    generated: Path,
    one_transaction: set[str],
    tmp_path: Path,
    stage: str,
    linked: bool,
    expect: str,
):
    store = tmp_path / "store"
    with GraphStore(store, settings_for(store)) as s:
        assert s.load([generated / "reference"], staged=linked, chunk=CHUNK).written
    if not linked:  # a plain directory, as a store made before staged loads
        as_plain(store)
    assert (store / "oxigraph").is_symlink() == linked
    before = quads(store)
    kill_at(store, tmp_path / "marker", stage, generated)

    with GraphStore(store, settings_for(store)) as s:
        if expect == "before":
            assert {str(q) for q in s.oxigraph} == before
        else:
            assert records_and_derived(s) == one_transaction
    assert leftovers(store) == []  # the killed load's directories are gone
    # And the store still loads.
    with GraphStore(store, settings_for(store)) as s:
        assert s.load([generated], staged=True, chunk=CHUNK).written
        assert records_and_derived(s) == one_transaction


def _age_the_ontology(store: Path) -> None:
    """Make ``store`` hold an earlier version of the ontology (another ``owl:versionInfo``)."""
    version = ox.NamedNode("http://www.w3.org/2002/07/owl#versionInfo")
    with GraphStore(store, settings_for(store)) as s:
        data = s.oxigraph
        derivation = ox.NamedNode(s.layout.meta + "#derivation")  # an earlier release's store
        for q in list(data.quads_for_pattern(None, derivation, None, None)):
            data.remove(q)
        for graph in (ox.NamedNode(s.layout.ontology), ox.DefaultGraph()):
            for q in list(data.quads_for_pattern(None, version, None, graph)):
                data.remove(q)
                data.add(ox.Quad(q.subject, q.predicate, ox.Literal("2000-01-01"), graph))


@pytest.mark.parametrize(
    ("stage", "expect"),
    [("deriving every fact again", "before"), ("swapping", "before"), ("swapped", "after")],
)
def test_a_write_after_an_ontology_change_killed_leaves_the_store_before_or_after(
    generated: Path, tmp_path: Path, stage: str, expect: str
):
    """The first write into a store of an earlier ontology derives everything again in a
    checkpoint; killed there, the store is the one before or the one after."""
    projects = sorted((generated / "projects").glob("*.yaml"))[:2]
    clean = tmp_path / "clean"
    with GraphStore(clean, settings_for(clean)) as s:
        assert s.load([generated / "reference"]).written and s.load(projects).written
        after = records_and_derived(s)
    store = tmp_path / "store"
    with GraphStore(store, settings_for(store)) as s:
        assert s.load([generated / "reference"]).written
    _age_the_ontology(store)
    before = quads(store)
    marker = tmp_path / "marker"
    process = child(
        "write",
        str(marker),
        stage,
        *map(str, projects),
        store=store,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    kill_when_marked(process, marker, repr(stage))

    with GraphStore(store, settings_for(store)) as s:
        if expect == "before":
            assert {str(q) for q in s.oxigraph} == before
        else:
            assert records_and_derived(s) == after
    assert leftovers(store) == []


def _checked_contexts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int, bool]]:
    """Make every context read of a load also read without the subject filter and compare;
    give, per read: IRIs asked about, IRIs the filter let through, whether a filter was on."""
    from cipd_graph.load.context import ContextReader

    calls: list[tuple[int, int, bool]] = []
    original = ContextReader.triples
    asked: list[int] = []

    def spy_about(self: ContextReader, mentioned: Any, replaced: set[str]) -> list[Any]:
        known = self.known
        filtered = original(self, mentioned, replaced)
        self.known = None
        try:
            unfiltered = original(self, mentioned, replaced)
        finally:
            self.known = known
        assert set(filtered) == set(unfiltered), "the subject filter dropped stored facts"
        passed = sum(1 for iri in mentioned if known is None or iri in known)
        calls.append((len(mentioned), passed, known is not None))
        asked.append(len(mentioned))
        return filtered

    monkeypatch.setattr(ContextReader, "triples", spy_about)
    return calls


@pytest.mark.parametrize("workers", [1, 2])
def test_the_subject_filter_skips_new_iris_and_never_a_stored_fact(
    generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
):
    """A staged load skips looking up IRIs no record graph has as subject yet (a chunk's own
    new cycles, stages and teams) and reads exactly what it read without skipping: into an
    empty store, and into a store already holding records (the filter then starts from them)."""
    calls = _checked_contexts(monkeypatch)
    store = tmp_path / "store"
    settings = dataclasses.replace(settings_for(store), load_workers_setting=workers)
    projects = sorted((generated / "projects").glob("*.yaml"))
    with GraphStore(store, settings) as s:
        # Empty store: the people, organisations and modules come from the tables (chunk 1).
        result = s.load([generated / "reference", *projects[:20]], staged=True, chunk=CHUNK)
        assert result.ok and result.written
        assert calls and all(on for _, _, on in calls)
        asked = sum(n for n, _, _ in calls)
        assert sum(p for _, p, _ in calls) < asked / 2  # most IRIs a chunk mentions are its own
        # A store holding 27 record graphs, a load of 40 more files: the filter starts from
        # what the store holds (the people of the tables, the first 20 projects).
        calls.clear()
        result = s.load(projects[20:], staged=True, chunk=CHUNK)
        assert result.ok and result.written
        assert calls and all(on for _, _, on in calls)
        assert sum(p for _, p, _ in calls) < sum(n for n, _, _ in calls)
        # Reloading fewer files than the store holds: reading its subjects would cost more than
        # the look-ups, so there is no filter and every IRI is looked up.
        calls.clear()
        result = s.load(projects[:10], staged=True, chunk=CHUNK)
        assert result.ok and result.written
        assert calls and not any(on for _, _, on in calls)


def test_the_subject_filter_never_forgets_an_iri():
    from cipd_graph.load.bloom import SubjectFilter

    iris = [f"https://w3id.org/cipd/data/project/p{i}/cycle/{i % 7}" for i in range(50_000)]
    known = SubjectFilter(expected=len(iris))
    known.update(iris)
    assert all(iri in known for iri in iris)
    strangers = [f"https://w3id.org/cipd/data/team/t{i}" for i in range(50_000)]
    wrongly = sum(iri in known for iri in strangers)
    assert wrongly < len(strangers) * 0.02  # made for about 0.7%
    assert 1 not in known
