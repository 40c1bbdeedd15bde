"""Improvement projects: a list, one project with what it evidences, and its practice-to-learning links."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from cipd_graph import analytics
from cipd_graph._pages import Paging
from cipd_graph.api.deps import StoreDep
from cipd_graph.api.routers._common import (
    CursorParam,
    ElementRef,
    PageSize,
    ProjectId,
    Ref,
    element_ref,
    not_found,
    paged_select,
    select,
)
from cipd_graph.graph import GraphStore

router = APIRouter(prefix="/projects", tags=["projects"])

CIPD = "https://w3id.org/cipd#"

_LIST = """
SELECT ?project ?id ?title ?start ?end ?org ?orgId ?orgLabel WHERE {
  #+ bind
  ?project a cipd:ImprovementProject ; dcterms:identifier ?id ; dcterms:title ?title .
  OPTIONAL { ?project schema:startDate ?start }
  OPTIONAL { ?project schema:endDate ?end }
  OPTIONAL { ?project cipd:hostedBy ?org .
             OPTIONAL { ?org dcterms:identifier ?orgId } OPTIONAL { ?org rdfs:label ?orgLabel } }
} ORDER BY ?id
"""
#: Pages of projects walk every project in the store's order (see ``cipd_graph._pages``).
_PAGING = Paging.parse("?project", "?project a cipd:ImprovementProject .")


class ProjectSummary(BaseModel):
    """A project, briefly."""

    id: str
    iri: str
    title: str
    start: str | None
    end: str | None
    host: Ref | None


class ProjectPublic(ProjectSummary):
    """A project with its aim, the strands and dimensions its records evidence, its weaving level and what it holds."""

    aim: str | None
    strands: list[ElementRef]
    dimensions: list[ElementRef]
    #: 'interwoven', 'all strands evidenced' or 'some strands evidenced'
    weaving_level: str
    cycles: int
    team_members: int


def _summaries(store: GraphStore, **iris: str) -> list[ProjectSummary]:
    return _summaries_of(select(store, _LIST, **iris))


def _summaries_of(rows: list[dict[str, str | None]]) -> list[ProjectSummary]:
    seen: dict[str, ProjectSummary] = {}
    for row in rows:
        iri = row["project"] or ""
        if iri in seen:  # a second title or host: keep the first, in query order
            continue
        host = Ref(iri=row["org"], id=row["orgId"], label=row["orgLabel"]) if row["org"] else None
        seen[iri] = ProjectSummary(
            id=row["id"] or "",
            iri=iri,
            title=row["title"] or "",
            start=row["start"],
            end=row["end"],
            host=host,
        )
    return list(seen.values())


@router.get("", response_model=list[ProjectSummary])
def list_projects(
    store: StoreDep,
    request: Request,
    response: Response,
    page_size: PageSize = None,
    cursor: CursorParam = None,
) -> list[ProjectSummary]:
    """List the projects: id, title, dates and host organisation (by id; a page at a time in
    the store's order, the next page in the Link header)."""
    if page_size is None and cursor is None:
        return _summaries(store)
    rows = paged_select(
        store,
        "projects",
        _LIST,
        _PAGING,
        page_size=page_size,
        cursor=cursor,
        request=request,
        response=response,
    )
    return _summaries_of(rows)


@router.get("/{project_id}", response_model=ProjectPublic)
def read_project(store: StoreDep, project_id: ProjectId) -> ProjectPublic:
    """Describe one project: aim, dates, strands and dimensions evidenced, weaving level and counts."""
    iri = store.base + "project/" + project_id
    found = _summaries(store, project=iri)
    if not found:
        raise not_found("project", project_id, "GET /projects lists them")
    aims = select(
        store,
        "SELECT ?aim WHERE { #+ bind ?project cipd:hasAim/dcterms:description ?aim }",
        project=iri,
    )
    strands = select(
        store, "SELECT DISTINCT ?e WHERE { #+ bind ?project cipd:evidencesStrand ?e }", project=iri
    )
    dims = select(
        store,
        "SELECT DISTINCT ?e WHERE { #+ bind ?project cipd:evidencesDimension ?e }",
        project=iri,
    )
    levels = select(
        store,
        "SELECT ?level WHERE { #+ bind ?project a ?level . "
        "VALUES ?level { cipd:InterwovenProject cipd:AllStrandsEvidencedProject } }",
        project=iri,
    )
    found_levels = {r["level"] for r in levels}
    level = (
        "interwoven"
        if CIPD + "InterwovenProject" in found_levels
        else "all strands evidenced"
        if CIPD + "AllStrandsEvidencedProject" in found_levels
        else "some strands evidenced"
    )
    counts = select(
        store,
        "SELECT (COUNT(DISTINCT ?cycle) AS ?cycles) (COUNT(DISTINCT ?person) AS ?members) WHERE { "
        "#+ bind { ?project cipd:hasCycle ?cycle } UNION { ?project cipd:hasTeam/org:hasMember ?person } }",
        project=iri,
    )[0]
    model = store.model

    def refs(rows: list[dict[str, str | None]]) -> list[ElementRef]:
        iris = [r["e"] for r in rows if r["e"]]
        order = {e.iri: i for i, e in enumerate(model)}
        return [
            element_ref(store, e) for e in sorted(iris, key=lambda e: (order.get(e, 10_000), e))
        ]

    return ProjectPublic(
        **found[0].model_dump(),
        aim=aims[0]["aim"] if aims else None,
        strands=refs(strands),
        dimensions=refs(dims),
        weaving_level=level,
        cycles=int(counts["cycles"] or 0),
        team_members=int(counts["members"] or 0),
    )


@router.get("/{project_id}/learning-links", response_model=analytics.LearningLinks)
def read_project_learning_links(store: StoreDep, project_id: ProjectId) -> analytics.LearningLinks:
    """The practice-to-learning links of one project and its PDSA cycles, strongest first, each with its kind, strength, records and why (CQ5)."""
    iri = store.base + "project/" + project_id
    found = _summaries(store, project=iri)
    if not found:
        raise not_found("project", project_id, "GET /projects lists them")
    scope = analytics.Scope("project", iri, project_id, found[0].title)
    return analytics.learning_links(store, scope)
