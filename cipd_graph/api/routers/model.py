"""The CIPD model: strands, Table 1 and every element (JSON, or JSON-LD of the SKOS concepts)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel
from rdflib import Graph, URIRef
from rdflib.namespace import SKOS

from cipd_graph._errors import ElementNotFoundError
from cipd_graph._model import Element
from cipd_graph._ontology import CIPD, PREFIXES
from cipd_graph.api.deps import StoreDep
from cipd_graph.api.routers._common import not_found

router = APIRouter(prefix="/model", tags=["model"])

JSONLD = "application/ld+json"


class JsonLdResponse(Response):
    """RDF as JSON-LD."""

    media_type = JSONLD


class ElementPublic(BaseModel):
    """A model element: a SKOS concept of cipd:TapestryModel."""

    iri: str
    curie: str
    label: str
    definition: str
    kind: str
    notation: str | None


class TableRowPublic(BaseModel):
    """A row of Table 1: a social learning dimension and the practice that realises it."""

    dimension: ElementPublic
    practice: ElementPublic


class ModelPublic(BaseModel):
    """The model: version, strands, Table 1 and every element."""

    version: str
    strands: list[ElementPublic]
    table1: list[TableRowPublic]
    elements: list[ElementPublic]


def _public(e: Element) -> ElementPublic:
    return ElementPublic(
        iri=e.iri,
        curie=e.curie,
        label=e.label,
        definition=e.definition,
        kind=e.kind,
        notation=e.notation,
    )


def _jsonld(graph: Graph) -> bytes:
    concepts = Graph()
    for prefix, namespace in PREFIXES.items():
        concepts.bind(prefix, namespace)
    for concept in set(graph.subjects(SKOS.inScheme, CIPD.TapestryModel)):
        if isinstance(concept, URIRef):
            for triple in graph.triples((concept, None, None)):
                concepts.add(triple)
    return concepts.serialize(format="json-ld", encoding="utf-8")


@router.get(
    "",
    response_model=ModelPublic,
    responses={200: {"content": {JSONLD: {}}, "description": "JSON, or JSON-LD when asked for"}},
)
def read_model(
    store: StoreDep,
    accept: Annotated[str, Header()] = "application/json",
    fmt: Annotated[
        Literal["json", "jsonld"] | None,
        Query(
            alias="format", description="jsonld for JSON-LD (or send Accept: application/ld+json)."
        ),
    ] = None,
) -> ModelPublic | Response:
    """Describe the model: strands, Table 1 and every element (JSON-LD on request)."""
    model = store.model
    if fmt == "jsonld" or (fmt is None and JSONLD in accept):
        return JsonLdResponse(_jsonld(model.graph))
    return ModelPublic(
        version=model.version,
        strands=[_public(s) for s in model.strands],
        table1=[
            TableRowPublic(dimension=_public(r.dimension), practice=_public(r.practice))
            for r in model.table1
        ],
        elements=[_public(e) for e in model],
    )


@router.get("/elements/{key:path}", response_model=ElementPublic)
def read_element(
    store: StoreDep,
    key: Annotated[
        str, Path(description="A notation (IPW), CURIE (cipd:LearningAsDoing), local name or IRI.")
    ],
) -> ElementPublic:
    """Find one model element by notation, CURIE, local name or IRI."""
    try:
        return _public(store.model.element(key))
    except ElementNotFoundError as exc:
        raise not_found("model element", key, "GET /model lists them") from exc
