"""Safe, bounded SPARQL for a public endpoint: read-only, time-limited, capped.

:func:`check_query` refuses updates (including LOAD), SERVICE, FROM of graphs the store does
not hold, and over-long queries, with a message a person can act on. :func:`run_bounded`
runs a query in a child process that opens the on-disk store read-only, so a query that
overruns its time limit is really stopped (the child is killed), and returns at most
``cap`` results, saying when it truncated. :func:`run_remote` forwards an already checked
query to a remote store's SPARQL server, naming the readable graphs as the dataset, with
the same time limit (on the HTTP request) and the same cap.
"""

from __future__ import annotations

import io
import json
import multiprocessing as mp
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox

from cipd_graph._errors import CipdError

MAX_QUERY_CHARS = 20_000
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_CAP = 10_000

RESULT_FORMATS = {
    "application/sparql-results+json": "json",
    "application/sparql-results+xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
}
GRAPH_FORMATS = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
}


class QueryRefusedError(CipdError):
    """The query is not allowed on this endpoint or is not valid SPARQL (HTTP 400)."""


class QueryTimeoutError(CipdError):
    """The query ran past its time limit and was stopped (HTTP 503)."""


class StoreBusyError(CipdError):
    """The store kept changing under a read-only reader; try again shortly (HTTP 503)."""


T = TypeVar("T")
#: Pauses between attempts to read a store that another process is writing (seconds).
READ_RETRY_PAUSES = (0.02, 0.05, 0.1, 0.2, 0.4, 0.8)


def read_only(store_dir: str | Path, read: Callable[[ox.Store], T]) -> T:
    """Open the on-disk store read-only and ``read`` it, retrying while a writer compacts it.

    A read-only handle reads the files the store's manifest lists when it opens; the process
    that writes the store may compact (delete) some of them in between, and Oxigraph then
    reports missing files. Nothing is wrong with the store: opening again finds the new
    manifest. After the last attempt :class:`StoreBusyError` is raised. Each attempt is a
    consistent snapshot, so a reader sees a batch either before or after a load, never half.

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> writer = ox.Store(folder)
    >>> writer.update("INSERT DATA { <urn:a> <urn:b> <urn:c> }"); writer.flush()
    >>> read_only(folder, len)
    1
    """
    for pause in (*READ_RETRY_PAUSES, None):
        try:
            return read(ox.Store.read_only(str(store_dir)))
        except (OSError, RuntimeError) as exc:
            if pause is None:
                raise StoreBusyError(
                    f"the store changed under the reader {len(READ_RETRY_PAUSES) + 1} times "
                    f"(a load is writing it); try again shortly: {exc}"
                ) from exc
            time.sleep(pause)
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True)
class BoundedResult:
    """A serialised answer: its bytes, media type and whether the cap cut it short."""

    body: bytes
    media_type: str
    truncated: bool
    count: int


def _walk(node: Any) -> Iterable[Any]:
    from rdflib.plugins.sparql.parserutils import CompValue

    if isinstance(node, CompValue):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list | tuple) or hasattr(node, "asList"):
        for value in node:
            yield from _walk(value)


def check_query(text: str, graphs: set[str] | None = None) -> str:
    """Check a query for the read-only endpoint; return its form (SELECT, ASK, ...)."""
    from rdflib.plugins.sparql.parser import parseQuery, parseUpdate

    if len(text) > MAX_QUERY_CHARS:
        raise QueryRefusedError(
            f"the query is {len(text)} characters long; the limit is {MAX_QUERY_CHARS}"
        )
    try:
        parsed = parseQuery(text)
    except Exception as query_error:  # pyparsing's exception
        try:
            parseUpdate(text)
        except Exception:
            raise QueryRefusedError(f"not a valid SPARQL query: {query_error}") from query_error
        raise QueryRefusedError(
            "updates (INSERT, DELETE, LOAD, CLEAR, DROP, ...) are refused: this endpoint is read-only"
        ) from query_error
    form = "SELECT"
    for node in _walk(parsed):
        name = node.name
        if name.endswith("Query"):
            form = name.removesuffix("Query").upper()
        if name == "ServiceGraphPattern":
            raise QueryRefusedError(
                "SERVICE is refused: this endpoint does not query other endpoints"
            )
        if name == "DatasetClause":
            iri = str(node.get("default") or node.get("named"))
            if graphs is None or iri not in graphs:
                raise QueryRefusedError(
                    f"FROM <{iri}> is refused: only graphs held by this store can be named"
                )
    return form


