"""Record formats: every file kind parses; mistakes are reported with file, line, record, field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from cipd_graph._errors import RecordError
from cipd_graph.records.parse import (
    TABLES,
    Project,
    _compose_and_construct,
    _Yaml12Loader,
    json_schemas,
    parse_file,
)

from .conftest import ROOT, SAMPLES

WARD7 = SAMPLES / "projects" / "ward7-falls.yaml"


def problems(path: Path) -> list:
    with pytest.raises(RecordError) as info:
        parse_file(path)
    return info.value.problems


def test_every_sample_file_parses():
    files = sorted(SAMPLES.rglob("*.yaml")) + sorted(SAMPLES.rglob("*.csv"))
    kinds = {parse_file(f).kind for f in files}
    assert kinds == {"project", *TABLES}


def test_project_yaml_and_json_parse_to_the_same_record(tmp_path: Path):
    data = yaml.load(WARD7.read_text(encoding="utf-8"), Loader=_Yaml12Loader)
    as_json = tmp_path / "ward7.json"
    as_json.write_text(json.dumps(data), encoding="utf-8")
    assert parse_file(as_json).records[0].record == parse_file(WARD7).records[0].record


def test_yaml_on_and_no_stay_strings():
    project = parse_file(WARD7).records[0].record
    assert [r.mode.value for r in project.reflections] == ["on", "in", "through"]


SCALARS = [
    *["on", "off", "yes", "no", "y", "n", "true", "True", "TRUE", "false", "FALSE"],
    *["maybe", "null", "Null", "~", "12", "-3", "+4", "0o17", "017", "0x1F", "1_000"],
    *["1.5", "-2.5e3", ".inf", "-.Inf", "1e3", "2024-01-05", "2024-1-5", "10:30"],
    *["2024-01-05T10:00:00Z", "1:20:30", "nurse", "module-00042", "''", "'true'", '"12"'],
]


@pytest.mark.parametrize("repeat", [1, 2])
def test_cached_scalar_tags_match_the_yaml_rules(repeat: int):
    """The fast loader resolves short plain scalars from a cache (filled on the first pass,
    read on the second); it must build what the pure-Python YAML 1.2 loader builds."""
    text = "\n".join(f"k{i}: {value}" for i, value in enumerate(SCALARS * repeat)) + "\n"
    _root, fast = _compose_and_construct(text)
    assert fast == yaml.load(text, Loader=_Yaml12Loader)
    by_text = dict(zip(SCALARS, fast.values(), strict=False))
    assert by_text["on"] == "on" and by_text["true"] is True and by_text["1_000"] == 1000
    assert by_text["2024-01-05"] == "2024-01-05" and by_text["'true'"] == "true"


def test_all_mistakes_of_a_project_file_are_reported_with_lines(tmp_path: Path):
    text = WARD7.read_text(encoding="utf-8")
    text = text.replace("number: 2", "number: 0", 1)
    text = text.replace("mode: in", "mode: sideways", 1)
    text = text.replace("title: Daily", "titel: Daily", 1)
    text = text.replace("start: 2024-05-20", "start: 2024-13-20", 1)
    bad = tmp_path / "ward7.yaml"
    bad.write_text(text, encoding="utf-8")
    found = {(p.line, p.field): p for p in problems(bad)}
    lines = text.splitlines()

    def line_of(fragment: str) -> int:
        return next(i for i, line in enumerate(lines, 1) if fragment in line)

    assert found[(line_of("number: 0"), "pdsa_cycles[1].number")].reason.startswith(
        "Input should be greater"
    )
    assert (line_of("mode: sideways"), "reflections[1].mode") in found
    assert found[(line_of("titel: Daily"), "learning_activities[0].titel")].reason.startswith(
        "unknown field"
    )
    assert any(
        f == "learning_activities[0].title" and found[(ln, f)].reason == "required field is missing"
        for ln, f in found
    )
    assert (line_of("start: 2024-13-20"), "pdsa_cycles[1].start") in found
    assert all(p.file == str(bad) and p.record == "project ward7-falls" for p in found.values())


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            ("change_idea: medication-review", "change_idea: nothing-like-it"),
            "which is not among change_ideas",
        ),
        (("cycle: 1\n", "cycle: 9\n"), "which is not among pdsa_cycles"),
        (("end: 2025-03-31", "end: 2023-03-31"), "is before start"),
        (
            ("co_designers: {patients: 3, carers: 2}", "co_designers: {patients: 0, carers: 0}"),
            "at least one patient or carer",
        ),
        (
            ("co_designers: {patients: 3, carers: 2}", "co_designers: {patients: 3, names: [Ann]}"),
            "unknown field",
        ),
    ],
)
def test_cross_field_rules(tmp_path: Path, change, reason):
    bad = tmp_path / "p.yaml"
    bad.write_text(WARD7.read_text(encoding="utf-8").replace(*change, 1), encoding="utf-8")
    assert any(reason in p.reason for p in problems(bad))


def test_yaml_syntax_error_names_the_line(tmp_path: Path):
    bad = tmp_path / "p.yaml"
    bad.write_text("id: x\ntitle: [unclosed\naim: y\n", encoding="utf-8")
    (problem,) = problems(bad)
    assert problem.line == 3 and "not valid YAML" in problem.reason


def test_a_project_file_must_be_a_mapping(tmp_path: Path):
    bad = tmp_path / "p.yaml"
    bad.write_text("- just\n- a list\n", encoding="utf-8")
    assert "one mapping" in problems(bad)[0].reason


def test_csv_errors_name_row_line_and_field(tmp_path: Path):
    bad = tmp_path / "people.csv"
    bad.write_text(
        "id,profession,name,identifies_as_improver\n"
        "p-1,Nurse,,\n"
        "p 2,Nurse,,\n"
        "p-3,Nurse,,perhaps\n"
        "p-1,Midwife,,\n",
        encoding="utf-8",
    )
    found = problems(bad)
    assert [(p.line, p.field) for p in found] == [
        (3, "id"),
        (4, "identifies_as_improver"),
        (5, "id"),
    ]
    assert "duplicate of the record on line 2" in found[2].reason


def test_blank_csv_cells_take_the_default(tmp_path: Path):
    ok = tmp_path / "modules.csv"
    ok.write_text(
        "id,code,title,institution,programmes,credits,linked_projects\nm1,,Title,uni,,,\n",
        encoding="utf-8",
    )
    (row,) = [r.record for r in parse_file(ok).records]
    assert row.programmes == [] and row.credits is None and row.code is None


def test_csv_header_problems(tmp_path: Path):
    bad = tmp_path / "mappings.csv"
    bad.write_text(
        "module,element,strenght,justification\nm,IPW,strong,because\n", encoding="utf-8"
    )
    (problem,) = problems(bad)
    assert problem.line == 1
    assert "missing column(s) ['strength', 'mapped_by']" in problem.reason
    assert "unknown column(s) ['strenght']" in problem.reason


def test_unknown_table_and_file_type(tmp_path: Path):
    for name, reason in (
        ("staff.csv", "cannot tell which table"),
        ("notes.txt", "unsupported file type"),
    ):
        path = tmp_path / name
        path.write_text("id\nx\n", encoding="utf-8")
        assert reason in problems(path)[0].reason


def test_committed_json_schemas_match_the_records():
    for name, schema in json_schemas().items():
        committed = json.loads((ROOT / "schemas" / name).read_text(encoding="utf-8"))
        assert committed == schema, f"schemas/{name} is stale: run `make schemas`"


def test_project_schema_accepts_the_sample_projects():
    assert Project.model_json_schema()["required"] == [
        "id",
        "title",
        "aim",
        "start",
        "organisation",
        "team",
    ]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            (
                "do: {notes: Ran for two weeks across both bays., start: 2024-05-21",
                "do: {notes: Ran for two weeks across both bays., start: 2024-05-19",
            ),
            "the do stage starts on 2024-05-19, before the plan stage ends",
        ),
        (
            (
                'study: {notes: "88% completion; one fall, at a change of shift.", start: 2024-06-01, end: 2024-06-01,',
                'study: {notes: "88% completion", start: 2024-06-01, end: 2024-06-09,',
            ),
            "runs past the cycle's end",
        ),
        (
            (
                "    start: 2024-05-20\n    end: 2024-06-02",
                "    start: 2024-05-20\n    end: 2024-05-02",
            ),
            "ends (2024-05-02) before it starts",
        ),
    ],
)
def test_stage_dates_run_forward(tmp_path: Path, change, reason):
    bad = tmp_path / "p.yaml"
    text = WARD7.read_text(encoding="utf-8")
    assert change[0] in text
    bad.write_text(text.replace(*change, 1), encoding="utf-8")
    found = problems(bad)
    assert any(reason in p.reason and p.field == "pdsa_cycles[1]" for p in found), found
