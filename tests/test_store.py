"""The store on disk: loads, atomicity, idempotent reloads, provenance, privacy, derived facts."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest

from cipd_graph import Settings
from cipd_graph._errors import StoreError
from cipd_graph.graph import GraphStore

from .conftest import SAMPLES

REFERENCE = SAMPLES / "reference"
WARD7 = SAMPLES / "projects" / "ward7-falls.yaml"
CIPD = "https://w3id.org/cipd#"


def snapshot(store: GraphStore) -> set[str]:
    """Every quad but the store's version (new with every write, see ``test_store_meta``)."""
    meta = ox.NamedNode(store.layout.meta)
    return {str(q) for q in store.oxigraph if q.graph_name != meta}


def ask(store: GraphStore, query: str) -> bool:
    """An ASK over the union (the store's default graph)."""
    return bool(store.query(f"PREFIX cipd: <{CIPD}> {query}"))


def select(store: GraphStore, query: str) -> list[tuple[str, ...]]:
    """The rows of a SELECT over the union, sorted."""
    rows = store.query(f"PREFIX cipd: <{CIPD}> {query}")
    assert isinstance(rows, ox.QuerySolutions)
    return sorted(tuple(t.value for t in row) for row in rows)


@pytest.fixture
def store(tmp_path: Path, settings: Settings):
    with GraphStore(tmp_path / "store", settings) as s:
        yield s


def test_sample_records_load_completely(loaded_sample_store: GraphStore):
    stats = loaded_sample_store.stats()
    assert stats["batches"] == len(list(SAMPLES.rglob("*.yaml"))) + len(
        list(SAMPLES.rglob("*.csv"))
    )
    assert stats["projects"] >= 25
    assert stats["professions"] >= 10
    assert stats["modules"] >= 12 and stats["programmes"] == 2
    assert stats["derived_triples"] > 0


def test_a_project_without_its_reference_data_is_refused_and_nothing_is_written(store: GraphStore):
    before = snapshot(store)
    result = store.load([WARD7])
    assert not result.ok and not result.written
    messages = {f.message for f in result.report.errors}
    assert any("service provider listed in organisations.csv" in m for m in messages)
    assert snapshot(store) == before


def test_a_batch_that_fails_validation_leaves_the_store_exactly_as_it_was(
    store: GraphStore, records: Path
):
    assert store.load([records / "reference"]).ok
    before = snapshot(store)
    bad = records / "projects" / "ward7-falls.yaml"
    bad.write_text(
        bad.read_text(encoding="utf-8").replace(
            "organisation: northshire-trust", "organisation: northshire-university"
        ),
        encoding="utf-8",
    )
    result = store.load([records / "projects"])
    assert not result.ok
    (error,) = result.report.errors
    assert error.file == str(bad) and error.line == 1 and error.record == "project ward7-falls"
    assert snapshot(store) == before, "no project of the load may be written when one fails"


def test_a_write_that_fails_half_way_changes_nothing(
    store: GraphStore, monkeypatch: pytest.MonkeyPatch
):
    assert store.load([REFERENCE]).ok
    before = snapshot(store)
    import cipd_graph.store.backends as backends

    real = backends.update_text

    def failing(changes, union):
        # After the batch's graphs are replaced and the union and derived graphs changed,
        # one more operation fails.
        return [
            *real(changes, union),
            "LOAD <http://127.0.0.1:9/unreachable.ttl> INTO GRAPH <urn:x>",
        ]

    monkeypatch.setattr(backends, "update_text", failing)
    with pytest.raises(StoreError, match="nothing was written"):
        store.load([WARD7])
    assert snapshot(store) == before


def test_reloading_a_file_replaces_its_graph(store: GraphStore):
    assert store.load([REFERENCE, WARD7]).ok
    first = snapshot(store)
    again = store.load([WARD7])
    assert again.ok and again.batches[0].replaces
    second = snapshot(store)
    changed = first ^ second
    # Only the provenance of the reloaded batch (its load time) may differ.
    assert all(
        "/provenance" in q and ("generatedAtTime" in q or "startedAtTime" in q) for q in changed
    )
    assert len(first) == len(second)


