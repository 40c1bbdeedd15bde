"""Property-based testing of record parsers and importers: a reusable contract and strategies.

Every parser of a file format (the project and CSV parsers of ``cipd_graph.records.parse``, and
importers of foreign formats) must, for any bytes at all, either return its records or raise
:class:`~cipd_graph._errors.RecordError` whose problems say where (file, line, record, field)
and why; never another exception. To fuzz a new parser, write::

    from .fuzzing import fuzz_parser

    test_xapi_parser_never_crashes = fuzz_parser(
        parse_xapi, seeds=[SAMPLES / "statements.json"], name="statements.json"
    )

``fuzz_parser`` feeds the parser its seed files mutated (cut, spliced, bytes flipped, lines
duplicated or dropped, structural characters inserted) and arbitrary text, and checks
:func:`check_parser_contract` on each. ``mutated`` and ``check_parser_contract`` can be used
directly for format-aware strategies.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cipd_graph._errors import RecordError

#: Characters that matter to YAML, JSON and CSV, inserted by the mutations.
STRUCTURAL = [
    b":",
    b"-",
    b"\n",
    b"  ",
    b",",
    b";",
    b'"',
    b"'",
    b"{",
    b"}",
    b"[",
    b"]",
    b"#",
    b"&a",
    b"*a",
    b"!!",
    b"\t",
    b"\r",
    b"\x00",
    b"\xff",
    b"\xef\xbb\xbf",
    b"%",
    b"|",
]


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """``seed`` with one to four random edits: delete, duplicate, insert, flip, swap lines."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        edit = draw(
            st.sampled_from(
                [
                    "delete",
                    "insert",
                    "flip",
                    "duplicate-line",
                    "drop-line",
                    "swap-lines",
                    "truncate",
                ]
            )
        )
        at = draw(st.integers(0, len(data)))
        if edit == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        elif edit == "insert":
            data[at:at] = draw(st.sampled_from(STRUCTURAL) | st.binary(min_size=1, max_size=8))
        elif edit == "flip" and data:
            data[min(at, len(data) - 1)] = draw(st.integers(0, 255))
        elif edit == "truncate":
            del data[at:]
        else:
            lines = bytes(data).split(b"\n")
            i = draw(st.integers(0, len(lines) - 1))
            j = draw(st.integers(0, len(lines) - 1))
            if edit == "duplicate-line":
                lines.insert(j, lines[i])
            elif edit == "drop-line":
                del lines[i]
            else:
                lines[i], lines[j] = lines[j], lines[i]
            data = bytearray(b"\n".join(lines))
    return bytes(data)


def check_parser_contract(parse: Callable[[Path], Any], path: Path, data: bytes) -> Any | None:
    """Write ``data`` to ``path`` and parse it: the records, or None after a well-located RecordError.

    Any exception other than RecordError fails; so does a RecordError without problems, or
    with a problem that does not name the file, says no reason, or gives a line outside it.
    """
    path.write_bytes(data)
    try:
        return parse(path)
    except RecordError as exc:
        assert exc.problems, "a RecordError must list its problems"
        lines = data.count(b"\n") + 1
        for problem in exc.problems:
            assert problem.file == str(path), problem
            assert problem.record, f"problem without a record: {problem}"
            assert problem.reason.strip(), f"problem without a reason: {problem}"
            assert problem.line is None or 1 <= problem.line <= lines + 1, (problem, lines)
            assert str(problem).startswith(str(path)), problem
        return None


def fuzz_parser(
    parse: Callable[[Path], Any],
    seeds: Sequence[Path],
    *,
    name: str,
    max_examples: int = 150,
) -> Callable[[], None]:
    """A test that fuzzes ``parse`` with mutations of ``seeds`` and arbitrary text, in a file called ``name``."""
    seed_bytes = [p.read_bytes() for p in seeds]
    inputs = (
        st.sampled_from(seed_bytes).flatmap(mutated)
        | st.text(max_size=300).map(lambda t: t.encode("utf-8"))
        | st.binary(max_size=300)
    )

    @settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=inputs)
    def test(data: bytes) -> None:
        with tempfile.TemporaryDirectory() as folder:
            check_parser_contract(parse, Path(folder) / name, data)

    return test
