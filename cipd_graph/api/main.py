"""The app factory: it only creates the app, opens the store and includes the routers.

The API's documentation pages (``/docs``, Swagger UI; ``/redoc``, ReDoc) and the query page's
editor load their scripts from files shipped with the package, so they work on a network
with no way out: Swagger UI and ReDoc come with the ``fastapi-offline`` package,
CodeMirror is kept under ``api/static/vendor`` (``make vendor``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from cipd_graph._config import Settings
from cipd_graph.analytics import AnalyticsError
from cipd_graph.api import problems
from cipd_graph.api.cache import ANSWERS, AnswerCache
from cipd_graph.api.limits import BodyLimit, ConcurrencyLimit
from cipd_graph.api.routers import analytics, rest, sparql, stats
from cipd_graph.graph import GraphStore


def create_app(settings: Settings | None = None, store: GraphStore | None = None) -> FastAPI:
    """A FastAPI app over the store named by ``settings`` (or the one given)."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.store = store or GraphStore.open(settings)
        location = app.state.store.location
        app.state.cache = cache = AnswerCache(
            app.state.store,
            delay=settings.refresh_delay,
            keep=(AnalyticsError,),
            # the dashboard's first answers, for the next start (see api.cache)
            directory=None if location is None else location / ANSWERS,
        )
        stats.warm(cache, app.state.store)
        analytics.warm(cache, app.state.store)
        # After a write through this app the whole-store answers are computed again, in
        # the background, so that the next dashboard finds them ready.
        app.state.store.pipeline.listeners.append(cache.refresh)
        cache.refresh()
        try:
            yield
        finally:
            app.state.store.pipeline.listeners.remove(cache.refresh)
            cache.close()
            if store is None:
                app.state.store.close()

    app = FastAPI(
        title="cipd-graph",
        summary="The CIPD tapestry knowledge graph: named queries, SPARQL and records.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served below from local files, not from a CDN
        redoc_url=None,
    )
    _add_docs(app)
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
    problems.install(app)
    app.add_middleware(BodyLimit, max_bytes=settings.limits.request_bytes)

    app.include_router(sparql.router)
    for router in rest.ROUTERS:
        app.include_router(router)
    return app


STATIC = Path(__file__).resolve().parent / "static"
#: The pages load nothing from elsewhere; this policy has the browser hold them to it (ReDoc
#: would fetch its maker's logo from a CDN).
OFFLINE_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; worker-src 'self' blob:; font-src 'self' data:"
)


def _offline(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = OFFLINE_POLICY
    return page


def docs_assets() -> Path:
    """The folder of Swagger UI's and ReDoc's files, as the ``fastapi-offline`` package ships them."""
    import fastapi_offline

    return Path(fastapi_offline.__file__).resolve().parent / "static"


def _add_docs(app: FastAPI) -> None:
    """Serve the package's static files, and /docs and /redoc from local copies."""
    app.mount("/static/docs", StaticFiles(directory=docs_assets()), name="docs-assets")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    oauth2_redirect = "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return _offline(
            get_swagger_ui_html(
                openapi_url=f"{root}{app.openapi_url}",
                title=f"{app.title} - API",
                oauth2_redirect_url=f"{root}{oauth2_redirect}",
                swagger_js_url=f"{root}/static/docs/swagger-ui-bundle.js",
                swagger_css_url=f"{root}/static/docs/swagger-ui.css",
                swagger_favicon_url=f"{root}/static/docs/favicon.png",
                # no badge fetched from the online validator
                swagger_ui_parameters={"validatorUrl": None},
            )
        )

    @app.get(oauth2_redirect, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return _offline(
            get_redoc_html(
                openapi_url=f"{root}{app.openapi_url}",
                title=f"{app.title} - API",
                redoc_js_url=f"{root}/static/docs/redoc.standalone.js",
                redoc_favicon_url=f"{root}/static/docs/favicon.png",
                with_google_fonts=False,
            )
        )
