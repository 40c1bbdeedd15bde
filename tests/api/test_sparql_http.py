"""The SPARQL endpoint over real HTTP: protocol, content negotiation, refusals, limits,
and real SPARQL clients (SPARQLWrapper and rdflib's SPARQLStore)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from rdflib import Graph
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import JSON, SPARQLWrapper

from .conftest import start_server

STRANDS = "SELECT ?s WHERE { ?s a <https://w3id.org/cipd#Strand> }"
WEAVES = "PREFIX cipd: <https://w3id.org/cipd#> SELECT ?p ?s WHERE { ?p cipd:weaves ?s }"
CONSTRUCT = "PREFIX cipd: <https://w3id.org/cipd#> CONSTRUCT { ?p cipd:weaves ?s } WHERE { ?p cipd:weaves ?s }"


def test_get_post_form_and_direct(server):
    with server.client() as http:
        get = http.get("/sparql", params={"query": STRANDS})
        form = http.post("/sparql", data={"query": STRANDS})
        direct = http.post(
            "/sparql", content=STRANDS, headers={"Content-Type": "application/sparql-query"}
        )
    for response in (get, form, direct):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/sparql-results+json")
        assert len(response.json()["results"]["bindings"]) == 4


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        ("application/sparql-results+json", "application/sparql-results+json"),
        ("application/sparql-results+xml", "application/sparql-results+xml"),
        ("text/csv", "text/csv"),
        ("text/tab-separated-values", "text/tab-separated-values"),
        ("application/json", "application/sparql-results+json"),
        ("text/html;q=0.9, text/csv;q=0.5", "text/csv"),
        ("*/*", "application/sparql-results+json"),
    ],
)
def test_select_content_negotiation(server, accept, media):
    with server.client() as http:
        response = http.get("/sparql", params={"query": STRANDS}, headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media)


@pytest.mark.parametrize(
    ("accept", "fmt"),
    [
        ("text/turtle", "turtle"),
        ("application/n-triples", "nt"),
        ("application/ld+json", "json-ld"),
        ("application/rdf+xml", "xml"),
    ],
)
def test_construct_content_negotiation(server, accept, fmt):
    with server.client() as http:
        response = http.get("/sparql", params={"query": CONSTRUCT}, headers={"Accept": accept})
    assert response.status_code == 200 and response.headers["content-type"].startswith(accept)
    assert len(Graph().parse(data=response.text, format=fmt)) > 50


def test_unacceptable_type_is_406(server):
    with server.client() as http:
        response = http.get("/sparql", params={"query": STRANDS}, headers={"Accept": "image/png"})
    assert response.status_code == 406 and "available" in response.json()["detail"]


def test_service_description(server):
    with server.client() as http:
        response = http.get("/sparql")
    assert response.status_code == 200 and response.headers["content-type"].startswith(
        "text/turtle"
    )
    graph = Graph().parse(data=response.text, format="turtle")
    assert any("sparql-service-description#Service" in str(o) for o in graph.objects())


@pytest.mark.parametrize(
    ("request_kwargs", "message"),
    [
        ({"method": "POST", "data": {"update": "DROP ALL"}}, "read-only"),
        (
            {
                "method": "POST",
                "content": "DROP ALL",
                "headers": {"Content-Type": "application/sparql-update"},
            },
            "read-only",
        ),
        (
            {"method": "GET", "params": {"query": "INSERT DATA { <urn:a> <urn:b> <urn:c> }"}},
            "read-only",
        ),
        ({"method": "GET", "params": {"query": "LOAD <http://127.0.0.1:9/x.ttl>"}}, "read-only"),
        (
            {
                "method": "GET",
                "params": {"query": "SELECT * { SERVICE <http://127.0.0.1:9/s> { ?s ?p ?o } }"},
            },
            "SERVICE is refused",
        ),
        (
            {
                "method": "GET",
                "params": {"query": "SELECT * FROM <http://127.0.0.1:9/g.ttl> { ?s ?p ?o }"},
            },
            "is refused",
        ),
        (
            {"method": "GET", "params": {"query": "SELECT * { ?s ?p ?o } #" + "x" * 20_001}},
            "the limit is",
        ),
        ({"method": "GET", "params": {"query": "SELECT * WHERE {"}}, "not a valid SPARQL query"),
        (
            {
                "method": "GET",
                "params": {"query": STRANDS, "default-graph-uri": "http://127.0.0.1:9/g"},
            },
            "not supported",
        ),
    ],
)
def test_refusals_are_clear_400s(server, request_kwargs, message):
    method = request_kwargs.pop("method")
    with server.client() as http:
        if method == "GET" and len(str(request_kwargs.get("params", ""))) > 8000:
            response = http.post("/sparql", data=request_kwargs["params"])
        else:
            response = http.request(method, "/sparql", **request_kwargs)
    assert response.status_code == 400, response.text
    assert message in response.json()["detail"]


def test_unsupported_body_is_415(server):
    with server.client() as http:
        response = http.post("/sparql", content=STRANDS, headers={"Content-Type": "text/plain"})
    assert response.status_code == 415


def test_timeout_really_stops_the_query(tmp_path: Path):
    for server in start_server(tmp_path / "s", query_timeout=1.0):
        slow = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
        start = time.monotonic()
        with server.client() as http:
            response = http.get("/sparql", params={"query": slow})
            assert response.status_code == 503
            assert "time limit of 1 s" in response.json()["detail"]
            assert time.monotonic() - start < 5
            # the server is still answering
            assert http.get("/sparql", params={"query": STRANDS}).status_code == 200


def test_result_cap_says_when_it_truncated(tmp_path: Path):
    for server in start_server(tmp_path / "s", result_cap=5):
        with server.client() as http:
            capped = http.get("/sparql", params={"query": WEAVES})
            whole = http.get("/sparql", params={"query": STRANDS})
        assert (
            capped.headers["X-CIPD-Truncated"] == "true"
            and len(capped.json()["results"]["bindings"]) == 5
        )
        assert "truncated" in capped.headers["Warning"]
        assert whole.headers["X-CIPD-Truncated"] == "false"


def test_sparqlwrapper_client(server):
    client = SPARQLWrapper(server.url + "/sparql")
    client.setQuery(STRANDS)
    client.setReturnFormat(JSON)
    result = client.query().convert()
    assert len(result["results"]["bindings"]) == 4  # type: ignore[index]
    client.setMethod("POST")
    assert len(client.query().convert()["results"]["bindings"]) == 4  # type: ignore[index]


def test_rdflib_sparqlstore_client(server):
    graph = Graph(store=SPARQLStore(server.url + "/sparql", returnFormat="xml"))
    rows = list(graph.query(STRANDS))
    assert len(rows) == 4
    assert graph.query("ASK { ?s a <https://w3id.org/cipd#Strand> }").askAnswer is True


def test_names_never_leave_through_sparql(server):
    query = "SELECT ?n WHERE { { ?s <http://xmlns.com/foaf/0.1/name> ?n } UNION { GRAPH ?g { ?s <http://xmlns.com/foaf/0.1/name> ?n } } }"
    with server.client() as http:
        response = http.get("/sparql", params={"query": query})
    assert response.json()["results"]["bindings"] == []


def test_cors_is_off_unless_configured(server, tmp_path: Path):
    with server.client() as http:
        plain = http.get(
            "/sparql", params={"query": STRANDS}, headers={"Origin": "https://example.org"}
        )
    assert "access-control-allow-origin" not in plain.headers
    for cors in start_server(tmp_path / "s", cors_origins=("https://example.org",)):
        with cors.client() as http:
            allowed = http.get(
                "/sparql", params={"query": STRANDS}, headers={"Origin": "https://example.org"}
            )
        assert allowed.headers["access-control-allow-origin"] == "https://example.org"
