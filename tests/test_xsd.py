"""XSD 1.1 lexical spaces and value order, as the SHACL engine reads literals.

These hold without Jena; ``tests/test_shacl_jena.py`` checks the same reading against Jena
SHACL on larger corpora, and shows where Jena departs from XSD (those cases are here too,
with the answer XSD gives).
"""

from __future__ import annotations

from typing import Any

import pytest
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import XSD

from cipd_graph.validation import xsd as _xsd

pytestmark = pytest.mark.filterwarnings("ignore:Parsing weird boolean:UserWarning")


def lit(lexical: str, datatype: URIRef | None = None, lang: str | None = None) -> Literal:
    return Literal(lexical, datatype=datatype, lang=lang, normalize=False)


#: (datatype, lexical form, in the lexical space)
FORMS = [
    # what issue 23 found accepted or refused wrongly
    (XSD.decimal, "1e3", False),
    (XSD.decimal, "NaN", False),
    (XSD.decimal, "1_000", False),
    (XSD.positiveInteger, "-1", False),
    (XSD.positiveInteger, "0", False),
    (XSD.date, "2024-W26-7", False),
    (XSD.date, "0000-01-01", True),
    (XSD.date, "-0044-03-15", True),
    # decimals and integers
    (XSD.decimal, "+.5", True),
    (XSD.decimal, "1.", True),
    (XSD.decimal, "\u0661", False),  # an Arabic-Indic digit: only ASCII digits count
    (XSD.integer, "007", True),
    (XSD.integer, "1.0", False),
    (XSD.byte, "-129", False),
    (XSD.unsignedLong, "18446744073709551615", True),
    # whitespace is not in any lexical space but a string's (Jena collapses it first)
    (XSD.integer, " 1", False),
    (XSD.date, "2024-06-30 ", False),
    (XSD.string, " x ", True),
    # floats and doubles (XSD 1.1 allows +INF; Jena, following XSD 1.0, does not)
    (XSD.double, "+INF", True),
    (XSD.double, "inf", False),
    (XSD.float, "1e39", True),  # rounds to INF
    # dates and times
    (XSD.date, "2024-02-29", True),
    (XSD.date, "2023-02-29", False),
    (XSD.date, "2024-06-30+14:00", True),
    (XSD.date, "2024-06-30+14:01", False),
    (XSD.date, "02024-01-01", False),
    (XSD.date, "10000-01-01", True),
    (XSD.dateTime, "2024-06-30T24:00:00", True),
    (XSD.dateTime, "2024-06-30T24:00:01", False),
    (XSD.dateTimeStamp, "2024-06-30T10:00:00", False),
    (XSD.time, "24:00:00", True),
    (XSD.gYear, "-0044", True),
    (XSD.gMonth, "--06", True),
    (XSD.gMonth, "--06--", False),  # the first edition of XSD 1.0 (Jena accepts it)
    (XSD.gMonthDay, "--02-29", True),
    (XSD.gMonthDay, "--02-30", False),
    (XSD.duration, "P2W", False),
    (XSD.duration, "PT", False),
    (XSD.duration, "P1.5D", False),
    (XSD.yearMonthDuration, "P1D", False),
    # others
    (XSD.boolean, "TRUE", False),
    (XSD.anyURI, "%zz", True),  # XSD 1.1: any string (Jena parses it as a URI)
    (XSD.language, "en-GB", True),
    (XSD.language, "english-language", True),
    (XSD.language, "e1", False),
    (XSD.NCName, "a:b", False),
    (XSD.hexBinary, "0", False),
    (XSD.base64Binary, "A A A A", True),
    (URIRef("http://example.org/ownType"), "anything", True),  # not recognised: any form
]


@pytest.mark.parametrize(
    ("datatype", "lexical", "expected"),
    FORMS,
    ids=[f"{d.rsplit('#', 1)[-1]} {lexical!r}" for d, lexical, _ in FORMS],
)
def test_lexical_spaces(datatype: URIRef, lexical: str, expected: bool):
    assert _xsd.well_formed(lexical, str(datatype)) is expected


def test_long_values_are_read_without_cost_or_error():
    """Numbers of any length (int() refuses more than 4,300 digits); years too long to compare
    are still checked for their form, leap days included."""
    digits = "1" * 100_000
    assert _xsd.well_formed(digits, str(XSD.integer))
    assert _xsd.compare(lit(digits, XSD.integer), lit("2", XSD.integer)) == 1
    assert _xsd.compare(lit(digits, XSD.integer), lit("1e308", XSD.double)) == 1
    assert _xsd.well_formed("1" + "0" * 30 + "-02-29", str(XSD.date))  # divisible by 400
    assert not _xsd.well_formed("1" * 31 + "-02-29", str(XSD.date))
    assert _xsd.compare(lit("1" * 31 + "-01-01", XSD.date), lit("2024-01-01", XSD.date)) is None
    assert _xsd.well_formed("P" + "9" * 40 + "Y", str(XSD.duration))


def test_datatypes_not_recognised_are_said_so():
    assert _xsd.recognised(str(XSD.date)) and _xsd.recognised(str(XSD.NMTOKEN))
    assert not _xsd.recognised(str(XSD.QName)) and not _xsd.recognised(str(XSD.NMTOKENS))
    assert not _xsd.recognised("http://example.org/ownType")


