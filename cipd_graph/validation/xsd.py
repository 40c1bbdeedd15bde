"""XSD 1.1 datatypes as SHACL reads them: lexical spaces, values and their order.

``sh:datatype`` asks whether a literal's lexical form lies in the lexical space of its
datatype; ``sh:minInclusive``, ``sh:lessThanOrEquals`` and their kin compare values with
SPARQL's ``<=``, which compares literals by their XSD value spaces and fails (a type error)
on anything else. This module answers both from the lexical form alone, following XML
Schema 1.1 Part 2 (https://www.w3.org/TR/xmlschema11-2/), because rdflib's own reading
differs: with literal normalisation on (its default) it rewrites ``"2024-W26-7"^^xsd:date``
as ``2024-06-30``, ``"1_000"^^xsd:decimal`` as ``1000`` and drops a date's timezone, and it
refuses the years ``0000`` and ``-0044``.

What it decides, and why:

- **Lexical spaces** are XSD 1.1's grammars, with no whitespace around a value (an RDF
  lexical form is taken as written; the whiteSpace facet belongs to XML documents): ``" 1"``
  is not an ``xsd:integer``. Years may have more than four digits, ``0000`` (1 BCE) and a
  minus sign; ``"+INF"`` is a double; ``xsd:anyURI`` accepts any string, as XSD 1.1 says.
  Integer subtypes add their ranges (``"-1"^^xsd:positiveInteger`` is ill-typed).
- **Values compare** within one value space: numbers across all numeric types by XPath's
  promotion (integer and decimal exactly, then float, then double); strings (simple
  literals, ``xsd:string`` and its derived types) by code point; language-tagged strings of
  the same language tag by their text; booleans (false < true); ``xsd:dateTime`` (and
  ``dateTimeStamp``), ``xsd:date``, ``xsd:time`` and each ``xsd:g*`` type by XSD's order on
  the timeline; durations by XSD's partial order (four reference dates). Anything else
  cannot be compared: different value spaces (a date against a dateTime or a number), an
  IRI, a blank node, an ill-typed literal or one of a datatype without an order (even
  against itself), NaN.
- **Timezones**: a value with a timezone and one without compare only when they are more
  than 14 hours apart on the timeline; closer, the order is indeterminate, which counts as
  "cannot be compared". Dates order by their starting instants.
- **Size**: numbers of any length are read (as decimals: ``int()`` refuses more than 4,300
  digits); a year or duration field of more than 18 digits is well formed but not compared
  (XSD lets a processor limit the years it supports).

>>> from rdflib import Literal
>>> from rdflib.namespace import XSD as X
>>> well_formed("2024-W26-7", X.date), well_formed("-0044-03-15", X.date)
(False, True)
>>> compare(Literal("1", datatype=X.integer), Literal("1.0", datatype=X.decimal))
0
>>> compare(Literal("2024-06-30", datatype=X.date), Literal("2024-06-30T00:00:00", datatype=X.dateTime)) is None
True
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache
from typing import Any

from rdflib import Literal

XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
_XSD_STRING = XSD + "string"

#: A value: (value space, payload); payloads of one space compare with that space's function.
Value = tuple[str, Any]

# ---------------------------------------------------------------------------------------
#    Lexical spaces (XSD 1.1 Part 2 grammars; ASCII digits only)
# ---------------------------------------------------------------------------------------

_TZ = r"(?P<tz>Z|[+-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
_YEAR = r"(?P<y>-?(?:[1-9][0-9]{3,}|0[0-9]{3}))"
_MONTH = r"(?P<m>0[1-9]|1[0-2])"
_DAY = r"(?P<d>0[1-9]|[12][0-9]|3[01])"
_TIME = (
    r"(?:(?P<h>[01][0-9]|2[0-3]):(?P<mi>[0-5][0-9]):(?P<s>[0-5][0-9](?:\.[0-9]+)?)"
    r"|(?P<end>24:00:00(?:\.0+)?))"
)
_TEMPORAL = {
    "dateTime": rf"{_YEAR}-{_MONTH}-{_DAY}T{_TIME}{_TZ}?",
    "dateTimeStamp": rf"{_YEAR}-{_MONTH}-{_DAY}T{_TIME}{_TZ}",
    "date": rf"{_YEAR}-{_MONTH}-{_DAY}{_TZ}?",
    "time": rf"{_TIME}{_TZ}?",
    "gYear": rf"{_YEAR}{_TZ}?",
    "gYearMonth": rf"{_YEAR}-{_MONTH}{_TZ}?",
    "gMonth": rf"--{_MONTH}{_TZ}?",
    "gMonthDay": rf"--{_MONTH}-{_DAY}{_TZ}?",
    "gDay": rf"---{_DAY}{_TZ}?",
}
_TEMPORAL_RE = {name: re.compile(pattern, re.ASCII) for name, pattern in _TEMPORAL.items()}
#: the value space each temporal datatype's values live in (dateTimeStamp is a dateTime)
_TEMPORAL_SPACE = {name: name for name in _TEMPORAL} | {"dateTimeStamp": "dateTime"}

_SECONDS = r"[0-9]+(?:\.[0-9]+)?S"
_DU_TIME = rf"T(?=[0-9])(?:[0-9]+H)?(?:[0-9]+M)?(?:{_SECONDS})?"
_DURATION_RE = {
    "duration": re.compile(
        r"(?P<neg>-)?P(?=[0-9T])(?:(?P<y>[0-9]+)Y)?(?:(?P<mo>[0-9]+)M)?(?:(?P<d>[0-9]+)D)?"
        r"(?:T(?=[0-9])(?:(?P<h>[0-9]+)H)?(?:(?P<mi>[0-9]+)M)?(?:(?P<s>[0-9]+(?:\.[0-9]+)?)S)?)?",
        re.ASCII,
    ),
    "yearMonthDuration": re.compile(r"-?P(?:[0-9]+Y(?:[0-9]+M)?|[0-9]+M)", re.ASCII),
    "dayTimeDuration": re.compile(rf"-?P(?:[0-9]+D(?:{_DU_TIME})?|{_DU_TIME})", re.ASCII),
}

_DECIMAL_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)
_INTEGER_RE = re.compile(r"[+-]?[0-9]+", re.ASCII)
_FLOAT_RE = re.compile(
    r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?INF|NaN", re.ASCII
)
_BOOLEAN = {"true": 1, "1": 1, "false": 0, "0": 0}

#: integer subtypes: (lowest, highest) value, None for no bound
_INTEGER_RANGES: dict[str, tuple[int | None, int | None]] = {
    "integer": (None, None),
    "nonPositiveInteger": (None, 0),
    "negativeInteger": (None, -1),
    "long": (-(2**63), 2**63 - 1),
    "int": (-(2**31), 2**31 - 1),
    "short": (-(2**15), 2**15 - 1),
    "byte": (-(2**7), 2**7 - 1),
    "nonNegativeInteger": (0, None),
    "unsignedLong": (0, 2**64 - 1),
    "unsignedInt": (0, 2**32 - 1),
    "unsignedShort": (0, 2**16 - 1),
    "unsignedByte": (0, 2**8 - 1),
    "positiveInteger": (1, None),
}

# XML 1.0 (fifth edition) names, for Name, NCName, NMTOKEN and their kin
_NAME_START = (
    r"A-Z_a-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C-\u200D"
    r"\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\U00010000-\U000EFFFF"
)
_NAME_CHAR = _NAME_START + r"\-.0-9\u00B7\u0300-\u036F\u203F-\u2040"
_NCNAME_RE = re.compile(f"[{_NAME_START}][{_NAME_CHAR}]*")
_NAME_RE = re.compile(f"[:{_NAME_START}][:{_NAME_CHAR}]*")
_NMTOKEN_RE = re.compile(f"[:{_NAME_CHAR}]+")
_LANGUAGE_RE = re.compile(r"[a-zA-Z]{1,8}(?:-[a-zA-Z0-9]{1,8})*", re.ASCII)
_HEX_RE = re.compile(r"(?:[0-9a-fA-F]{2})*", re.ASCII)
_B64 = r"[A-Za-z0-9+/]"
_BASE64_RE = re.compile(
    rf"(?:(?:{_B64} ?){{4}})*(?:(?:{_B64} ?){{3}}{_B64}|(?:{_B64} ?){{2}}[AEIMQUYcgkosw048] ?="
    rf"|{_B64} ?[AQgw] ?= ?=)?",
    re.ASCII,
)


def _normalized(text: str) -> bool:
    return not any(c in text for c in "\t\n\r")


def _token(text: str) -> bool:
    return _normalized(text) and text == text.strip(" ") and "  " not in text


_STRING_TYPES: dict[str, Callable[[str], bool]] = {
    "string": lambda text: True,
    "normalizedString": _normalized,
    "token": _token,
    "language": lambda text: _LANGUAGE_RE.fullmatch(text) is not None,
    "Name": lambda text: _NAME_RE.fullmatch(text) is not None,
    "NCName": lambda text: _NCNAME_RE.fullmatch(text) is not None,
    "ID": lambda text: _NCNAME_RE.fullmatch(text) is not None,
    "IDREF": lambda text: _NCNAME_RE.fullmatch(text) is not None,
    "ENTITY": lambda text: _NCNAME_RE.fullmatch(text) is not None,
    "NMTOKEN": lambda text: _NMTOKEN_RE.fullmatch(text) is not None,
}
#: datatypes whose values have no order (equal or not, never less or greater)
_UNORDERED: dict[str, Callable[[str], bool]] = {
    "anyURI": lambda text: True,
    "hexBinary": lambda text: _HEX_RE.fullmatch(text) is not None,
    "base64Binary": lambda text: _BASE64_RE.fullmatch(text) is not None,
}

#: every XSD datatype this module knows (local names); others in the XSD namespace are not
#: recognised (QName, NOTATION, the list types NMTOKENS, IDREFS and ENTITIES, ...)
KNOWN = frozenset(
    {"decimal", "float", "double", "boolean", "duration", "yearMonthDuration", "dayTimeDuration"}
    | set(_TEMPORAL)
    | set(_INTEGER_RANGES)
    | set(_STRING_TYPES)
    | set(_UNORDERED)
)


def recognised(datatype: str) -> bool:
    """Whether ``datatype`` (an IRI) is one whose lexical space is checked here."""
    return datatype == RDF_LANGSTRING or (
        datatype.startswith(XSD) and datatype[len(XSD) :] in KNOWN
    )


# ---------------------------------------------------------------------------------------
#    Values
# ---------------------------------------------------------------------------------------

_NUMERIC = 0  # payload (rank, number): 0 decimal (Decimal), 1 float, 2 double (float)


def _float32(number: float) -> float:
    """``number`` rounded to the nearest single-precision float (overflow gives infinity)."""
    if math.isnan(number) or math.isinf(number):
        return number
    try:
        rounded: float = struct.unpack("<f", struct.pack("<f", number))[0]
    except OverflowError:
        return math.copysign(math.inf, number)
    return rounded


def _float_of(lexical: str) -> float:
    return float(lexical.replace("INF", "inf"))  # Python reads "inf", XSD writes "INF"


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days from 1970-01-01 in the proleptic Gregorian calendar (year 0 = 1 BCE)."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


#: the longest numbers (in digits) of a date, time or duration that are compared; XSD lets a
#: processor limit the years it supports, and longer ones would cost time for nothing
_MAX_DIGITS = 18
#: a date, time or duration that is well formed but too large to be compared
_TOO_LARGE = (Decimal(0), False)


def _temporal(kind: str, lexical: str) -> tuple[Decimal, bool] | None:
    """(seconds on the timeline, has a timezone), or None when not in the lexical space
    (:data:`_TOO_LARGE` for a year of more than :data:`_MAX_DIGITS` digits).

    Missing fields take fixed values (1972-12-31, the first of the month): only values of
    one datatype are compared, so only their differences matter."""
    match = _TEMPORAL_RE[kind].fullmatch(lexical)
    if match is None:
        return None
    fields = match.groupdict()
    year_text = fields.get("y")
    too_large = year_text is not None and len(year_text.lstrip("-")) > _MAX_DIGITS
    if year_text is None:
        year = 1972
    elif too_large:  # whether it is a leap year depends on its last four digits only
        year = int(year_text[-4:]) * (-1 if year_text.startswith("-") else 1)
    else:
        year = int(year_text)
    month = int(fields["m"]) if fields.get("m") else 12
    day = int(fields["d"]) if fields.get("d") else (31 if kind == "time" else 1)
    if fields.get("d") and day > _days_in_month(year if year_text else 2000, month):
        return None  # 2024-02-30; a gMonthDay may be --02-29
    if too_large:
        return _TOO_LARGE
    hour = minute = 0
    second = Decimal(0)
    if fields.get("end"):
        hour = (
            0 if kind == "time" else 24
        )  # a time of 24:00:00 is midnight; a dateTime's is the next day
    elif fields.get("h"):
        hour, minute, second = int(fields["h"]), int(fields["mi"]), Decimal(fields["s"])
    seconds = Decimal(_days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60)
    seconds += second
    zone = fields.get("tz")
    if zone is None:
        return seconds, False
    if zone != "Z":
        offset = int(zone[1:3]) * 60 + int(zone[4:6])
        seconds -= (offset if zone[0] == "+" else -offset) * 60
    return seconds, True


#: a duration that is well formed but too large to be compared
_TOO_LONG_DURATION = (0, Decimal(0))


def _duration(kind: str, lexical: str) -> tuple[int, Decimal] | None:
    """(months, seconds), signed, or None when not in the lexical space of ``kind``."""
    if kind != "duration" and _DURATION_RE[kind].fullmatch(lexical) is None:
        return None
    match = _DURATION_RE["duration"].fullmatch(lexical)
    if match is None:
        return None
    f = match.groupdict()
    if any(len(n) > _MAX_DIGITS for n in f.values() if n and n != "-"):
        return _TOO_LONG_DURATION
    months = int(f["y"] or 0) * 12 + int(f["mo"] or 0)
    seconds = Decimal(
        int(f["d"] or 0) * 86400 + int(f["h"] or 0) * 3600 + int(f["mi"] or 0) * 60
    ) + Decimal(f["s"] or 0)
    return (-months, -seconds) if f["neg"] else (months, seconds)


@lru_cache(maxsize=65536)
def _value(lexical: str, datatype: str | None, language: str | None) -> Value | None:  # noqa: PLR0911, PLR0912 - one branch per value space
    """The value of a literal, or None if it is ill-typed or its datatype has no order."""
    if language:
        return "lang:" + language.lower(), lexical
    if datatype is None or datatype == _XSD_STRING:
        return "string", lexical
    if not datatype.startswith(XSD):
        return None
    name = datatype[len(XSD) :]
    if name in _INTEGER_RANGES:
        if _INTEGER_RE.fullmatch(lexical) is None:
            return None
        number = Decimal(lexical)  # not int(): it refuses more than 4,300 digits
        low, high = _INTEGER_RANGES[name]
        if (low is not None and number < low) or (high is not None and number > high):
            return None
        return "numeric", (0, number)
    if name == "decimal":
        return ("numeric", (0, Decimal(lexical))) if _DECIMAL_RE.fullmatch(lexical) else None
    if name in ("float", "double"):
        if _FLOAT_RE.fullmatch(lexical) is None:
            return None
        real = _float_of(lexical)
        return ("numeric", (1, _float32(real))) if name == "float" else ("numeric", (2, real))
    if name == "boolean":
        flag = _BOOLEAN.get(lexical)
        return None if flag is None else ("boolean", flag)
    if name in _TEMPORAL_RE:
        instant = _temporal(name, lexical)
        if instant is None or instant is _TOO_LARGE:
            return None
        return _TEMPORAL_SPACE[name], instant
    if name in _DURATION_RE:
        span = _duration(name, lexical)
        return None if span is None or span is _TOO_LONG_DURATION else ("duration", span)
    check = _STRING_TYPES.get(name)
    if check is not None and check(lexical):
        return "string", lexical
    return None


@lru_cache(maxsize=65536)
def _well_formed(lexical: str, datatype: str) -> bool:
    name = datatype[len(XSD) :]
    if name in _UNORDERED:
        return _UNORDERED[name](lexical)
    if name in _TEMPORAL_RE:
        return _temporal(name, lexical) is not None
    if name in _DURATION_RE:
        return _duration(name, lexical) is not None
    return _value(lexical, datatype, None) is not None


def well_formed(lexical: str, datatype: str) -> bool:
    """Whether ``lexical`` is in the lexical space of ``datatype`` (any lexical form is, for a
    datatype that is not :func:`recognised`).

    >>> well_formed("1e3", XSD + "decimal"), well_formed("1e3", XSD + "double")
    (False, True)
    """
    if not datatype.startswith(XSD):
        return True
    if datatype[len(XSD) :] not in KNOWN:
        return True
    return _well_formed(lexical, datatype)


def value(term: Any) -> Value | None:
    """The value of an RDF term, or None when it has none that can be ordered (an IRI, a
    blank node, an ill-typed literal, a literal of an unordered or unknown datatype)."""
    if not isinstance(term, Literal):
        return None
    datatype = term.datatype
    return _value(str(term), None if datatype is None else str(datatype), term.language)


def _sign(difference: Any) -> int:
    return int(difference > 0) - int(difference < 0)


def _order(a: Any, b: Any) -> int:
    return int(a > b) - int(a < b)


def _compare_numbers(left: tuple[int, Any], right: tuple[int, Any]) -> int | None:
    rank = max(left[0], right[0])
    if rank == 0:  # integers and decimals: exactly
        return _order(left[1], right[1])
    if rank == 1:  # float and decimal: both as single-precision floats
        a, b = _float32(float(left[1])), _float32(float(right[1]))
    else:  # anything and double: both as doubles (a float is exact in a double)
        a, b = float(left[1]), float(right[1])
    if math.isnan(a) or math.isnan(b):  # NaN is neither less, equal nor greater
        return None
    return _order(a, b)


_FOURTEEN_HOURS = Decimal(14 * 3600)


def _compare_instants(left: tuple[Decimal, bool], right: tuple[Decimal, bool]) -> int | None:
    (a, a_zoned), (b, b_zoned) = left, right
    if a_zoned == b_zoned:
        return _sign(a - b)
    if a_zoned:  # b lies somewhere in [b - 14h, b + 14h]
        if a < b - _FOURTEEN_HOURS:
            return -1
        return 1 if a > b + _FOURTEEN_HOURS else None
    if a + _FOURTEEN_HOURS < b:
        return -1
    return 1 if a - _FOURTEEN_HOURS > b else None


#: the reference dateTimes of XSD's partial order of durations (year, month)
_DURATION_REFERENCES = ((1696, 9), (1697, 2), (1903, 3), (1903, 7))


def _after(year: int, month: int, span: tuple[int, Decimal]) -> Decimal:
    months = year * 12 + month - 1 + span[0]
    start = _days_from_civil(months // 12, months % 12 + 1, 1)
    return Decimal(start * 86400) + span[1]


def _compare_durations(left: tuple[int, Decimal], right: tuple[int, Decimal]) -> int | None:
    if left == right:
        return 0
    orders = {_sign(_after(y, m, left) - _after(y, m, right)) for y, m in _DURATION_REFERENCES}
    return orders.pop() if len(orders) == 1 else None


_COMPARERS: dict[str, Callable[[Any, Any], int | None]] = {
    "numeric": _compare_numbers,
    "duration": _compare_durations,
} | dict.fromkeys(set(_TEMPORAL_SPACE.values()), _compare_instants)


def compare(left: Any, right: Any) -> int | None:
    """-1, 0 or 1 as SPARQL's ``<``/``=`` order ``left`` and ``right`` by value, or None when
    they cannot be compared (see the module docstring).

    >>> from rdflib import URIRef
    >>> compare(Literal("a"), Literal("b")), compare(URIRef("urn:a"), URIRef("urn:a"))
    (-1, None)
    """
    a = value(left)
    if a is None:
        return None
    b = value(right)
    if b is None or a[0] != b[0]:
        return None
    compare_space = _COMPARERS.get(a[0])
    if compare_space is None:  # strings, language-tagged strings, booleans
        return _order(a[1], b[1])
    return compare_space(a[1], b[1])
