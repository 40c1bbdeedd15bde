"""The SPARQL 1.1 Protocol endpoint (query side): read-only, time-limited and capped.

``GET`` and ``POST`` (form-encoded or ``application/sparql-query``) run a query; updates,
in any form, are refused with 400. A browser (``Accept`` naming ``text/html`` above every
answer type) gets the query page instead; ``GET`` without a query gives other clients the
service description. A router of its own, so that it can be mounted in any FastAPI app.

Nothing a query costs runs in the event loop: the query is checked, parsed and evaluated in
a child process under the time limit (:mod:`cipd_graph._sparql`). At most
``CIPD_QUERY_SLOTS`` queries run at once and ``CIPD_QUERY_QUEUE`` wait, each at most the
time limit; the rest are answered 503 with ``Retry-After`` at once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl

import pyoxigraph as ox
from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from cipd_graph._config import Settings
from cipd_graph._sparql import (
    GRAPH_FORMATS,
    MAX_QUERY_CHARS,
    QueriesBusyError,
    QueryNotAcceptableError,
    QueryRefusedError,
    QueryRequest,
    QueryTimeoutError,
    StoreBusyError,
    check_query,
    negotiate,
    prefers_html,
    run_public,
)
from cipd_graph.api.deps import SettingsDep, StoreDep

router = APIRouter(prefix="/sparql", tags=["sparql"])

#: Largest request body read (a query of MAX_QUERY_CHARS characters, percent-encoded).
MAX_BODY_BYTES = 256 * 1024
_PAGE = Path(__file__).resolve().parent.parent / "static" / "sparql.html"
READ_ONLY = "updates are refused: this endpoint is read-only (SPARQL 1.1 Query only)"


class QuerySlots:
    """At most ``running`` queries at once; ``waiting`` more wait up to ``wait_s``; the rest
    are refused at once with :class:`QueriesBusyError`."""

    def __init__(self, running: int, waiting: int, wait_s: float) -> None:
        self.running = running
        self.max_waiting = waiting
        self.wait_s = wait_s
        self.waiting = 0
        self._slots = asyncio.Semaphore(running)

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        """Hold a slot while the body runs."""
        if not self._slots.locked():
            await self._slots.acquire()  # a free slot: taken at once
        elif self.waiting >= self.max_waiting:
            raise QueriesBusyError(self._busy())
        else:
            self.waiting += 1
            try:
                await asyncio.wait_for(self._slots.acquire(), self.wait_s)
            except TimeoutError as exc:
                raise QueriesBusyError(self._busy()) from exc
            finally:
                self.waiting -= 1
        try:
            yield
        finally:
            self._slots.release()

    def _busy(self) -> str:
        return (
            f"the SPARQL endpoint is busy: {self.running} queries are running and "
            f"{self.max_waiting} waiting (CIPD_QUERY_SLOTS, CIPD_QUERY_QUEUE); try again shortly"
        )


def _slots(request: Request, settings: Settings) -> QuerySlots:
    slots: QuerySlots | None = getattr(request.app.state, "sparql_slots", None)
    if slots is None:  # made on first use, inside the server's event loop
        slots = QuerySlots(settings.query_slots, settings.query_queue, settings.query_timeout)
        request.app.state.sparql_slots = slots
    return slots


def _bad(message: str, code: int = status.HTTP_400_BAD_REQUEST) -> HTTPException:
    return HTTPException(code, message)


def _header_text(text: str) -> str:
    """A header value in plain ASCII, quotes escaped (graph IRIs may hold any character)."""
    return text.encode("ascii", "backslashreplace").decode("ascii").replace('"', '\\"')


def _endpoint(request: Request) -> str:
    """The endpoint's URL: the base relative IRIs in a query resolve against."""
    return str(request.url.replace(query=None, fragment=None))


async def _answer(
    request: Request,
    store: StoreDep,
    settings: Settings,
    *,
    query: str,
    default_graph_uris: list[str],
    named_graph_uris: list[str],
) -> Response:
    if len(query) > MAX_QUERY_CHARS:
        raise _bad(f"the query is {len(query):,} characters long; the limit is {MAX_QUERY_CHARS:,}")
    if not query.strip():
        raise _bad("the query is empty")
    if store.location is None and not store.is_remote:
        raise _bad(
            "the SPARQL endpoint needs an on-disk store", status.HTTP_503_SERVICE_UNAVAILABLE
        )
    job = QueryRequest(
        query,
        accept=request.headers.get("accept", ""),
        default_graph_uris=tuple(default_graph_uris),
        named_graph_uris=tuple(named_graph_uris),
        base=_endpoint(request),
        cap=settings.result_cap,
    )
    retry = {"Retry-After": "1"}
    try:
        # what the endpoint never runs (an update, SERVICE, too long, too many tokens) is
        # refused before the query waits for a slot: a full queue must not hide it
        check_query(query)
        async with _slots(request, settings).hold():
            result = await run_in_threadpool(
                run_public,
                store,
                job,
                timeout_s=settings.query_timeout,
                cap=settings.result_cap,
                memory_mb=settings.query_memory,
            )
    except QueryRefusedError as exc:
        raise _bad(str(exc)) from exc
    except QueryNotAcceptableError as exc:
        raise _bad(str(exc), status.HTTP_406_NOT_ACCEPTABLE) from exc
    except QueryTimeoutError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
    except StoreBusyError as exc:  # QueriesBusyError too
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc), retry) from exc
    headers = {
        "X-CIPD-Result-Cap": str(settings.result_cap),
        "X-CIPD-Truncated": "true" if result.truncated else "false",
        "Vary": "Accept",
    }
    warnings = list(result.warnings)
    if result.truncated:
        warnings.insert(0, f"results truncated at {settings.result_cap}")
    if warnings:
        headers["Warning"] = ", ".join(f'199 cipd-graph "{_header_text(w)}"' for w in warnings)
    return Response(result.body, media_type=result.media_type, headers=headers)