#: (left, right, -1/0/1 or None when they cannot be compared)
ORDERS: list[tuple[Any, Any, int | None]] = [
    # numbers compare across types by value (XPath's promotion)
    (lit("1", XSD.integer), lit("1.0", XSD.decimal), 0),
    (lit("1", XSD.positiveInteger), lit("2", XSD.byte), -1),
    (lit("0.1", XSD.decimal), lit("0.1", XSD.float), 0),  # both as floats
    (lit("0.1", XSD.float), lit("0.1", XSD.double), 1),  # the float is a little larger
    (lit("9007199254740993", XSD.integer), lit("9007199254740992", XSD.double), 0),
    (lit("0", XSD.double), lit("-0", XSD.double), 0),
    (lit("1", XSD.integer), lit("NaN", XSD.double), None),
    (lit("NaN", XSD.double), lit("NaN", XSD.double), None),
    (lit("1", XSD.integer), lit("INF", XSD.float), -1),
    # ill-typed literals have no value, not even against themselves
    (lit("-1", XSD.positiveInteger), lit("-1", XSD.positiveInteger), None),
    (lit("1", XSD.integer), lit("-1", XSD.positiveInteger), None),
    (lit("2024-W26-7", XSD.date), lit("2024-06-30", XSD.date), None),
    (lit("x", URIRef("http://example.org/t")), lit("x", URIRef("http://example.org/t")), None),
    # different value spaces
    (lit("2024-06-30", XSD.date), lit("2024-06-30T00:00:00", XSD.dateTime), None),
    (lit("2024-06-30", XSD.date), lit("20240630", XSD.integer), None),
    (lit("1"), lit("1", XSD.integer), None),
    (lit("2024", XSD.gYear), lit("2024-01-01", XSD.date), None),
    (URIRef("urn:a"), URIRef("urn:b"), None),
    (URIRef("urn:a"), URIRef("urn:a"), None),
    (BNode("a"), BNode("a"), None),
    # strings by code point; language-tagged strings of one tag by their text
    (lit("a"), lit("b", XSD.string), -1),
    (lit("a", XSD.token), lit("a"), 0),
    (lit("\U0001f600"), lit("\ufffd"), 1),
    (lit("a", lang="en"), lit("b", lang="en"), -1),
    (lit("a", lang="en"), lit("a", lang="EN"), 0),
    (lit("a", lang="en"), lit("b", lang="fr"), None),
    (lit("a", lang="en"), lit("a"), None),
    (lit("false", XSD.boolean), lit("1", XSD.boolean), -1),
    # dates and times on the timeline; a timezone against none decides only beyond 14 hours
    (lit("-0044-03-15", XSD.date), lit("0000-01-01", XSD.date), -1),
    (lit("-0000-01-01", XSD.date), lit("0000-01-01", XSD.date), 0),
    (lit("2024-06-30", XSD.date), lit("2024-06-30Z", XSD.date), None),
    (lit("2024-06-29Z", XSD.date), lit("2024-06-30", XSD.date), -1),
    (lit("2024-06-30Z", XSD.date), lit("2024-06-30-05:00", XSD.date), -1),
    (lit("2024-06-30T10:00:00+02:00", XSD.dateTime), lit("2024-06-30T08:00:00Z", XSD.dateTime), 0),
    (lit("2024-06-30T24:00:00", XSD.dateTime), lit("2024-07-01T00:00:00", XSD.dateTime), 0),
    (lit("2024-06-30T00:00:00", XSD.dateTime), lit("2024-06-30T13:00:00Z", XSD.dateTime), None),
    (lit("2024-06-30T00:00:00", XSD.dateTime), lit("2024-06-30T14:00:01Z", XSD.dateTime), -1),
    (lit("2024-06-30T10:00:00Z", XSD.dateTimeStamp), lit("2024-06-30T10:00:00Z", XSD.dateTime), 0),
    (
        lit("2024-06-30T10:00:00.1234567891", XSD.dateTime),
        lit("2024-06-30T10:00:00.123456789", XSD.dateTime),
        1,
    ),
    (lit("10:00:00", XSD.time), lit("11:00:00Z", XSD.time), None),
    (lit("24:00:00", XSD.time), lit("00:00:00", XSD.time), 0),
    (lit("2024", XSD.gYear), lit("2025", XSD.gYear), -1),
    # durations: XSD's partial order
    (lit("P1D", XSD.duration), lit("PT24H", XSD.duration), 0),
    (lit("P1M", XSD.duration), lit("P30D", XSD.duration), None),
    (lit("P1Y", XSD.duration), lit("P365D", XSD.duration), None),
    (lit("P1Y", XSD.duration), lit("P367D", XSD.duration), -1),
    (lit("P12M", XSD.yearMonthDuration), lit("P1Y", XSD.duration), 0),
    (lit("-P1D", XSD.duration), lit("PT0S", XSD.duration), -1),
]


@pytest.mark.parametrize(
    ("left", "right", "expected"), ORDERS, ids=[f"{a.n3()} {b.n3()}" for a, b, _ in ORDERS]
)
def test_value_order(left: Any, right: Any, expected: int | None):
    assert _xsd.compare(left, right) == expected
    flipped = None if expected is None else -expected
    assert _xsd.compare(right, left) == flipped
