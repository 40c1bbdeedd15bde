"""Counts of what the store holds, and the loaded source files (like ``cipd stats --json``).

Both read the whole store, so the answer is kept for the store's version (see
:mod:`cipd_graph.api.cache`) and computed again in the background after each write.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from cipd_graph.api.cache import AnswerCache
from cipd_graph.api.deps import CacheDep, StoreDep
from cipd_graph.graph import GraphStore
from cipd_graph.store import SourceInfo

router = APIRouter(prefix="/stats", tags=["stats"])


class StatsPublic(BaseModel):
    """Counts by kind, and every loaded batch."""

    counts: dict[str, int]
    sources: list[SourceInfo]


def _stats(store: GraphStore) -> StatsPublic:
    return StatsPublic(counts=store.stats(), sources=store.sources())


def warm(cache: AnswerCache, store: GraphStore) -> None:
    """Compute the answer again after each write."""
    cache.warm(("stats",), lambda: _stats(store))


@router.get("", response_model=StatsPublic)
def read_stats(store: StoreDep, cache: CacheDep) -> StatsPublic:
    """Count what the store holds and list the loaded source files."""
    return cache.get(("stats",), lambda: _stats(store))
