"""The curriculum designer's workbench: a page, and the reads it is built from.

``GET /workbench`` serves the page (``api/static/workbench.*``: no build step, nothing fetched
from elsewhere). It reads institutions, programmes and modules, the model elements with
their definitions and sources, a programme's module x element matrix with its gaps, and
which projects of the institution's partner providers evidence each element; it writes
through the module mapping routes (``/modules/{id}/mappings...``: add, change, remove,
history, undo), each edit checked by SHACL and recorded with PROV-O (:mod:`cipd_graph.edits`).

Partner providers are the service providers that share a partnership with the programme's
institution (``org:hasMember`` of one ``cipd:Partnership``, or ``cipd:partnerOf`` where the
store derives it). A project evidences an element through the strands it evidences
(``cipd:evidencesStrand``, formerly ``cipd:weaves``), the social learning dimensions it
evidences (``cipd:evidencesDimension``), the elements it claims (``cipd:claimsElement``) and
the opportunities or lessons it addresses (``cipd:addresses``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field
from rdflib import URIRef
from rdflib.namespace import DCTERMS, RDFS

from cipd_graph._ontology import PREFIXES
from cipd_graph.analytics._graphs import ordered_elements
from cipd_graph.api.deps import StoreDep, WriterDep
from cipd_graph.api.routers._common import SLUG, Ref, exists, id_path, not_found, select, term
from cipd_graph.edits import STRENGTH_NAME, person_iri, person_is_loaded, warm_up
from cipd_graph.graph import GraphStore

router = APIRouter(prefix="/workbench", tags=["workbench"])

_PAGE = Path(__file__).resolve().parent.parent / "static" / "workbench.html"
#: The page loads scripts and styles from this server only.
_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'"
)
ProgrammeId = Annotated[str, id_path("programme")]
_WEIGHT = {"strong": 3, "moderate": 2, "weak": 1}
#: How a project evidences an element, by the predicate that says so.
_HOW = {
    "https://w3id.org/cipd#evidencesStrand": "evidences the strand",
    "https://w3id.org/cipd#weaves": "evidences the strand",
    "https://w3id.org/cipd#evidencesDimension": "evidences the dimension",
    "https://w3id.org/cipd#claimsElement": "claims it",
    "https://w3id.org/cipd#addresses": "addresses it",
}


# ------------------------------------------------------------------------------ models


class SessionIn(BaseModel):
    """Who signs in to the workbench."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    mapped_by: str = Field(
        pattern=SLUG, description="The designer's local id (people.csv), e.g. nsu-0401."
    )


class SessionPublic(BaseModel):
    """A designer signed in: the local id they gave and the pseudonymous IRI the graph knows."""

    mapped_by: str
    person: str = Field(description="The pseudonymous IRI edits and mappings are recorded with.")


class ModuleBrief(BaseModel):
    """A module, briefly."""

    id: str
    iri: str
    title: str | None
    code: str | None


class ProgrammeBrief(BaseModel):
    """A programme and its modules."""

    id: str
    iri: str
    title: str | None
    modules: list[ModuleBrief]


class InstitutionPublic(BaseModel):
    """An educational institution, its programmes, and its modules in none of them."""

    id: str
    iri: str
    label: str | None
    programmes: list[ProgrammeBrief]
    other_modules: list[ModuleBrief]


class SourcePublic(BaseModel):
    """A work an element cites (the paper, a part of it, or a primary source)."""

    iri: str
    curie: str
    label: str | None
    citation: str | None


class ElementDetail(BaseModel):
    """A model element with what a designer needs to map onto it."""

    iri: str
    curie: str
    notation: str | None
    label: str
    definition: str
    alt_labels: list[str]
    sources: list[SourcePublic]
    broader: list[str]


class ElementKind(BaseModel):
    """The elements of one kind (the four strands, the PDSA stages, ...), in the paper's order."""

    kind: str
    label: str
    elements: list[ElementDetail]


class FrameworkItemPublic(BaseModel):
    """An item of an imported competency framework (a CASE CFItem)."""

    iri: str
    id: str | None
    code: str | None
    label: str | None


class FrameworkPublic(BaseModel):
    """An imported competency framework and its items."""

    iri: str
    id: str | None
    title: str | None
    items: list[FrameworkItemPublic]


