"""Liveness: the server answers and the store is open."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from cipd_graph.api.deps import StoreDep

router = APIRouter(prefix="/health", tags=["health"])


class HealthPublic(BaseModel):
    """The server is up; how many triples the store holds."""

    status: Literal["ok"]
    triples: int


@router.get("", response_model=HealthPublic)
def read_health(store: StoreDep) -> HealthPublic:
    """Say the server is up, with the store's triple count."""
    return HealthPublic(status="ok", triples=store.triple_count())
