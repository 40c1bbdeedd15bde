"""The REST routers, in the order the app includes them."""

from __future__ import annotations

from fastapi import APIRouter

from cipd_graph.api.routers import (
    analytics,
    health,
    interop,
    model,
    modules,
    projects,
    queries,
    records,
    stats,
    workbench,
)

ROUTERS: list[APIRouter] = [
    health.router,
    stats.router,
    queries.router,
    model.router,
    projects.router,
    modules.router,
    records.router,
    records.validate_router,
    interop.router,
    analytics.router,
    workbench.router,
]