def test_reloading_an_edited_file_leaves_no_stale_triples(store: GraphStore, records: Path):
    assert store.load([records / "reference", records / "projects" / "ward7-falls.yaml"]).ok
    assert ask(store, 'ASK { ?c cipd:prediction ?p FILTER(CONTAINS(?p, "Pairing rounds")) }')
    project = records / "projects" / "ward7-falls.yaml"
    project.write_text(
        project.read_text(encoding="utf-8").replace(
            "Pairing rounds with observations", "Combining rounds"
        ),
        encoding="utf-8",
    )
    assert store.load([project]).ok
    assert not ask(store, 'ASK { ?c cipd:prediction ?p FILTER(CONTAINS(?p, "Pairing rounds")) }')
    assert ask(store, 'ASK { ?c cipd:prediction ?p FILTER(CONTAINS(?p, "Combining rounds")) }')


def test_the_same_project_in_two_files_is_refused(store: GraphStore, records: Path):
    assert store.load([records / "reference", records / "projects" / "ward7-falls.yaml"]).ok
    twin = records / "ward7-copy.yaml"
    shutil.copy(records / "projects" / "ward7-falls.yaml", twin)
    result = store.load([twin])
    assert not result.ok
    assert any(
        "already loaded from" in p.reason and "ward7-falls.yaml" in p.reason
        for p in result.problems
    )


def test_provenance_of_each_batch(store: GraphStore):
    assert store.load([REFERENCE, WARD7]).ok
    sources = {Path(s.path).name: s for s in store.sources()}
    ward7 = sources["ward7-falls.yaml"]
    assert ward7.sha256 == hashlib.sha256(WARD7.read_bytes()).hexdigest()
    # The path as the user gave it, relative to the working folder: never the machine's
    # absolute path, nor the account that loaded it (CIPD_USER names who loaded).
    assert not Path(ward7.path).is_absolute() and ward7.path.endswith("ward7-falls.yaml")
    assert ward7.kind == "project" and ward7.loaded_by == "tester" and ward7.tool_version
    assert ward7.loaded_at.endswith("Z")
    assert sources["people.csv"].kind == "people"


