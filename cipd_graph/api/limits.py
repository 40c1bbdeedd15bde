"""Load shedding and request size: at most ``CIPD_MAX_CONCURRENT`` requests run,
``CIPD_MAX_QUEUE`` wait, the rest get 429; a body over ``CIPD_MAX_REQUEST_BYTES`` gets 413.

Every request the API works on holds a worker thread and, for SPARQL, a child process; the
limit keeps both bounded however many clients call at once. A request that finds every slot
busy waits in a queue of bounded length; when the queue is full too it is answered at once
with ``429 Too Many Requests`` and ``Retry-After``. ``/health`` is never held back, so a
monitor can tell a busy server from a dead one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from cipd_graph.api.problems import MEDIA_TYPE, TOO_LARGE, problem_bytes

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Paths answered without waiting for a slot.
EXEMPT = ("/health",)


class ConcurrencyLimit:
    """ASGI middleware: run at most ``max_concurrent`` requests, queue ``max_queue``, refuse the rest.

    >>> import asyncio
    >>> async def app(scope, receive, send):
    ...     await send({"type": "http.response.start", "status": 200, "headers": []})
    ...     await send({"type": "http.response.body", "body": b"ok"})
    >>> limited = ConcurrencyLimit(app, max_concurrent=1, max_queue=0)
    >>> sent = []
    >>> async def send(message):
    ...     sent.append(message)
    >>> asyncio.run(limited({"type": "http", "path": "/x"}, None, send))
    >>> sent[0]["status"], limited.in_flight, limited.waiting
    (200, 0, 0)
    """

    def __init__(
        self, app: ASGIApp, *, max_concurrent: int, max_queue: int, retry_after_s: int = 1
    ) -> None:
        if max_concurrent < 1 or max_queue < 0:
            raise ValueError("max_concurrent must be at least 1 and max_queue at least 0")
        self.app = app
        self.max_concurrent = max_concurrent
        self.max_queue = max_queue
        self.retry_after_s = retry_after_s
        self.in_flight = 0
        self.waiting = 0
        self.refused = 0
        self._slots: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in EXEMPT:
            await self.app(scope, receive, send)
            return
        if self._slots is None:  # made on first use, inside the server's event loop
            self._slots = asyncio.Semaphore(self.max_concurrent)
        slots = self._slots
        if slots.locked() and self.waiting >= self.max_queue:
            self.refused += 1
            await self._too_many(send)
            return
        self.waiting += 1
        try:
            await slots.acquire()
        finally:
            self.waiting -= 1
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            slots.release()

    async def _too_many(self, send: Send) -> None:
        detail = (
            f"the server is busy: {self.max_concurrent} requests are running and "
            f"{self.max_queue} waiting (CIPD_MAX_CONCURRENT, CIPD_MAX_QUEUE); "
            f"try again in {self.retry_after_s} s"
        )
        await _answer(send, 429, detail, retry_after=self.retry_after_s)


async def _answer(send: Send, status: int, detail: str, *, retry_after: int | None = None) -> None:
    """Send an RFC 9457 problem response from ASGI middleware."""
    body = problem_bytes(status, detail, TOO_LARGE if status == 413 else "about:blank")
    headers = [
        (b"content-type", MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _BodyTooLargeError(Exception):
    pass


class BodyLimit:
    """ASGI middleware: refuse a request whose body is larger than ``max_bytes`` with 413.

    A declared ``Content-Length`` over the limit is refused before any of the body is read;
    a body streamed without one is counted as it arrives and refused as soon as it passes
    the limit (whatever the application was doing with it is dropped).

    >>> import asyncio
    >>> async def app(scope, receive, send):
    ...     await receive()
    ...     await send({"type": "http.response.start", "status": 200, "headers": []})
    ...     await send({"type": "http.response.body", "body": b"ok"})
    >>> sent = []
    >>> async def send(message):
    ...     sent.append(message)
    >>> async def receive():
    ...     return {"type": "http.request", "body": b"x" * 11, "more_body": False}
    >>> asyncio.run(BodyLimit(app, max_bytes=10)({"type": "http", "headers": []}, receive, send))
    >>> sent[0]["status"]
    413
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                await _answer(send, 400, "the Content-Length header is not a number")
                return
            if length > self.max_bytes:
                await _answer(send, 413, self._message(length))
                return
        received = 0
        over = False
        started = False

        async def counted() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    over = True
                    raise _BodyTooLargeError
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if over:  # whatever the application answers to the refused body
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not over:
                raise
        if over and not started:
            await _answer(send, 413, self._message(received))

    def _message(self, size: int) -> str:
        return (
            f"the request body has {size:,} bytes or more; this server reads at most "
            f"{self.max_bytes:,} (CIPD_MAX_REQUEST_BYTES): send fewer or smaller files at a time"
        )
