"""One triple, one count (issue 19, point 8): the default graph users query is a set of
triples, so COUNT equals COUNT(DISTINCT) for every class and every property, over the sample
records and over a generated store of 1,000 projects loaded the staged way.

The same triple is asserted by several record graphs (a person typed by people.csv and by
each project naming them), so each test first shows that the named graphs do repeat it:
without the union default graph these counts would differ."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest

from cipd_graph import Settings
from cipd_graph._generate import generate
from cipd_graph.graph import GraphStore

from .conftest import SAMPLES

PER_CLASS = """
SELECT ?c (COUNT(?s) AS ?n) (COUNT(DISTINCT ?s) AS ?d) WHERE { ?s a ?c } GROUP BY ?c
"""
PER_PROPERTY = "SELECT ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p"
PER_PROPERTY_DISTINCT = """
SELECT ?p (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } } GROUP BY ?p
"""
TRIPLES = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
DISTINCT_TRIPLES = "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }"
PEOPLE = """
SELECT (COUNT(?x) AS ?n) (COUNT(DISTINCT ?x) AS ?d) WHERE { ?x a <http://xmlns.com/foaf/0.1/Person> }
"""
PEOPLE_IN_GRAPHS = """
SELECT (COUNT(?x) AS ?n) WHERE { GRAPH ?g { ?x a <http://xmlns.com/foaf/0.1/Person> } }
"""


def _number(store: GraphStore, text: str, name: str = "n") -> int:
    answer = store.query(text)
    assert isinstance(answer, ox.QuerySolutions)
    (row,) = list(answer)
    return int(row[name].value)


def _per_property(store: GraphStore, text: str) -> dict[str, int]:
    answer = store.query(text)
    assert isinstance(answer, ox.QuerySolutions)
    return {row["p"].value: int(row["n"].value) for row in answer}


def _assert_counted_once(store: GraphStore) -> dict[str, int]:
    """Every class and property counted once, the whole default graph too; the per-class
    counts, for the caller's own checks."""
    answer = store.query(PER_CLASS)
    assert isinstance(answer, ox.QuerySolutions)
    classes: dict[str, int] = {}
    for row in answer:
        n, d = int(row["n"].value), int(row["d"].value)
        assert n == d, f"{row['c'].value}: COUNT {n}, COUNT(DISTINCT) {d}"
        classes[row["c"].value] = n
    assert len(classes) > 20  # the records' classes, the ontology's and the derived ones
    assert _per_property(store, PER_PROPERTY) == _per_property(store, PER_PROPERTY_DISTINCT)
    assert _number(store, TRIPLES) == _number(store, DISTINCT_TRIPLES)
    return classes


@pytest.fixture(scope="module")
def generated_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphStore]:
    """1,000 generated projects, loaded as `cipd load` does (staged: chunks in workers)."""
    records = tmp_path_factory.mktemp("generated-records")
    generate(records, projects=1000, seed=7)
    store = GraphStore(
        tmp_path_factory.mktemp("generated-store"),
        Settings(pseudonym_key="test-key-0123456789abcdef", user="tester"),
    )
    result = store.load([records])
    assert result.ok, result.to_text()
    yield store
    store.close()


def test_the_sample_counts_each_triple_once(loaded_sample_store: GraphStore):
    people_rows = (SAMPLES / "reference" / "people.csv").read_text(encoding="utf-8").splitlines()
    people = len(people_rows) - 1
    # the record graphs repeat a person's type (people.csv, and each project naming them) ...
    assert _number(loaded_sample_store, PEOPLE_IN_GRAPHS) > people
    # ... the default graph does not: the issue's own query gave 216 and 82
    assert _number(loaded_sample_store, PEOPLE) == _number(loaded_sample_store, PEOPLE, "d")
    classes = _assert_counted_once(loaded_sample_store)
    assert classes["http://xmlns.com/foaf/0.1/Person"] == people == 82


def test_a_generated_store_of_1000_projects_counts_each_triple_once(
    generated_store: GraphStore,
):
    assert _number(generated_store, PEOPLE_IN_GRAPHS) > _number(generated_store, PEOPLE)
    classes = _assert_counted_once(generated_store)
    assert classes["https://w3id.org/cipd#ImprovementProject"] == 1000
    # the totals the store keeps per version (the dashboard's counts) are the same set's
    stats = generated_store.stats()
    assert stats["projects"] == 1000
    assert stats["triples"] == _number(generated_store, TRIPLES)


def test_a_drop_leaves_no_count_behind(tmp_path: Path):
    """A person named by two files stays counted once while either holds them, and is gone
    with the last: the union follows the record graphs, not the number of loads."""
    store = GraphStore(tmp_path / "store", Settings(pseudonym_key="k" * 24, user="tester"))
    try:
        ward7 = SAMPLES / "projects" / "ward7-falls.yaml"
        assert store.load([SAMPLES / "reference", ward7]).ok
        before = _number(store, PEOPLE)
        assert before == _number(store, PEOPLE, "d") == 82
        store.drop(str(ward7))
        _assert_counted_once(store)
        assert _number(store, PEOPLE) == 82  # people.csv still types them, once
        assert store.stats()["triples"] == _number(store, TRIPLES)  # the kept total moved too
    finally:
        store.close()
