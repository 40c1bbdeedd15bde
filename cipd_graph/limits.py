"""Limits on what one input may cost, checked before the work it would cause.

Every parser of an input (project YAML/JSON, CSV tables, xAPI, CASE, Curriculum Inventory
XML, JSON-LD) and every upload route applies the same limits, read from ``CIPD_*`` variables:

============================  =========  =====================================================
variable                      default    what it bounds
============================  =========  =====================================================
``CIPD_MAX_UPLOAD_BYTES``     4 MiB      one uploaded file (API)
``CIPD_MAX_REQUEST_BYTES``    8 MiB      one request's body, refused from its Content-Length
                                         before any of it is read (API)
``CIPD_MAX_UPLOAD_FILES``     500        files in one upload request (API; at most 1000, the
                                         multipart parser's own limit)
``CIPD_MAX_NUMBER_DIGITS``    100        digits of any number in any input (an integer's
                                         digits; a decimal's digits plus its exponent)
``CIPD_MAX_NESTING``          64         nesting depth of JSON, YAML and XML documents
============================  =========  =====================================================

The upload limits bound one request's memory: the body is refused above
``CIPD_MAX_REQUEST_BYTES`` before it is read, and what is parsed is at most that many bytes
(records cost up to ~85 times their size while they are parsed, mapped and validated: an
8 MB project file of 200,000 observations peaked at 680 MB in ``cipd validate``; uploads are
worked on one at a time);
``CIPD_MAX_NUMBER_DIGITS`` and ``CIPD_MAX_NESTING`` make the work per byte bounded (no
number that expands into a gigabyte when written out, no recursion that runs out of stack,
no YAML alias that multiplies the document).
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from cipd_graph._errors import ConfigError

MIB = 1024 * 1024
#: Starlette's multipart parser refuses a request of more parts than this (400).
MULTIPART_FILES = 1000

#: A YAML document may expand its aliases to at most this many times its own nodes (plus a
#: small allowance): records never need more, and a "billion laughs" document needs far more.
YAML_ALIAS_GROWTH = 2
YAML_ALIAS_ALLOWANCE = 10_000


@dataclass(frozen=True)
class Limits:
    """The limits in force (see the module docstring for what each bounds).

    >>> Limits.from_env({"CIPD_MAX_NUMBER_DIGITS": "20"}).number_digits
    20
    >>> Limits.from_env({}).request_bytes == 8 * 1024 * 1024
    True
    """

    upload_bytes: int = 4 * MIB
    request_bytes: int = 8 * MIB
    upload_files: int = 500
    number_digits: int = 100
    nesting: int = 64

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        """The limits the ``CIPD_MAX_*`` variables of ``environ`` set (default: the process's)."""
        env = os.environ if environ is None else environ
        values: dict[str, int] = {}
        for f in fields(cls):
            name = VARIABLE[f.name]
            text = env.get(name, "").strip()
            if not text:
                continue
            try:
                value = int(text.replace("_", ""))
            except ValueError:
                value = 0
            if value < 1:
                raise ConfigError(f"{name}={text!r}: give a whole number of at least 1")
            if f.name == "upload_files" and value > MULTIPART_FILES:
                raise ConfigError(
                    f"{name}={text!r}: at most {MULTIPART_FILES} (the multipart parser refuses more)"
                )
            values[f.name] = value
        return cls(**values)


#: The variable that sets each limit.
VARIABLE = {
    "upload_bytes": "CIPD_MAX_UPLOAD_BYTES",
    "request_bytes": "CIPD_MAX_REQUEST_BYTES",
    "upload_files": "CIPD_MAX_UPLOAD_FILES",
    "number_digits": "CIPD_MAX_NUMBER_DIGITS",
    "nesting": "CIPD_MAX_NESTING",
}

#: What each variable means (shown by ``cipd config`` and in the docs' configuration page).
MEANING = {
    "CIPD_MAX_UPLOAD_BYTES": "Largest file one API upload may carry, in bytes (413 above it).",
    "CIPD_MAX_REQUEST_BYTES": "Largest request body the API reads, in bytes; refused with 413 "
    "from its Content-Length before any of it is read.",
    "CIPD_MAX_UPLOAD_FILES": "Most files one API upload request may carry (at most 1000).",
    "CIPD_MAX_NUMBER_DIGITS": "Most digits a number in any input may have (for a decimal, its "
    "digits plus its exponent: 1e300 has 301).",
    "CIPD_MAX_NESTING": "Deepest nesting of lists and objects a JSON, YAML or XML input may have.",
}


@functools.cache
def current() -> Limits:
    """The limits the parsers apply: those of the process's ``CIPD_MAX_*`` variables, read
    once (``current.cache_clear()`` reads them again)."""
    return Limits.from_env()


class InputRefusedError(ValueError):
    """An input goes past a limit or would change meaning (a duplicate key): why, and where."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        self.reason = reason
        self.line = line
        super().__init__(reason if line is None else f"line {line}: {reason}")


# --------------------------------------------------------------------------- numbers


def decimal_digits(value: Decimal) -> int:
    """How many digits ``value`` has when written out in full (``1E+3`` has 4, ``1E-3`` 3).

    >>> decimal_digits(Decimal("1e300000000")), decimal_digits(Decimal("-12.50"))
    (300000001, 4)
    """
    _sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):  # NaN or infinity
        return 0
    return len(digits) + exponent if exponent >= 0 else max(len(digits), -exponent)


def check_decimal(value: Decimal) -> Decimal:
    """``value`` unchanged, or ValueError when writing it out takes too many digits (a
    pydantic validator: ``Annotated[Decimal, AfterValidator(check_decimal)]``)."""
    most = current().number_digits
    if decimal_digits(value) > most:
        raise ValueError(
            f"the number has too many digits written out (at most {most}, CIPD_MAX_NUMBER_DIGITS)"
        )
    return value


def check_number_text(text: str, limits: Limits | None = None) -> None:
    """InputRefusedError when the numeral ``text`` (``123``, ``-1.5e10``) is too long or large."""
    most = (limits or current()).number_digits
    mantissa, _e, exponent = text.lower().partition("e")
    digits = sum(c.isdigit() for c in mantissa)
    try:
        power = abs(int(exponent)) if exponent and len(exponent) <= 12 else None
    except ValueError:
        power = None
    if exponent and power is None:
        power = most + 1
    if digits + (power or 0) > most:
        raise InputRefusedError(
            f"a number has too many digits ({text[:20]}{'...' if len(text) > 20 else ''}): "
            f"at most {most} (CIPD_MAX_NUMBER_DIGITS)"
        )


# --------------------------------------------------------------------------- JSON


def _line_at(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def load_json(text: str, limits: Limits | None = None) -> Any:
    """``json.loads`` within the limits: numbers of at most ``number_digits`` digits, nesting
    at most ``nesting`` deep, no key twice in one object, no NaN or Infinity.

    Raises :class:`InputRefusedError` (with the line when known) or ``json.JSONDecodeError``.

    >>> load_json('{"a": [1, 2.5]}')
    {'a': [1, 2.5]}
    >>> load_json('{"a": 1, "a": 2}')
    Traceback (most recent call last):
    ...
    cipd_graph.limits.InputRefusedError: line 1: the key 'a' appears twice in one object (the object starting on line 1)
    """
    limits = limits or current()

    def number(kind: Callable[[str], Any]) -> Callable[[str], Any]:
        def parse(numeral: str) -> Any:
            try:
                check_number_text(numeral, limits)
                value = kind(numeral)
                if value in (float("inf"), float("-inf")):
                    raise InputRefusedError(f"the number {numeral[:20]} is too large for a float")
            except InputRefusedError as exc:
                raise InputRefusedError(exc.reason, _line_at(text, text.find(numeral))) from None
            return value

        return parse

    def no_constant(name: str) -> Any:
        line = _line_at(text, text.find(name))
        raise InputRefusedError(f"{name} is not a JSON number (write null or a number)", line)

    try:
        data = json.loads(
            text,
            parse_int=number(int),
            parse_float=number(float),
            parse_constant=no_constant,
            object_pairs_hook=_unique_pairs,
        )
    except _DuplicateKeyError:
        _locate_duplicate(text)
        raise  # not reached: _locate_duplicate raises
    except RecursionError as exc:
        raise InputRefusedError(
            f"nested too deeply (at most {limits.nesting} levels, CIPD_MAX_NESTING)"
        ) from exc
    check_depth(data, limits)
    return data


class _DuplicateKeyError(ValueError):
    pass


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _DuplicateKeyError
    return result


def _locate_duplicate(text: str) -> None:
    """Parse ``text`` again with the pure-Python decoder, which tells where each object
    starts, and raise InputRefusedError naming the repeated key and its object's line."""
    from json import decoder, scanner

    def parse_object(s_and_end: tuple[str, int], *args: Any) -> Any:
        strict, scan_once, hook, _pairs_hook, memo = args
        start = s_and_end[1] - 1

        def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
            seen: set[str] = set()
            for key, _value in pairs:
                if key in seen:
                    line = _line_at(text, start)
                    raise InputRefusedError(
                        f"the key {key!r} appears twice in one object (the object starting on "
                        f"line {line})",
                        line,
                    )
                seen.add(key)
            return dict(pairs)

        return decoder.JSONObject(  # type: ignore[attr-defined]
            s_and_end, strict, scan_once, hook, unique, memo
        )

    plain = json.JSONDecoder(parse_constant=lambda c: None)
    plain.parse_object = parse_object  # type: ignore[attr-defined]
    plain.scan_once = scanner.py_make_scanner(plain)  # type: ignore[attr-defined]
    plain.decode(text)
    raise InputRefusedError("a key appears twice in one object")


def check_depth(data: Any, limits: Limits | None = None) -> None:
    """InputRefusedError when lists and dicts in ``data`` nest deeper than ``nesting``."""
    most = (limits or current()).nesting
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > most:
            raise InputRefusedError(f"nested too deeply (at most {most} levels, CIPD_MAX_NESTING)")
        stack.extend((child, depth + 1) for child in children)


# --------------------------------------------------------------------------- YAML


def check_yaml_tree(root: Any, limits: Limits | None = None) -> None:
    """InputRefusedError when a composed YAML node tree nests deeper than ``nesting`` or its
    aliases would expand it far beyond its own size (a "billion laughs" document)."""
    import yaml

    most = (limits or current()).nesting
    # Nodes are shared where aliases point: count each node once for its own size and
    # memoise the expanded size of each, post-order, without recursion.
    expanded: dict[int, int] = {}
    distinct = 0
    stack: list[tuple[Any, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        if isinstance(node, yaml.ScalarNode) or node is None:
            if key not in expanded:
                expanded[key] = 1
                distinct += 1
            continue
        children = (
            [c for pair in node.value for c in pair]
            if isinstance(node, yaml.MappingNode)
            else list(node.value)
        )
        if done:
            expanded[key] = 1 + sum(expanded[id(c)] for c in children)
            continue
        if depth > most:
            line = node.start_mark.line + 1
            raise InputRefusedError(
                f"nested too deeply (at most {most} levels, CIPD_MAX_NESTING)", line
            )
        if key in expanded:
            continue
        distinct += 1
        expanded[key] = 0  # visiting: an alias back to an ancestor is a cycle
        stack.append((node, depth, True))
        stack.extend((c, depth + 1, False) for c in children if id(c) not in expanded)
    total = expanded.get(id(root), 0)
    if total > YAML_ALIAS_GROWTH * distinct + YAML_ALIAS_ALLOWANCE:
        raise InputRefusedError(
            f"its aliases expand it to {total:,} values from {distinct:,} written ones; "
            "write the values out instead of repeating them with aliases"
        )


# --------------------------------------------------------------------------- text


_ABSOLUTE_PATH = re.compile(r"(?<![\w:/.~-])/(?:[^\s'\"/<>]+/)+([^\s'\"/<>]+)")


def strip_paths(text: str) -> str:
    """``text`` with every absolute file path cut down to its file name (for remote users).

    >>> strip_paths("already loaded from /srv/cipd/var/store/uploads/ward7.yaml; drop it")
    'already loaded from ward7.yaml; drop it'
    >>> strip_paths("see https://w3id.org/cipd/data/project/x and /tmp")
    'see https://w3id.org/cipd/data/project/x and /tmp'
    """
    return _ABSOLUTE_PATH.sub(r"\1", text)