def test_provenance_names_a_file_outside_the_working_folder_by_its_name_only(
    store: GraphStore, records: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert store.load([records / "reference"]).ok
    paths = {s.path for s in store.sources()}
    assert "people.csv" in paths and not any("/" in p for p in paths)
    assert not ask(
        store, f'ASK {{ GRAPH ?g {{ ?s ?p ?o FILTER(CONTAINS(STR(?o), "{records}")) }} }}'
    )
    unnamed = GraphStore(tmp_path / "other", Settings(pseudonym_key="k" * 24))
    assert unnamed.load([records / "reference"]).ok
    assert {s.loaded_by for s in unnamed.sources()} == {"unnamed user"}
    unnamed.close()


def test_drop_removes_a_batch_and_its_derived_facts(store: GraphStore):
    assert store.load([REFERENCE, WARD7]).ok
    assert ask(
        store, "ASK { <https://w3id.org/cipd/data/project/ward7-falls> cipd:evidencesStrand ?s }"
    )
    store.drop(str(WARD7))
    assert not ask(store, "ASK { <https://w3id.org/cipd/data/project/ward7-falls> ?p ?o }")
    assert "ward7-falls.yaml" not in {Path(s.path).name for s in store.sources()}
    with pytest.raises(StoreError, match="nothing is loaded from"):
        store.drop(str(WARD7))


def test_incremental_validation_uses_only_what_the_batch_touches(
    store: GraphStore, monkeypatch: pytest.MonkeyPatch
):
    assert store.load([SAMPLES]).ok
    import cipd_graph.load.pipeline as pipeline_module

    seen: list[int] = []
    real = pipeline_module.validate_graph

    def spy(data, *args, **kwargs):
        seen.append(len(data))
        return real(data, *args, **kwargs)

    monkeypatch.setattr(pipeline_module, "validate_graph", spy)
    assert store.validate([WARD7]).ok
    (size,) = seen
    assert size < len(store.oxigraph) / 10, (size, len(store.oxigraph))


def test_validate_store_checks_everything_together(loaded_sample_store: GraphStore):
    report = loaded_sample_store.validate_store()
    assert report.conforms, report.to_text()
    assert {f.severity for f in report.findings} <= {"note", "warning"}


def test_people_are_pseudonymous_and_names_stay_out_of_exports(loaded_sample_store: GraphStore):
    people = (REFERENCE / "people.csv").read_text(encoding="utf-8").splitlines()[1:]
    local_ids = [line.split(",")[0] for line in people]
    names = [line.split(",")[2] for line in people if line.split(",")[2]]
    assert names, "the samples name a few people"
    exported = loaded_sample_store.export("nq").decode("utf-8")
    for local in local_ids:
        assert f"/{local}>" not in exported and f'"{local}"' not in exported
    for name in names:
        assert name not in exported
    with_names = loaded_sample_store.export("nq", with_names=True).decode("utf-8")
    assert all(name in with_names for name in names)


def test_pseudonyms_depend_on_the_key(tmp_path: Path):
    one = GraphStore(None, Settings(pseudonym_key="key-one-0123456789"))
    two = GraphStore(None, Settings(pseudonym_key="key-two-0123456789"))
    assert one.pseudonymiser("nsh-0101") != two.pseudonymiser("nsh-0101")
    disk = GraphStore(tmp_path / "s", Settings())
    key_file = tmp_path / "s" / "pseudonym.key"
    first = disk.pseudonymiser("nsh-0101")
    assert key_file.stat().st_mode & 0o777 == 0o600
    disk.close()
    assert GraphStore(tmp_path / "s", Settings()).pseudonymiser("nsh-0101") == first


def test_iris_are_deterministic_and_follow_the_base(tmp_path: Path):
    a = GraphStore(None, Settings(pseudonym_key="k" * 20, base_iri="https://example.org/a/"))
    b = GraphStore(None, Settings(pseudonym_key="k" * 20, base_iri="https://example.org/a/"))
    for s in (a, b):
        assert s.load([REFERENCE, WARD7]).ok

    def data(s: GraphStore) -> set[str]:  # records and derived facts, not provenance or ontology
        return {
            str(q)
            for q in s.oxigraph
            if str(q.graph_name).startswith("<https://example.org/a/graph/")
            and "/provenance" not in str(q.graph_name)
            and "/graph/meta>" not in str(q.graph_name)
        }

    assert data(a) == data(b)
    assert ask(a, "ASK { <https://example.org/a/project/ward7-falls> a cipd:ImprovementProject }")


def test_derived_facts_follow_the_rules(loaded_sample_store: GraphStore):
    strands = select(
        loaded_sample_store,
        "SELECT ?s WHERE { <https://w3id.org/cipd/data/project/xray-repeat-rates> cipd:evidencesStrand ?s }",
    )
    assert strands == [(CIPD + "ServiceImprovement",), (CIPD + "WorkBasedLearning",)]
    # the uniprofessional activity is not interprofessional; the huddle on ward 7 is
    assert not ask(
        loaded_sample_store,
        "ASK { <https://w3id.org/cipd/data/project/maternity-handover/activity/midwife-sbar-refresher> a cipd:InterprofessionalLearningActivity }",
    )
    assert ask(
        loaded_sample_store,
        "ASK { <https://w3id.org/cipd/data/project/ward7-falls/activity/falls-huddle-may> a cipd:InterprofessionalLearningActivity }",
    )
    assert not ask(
        loaded_sample_store,
        "ASK { <https://w3id.org/cipd/data/project/msk-first-contact> cipd:evidencesDimension cipd:LearningAsExperience }",
    )


def test_a_store_in_use_is_reported(tmp_path: Path, settings: Settings):
    with (
        GraphStore(tmp_path / "s", settings),
        pytest.raises(StoreError, match="in use by another process"),
    ):
        GraphStore(tmp_path / "s", settings)


def test_a_remote_store_needs_a_pseudonym_key():
    with pytest.raises(StoreError, match="set CIPD_PSEUDONYM_KEY"):
        GraphStore.open(Settings(store="http://127.0.0.1:9/sparql"))


def test_an_unreachable_remote_store_is_reported_clearly():
    settings = Settings(store="http://127.0.0.1:9/sparql", pseudonym_key="k" * 20)
    with pytest.raises(StoreError, match=r"127\.0\.0\.1:9/sparql: cannot reach the SPARQL server"):
        GraphStore.open(settings)


@pytest.mark.parametrize("fmt", ["ttl", "nt", "nq", "trig", "jsonld"])
def test_exports_parse_back(loaded_sample_store: GraphStore, fmt: str):
    data = loaded_sample_store.export(fmt)
    rdf_format = {
        "ttl": ox.RdfFormat.TURTLE,
        "nt": ox.RdfFormat.N_TRIPLES,
        "nq": ox.RdfFormat.N_QUADS,
        "trig": ox.RdfFormat.TRIG,
        "jsonld": ox.RdfFormat.JSON_LD,
    }[fmt]
    parsed = list(ox.parse(data, format=rdf_format))
    assert len(parsed) > 1000


def test_batch_nquads_write_exactly_the_mapped_quads(store: GraphStore):
    """The N-Quads a load writes as text (each distinct term formatted once) are the quads
    of the mapped graphs, with literals of every kind and text that needs escaping."""
    from rdflib import BNode, Literal, URIRef
    from rdflib.namespace import XSD

    mapped, problems = store.pipeline.parse_and_map([SAMPLES / "projects"])
    assert not problems and mapped
    s, p = URIRef("https://w3id.org/cipd/data/x"), URIRef("https://w3id.org/cipd#note")
    odd = [
        Literal('quote " backslash \\ newline \n tab \t cr \r'),
        Literal("x"),
        Literal("x", datatype=XSD.string),
        Literal("x", lang="en-GB"),
        Literal("01", datatype=XSD.integer),
        Literal("1.50", datatype=XSD.decimal),
        Literal("not a date", datatype=XSD.date),
        Literal("ünïcödé ✓ 𝄞"),
        BNode("b1"),
        URIRef("https://w3id.org/cipd/data/é"),
    ]
    for o in odd:
        mapped[0].graph.add((s, p, o))
    from cipd_graph.load.batches import batch_nquads, provenance

    text = batch_nquads(mapped, store.layout, "tester", "2026-01-01T00:00:00Z", union=True)
    written = set(ox.parse(text, format=ox.RdfFormat.N_QUADS))

    expected: set[ox.Quad] = set()
    for m in mapped:
        graph = store.batch_graph(m.source.path)
        made = provenance(m, graph, "tester", "2026-01-01T00:00:00Z", store.base)
        for data, name in (
            (m.graph, graph),
            (m.names, graph + "/names"),
            (made, graph + "/provenance"),
            (m.graph, None),  # the union
        ):
            nt = data.serialize(format="nt", encoding="utf-8")
            expected |= {
                ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(name) if name else None)
                for t in ox.parse(nt, format=ox.RdfFormat.N_TRIPLES)
            }
    assert written == expected
    # "x" and "x"^^xsd:string are two terms in rdflib and one in RDF 1.1 (and Oxigraph)
    first = ox.NamedNode(store.batch_graph(mapped[0].source.path))
    assert sum(1 for q in written if q.graph_name == first) == len(mapped[0].graph) - 1
    notes = {q.object for q in written if q.predicate == ox.NamedNode(str(p))}
    assert len(notes) == len(odd) - 1
