"""Helpers the readers and writers of this package share."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from cipd_graph._errors import RecordError, RecordProblem
from cipd_graph._store import GraphStore

_SLUG = re.compile(r"[^a-z0-9]+")


def read_bytes(path: Path) -> tuple[bytes, str]:
    """The file's bytes and their SHA-256 (recorded in the batch's provenance)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RecordError([problem(path, None, "file", "", f"cannot read: {exc}")]) from exc
    return data, hashlib.sha256(data).hexdigest()


def problem(path: Path, line: int | None, record: str, field: str, reason: str) -> RecordProblem:
    return RecordProblem(str(path), line, record, field, reason)


def slug(text: str) -> str:
    """A lower-case slug safe in IRIs (``"Year 1 / Block A"`` -> ``"year-1-block-a"``).

    >>> slug("Year 1 / Block A")
    'year-1-block-a'
    """
    return _SLUG.sub("-", text.lower()).strip("-") or "x"


def short_hash(text: str) -> str:
    """A short, stable digest of ``text`` for IRIs made from foreign identifiers."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def select(
    store: GraphStore, query: str, **bindings: ox.NamedNode | ox.Literal
) -> list[dict[str, Any]]:
    """Run a SELECT over the readable graphs (never the names graphs).

    ``bindings`` are RDF terms (checked by pyoxigraph when made), bound through a ``VALUES``
    block put where the query says ``#+ bind``; their text is never pasted into the query.
    """
    if bindings:
        variables = " ".join(f"?{k}" for k in bindings)
        cells = " ".join(str(v) for v in bindings.values())
        query = query.replace("#+ bind", f"VALUES ({variables}) {{ ({cells}) }}", 1)
    graphs: list[ox.NamedNode | ox.BlankNode | ox.DefaultGraph] = list(store.readable_graphs())
    solutions = store.oxigraph.query(query, default_graph=graphs)
    assert isinstance(solutions, ox.QuerySolutions)
    names = [v.value for v in solutions.variables]
    return [{n: row[n] for n in names} for row in solutions]


def value(row: Mapping[str, Any], name: str) -> str | None:
    term = row.get(name)
    return None if term is None else str(term.value)


PREFIXES = """PREFIX cipd: <https://w3id.org/cipd#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX schema: <https://schema.org/>
PREFIX org: <http://www.w3.org/ns/org#>
PREFIX foaf: <http://xmlns.com/foaf/0.1/>
"""
