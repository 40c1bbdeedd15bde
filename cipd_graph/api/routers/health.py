"""Liveness: the server answers and its store answers a query.

``/health`` is never held back by the load limit (``api/limits.py``), so it must stay cheap
at any store size: it asks the store one ``ASK`` (its first match ends it) and counts nothing; the
counts are at ``/stats``.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from cipd_graph.api.deps import StoreDep

router = APIRouter(prefix="/health", tags=["health"])


class HealthPublic(BaseModel):
    """The server is up and its store answers."""

    status: Literal["ok"]
    store: Literal["embedded", "remote"]
    empty: bool


@router.get("", response_model=HealthPublic)
def read_health(store: StoreDep) -> HealthPublic:
    """Say the server is up, which kind of store it reads, and whether that store holds anything."""
    holds = bool(store.query("ASK { ?s ?p ?o }"))
    return HealthPublic(
        status="ok", store="remote" if store.is_remote else "embedded", empty=not holds
    )
