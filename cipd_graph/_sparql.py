"""Safe, bounded SPARQL for a public endpoint: read-only, time-limited, capped.

Everything a query costs happens in a child process, under the time limit: reading its
shape (:func:`query_shape`: form, dataset clauses, SERVICE, nesting and token count),
parsing and evaluating it with Oxigraph (on a thread with a large stack, so a deeply
nested query cannot crash the engine), and serialising at most ``cap`` results. The child
opens the on-disk store read-only, runs at a lower priority than the server and with a
memory limit; a query that overruns its time limit is really stopped (the child is
killed). :func:`run_remote` forwards a query to a remote store's SPARQL server with the
same dataset rules, time limit and cap.

The dataset (SPARQL 1.1 Query section 13, Protocol section 2.1.4):

- with ``default-graph-uri`` / ``named-graph-uri`` protocol parameters, those graphs, and
  the query's ``FROM`` / ``FROM NAMED`` are ignored (the protocol overrides the query);
- else with ``FROM`` / ``FROM NAMED`` in the query, those graphs;
- else :func:`default_dataset` as the default graph and every readable graph as the named
  graphs.

Given graphs are checked: a per-batch ``/names`` graph (people's names) is refused with a
400; a graph the store does not hold is read as an empty graph and named in a warning
(nothing is fetched from the web). Several default graphs are merged as a set (the RDF
merge, duplicates removed) by copying them into a store in memory, up to
:data:`MERGE_CAP` triples; a larger merge is refused with a message.
"""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing as mp
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox

from cipd_graph._errors import CipdError

MAX_QUERY_CHARS = 20_000
#: Most tokens (words, names, IRIs, operators...) a query may have: bounds the parse cost.
MAX_QUERY_TOKENS = 5_000
#: Deepest nesting of brackets ``{ ( [`` a query may have.
MAX_NESTING = 64
#: Most triples copied into memory to merge several default graphs into one set.
MERGE_CAP = 250_000
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_CAP = 10_000
#: Address space a query's child process may use (bytes); CIPD_QUERY_MEMORY sets it in MB.
DEFAULT_MEMORY_MB = 2048
#: Stack of the thread that parses and evaluates a query: Oxigraph recurses per nesting level.
QUERY_STACK_BYTES = 256 * 1024 * 1024

JSON_RESULTS = "application/sparql-results+json"
XML_RESULTS = "application/sparql-results+xml"
RESULT_FORMATS = {
    JSON_RESULTS: "json",
    XML_RESULTS: "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
}
#: ASK answers: the results formats that define a boolean (CSV and TSV do not).
BOOLEAN_FORMATS = {JSON_RESULTS: "json", XML_RESULTS: "xml"}
GRAPH_FORMATS = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
}
#: Media types clients send for the ones above.
ALIASES = {
    "application/json": JSON_RESULTS,
    "application/xml": XML_RESULTS,
    "text/xml": XML_RESULTS,
    "application/x-turtle": "text/turtle",
    "text/plain": "application/n-triples",
}
UPDATE_KEYWORDS = frozenset(
    ("INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH")
)
FORMS = ("SELECT", "CONSTRUCT", "DESCRIBE", "ASK")


class QueryRefusedError(CipdError):
    """The query is not allowed on this endpoint or is not valid SPARQL (HTTP 400)."""


class QueryNotAcceptableError(CipdError):
    """No media type the client accepts can carry this query's answer (HTTP 406)."""


class QueryTimeoutError(CipdError):
    """The query ran past its time limit and was stopped (HTTP 503)."""


class StoreBusyError(CipdError):
    """The store kept changing under a read-only reader; try again shortly (HTTP 503)."""


class QueriesBusyError(StoreBusyError):
    """Every query slot and every place in the queue is taken; try again shortly (HTTP 503)."""


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