def _term_json(term: Any) -> dict[str, str]:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    out = {"type": "literal", "value": term.value}
    if term.language:
        out["xml:lang"] = term.language
    elif term.datatype.value != "http://www.w3.org/2001/XMLSchema#string":
        out["datatype"] = term.datatype.value
    return out


def _term_xml(term: Any) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{escape(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{escape(term.value)}</bnode>"
    attrs = ""
    if term.language:
        attrs = f" xml:lang={quoteattr(term.language)}"
    elif term.datatype.value != "http://www.w3.org/2001/XMLSchema#string":
        attrs = f" datatype={quoteattr(term.datatype.value)}"
    return f"<literal{attrs}>{escape(str(term.value))}</literal>"


def _csv_cell(term: Any) -> str:
    if term is None:
        return ""
    value = str(term.value)
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n\r') else value


def serialize_solutions(variables: list[str], rows: list[list[Any]], fmt: str) -> bytes:
    """SPARQL 1.1 results in JSON, XML, CSV or TSV for already-capped rows."""
    if fmt == "json":
        bindings = [
            {v: _term_json(t) for v, t in zip(variables, row, strict=True) if t is not None}
            for row in rows
        ]
        return json.dumps({"head": {"vars": variables}, "results": {"bindings": bindings}}).encode()
    if fmt == "xml":
        out = io.StringIO()
        out.write(
            '<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>'
        )
        out.write("".join(f"<variable name={quoteattr(v)}/>" for v in variables))
        out.write("</head><results>")
        for row in rows:
            out.write("<result>")
            for v, t in zip(variables, row, strict=True):
                if t is not None:
                    out.write(f"<binding name={quoteattr(v)}>{_term_xml(t)}</binding>")
            out.write("</result>")
        out.write("</results></sparql>\n")
        return out.getvalue().encode()
    if fmt == "csv":
        lines = [",".join(variables)] + [",".join(_csv_cell(t) for t in row) for row in rows]
        return ("\r\n".join(lines) + "\r\n").encode()
    lines = ["\t".join(f"?{v}" for v in variables)] + [
        "\t".join("" if t is None else str(t) for t in row) for row in rows
    ]
    return ("\n".join(lines) + "\n").encode()


def public_graphs(store: ox.Store) -> list[ox.NamedNode]:
    """Every named graph a public query may read: all but the per-batch names graphs."""
    return [
        g
        for g in store.named_graphs()
        if isinstance(g, ox.NamedNode) and not g.value.endswith("/names")
    ]


def _execute(store_dir: str, query: str, media_type: str, cap: int) -> BoundedResult:
    return read_only(store_dir, lambda store: _answer(store, query, media_type, cap))


def _answer(store: ox.Store, query: str, media_type: str, cap: int) -> BoundedResult:
    graphs = public_graphs(store)
    # The default graph is the union of the public graphs; GRAPH ?g sees only those too.
    default: list[ox.NamedNode | ox.BlankNode | ox.DefaultGraph] = list(graphs)
    named: list[ox.NamedNode | ox.BlankNode] = list(graphs)
    return _bounded(store.query(query, default_graph=default, named_graphs=named), media_type, cap)


def _bounded(result: Any, media_type: str, cap: int) -> BoundedResult:
    """Serialise at most ``cap`` results of a query answer in ``media_type``."""
    if isinstance(result, ox.QuerySolutions):
        variables = [v.value for v in result.variables]
        rows: list[list[Any]] = []
        truncated = False
        for solution in result:
            if len(rows) == cap:
                truncated = True
                break
            rows.append([solution[v] for v in variables])
        fmt = RESULT_FORMATS.get(media_type, "json")
        return BoundedResult(
            serialize_solutions(variables, rows, fmt), media_type, truncated, len(rows)
        )
    if isinstance(result, ox.QueryTriples | list):
        triples: list[ox.Triple] = []
        truncated = False
        for triple in result:
            if len(triples) == cap:
                truncated = True
                break
            triples.append(triple)
        body = (
            ox.serialize(triples, format=GRAPH_FORMATS.get(media_type, ox.RdfFormat.TURTLE)) or b""
        )
        return BoundedResult(body, media_type, truncated, len(triples))
    answer = bool(result)
    if media_type == "application/sparql-results+xml":
        body = f'<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head/><boolean>{str(answer).lower()}</boolean></sparql>\n'.encode()
    else:
        body = json.dumps({"head": {}, "boolean": answer}).encode()
    return BoundedResult(body, media_type, False, 1)


def _child(conn: Any, args: tuple[str, str, str, int]) -> None:
    from cipd_graph._lifetime import die_when_unread

    die_when_unread(conn.fileno())  # ends when the server, which reads the answer, dies
    try:
        conn.send(("ok", _execute(*args)))
    except StoreBusyError as exc:
        conn.send(("busy", str(exc)))
    except Exception as exc:  # reported to the parent, which turns it into a refusal
        conn.send(("error", str(exc)))
    finally:
        conn.close()


_CONTEXT = mp.get_context("forkserver")


def run_bounded(
    store_dir: Path,
    query: str,
    media_type: str,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    cap: int = DEFAULT_CAP,
) -> BoundedResult:
    """Run ``query`` on the on-disk store in a child process; kill it at ``timeout_s``."""
    parent, child = _CONTEXT.Pipe(duplex=False)
    process = _CONTEXT.Process(
        target=_child, args=(child, (str(store_dir), query, media_type, cap)), daemon=True
    )
    process.start()
    child.close()
    try:
        if not parent.poll(timeout_s):
            raise QueryTimeoutError(
                f"the query ran past the time limit of {timeout_s:g} s and was stopped"
            )
        status, payload = parent.recv()
    except EOFError as exc:
        raise QueryRefusedError("the query failed while running") from exc
    finally:
        if process.is_alive():
            process.kill()
        process.join(5)
        parent.close()
    if status == "busy":
        raise StoreBusyError(payload)
    if status == "error":
        raise QueryRefusedError(f"the query failed: {payload}")
    assert isinstance(payload, BoundedResult)
    return payload


def run_remote(
    store: Any,
    query: str,
    media_type: str,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    cap: int = DEFAULT_CAP,
) -> BoundedResult:
    """Forward a checked ``query`` to a remote store's server, over its readable graphs only."""
    import httpx

    from cipd_graph._backend import _query_form, parse_json_results
    from cipd_graph._errors import StoreError

    form = _query_form(query)
    graph_form = form in ("CONSTRUCT", "DESCRIBE")
    accept = "application/n-triples" if graph_form else "application/sparql-results+json"
    try:
        body = store.backend.send_query(query, accept=accept, union=True, timeout_s=timeout_s)
    except httpx.TimeoutException as exc:
        raise QueryTimeoutError(
            f"the query ran past the time limit of {timeout_s:g} s and was stopped"
        ) from exc
    except StoreError as exc:
        raise QueryRefusedError(f"the query failed: {exc}") from exc
    try:
        answer: Any = (
            list(ox.parse(body, format=ox.RdfFormat.N_TRIPLES))
            if graph_form
            else parse_json_results(body)
        )
    except (SyntaxError, ValueError) as exc:
        raise QueryRefusedError(f"the server's answer could not be read: {exc}") from exc
    return _bounded(answer, media_type, cap)


def run_public(
    store: Any,
    query: str,
    media_type: str,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    cap: int = DEFAULT_CAP,
) -> BoundedResult:
    """Run a checked query for the public endpoint on a :class:`~cipd_graph.GraphStore`.

    An embedded store answers in a child process (:func:`run_bounded`), a remote one on
    its server (:func:`run_remote`); either way over the readable graphs only.
    """
    if store.is_remote:
        return run_remote(store, query, media_type, timeout_s=timeout_s, cap=cap)
    if store.location is None:
        raise QueryRefusedError("the SPARQL endpoint needs an on-disk or remote store")
    return run_bounded(
        (store.location / "oxigraph").resolve(), query, media_type, timeout_s=timeout_s, cap=cap
    )
