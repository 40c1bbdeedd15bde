"""Pseudonymous person identifiers: a keyed hash (HMAC-SHA-256) of the local identifier."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cipd_graph._errors import ConfigError

KEY_FILE = "pseudonym.key"


class Pseudonymiser:
    """Turns local person identifiers into stable pseudonyms that cannot be reversed without the key.

    >>> p = Pseudonymiser(b"k" * 32)
    >>> p("nsh-0101") == p("nsh-0101") != p("nsh-0102")
    True
    >>> len(p("nsh-0101"))
    24
    """

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ConfigError("the pseudonym key must be at least 16 bytes long")
        self._key = key

    def __call__(self, local_id: str) -> str:
        """The pseudonym (24 hex digits) of ``local_id``."""
        return hmac.new(self._key, local_id.encode("utf-8"), hashlib.sha256).hexdigest()[:24]

    @classmethod
    def from_settings(cls, key: str | None, key_dir: Path | None) -> Pseudonymiser:
        """Use ``key`` (CIPD_PSEUDONYM_KEY) or the key file in ``key_dir``, creating it once."""
        if key:
            return cls(key.encode("utf-8"))
        if key_dir is None:
            raise ConfigError(
                "person data needs a pseudonym key: set CIPD_PSEUDONYM_KEY "
                "(an in-memory store has no directory to keep a generated key in)"
            )
        path = key_dir / KEY_FILE
        if not path.exists():
            key_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(secrets.token_hex(32))
        text = path.read_text(encoding="ascii").strip()
        if len(text) < 32:
            raise ConfigError(f"{path}: the pseudonym key file is damaged (too short)")
        return cls(text.encode("ascii"))