class ElementsPublic(BaseModel):
    """What a module can be mapped onto: the model's elements and imported frameworks' items."""

    kinds: list[ElementKind]
    frameworks: list[FrameworkPublic]


class MatrixCell(BaseModel):
    """A module's mapping onto an element."""

    module: str = Field(description="The module id.")
    element: str = Field(description="The element (or framework item) IRI.")
    mapping: str
    strength: str | None
    weight: int = Field(description="3 strong, 2 moderate, 1 weak.")
    justification: str | None
    mapped_by: str | None = Field(description="The pseudonymous IRI of who made the mapping.")


class ProgrammeMatrix(BaseModel):
    """A programme's module x element matrix: its mappings, gaps and overlaps (CQ12, CQ13)."""

    programme: Ref
    institution: Ref | None
    modules: list[ModuleBrief]
    cells: list[MatrixCell]
    gaps: list[str] = Field(description="Model elements no module of the programme maps to.")
    overlaps: dict[str, list[str]] = Field(
        description="Model elements two or more modules map to, with the modules' ids."
    )
    elements: int = Field(description="How many model elements there are.")


class PartnerProject(BaseModel):
    """A project hosted by a partner provider."""

    iri: str
    id: str | None
    label: str | None
    provider: Ref
    linked_modules: list[str] = Field(description="Modules of the programme linked to it.")


class EvidenceLink(BaseModel):
    """A partner project that evidences an element, and how."""

    project: str = Field(description="The project's IRI (see projects).")
    how: list[str]


class PartnerEvidence(BaseModel):
    """Which projects of the programme institution's partner providers evidence each element."""

    programme: Ref
    institution: Ref | None
    partners: list[Ref]
    projects: list[PartnerProject]
    evidence: dict[str, list[EvidenceLink]] = Field(
        description="Element IRI -> the partner projects that evidence it."
    )


# ------------------------------------------------------------------------------ reads


def _ref(iri: str | None, id_: str | None, label: str | None) -> Ref | None:
    return Ref(iri=iri, id=id_, label=label) if iri else None


def _programme(store: GraphStore, programme_id: str) -> tuple[Ref, Ref | None]:
    iri = store.base + "programme/" + programme_id
    if not exists(store, iri, "cipd:Programme"):
        raise not_found("programme", programme_id, "GET /workbench/institutions lists them")
    rows = select(
        store,
        "SELECT ?title ?inst ?instId ?instLabel WHERE { #+ bind "
        "OPTIONAL { ?p rdfs:label ?title } "
        "OPTIONAL { ?p schema:provider ?inst . OPTIONAL { ?inst dcterms:identifier ?instId } "
        "OPTIONAL { ?inst rdfs:label ?instLabel } } }",
        p=iri,
    )
    row = rows[0] if rows else {}
    programme = Ref(iri=iri, id=programme_id, label=row.get("title"))
    return programme, _ref(row.get("inst"), row.get("instId"), row.get("instLabel"))


@router.get("", response_class=HTMLResponse)
def read_workbench(request: Request, store: StoreDep, later: BackgroundTasks) -> HTMLResponse:
    """The curriculum designer's workbench: a page to map a programme's modules (no CDN)."""
    later.add_task(warm_up, store)  # after the answer: the designer's first edit is not slower
    root = request.scope.get("root_path", "")
    data = {
        "root": root,
        "strengths": list(_WEIGHT),
        "imports": [
            {
                "name": "curriculum-inventory",
                "title": "Curriculum Inventory (XML)",
                "accept": ".xml",
            },
            {"name": "case", "title": "1EdTech CASE (JSON)", "accept": ".json"},
        ],
    }
    blob = json.dumps(data).replace("<", "\\u003c")
    html = (
        _PAGE.read_text(encoding="utf-8")
        .replace("{{STATIC}}", f"{root}/static")
        .replace("{{ROOT}}", root)
        .replace("{{PAGE_DATA}}", blob)
    )
    return HTMLResponse(html, headers={"Content-Security-Policy": _POLICY})


