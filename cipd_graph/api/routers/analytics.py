"""Analytics: tapestry coverage, the module matrix, collaboration, practice-to-learning links,
paths, figures, a dashboard.

A thin layer over :mod:`cipd_graph.analytics`. A scope is ``all``, ``kind:id`` (``project``,
``team``, ``organisation`` or ``programme``), an IRI or a bare id; an unknown one is a 404,
a malformed or ambiguous one a 400.

Answers are kept for the store's version (:mod:`cipd_graph.api.cache`), and so are refusals
(a figure too wide to draw): the scope ``all`` reads every project and person, seconds to
minutes on a large store. What the dashboard shows first for it is computed again in the
background after each write; a request with ``Cache-Control: max-stale`` (the dashboard's)
gets the answer from before the write meanwhile, with the version it describes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, HTTPException, Query, Response, status
from fastapi.responses import HTMLResponse

from cipd_graph import analytics
from cipd_graph.api.cache import AnswerCache
from cipd_graph.api.deps import AnswersDep, StoreDep
from cipd_graph.api.routers._common import ListPagesDep
from cipd_graph.graph import GraphStore

router = APIRouter(prefix="/analytics", tags=["analytics"])

_DASHBOARD = Path(__file__).resolve().parent.parent / "dashboard.html"

ScopeParam = Annotated[
    str,
    Query(
        max_length=300,
        description="all, kind:id (project:ward7-falls, team:..., organisation:..., "
        "programme:...), an IRI or an id.",
    ),
]
T = TypeVar("T")


def _answer(work: Callable[[], T]) -> T:
    """Run ``work``, turning unknown scopes into 404 and bad ones into 400."""
    try:
        return work()
    except analytics.NotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except analytics.AnalyticsError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc


def _scope(store: GraphStore, text: str) -> analytics.Scope:
    return _answer(lambda: analytics.resolve_scope(store, text))


def _figure(store: GraphStore, scope: analytics.Scope, name: str, fmt: str) -> bytes:
    drawing = analytics.draw_figure(store, scope, name)
    return drawing.png() if fmt == "png" else drawing.svg().encode("utf-8")


def warm(cache: AnswerCache, store: GraphStore) -> None:
    """Compute again after each write what the dashboard asks first: the scopes, and the
    scope ``all``'s coverage, matrix, tapestry, collaboration, network and practice-to-learning
    links (cheap first)."""
    every = analytics.ALL
    cache.warm(("scopes",), lambda: analytics.list_scopes(store), list[analytics.Scope])
    cache.warm(
        ("coverage", every.key), lambda: analytics.coverage(store, every), analytics.Coverage
    )
    cache.warm(
        ("matrix", every.key), lambda: analytics.module_matrix(store, every), analytics.ModuleMatrix
    )
    cache.warm(
        ("figure", "tapestry", "svg", every.key),
        lambda: _figure(store, every, "tapestry", "svg"),
        bytes,
    )
    cache.warm(
        ("collaboration", every.key),
        lambda: analytics.collaboration(store, every),
        analytics.Collaboration,
    )
    cache.warm(
        ("figure", "network", "svg", every.key),
        lambda: _figure(store, every, "network", "svg"),
        bytes,
    )
    cache.warm(
        ("learning-links", every.key),
        lambda: analytics.learning_links(store, every),
        analytics.LearningLinks,
    )


@router.get("/scopes", response_model=list[analytics.Scope])
def list_scopes(store: StoreDep, answers: AnswersDep, pages: ListPagesDep) -> list[analytics.Scope]:
    """List the scopes analytics can look at: all, projects, teams, organisations, programmes (by kind, then label; with `page_size`, a page at a time, the next one named by the `Link` and `X-Next-Cursor` headers, the number of scopes by `X-Total-Count`)."""
    scopes = answers.get(("scopes",), lambda: analytics.list_scopes(store))
    return list(pages.of(scopes, analytics.scope_order, "scopes"))


@router.get("/coverage", response_model=analytics.Coverage)
def read_coverage(
    store: StoreDep, answers: AnswersDep, scope: ScopeParam = "all"
) -> analytics.Coverage:
    """Which strands and social learning dimensions a scope evidences, and how widely (CQ1, CQ2, CQ11)."""
    chosen = _scope(store, scope)
    return answers.get(("coverage", chosen.key), lambda: analytics.coverage(store, chosen))


@router.get("/matrix", response_model=analytics.ModuleMatrix)
def read_matrix(
    store: StoreDep, answers: AnswersDep, scope: ScopeParam = "all"
) -> analytics.ModuleMatrix:
    """The module x model-element matrix of a scope, with gaps and overlaps (CQ12, CQ13)."""
    chosen = _scope(store, scope)
    return answers.get(("matrix", chosen.key), lambda: analytics.module_matrix(store, chosen))


@router.get("/collaboration", response_model=analytics.Collaboration)
def read_collaboration(
    store: StoreDep, answers: AnswersDep, scope: ScopeParam = "all"
) -> analytics.Collaboration:
    """The collaboration network's metrics: diversity per team, brokers, communities (CQ7)."""
    chosen = _scope(store, scope)
    return answers.get(
        ("collaboration", chosen.key), lambda: analytics.collaboration(store, chosen)
    )


