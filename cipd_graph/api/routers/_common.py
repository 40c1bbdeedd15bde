"""Helpers the REST routers share: read-only SPARQL on the store, IRIs and the id pattern."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import pyoxigraph as ox
from fastapi import Depends, HTTPException, Path, Query, Request, Response, status
from pydantic import BaseModel

from cipd_graph._pages import (
    DEFAULT_PAGE,
    MAX_PAGE,
    Cursor,
    CursorError,
    Paging,
    StaleCursorError,
    count_keys,
    ident,
    walked_page,
)
from cipd_graph.graph import GraphStore

T = TypeVar("T")
XSD_INTEGER = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")

#: The identifier pattern of records (``Slug`` in cipd_graph.records.parse).
SLUG = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$"
PREFIXES = """
PREFIX cipd: <https://w3id.org/cipd#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX org: <http://www.w3.org/ns/org#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX schema: <https://schema.org/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
"""


def id_path(what: str) -> Any:
    """A path parameter holding a record id (422 unless it matches the id pattern)."""
    return Path(pattern=SLUG, description=f"The {what} id: letters, digits, '.', '_' or '-'.")


ProjectId = Annotated[str, id_path("project")]
ModuleId = Annotated[str, id_path("module")]


def term(iri: str) -> str:
    """An IRI as SPARQL text, checked by pyoxigraph (never raw user text)."""
    return str(ox.NamedNode(iri))


def select(store: GraphStore, query: str, **iris: str) -> list[dict[str, str | None]]:
    """Run a SELECT over the union of the graphs; ``iris`` are bound to ``?name`` by VALUES."""
    values = " ".join(f"VALUES ?{name} {{ {term(iri)} }}" for name, iri in iris.items())
    text = PREFIXES + query.replace("#+ bind", values, 1)
    solutions = store.query(text)
    assert isinstance(solutions, ox.QuerySolutions)
    names = [v.value for v in solutions.variables]
    rows: list[dict[str, str | None]] = []
    for row in solutions:
        rows.append({n: (None if row[n] is None else str(row[n].value)) for n in names})
    return rows


def exists(store: GraphStore, iri: str, cls: str) -> bool:
    """Whether a record graph says ``iri`` is a ``cls`` (a CURIE such as cipd:Module)."""
    return bool(select(store, f"SELECT ?s WHERE {{ #+ bind ?s a {cls} }} LIMIT 1", s=iri))


def not_found(what: str, key: str, hint: str) -> HTTPException:
    """A 404 that says what was not found and where to look."""
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no {what} {key!r}: {hint}")


class Ref(BaseModel):
    """A resource of the graph: its IRI, id and label when the graph gives them."""

    iri: str
    id: str | None = None
    label: str | None = None


class ElementRef(BaseModel):
    """A model element, briefly."""

    iri: str
    curie: str
    label: str
    notation: str | None = None


def element_ref(store: GraphStore, iri: str) -> ElementRef:
    """The model element ``iri`` (its IRI alone if the model does not know it)."""
    element = store.model.elements.get(iri)
    if element is None:
        return ElementRef(iri=iri, curie=iri, label=iri)
    return ElementRef(
        iri=element.iri, curie=element.curie, label=element.label, notation=element.notation
    )


# --------------------------------------------------------------------------- pages

PageSize = Annotated[
    int | None,
    Query(
        ge=1,
        le=MAX_PAGE,
        description="Items per page (without it and without a cursor: every item at once).",
    ),
]
CursorParam = Annotated[
    str | None,
    Query(
        # The cursors this server gives are a few hundred characters. A longer value would
        # make a request line past the HTTP server's 16 KB limit (each character outside
        # the token alphabet is three once encoded), and the connection would be dropped
        # instead of answered with a 422.
        max_length=4096,
        description="The cursor of the previous page (its `next_cursor`, or the X-Next-Cursor "
        f"header of a list); the page size defaults to {DEFAULT_PAGE}.",
    ),
]


@contextmanager
def page_errors() -> Iterator[None]:
    """A bad cursor is a 400; one whose place the store no longer has, a 409."""
    try:
        yield
    except StaleCursorError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except CursorError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc


def paged_select(
    store: GraphStore,
    name: str,
    query: str,
    paging: Paging,
    *,
    page_size: int | None,
    cursor: str | None,
    request: Request,
    response: Response,
) -> list[dict[str, str | None]]:
    """One page of a listing, ``page_size`` keys (items) with all their rows, in the
    store's key order (see :mod:`cipd_graph._pages`); the next page is named by the
    ``Link`` and ``X-Next-Cursor`` headers, the number of items by ``X-Total-Count``."""
    size = page_size or DEFAULT_PAGE
    text = PREFIXES + query.replace("#+ bind", "", 1)
    with page_errors():
        key = ident(name, {})
        where = Cursor.decode(cursor, key) if cursor is not None else None
        page = walked_page(
            store.query, text, paging, size=size, cursor=where, ident_=key, whole_keys=True
        )
        total = count_keys(store.query, text, paging)
    response.headers["X-Total-Count"] = str(total)
    if page.next_cursor is not None:
        url = request.url.include_query_params(page_size=size, cursor=page.next_cursor)
        response.headers["Link"] = f'<{url}>; rel="next"'
        response.headers["X-Next-Cursor"] = page.next_cursor
    return [
        {v: (None if row.get(v) is None else str(row[v].value)) for v in page.variables}
        for row in page.rows
    ]


def list_page(
    items: Sequence[T],
    order: Callable[[T], tuple[int | str, ...]],
    name: str,
    params: Mapping[str, str],
    *,
    page_size: int | None,
    cursor: str | None,
    request: Request,
    response: Response,
) -> Sequence[T]:
    """One page of ``items``, a list kept whole (an answer kept per store version) and
    sorted by ``order``, which gives each item its own place: the ``page_size`` items after
    the place ``cursor`` names (a keyset: a page follows the last item shown even if the
    list changed meanwhile), or every item with neither. The headers are those of
    :func:`paged_select`: ``X-Total-Count``, and ``Link`` and ``X-Next-Cursor`` for the next
    page. ``name`` and ``params`` name the list a cursor belongs to."""
    response.headers["X-Total-Count"] = str(len(items))
    if page_size is None and cursor is None:
        return items
    size = page_size or DEFAULT_PAGE
    listing = ident(name, dict(params))
    start = 0
    if cursor is not None:
        with page_errors():
            after = _place(Cursor.decode(cursor, listing))
        try:
            start = bisect.bisect_right(items, after, key=order)
        except TypeError as exc:  # a place of another shape than this list's
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST, "not a cursor this server gave for this list"
            ) from exc
    page = items[start : start + size]
    if page and start + size < len(items):
        token = Cursor(listing, tuple(_term(v) for v in order(page[-1]))).encode()
        url = request.url.include_query_params(page_size=size, cursor=token)
        response.headers["Link"] = f'<{url}>; rel="next"'
        response.headers["X-Next-Cursor"] = token
    return page


def _term(value: int | str) -> ox.Literal:
    return (
        ox.Literal(str(value), datatype=XSD_INTEGER)
        if isinstance(value, int)
        else ox.Literal(value)
    )


def _place(cursor: Cursor) -> tuple[int | str, ...]:
    """The place in a list a cursor of :func:`list_page` names."""
    place: list[int | str] = []
    for term in cursor.last:
        if not isinstance(term, ox.Literal):
            raise CursorError("not a cursor this server gave for this list")
        if term.datatype == XSD_INTEGER:
            try:
                place.append(int(term.value))
            except ValueError as exc:
                raise CursorError("not a cursor this server gave for this list") from exc
        else:
            place.append(term.value)
    return tuple(place)


class ListPages:
    """The page a request asks for (``page_size``, ``cursor``) of a list kept whole: a
    route's one parameter for :func:`list_page`."""

    def __init__(
        self,
        request: Request,
        response: Response,
        page_size: PageSize = None,
        cursor: CursorParam = None,
    ) -> None:
        self.request = request
        self.response = response
        self.page_size = page_size
        self.cursor = cursor

    @property
    def wanted(self) -> bool:
        """Whether the request asks for a page (otherwise: the whole list)."""
        return self.page_size is not None or self.cursor is not None

    def of(
        self,
        items: Sequence[T],
        order: Callable[[T], tuple[int | str, ...]],
        name: str,
        params: Mapping[str, str] | None = None,
    ) -> Sequence[T]:
        """The page of ``items`` asked for (see :func:`list_page`)."""
        return list_page(
            items,
            order,
            name,
            params or {},
            page_size=self.page_size,
            cursor=self.cursor,
            request=self.request,
            response=self.response,
        )


ListPagesDep = Annotated[ListPages, Depends()]