# ------------------------------------------------------------------------- the query's shape

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\n\r]*)
  | (?P<iri><(?:[^<>"{}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*>)
  | (?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'''(?:[^'\\]|\\.|'(?!''))*'''
              |"(?:[^"\\\n\r]|\\.)*"|'(?:[^'\\\n\r]|\\.)*')
  | (?P<var>[?$][^\W]+)
  | (?P<bnode>_:[^\s{}()\[\],;]+)
  | (?P<lang>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
  | (?P<pname>(?:[^\W\d_][\w.\-\u00B7]*)?:(?:[\w\-.:\u00B7%]|\\[_~.\-!$&'()*+,;=/?\#@%])*)
  | (?P<word>[^\W\d][\w]*)
  | (?P<open>[{(\[])
  | (?P<close>[})\]])
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class QueryShape:
    """What the endpoint needs to know of a query before running it.

    ``form`` is SELECT, CONSTRUCT, DESCRIBE or ASK (None when the text has none);
    ``update`` the update keyword it starts with, if any; ``prologue`` its BASE and PREFIX
    declarations; ``dataset`` its FROM / FROM NAMED clauses as (named?, IRI or prefixed
    name as written).
    """

    form: str | None
    update: str | None
    service: bool
    prologue: str
    dataset: tuple[tuple[bool, str], ...]
    #: Whether the query reads named graphs (a GRAPH pattern).
    reads_graph: bool = False


class _ShapeReader:
    """Reads tokens one by one, keeping what :func:`query_shape` returns."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.form: str | None = None
        self.update: str | None = None
        self.service = False
        self.graph = False
        self.prologue_end = len(text)
        self.dataset: list[tuple[bool, str]] = []
        self.depth = 0
        self.tokens = 0
        self.in_prologue = True
        self.after_from: bool | None = None  # after FROM: whether the graph is a named one

    def read(self, match: re.Match[str]) -> None:
        self.tokens += 1
        if self.tokens > MAX_QUERY_TOKENS:
            raise QueryRefusedError(
                f"the query has more than {MAX_QUERY_TOKENS:,} tokens (names, IRIs, operators); "
                "split it, or use fewer values"
            )
        kind, value = match.lastgroup, match.group()
        after_from, self.after_from = self.after_from, None
        if kind == "open":
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise QueryRefusedError(
                    f"the query nests brackets more than {MAX_NESTING} deep; the limit is "
                    f"{MAX_NESTING}"
                )
        elif kind == "close":
            self.depth = max(0, self.depth - 1)
        elif kind == "word":
            self.word(value.upper(), match.start(), after_from)
        elif kind in ("iri", "pname") and after_from is not None:
            self.dataset.append((after_from, value))

    def word(self, word: str, start: int, after_from: bool | None) -> None:
        if word == "SERVICE":
            self.service = True
        if word == "GRAPH":
            self.graph = True
        if self.depth:
            return
        if self.in_prologue and word not in ("BASE", "PREFIX"):
            self.in_prologue = False
            self.prologue_end = start
            if word in UPDATE_KEYWORDS:
                self.update = word
        if self.form is None and word in FORMS:
            self.form = word
        if word == "FROM":
            self.after_from = False
        elif word == "NAMED" and after_from is False:
            self.after_from = True


def query_shape(text: str) -> QueryShape:
    """Read a query's shape in one pass over its tokens, refusing what costs too much.

    Strings, IRIs and comments are skipped, so a keyword inside them does not count.

    >>> s = query_shape('PREFIX e: <http://e/> SELECT * FROM e:g FROM NAMED <h> { ?s ?p "SERVICE" }')
    >>> s.form, s.service, s.dataset, s.prologue
    ('SELECT', False, ((False, 'e:g'), (True, '<h>')), 'PREFIX e: <http://e/> ')
    >>> query_shape("select * { service <http://x/> { ?s ?p ?o } }").service
    True
    >>> query_shape("CLEAR ALL").update
    'CLEAR'
    """
    if len(text) > MAX_QUERY_CHARS:
        raise QueryRefusedError(
            f"the query is {len(text):,} characters long; the limit is {MAX_QUERY_CHARS:,}"
        )
    reader = _ShapeReader(text)
    for match in _TOKEN.finditer(text):
        if match.lastgroup not in ("ws", "comment"):
            reader.read(match)
    return QueryShape(
        reader.form,
        reader.update,
        reader.service,
        text[: reader.prologue_end],
        tuple(reader.dataset),
        reader.graph,
    )


def check_query(text: str) -> QueryShape:
    """Refuse what the endpoint never runs (updates, SERVICE, too long or too nested).

    Parsing proper is Oxigraph's, when the query runs.

    >>> check_query("ASK { ?s ?p ?o }").form
    'ASK'
    """
    shape = query_shape(text)
    if shape.update:
        raise QueryRefusedError(
            f"updates ({shape.update} ...) are refused: this endpoint is read-only"
        )
    if shape.service:
        raise QueryRefusedError("SERVICE is refused: this endpoint does not query other endpoints")
    return shape


# ---------------------------------------------------------------------- content negotiation


def accept_ranges(accept: str) -> list[tuple[str, float]]:
    """The media ranges of an Accept header with their q-values, in the order given.

    >>> accept_ranges("text/csv;q=0.5, application/json")
    [('text/csv', 0.5), ('application/json', 1.0)]
    """
    ranges = []
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if not media:
            continue
        q = 1.0
        for param in params:
            name, _, number = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(number), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        ranges.append((media.lower(), q))
    return ranges


def _quality(media: str, ranges: list[tuple[str, float]]) -> float:
    """The q-value ``ranges`` give ``media``: that of the most specific range matching it."""
    kind = media.split("/", maxsplit=1)[0]
    best: tuple[int, float] | None = None
    for media_range, q in ranges:
        target = ALIASES.get(media_range, media_range)
        if target == media:
            specificity = 3
        elif media_range == f"{kind}/*":
            specificity = 2
        elif media_range == "*/*":
            specificity = 1
        else:
            continue
        if best is None or specificity > best[0]:
            best = (specificity, q)
    return best[1] if best else 0.0


def offered_types(form: str) -> list[str]:
    """The media types an answer to a query of ``form`` can take, preferred first."""
    if form in ("CONSTRUCT", "DESCRIBE"):
        return list(GRAPH_FORMATS)
    if form == "ASK":
        return list(BOOLEAN_FORMATS)
    return list(RESULT_FORMATS)


def negotiate(accept: str, form: str) -> list[str]:
    """The media types to answer a ``form`` query with, best first (RFC 9110 q-values).

    An empty or absent Accept header accepts anything. Ties go to the endpoint's order.

    >>> negotiate("text/*;q=0.9, application/sparql-results+xml;q=0.5", "SELECT")
    ['text/csv', 'text/tab-separated-values', 'application/sparql-results+xml']
    >>> negotiate("text/csv", "ASK")
    Traceback (most recent call last):
    ...
    cipd_graph._sparql.QueryNotAcceptableError: cannot answer an ASK query as 'text/csv'; available: application/sparql-results+json, application/sparql-results+xml
    """
    offered = offered_types(form)
    ranges = accept_ranges(accept) or [("*/*", 1.0)]
    scored = [(-_quality(media, ranges), i, media) for i, media in enumerate(offered)]
    chosen = [media for neg_q, _, media in sorted(scored) if neg_q < 0]
    if not chosen:
        article = "an" if form[0] in "AEIOU" else "a"
        raise QueryNotAcceptableError(
            f"cannot answer {article} {form} query as {accept!r}; available: {', '.join(offered)}"
        )
    return chosen


HTML_TYPES = ("text/html", "application/xhtml+xml")


def prefers_html(accept: str) -> bool:
    """Whether a client (a browser) names an HTML type above every answer type it names.

    Wildcards do not count, so ``*/*`` (curl, most libraries) gets the SPARQL answer.

    >>> prefers_html("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
    True
    >>> prefers_html("*/*"), prefers_html("application/sparql-results+json, text/html;q=0.5")
    (False, False)
    """
    ranges = accept_ranges(accept)
    html = max((q for media, q in ranges if media in HTML_TYPES), default=0.0)
    answers = [*RESULT_FORMATS, *GRAPH_FORMATS]
    other = max((q for media, q in ranges if ALIASES.get(media, media) in answers), default=0.0)
    return html > 0 and html > other


# ----------------------------------------------------------------------------- serialising

#: Characters XML 1.0 cannot carry at all, not even as character references.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


class _NotXmlError(ValueError):
    """A value holds a character XML 1.0 cannot carry."""


@dataclass(frozen=True)
class BoundedResult:
    """A serialised answer: its bytes, media type, whether the cap cut it short, warnings."""

    body: bytes
    media_type: str
    truncated: bool
    count: int
    warnings: tuple[str, ...] = ()


def _term_json(term: Any) -> dict[str, str]:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Triple):
        return {"type": "triple", "value": str(term)}
    out = {"type": "literal", "value": term.value}
    if term.language:
        out["xml:lang"] = term.language
    elif term.datatype.value != "http://www.w3.org/2001/XMLSchema#string":
        out["datatype"] = term.datatype.value
    return out


def _xml_text(value: str, where: str) -> str:
    bad = _NOT_XML.search(value)
    if bad:
        raise _NotXmlError(
            f"{where} holds the character U+{ord(bad.group()):04X}, which XML 1.0 cannot carry"
        )
    return escape(value)


def _term_xml(term: Any, where: str) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{_xml_text(term.value, where)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{_xml_text(term.value, where)}</bnode>"
    if isinstance(term, ox.Triple):
        return f"<literal>{_xml_text(str(term), where)}</literal>"
    attrs = ""
    if term.language:
        attrs = f" xml:lang={quoteattr(term.language)}"
    elif term.datatype.value != "http://www.w3.org/2001/XMLSchema#string":
        attrs = f" datatype={quoteattr(term.datatype.value)}"
    return f"<literal{attrs}>{_xml_text(str(term.value), where)}</literal>"


def _csv_cell(term: Any) -> str:
    """A term as SPARQL 1.1 CSV writes it: IRIs and literals as plain text, ``_:`` blanks."""
    if term is None:
        return ""
    value = f"_:{term.value}" if isinstance(term, ox.BlankNode) else str(term.value)
    if any(c in value for c in ',"\n\r'):
        return '"' + value.replace('"', '""') + '"'
    return value


def serialize_solutions(variables: list[str], rows: list[list[Any]], fmt: str) -> bytes:
    """SPARQL 1.1 results in JSON, XML, CSV or TSV for already-capped rows.

    XML refuses (``ValueError``) a value with a character XML 1.0 cannot carry, such as
    U+0001: the XML answer would not parse, and replacing the character would change the
    data. The endpoint then answers in the client's next acceptable format, or 406.
    """
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
        for number, row in enumerate(rows, 1):
            out.write("<result>")
            for v, t in zip(variables, row, strict=True):
                if t is not None:
                    where = f"row {number}, ?{v}"
                    out.write(f"<binding name={quoteattr(v)}>{_term_xml(t, where)}</binding>")
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


def serialize_boolean(answer: bool, fmt: str) -> bytes:
    """An ASK answer in SPARQL 1.1 JSON or XML results."""
    if fmt == "xml":
        return (
            '<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">'
            f"<head/><boolean>{str(answer).lower()}</boolean></sparql>\n"
        ).encode()
    return json.dumps({"head": {}, "boolean": answer}).encode()


def _serialize_triples(triples: list[ox.Triple], media_type: str) -> bytes:
    if media_type == "application/rdf+xml":
        for number, triple in enumerate(triples, 1):
            for term in (triple.subject, triple.predicate, triple.object):
                if not isinstance(term, ox.Triple):
                    _xml_text(str(term.value), f"triple {number}")
    return ox.serialize(triples, format=GRAPH_FORMATS[media_type]) or b""


def _bounded(
    result: Any, media_types: Sequence[str], cap: int, warnings: tuple[str, ...] = ()
) -> BoundedResult:
    """Serialise at most ``cap`` results of a query answer in the first of ``media_types``
    that can carry them (XML cannot carry every character)."""
    problems: list[str] = []
    if isinstance(result, ox.QuerySolutions):
        variables = [v.value for v in result.variables]
        rows: list[list[Any]] = []
        truncated = False
        for solution in result:
            if len(rows) == cap:
                truncated = True
                break
            rows.append([solution[v] for v in variables])
        for media in media_types:
            try:
                body = serialize_solutions(variables, rows, RESULT_FORMATS[media])
            except _NotXmlError as exc:
                problems.append(f"{media}: {exc}")
                continue
            return BoundedResult(body, media, truncated, len(rows), warnings)
    elif isinstance(result, ox.QueryTriples | list):
        triples: list[ox.Triple] = []
        truncated = False
        for triple in result:
            if len(triples) == cap:
                truncated = True
                break
            triples.append(triple)
        for media in media_types:
            try:
                body = _serialize_triples(triples, media)
            except _NotXmlError as exc:
                problems.append(f"{media}: {exc}")
                continue
            return BoundedResult(body, media, truncated, len(triples), warnings)
    else:
        media = media_types[0]
        body = serialize_boolean(bool(result), BOOLEAN_FORMATS[media])
        return BoundedResult(body, media, False, 1, warnings)
    raise QueryNotAcceptableError(
        "the answer cannot be written in any format the request accepts: "
        + "; ".join(problems)
        + " (ask for application/sparql-results+json, CSV or TSV, or Turtle)"
    )


# ----------------------------------------------------------------------------- the dataset

GraphName = ox.NamedNode | ox.BlankNode | ox.DefaultGraph


def readable(graph: str) -> bool:
    """Whether a public query may read a graph: every graph but the per-batch names graphs."""
    return not graph.endswith("/names")


def public_graphs(store: ox.Store) -> list[ox.NamedNode]:
    """Every named graph a public query may read: all but the per-batch names graphs."""
    return [g for g in store.named_graphs() if isinstance(g, ox.NamedNode) and readable(g.value)]


def default_dataset(store: ox.Store) -> list[GraphName]:
    """The default graph of a query that names none (no FROM, no default-graph-uri).

    The store's default graph: the union of every record, derived and ontology graph, each
    triple once (see :mod:`cipd_graph.store.layout`), so ``COUNT`` counts each triple once.
    """
    return [ox.DefaultGraph()]


@dataclass
class Dataset:
    """The graphs a query reads: its default graph's parts, its named graphs, and warnings."""

    default: list[GraphName]
    named: list[ox.NamedNode]
    warnings: list[str] = field(default_factory=list)
    #: Whether the request named the graphs (protocol parameters or FROM clauses).
    given: bool = True
    #: The graphs named that the store does not hold.
    unknown: list[str] = field(default_factory=list)


def _absolute_iri(value: str, what: str) -> ox.NamedNode:
    if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", value):
        raise QueryRefusedError(f"{what} {value!r} is not an absolute IRI")
    try:
        return ox.NamedNode(value)
    except ValueError as exc:
        raise QueryRefusedError(f"{what} {value!r} is not a valid IRI: {exc}") from exc


def _resolve_dataset_clauses(
    shape: QueryShape, base: str | None
) -> list[tuple[bool, ox.NamedNode]]:
    """The FROM / FROM NAMED graphs as IRIs, resolved by Oxigraph against the prologue and base."""
    names = " ".join(name for _, name in shape.dataset)
    probe = f"{shape.prologue}\nSELECT ?g WHERE {{ VALUES ?g {{ {names} }} }}"
    try:
        solutions = ox.Store().query(probe, base_iri=base)
        assert isinstance(solutions, ox.QuerySolutions)
        rows = list(solutions)
    except SyntaxError as exc:
        raise QueryRefusedError(f"not a valid SPARQL query: {exc}") from exc
    return [(named, row["g"]) for (named, _), row in zip(shape.dataset, rows, strict=True)]


def choose_dataset(
    store: ox.Store,
    shape: QueryShape,
    *,
    default_graph_uris: Sequence[str] = (),
    named_graph_uris: Sequence[str] = (),
    base: str | None = None,
) -> Dataset:
    """The dataset of a query from the protocol parameters, else its FROM clauses, else the
    store's default; a names graph is refused, an unknown graph read as empty with a warning."""
    if default_graph_uris or named_graph_uris:
        given = [(False, _absolute_iri(g, "default-graph-uri")) for g in default_graph_uris]
        given += [(True, _absolute_iri(g, "named-graph-uri")) for g in named_graph_uris]
        source = "the protocol's"
    elif shape.dataset:
        given = _resolve_dataset_clauses(shape, base)
        source = "the query's"
    else:
        # The named graphs matter only to a query that reads GRAPH; listing them costs a
        # look-up of every graph of the store.
        readable_named = public_graphs(store) if shape.reads_graph else []
        return Dataset(default_dataset(store), readable_named, given=False)
    held = {g.value for g in store.named_graphs() if isinstance(g, ox.NamedNode)}
    dataset = Dataset([], [])
    for named, graph in given:
        clause = ("FROM NAMED" if named else "FROM") if source == "the query's" else ""
        if not readable(graph.value):
            raise QueryRefusedError(
                f"{clause or 'graph'} <{graph.value}> is refused: the names graphs hold people's "
                "names and are never readable over SPARQL"
            )
        if graph.value not in held:
            dataset.unknown.append(graph.value)
            dataset.warnings.append(
                f"graph <{graph.value}> is not held by this store and was read as empty "
                "(this endpoint never fetches graphs from the web)"
            )
        target: list[Any] = dataset.named if named else dataset.default
        if graph not in target:
            target.append(graph)
    return dataset


def merged_store(store: ox.Store, dataset: Dataset, cap: int = MERGE_CAP) -> ox.Store:
    """An in-memory store whose default graph is the set-merge of the dataset's default
    graphs, and which holds its named graphs; refused past ``cap`` triples."""
    memory = ox.Store()
    copied = 0

    def copy(graph: Any, into: Any) -> None:
        nonlocal copied
        batch = []
        for quad in store.quads_for_pattern(None, None, None, graph):
            copied += 1
            if copied > cap:
                raise QueryRefusedError(
                    f"the default graph is the merge of {len(dataset.default)} graphs, and they "
                    f"and the named graphs hold more than {cap:,} triples; merging is limited to "
                    f"{cap:,}: name one default graph (or use GRAPH), or leave the dataset out "
                    "to read the union of every readable graph"
                )
            batch.append(ox.Quad(quad.subject, quad.predicate, quad.object, into))
        memory.extend(batch)

    for graph in dataset.default:
        copy(graph, ox.DefaultGraph())
    for graph in dataset.named:
        copy(graph, graph)
    return memory


# ------------------------------------------------------------------------------ running


@dataclass(frozen=True)
class QueryRequest:
    """A protocol request as the endpoint received it: the query, Accept, dataset, base."""

    query: str
    accept: str = ""
    default_graph_uris: tuple[str, ...] = ()
    named_graph_uris: tuple[str, ...] = ()
    base: str | None = None
    cap: int = DEFAULT_CAP


def answer(store: ox.Store, request: QueryRequest) -> BoundedResult:
    """Check, run and serialise a query on an open store (the child process's work)."""
    shape = check_query(request.query)
    media_types = negotiate(request.accept, shape.form) if shape.form else [JSON_RESULTS]
    dataset = choose_dataset(
        store,
        shape,
        default_graph_uris=request.default_graph_uris,
        named_graph_uris=request.named_graph_uris,
        base=request.base,
    )
    target = store
    default: list[GraphName] = dataset.default
    named: list[ox.NamedNode | ox.BlankNode] = list(dataset.named)
    if dataset.given and len(dataset.default) > 1:
        target = merged_store(store, dataset)
        default = [ox.DefaultGraph()]
    try:
        result = target.query(
            request.query, base_iri=request.base, default_graph=default, named_graphs=named
        )
    except SyntaxError as exc:
        raise QueryRefusedError(f"not a valid SPARQL query: {exc}") from exc
    if shape.form is None:  # Oxigraph read a form the shape did not: negotiate now
        form = {ox.QuerySolutions: "SELECT", ox.QueryTriples: "CONSTRUCT"}.get(type(result), "ASK")
        media_types = negotiate(request.accept, form)
    return _bounded(result, media_types, request.cap, tuple(dataset.warnings))


def _in_big_stack(work: Callable[[], T]) -> T:
    """Run ``work`` on a thread with a stack of :data:`QUERY_STACK_BYTES` and return its result."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(("ok", work()))
        except BaseException as exc:  # handed back to the caller's thread
            outcome.append(("error", exc))

    previous = threading.stack_size(QUERY_STACK_BYTES)
    try:
        thread = threading.Thread(target=run, name="sparql-query")
        thread.start()
    finally:
        threading.stack_size(previous)
    thread.join()
    status, value = outcome[0]
    if status == "error":
        raise value
    return value  # type: ignore[no-any-return]


def _few_malloc_arenas() -> None:
    """Let glibc keep at most two malloc arenas: each new thread's arena reserves 64 MB of
    address space, which the child's cap counts (a nested query's child reached 980 MB of
    address space with 190 MB resident; 590 MB with two arenas)."""
    import ctypes

    # the process's own symbols (glibc's among them): ctypes.util.find_library would run
    # ldconfig in a process of its own
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).mallopt(-8, 2)  # M_ARENA_MAX


def _limit_child(memory_mb: int) -> None:
    """Lower the child's priority, cap its address space, and write no core file on a crash."""
    import resource

    os.nice(5)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if memory_mb > 0:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _child(conn: Any, store_dir: str, request: QueryRequest, memory_mb: int) -> None:
    from cipd_graph._lifetime import die_when_unread

    die_when_unread(conn.fileno())  # ends when the server, which reads the answer, dies
    try:
        _few_malloc_arenas()

        def limited() -> Any:
            # The cap is set once the big stack is mapped: mapping it under the cap failed
            # ("can't start new thread") when the child's imports already used most of it.
            _limit_child(memory_mb)
            return read_only(store_dir, lambda s: answer(s, request))

        result = _in_big_stack(limited)
        conn.send(("ok", result))
    except QueryRefusedError as exc:
        conn.send(("refused", str(exc)))
    except QueryNotAcceptableError as exc:
        conn.send(("not-acceptable", str(exc)))
    except StoreBusyError as exc:
        conn.send(("busy", str(exc)))
    except MemoryError:
        conn.send(("refused", f"the query needed more than its memory limit of {memory_mb} MB"))
    except Exception as exc:  # reported to the parent, which turns it into a refusal
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


_CONTEXT = mp.get_context("forkserver")
# The forkserver imports this module once; each query's child then starts without imports.
_CONTEXT.set_forkserver_preload(["cipd_graph._sparql"])


def run_bounded(
    store_dir: Path,
    query: str | QueryRequest,
    media_type: str = "",
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    cap: int = DEFAULT_CAP,
    memory_mb: int = DEFAULT_MEMORY_MB,
) -> BoundedResult:
    """Check and run a query on the on-disk store in a child process; kill it at ``timeout_s``.

    ``query`` is the text (answered as ``media_type``, an Accept value, with at most ``cap``
    results) or a whole :class:`QueryRequest`, which carries its own Accept value and cap.
    """
    request = (
        query
        if isinstance(query, QueryRequest)
        else QueryRequest(query, accept=media_type, cap=cap)
    )
    parent, child = _CONTEXT.Pipe(duplex=False)
    process = _CONTEXT.Process(
        target=_child, args=(child, str(store_dir), request, memory_mb), daemon=True
    )
    process.start()
    child.close()
    try:
        if not parent.poll(timeout_s):
            raise QueryTimeoutError(
                f"the query ran past the time limit of {timeout_s:g} s and was stopped"
            )
        status, payload = parent.recv()
    except EOFError:
        process.join(5)
        status, payload = "crashed", _crash_message(process.exitcode, memory_mb)
    finally:
        if process.is_alive():
            process.kill()
        process.join(5)
        parent.close()
    if status == "ok":
        assert isinstance(payload, BoundedResult)
        return payload
    if status == "busy":
        raise StoreBusyError(payload)
    if status == "not-acceptable":
        raise QueryNotAcceptableError(payload)
    if status in ("refused", "crashed"):
        raise QueryRefusedError(payload)
    raise QueryRefusedError(f"the query failed: {payload}")


def _crash_message(exitcode: int | None, memory_mb: int) -> str:
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        return (
            f"the query engine stopped on this query ({name}): it probably needed more than "
            f"the memory limit of {memory_mb} MB (CIPD_QUERY_MEMORY); simplify the query"
        )
    return f"the query's process ended before it answered (exit status {exitcode})"


def run_remote(
    store: Any,
    query: str | QueryRequest,
    media_type: str = "",
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    cap: int = DEFAULT_CAP,
) -> BoundedResult:
    """Forward a query to a remote store's server, with the same checks and dataset rules."""
    import httpx

    from cipd_graph._errors import StoreError
    from cipd_graph.store.backends import parse_json_results

    request = (
        query
        if isinstance(query, QueryRequest)
        else QueryRequest(query, accept=media_type, cap=cap)
    )
    shape = check_query(request.query)
    form = shape.form or "SELECT"
    media_types = negotiate(request.accept, form)
    graphs = [g for g in store.backend.named_graphs() if readable(g)]
    remote_dataset = _remote_dataset(store, shape, request, graphs)
    text = f"BASE <{request.base}>\n{request.query}" if request.base else request.query
    graph_form = form in ("CONSTRUCT", "DESCRIBE")
    accept = "application/n-triples" if graph_form else JSON_RESULTS
    try:
        body = store.backend.send_query(
            text, accept=accept, dataset=remote_dataset, timeout_s=timeout_s
        )
    except httpx.TimeoutException as exc:
        raise QueryTimeoutError(
            f"the query ran past the time limit of {timeout_s:g} s and was stopped"
        ) from exc
    except StoreError as exc:
        raise QueryRefusedError(f"the query failed: {exc}") from exc

    try:
        answer_: Any = (
            list(ox.parse(body, format=ox.RdfFormat.N_TRIPLES))
            if graph_form
            else parse_json_results(body)
        )
    except (SyntaxError, ValueError) as exc:
        raise QueryRefusedError(f"the server's answer could not be read: {exc}") from exc
    return _bounded(answer_, media_types, request.cap)


def _remote_dataset(
    store: Any, shape: QueryShape, request: QueryRequest, graphs: list[str]
) -> dict[str, list[str]]:
    """The dataset to name in a request to a remote server (it has no empty-list form).

    A graph the store does not hold is refused: the server's own graphs (another store's, its
    system graphs) are not this store's to show, and a ``FROM`` adds to the request's dataset
    on Virtuoso.
    """
    memory = ox.Store()
    for graph in graphs:
        memory.add_graph(ox.NamedNode(graph))
    dataset = choose_dataset(
        memory,
        shape,
        default_graph_uris=request.default_graph_uris,
        named_graph_uris=request.named_graph_uris,
        base=request.base,
    )
    if dataset.unknown:
        # on a shared server such an IRI may name another store's graph, which the query
        # would then read: refused, not read as empty
        raise QueryRefusedError(
            f"graph <{dataset.unknown[0]}> is not one of this store's graphs; on a remote "
            "store only those can be named"
        )
    nothing = store.base + "graph/none"  # an empty list would mean "the server's default"
    if not dataset.given:  # the store's union, and its readable graphs for GRAPH
        return {"default-graph-uri": [store.layout.union], "named-graph-uri": graphs or [nothing]}
    return {
        "default-graph-uri": [str(g.value) for g in dataset.default if isinstance(g, ox.NamedNode)]
        or [nothing],
        "named-graph-uri": [g.value for g in dataset.named] or [nothing],
    }


def run_public(
    store: Any,
    query: str | QueryRequest,
    media_type: str = "",
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    cap: int = DEFAULT_CAP,
    memory_mb: int = DEFAULT_MEMORY_MB,
) -> BoundedResult:
    """Run a query for the public endpoint on a :class:`~cipd_graph.GraphStore`.

    An embedded store answers in a child process (:func:`run_bounded`), a remote one on
    its server (:func:`run_remote`); either way over the readable graphs only.
    """
    if store.is_remote:
        return run_remote(store, query, media_type, timeout_s=timeout_s, cap=cap)
    if store.location is None:
        raise QueryRefusedError("the SPARQL endpoint needs an on-disk or remote store")
    return run_bounded(
        (store.location / "oxigraph").resolve(),
        query,
        media_type,
        timeout_s=timeout_s,
        cap=cap,
        memory_mb=memory_mb,
    )
