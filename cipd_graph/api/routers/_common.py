"""Helpers the REST routers share: read-only SPARQL on the store, IRIs and the id pattern."""

from __future__ import annotations

from typing import Annotated, Any

import pyoxigraph as ox
from fastapi import HTTPException, Path, status
from pydantic import BaseModel

from cipd_graph.graph import GraphStore

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
