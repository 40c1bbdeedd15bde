"""Counts of what the store holds, and the loaded source files (like ``cipd stats --json``)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter
from pydantic import BaseModel

from cipd_graph.api.deps import StoreDep

router = APIRouter(prefix="/stats", tags=["stats"])


class SourcePublic(BaseModel):
    """A loaded batch and where it came from."""

    graph: str
    path: str
    kind: str
    sha256: str
    loaded_at: str
    loaded_by: str
    triples: int
    tool_version: str


class StatsPublic(BaseModel):
    """Counts by kind, and every loaded batch."""

    counts: dict[str, int]
    sources: list[SourcePublic]


@router.get("", response_model=StatsPublic)
def read_stats(store: StoreDep) -> StatsPublic:
    """Count what the store holds and list the loaded source files."""
    return StatsPublic(
        counts=store.stats(), sources=[SourcePublic(**asdict(s)) for s in store.sources()]
    )