@router.get("/timeline", response_model=analytics.Timeline)
def read_timeline(store: StoreDep, answers: AnswersDep, scope: ScopeParam) -> analytics.Timeline:
    """A project's PDSA cycles, stages, measures, learning activities and reflections (CQ4, CQ10)."""
    chosen = _scope(store, scope)
    # The refusal inside, so that a kept one is turned into its answer each time.
    return _answer(
        lambda: answers.get(("timeline", chosen.key), lambda: analytics.timeline(store, chosen))
    )


@router.get("/learning-links", response_model=analytics.LearningLinks)
def read_learning_links(
    store: StoreDep, answers: AnswersDep, pages: ListPagesDep, scope: ScopeParam = "all"
) -> analytics.LearningLinks:
    """The practice-to-learning links of a scope (all: the whole store), strongest first, each with its kind, strength, records and why (CQ5); with `page_size`, a page at a time (the next one named by the `Link` and `X-Next-Cursor` headers; `X-Total-Count` and the counts by kind and strength are the whole scope's)."""
    chosen = _scope(store, scope)
    # Kept for the store version: the scope all reads every link (about 20 s and 59,000
    # links at 10,000 projects), and each page is a slice of the same list.
    whole = _answer(
        lambda: answers.get(
            ("learning-links", chosen.key), lambda: analytics.learning_links(store, chosen)
        )
    )
    page = pages.of(whole.links, analytics.link_order, "learning-links", {"scope": chosen.key})
    return whole if page is whole.links else dataclasses.replace(whole, links=list(page))


@router.get("/paths", response_model=analytics.PathExplanation)
def read_paths(
    store: StoreDep,
    source: Annotated[
        str, Query(max_length=300, description="project:ID, cycle:PROJECT/N or an IRI.")
    ],
    target: Annotated[
        str, Query(max_length=300, description="module:ID, a model element (SI) or an IRI.")
    ],
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> analytics.PathExplanation:
    """Shortest paths between a practice record and a piece of learning or a model element, hop by hop, model concepts included (for exploring; the evidenced links are at /analytics/learning-links)."""
    return _answer(lambda: analytics.explain_paths(store, source, target, limit))


@router.get(
    "/figures/{name}.{fmt}",
    responses={200: {"content": {"image/svg+xml": {}, "image/png": {}}}},
    response_class=Response,
)
def read_figure(
    store: StoreDep,
    answers: AnswersDep,
    name: Literal["tapestry", "heatmap", "network", "timeline", "measures"],
    fmt: Literal["svg", "png"],
    scope: ScopeParam = "all",
) -> Response:
    """A figure of a scope drawn from the data: tapestry, heatmap, network, or (projects) timeline or measures."""
    chosen = _scope(store, scope)
    drawing = _answer(
        lambda: answers.get(
            ("figure", name, fmt, chosen.key), lambda: _figure(store, chosen, name, fmt)
        )
    )
    return Response(
        drawing,
        media_type="image/png" if fmt == "png" else "image/svg+xml",
        headers=answers.headers,
    )


@router.get("/dashboard", response_class=HTMLResponse)
def read_dashboard() -> HTMLResponse:
    """A page to pick a scope and see its pictures and tables (no build step, no CDN)."""
    return HTMLResponse(_DASHBOARD.read_text(encoding="utf-8"))
