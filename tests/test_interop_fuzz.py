"""Mutation fuzzing of the xAPI, Curriculum Inventory and CTDL-ASN readers: any input gives a batch or a RecordError.

Two kinds: structure-aware mutations (JSON values swapped for odd ones, XML elements emptied)
from a seeded ``random.Random``, so the same cases run every time and a failure names the seed
and case to replay; and hypothesis over byte-level mutations with the shared contract of
``tests/fuzzing.py``.
"""

from __future__ import annotations

import functools
import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cipd_graph import GraphStore, RecordError, Settings
from cipd_graph.interop.ctdl_asn import read_ctdl_asn
from cipd_graph.interop.curriculum_inventory import read_curriculum_inventory
from cipd_graph.interop.xapi import read_xapi
from cipd_graph.mapping.mapper import Mapper

from .fuzzing import fuzz_parser

FIXTURES = Path(__file__).parent / "fixtures" / "interop"
CTDL = Path(__file__).parent / "data" / "ctdl-asn" / "interprofessional-physician-competencies.json"
CASES = 150
ODD_VALUES: list[Any] = [
    None,
    0,
    -1,
    1.5,
    True,
    "",
    "x",
    [],
    {},
    [None],
    {"id": None},
    "é" * 3,
    "\x00",
]


@pytest.fixture(scope="module")
def mapper() -> Iterator[Mapper]:
    store = GraphStore(None, Settings(pseudonym_key="fuzz-key-0123456789abcdef", user="fuzz"))
    yield store.new_mapper()


def _mutate_json(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict) and value and rng.random() < 0.7:
        key = rng.choice(sorted(value))
        copy = dict(value)
        roll = rng.random()
        if roll < 0.25:
            del copy[key]
        elif roll < 0.5:
            copy[key] = rng.choice(ODD_VALUES)
        else:
            copy[key] = _mutate_json(value[key], rng)
        return copy
    if isinstance(value, list) and value and rng.random() < 0.7:
        copy = list(value)
        i = rng.randrange(len(copy))
        copy[i] = _mutate_json(copy[i], rng) if rng.random() < 0.7 else rng.choice(ODD_VALUES)
        return copy
    return rng.choice(ODD_VALUES)


def _mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    roll = rng.random()
    if roll < 0.3:
        return data[: rng.randrange(len(data))]
    buf = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(buf))
        buf[i] = rng.choice(b"<>&\"'{}[]:,/\\\x00\xff\xc3 aZ9-=")
    return bytes(buf)


def _run(read: Callable[[Path, Mapper], object], path: Path, mapper: Mapper) -> bool:
    """True when the file was mapped, False when it was refused with located problems."""
    try:
        read(path, mapper)
    except RecordError as exc:
        assert exc.problems and all(p.reason for p in exc.problems)
        return False
    return True


def test_xapi_reader_never_fails_otherwise(mapper: Mapper, tmp_path: Path) -> None:
    rng = random.Random(20261126)
    statements = json.loads((FIXTURES / "xapi-statements.json").read_text())
    statements += json.loads((FIXTURES / "xapi-lrs-odd.json").read_text())
    raw = (FIXTURES / "xapi-statements.json").read_bytes()
    outcomes: list[bool] = []
    for case in range(CASES):
        structured = rng.random() < 0.7
        path = tmp_path / (f"case-{case}.json" if case % 3 else f"case-{case}.jsonl")
        if structured:
            mutated = _mutate_json(statements, rng)
            text = (
                "\n".join(json.dumps(s) for s in mutated)
                if path.suffix == ".jsonl" and isinstance(mutated, list)
                else json.dumps(mutated)
            )
            path.write_text(text)
        else:
            path.write_bytes(_mutate_bytes(raw, rng))
        try:
            outcomes.append(_run(read_xapi, path, mapper))
        except Exception as exc:  # pragma: no cover - the report of a failure
            pytest.fail(f"seed 20261126 case {case}: {type(exc).__name__}: {exc}")
    assert 0 < sum(outcomes) < len(outcomes)  # both mapped and refused files were tried


