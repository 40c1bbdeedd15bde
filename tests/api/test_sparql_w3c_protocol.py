"""The W3C SPARQL 1.1 Protocol test suite against a real server on loopback.

Every case of the suite's manifest (``tests/data/w3c-sparql11-protocol``) is sent as the
manifest writes it (method, path, headers, body and its encoding) to a server whose store
holds the suite's three graphs. Query cases must answer as the manifest expects. This
endpoint is read-only, so a request carrying an update must get 400 (the protocol's "query
request refused"), and the queries that follow it in the same case must find that nothing
changed: where the manifest expects ``true`` after a successful update, the answer is
``false``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pyoxigraph as ox
import pytest
from rdflib import RDF, RDFS, Graph, Namespace
from rdflib.collection import Collection
from rdflib.term import Node

from .conftest import Server, start_server

SUITE = Path(__file__).resolve().parents[1] / "data" / "w3c-sparql11-protocol"
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
CNT = Namespace("http://www.w3.org/2011/content#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
HTS = "http://www.w3.org/2011/http-statusCodes#StatusCode"


@dataclass(frozen=True)
class Exchange:
    """One request of a case and what its response must be."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None
    statuses: frozenset[int]  # accepted hundreds: 2 for 2xx ...
    boolean: bool | None
    result_format: str | None

    @property
    def is_update(self) -> bool:
        content_type = self.headers.get("content-type", "")
        form = parse_qs(self.body.decode("utf-8", "replace")) if self.body else {}
        in_url = parse_qs(urlsplit(self.path).query)
        return (
            content_type.startswith("application/sparql-update")
            or (content_type == "application/x-www-form-urlencoded" and "update" in form)
            or "update" in in_url
        )


@dataclass(frozen=True)
class Case:
    name: str
    label: str
    exchanges: tuple[Exchange, ...]

    @property
    def is_update(self) -> bool:
        return any(e.is_update for e in self.exchanges)


def _items(graph: Graph, node: Node | None) -> list[Node]:
    return [] if node is None else list(Collection(graph, node))


def _exchange(graph: Graph, request: Node) -> Exchange:
    headers = {
        str(graph.value(h, HT.fieldName)).lower(): str(graph.value(h, HT.fieldValue))
        for h in _items(graph, graph.value(request, HT.headers))
    }
    body = None
    content = graph.value(request, HT.body)
    if content is not None:
        encoding = str(graph.value(content, CNT.characterEncoding) or "UTF-8")
        body = str(graph.value(content, CNT.chars)).encode(encoding)
    response = graph.value(request, HT.resp)
    statuses = frozenset(
        int(str(code).removeprefix(HTS)[0]) for code in graph.objects(response, MF.expectedStatus)
    )
    boolean = graph.value(response, MF.expectedBoolean)
    fmt = graph.value(response, MF.expectedFormat)
    return Exchange(
        method=str(graph.value(request, HT.methodName)),
        # the manifest's endpoint is /sparql/; this server's is /sparql
        path=str(graph.value(request, HT.absolutePath)).replace("/sparql/", "/sparql", 1),
        headers=headers,
        body=body,
        statuses=statuses,
        boolean=None if boolean is None else bool(boolean.toPython()),
        result_format=None if fmt is None else str(fmt),
    )


def read_manifest() -> tuple[list[Case], dict[str, Path]]:
    """The suite's cases in manifest order, and the graphs they need (IRI -> data file)."""
    graph = Graph().parse(SUITE / "manifest.ttl", format="turtle")
    manifest = next(graph.subjects(RDF.type, MF.Manifest))
    cases, data = [], {}
    for entry in _items(graph, graph.value(manifest, MF.entries)):
        for graph_data in graph.objects(entry, UT.graphData):
            file = Path(str(graph.value(graph_data, UT.graph)).removeprefix("file://"))
            data[str(graph.value(graph_data, RDFS.label))] = SUITE / file.name
        requests = graph.value(graph.value(entry, MF.action), HT.requests)
        cases.append(
            Case(
                str(entry).rsplit("#", 1)[1],
                str(graph.value(entry, MF.name)),
                tuple(_exchange(graph, r) for r in _items(graph, requests)),
            )
        )
    return cases, data


CASES, GRAPHS = read_manifest()


def test_the_manifest_is_read_whole():
    assert len(CASES) == 34
    query_side = [
        c for c in CASES if c.name.startswith(("query_", "bad_query_", "bad_multiple_queries"))
    ]
    assert len(query_side) == 20
    assert not any(c.is_update for c in query_side)
    assert set(GRAPHS) == {f"http://kasei.us/2009/09/sparql/data/data{i}.rdf" for i in (1, 2, 3)}


@pytest.fixture(scope="module")
def suite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server over a store holding the suite's graphs, each as a named graph."""
    location = tmp_path_factory.mktemp("w3c-protocol")
    store = ox.Store(str(location / "oxigraph"))
    for iri, file in GRAPHS.items():
        store.load(path=str(file), format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(iri))
    store.flush()
    del store
    yield from start_server(location)


def _boolean(body: bytes, content_type: str) -> bool:
    if content_type.startswith("application/sparql-results+json"):
        answer = json.loads(body)["boolean"]
    else:
        assert content_type.startswith("application/sparql-results+xml"), content_type
        answer = bool(ox.parse_query_results(body, format=ox.QueryResultsFormat.XML))
    assert isinstance(answer, bool)
    return answer


def _check_format(exchange: Exchange, body: bytes, content_type: str) -> None:
    media = content_type.split(";", maxsplit=1)[0].strip()
    if exchange.result_format == "tabular":
        assert media in (
            "application/sparql-results+json",
            "application/sparql-results+xml",
            "text/csv",
            "text/tab-separated-values",
        ), media
        if media != "text/csv":
            rows = list(
                ox.parse_query_results(body, format=ox.QueryResultsFormat.from_media_type(media))
            )
            assert rows and rows[0]["value"] == ox.Literal(
                "1", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
            )
    elif exchange.result_format == "RDF":
        assert media in ("application/rdf+xml", "text/turtle", "application/n-triples"), media
        list(ox.parse(body, format=ox.RdfFormat.from_media_type(media)))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_protocol_case(case: Case, suite_server: Server):
    with suite_server.client() as http:
        for exchange in case.exchanges:
            response = http.request(
                exchange.method,
                suite_server.url + exchange.path,
                headers=exchange.headers,
                content=exchange.body,
            )
            content_type = response.headers.get("content-type", "")
            if exchange.is_update:  # a read-only endpoint refuses every update
                assert response.status_code == 400, (case.label, response.text)
                assert "read-only" in response.json()["detail"]
                continue
            assert response.status_code // 100 in exchange.statuses, (
                case.label,
                response.status_code,
                response.text,
            )
            if response.status_code >= 400:
                continue
            if exchange.result_format == "boolean" or exchange.boolean is not None:
                answer = _boolean(response.content, content_type)
                if exchange.boolean is not None:
                    expected = exchange.boolean if not case.is_update else False
                    assert answer is expected, case.label
            _check_format(exchange, response.content, content_type)
