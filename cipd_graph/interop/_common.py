"""What the readers and writers of every standard share: reading files, finding records,
querying the store with bound parameters, located problems."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import Graph, URIRef

from cipd_graph._errors import RecordError, RecordProblem
from cipd_graph._rdf import to_rdflib as _to_rdflib
from cipd_graph.graph import GraphStore
from cipd_graph.interop import FormatError
from cipd_graph.limits import InputRefusedError, load_json

CIPD_NS = "https://w3id.org/cipd#"
PREFIXES = """PREFIX cipd: <https://w3id.org/cipd#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX schema: <https://schema.org/>
PREFIX org: <http://www.w3.org/ns/org#>
PREFIX foaf: <http://xmlns.com/foaf/0.1/>
"""
#: Export option keys and the class of record each names.
KINDS = {
    "project": "ImprovementProject",
    "module": "Module",
    "programme": "Programme",
}
_SLUG = re.compile(r"[^a-z0-9]+")

Binding = ox.NamedNode | ox.Literal


def _bind(query: str, bindings: Mapping[str, Binding]) -> str:
    """Put ``bindings`` (RDF terms, escaped by pyoxigraph) in a VALUES block at ``#+ bind``."""
    if not bindings:
        return PREFIXES + query
    if "#+ bind" not in query:
        raise ValueError("a query with bindings needs a '#+ bind' line")
    variables = " ".join(f"?{k}" for k in bindings)
    cells = " ".join(str(v) for v in bindings.values())
    return PREFIXES + query.replace("#+ bind", f"VALUES ({variables}) {{ ({cells}) }}", 1)


def _query(store: GraphStore, query: str) -> Any:
    # The union: people's names (the /names graphs) never reach an export.
    return store.query(query)


def select(
    store: GraphStore,
    query: str,
    bindings: Mapping[str, Binding] | None = None,
    **more: Binding,
) -> list[dict[str, Any]]:
    """Run a SELECT over the readable graphs (never the names graphs).

    Parameters are RDF terms bound through a ``VALUES`` block put where the query says
    ``#+ bind``, given as a mapping or as keywords; their text is never pasted into the query.
    The common prefixes (``cipd:``, ``dcterms:``, ``skos:``, ...) are declared.
    """
    solutions = _query(store, _bind(query, {**(bindings or {}), **more}))
    assert isinstance(solutions, ox.QuerySolutions)
    names = [v.value for v in solutions.variables]
    return [{n: row[n] for n in names} for row in solutions]


def construct(
    store: GraphStore, query: str, bindings: Mapping[str, Binding] | None = None
) -> Graph:
    """The triples a CONSTRUCT over the readable graphs gives, as an rdflib graph."""
    triples = _query(store, _bind(query, bindings or {}))
    assert isinstance(triples, list)
    graph = Graph()
    for t in triples:
        graph.add((_to_rdflib(t.subject), _to_rdflib(t.predicate), _to_rdflib(t.object)))
    return graph


def value(row: Mapping[str, Any], name: str) -> str | None:
    """The lexical value of a solution's variable, or None when unbound."""
    term = row.get(name)
    return None if term is None else str(term.value)


def find_record(store: GraphStore, option: str, key: str) -> URIRef:
    """The IRI of the project, module or programme an export option names (by id or IRI).

    A clear :class:`FormatError` lists the known ids when there is no such record.
    """
    cls = ox.NamedNode(CIPD_NS + KINDS[option])
    if key.startswith(("http://", "https://")):
        try:
            node = ox.NamedNode(key)
        except ValueError as exc:
            raise FormatError(f"{option}={key!r} is not a valid IRI") from exc
        rows = select(store, "SELECT ?e WHERE { #+ bind\n ?e a ?c }", {"e": node, "c": cls})
    else:
        rows = select(
            store,
            "SELECT ?e WHERE { #+ bind\n ?e a ?c ; dcterms:identifier ?id }",
            {"id": ox.Literal(key), "c": cls},
        )
    if rows:
        return URIRef(rows[0]["e"].value)
    known = sorted(
        r["id"].value
        for r in select(
            store,
            "SELECT DISTINCT ?id WHERE { #+ bind\n ?e a ?c ; dcterms:identifier ?id }",
            {"c": cls},
        )
    )
    listed = ", ".join(known[:20]) + (" ..." if len(known) > 20 else "") if known else "none loaded"
    raise FormatError(f"no {option} {key!r} in the store; known {option}s: {listed}")


def read_bytes(path: Path) -> tuple[bytes, str]:
    """The file's bytes and their SHA-256 (recorded in the batch's provenance)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RecordError([problem(path, None, "file", "", f"cannot read: {exc}")]) from exc
    return data, sha256(data)


def read_json(path: Path) -> tuple[bytes, Any]:
    """A file's bytes and its JSON value; a located :class:`RecordError` when it is not JSON."""
    data, _ = read_bytes(path)
    try:
        return data, load_json(data.decode("utf-8"))
    except InputRefusedError as exc:  # a limit (CIPD_MAX_*), or a key written twice
        raise RecordError([RecordProblem(str(path), exc.line, "file", "", exc.reason)]) from exc
    except UnicodeDecodeError as exc:
        raise RecordError([pointer_problem(path, "file", "", f"not UTF-8 text: {exc}")]) from exc
    except json.JSONDecodeError as exc:
        raise RecordError(
            [RecordProblem(str(path), exc.lineno, "file", "", f"not JSON: {exc.msg}")]
        ) from exc
    except RecursionError as exc:
        raise RecordError(
            [pointer_problem(path, "file", "", "nested too deeply to be a document")]
        ) from exc


def problem(path: Path, line: int | None, record: str, field: str, reason: str) -> RecordProblem:
    """A problem at ``line`` (when known) of ``path``."""
    return RecordProblem(str(path), line, record, field, reason)


def pointer_problem(path: Path, record: str, field: str, reason: str) -> RecordProblem:
    """A problem located by JSON pointer (``record``) in ``path``."""
    return RecordProblem(str(path), None, record, field, reason)


def sha256(data: bytes) -> str:
    """The hex digest recorded in provenance for a file's bytes."""
    return hashlib.sha256(data).hexdigest()


def slug(text: str) -> str:
    """A lower-case slug safe in IRIs (``"Year 1 / Block A"`` -> ``"year-1-block-a"``).

    >>> slug("Year 1 / Block A")
    'year-1-block-a'
    """
    return _SLUG.sub("-", text.lower()).strip("-") or "x"


def short_hash(text: str) -> str:
    """A short, stable digest of ``text`` for IRIs made from foreign identifiers."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
