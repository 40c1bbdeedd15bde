"""Modules of educational programmes, and their mappings onto the model elements."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Body, HTTPException, Path, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cipd_graph._pages import Paging
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
)
from cipd_graph.edits import (
    Edit,
    EditConflictError,
    MappingNotFoundError,
    MappingRefusedError,
    MappingState,
    ModuleMappings,
    Problem,
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


# ----------------------------------------------------------------------------- writes

PersonId = Annotated[
    str,
    Field(
        pattern=SLUG,
        description="The local id (people.csv) of the person making the edit; stored "
        "pseudonymously as who made the mapping and who made the edit (PROV-O).",
    ),
]
Justification = Annotated[
    str,
    Field(
        min_length=1,
        max_length=4000,
        description="Why the module addresses the element (the shapes ask for 15 characters "
        "or more).",
    ),
]
ElementKey = Annotated[
    str,
    Field(
        min_length=1,
        max_length=500,
        description="A model element or imported framework item: notation (SI), CURIE "
        "(cipd:LearningAsDoing), local name, IRI, or a framework item's identifier or code.",
    ),
]


class MappingIn(BaseModel):
    """A mapping to store: the columns of mappings.csv without the module."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    element: ElementKey
    strength: Strength
    justification: Justification
    mapped_by: PersonId


class MappingCreate(BaseModel):
    """A mapping to add to a module."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    element: ElementKey
    strength: Strength
    justification: Justification
    mapped_by: PersonId


class MappingUpdate(BaseModel):
    """What to change in a mapping: its strength, its justification or both."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    strength: Strength | None = None
    justification: Justification | None = None
    mapped_by: PersonId


class EditorIn(BaseModel):
    """Who makes an edit that carries no mapping (an undo)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    mapped_by: PersonId


class MappingStatePublic(BaseModel):
    """A mapping as an edit found it or left it."""

    iri: str
    element: ElementRef
    strength: str | None
    justification: str | None
    mapped_by: str | None = Field(description="The pseudonymous IRI of who made the mapping.")


class EditPublic(BaseModel):
    """One recorded edit of a module's mappings (a prov:Activity of the module's provenance)."""

    number: int = Field(description="The edit's place in the module's history, from 1.")
    iri: str
    action: Literal["add", "change", "remove", "replace", "undo"]
    summary: str
    at: str = Field(description="When the edit started (xsd:dateTime, UTC).")
    by: str | None = Field(description="The pseudonymous IRI of who made the edit.")
    undoes: int | None = Field(description="The edit an undo took back.")
    undone_by: int | None = Field(default=None, description="The undo that took this edit back.")
    before: list[MappingStatePublic]
    after: list[MappingStatePublic]


class MappingEditPublic(BaseModel):
    """An edit that was written, and the module's mappings after it."""

    edit: EditPublic
    mappings: list[MappingPublic]


T = TypeVar("T")
_WRITE_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {"description": "No or wrong bearer token"},
    403: {"description": "Writes are turned off (no CIPD_API_TOKEN configured)"},
    404: {"description": "No such module (or no mapping to that element)"},
    409: {"description": "The edit does not fit the module's present state"},
    422: {"description": "Refused by validation (SHACL), each problem naming its field"},
}


def _public_state(store: GraphStore, state: MappingState) -> MappingStatePublic:
    return MappingStatePublic(
        iri=state.iri,
        element=element_ref(store, state.element),
        strength=STRENGTH_NAME.get(state.strength or "", state.strength),
        justification=state.justification,
        mapped_by=state.by,
    )


def edit_public(store: GraphStore, edit: Edit) -> EditPublic:
    """An edit as the API shows it."""
    return EditPublic(
        number=edit.number,
        iri=edit.iri,
        action=edit.action,  # type: ignore[arg-type]
        summary=edit.summary,
        at=edit.at,
        by=edit.by,
        undoes=edit.undoes,
        undone_by=edit.undone_by,
        before=[_public_state(store, s) for s in edit.before],
        after=[_public_state(store, s) for s in edit.after],
    )


def _run(work: Callable[[], T], where: Callable[[Problem], tuple[str | int, ...]]) -> T:
    """Run an edit, turning its refusals into 404, 409 and 422 answers."""
    try:
        return work()
    except MappingNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except EditConflictError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except MappingRefusedError as exc:
        raise RequestValidationError(
            [{"loc": where(p), "msg": p.message, "type": "value_error"} for p in exc.problems]
        ) from exc


def _in_body(problem: Problem) -> tuple[str | int, ...]:
    if problem.index is None:
        return ("body", problem.field)
    return ("body", problem.index, problem.field)


