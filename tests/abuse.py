"""A catalogue of hostile inputs, each with what a clean refusal says about it.

Used by the CLI tests (``tests/test_abuse_cli.py``), the HTTP tests
(``tests/api/test_abuse_api.py``) and the reliability counts. Every input here once made the
tool crash, hang, allocate a gigabyte or silently change meaning (issue 23); each must now be
refused with a message that names the file, where possible its line, and why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from .conftest import SAMPLES

ROOT = Path(__file__).resolve().parents[1]
WARD7 = (SAMPLES / "projects" / "ward7-falls.yaml").read_text(encoding="utf-8")
PEOPLE = (SAMPLES / "reference" / "people.csv").read_text(encoding="utf-8")
XAPI = (ROOT / "tests" / "fixtures" / "interop" / "xapi-statements.json").read_text(
    encoding="utf-8"
)
CASE = (ROOT / "tests" / "data" / "case" / "ipec-core-competencies.case.json").read_text(
    encoding="utf-8"
)
CI = (ROOT / "tests" / "fixtures" / "interop" / "curriculum-inventory.xml").read_text(
    encoding="utf-8"
)
BIG = "9" * 5000  # past Python's 4,300-digit limit on int(str)


@dataclass(frozen=True)
class Bad:
    """A hostile file: its name, bytes, what the refusal must say, and on which line."""

    name: str
    data: bytes
    says: str
    line: int | None = None
    #: Checked against the store, which a load does only once every file parses: try alone.
    alone: bool = False

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / self.name
        path.write_bytes(self.data)
        return path


def _line(text: str, needle: str) -> int:
    """The line of ``text`` holding ``needle`` (the samples change; refusals name the line)."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def _ward7_json() -> dict[str, object]:
    data = yaml.load(WARD7, Loader=yaml.BaseLoader)  # every scalar a string: "on" stays "on"
    assert isinstance(data, dict)
    return data


def _deep_yaml_block(levels: int) -> str:
    return "".join(f"{'  ' * i}a:\n" for i in range(levels)) + f"{'  ' * levels}b: 1\n"


def _bomb() -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    return "\n".join(lines) + "\nid: bomb\n"


