"""Modules of educational programmes, and their mappings onto the model elements."""

from __future__ import annotations

from typing import Annotated

import pyoxigraph as ox
from fastapi import APIRouter, Body, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import PROV, RDF

from cipd_graph._errors import ElementNotFoundError
from cipd_graph._ontology import CIPD
from cipd_graph._pages import Paging
from cipd_graph._rdf import oxigraph_triples
from cipd_graph.api.deps import StoreDep, WriterDep
from cipd_graph.api.routers._common import (
    SLUG,
    CursorParam,
    ElementRef,
    ModuleId,
    PageSize,
    Ref,
    element_ref,
    exists,
    not_found,
    paged_select,
    select,
    term,
)
from cipd_graph.graph import GraphStore
from cipd_graph.mapping.mapper import STRENGTH
from cipd_graph.records.parse import MappingRow, Strength

router = APIRouter(prefix="/modules", tags=["modules"])

_STRENGTH_NAME = {str(iri): strength.value for strength, iri in STRENGTH.items()}

_LIST = """
SELECT ?module ?id ?title ?code ?credits ?inst ?instId ?instLabel WHERE {
  #+ bind
  ?module a cipd:Module ; dcterms:identifier ?id .
  OPTIONAL { ?module rdfs:label ?title }
  OPTIONAL { ?module schema:courseCode ?code }
  OPTIONAL { ?module schema:numberOfCredits ?credits }
  # the educational institution: a co-delivered module has other providers too
  OPTIONAL { ?module schema:provider ?inst . ?inst a cipd:EducationalInstitution .
             OPTIONAL { ?inst dcterms:identifier ?instId } OPTIONAL { ?inst rdfs:label ?instLabel } }
} ORDER BY ?id
"""
#: Pages of modules walk every module in the store's order (see ``cipd_graph._pages``).
_PAGING = Paging.parse("?module", "?module a cipd:Module .")

_MAPPINGS = """
SELECT ?mapping ?element ?strength ?justification ?by WHERE {
  #+ bind
  ?mapping cipd:mapsModule ?module ; cipd:mapsToElement ?element .
  OPTIONAL { ?mapping cipd:mappingStrength ?strength }
  OPTIONAL { ?mapping cipd:justification ?justification }
  OPTIONAL { ?mapping prov:wasAttributedTo ?by }
} ORDER BY ?element
"""


class ModuleSummary(BaseModel):
    """A module, briefly."""

    id: str
    iri: str
    title: str | None
    code: str | None
    credits: int | None
    institution: Ref | None


class ModulePublic(ModuleSummary):
    """A module with its programmes, linked projects and number of mappings."""

    programmes: list[Ref]
    linked_projects: list[Ref]
    mappings: int


class MappingPublic(BaseModel):
    """A mapping of a module onto a model element."""

    iri: str
    element: ElementRef
    strength: str | None
    justification: str | None
    mapped_by: str | None = Field(description="The pseudonymous IRI of who made the mapping.")


