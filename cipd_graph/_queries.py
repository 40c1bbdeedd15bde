"""Named queries: one ``queries/<name>.rq`` file per competency question.

Each file starts with a header: ``#+ summary:``, ``#+ tags:`` and one ``#+ param:`` line per
parameter (``#+ param: NAME KIND required|optional [ID-PREFIX] description``). Parameters are
checked and turned into RDF terms, then bound with a ``VALUES`` block inserted at each of the query's
``#+ bind`` lines: values never become query text of their own. A query may bind them again
inside a subquery (SPARQL evaluates a subquery on its own), so that it reads only what the
parameters select.

Two more header lines say how the answer is paged (:mod:`cipd_graph._pages`): ``#+ order:``
names the variables that order rows on pages, and ``#+ keys:`` (optional) a pattern giving
every value of the first of them, so that a page reads only its own keys' rows.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from cipd_graph._errors import CipdError
from cipd_graph._pages import (
    DEFAULT_PAGE,
    Cursor,
    Page,
    Paging,
    check_size,
    ident,
    is_construct,
    restricted,
    sorted_page,
    walked_page,
)
from cipd_graph._resources import data_dir

KINDS = ("iri", "string", "date", "integer")
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")


class QueryError(CipdError):
    """A named query does not exist, or a parameter value is missing or malformed."""


class UnknownIdError(QueryError):
    """A parameter names something the store does not hold (HTTP 404, exit code 2)."""


@dataclass(frozen=True)
class Parameter:
    """A typed query parameter."""

    name: str
    kind: str
    required: bool
    id_prefix: str
    description: str

    def term(self, value: str, base: str) -> ox.NamedNode | ox.Literal:
        """The RDF term for ``value``, or a QueryError saying what is wrong with it."""
        value = value.strip()
        if self.kind == "iri":
            if ":" not in value and self.id_prefix:
                if not _SLUG.match(value):
                    raise QueryError(
                        f"parameter {self.name}: {value!r} is neither an IRI nor an id"
                    )
                value = base + self.id_prefix + value
            try:
                if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", value):
                    raise ValueError("no scheme")
                return ox.NamedNode(value)
            except ValueError as exc:
                raise QueryError(f"parameter {self.name}: {value!r} is not a valid IRI") from exc
        if self.kind == "date":
            try:
                return ox.Literal(
                    dt.date.fromisoformat(value).isoformat(),
                    datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#date"),
                )
            except ValueError as exc:
                raise QueryError(
                    f"parameter {self.name}: {value!r} is not a date (YYYY-MM-DD)"
                ) from exc
        if self.kind == "integer":
            if not re.fullmatch(r"[+-]?\d{1,18}", value):
                raise QueryError(f"parameter {self.name}: {value!r} is not a whole number")
            return ox.Literal(
                str(int(value)), datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
            )
        return ox.Literal(value)


@dataclass(frozen=True)
class NamedQuery:
    """A query file of the catalogue."""

    name: str
    summary: str
    tags: tuple[str, ...]
    parameters: tuple[Parameter, ...]
    text: str
    path: Path
    #: How the answer is paged (None: the query has no ``#+ order:`` header).
    paging: Paging | None = None

    def values_block(self, values: dict[str, str], base: str) -> str:
        """The VALUES block binding ``values`` (checked, as RDF terms); "" with no parameters."""
        self.bound(values, base)
        if not self.parameters:
            return ""
        names = " ".join(f"?{p.name}" for p in self.parameters)
        cells = " ".join(
            str(p.term(values[p.name], base)) if values.get(p.name) else "UNDEF"
            for p in self.parameters
        )
        return f"VALUES ({names}) {{ ({cells}) }}"

    def bound(self, values: dict[str, str], base: str) -> str:
        """The query text with a VALUES block binding ``values`` (checked, as RDF terms)."""
        known = {p.name: p for p in self.parameters}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise QueryError(
                f"query {self.name} has no parameter {unknown}; it takes {sorted(known) or 'none'}"
            )
        missing = [p.name for p in self.parameters if p.required and not values.get(p.name)]
        if missing:
            raise QueryError(f"query {self.name} needs parameter(s) {missing}")
        if not self.parameters:
            return self.text
        names = " ".join(f"?{p.name}" for p in self.parameters)
        cells = " ".join(
            str(p.term(values[p.name], base)) if values.get(p.name) else "UNDEF"
            for p in self.parameters
        )
        # every `#+ bind` line: a subquery is evaluated before the outer patterns, so it gets
        # the parameters again to read only what they select
        text = self.text.replace("#+ bind", f"VALUES ({names}) {{ ({cells}) }}")
        # And each given value again in every group that can see its variable (a UNION
        # branch, an OPTIONAL, a subquery projecting it): Oxigraph evaluates such a group
        # on its own before joining it, over the whole store. cq05 for one project at 10M
        # triples: 980 ms with the VALUES at `#+ bind` only, against a few ms.
        for p in self.parameters:
            if values.get(p.name):
                block = f"VALUES ?{p.name} {{ {p.term(values[p.name], base)} }}"
                text = restricted(text, p.name, block)
        return text


def _parse(path: Path) -> NamedQuery:
    stat = path.stat()
    return _parse_version(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=256)
def _parse_version(path: Path, mtime_ns: int, size: int) -> NamedQuery:
    """One version of a query file, read once (re-read when the file changes)."""
    text = path.read_text(encoding="utf-8")
    summary = ""
    tags: tuple[str, ...] = ()
    params: list[Parameter] = []
    order = ""
    keys: list[str] = []
    for line in text.splitlines():
        if line.startswith("#+ order:"):
            order = line.removeprefix("#+ order:").strip()
        elif line.startswith("#+ keys:"):
            keys.append(line.removeprefix("#+ keys:").strip())
        elif line.startswith("#+ summary:"):
            summary = line.removeprefix("#+ summary:").strip()
        elif line.startswith("#+ tags:"):
            tags = tuple(t.strip() for t in line.removeprefix("#+ tags:").split(",") if t.strip())
        elif line.startswith("#+ param:"):
            parts = line.removeprefix("#+ param:").split(None, 3)
            if len(parts) < 3 or parts[1] not in KINDS or parts[2] not in ("required", "optional"):
                raise QueryError(f"{path}: bad parameter line {line!r}")
            rest = parts[3] if len(parts) > 3 else ""
            prefix = ""
            if rest.split(" ", 1)[0].endswith("/"):
                prefix, _, rest = rest.partition(" ")
            params.append(
                Parameter(parts[0], parts[1], parts[2] == "required", prefix, rest.strip())
            )
    if not summary:
        raise QueryError(f"{path}: a named query needs a '#+ summary:' line")
    if params and "#+ bind" not in text:
        raise QueryError(f"{path}: a query with parameters needs a '#+ bind' line where they go")
    paging = None
    if order or keys:
        try:
            paging = Paging.parse(order, " ".join(keys))
        except ValueError as exc:
            raise QueryError(f"{path}: bad paging header: {exc}") from exc
    return NamedQuery(path.stem, summary, tags, tuple(params), text, path, paging)


def named_queries(directory: Path | None = None) -> dict[str, NamedQuery]:
    """The catalogue, by name.

    >>> sorted(named_queries())[:2]
    ['cq01-project-strands', 'cq02-weaving-levels']
    """
    directory = directory or data_dir("queries")
    return {q.name: q for q in (_parse(p) for p in sorted(directory.glob("*.rq")))}


@dataclass
class QueryResult:
    """Rows of a SELECT (terms as text), or triples of a CONSTRUCT; for a page, the cursor
    of the next one (None: the last page) and the number of rows in all when it is cheap
    to know (None otherwise)."""

    variables: list[str]
    rows: list[dict[str, str | None]]
    triples: list[ox.Triple] | None = None
    next_cursor: str | None = None
    total: int | None = None


def _text(term: Any) -> str | None:
    return None if term is None else str(term.value)


def run_query(
    store: Any,
    name: str,
    values: dict[str, str] | None = None,
    *,
    page_size: int | None = None,
    cursor: str | None = None,
) -> QueryResult:
    """Run the named query ``name`` on a :class:`~cipd_graph.GraphStore` with parameter values.

    With ``page_size`` or ``cursor``, one page of the answer (see :mod:`cipd_graph._pages`):
    ``page_size`` rows (50 when only a cursor is given) after the ``cursor``'s row. Raises
    :class:`~cipd_graph._pages.CursorError` for a cursor of another query or not one of
    ours, and :class:`~cipd_graph._pages.StaleCursorError` when the store changed so much
    that its place is gone.
    """
    catalogue = named_queries()
    if name not in catalogue:
        raise QueryError(f"no named query {name!r}; `cipd query --list` shows them")
    named = catalogue[name]
    values = values or {}
    query = named.bound(values, store.base)
    for parameter in named.parameters:
        given = (values or {}).get(parameter.name)
        if parameter.kind == "iri" and given:
            term = parameter.term(given, store.base)
            if not store.query(f"ASK {{ {{ {term} ?p ?o }} UNION {{ ?s ?p {term} }} }}"):
                raise UnknownIdError(
                    f"parameter {parameter.name}: the store holds nothing named {given!r}"
                    + (f" (looked for <{term.value}>)" if term.value != given else "")
                )
    if page_size is not None or cursor is not None:
        return _page(store, named, values, page_size or DEFAULT_PAGE, cursor)
    # The union: every record, derived and ontology triple once, never a person's name.
    result = store.query(query)
    if isinstance(result, list):
        return QueryResult(["subject", "predicate", "object"], [], result)
    if isinstance(result, ox.QuerySolutions):
        variables = [v.value for v in result.variables]
        return QueryResult(variables, [{v: _text(row[v]) for v in variables} for row in result])
    return QueryResult(["result"], [{"result": str(bool(result)).lower()}])


def _page(
    store: Any, named: NamedQuery, values: dict[str, str], size: int, cursor: str | None
) -> QueryResult:
    """One page of ``named``'s answer."""
    if named.paging is None:
        raise QueryError(f"query {named.name} is not paged (its file has no '#+ order:' line)")
    check_size(size)
    key = ident(named.name, {k: v for k, v in values.items() if v})
    where = Cursor.decode(cursor, key) if cursor is not None else None
    text = named.bound(values, store.base)
    page: Page
    if named.paging.keys:
        page = walked_page(
            store.query,
            text,
            named.paging,
            size=size,
            cursor=where,
            ident_=key,
            bind=named.values_block(values, store.base),
        )
    else:
        page = sorted_page(store.query, text, named.paging, size=size, cursor=where, ident_=key)
    rows = [{v: _text(row.get(v)) for v in page.variables} for row in page.rows]
    triples = None
    if is_construct(named.text):
        triples = [ox.Triple(r["subject"], r["predicate"], r["object"]) for r in page.rows]
        rows = []
    return QueryResult(page.variables, rows, triples, page.next_cursor, page.total)