@router.post(
    "/session",
    response_model=SessionPublic,
    responses={
        401: {"description": "No or wrong bearer token"},
        403: {"description": "Writes are turned off (no CIPD_API_TOKEN configured)"},
        422: {"description": "No such person is loaded"},
    },
)
def start_session(store: StoreDep, _writer: WriterDep, who: SessionIn) -> SessionPublic:
    """Check a designer's token and person id before they edit (nothing is written)."""
    if not person_is_loaded(store, who.mapped_by):
        raise RequestValidationError(
            [
                {
                    "loc": ("body", "mapped_by"),
                    "msg": f"no person {who.mapped_by!r} is loaded (people.csv lists them)",
                    "type": "value_error",
                }
            ]
        )
    return SessionPublic(mapped_by=who.mapped_by, person=person_iri(store, who.mapped_by))


def _institutions(store: GraphStore) -> dict[str, InstitutionPublic]:
    found: dict[str, InstitutionPublic] = {}
    for row in select(
        store,
        "SELECT ?i ?id ?label WHERE { ?i a cipd:EducationalInstitution . "
        "OPTIONAL { ?i dcterms:identifier ?id } OPTIONAL { ?i rdfs:label ?label } }",
    ):
        iri = row["i"] or ""
        found.setdefault(
            iri,
            InstitutionPublic(
                id=row["id"] or iri.rsplit("/", 1)[-1],
                iri=iri,
                label=row["label"],
                programmes=[],
                other_modules=[],
            ),
        )
    return found


def _programmes(store: GraphStore) -> dict[str, tuple[str | None, ProgrammeBrief]]:
    """Programme IRI -> (its institution's IRI, the programme)."""
    found: dict[str, tuple[str | None, ProgrammeBrief]] = {}
    for row in select(
        store,
        "SELECT ?p ?id ?title ?i WHERE { ?p a cipd:Programme . "
        "OPTIONAL { ?p dcterms:identifier ?id } OPTIONAL { ?p rdfs:label ?title } "
        "OPTIONAL { ?p schema:provider ?i } }",
    ):
        iri = row["p"] or ""
        if iri not in found:
            brief = ProgrammeBrief(
                id=row["id"] or iri.rsplit("/", 1)[-1], iri=iri, title=row["title"], modules=[]
            )
            found[iri] = (row["i"], brief)
    return found


def _modules(store: GraphStore) -> dict[str, tuple[ModuleBrief, str | None, set[str]]]:
    """Module IRI -> (the module, its institution's IRI, its programmes' IRIs)."""
    found: dict[str, tuple[ModuleBrief, str | None, set[str]]] = {}
    for row in select(
        store,
        "SELECT ?m ?id ?title ?code ?i ?p WHERE { ?m a cipd:Module . "
        "OPTIONAL { ?m dcterms:identifier ?id } OPTIONAL { ?m rdfs:label ?title } "
        "OPTIONAL { ?m schema:courseCode ?code } OPTIONAL { ?m schema:provider ?i } "
        "OPTIONAL { ?p schema:hasCourse ?m } }",
    ):
        iri = row["m"] or ""
        if iri not in found:
            brief = ModuleBrief(
                id=row["id"] or iri.rsplit("/", 1)[-1],
                iri=iri,
                title=row["title"],
                code=row["code"],
            )
            found[iri] = (brief, row["i"], set())
        if row["p"]:
            found[iri][2].add(row["p"])
    return found


def _by_title(item: ModuleBrief | ProgrammeBrief) -> tuple[str, str]:
    return ((item.title or item.id).lower(), item.id)


@router.get("/institutions", response_model=list[InstitutionPublic])
def list_institutions(store: StoreDep) -> list[InstitutionPublic]:
    """Educational institutions with their programmes and modules."""
    institutions = _institutions(store)
    programmes = _programmes(store)
    for module, institution, in_programmes in _modules(store).values():
        for p in in_programmes & programmes.keys():
            programmes[p][1].modules.append(module)
        if institution in institutions and not in_programmes & programmes.keys():
            institutions[institution].other_modules.append(module)
    for institution, programme in programmes.values():
        if institution in institutions:
            programme.modules.sort(key=_by_title)
            institutions[institution].programmes.append(programme)
    out = sorted(institutions.values(), key=lambda i: ((i.label or i.id).lower(), i.id))
    for i in out:
        i.programmes.sort(key=_by_title)
        i.other_modules.sort(key=_by_title)
    return out


