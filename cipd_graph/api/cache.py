"""Whole-store answers kept for the store version they describe.

The counts of ``/stats``, the list of loaded sources, the analytics scopes and the
analytics of scope ``all`` read every project, person or quad: seconds at a million triples.
The API keeps each answer with the store's version (:mod:`cipd_graph.store.meta`), which
every write changes in the same step as its data, so an answer is served again until the
next write of any kind, from any process, and never after it.

After a write through this process, and when the app starts, the answers a dashboard asks
for first are computed again in the background (:meth:`AnswerCache.refresh`), one at a
time on one thread, so the next request finds them ready. A request for an answer being
computed waits for that computation instead of starting its own.

A client that would rather see an earlier version's answer at once than wait says so with
``Cache-Control: max-stale`` (RFC 9111; ``max-stale=N``: one computed at most N seconds ago):
it gets the answer kept from before the last write, with the version it describes
(:meth:`AnswerCache.answer`), while the answer for the store as it is now is computed in the
background. The dashboard asks that way, so it never waits for a whole-store scan once it
has been shown anything (at 10,000 projects the collaboration analytics take about 40 s),
and says what it shows is from before the latest change until the new answer is there.

The answers the dashboard asks for first, and their refusals, are also kept on disk beside an
embedded store (``<CIPD_STORE>/answers/``, one JSON file each, written when computed), so a
server started again finds them. Each file is read when its answer is first asked for (by a
request or the background warm-up), not at start-up. At 10,000 projects, first requests after
a restart: the collaboration analytics in 0.24-0.34 s instead of 37 s, the network figure's
refusal in 0.03 s instead of 9 s, the first page of the practice-to-learning links in 1.4-1.5 s
(58 MB read back) instead of 21 s, the server up in 1.6-2.2 s as before. An answer read back
is current when the store has not changed since, otherwise given to a client that accepts
an earlier version's, as above, until computed again. A file that cannot be read back into
its type is left out (and logged); nothing else reads the folder.

The background work waits until no write has come for ``delay`` seconds
(``CIPD_REFRESH_DELAY``), and each write puts it off again: these answers read the whole
store (at 10,000 projects the sources 1 s, the collaboration network 34 s), and run after
every upload of a run of uploads they took a core and the interpreter's lock from each next
upload. A write that comes while one of them runs still shares the machine with it until it
ends; the rest then wait for the next quiet spell.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import TypeAdapter, ValidationError

from cipd_graph._errors import CipdError
from cipd_graph.store import Store

T = TypeVar("T")
log = logging.getLogger(__name__)

#: Answers kept (one version each); the least recently used go first.
CAPACITY = 64
#: The folder, in an embedded store's directory, of the answers kept across restarts.
ANSWERS = "answers"


@dataclass(frozen=True)
class Answer(Generic[T]):
    """An answer and the store version it describes."""

    value: T
    #: The store version the answer was computed at.
    version: str
    #: When it was computed (seconds since the epoch).
    computed_at: float
    #: Whether the store has a later version than the one the answer describes.
    stale: bool


class AnswerCache:
    """Answers computed over ``store``, each kept for the store version it was computed at."""

    def __init__(
        self,
        store: Store,
        capacity: int = CAPACITY,
        delay: float = 2.0,
        keep: tuple[type[Exception], ...] = (),
        directory: Path | None = None,
    ) -> None:
        self.store = store
        #: Where the answers warmed with a ``kind`` are kept across restarts (None: nowhere).
        self.directory = directory
        self._kinds: dict[Hashable, TypeAdapter[Any]] = {}
        #: Keys whose file has not been read yet: read when first asked for (by a request
        #: or the background warm-up), not at start-up (73 MB at 10,000 projects: 2 s).
        self._unread: set[Hashable] = set()
        self._reading = threading.Lock()
        #: Refusals kept for their version like answers: the same store says the same no.
        #: The network figure of scope ``all`` at 10,000 projects is refused after 12 s of
        #: building the network to count its people; the background warm-up met it, then
        #: each dashboard that asked waited those 12 s again for the same refusal.
        self.keep = keep
        self.capacity = capacity
        #: Seconds without a write before the background work starts (CIPD_REFRESH_DELAY).
        self.delay = delay
        self._last_write = time.monotonic()
        self._lock = threading.Lock()
        #: key -> (version, answer or kept refusal, when computed)
        self._answers: OrderedDict[Hashable, tuple[str, Any, float]] = OrderedDict()
        self._running: dict[tuple[Hashable, str], Future[Any]] = {}
        self._warm: dict[Hashable, Callable[[], Any]] = {}
        #: Answers served from an earlier version, to compute for the current one once.
        self._once: dict[Hashable, Callable[[], Any]] = {}
        self._refresh = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        #: How many answers were computed (not served from the cache): for tests and logs.
        self.computed = 0

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The answer for ``key`` at the store's current version: kept, being computed (then
        waited for), or computed now by ``compute``."""
        return self.answer(key, compute).value

    def answer(
        self, key: Hashable, compute: Callable[[], T], *, max_stale: float | None = None
    ) -> Answer[T]:
        """As :meth:`get`, with the version the answer describes. With ``max_stale``
        (seconds; ``math.inf``: any), an answer kept from an earlier version and computed
        at most that long ago is given at once instead of waiting for one at the current
        version, which is then computed in the background (once writes have paused, as
        after a write)."""
        if key in self._unread:
            self._read(key)
        version = self.store.version()
        with self._lock:
            kept = self._answers.get(key)
            if kept is not None and (
                kept[0] == version
                or (
                    max_stale is not None
                    and not isinstance(kept[1], _Refusal)
                    and time.time() - kept[2] <= max_stale
                )
            ):
                self._answers.move_to_end(key)
                if isinstance(kept[1], _Refusal):
                    raise kept[1].again()
                stale = kept[0] != version
                if stale:
                    self._once[key] = compute
                    self._start()
                return Answer(kept[1], kept[0], kept[2], stale)
            running = self._running.get((key, version))
            owner = running is None
            if running is None:
                running = self._running[(key, version)] = Future()
        if not owner:
            value, at = running.result()
            return Answer(value, version, at, self.store.version() != version)
        try:
            value = compute()
        except BaseException as exc:
            if isinstance(exc, self.keep):
                self._remember(key, version, _Refusal(exc), time.time())
            running.set_exception(exc)
            raise
        finally:
            with self._lock:
                self._running.pop((key, version), None)
        at = time.time()
        self._remember(key, version, value, at)
        running.set_result((value, at))
        # Computed while a write went on: it describes a state at or after ``version``.
        return Answer(value, version, at, self.store.version() != version)

    def _remember(self, key: Hashable, version: str, value: Any, at: float) -> None:
        with self._lock:
            self.computed += 1
            # Computed while a write went on: right for no version in particular, not kept.
            if self.store.version() != version:
                return
            self._answers[key] = (version, value, at)
            self._answers.move_to_end(key)
            while len(self._answers) > self.capacity:
                self._answers.popitem(last=False)
        if key in self._kinds:
            self._save(key, version, value, at)

    def warm(self, key: Hashable, compute: Callable[[], Any], kind: Any = None) -> None:
        """Compute ``key`` again in the background after each write (see :meth:`refresh`);
        with the answer's ``kind`` (a type pydantic can read back from JSON) and a
        :attr:`directory`, keep it there across restarts, and take the one kept there."""
        self._warm[key] = compute
        if kind is not None and self.directory is not None:
            self._kinds[key] = TypeAdapter(kind)
            self._unread.add(key)

    # -- kept on disk -------------------------------------------------------------------------
    def _refusal(self, name: str, args: list[Any]) -> Exception:
        """A kept refusal read back: one of the classes :attr:`keep` names (or of their
        subclasses), by its full name; any other name is refused (ValueError)."""
        todo: list[type[Exception]] = list(self.keep)
        while todo:
            cls = todo.pop()
            if _name(cls) == name:
                return cls(*args)
            todo.extend(cls.__subclasses__())
        raise ValueError(f"{name} is not a refusal this server keeps")

    def _path(self, key: Hashable) -> Path:
        assert self.directory is not None
        return self.directory / (hashlib.sha256(repr(key).encode()).hexdigest()[:32] + ".json")

    def _save(self, key: Hashable, version: str, value: Any, at: float) -> None:
        """Write ``key``'s answer to its file, whole or not at all (a new file renamed over)."""
        data: dict[str, Any]
        if isinstance(value, _Refusal):
            error = value.error
            data = {"refused": _name(type(error)), "args": list(error.args)}
        elif isinstance(value, bytes):
            data = {"bytes": base64.b64encode(value).decode("ascii")}
        else:
            data = {"json": self._kinds[key].dump_python(value, mode="json")}
        try:
            text = json.dumps({"key": repr(key), "version": version, "computed_at": at, **data})
        except (TypeError, ValueError) as exc:  # a refusal with arguments JSON cannot hold
            log.warning("could not keep the answer %r on disk: %s", key, exc)
            return
        path = self._path(key)
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
            temporary = Path(name)
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    out.write(text)
                temporary.replace(path)
            finally:
                temporary.unlink(missing_ok=True)
        except OSError as exc:  # a full or read-only disk: the answer is kept in memory still
            log.warning("could not keep the answer %r on disk: %s", key, exc)

    def _read(self, key: Hashable) -> None:
        """Take ``key``'s answer from disk, once (requests for it meanwhile wait)."""
        with self._reading:
            if key in self._unread:
                self._load(key)
                self._unread.discard(key)

    def _load(self, key: Hashable) -> None:
        """Take ``key``'s answer from its file, if there is one for this key that reads back."""
        path = self._path(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data["key"] != repr(key):
                return  # another key's file under the same name: not this answer
            value: Any
            if "refused" in data:
                value = _Refusal(self._refusal(data["refused"], data["args"]))
            elif "bytes" in data:
                value = base64.b64decode(data["bytes"], validate=True)
            else:
                value = self._kinds[key].validate_python(data["json"])
            entry = (str(data["version"]), value, float(data["computed_at"]))
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError, ValidationError) as exc:
            log.warning("left out the answer kept in %s: %s", path, exc)
            return
        with self._lock:
            self._answers.setdefault(key, entry)

    def refresh(self) -> None:
        """Compute the warmed answers for the current version, in the background, once no
        write has come for :attr:`delay` seconds."""
        if self._closed:
            return
        self._last_write = time.monotonic()
        self._start()

    def _start(self) -> None:
        """Wake the background thread (started the first time)."""
        if self._closed:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="cipd-answer-cache", daemon=True)
            self._thread.start()
        self._refresh.set()

    def _quiet(self) -> bool:
        """Wait until no write has come for :attr:`delay` seconds (False: closed meanwhile)."""
        while not self._closed:
            left = self._last_write + self.delay - time.monotonic()
            if left <= 0:
                return True
            self._refresh.wait(left)
            self._refresh.clear()
        return False

    def _run(self) -> None:
        while True:
            self._refresh.wait()
            self._refresh.clear()
            if not self._quiet():
                return
            with self._lock:
                once, self._once = self._once, {}
            for key, compute in [*self._warm.items(), *once.items()]:
                if self._closed or self._refresh.is_set():
                    with self._lock:  # written again meanwhile: start over at the new version
                        self._once = {**once, **self._once}
                    break
                once.pop(key, None)
                try:
                    self.get(key, compute)
                except CipdError as exc:  # a request meets the same refusal and reports it
                    log.warning("computing %r in the background: %s", key, exc)
                except Exception:  # a bug: with its traceback
                    log.exception("computing %r in the background failed", key)

    def close(self, timeout: float = 30.0) -> None:
        """Stop the background computations (waiting up to ``timeout`` for the one running)."""
        self._closed = True
        self._refresh.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def keys(self) -> Sequence[Hashable]:
        """The keys of the answers kept now."""
        with self._lock:
            return list(self._answers)


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


class _Refusal:
    """A kept refusal: raised again as a copy, so that requests on several threads never
    share one exception object and its growing traceback."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def again(self) -> Exception:
        try:
            error = copy.copy(self.error)
        except Exception:  # an error class that cannot be rebuilt from its arguments
            error = self.error
        return error.with_traceback(None)
