"""Load shedding: at most ``CIPD_MAX_CONCURRENT`` requests run, ``CIPD_MAX_QUEUE`` wait, the rest get 429.

Every request the API works on holds a worker thread and, for SPARQL, a child process; the
limit keeps both bounded however many clients call at once. A request that finds every slot
busy waits in a queue of bounded length; when the queue is full too it is answered at once
with ``429 Too Many Requests`` and ``Retry-After``. ``/health`` is never held back, so a
monitor can tell a busy server from a dead one.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

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
        body = json.dumps(
            {
                "detail": f"the server is busy: {self.max_concurrent} requests are running and "
                f"{self.max_queue} waiting (CIPD_MAX_CONCURRENT, CIPD_MAX_QUEUE); "
                f"try again in {self.retry_after_s} s"
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(self.retry_after_s).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
