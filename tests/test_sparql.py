"""The bounded, read-only SPARQL runner behind the public endpoint, on a real on-disk store."""

from __future__ import annotations

import json
import time

import pyoxigraph as ox
import pytest

from cipd_graph._sparql import (
    MAX_QUERY_CHARS,
    QueryRefusedError,
    QueryTimeoutError,
    check_query,
    run_bounded,
)

PREFIX = "PREFIX cipd: <https://w3id.org/cipd#> PREFIX foaf: <http://xmlns.com/foaf/0.1/> "
WEAVES = PREFIX + "SELECT ?p ?s WHERE { ?p cipd:weaves ?s } ORDER BY ?p ?s"


@pytest.fixture(scope="module")
def store_dir(loaded_sample_store):
    return loaded_sample_store.location / "oxigraph"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("INSERT DATA { <urn:a> <urn:b> <urn:c> }", "read-only"),
        ("DELETE WHERE { ?s ?p ?o }", "read-only"),
        ("LOAD <http://127.0.0.1:9/x.ttl>", "read-only"),
        ("DROP ALL", "read-only"),
        (
            "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
            "SERVICE is refused",
        ),
        (
            "SELECT * FROM <http://127.0.0.1:9/remote.ttl> WHERE { ?s ?p ?o }",
            "FROM <http://127.0.0.1:9/remote.ttl> is refused",
        ),
        (
            "SELECT * FROM NAMED <http://127.0.0.1:9/g> WHERE { GRAPH ?g { ?s ?p ?o } }",
            "is refused",
        ),
        ("SELEKT * WHERE { ?s ?p ?o }", "not a valid SPARQL query"),
        ("SELECT * WHERE { ?s ?p ?o } # " + "x" * MAX_QUERY_CHARS, "the limit is"),
    ],
)
def test_refusals(query, message):
    with pytest.raises(QueryRefusedError, match=message):
        check_query(query)


def test_from_a_graph_the_store_holds_is_allowed():
    assert check_query("SELECT * FROM <urn:g> WHERE { ?s ?p ?o }", graphs={"urn:g"}) == "SELECT"
    assert check_query("ASK { ?s ?p ?o }") == "ASK"
    assert check_query("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }") == "CONSTRUCT"


@pytest.mark.parametrize(
    "media_type",
    [
        "application/sparql-results+json",
        "application/sparql-results+xml",
        "text/csv",
        "text/tab-separated-values",
    ],
)
def test_select_results_in_every_format_are_capped_and_parse(store_dir, media_type):
    result = run_bounded(store_dir, WEAVES, media_type, cap=7)
    assert result.truncated and result.count == 7
    if media_type == "text/csv":  # pyoxigraph will not parse lossy CSV results
        import csv
        import io

        rows = list(csv.reader(io.StringIO(result.body.decode())))
        assert rows[0] == ["p", "s"] and len(rows) == 8
        return
    fmt = ox.QueryResultsFormat.from_media_type(media_type)
    parsed = ox.parse_query_results(result.body, format=fmt)
    assert len(list(parsed)) == 7


def test_uncapped_results_say_they_are_complete(store_dir):
    result = run_bounded(
        store_dir,
        PREFIX + "SELECT ?s WHERE { ?s a cipd:Strand }",
        "application/sparql-results+json",
    )
    assert not result.truncated
    assert len(json.loads(result.body)["results"]["bindings"]) == 4


@pytest.mark.parametrize(
    "media_type",
    ["text/turtle", "application/n-triples", "application/ld+json", "application/rdf+xml"],
)
def test_construct_in_every_format(store_dir, media_type):
    query = PREFIX + "CONSTRUCT { ?p cipd:weaves ?s } WHERE { ?p cipd:weaves ?s }"
    result = run_bounded(store_dir, query, media_type, cap=10)
    assert result.truncated
    assert len(list(ox.parse(result.body, format=ox.RdfFormat.from_media_type(media_type)))) == 10


def test_ask(store_dir):
    result = run_bounded(
        store_dir,
        PREFIX + "ASK { ?p cipd:weaves cipd:WorkBasedLearning }",
        "application/sparql-results+json",
    )
    assert json.loads(result.body)["boolean"] is True


def test_a_slow_query_is_really_stopped(store_dir):
    slow = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    start = time.monotonic()
    with pytest.raises(QueryTimeoutError, match="time limit of 1 s"):
        run_bounded(store_dir, slow, "text/csv", timeout_s=1)
    assert time.monotonic() - start < 4
    import multiprocessing

    time.sleep(0.2)
    assert not [p for p in multiprocessing.active_children() if p.is_alive()]


def test_names_are_invisible_to_public_queries(store_dir):
    for query in (
        PREFIX + "SELECT ?n WHERE { ?s foaf:name ?n }",
        PREFIX + "SELECT ?n WHERE { GRAPH ?g { ?s foaf:name ?n } }",
    ):
        result = run_bounded(store_dir, query, "application/sparql-results+json")
        assert json.loads(result.body)["results"]["bindings"] == []
