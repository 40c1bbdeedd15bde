"""Dependencies shared by the routers: settings, the store and write authorisation."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cipd_graph._config import Settings
from cipd_graph.api.cache import AnswerCache
from cipd_graph.graph import GraphStore


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_store(request: Request) -> GraphStore:
    """The app's store (opened once, at start-up)."""
    store: GraphStore = request.app.state.store
    return store


def get_cache(request: Request) -> AnswerCache:
    """The app's answers kept per store version (made at start-up)."""
    cache: AnswerCache = request.app.state.cache
    return cache


_bearer = HTTPBearer(auto_error=False)


def require_writer(
    settings: Annotated[Settings, Depends(get_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Allow a write only with the configured bearer token; with none configured, writes are off."""
    if not settings.api_token:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "writes are turned off: the server has no CIPD_API_TOKEN configured",
        )
    # Compared as bytes: a header may carry any character, and compare_digest refuses
    # non-ASCII text (a TypeError, which was a 500 to anyone without the token).
    given = credentials.credentials.encode("utf-8", "surrogateescape") if credentials else b""
    if credentials is None or not hmac.compare_digest(given, settings.api_token.encode("utf-8")):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a write needs the header 'Authorization: Bearer <CIPD_API_TOKEN>'",
            headers={"WWW-Authenticate": "Bearer"},
        )


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[GraphStore, Depends(get_store)]
CacheDep = Annotated[AnswerCache, Depends(get_cache)]
WriterDep = Annotated[None, Depends(require_writer)]