def records() -> list[Bad]:
    """Project files and reference tables, for ``cipd validate`` and ``POST /validate``."""
    w7 = _ward7_json()
    as_json = json.dumps(w7, indent=1)
    return [
        # numbers: a gigabyte written out, or past Python's int-str limit
        Bad(
            "huge-exponent.yaml",
            WARD7.replace("baseline: 8.1", "baseline: 1e300000000").encode(),
            "too many digits",
            _line(WARD7, "baseline: 8.1"),
        ),
        Bad(
            "huge-float.yaml",
            WARD7.replace("baseline: 8.1", "baseline: 1.0e+300000000").encode(),
            "too many digits",
            _line(WARD7, "baseline: 8.1"),
        ),
        Bad(
            "bigint.yaml",
            WARD7.replace("baseline: 8.1", f"baseline: {BIG}").encode(),
            "too many digits",
            _line(WARD7, "baseline: 8.1"),
        ),
        Bad(
            "bigint.json",
            as_json.replace('"baseline": "8.1"', f'"baseline": {BIG}').encode(),
            "too many digits",
        ),
        Bad(
            "huge-exponent.json",
            as_json.replace('"baseline": "8.1"', '"baseline": 1e300000000').encode(),
            "too many digits",
        ),
        Bad(
            "nan.json",
            as_json.replace('"baseline": "8.1"', '"baseline": NaN').encode(),
            "NaN",
            _line(as_json, '"baseline": "8.1"'),
        ),
        # nesting: past the recursion limit, and under it but past CIPD_MAX_NESTING
        Bad("deep.json", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        Bad("deep-200.json", b'{"a":' * 200 + b"1" + b"}" * 200, "nested too deeply"),
        Bad("deep-block.yaml", _deep_yaml_block(200).encode(), "nested too deeply", 65),
        Bad("deep-flow.yaml", b"[" * 100_000, "exceeded maximum nesting depth", 1),
        Bad("bomb.yaml", _bomb().encode(), "aliases expand"),
        # meaning changed silently: the last of two keys would win
        Bad(
            "dupkey.yaml",
            WARD7.replace("aim: Reduce", "title: Another title\naim: Reduce").encode(),
            "'title' is written twice",
            _line(WARD7, "aim: Reduce"),
        ),
        Bad(
            "dupkey-member.yaml",
            WARD7.replace(
                "{person: nsh-0103, profession: OccupationalTherapist, start: 2024-05-01}",
                "{person: nsh-0103, profession: OccupationalTherapist, person: nsh-0104}",
            ).encode(),
            "'person' is written twice",
            _line(WARD7, "{person: nsh-0103"),
        ),
        Bad(
            "dupkey.json",
            as_json.replace('"aim":', '"title": "Another title",\n "aim":', 1).encode(),
            "'title' appears twice",
            1,
        ),
        # malformed CSV
        Bad(
            "open-quote-people.csv",
            b'id,profession,name\nx-1,Nurse,"Amara\nx-2,Nurse,Bo\n',
            "never closed",
            2,
        ),
        Bad(
            "junk-after-quote-people.csv",
            b'id,profession,name\nx-1,Nurse,"Amara" Osei\n',
            "not valid CSV",
            2,
        ),
        Bad(
            "short-row-people.csv",
            b"id,profession,name,identifies_as_improver\nx-1,Nurse\n",
            "2 cell(s) where the header has 4",
            2,
        ),
        Bad("long-row-people.csv", b"id,profession\nx-1,Nurse,extra\n", "more cells", 2),
        Bad("nul-people.csv", b"id,profession,name\nx-1,Nurse,A\x00b\n", "NUL", 2),
        Bad(
            "utf16-people.csv",
            "id,profession\nx-1,Nurse\n".encode("utf-16"),
            "not UTF-8",
            1,
        ),
        Bad(
            "latin1-people.csv",
            "id,profession,name\nx-1,Nurse,Zoë\n".encode("latin-1"),
            "not UTF-8",
            2,
        ),
        Bad(
            "huge-cell-people.csv",
            b"id,profession,name\nx-1,Nurse," + b"n" * 200_000 + b"\n",
            "field larger than field limit",
            2,
        ),
        Bad("twice-header-people.csv", b"id,name,name\nx-1,A,B\n", "named twice", 1),
        # one pseudonym, two names: nsh-0101 is in the sample people.csv already
        Bad(
            "trust-people.csv",
            b"id,profession,name\nnsh-0101,Nurse,Somebody Else\n",
            "already loaded from",
            2,
            alone=True,
        ),
    ]


def xapi() -> list[Bad]:
    """xAPI statement files, for ``cipd import xapi`` and ``POST /import/xapi``."""
    return [
        Bad(
            "bigint-xapi.json",
            XAPI.replace('"timestamp": "2024-05-20T08:30:00+01:00"', f'"score": {BIG}', 1).encode(),
            "too many digits",
        ),
        Bad(
            "deep-xapi.json",
            (
                '[{"id": "x", "context": {"extensions": {"x": ' + "[" * 5000 + "]" * 5000 + "}}}]"
            ).encode(),
            "nested too deeply",
        ),
        Bad(
            "dupkey-xapi.json",
            XAPI.replace(
                '"platform": "Northshire LMS",', '"platform": "A", "platform": "B",', 1
            ).encode(),
            "'platform' appears twice",
        ),
        Bad(
            "inf-xapi.json",
            XAPI.replace('"stored": "2024-05-20T08:30:00+01:00"', '"stored": 1e999', 1).encode(),
            "too many digits",
        ),
        Bad("bigint-lines.jsonl", b'{"id": "x"}\n{"n": ' + BIG.encode() + b"}\n", "too many", 2),
    ]


def case() -> list[Bad]:
    """CASE packages, for ``cipd import case``."""
    return [
        Bad(
            "bigint.case.json",
            CASE.replace('"language": "en",', f'"language": "en", "n": {BIG},', 1).encode(),
            "too many digits",
        ),
        Bad(
            "dupkey.case.json",
            CASE.replace('"language": "en",', '"language": "en", "language": "fr",', 1).encode(),
            "'language' appears twice",
        ),
        Bad(
            "deep.case.json",
            ('{"CFDocument": ' + "[" * 3000 + "]" * 3000 + "}").encode(),
            "nested too deeply",
        ),
    ]


def curriculum_inventory() -> list[Bad]:
    """Curriculum Inventory reports, for ``cipd import curriculum-inventory``."""
    deep = CI.replace(
        "</CurriculumInventory>", "<x>" * 500 + "</x>" * 500 + "</CurriculumInventory>", 1
    )
    return [Bad("deep-ci.xml", deep.encode(), "nested too deeply")]


def all_inputs() -> dict[str, list[Bad]]:
    """Every catalogue, by the format that reads it."""
    return {
        "records": records(),
        "xapi": xapi(),
        "case": case(),
        "curriculum-inventory": curriculum_inventory(),
    }
