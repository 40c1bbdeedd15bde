"""The named queries (competency questions): a list, and one typed route per query.

The routes are made at import time from the query files, so each query's parameters are
typed query-string parameters in the OpenAPI schema. Values are bound by
:func:`cipd_graph._queries.run_query` as checked RDF terms, never pasted into query text.
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
from collections.abc import Callable
from typing import Annotated, Any

import pyoxigraph as ox
from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from cipd_graph._queries import NamedQuery, QueryError, UnknownIdError, named_queries, run_query
from cipd_graph.api.deps import StoreDep
from cipd_graph.api.routers._common import CursorParam, PageSize, page_errors
from cipd_graph.graph import GraphStore

router = APIRouter(prefix="/queries", tags=["queries"])

#: The Python type of each parameter kind, as FastAPI checks and documents it.
KIND_TYPES: dict[str, type] = {"iri": str, "string": str, "date": dt.date, "integer": int}


class TurtleResponse(Response):
    """RDF as Turtle."""

    media_type = "text/turtle"


class ParameterPublic(BaseModel):
    """A parameter of a named query."""

    name: str
    kind: str
    required: bool
    description: str


class QueryPublic(BaseModel):
    """A named query of the catalogue."""

    name: str
    summary: str
    tags: list[str]
    form: str = Field(description="SELECT (JSON rows) or CONSTRUCT (Turtle).")
    parameters: list[ParameterPublic]


class QueryRows(BaseModel):
    """The answer of a SELECT query: its variables and rows (terms as text); for a page,
    the cursor of the next page and the number of rows in all when it is cheap to know."""

    query: str
    variables: list[str]
    rows: list[dict[str, str | None]]
    next_cursor: str | None = Field(
        default=None,
        description="Pass as `cursor` for the next page; null on the last page (or unpaged).",
    )
    total: int | None = Field(
        default=None,
        description="Rows in all pages, when known without reading them all (else null).",
    )


#: The paging parameters every named-query route takes.
PAGING = ("page_size", "cursor")


def _is_construct(query: NamedQuery) -> bool:
    body = "\n".join(line for line in query.text.splitlines() if not line.lstrip().startswith("#"))
    return re.search(r"^\s*CONSTRUCT\b", body, re.MULTILINE | re.IGNORECASE) is not None


def _public(query: NamedQuery) -> QueryPublic:
    return QueryPublic(
        name=query.name,
        summary=query.summary,
        tags=list(query.tags),
        form="CONSTRUCT" if _is_construct(query) else "SELECT",
        parameters=[
            ParameterPublic(
                name=p.name, kind=p.kind, required=p.required, description=p.description
            )
            for p in query.parameters
        ],
    )


@router.get("", response_model=list[QueryPublic])
def list_queries() -> list[QueryPublic]:
    """List the named queries with their parameters."""
    return [_public(q) for q in named_queries().values()]


def _run(
    store: GraphStore,
    query: NamedQuery,
    values: dict[str, str],
    page_size: int | None = None,
    cursor: str | None = None,
) -> QueryRows | Response:
    try:
        with page_errors():
            result = run_query(store, query.name, values, page_size=page_size, cursor=cursor)
    except UnknownIdError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except QueryError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    if result.triples is not None:
        turtle = ox.serialize(result.triples, format=ox.RdfFormat.TURTLE)
        assert isinstance(turtle, bytes)
        response = TurtleResponse(turtle)
        # A graph has no room for paging fields: they travel as headers.
        if result.next_cursor is not None:
            response.headers["X-Next-Cursor"] = result.next_cursor
        if result.total is not None:
            response.headers["X-Total-Count"] = str(result.total)
        return response
    return QueryRows(
        query=query.name,
        variables=result.variables,
        rows=result.rows,
        next_cursor=result.next_cursor,
        total=result.total,
    )


def _endpoint(query: NamedQuery) -> Callable[..., QueryRows | Response]:
    """A route function whose signature declares the query's parameters, typed."""
    names = {f"p_{re.sub(r'[^0-9A-Za-z_]', '_', p.name)}": p for p in query.parameters}

    def endpoint(request: Request, store: GraphStore, **kwargs: Any) -> QueryRows | Response:
        known = {p.name for p in query.parameters} | set(PAGING)
        unknown = sorted(set(request.query_params) - known)
        if unknown:
            takes = sorted(p.name for p in query.parameters) or "none"
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST,
                f"query {query.name} has no parameter {unknown}; it takes {takes}",
            )
        values: dict[str, str] = {}
        for python_name, parameter in names.items():
            value = kwargs.get(python_name)
            if value is not None:
                values[parameter.name] = (
                    value.isoformat() if isinstance(value, dt.date) else str(value)
                )
        return _run(store, query, values, kwargs.get("page_size"), kwargs.get("cursor"))

    signature = [
        inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request),
        inspect.Parameter("store", inspect.Parameter.KEYWORD_ONLY, annotation=StoreDep),
        inspect.Parameter(
            "page_size", inspect.Parameter.KEYWORD_ONLY, annotation=PageSize, default=None
        ),
        inspect.Parameter(
            "cursor", inspect.Parameter.KEYWORD_ONLY, annotation=CursorParam, default=None
        ),
    ]
    for python_name, p in names.items():
        kind = KIND_TYPES[p.kind]
        text = p.description or p.name
        if p.kind in ("iri", "string"):
            check = Query(alias=p.name, description=text, min_length=1)
        else:
            check = Query(alias=p.name, description=text)
        annotation: Any = Annotated[kind if p.required else kind | None, check]
        default = inspect.Parameter.empty if p.required else None
        signature.append(
            inspect.Parameter(
                python_name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
            )
        )
    endpoint.__signature__ = inspect.Signature(signature)  # type: ignore[attr-defined]
    endpoint.__name__ = "run_" + query.name.replace("-", "_")
    endpoint.__doc__ = query.summary
    return endpoint


def _add_query_routes() -> None:
    for query in named_queries().values():
        construct = _is_construct(query)
        router.add_api_route(
            f"/{query.name}",
            _endpoint(query),
            methods=["GET"],
            response_model=None if construct else QueryRows,
            response_class=TurtleResponse if construct else JSONResponse,
            summary=query.summary,
            description=query.summary,
            operation_id=f"run_{query.name.replace('-', '_')}",
        )


_add_query_routes()


@router.get("/{name}", response_model=QueryRows)
def run_unknown_query(name: str) -> QueryRows:
    """Answer 404: there is no named query by this name."""
    raise HTTPException(
        status.HTTP_404_NOT_FOUND, f"no named query {name!r}; GET /queries lists them"
    )
