"""Dependencies shared by the routers: settings, the store and write authorisation."""

from __future__ import annotations

import hmac
import math
import time
from collections.abc import Callable, Hashable
from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException, Request, Response, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cipd_graph._config import Settings
from cipd_graph.api.cache import AnswerCache
from cipd_graph.graph import GraphStore

T = TypeVar("T")


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


def max_stale(request: Request) -> float | None:
    """How old an answer of an earlier store version the client accepts instead of waiting
    (``Cache-Control: max-stale`` or ``max-stale=N`` seconds, RFC 9111), or None (it wants
    the current version's). A value that is not a number of seconds counts as absent.

    >>> from starlette.requests import Request
    >>> def asking(value):
    ...     return max_stale(Request({"type": "http", "headers": [(b"cache-control", value)]}))
    >>> asking(b"no-cache, max-stale"), asking(b'max-stale="30"'), asking(b"max-stale=soon")
    (inf, 30.0, None)
    """
    for directive in request.headers.get("cache-control", "").split(","):
        name, _, value = directive.strip().partition("=")
        if name.strip().lower() != "max-stale":
            continue
        value = value.strip().strip('"')
        if not value:
            return math.inf
        return float(value) if value.isascii() and value.isdigit() else None
    return None


class Answers:
    """The app's kept answers as one request asks for them: at the store's current version,
    or (``Cache-Control: max-stale``) an earlier one's at once; with the headers that say
    which version an answer describes (``CIPD-Answer-Version``), which one the store is at
    (``CIPD-Store-Version``) and how long ago it was computed (``Age``)."""

    def __init__(self, cache: AnswerCache, response: Response, max_stale: float | None) -> None:
        self.cache = cache
        self.response = response
        self.max_stale = max_stale
        #: The headers of the last answer given (a route that builds its own response
        #: copies them).
        self.headers: dict[str, str] = {}

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The answer for ``key`` (see :meth:`AnswerCache.answer`)."""
        answer = self.cache.answer(key, compute, max_stale=self.max_stale)
        self.headers = {
            "CIPD-Answer-Version": answer.version,
            "CIPD-Store-Version": self.cache.store.version(),
            "Age": str(max(0, int(time.time() - answer.computed_at))),
        }
        self.response.headers.update(self.headers)
        return answer.value


def get_answers(request: Request, response: Response) -> Answers:
    """The kept answers, as this request asks for them."""
    return Answers(get_cache(request), response, max_stale(request))


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
AnswersDep = Annotated[Answers, Depends(get_answers)]
WriterDep = Annotated[None, Depends(require_writer)]