def test_curriculum_inventory_reader_never_fails_otherwise(mapper: Mapper, tmp_path: Path) -> None:
    rng = random.Random(20261127)
    raw = (FIXTURES / "curriculum-inventory.xml").read_bytes()
    text = raw.decode("utf-8")
    outcomes: list[bool] = []
    elements = [
        "Title",
        "EventDuration",
        "Duration",
        "StartDate",
        "EndDate",
        "ReportID",
        "lom:entry",
        "EventReference",
        "Interprofessional",
    ]
    for case in range(CASES):
        if rng.random() < 0.5:
            mutated = text
            for _ in range(rng.randint(1, 3)):
                name = rng.choice(elements)
                start = mutated.find(f"<{name}")
                if start < 0:
                    continue
                end = mutated.find(f"</{name}>", start)
                if end < 0:
                    continue
                replacement = rng.choice(
                    ["", f"<{name}></{name}>", f"<{name}>{rng.choice(ODD_VALUES)!s}</{name}>"]
                )
                mutated = mutated[:start] + replacement + mutated[end + len(name) + 3 :]
            data = mutated.encode("utf-8")
        else:
            data = _mutate_bytes(raw, rng)
        path = tmp_path / f"case-{case}.xml"
        path.write_bytes(data)
        try:
            outcomes.append(_run(read_curriculum_inventory, path, mapper))
        except Exception as exc:  # pragma: no cover - the report of a failure
            pytest.fail(f"seed 20261127 case {case}: {type(exc).__name__}: {exc}")
    assert 0 < sum(outcomes) < len(outcomes)  # both mapped and refused files were tried


def test_ctdl_asn_reader_never_fails_otherwise(mapper: Mapper, tmp_path: Path) -> None:
    rng = random.Random(20261204)
    document = json.loads(CTDL.read_text())
    raw = CTDL.read_bytes()
    outcomes: list[bool] = []
    for case in range(CASES // 3):  # each case runs the JSON-LD expansion: fewer, slower cases
        path = tmp_path / f"case-{case}.json"
        if rng.random() < 0.7:
            path.write_text(json.dumps(_mutate_json(document, rng)))
        else:
            path.write_bytes(_mutate_bytes(raw, rng))
        try:
            outcomes.append(_run(read_ctdl_asn, path, mapper))
        except Exception as exc:  # pragma: no cover - the report of a failure
            pytest.fail(f"seed 20261204 case {case}: {type(exc).__name__}: {exc}")
    assert 0 < sum(outcomes) < len(outcomes)  # both mapped and refused files were tried


# --------------------------------------------------------------------------- hypothesis
# The shared contract of tests/fuzzing.py (any bytes: records, or a RecordError whose problems
# name the file, the record and a line inside it), driven by hypothesis over mutations of the
# realistic fixtures and arbitrary text, for every importer of foreign formats.


@functools.cache
def _shared_mapper() -> Mapper:
    store = GraphStore(None, Settings(pseudonym_key="fuzz-key-0123456789abcdef", user="fuzz"))
    return store.new_mapper()


def _with_mapper(read: Callable[[Path, Mapper], object]) -> Callable[[Path], object]:
    return lambda path: read(path, _shared_mapper())


test_xapi_json_contract = fuzz_parser(
    _with_mapper(read_xapi), seeds=[FIXTURES / "xapi-statements.json"], name="statements.json"
)
test_xapi_json_lines_contract = fuzz_parser(
    _with_mapper(read_xapi), seeds=[FIXTURES / "xapi-statements.json"], name="statements.jsonl"
)
test_curriculum_inventory_contract = fuzz_parser(
    _with_mapper(read_curriculum_inventory),
    seeds=[FIXTURES / "curriculum-inventory.xml"],
    name="report.xml",
)
test_ctdl_asn_contract = fuzz_parser(
    _with_mapper(read_ctdl_asn), seeds=[CTDL], name="framework.json"
)
