"""What the writers and readers of every standard share: finding records, reading triples."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import Graph, URIRef

from cipd_graph._errors import RecordError, RecordProblem
from cipd_graph._store import GraphStore, _to_rdflib
from cipd_graph.interop import FormatError

CIPD_NS = "https://w3id.org/cipd#"
PREFIXES = (
    "PREFIX cipd: <https://w3id.org/cipd#> "
    "PREFIX dcterms: <http://purl.org/dc/terms/> "
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
    "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
    "PREFIX schema: <https://schema.org/> "
    "PREFIX prov: <http://www.w3.org/ns/prov#> "
)
#: Export option keys and the class of record each names.
KINDS = {
    "project": "ImprovementProject",
    "module": "Module",
    "programme": "Programme",
}


def select(
    store: GraphStore, query: str, bindings: dict[str, ox.NamedNode | ox.Literal]
) -> list[Any]:
    """Run a SELECT over the union of the store's graphs with ``bindings`` as a VALUES block.

    The values are RDF terms written by pyoxigraph (escaped), never pasted text.
    """
    if bindings:
        names = " ".join(f"?{n}" for n in bindings)
        cells = " ".join(str(t) for t in bindings.values())
        query = query.replace("#+ bind", f"VALUES ({names}) {{ ({cells}) }}", 1)
    rows = store.oxigraph.query(PREFIXES + query, use_default_graph_as_union=True)
    assert isinstance(rows, ox.QuerySolutions)
    return list(rows)


def construct(
    store: GraphStore, query: str, bindings: dict[str, ox.NamedNode | ox.Literal]
) -> Graph:
    """The triples a CONSTRUCT over the store's record graphs gives, as an rdflib graph."""
    if bindings:
        names = " ".join(f"?{n}" for n in bindings)
        cells = " ".join(str(t) for t in bindings.values())
        query = query.replace("#+ bind", f"VALUES ({names}) {{ ({cells}) }}", 1)
    triples = store.oxigraph.query(PREFIXES + query, use_default_graph_as_union=True)
    assert isinstance(triples, ox.QueryTriples)
    graph = Graph()
    for t in triples:
        graph.add((_to_rdflib(t.subject), _to_rdflib(t.predicate), _to_rdflib(t.object)))
    return graph


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


def read_json(path: Path) -> tuple[bytes, Any]:
    """A file's bytes and its JSON value; a located :class:`RecordError` when it is not JSON."""
    data = path.read_bytes()
    try:
        return data, json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise RecordError([problem(path, "file", "", f"not UTF-8 text: {exc}")]) from exc
    except json.JSONDecodeError as exc:
        raise RecordError(
            [RecordProblem(str(path), exc.lineno, "file", "", f"not JSON: {exc.msg}")]
        ) from exc


def problem(path: Path, record: str, field: str, reason: str) -> RecordProblem:
    """A problem located by JSON pointer (``record``) in ``path``."""
    return RecordProblem(str(path), None, record, field, reason)


def sha256(data: bytes) -> str:
    """The hex digest recorded in provenance for a file's bytes."""
    return hashlib.sha256(data).hexdigest()
