"""The exceptions of cipd-graph: one base class, one subclass per kind of failure."""

from __future__ import annotations

import errno
from dataclasses import dataclass


class CipdError(Exception):
    """Base class of every error cipd-graph raises on purpose."""


class ConfigError(CipdError):
    """A ``CIPD_*`` environment variable has a value that cannot be used."""


class OntologyError(CipdError):
    """The ontology files cannot be found, read or parsed."""


class ElementNotFoundError(CipdError, KeyError):
    """No model element matches the IRI, CURIE or notation asked for."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "model element not found"


@dataclass(frozen=True)
class RecordProblem:
    """One mistake in a record file: which file, line, record and field, and why."""

    file: str
    line: int | None
    record: str
    field: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        field = f", field {self.field}" if self.field else ""
        return f"{where}: {self.record}{field}: {self.reason}"


class RecordError(CipdError):
    """A record file cannot be read or is not in the documented format; lists every mistake."""

    def __init__(self, problems: list[RecordProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class StoreError(CipdError):
    """The graph store cannot be opened, read or written, or holds no such batch."""


class StoreInUseError(StoreError):
    """Another process holds the store's lock (a running ``cipd serve`` or load)."""


#: What the disk says when it is full (errno ENOSPC, EDQUOT), also inside RocksDB's messages.
_DISK_FULL = ("No space left on device", "Disk quota exceeded")


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc``, or an exception it was raised from, says the disk is full.

    >>> import errno
    >>> is_disk_full(StoreError("write failed")), is_disk_full(OSError(errno.ENOSPC, "full"))
    (False, True)
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if any(text in str(current) for text in _DISK_FULL):
            return True
        current = current.__cause__ or current.__context__
    return False
