"""The app factory: it only creates the app, opens the store and includes the routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from cipd_graph._config import Settings
from cipd_graph._store import GraphStore
from cipd_graph.api import problems
from cipd_graph.api.limits import ConcurrencyLimit
from cipd_graph.api.routers import rest, sparql


def create_app(settings: Settings | None = None, store: GraphStore | None = None) -> FastAPI:
    """A FastAPI app over the store named by ``settings`` (or the one given)."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.store = store or GraphStore.open(settings)
        try:
            yield
        finally:
            if store is None:
                app.state.store.close()

    app = FastAPI(
        title="cipd-graph",
        summary="The CIPD tapestry knowledge graph: named queries, SPARQL and records.",
        version="0.1.0",
        lifespan=lifespan,
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PUT"],
            allow_headers=["Authorization", "Content-Type", "Accept"],
        )

    # Added last, so outermost: a request refused for load does no other work.
    app.add_middleware(
        ConcurrencyLimit,
        max_concurrent=settings.max_concurrent,
        max_queue=settings.max_queue,
    )

    # Every failure becomes an RFC 9457 problem; bodies over CIPD_MAX_REQUEST_BYTES get 413
    # before they are read (outermost, so a refused body waits for no slot).
    problems.install(app, settings.limits)

    app.include_router(sparql.router)
    for router in rest.ROUTERS:
        app.include_router(router)
    return app