# ----------------------------------------------------------------- service description, page

SERVICE_DESCRIPTION = """@prefix sd: <http://www.w3.org/ns/sparql-service-description#> .
@prefix dcterms: <http://purl.org/dc/terms/> .

<{endpoint}#service> a sd:Service ;
    sd:endpoint <{endpoint}> ;
    sd:supportedLanguage sd:SPARQL11Query ;
    sd:resultFormat <http://www.w3.org/ns/formats/SPARQL_Results_JSON> ,
        <http://www.w3.org/ns/formats/SPARQL_Results_XML> ,
        <http://www.w3.org/ns/formats/SPARQL_Results_CSV> ,
        <http://www.w3.org/ns/formats/SPARQL_Results_TSV> ,
        <http://www.w3.org/ns/formats/Turtle> ,
        <http://www.w3.org/ns/formats/N-Triples> ,
        <http://www.w3.org/ns/formats/JSON-LD> ,
        <http://www.w3.org/ns/formats/RDF_XML> ;
    sd:feature sd:UnionDefaultGraph ;
    dcterms:description "Read-only SPARQL 1.1 endpoint of cipd-graph. Updates and SERVICE are refused; the default graph is the union of every readable graph; default-graph-uri, named-graph-uri, FROM and FROM NAMED may name any graph but the names graphs (a graph the store does not hold reads as empty); relative IRIs resolve against the endpoint's URL; each query is stopped after {timeout:g} s and returns at most {cap} results." .
"""


def _service_description(request: Request, settings: Settings) -> Response:
    text = SERVICE_DESCRIPTION.format(
        endpoint=_endpoint(request), timeout=settings.query_timeout, cap=settings.result_cap
    )
    try:
        media = negotiate(request.headers.get("accept", ""), "CONSTRUCT")[0]
    except QueryNotAcceptableError:
        media = "text/turtle"  # a description in some RDF beats none
    body = text.encode()
    if media != "text/turtle":
        triples = list(ox.parse(body, format=ox.RdfFormat.TURTLE))
        body = ox.serialize(triples, format=GRAPH_FORMATS[media]) or b""
    return Response(body, media_type=media, headers={"Vary": "Accept"})


def _example(query: Any, base: str) -> str:
    """A named query as an example: its parameters left open, with a line to bind them."""
    hint = ""
    if query.parameters:
        first = query.parameters[0]
        value = f"<{base}{first.id_prefix}ID>" if first.kind == "iri" else '"..."'
        hint = f"# to narrow it: VALUES ?{first.name} {{ {value} }}"
    lines = [
        (line[: len(line) - len(line.lstrip())] + hint if hint else "")
        if line.strip() == "#+ bind"
        else line
        for line in query.text.splitlines()
    ]
    return "\n".join(lines) + "\n"


@lru_cache(maxsize=4)
def _examples(base: str) -> list[dict[str, Any]]:
    from cipd_graph._queries import named_queries

    return [
        {
            "name": q.name,
            "summary": q.summary,
            "parameters": [p.name for p in q.parameters],
            "text": _example(q, base),
        }
        for q in named_queries().values()
    ]


def _page(request: Request, settings: Settings) -> HTMLResponse:
    from cipd_graph._ontology import PREFIXES

    root = request.scope.get("root_path", "")
    data = {
        "prefixes": PREFIXES,
        "examples": _examples(settings.base_iri),
        "endpoint": f"{root}/sparql",
        "timeout": settings.query_timeout,
        "cap": settings.result_cap,
    }
    # JSON inside <script>: "<" escaped so that no value can close the element
    blob = json.dumps(data).replace("<", "\\u003c")
    html = (
        _PAGE.read_text(encoding="utf-8")
        .replace("{{STATIC}}", f"{root}/static")
        .replace("{{ROOT}}", root)
        .replace("{{PAGE_DATA}}", blob)
    )
    policy = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'"
    return HTMLResponse(html, headers={"Vary": "Accept", "Content-Security-Policy": policy})


# --------------------------------------------------------------------------------- routes