def _written(store: GraphStore, edits: ModuleMappings, edit: Edit) -> MappingEditPublic:
    return MappingEditPublic(edit=edit_public(store, edit), mappings=_mappings(store, edits.module))


def _edits(store: GraphStore, module_id: str) -> ModuleMappings:
    _module_iri(store, module_id)  # 404 for an unknown module
    return ModuleMappings(store, module_id)


STRENGTH_NAME = _STRENGTH_NAME

ElementPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=500,
        description="The element the mapping points at: notation, CURIE, local name or IRI "
        "(URL-encoded), or a framework item's identifier or code.",
    ),
]


@router.put("/{module_id}/mappings", response_model=list[MappingPublic], responses=_WRITE_RESPONSES)
def replace_module_mappings(
    store: StoreDep,
    _writer: WriterDep,
    module_id: ModuleId,
    mappings: Annotated[
        list[MappingIn], Body(description="The module's new mappings (all of them).")
    ],
) -> list[MappingPublic]:
    """Replace all of a module's mappings (from any graph) with these, in one recorded edit."""
    edits = _edits(store, module_id)
    rows: list[MappingRow] = []
    problems: list[dict[str, object]] = []
    for i, item in enumerate(mappings):
        try:
            rows.append(MappingRow(module=module_id, **item.model_dump(mode="json")))
        except ValidationError as exc:
            problems += [
                {"loc": ("body", i, str(e["loc"][0])), "msg": e["msg"], "type": "value_error"}
                for e in exc.errors()
            ]
    if problems:
        raise RequestValidationError(problems)
    _run(lambda: edits.replace(rows), _in_body)
    return _mappings(store, edits.module)


@router.post(
    "/{module_id}/mappings",
    response_model=MappingEditPublic,
    status_code=status.HTTP_201_CREATED,
    responses=_WRITE_RESPONSES,
)
def add_module_mapping(
    store: StoreDep, _writer: WriterDep, module_id: ModuleId, mapping: MappingCreate
) -> MappingEditPublic:
    """Map a module onto one more element (409 if it is mapped to it already)."""
    edits = _edits(store, module_id)
    edit = _run(
        lambda: edits.add(
            mapping.element, mapping.strength, mapping.justification, mapping.mapped_by
        ),
        _in_body,
    )
    return _written(store, edits, edit)


@router.patch(
    "/{module_id}/mappings/{element:path}",
    response_model=MappingEditPublic,
    responses=_WRITE_RESPONSES,
)
def change_module_mapping(
    store: StoreDep,
    _writer: WriterDep,
    module_id: ModuleId,
    element: ElementPath,
    change: MappingUpdate,
) -> MappingEditPublic:
    """Change the strength or justification of one of a module's mappings."""
    if change.strength is None and change.justification is None:
        raise RequestValidationError(
            [
                {
                    "loc": ("body", "strength"),
                    "msg": "give a new strength, a new justification or both",
                    "type": "value_error",
                }
            ]
        )
    edits = _edits(store, module_id)
    edit = _run(
        lambda: edits.change(element, change.mapped_by, change.strength, change.justification),
        _in_body,
    )
    return _written(store, edits, edit)


@router.delete(
    "/{module_id}/mappings/{element:path}",
    response_model=MappingEditPublic,
    responses=_WRITE_RESPONSES,
)
def remove_module_mapping(
    store: StoreDep,
    _writer: WriterDep,
    module_id: ModuleId,
    element: ElementPath,
    mapped_by: Annotated[
        str, Query(pattern=SLUG, description="The local id (people.csv) of who removes it.")
    ],
) -> MappingEditPublic:
    """Remove one of a module's mappings."""
    edits = _edits(store, module_id)
    edit = _run(lambda: edits.remove(element, mapped_by), lambda p: ("query", p.field))
    return _written(store, edits, edit)


@router.get("/{module_id}/mappings/history", response_model=list[EditPublic])
def list_mapping_edits(
    store: StoreDep,
    module_id: ModuleId,
    limit: Annotated[int, Query(ge=1, le=500, description="The latest edits only.")] = 50,
) -> list[EditPublic]:
    """The edits of a module's mappings made through the API, the latest first."""
    edits = _edits(store, module_id)
    return [edit_public(store, e) for e in edits.history(limit)]


@router.post(
    "/{module_id}/mappings/undo", response_model=MappingEditPublic, responses=_WRITE_RESPONSES
)
def undo_mapping_edit(
    store: StoreDep, _writer: WriterDep, module_id: ModuleId, editor: EditorIn
) -> MappingEditPublic:
    """Put a module's mappings back as they were before its latest edit not yet undone."""
    edits = _edits(store, module_id)
    edit = _run(lambda: edits.undo(editor.mapped_by), _in_body)
    return _written(store, edits, edit)
