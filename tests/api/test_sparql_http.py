"""The SPARQL endpoint over real HTTP: protocol, datasets, content negotiation, refusals,
limits, the page for browsers, and real SPARQL clients (SPARQLWrapper, rdflib's SPARQLStore)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from rdflib import Graph
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import JSON, SPARQLWrapper

from .conftest import start_server

STRANDS = "SELECT ?s WHERE { ?s a <https://w3id.org/cipd#Strand> }"
WEAVES = "PREFIX cipd: <https://w3id.org/cipd#> SELECT ?p ?s WHERE { ?p cipd:evidencesStrand ?s }"
CONSTRUCT = "PREFIX cipd: <https://w3id.org/cipd#> CONSTRUCT { ?p cipd:evidencesStrand ?s } WHERE { ?p cipd:evidencesStrand ?s }"
RESULTS = "application/sparql-results+json"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"


def bindings(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    return [{k: v["value"] for k, v in b.items()} for b in response.json()["results"]["bindings"]]


def test_get_post_form_and_direct(server):
    with server.client() as http:
        get = http.get("/sparql", params={"query": STRANDS})
        form = http.post("/sparql", data={"query": STRANDS})
        direct = http.post(
            "/sparql", content=STRANDS, headers={"Content-Type": "application/sparql-query"}
        )
    for response in (get, form, direct):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith(RESULTS)
        assert len(response.json()["results"]["bindings"]) == 4


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        (RESULTS, RESULTS),
        ("application/sparql-results+xml", "application/sparql-results+xml"),
        ("text/csv", "text/csv"),
        ("text/tab-separated-values", "text/tab-separated-values"),
        ("application/json", RESULTS),
        ("text/csv;q=0.5, text/tab-separated-values;q=0.9", "text/tab-separated-values"),
        (f"{RESULTS};q=0, */*;q=0.1", "application/sparql-results+xml"),
        ("text/*", "text/csv"),
        ("*/*", RESULTS),
    ],
)
def test_select_content_negotiation(server, accept, media):
    with server.client() as http:
        response = http.get("/sparql", params={"query": STRANDS}, headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media)
    assert response.headers["vary"] == "Accept"


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


@pytest.mark.parametrize(
    ("query", "accept"),
    [(STRANDS, "image/png"), ("ASK {}", "text/csv"), ("ASK {}", "text/tab-separated-values")],
)
def test_unacceptable_type_is_406(server, query, accept):
    with server.client() as http:
        response = http.get("/sparql", params={"query": query}, headers={"Accept": accept})
    assert response.status_code == 406 and "available" in response.json()["detail"]


def test_ask_with_csv_among_others_is_answered_in_json(server):
    with server.client() as http:
        response = http.get(
            "/sparql", params={"query": "ASK {}"}, headers={"Accept": "text/csv, */*;q=0.1"}
        )
    assert response.headers["content-type"].startswith(RESULTS)
    assert response.json() == {"head": {}, "boolean": True}


def test_service_description_for_clients_and_the_page_for_browsers(server):
    with server.client() as http:
        described = http.get("/sparql")
        as_ntriples = http.get("/sparql", headers={"Accept": "application/n-triples"})
        page = http.get("/sparql", headers={"Accept": BROWSER})
        page_with_query = http.get(
            "/sparql", params={"query": STRANDS}, headers={"Accept": BROWSER}
        )
    assert described.headers["content-type"].startswith("text/turtle")
    graph = Graph().parse(data=described.text, format="turtle")
    assert any("sparql-service-description#Service" in str(o) for o in graph.objects())
    assert f"<{server.url}/sparql>" in described.text
    assert as_ntriples.headers["content-type"].startswith("application/n-triples")
    assert len(Graph().parse(data=as_ntriples.text, format="nt")) == len(graph)
    for response in (page, page_with_query):
        assert response.headers["content-type"].startswith("text/html")
        assert "cq01-project-strands" in response.text and "/static/sparql.js" in response.text
        assert "https://" not in response.text.split("<script id=")[0]  # nothing from outside


@pytest.mark.parametrize(
    ("request_kwargs", "message"),
    [
        ({"method": "POST", "data": {"update": "DROP ALL"}}, "read-only"),
        ({"method": "POST", "data": {"query": STRANDS, "update": "DROP ALL"}}, "read-only"),
        (
            {
                "method": "POST",
                "content": "DROP ALL",
                "headers": {"Content-Type": "application/sparql-update"},
            },
            "read-only",
        ),
        ({"method": "GET", "params": {"update": "CLEAR ALL"}}, "never sent with GET"),
        (
            {"method": "GET", "params": {"query": "INSERT DATA { <urn:a> <urn:b> <urn:c> }"}},
            "read-only",
        ),
        ({"method": "GET", "params": {"query": "LOAD <http://127.0.0.1:9/x.ttl>"}}, "read-only"),
        ({"method": "GET", "params": [("query", "ASK {}"), ("query", STRANDS)]}, "2 'query'"),
        (
            {
                "method": "POST",
                "content": "query=ASK+%7B%7D&query=ASK+%7B%7D",
                "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            },
            "2 'query'",
        ),
        (
            {
                "method": "GET",
                "params": {"query": "SELECT * { SERVICE <http://127.0.0.1:9/s> { ?s ?p ?o } }"},
            },
            "SERVICE is refused",
        ),
        (
            {"method": "POST", "data": {"query": "SELECT * { ?s ?p ?o } #" + "x" * 20_001}},
            "the limit is",
        ),
        ({"method": "GET", "params": {"query": "SELECT * WHERE {"}}, "not a valid SPARQL query"),
        ({"method": "GET", "params": {"query": "  "}}, "empty"),
        (
            {
                "method": "POST",
                "content": b"ASK { ?s ?p '\xff' }",
                "headers": {"Content-Type": "application/sparql-query"},
            },
            "not valid UTF-8",
        ),
        (
            {
                "method": "POST",
                "params": {"query": "ASK {}"},
                "content": "ASK {}",
                "headers": {"Content-Type": "application/sparql-query"},
            },
            "do not send a 'query' parameter",
        ),
        (
            {"method": "GET", "params": {"query": STRANDS, "default-graph-uri": "relative"}},
            "not an absolute IRI",
        ),
    ],
)
def test_refusals_are_clear_400s(server, request_kwargs, message):
    method = request_kwargs.pop("method")
    with server.client() as http:
        response = http.request(method, "/sparql", **request_kwargs)
    assert response.status_code == 400, response.text
    assert message in response.json()["detail"]


@pytest.mark.parametrize(
    ("content_type", "code"),
    [
        ("text/plain", 415),
        (None, 415),
        ("application/sparql-query; charset=UTF-16", 415),
        ("application/x-www-form-urlencoded; charset=latin-1", 415),
        ("application/sparql-query; charset=utf-8", 200),
    ],
)
def test_body_types_and_charsets(server, content_type, code):
    headers = {"Content-Type": content_type} if content_type else {}
    body = STRANDS if "query" in (content_type or "") else f"query={STRANDS}"
    with server.client() as http:
        response = http.post("/sparql", content=body, headers=headers)
    assert response.status_code == code, response.text


def test_a_body_past_the_limit_is_413(server):
    with server.client() as http:
        response = http.post(
            "/sparql", content="x" * 300_000, headers={"Content-Type": "application/sparql-query"}
        )
    assert response.status_code == 413 and "limit" in response.json()["detail"]


def test_put_is_405(server):
    with server.client() as http:
        assert http.put("/sparql", params={"query": "ASK {}"}).status_code == 405


# --------------------------------------------------------------------------------- datasets


@pytest.fixture(scope="module")
def graphs(server) -> dict[str, str]:
    """A record graph, the inferred graph, a provenance graph, the ontology, and a names graph."""
    with server.client() as http:
        rows = bindings(
            http.get("/sparql", params={"query": "SELECT DISTINCT ?g { GRAPH ?g { } }"})
        )
    names = sorted(r["g"] for r in rows)
    record = next(g for g in names if "/graph/source/" in g and not g.endswith("/provenance"))
    return {
        "record": record,
        "provenance": record + "/provenance",
        "inferred": next(g for g in names if "/graph/inferred/" in g),
        "ontology": "https://w3id.org/cipd",
        "names": record + "/names",
    }


def count(http, query: str = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", **params) -> int:
    return int(bindings(http.get("/sparql", params={"query": query, **params}))[0]["n"])


@pytest.mark.parametrize("kind", ["record", "provenance", "inferred", "ontology"])
def test_every_readable_graph_can_be_named(server, graphs, kind):
    """FROM, FROM NAMED and the protocol's parameters read exactly the graph named."""
    graph = graphs[kind]
    with server.client() as http:
        alone = count(http, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
        everything = count(http)
        assert 0 < alone < everything
        assert count(http, f"SELECT (COUNT(*) AS ?n) FROM <{graph}> WHERE {{ ?s ?p ?o }}") == alone
        assert count(http, **{"default-graph-uri": graph}) == alone
        from_named = (
            f"SELECT (COUNT(*) AS ?n) FROM NAMED <{graph}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}"
        )
        assert count(http, from_named) == alone
        in_named = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
        assert count(http, in_named, **{"named-graph-uri": graph}) == alone
        # the protocol's dataset overrides the query's
        override = f"SELECT (COUNT(*) AS ?n) FROM <{graphs['ontology']}> WHERE {{ ?s ?p ?o }}"
        assert count(http, override, **{"default-graph-uri": graph}) == alone


def test_names_graphs_are_refused_by_every_route(server, graphs):
    names = graphs["names"]
    with server.client() as http:
        attempts = [
            http.get("/sparql", params={"query": f"SELECT * FROM <{names}> {{ ?s ?p ?o }}"}),
            http.get(
                "/sparql",
                params={"query": f"SELECT * FROM NAMED <{names}> {{ GRAPH ?g {{ ?s ?p ?o }} }}"},
            ),
            http.get("/sparql", params={"query": STRANDS, "default-graph-uri": names}),
            http.post("/sparql", data={"query": STRANDS, "named-graph-uri": names}),
        ]
    for response in attempts:
        assert response.status_code == 400
        assert "names graphs hold people's names" in response.json()["detail"]


def test_an_unknown_graph_is_empty_and_said_so(server):
    with server.client() as http:
        response = http.get(
            "/sparql", params={"query": "SELECT * FROM <http://127.0.0.1:9/g.ttl> { ?s ?p ?o }"}
        )
        iri = "https://example.org/gráf"
        unicode_named = http.get("/sparql", params={"query": STRANDS, "named-graph-uri": iri})
    assert bindings(response) == []
    assert "<http://127.0.0.1:9/g.ttl> is not held by this store" in response.headers["warning"]
    assert unicode_named.status_code == 200
    assert "gr\\xe1f" in unicode_named.headers["warning"]


def test_relative_iris_resolve_against_the_endpoint(server):
    with server.client() as http:
        response = http.post(
            "/sparql",
            content="CONSTRUCT { <s> <p> 1 } WHERE {}",
            headers={"Content-Type": "application/sparql-query", "Accept": "application/n-triples"},
        )
    assert response.status_code == 200, response.text
    assert response.text.startswith(f"<{server.url}/s> <{server.url}/p> ")


# ---------------------------------------------------------------------------------- limits


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


# ------------------------------------------------------------------------- real clients


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


def test_the_query_slots_queue_then_refuse_with_retry_after():
    """Two slots and a queue of one: two run, one waits, the next is refused at once."""
    import asyncio

    from cipd_graph._sparql import QueriesBusyError
    from cipd_graph.api.routers.sparql import QuerySlots

    async def scenario() -> tuple[list[str], int]:
        slots = QuerySlots(running=2, waiting=1, wait_s=5)
        release = asyncio.Event()
        log: list[str] = []

        async def query(name: str) -> None:
            try:
                async with slots.hold():
                    log.append(f"{name} runs")
                    await release.wait()
            except QueriesBusyError as exc:
                log.append(f"{name} refused: {exc}")

        tasks = [asyncio.create_task(query(n)) for n in ("a", "b", "c")]
        while slots.waiting < 1:
            await asyncio.sleep(0)
        await query("d")
        release.set()
        await asyncio.gather(*tasks)
        return log, slots.waiting

    log, waiting = asyncio.run(scenario())
    assert log[:2] == ["a runs", "b runs"]
    assert log[2].startswith("d refused: the SPARQL endpoint is busy: 2 queries are running")
    assert "CIPD_QUERY_SLOTS" in log[2] and log[3] == "c runs" and waiting == 0


def test_a_full_queue_is_a_503_with_retry_after(tmp_path: Path):
    import threading

    slow = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    for server in start_server(tmp_path / "s", query_timeout=2.0, query_slots=1, query_queue=0):
        answers: list[int] = []

        def hold_the_slot(url: str = server.url, into: list[int] = answers) -> None:
            with httpx.Client(base_url=url, timeout=60) as http:
                into.append(http.get("/sparql", params={"query": slow}).status_code)

        holder = threading.Thread(target=hold_the_slot)
        holder.start()
        time.sleep(0.5)
        with server.client() as http:
            refused = http.get("/sparql", params={"query": "ASK {}"})
        holder.join()
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        assert "CIPD_QUERY_QUEUE" in refused.json()["detail"]
        assert answers == [503]  # the slow one ran to its time limit


def test_the_query_settings_are_read_from_the_environment():
    from cipd_graph import Settings

    s = Settings.from_env(
        {"CIPD_QUERY_SLOTS": "3", "CIPD_QUERY_QUEUE": "0", "CIPD_QUERY_MEMORY": "512"}
    )
    assert (s.query_slots, s.query_queue, s.query_memory) == (3, 0, 512)
    assert (Settings().query_slots, Settings().query_queue, Settings().query_memory) == (2, 8, 2048)
    described = {name: value for name, value, _ in s.describe()}
    assert described["CIPD_QUERY_MEMORY"] == "512 MB"


def test_the_default_graph_counts_each_triple_once(server):
    """Issue 19, point 8, over HTTP: the query that gave 216 and 82 gives 82 twice, and the
    whole default graph is a set of triples, though the record graphs repeat some."""
    people = "SELECT (COUNT(?x) AS ?n) WHERE { ?x a <http://xmlns.com/foaf/0.1/Person> }"
    distinct = people.replace("COUNT(?x)", "COUNT(DISTINCT ?x)")
    in_graphs = (
        "SELECT (COUNT(?x) AS ?n) WHERE { GRAPH ?g { ?x a <http://xmlns.com/foaf/0.1/Person> } }"
    )
    every = "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }"
    with server.client() as http:
        assert count(http, people) == count(http, distinct) == 82
        assert count(http, in_graphs) > 82  # the named graphs do repeat a person's type
        assert count(http) == count(http, every)