@router.get("/elements", response_model=ElementsPublic)
def list_elements(store: StoreDep) -> ElementsPublic:
    """The model elements by kind with definitions and sources, and imported frameworks' items."""
    model = store.model
    graph = model.graph
    sources: dict[str, SourcePublic] = {}

    def source(key: str) -> SourcePublic:
        if key not in sources:
            prefix, _, local = key.partition(":")
            iri = PREFIXES[prefix] + local if prefix in PREFIXES and local else key
            label = graph.value(URIRef(iri), RDFS.label) or graph.value(URIRef(iri), DCTERMS.title)
            citation = graph.value(URIRef(iri), DCTERMS.bibliographicCitation)
            sources[key] = SourcePublic(
                iri=iri,
                curie=key,
                label=str(label) if label is not None else None,
                citation=str(citation) if citation is not None else None,
            )
        return sources[key]

    kinds: list[ElementKind] = []
    for ref in ordered_elements(store):
        element = model.elements[ref.iri]
        if not kinds or kinds[-1].kind != ref.kind:
            kinds.append(ElementKind(kind=ref.kind, label=ref.kind_label, elements=[]))
        kinds[-1].elements.append(
            ElementDetail(
                iri=element.iri,
                curie=element.curie,
                notation=element.notation,
                label=element.label,
                definition=element.definition,
                alt_labels=list(element.alt_labels),
                sources=[source(s) for s in element.sources],
                broader=list(element.broader),
            )
        )
    frameworks: dict[str, FrameworkPublic] = {}
    for row in select(
        store,
        "SELECT ?f ?fid ?ftitle ?item ?id ?code ?label WHERE { ?item a cipd:FrameworkItem ; "
        "skos:inScheme ?f . OPTIONAL { ?f dcterms:identifier ?fid } "
        "OPTIONAL { ?f skos:prefLabel ?ftitle } OPTIONAL { ?item dcterms:identifier ?id } "
        "OPTIONAL { ?item skos:notation ?code } OPTIONAL { ?item skos:prefLabel ?label } }",
    ):
        f = row["f"] or ""
        framework = frameworks.setdefault(
            f, FrameworkPublic(iri=f, id=row["fid"], title=row["ftitle"], items=[])
        )
        if not any(i.iri == row["item"] for i in framework.items):
            framework.items.append(
                FrameworkItemPublic(
                    iri=row["item"] or "", id=row["id"], code=row["code"], label=row["label"]
                )
            )
    for framework in frameworks.values():
        framework.items.sort(key=lambda i: (i.code or "", i.label or "", i.iri))
    return ElementsPublic(
        kinds=kinds,
        frameworks=sorted(frameworks.values(), key=lambda f: ((f.title or "").lower(), f.iri)),
    )


@router.get("/programmes/{programme_id}/matrix", response_model=ProgrammeMatrix)
def read_programme_matrix(store: StoreDep, programme_id: ProgrammeId) -> ProgrammeMatrix:
    """A programme's modules x elements: every mapping, the gaps and the overlaps."""
    programme, institution = _programme(store, programme_id)
    rows = select(
        store,
        "SELECT ?m ?id ?title ?code ?map ?e ?s ?j ?by WHERE { #+ bind ?p schema:hasCourse ?m . "
        "OPTIONAL { ?m dcterms:identifier ?id } OPTIONAL { ?m rdfs:label ?title } "
        "OPTIONAL { ?m schema:courseCode ?code } "
        "OPTIONAL { ?m cipd:hasMapping ?map . ?map cipd:mapsToElement ?e . "
        "OPTIONAL { ?map cipd:mappingStrength ?s } OPTIONAL { ?map cipd:justification ?j } "
        "OPTIONAL { ?map prov:wasAttributedTo ?by } } }",
        p=programme.iri,
    )
    modules: dict[str, ModuleBrief] = {}
    cells: dict[tuple[str, str], MatrixCell] = {}
    for row in rows:
        iri = row["m"] or ""
        module = modules.setdefault(
            iri,
            ModuleBrief(
                id=row["id"] or iri.rsplit("/", 1)[-1],
                iri=iri,
                title=row["title"],
                code=row["code"],
            ),
        )
        if not row["map"] or not row["e"]:
            continue
        strength = STRENGTH_NAME.get(row["s"] or "")
        key = (module.id, row["e"])
        cell = MatrixCell(
            module=module.id,
            element=row["e"],
            mapping=row["map"],
            strength=strength,
            weight=_WEIGHT.get(strength or "", 0),
            justification=row["j"],
            mapped_by=row["by"],
        )
        if key not in cells or cell.weight > cells[key].weight:
            cells[key] = cell
    ordered = sorted(modules.values(), key=lambda m: ((m.title or m.id).lower(), m.id))
    by_element: dict[str, list[str]] = {}
    for module_id, element in sorted(cells):
        by_element.setdefault(element, []).append(module_id)
    model = store.model.elements
    return ProgrammeMatrix(
        programme=programme,
        institution=institution,
        modules=ordered,
        cells=sorted(cells.values(), key=lambda c: (c.module, c.element)),
        gaps=[ref.iri for ref in ordered_elements(store) if ref.iri not in by_element],
        overlaps={e: m for e, m in by_element.items() if len(m) >= 2 and e in model},
        elements=len(model),
    )


