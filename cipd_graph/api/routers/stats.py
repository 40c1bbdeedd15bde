"""Counts of what the store holds, and the loaded source files (like ``cipd stats --json``)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from cipd_graph.api.deps import StoreDep
from cipd_graph.store import SourceInfo

router = APIRouter(prefix="/stats", tags=["stats"])


class StatsPublic(BaseModel):
    """Counts by kind, and every loaded batch."""

    counts: dict[str, int]
    sources: list[SourceInfo]


@router.get("", response_model=StatsPublic)
def read_stats(store: StoreDep) -> StatsPublic:
    """Count what the store holds and list the loaded source files."""
    return StatsPublic(counts=store.stats(), sources=store.sources())
