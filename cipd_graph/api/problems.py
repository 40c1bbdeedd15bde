"""The API's one error boundary: every failure is an RFC 9457 ``application/problem+json``.

A problem document has ``type`` (a URI naming the kind of problem; ``about:blank`` for a
plain HTTP status), ``title``, ``status``, ``detail`` (what happened, for a person) and
``instance`` (the request's path, or for a server fault an ``urn:uuid:`` that the server's
log shows beside the traceback). Validation problems add ``errors``: one entry per field
at fault (``where``/``file``, ``line``, ``record``, ``field``, ``detail``).

What a client sends is answered with a 4xx; a full disk with ``507 Insufficient Storage``
(the write was refused as a whole: the store is as it was); anything else with a 500 that
says only that the server failed. No traceback and no server path reaches a client:
details pass through :func:`cipd_graph.limits.strip_paths`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from cipd_graph._errors import CipdError, RecordError, StoreInUseError, is_disk_full
from cipd_graph.limits import strip_paths

log = logging.getLogger("cipd_graph.api")

MEDIA_TYPE = "application/problem+json"
#: Problem types of this API (documented in docs/reference/http.md); a plain HTTP status is about:blank.
TYPES = "https://w3id.org/cipd/problems/"
INVALID_REQUEST = TYPES + "invalid-request"
INVALID_RECORDS = TYPES + "invalid-records"
TOO_LARGE = TYPES + "too-large"
DISK_FULL = TYPES + "disk-full"
STORE_BUSY = TYPES + "store-busy"
SERVER_ERROR = TYPES + "server-error"
REFUSED = TYPES + "refused"

TITLES = {
    INVALID_REQUEST: "The request is not valid",
    INVALID_RECORDS: "The records were refused",
    TOO_LARGE: "The request is too large",
    DISK_FULL: "The server's disk is full",
    STORE_BUSY: "The store is busy",
    SERVER_ERROR: "The server failed",
    REFUSED: "The request cannot be carried out",
}


class ProblemResponse(JSONResponse):
    """A JSON response in the ``application/problem+json`` media type."""

    media_type = MEDIA_TYPE


def problem(
    status: int,
    detail: str,
    *,
    type_: str = "about:blank",
    instance: str | None = None,
    errors: Sequence[Mapping[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> ProblemResponse:
    """An RFC 9457 problem response; ``detail`` is shown without server paths."""
    body: dict[str, Any] = {
        "type": type_,
        "title": TITLES.get(type_) or HTTPStatus(status).phrase,
        "status": status,
        "detail": strip_paths(detail),
    }
    if instance:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = list(errors)
    if extra:
        body.update({k: v for k, v in extra.items() if k not in body})
    return ProblemResponse(body, status_code=status, headers=dict(headers or {}))


def problem_bytes(status: int, detail: str, type_: str, **extra: Any) -> bytes:
    """A problem document as bytes, for ASGI middleware that answers by itself."""
    return bytes(problem(status, detail, type_=type_, extra=extra).body)


def _text(detail: object) -> str:
    return detail if isinstance(detail, str) else str(detail)


def record_errors(exc: RecordError) -> list[dict[str, Any]]:
    """The ``errors`` member for a record file's problems."""
    return [
        {
            "file": strip_paths(p.file),
            "line": p.line,
            "record": p.record,
            "field": p.field,
            "detail": strip_paths(p.reason),
        }
        for p in exc.problems
    ]


def failure(exc: BaseException, instance: str) -> ProblemResponse:
    """The problem response for an exception no route turned into an answer."""
    if is_disk_full(exc):
        return problem(
            507,
            "the server's disk is full: nothing was written, the store is as it was; "
            "try again once space has been freed",
            type_=DISK_FULL,
            instance=instance,
        )
    if isinstance(exc, RecordError):
        return problem(
            422,
            f"{len(exc.problems)} problem(s) in the uploaded files",
            type_=INVALID_RECORDS,
            instance=instance,
            errors=record_errors(exc),
        )
    if isinstance(exc, StoreInUseError):
        return problem(
            503,
            "the store is in use by another process",
            type_=STORE_BUSY,
            instance=instance,
            headers={"Retry-After": "5"},
        )
    if isinstance(exc, CipdError):
        return problem(400, str(exc), type_=REFUSED, instance=instance)
    incident = f"urn:uuid:{uuid.uuid4()}"
    log.error("request %s failed (%s)", instance, incident, exc_info=exc)
    return problem(
        500,
        "the server failed while answering; the failure is logged on the server under this "
        "problem's instance",
        type_=SERVER_ERROR,
        instance=incident,
    )


def install(app: FastAPI) -> None:
    """Register the exception handlers on ``app`` (the request-size limit is middleware:
    :class:`cipd_graph.api.limits.BodyLimit`, which answers with these problems)."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> ProblemResponse:
        return problem(
            exc.status_code,
            _text(exc.detail),
            instance=request.url.path,
            headers=exc.headers,
            type_=TOO_LARGE if exc.status_code == 413 else "about:blank",
        )

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> ProblemResponse:
        errors = [
            {"where": ".".join(str(p) for p in e["loc"]), "detail": strip_paths(str(e["msg"]))}
            for e in exc.errors()
        ]
        listed = "; ".join(f"{e['where']}: {e['detail']}" for e in errors[:5])
        return problem(
            422,
            f"the request is not valid: {listed}" + (" ..." if len(errors) > 5 else ""),
            type_=INVALID_REQUEST,
            instance=request.url.path,
            errors=errors,
        )

    @app.exception_handler(CipdError)
    async def cipd_error(request: Request, exc: CipdError) -> ProblemResponse:
        return failure(exc, request.url.path)

    @app.exception_handler(OSError)
    async def os_error(request: Request, exc: OSError) -> ProblemResponse:
        return failure(exc, request.url.path)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> ProblemResponse:
        return failure(exc, request.url.path)