class MappingIn(BaseModel):
    """A mapping to store: the columns of mappings.csv without the module."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    element: str = Field(
        min_length=1, description="A model element: notation, CURIE, local name or IRI."
    )
    strength: Strength
    justification: str = Field(
        min_length=15, description="Why the module addresses the element (15 characters or more)."
    )
    mapped_by: str = Field(
        pattern=SLUG, description="The local id of who made the mapping (people.csv)."
    )


def _modules(store: GraphStore, **iris: str) -> list[ModuleSummary]:
    return _modules_of(select(store, _LIST, **iris))


def _modules_of(rows: list[dict[str, str | None]]) -> list[ModuleSummary]:
    seen: dict[str, ModuleSummary] = {}
    for row in rows:
        iri = row["module"] or ""
        if iri in seen:
            continue
        inst = (
            Ref(iri=row["inst"], id=row["instId"], label=row["instLabel"]) if row["inst"] else None
        )
        credits = row["credits"]
        seen[iri] = ModuleSummary(
            id=row["id"] or "",
            iri=iri,
            title=row["title"],
            code=row["code"],
            credits=int(credits) if credits and credits.lstrip("+-").isdigit() else None,
            institution=inst,
        )
    return list(seen.values())


def _module_iri(store: GraphStore, module_id: str) -> str:
    iri = store.base + "module/" + module_id
    if not exists(store, iri, "cipd:Module"):
        raise not_found("module", module_id, "GET /modules lists them")
    return iri


def _mappings(store: GraphStore, module: str) -> list[MappingPublic]:
    seen: dict[str, MappingPublic] = {}
    for row in select(store, _MAPPINGS, module=module):
        iri = row["mapping"] or ""
        if iri in seen:
            continue
        seen[iri] = MappingPublic(
            iri=iri,
            element=element_ref(store, row["element"] or ""),
            strength=_STRENGTH_NAME.get(row["strength"] or "", row["strength"]),
            justification=row["justification"],
            mapped_by=row["by"],
        )
    return sorted(seen.values(), key=lambda m: (m.element.label, m.iri))


@router.get("", response_model=list[ModuleSummary])
def list_modules(
    store: StoreDep,
    request: Request,
    response: Response,
    page_size: PageSize = None,
    cursor: CursorParam = None,
) -> list[ModuleSummary]:
    """List the modules: id, title, code, credits and institution (by id; a page at a time in
    the store's order, the next page in the Link header)."""
    if page_size is None and cursor is None:
        return _modules(store)
    rows = paged_select(
        store,
        "modules",
        _LIST,
        _PAGING,
        page_size=page_size,
        cursor=cursor,
        request=request,
        response=response,
    )
    return _modules_of(rows)


@router.get("/{module_id}", response_model=ModulePublic)
def read_module(store: StoreDep, module_id: ModuleId) -> ModulePublic:
    """Describe one module: its programmes, linked projects and number of mappings."""
    iri = _module_iri(store, module_id)
    found = _modules(store, module=iri)
    if not found:
        raise not_found("module", module_id, "GET /modules lists them")

    def refs(query: str) -> list[Ref]:
        rows = select(store, query, module=iri)
        return [Ref(iri=r["x"] or "", id=r["id"], label=r["label"]) for r in rows]

    tail = "OPTIONAL { ?x dcterms:identifier ?id } OPTIONAL { ?x rdfs:label ?label } } ORDER BY ?x"
    return ModulePublic(
        **found[0].model_dump(),
        programmes=refs(
            "SELECT DISTINCT ?x ?id ?label WHERE { #+ bind ?x schema:hasCourse ?module " + tail
        ),
        linked_projects=refs(
            "SELECT DISTINCT ?x ?id ?label WHERE { #+ bind ?module cipd:linkedToProject ?x " + tail
        ),
        mappings=len(_mappings(store, iri)),
    )


@router.get("/{module_id}/mappings", response_model=list[MappingPublic])
def list_module_mappings(store: StoreDep, module_id: ModuleId) -> list[MappingPublic]:
    """List the model elements a module is mapped onto, with strength and justification."""
    return _mappings(store, _module_iri(store, module_id))


def _problem(index: int, field: str, message: str) -> dict[str, object]:
    return {"loc": ("body", index, field), "msg": message, "type": "value_error"}


@router.put("/{module_id}/mappings", response_model=list[MappingPublic])
def replace_module_mappings(
    store: StoreDep,
    _writer: WriterDep,
    module_id: ModuleId,
    mappings: Annotated[
        list[MappingIn], Body(description="The module's new mappings (all of them).")
    ],
) -> list[MappingPublic]:
    """Replace all of a module's mappings (from any graph) with these, in one transaction."""
    module = _module_iri(store, module_id)
    problems: list[dict[str, object]] = []
    graph = Graph()
    targets: dict[str, int] = {}
    for i, item in enumerate(mappings):
        try:
            row = MappingRow(module=module_id, **item.model_dump(mode="json"))
        except ValidationError as exc:
            problems += [_problem(i, str(e["loc"][0]), e["msg"]) for e in exc.errors()]
            continue
        try:
            element = URIRef(store.model.element(row.element).iri)
        except ElementNotFoundError as exc:
            problems.append(_problem(i, "element", str(exc)))
            continue
        if str(element) in targets:
            problems.append(
                _problem(
                    i,
                    "element",
                    f"maps the element {row.element!r} again (item {targets[str(element)]})",
                )
            )
            continue
        targets[str(element)] = i
        person = URIRef(store.base + "person/" + store.pseudonymiser(row.mapped_by))
        if not exists(store, str(person), "<http://xmlns.com/foaf/0.1/Person>"):
            problems.append(
                _problem(
                    i, "mapped_by", f"no person {row.mapped_by!r} is loaded (people.csv lists them)"
                )
            )
            continue
        local = str(element).rsplit("#", 1)[-1].rsplit("/", 1)[-1]
        node = URIRef(f"{module}/mapping/{local}")
        graph.add((node, RDF.type, CIPD.ModuleMapping))
        graph.add((URIRef(module), CIPD.hasMapping, node))
        graph.add((node, CIPD.mapsModule, URIRef(module)))
        graph.add((node, CIPD.mapsToElement, element))
        graph.add((node, CIPD.mappingStrength, STRENGTH[row.strength]))
        graph.add((node, CIPD.justification, Literal(row.justification)))
        graph.add((node, PROV.wasAttributedTo, person))
    if problems:
        raise RequestValidationError(problems)
    target = f"{store.base}graph/api/module-mappings/{module_id}"
    m = term(module)
    # The module's mappings wherever they were stated (a loaded mappings.csv, an earlier
    # edit): their triples leave those graphs, and the new ones replace this edit's graph.
    rows = store.select(
        f"SELECT DISTINCT ?g ?s ?p ?o WHERE {{ {{ GRAPH ?h {{ ?s <{CIPD.mapsModule}> {m} }} "
        f"GRAPH ?g {{ ?s ?p ?o }} }} UNION {{ GRAPH ?g {{ {m} <{CIPD.hasMapping}> ?o }} "
        f"BIND({m} AS ?s) BIND(<{CIPD.hasMapping}> AS ?p) }} }}"
    )
    remove: dict[str, list[ox.Triple]] = {}
    for found in rows:
        held_in = found["g"].value
        if held_in != target and store.layout.is_record(held_in):
            remove.setdefault(held_in, []).append(ox.Triple(found["s"], found["p"], found["o"]))
    store.edit(replace={target: oxigraph_triples(graph)}, remove=remove)
    return _mappings(store, module)
