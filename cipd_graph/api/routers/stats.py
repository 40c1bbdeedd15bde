"""Counts of what the store holds, and the loaded source files (like ``cipd stats --json``).

A remote client sees each source by its file name, never the server's path to it, nor the
account that loaded it.

Both read the whole store, so the answer is kept for the store's version (see
:mod:`cipd_graph.api.cache`) and computed again in the background after each write; a
client that sends ``Cache-Control: max-stale`` gets the earlier one meanwhile.
"""

from __future__ import annotations

from pathlib import PurePath

from fastapi import APIRouter
from pydantic import BaseModel

from cipd_graph.api.cache import AnswerCache
from cipd_graph.api.deps import AnswersDep, StoreDep
from cipd_graph.api.routers._common import ListPagesDep
from cipd_graph.graph import GraphStore

router = APIRouter(prefix="/stats", tags=["stats"])


class SourcePublic(BaseModel):
    """A loaded batch: its graph, the name of the file it came from, and when."""

    graph: str
    file: str
    kind: str
    sha256: str
    loaded_at: str
    triples: int
    tool_version: str


class StatsPublic(BaseModel):
    """Counts by kind, and every loaded batch."""

    counts: dict[str, int]
    #: False after an upgrade that changed the rules or the ontology, until the next write
    #: derives every fact again: the derived counts are then the old rules'.
    derived_facts_current: bool
    sources: list[SourcePublic]


def _stats(store: GraphStore) -> StatsPublic:
    return StatsPublic(
        counts=store.stats(),
        derived_facts_current=store.derived_facts_current(),
        sources=[
            SourcePublic(
                graph=s.graph,
                file=PurePath(s.path).name,
                kind=s.kind,
                sha256=s.sha256,
                loaded_at=s.loaded_at,
                triples=s.triples,
                tool_version=s.tool_version,
            )
            for s in store.sources()
        ],
    )


def warm(cache: AnswerCache, store: GraphStore) -> None:
    """Compute the answer again after each write."""
    cache.warm(("stats",), lambda: _stats(store), StatsPublic)


def _source_order(source: SourcePublic) -> tuple[str, str]:
    return (source.file, source.graph)


@router.get("", response_model=StatsPublic)
def read_stats(store: StoreDep, answers: AnswersDep, pages: ListPagesDep) -> StatsPublic:
    """Count what the store holds and list the loaded source files.

    With `page_size`, the sources come a page at a time, by file name (the next page named
    by the `Link` and `X-Next-Cursor` headers, their number by `X-Total-Count`); the counts
    are the whole store's on every page. Send `Cache-Control: max-stale` to get the answer
    from before the latest write at once while the new one is computed (the
    `CIPD-Answer-Version` header says which version an answer describes,
    `CIPD-Store-Version` which one the store is at)."""
    stats = answers.get(("stats",), lambda: _stats(store))
    # Sorted again before paging: a kept answer (a file of an earlier version) may be in
    # another order; the whole answer keeps the order it was kept in.
    sources = sorted(stats.sources, key=_source_order) if pages.wanted else stats.sources
    page = pages.of(sources, _source_order, "sources")
    return stats if page is stats.sources else stats.model_copy(update={"sources": list(page)})