_QUERY_BODY = {
    "requestBody": {
        "description": "The query, as the body (application/sparql-query) or as the form field "
        "'query' (application/x-www-form-urlencoded, with optional default-graph-uri and "
        "named-graph-uri fields).",
        "content": {
            "application/sparql-query": {"schema": {"type": "string"}},
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "query": {"type": "string"},
                        "default-graph-uri": {"type": "array", "items": {"type": "string"}},
                        "named-graph-uri": {"type": "array", "items": {"type": "string"}},
                    },
                    "required": ["query"],
                }
            },
        },
    }
}
_ANSWERS = {
    200: {
        "description": "The answer: SPARQL results (JSON, XML, CSV, TSV) or RDF (Turtle, "
        "N-Triples, JSON-LD, RDF/XML), as negotiated; for a browser, the query page.",
        "content": {m: {} for m in ["application/sparql-results+json", "text/html"]},
    },
    400: {"description": "Not a valid query, an update, SERVICE, a names graph, or a bad request"},
    406: {"description": "No acceptable media type can carry the answer"},
    415: {"description": "The body is neither a form nor application/sparql-query in UTF-8"},
    503: {"description": "The query ran past its time limit, or the endpoint is busy"},
}


@router.get(
    "",
    summary="Run a SPARQL query (GET), or describe the service, or show the query page",
    responses=_ANSWERS,  # type: ignore[arg-type]
)
async def get_sparql(  # noqa: PLR0917 - FastAPI parameters
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    query: Annotated[str | None, Query(description="The SPARQL query (once).")] = None,
    default_graph_uri: Annotated[
        list[str] | None, Query(alias="default-graph-uri", description="A default graph.")
    ] = None,
    named_graph_uri: Annotated[
        list[str] | None, Query(alias="named-graph-uri", description="A named graph.")
    ] = None,
) -> Response:
    """Run the query given in the URL; without one, the service description (or, for a
    browser, the query page)."""
    params = request.query_params
    if "update" in params:
        raise _bad(f"{READ_ONLY}; and an update is never sent with GET")
    queries = params.getlist("query")
    if len(queries) > 1:
        raise _bad(f"the request has {len(queries)} 'query' parameters; send exactly one")
    if prefers_html(request.headers.get("accept", "")):
        return _page(request, settings)
    if not queries:
        return _service_description(request, settings)
    return await _answer(
        request,
        store,
        settings,
        query=queries[0],
        default_graph_uris=params.getlist("default-graph-uri"),
        named_graph_uris=params.getlist("named-graph-uri"),
    )


async def _body(request: Request) -> bytes:
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise _bad(
            f"the body is {int(length):,} bytes; the limit is {MAX_BODY_BYTES:,}",
            413,  # content too large
        )
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _bad(
                f"the body is over the limit of {MAX_BODY_BYTES:,} bytes",
                413,  # content too large
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _content_type(request: Request) -> tuple[str, str | None]:
    """The body's media type and its charset parameter, if any."""
    media, *params = (p.strip() for p in request.headers.get("content-type", "").split(";"))
    charset = None
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    return media.lower(), charset


def _utf8(body: bytes, what: str) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _bad(f"the {what} is not valid UTF-8 (byte {exc.start})") from exc


@router.post(
    "",
    summary="Run a SPARQL query (POST, form-encoded or application/sparql-query)",
    openapi_extra=_QUERY_BODY,
    responses=_ANSWERS,  # type: ignore[arg-type]
)
async def post_sparql(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    """Run a SPARQL query sent in the request body; updates are refused."""
    media, charset = _content_type(request)
    if media == "application/sparql-update":
        raise _bad(READ_ONLY)
    if media not in ("application/sparql-query", "application/x-www-form-urlencoded"):
        raise _bad(
            "send the query as the body with Content-Type application/sparql-query, or as the "
            "form field 'query' (application/x-www-form-urlencoded)"
            + (f"; {media!r} is neither" if media else "; the request names no Content-Type"),
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        )
    if charset not in (None, "utf-8", "utf8"):
        raise _bad(
            f"the body's charset is {charset!r}: send the query in UTF-8",
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        )
    url = request.query_params
    if "update" in url:
        raise _bad(READ_ONLY)
    body = await _body(request)
    if media == "application/sparql-query":
        if "query" in url:
            raise _bad("the query is the body: do not send a 'query' parameter in the URL too")
        query = _utf8(body, "body")
        return await _answer(
            request,
            store,
            settings,
            query=query,
            default_graph_uris=url.getlist("default-graph-uri"),
            named_graph_uris=url.getlist("named-graph-uri"),
        )
    try:
        fields = parse_qsl(
            _utf8(body, "form"), keep_blank_values=True, errors="strict", max_num_fields=1000
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise _bad(f"the form cannot be read: {exc}") from exc
    fields += url.multi_items()

    def values(name: str) -> list[str]:
        return [v for k, v in fields if k == name]

    if values("update"):
        raise _bad(READ_ONLY)
    queries = values("query")
    if not queries:
        raise _bad("the form needs a 'query' field")
    if len(queries) > 1:
        raise _bad(f"the request has {len(queries)} 'query' fields; send exactly one")
    return await _answer(
        request,
        store,
        settings,
        query=queries[0],
        default_graph_uris=values("default-graph-uri"),
        named_graph_uris=values("named-graph-uri"),
    )


__all__ = ["QuerySlots", "router"]
