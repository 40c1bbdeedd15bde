"""The named queries as rewritten for speed give the same answers as the texts they replaced.

``tests/data/queries-reference/`` keeps the query texts as they were before the rewrites that
read facts derived at load (rules 32, 41 and 50) and joined whole-store listings by hashing.
Where a query's meaning changed (issue 19: cq01, cq02, cq03, cq05, cq07, cq11 and cq14 now read
the strands as evidence, the weaving levels, the CAIPE test by profession families, the
practice-to-learning links and partnerships), the reference is the new text, until a rewrite
for speed gives it something to be compared with.
Each query, old and new, runs on the same store (the sample records, and 200 generated
projects) with every parameter value of a kind the store holds, and over the whole store when
its parameters are optional. The results must be the same multiset of rows, term for term
(datatypes included), and in the same order of the ORDER BY keys where the query orders.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest

from cipd_graph import Settings
from cipd_graph._generate import generate
from cipd_graph._queries import NamedQuery, named_queries, run_query
from cipd_graph.graph import GraphStore

REFERENCE = Path(__file__).parent / "data" / "queries-reference"

# parameter name -> a query listing every value of it in a store
VALUES_OF = {
    "project": "SELECT DISTINCT ?v WHERE { ?v a <https://w3id.org/cipd#ImprovementProject> }",
    "team": "SELECT DISTINCT ?v WHERE { ?p <https://w3id.org/cipd#hasTeam> ?v }",
    "organisation": "SELECT DISTINCT ?v WHERE { ?p <https://w3id.org/cipd#hostedBy> ?v }",
    "module": "SELECT DISTINCT ?v WHERE { ?v a <https://w3id.org/cipd#Module> }",
    "programme": "SELECT DISTINCT ?v WHERE { ?v <https://schema.org/hasCourse> ?m }",
}


@pytest.fixture(scope="module")
def generated_store(tmp_path_factory: pytest.TempPathFactory):
    """200 generated projects loaded into a store on disk."""
    records = tmp_path_factory.mktemp("generated-records")
    generate(records, projects=200, seed=7)
    store = GraphStore(
        tmp_path_factory.mktemp("generated-store"),
        Settings(pseudonym_key="test-key-0123456789abcdef", user="tester"),
    )
    result = store.load([records])
    assert result.ok, result.to_text()[:2000]
    yield store
    store.close()


def _order_keys(query: NamedQuery) -> list[str] | None:
    """The ORDER BY variables if they are all projected (else None: compare rows exactly)."""
    match = re.search(r"^ORDER BY (.+)$", query.text, re.MULTILINE)
    if match is None:
        return []
    keys = re.findall(r"\?(\w+)", match.group(1))
    projected = re.search(r"^SELECT (.+?) WHERE", query.text, re.MULTILINE | re.DOTALL)
    assert projected is not None
    head = projected.group(1)
    names = set(re.findall(r"AS \?(\w+)\)", head)) | set(re.findall(r"(?<!AS )\?(\w+)", head))
    return keys if set(keys) <= names else None


def _concatenated(query: NamedQuery) -> dict[str, str]:
    """GROUP_CONCAT columns and their separators: SPARQL leaves the order of the values
    inside one unspecified (Oxigraph follows its evaluation order, so a rewrite may change
    it), so they are compared as multisets of their parts."""
    return {
        name: separator
        for separator, name in re.findall(
            r'GROUP_CONCAT\((?:DISTINCT )?\?\w+; separator="([^"]*)"\) AS \?(\w+)\)', query.text
        )
    }


def _normalised(value: str | None, separator: str | None) -> Any:
    if value is None or separator is None:
        return value
    end = value.rindex('"')  # the value as N-Triples: "text" and a language tag or datatype
    return (*sorted(value[1:end].split(separator)), value[end:])


def _answer(store: GraphStore, query: NamedQuery, values: dict[str, str]) -> Any:
    result = store.query(query.bound(values, store.base))
    if isinstance(result, list):  # CONSTRUCT
        return Counter(str(t) for t in result)
    assert isinstance(result, ox.QuerySolutions)
    variables = [v.value for v in result.variables]
    rows = [{v: None if row[v] is None else str(row[v]) for v in variables} for row in result]
    return variables, rows


def _cases(store: GraphStore, query: NamedQuery, per_kind: int) -> list[dict[str, str]]:
    """Parameter values to try: each value of the store (up to ``per_kind``), and none for a
    query whose parameters are all optional."""
    if not query.parameters:
        return [{}]
    cases: list[dict[str, str]] = []
    if not any(p.required for p in query.parameters):
        cases.append({})
    for parameter in query.parameters:
        listed = store.query(VALUES_OF[parameter.name])
        assert isinstance(listed, ox.QuerySolutions)
        found = sorted(str(r["v"].value) for r in listed)
        assert found, f"the store holds no {parameter.name}"
        cases.extend({parameter.name: v} for v in found[:per_kind])
    return cases


def _compare(store: GraphStore, name: str, per_kind: int) -> int:
    return _compare_texts(store, named_queries(REFERENCE)[name], named_queries()[name], per_kind)


def _compare_texts(store: GraphStore, old: NamedQuery, new: NamedQuery, per_kind: int) -> int:
    name = new.name
    compared = 0
    for values in _cases(store, old, per_kind):
        before, after = _answer(store, old, values), _answer(store, new, values)
        where = f"{name} {values or '(whole store)'}"
        if isinstance(before, Counter):
            assert after == before, where
            compared += 1
            continue
        (variables, rows), (new_variables, new_rows) = before, after
        assert new_variables == variables, where
        keys = _order_keys(old)
        if keys is None:  # ordered by something not returned: the rows in the same order
            assert new_rows == rows, where
        else:
            concatenated = _concatenated(old)
            as_tuples = [
                tuple(_normalised(r[v], concatenated.get(v)) for v in variables) for r in rows
            ]
            new_as_tuples = [
                tuple(_normalised(r[v], concatenated.get(v)) for v in variables) for r in new_rows
            ]
            assert Counter(new_as_tuples) == Counter(as_tuples), where
            assert [tuple(r[k] for k in keys) for r in new_rows] == [
                tuple(r[k] for k in keys) for r in rows
            ], f"{where}: not in the same order"
        if new.path.parent != REFERENCE and name in named_queries():
            # and the catalogue runs it as well (the API and CLI path)
            assert len(run_query(store, name, values).rows) == len(rows), where
        compared += 1
    return compared


def test_the_reference_copies_cover_the_catalogue():
    assert sorted(named_queries(REFERENCE)) == sorted(named_queries())
    for name, query in named_queries(REFERENCE).items():
        assert query.parameters == named_queries()[name].parameters, name


@pytest.mark.parametrize("name", sorted(named_queries()))
def test_same_answers_on_the_sample_records(loaded_sample_store, name):
    assert _compare(loaded_sample_store, name, per_kind=100) >= 1


@pytest.mark.parametrize("name", sorted(named_queries()))
def test_same_answers_on_generated_projects(generated_store, name):
    assert _compare(generated_store, name, per_kind=12) >= 1


def _edited(query: NamedQuery, old: str, new: str) -> NamedQuery:
    assert old in query.text
    text = query.text.replace(old, new)
    return NamedQuery(query.name, query.summary, query.tags, query.parameters, text, query.path)


@pytest.mark.parametrize(
    ("name", "old", "new"),
    [
        # the same rows in another order
        ("cq02-weaving-levels", "ORDER BY DESC(?level) ?k1", "ORDER BY DESC(?title) ?k1"),
        # one row less (a project of the sample records that evidences all four strands)
        (
            "cq02-weaving-levels",
            "dcterms:title ?title .",
            "dcterms:title ?title . FILTER(!CONTAINS(STR(?project), 'ward7'))",
        ),
        # a value of another datatype
        (
            "cq06-improvers",
            "BIND(COALESCE(?count, 0) AS ?projects)",
            "BIND(STR(COALESCE(?count, 0)) AS ?projects)",
        ),
        # a triple more
        (
            "cq16-module-map-skos",
            "skos:prefLabel ?title ;",
            "skos:prefLabel ?title ; skos:note ?title ;",
        ),
    ],
)
def test_the_comparison_catches_a_changed_answer(loaded_sample_store, name, old, new):
    reference = named_queries(REFERENCE)[name]
    changed = _edited(named_queries()[name], old, new)
    with pytest.raises(AssertionError):
        _compare_texts(loaded_sample_store, reference, changed, per_kind=100)
