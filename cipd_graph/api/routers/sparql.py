"""The SPARQL 1.1 Protocol endpoint: read-only, time-limited and capped.

A router of its own, so that it can be mounted in any FastAPI app.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from cipd_graph._sparql import (
    GRAPH_FORMATS,
    RESULT_FORMATS,
    QueryRefusedError,
    QueryTimeoutError,
    StoreBusyError,
    check_query,
    run_public,
)
from cipd_graph.api.deps import SettingsDep, StoreDep

router = APIRouter(prefix="/sparql", tags=["sparql"])

SOLUTION_TYPES = [*RESULT_FORMATS, "application/json", "application/xml"]
ALIASES = {
    "application/json": "application/sparql-results+json",
    "application/xml": "application/sparql-results+xml",
}


def _negotiate(accept: str, form: str) -> str:
    """The media type to answer with, from the Accept header and the query form."""
    offered = list(GRAPH_FORMATS) if form in ("CONSTRUCT", "DESCRIBE") else SOLUTION_TYPES
    ranges: list[tuple[float, int, str]] = []
    for i, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for p in params:
            if p.startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        if media:
            ranges.append((-q, i, media.lower()))
    if not ranges:
        return offered[0]
    for neg_q, _, media in sorted(ranges):
        if neg_q == 0:
            continue
        if media in ("*/*", "application/*", "text/*"):
            return offered[0]
        if media in offered:
            return ALIASES.get(media, media)
    raise HTTPException(
        status.HTTP_406_NOT_ACCEPTABLE,
        f"cannot answer a {form} query as {accept!r}; available: {', '.join(offered)}",
    )


async def _answer(
    query: str, request: Request, store: StoreDep, settings: SettingsDep, graphs: list[str]
) -> Response:
    if graphs:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            "default-graph-uri and named-graph-uri are not supported: name graphs with FROM or GRAPH in the query",
        )
    held = set(store.readable_graphs())
    try:
        form = check_query(query, graphs=held)
    except QueryRefusedError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    media = _negotiate(request.headers.get("accept", ""), form)
    if store.location is None and not store.is_remote:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "the SPARQL endpoint needs an on-disk store"
        )
    try:
        result = await run_in_threadpool(
            run_public,
            store,
            query,
            media,
            timeout_s=settings.query_timeout,
            cap=settings.result_cap,
        )
    except QueryTimeoutError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
    except StoreBusyError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, str(exc), headers={"Retry-After": "1"}
        ) from exc
    except QueryRefusedError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    headers = {
        "X-CIPD-Result-Cap": str(settings.result_cap),
        "X-CIPD-Truncated": "true" if result.truncated else "false",
        "Vary": "Accept",
    }
    if result.truncated:
        headers["Warning"] = f'199 cipd-graph "results truncated at {settings.result_cap}"'
    return Response(result.body, media_type=result.media_type, headers=headers)


SERVICE_DESCRIPTION = """@prefix sd: <http://www.w3.org/ns/sparql-service-description#> .
@prefix dcterms: <http://purl.org/dc/terms/> .

[] a sd:Service ;
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
    dcterms:description "Read-only SPARQL 1.1 endpoint of cipd-graph: updates, SERVICE, LOAD and FROM of graphs it does not hold are refused; each query is stopped after {timeout:g} s and returns at most {cap} results." .
"""


@router.get("", summary="Run a SPARQL query (GET), or describe the service when no query is given")
async def get_sparql(  # noqa: PLR0917 - FastAPI parameters
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    query: Annotated[str | None, Query(description="The SPARQL query.")] = None,
    default_graph_uri: Annotated[list[str] | None, Query(alias="default-graph-uri")] = None,
    named_graph_uri: Annotated[list[str] | None, Query(alias="named-graph-uri")] = None,
) -> Response:
    """Run a SPARQL query given in the URL, or return the service description."""
    if query is None:
        body = SERVICE_DESCRIPTION.format(
            endpoint=str(request.url).split("?")[0],
            timeout=settings.query_timeout,
            cap=settings.result_cap,
        )
        return Response(body, media_type="text/turtle")
    return await _answer(
        query, request, store, settings, (default_graph_uri or []) + (named_graph_uri or [])
    )


@router.post("", summary="Run a SPARQL query (POST, form-encoded or application/sparql-query)")
async def post_sparql(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    """Run a SPARQL query sent in the request body; updates are refused."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/sparql-query":
        query = (await request.body()).decode("utf-8", errors="replace")
        graphs = request.query_params.getlist("default-graph-uri") + request.query_params.getlist(
            "named-graph-uri"
        )
    elif content_type == "application/x-www-form-urlencoded":
        form = await request.form()
        if "update" in form:
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST, "updates are refused: this endpoint is read-only"
            )
        value = form.get("query")
        if not isinstance(value, str):
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "the form needs a 'query' field")
        query = value
        graphs = [
            str(v) for v in form.getlist("default-graph-uri") + form.getlist("named-graph-uri")
        ]
    elif content_type == "application/sparql-update":
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "updates are refused: this endpoint is read-only"
        )
    else:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            "send the query as application/sparql-query or as a form field 'query'",
        )
    return await _answer(query, request, store, settings, graphs)


__all__ = ["router"]