@router.get("/programmes/{programme_id}/evidence", response_model=PartnerEvidence)
def read_partner_evidence(store: StoreDep, programme_id: ProgrammeId) -> PartnerEvidence:
    """Which projects of the institution's partner providers evidence each element, and how."""
    programme, institution = _programme(store, programme_id)
    if institution is None:
        return PartnerEvidence(
            programme=programme, institution=None, partners=[], projects=[], evidence={}
        )
    partners: dict[str, Ref] = {}
    for row in select(
        store,
        "SELECT DISTINCT ?o ?id ?label WHERE { #+ bind "
        "{ ?i cipd:partnerOf ?o } UNION { ?ps a cipd:Partnership ; org:hasMember ?i , ?o } "
        "?o a cipd:ServiceProvider . "
        "OPTIONAL { ?o dcterms:identifier ?id } OPTIONAL { ?o rdfs:label ?label } }",
        i=institution.iri,
    ):
        iri = row["o"] or ""
        partners.setdefault(iri, Ref(iri=iri, id=row["id"], label=row["label"]))
    projects: dict[str, PartnerProject] = {}
    evidence: dict[str, dict[str, list[str]]] = {}
    if partners:
        values = " ".join(term(iri) for iri in sorted(partners))
        rows = select(
            store,
            f"SELECT ?p ?id ?label ?o ?pred ?e WHERE {{ VALUES ?o {{ {values} }} "
            "?p cipd:hostedBy ?o ; a cipd:ImprovementProject . "
            "OPTIONAL { ?p dcterms:identifier ?id } OPTIONAL { ?p rdfs:label ?label } "
            "OPTIONAL { "
            "{ ?p cipd:evidencesStrand ?e BIND(cipd:evidencesStrand AS ?pred) } UNION "
            "{ ?p cipd:weaves ?e BIND(cipd:weaves AS ?pred) } UNION "
            "{ ?p cipd:evidencesDimension ?e BIND(cipd:evidencesDimension AS ?pred) } UNION "
            "{ ?p cipd:claimsElement ?e BIND(cipd:claimsElement AS ?pred) } UNION "
            "{ ?p cipd:addresses ?e BIND(cipd:addresses AS ?pred) } } }",
        )
        for row in rows:
            iri = row["p"] or ""
            if iri not in projects:
                projects[iri] = PartnerProject(
                    iri=iri,
                    id=row["id"],
                    label=row["label"],
                    provider=partners[row["o"] or ""],
                    linked_modules=[],
                )
            if row["e"] and row["pred"]:
                how = evidence.setdefault(row["e"], {}).setdefault(iri, [])
                if _HOW[row["pred"]] not in how:
                    how.append(_HOW[row["pred"]])
        if projects:
            for row in select(
                store,
                "SELECT ?p ?mid WHERE { #+ bind ?prog schema:hasCourse ?m . "
                "?m cipd:linkedToProject ?p ; dcterms:identifier ?mid }",
                prog=programme.iri,
            ):
                project = projects.get(row["p"] or "")
                if project is not None and row["mid"] and row["mid"] not in project.linked_modules:
                    project.linked_modules.append(row["mid"])
    return PartnerEvidence(
        programme=programme,
        institution=institution,
        partners=sorted(partners.values(), key=lambda r: ((r.label or "").lower(), r.iri)),
        projects=sorted(projects.values(), key=lambda p: ((p.label or "").lower(), p.iri)),
        evidence={
            element: [EvidenceLink(project=p, how=how) for p, how in sorted(found.items())]
            for element, found in sorted(evidence.items())
        },
    )
