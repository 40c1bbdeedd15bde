"""One suite of store behaviours, run against every backend: embedded Oxigraph and Virtuoso.

Each backend class only says how to open a store; the behaviours (load, reload, failed
loads, drop, stats, sources, export, named queries, hidden names, the public endpoint)
are written once, in :class:`StoreBehaviour`. The embedded store loaded with the sample
records (``loaded_sample_store``) is the reference every backend must agree with.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox
import pytest

from cipd_graph import Settings, load_ontology
from cipd_graph._errors import StoreError
from cipd_graph._queries import named_queries, run_query
from cipd_graph._sparql import run_public
from cipd_graph.graph import GraphStore

from .conftest import SAMPLES

REFERENCE = SAMPLES / "reference"
WARD7 = SAMPLES / "projects" / "ward7-falls.yaml"
KEY = "test-key-0123456789abcdef"
DEFAULT_BASE = "https://w3id.org/cipd/data/"
PARAMS = {
    "project": "ward7-falls",
    "team": "ward7-microsystem",
    "organisation": "northshire-trust",
    "module": "ncu-qi-practice",
    "programme": "nsu-msc-qi",
}
_bases = itertools.count()


def snapshot(store: GraphStore) -> set[str]:
    return {str(q) for q in store.backend.quads()}


def people_names() -> list[str]:
    lines = (REFERENCE / "people.csv").read_text(encoding="utf-8").splitlines()[1:]
    return [line.split(",")[2] for line in lines if line.split(",")[2]]


def normalised(rows: list[dict[str, str | None]], text: str) -> list[str]:
    """Rows as comparable text, each GROUP_CONCAT list sorted (SPARQL leaves its order open)."""
    lists = {
        var: sep
        for sep, var in re.findall(
            r'GROUP_CONCAT\([^;]*;\s*separator\s*=\s*"([^"]*)"\s*\)\s*AS\s+\?(\w+)', text
        )
    }

    def cell(name: str, value: str | None) -> str:
        if value is None:
            return ""
        sep = lists.get(name)
        return sep.join(sorted(value.split(sep))) if sep else value

    return sorted(
        json.dumps({k: cell(k, v) for k, v in row.items()}, sort_keys=True) for row in rows
    )


def without_load_times(quads: set[str]) -> set[str]:
    """Quads as text, less the load times and the store's version, with integer subtypes written as xsd:integer.

    Oxigraph stores "2"^^xsd:positiveInteger as "2"^^xsd:integer; Virtuoso keeps the type.
    """
    # the load times, and the store's version (new with every write, graph/meta)
    times = ("generatedAtTime", "startedAtTime", "/graph/meta#version")
    subtypes = re.compile(r"XMLSchema#(?:positiveInteger|nonNegativeInteger)>")
    return {subtypes.sub("XMLSchema#integer>", q) for q in quads if not any(t in q for t in times)}


Opener = Callable[[str], GraphStore]


class StoreBehaviour:
    """What every backend must do. Subclasses provide the ``opener`` fixture: base -> store."""

    @pytest.fixture(scope="class")
    @classmethod
    def opener(cls) -> Opener:
        raise NotImplementedError

    @pytest.fixture
    def store(self, opener: Opener):
        store = opener(f"https://example.org/t{next(_bases)}/")
        yield store
        store.close()

    @pytest.fixture(scope="class")
    @classmethod
    def loaded(cls, opener: Opener):
        """The sample records loaded under the default base (read it, do not write)."""
        store = opener(DEFAULT_BASE)
        result = store.load([SAMPLES])
        assert result.ok and result.written, result.to_text()
        yield store
        store.close()

    # -- loading ---------------------------------------------------------------------
    def test_the_samples_load_with_the_same_counts_as_the_embedded_store(
        self, loaded: GraphStore, loaded_sample_store: GraphStore
    ):
        assert loaded.stats() == loaded_sample_store.stats()

    def test_sources_record_where_each_batch_came_from(
        self, loaded: GraphStore, loaded_sample_store: GraphStore
    ):
        ours = [(s.graph, s.path, s.kind, s.sha256, s.triples) for s in loaded.sources()]
        reference = [
            (s.graph, s.path, s.kind, s.sha256, s.triples) for s in loaded_sample_store.sources()
        ]
        assert ours == reference and len(ours) > 30
        assert {s.loaded_by for s in loaded.sources()} == {"tester"}

    def test_the_export_holds_the_same_quads_as_the_embedded_store(
        self, loaded: GraphStore, loaded_sample_store: GraphStore
    ):
        def quads(store: GraphStore) -> set[str]:
            data = store.export("nq", with_names=True)
            return without_load_times({str(q) for q in ox.parse(data, format=ox.RdfFormat.N_QUADS)})

        ours, reference = quads(loaded), quads(loaded_sample_store)
        assert ours == reference, sorted(ours ^ reference)[:6]
        # The ontology has blank nodes (OWL restrictions), so compare it by size.
        count = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH <https://w3id.org/cipd> { ?s ?p ?o } }"
        assert int(loaded.select(count)[0]["n"].value) == len(load_ontology())
        assert loaded.quad_count() == loaded_sample_store.quad_count()
        assert loaded.union_size() == loaded_sample_store.union_size()

    def test_named_queries_give_the_same_answers_as_the_embedded_store(
        self, loaded: GraphStore, loaded_sample_store: GraphStore
    ):
        for name, query in named_queries().items():
            params = {p.name: PARAMS[p.name] for p in query.parameters if p.required}
            ours = run_query(loaded, name, params)
            reference = run_query(loaded_sample_store, name, params)
            assert ours.variables == reference.variables, name
            assert normalised(ours.rows, query.text) == normalised(reference.rows, query.text), name
            if reference.triples is not None:
                assert {str(t) for t in ours.triples or []} == {str(t) for t in reference.triples}
            assert reference.rows or reference.triples, f"{name} gives no answer to compare"

    # -- privacy -----------------------------------------------------------------------
    def test_names_never_reach_named_queries_exports_or_the_public_endpoint(
        self, loaded: GraphStore
    ):
        names = people_names()
        assert names, "the samples name a few people"
        for name, query in named_queries().items():
            result = run_query(loaded, name, {p.name: PARAMS[p.name] for p in query.parameters})
            text = str(result.rows) + str(result.triples)
            assert not any(n in text for n in names), name
        exported = loaded.export("nq").decode("utf-8")
        assert not any(n in exported for n in names)
        assert all(n in loaded.export("nq", with_names=True).decode("utf-8") for n in names)
        for query in (
            "SELECT ?n WHERE { ?p <http://xmlns.com/foaf/0.1/name> ?n }",
            "SELECT ?n WHERE { GRAPH ?g { ?p <http://xmlns.com/foaf/0.1/name> ?n } }",
            "SELECT ?o WHERE { ?s ?p ?o FILTER(isLiteral(?o)) }",
        ):
            answer = run_public(loaded, query, "application/sparql-results+json", cap=100_000)
            assert not any(n in answer.body.decode("utf-8") for n in names), query
        assert all(not g.endswith("/names") for g in loaded.readable_graphs())

    def test_the_public_endpoint_caps_results(self, loaded: GraphStore):
        answer = run_public(
            loaded, "SELECT * WHERE { ?s ?p ?o }", "application/sparql-results+json", cap=7
        )
        assert answer.truncated and answer.count == 7
        assert len(json.loads(answer.body)["results"]["bindings"]) == 7
        triples = run_public(loaded, "CONSTRUCT WHERE { ?s a ?c }", "application/n-triples", cap=5)
        assert triples.truncated and len(triples.body.decode().strip().splitlines()) == 5

    # -- writing ------------------------------------------------------------------------
    def test_reloading_a_file_changes_only_its_load_time(self, store: GraphStore):
        assert store.load([REFERENCE, WARD7]).ok
        first = snapshot(store)
        again = store.load([WARD7])
        assert again.ok and again.written and again.batches[0].replaces
        second = snapshot(store)
        assert len(first) == len(second)
        assert without_load_times(first) == without_load_times(second)

    def test_a_batch_that_fails_validation_changes_nothing(self, store: GraphStore, records: Path):
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
        assert not result.ok and not result.written
        assert snapshot(store) == before

    def test_a_write_that_fails_half_way_changes_nothing(
        self, store: GraphStore, monkeypatch: pytest.MonkeyPatch
    ):
        assert store.load([REFERENCE]).ok
        before = snapshot(store)
        from cipd_graph.store import Store

        real = Store.apply

        def failing(self, changes, after=(), *, graphs=()):
            # The batch's graphs, the union and the derived graphs are written before this fails.
            unreachable = "LOAD <http://127.0.0.1:9/unreachable.ttl> INTO GRAPH <urn:x>"
            return real(self, changes, [*after, unreachable], graphs=graphs)

        monkeypatch.setattr(Store, "apply", failing)
        with pytest.raises(StoreError, match="nothing was written"):
            store.load([WARD7])
        assert snapshot(store) == before
        assert "ward7-falls.yaml" not in {Path(s.path).name for s in store.sources()}

    def test_drop_removes_a_batch_and_its_derived_facts(self, store: GraphStore):
        assert store.load([REFERENCE, WARD7]).ok
        project = f"<{store.base}project/ward7-falls>"
        assert store.query(f"ASK {{ {project} <https://w3id.org/cipd#evidencesStrand> ?s }}")
        store.drop(str(WARD7))
        assert not store.query(f"ASK {{ {project} ?p ?o }}")
        assert "ward7-falls.yaml" not in {Path(s.path).name for s in store.sources()}
        with pytest.raises(StoreError, match="nothing is loaded from"):
            store.drop(str(WARD7))


class TestEmbeddedStore(StoreBehaviour):
    """Oxigraph on disk."""

    @pytest.fixture(scope="class")
    @classmethod
    def opener(cls, tmp_path_factory: pytest.TempPathFactory) -> Opener:
        folder = tmp_path_factory.mktemp("embedded")

        def open_store(base: str) -> GraphStore:
            settings = Settings(pseudonym_key=KEY, user="tester", base_iri=base)
            return GraphStore(folder / re.sub(r"\W", "-", base), settings)

        return open_store


@pytest.mark.remote
class TestVirtuosoStore(StoreBehaviour):
    """A Virtuoso Open Source server over SPARQL 1.1 Query, Update and Graph Store Protocol."""

    @pytest.fixture(scope="class")
    @classmethod
    def opener(cls, virtuoso) -> Opener:
        return lambda base: GraphStore.open(Settings.from_env(virtuoso_env(virtuoso, base)))


def virtuoso_env(server, base: str, **changes: str) -> dict[str, str]:
    """The CIPD_* variables that point cipd-graph at the test's Virtuoso server."""
    env = {
        "CIPD_STORE": server.sparql_url,
        "CIPD_STORE_UPDATE": server.update_url,
        "CIPD_STORE_GSP": server.gsp_url,
        "CIPD_STORE_USER": "dba",
        "CIPD_STORE_PASSWORD": "dba",
        "CIPD_STORE_AUTH": "digest",
        "CIPD_PSEUDONYM_KEY": KEY,
        "CIPD_USER": "tester",
        "CIPD_BASE_IRI": base,
    } | changes
    return {k: v for k, v in env.items() if v}
