"""Record formats: every file kind parses; mistakes are reported with file, line, record, field."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import ORG, PROV, RDF, XSD

from cipd_graph import Model
from cipd_graph._errors import RecordError
from cipd_graph.mapping.mapper import Mapper
from cipd_graph.mapping.pseudonym import Pseudonymiser
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


# --------------------------------------------------------------------------- issue 19 fields

CIPD = Namespace("https://w3id.org/cipd#")
SCHEMA = Namespace("https://schema.org/")
D = Namespace("https://w3id.org/cipd/data/")
KEY = Pseudonymiser(b"records-key-0123456789")


def _mapped(model: Model, path: Path) -> Graph:
    mapped = Mapper(str(D), KEY, model).map(parse_file(path))
    assert not mapped.problems, mapped.problems
    return mapped.graph


def _person(local: str) -> URIRef:
    return D["person/" + KEY(local)]


def _project_with(tmp_path: Path, old: str, new: str, source: Path = WARD7) -> Path:
    text = source.read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / source.name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_the_declaration_is_stored_as_given_and_never_as_the_class(model: Model, tmp_path: Path):
    huddle = D["project/ward7-falls/activity/falls-huddle-may"]
    declared = _mapped(model, WARD7)
    assert (huddle, CIPD.declaredInterprofessional, Literal(True)) in declared
    assert (huddle, RDF.type, CIPD.InterprofessionalLearningActivity) not in declared
    msk = _mapped(model, SAMPLES / "projects" / "msk-first-contact.yaml")
    briefing = D["project/msk-first-contact/activity/care-navigation-briefing"]
    assert (briefing, CIPD.declaredInterprofessional, Literal(False)) in msk
    # an older record that says nothing declares nothing
    silent = _mapped(model, _project_with(tmp_path, "    interprofessional: true\n", ""))
    assert not set(silent.objects(huddle, CIPD.declaredInterprofessional))


def test_point_7_fields_of_a_sample_project_map_to_the_ontology_terms(model: Model):
    g = _mapped(model, WARD7)
    project = D["project/ward7-falls"]
    lead, physio = _person("nsh-0101"), _person("nsh-0102")
    # dated memberships
    doctor_membership = D[f"team/ward7-microsystem/membership/{KEY('nsh-0106')}"]
    assert g.value(doctor_membership, SCHEMA.startDate) == Literal("2024-04-01", datatype=XSD.date)
    assert g.value(doctor_membership, SCHEMA.endDate) == Literal("2024-08-02", datatype=XSD.date)
    # taking the improver role on a day, and identifying as an improver since a date
    physio_membership = D[f"team/ward7-microsystem/membership/{KEY('nsh-0102')}"]
    assert (physio_membership, ORG.role, CIPD.Improver) in g
    assert g.value(physio_membership, SCHEMA.startDate) == Literal("2024-04-01", datatype=XSD.date)
    for person, since in ((lead, "2023-10-02"), (physio, "2024-06-17")):
        assert (person, CIPD.identifiesAs, CIPD.Improver) in g
        (identification,) = g.objects(person, CIPD.qualifiedIdentification)
        assert (identification, RDF.type, CIPD.RoleIdentification) in g
        assert (identification, CIPD.identifiedRole, CIPD.Improver) in g
        assert g.value(identification, SCHEMA.startDate) == Literal(since, datatype=XSD.date)
    # who took part in each stage
    study = D["project/ward7-falls/cycle/2/study"]
    assert set(g.objects(study, PROV.wasAssociatedWith)) == {
        _person(p) for p in ("nsh-0101", "nsh-0102", "nsh-0105", "nsh-0106")
    }
    assert not set(g.objects(D["project/ward7-falls/cycle/1/plan"], PROV.wasAssociatedWith))
    # patients' involvement in a cycle: a count, nothing that identifies anyone
    (involvement,) = g.objects(D["project/ward7-falls/cycle/1"], CIPD.hasInvolvement)
    assert set(g.predicate_objects(involvement)) == {
        (RDF.type, CIPD.PatientCarerInvolvement),
        (CIPD.involvedGroup, CIPD.InvolvedPatients),
        (CIPD.involvementKind, CIPD.SharingExperienceInvolvement),
        (CIPD.headcount, Literal("4", datatype=XSD.nonNegativeInteger)),
    }
    # the team of a learning activity; the project and mode of every reflection
    huddle = D["project/ward7-falls/activity/falls-huddle-may"]
    assert (huddle, CIPD.forTeam, D["team/ward7-microsystem"]) in g
    reflections = set(g.subjects(RDF.type, CIPD.Reflection))
    assert len(reflections) == 3
    assert all((r, CIPD.partOfProject, project) in g for r in reflections)
    through = D["project/ward7-falls/reflection/r-through-rounds"]
    assert (through, CIPD.reflectionMode, CIPD.ReflectionThroughPractice) in g


def test_new_methodologies_and_a_team_of_teams_csv(model: Model):
    expected = {
        "xray-repeat-rates": CIPD.ClinicalAudit,
        "discharge-before-noon": CIPD.Lean,
        "med-rec-admissions": CIPD.SixSigma,
    }
    for project, methodology in expected.items():
        g = _mapped(model, SAMPLES / "projects" / f"{project}.yaml")
        assert (D[f"project/{project}"], CIPD.usesMethodology, methodology) in g
    g = _mapped(model, SAMPLES / "projects" / "stroke-swallow-screening.yaml")
    coaching = D["project/stroke-swallow-screening/activity/microsystem-coaching"]
    assert g.value(coaching, CIPD.forTeam) == D["team/stroke-unit-microsystem"]


def test_co_delivered_and_commissioned_education_and_partnerships(model: Model):
    modules = _mapped(model, SAMPLES / "reference" / "modules.csv")
    simulation = D["module/wdu-simulation"]
    assert set(modules.objects(simulation, SCHEMA.provider)) == {
        D["organisation/westdale-university"],
        D["organisation/northshire-trust"],
    }
    assert (
        D["module/ncu-coproduction"],
        CIPD.commissionedBy,
        D["organisation/northshire-icb"],
    ) in (modules)
    programmes = _mapped(model, SAMPLES / "reference" / "programmes.csv")
    assert (
        D["programme/wdu-pgcert-ipe"],
        CIPD.commissionedBy,
        D["organisation/northshire-icb"],
    ) in programmes
    with (SAMPLES / "reference" / "organisations.csv").open(encoding="utf-8") as f:
        kinds = {row["id"]: row["kind"] for row in csv.DictReader(f)}
    for g in (modules, programmes):
        for commissioner in g.objects(None, CIPD.commissionedBy):
            assert kinds[str(commissioner).rsplit("/", 1)[-1]] == "commissioner"
    # what a cipd:partnerOf rule reads: every member of each partnership, by its IRI
    partnerships = _mapped(model, SAMPLES / "reference" / "partnerships.csv")
    alliance = D["partnership/northshire-improvement-alliance"]
    assert (alliance, RDF.type, CIPD.Partnership) in partnerships
    assert {D["organisation/northshire-trust"], D["organisation/northshire-university"]} <= set(
        partnerships.objects(alliance, ORG.hasMember)
    )


def test_sample_programmes_add_up_to_their_award():
    """A UK PgCert is 60 credits and an MSc 180: the sample modules add up to that."""
    with (SAMPLES / "reference" / "modules.csv").open(encoding="utf-8") as f:
        modules = list(csv.DictReader(f))
    with (SAMPLES / "reference" / "programmes.csv").open(encoding="utf-8") as f:
        programmes = {row["id"]: row["title"] for row in csv.DictReader(f)}
    award = {"PgCert": 60, "MSc": 180}
    for programme, title in programmes.items():
        total = sum(int(m["credits"]) for m in modules if programme in m["programmes"].split("; "))
        assert total == award[title.split()[0]], (programme, total)


@pytest.mark.parametrize(
    ("old", "new", "field", "reason"),
    [
        (
            "      - {group: patients, kind: sharing-experience, count: 4}",
            "      - {group: patients, kind: sharing-experience, count: 4, names: [Ann Smith]}",
            "pdsa_cycles[0].involvement[0]",
            "never who",
        ),
        (
            "      - {group: patients, kind: sharing-experience, count: 4}",
            "      - {group: patients, kind: sharing-experience, count: [Ann Smith, Bob Jones]}",
            "pdsa_cycles[0].involvement[0]",
            "never who",
        ),
        (
            "      - {group: patients, kind: sharing-experience, count: 4}",
            "      - {group: patients, kind: sharing-experience, count: 4, who: Mrs Example}",
            "pdsa_cycles[0].involvement[0]",
            "never who",
        ),
        (
            "      - {group: patients, kind: sharing-experience, count: 4}",
            "      - {group: patients, kind: sharing-experience, count: 0}",
            "pdsa_cycles[0].involvement[0].count",
            "greater than or equal to 1",
        ),
        (
            "      - {group: patients, kind: sharing-experience, count: 4}",
            "      - {group: Mrs Example, kind: sharing-experience, count: 1}",
            "pdsa_cycles[0].involvement[0].group",
            "'patients' or 'carers'",
        ),
        (
            "      - {group: patients, kind: sharing-experience, count: 4}",
            "      - {group: patients, kind: sharing-experience, count: 4}\n"
            "      - {group: patients, kind: sharing-experience, count: 2}",
            "pdsa_cycles[0]",
            "patients sharing-experience more than once",
        ),
        (
            "start: 2024-04-01, end: 2024-08-02}",
            "start: 2024-04-01, end: 2024-03-02}",
            "team.members[5]",
            "ends (2024-03-02) before it starts",
        ),
        (
            "role: lead, identifies_as_improver_since: 2023-10-02",
            "role: lead, identifies_as_improver: false, identifies_as_improver_since: 2023-10-02",
            "team.members[0]",
            "identifies_as_improver is false",
        ),
        ("    mode: through\n", "    mode: beyond\n", "reflections[2].mode", "'through'"),
        ("    team: ward7-microsystem\n", "    team: ward 7\n", "learning_activities[0].team", ""),
    ],
)
def test_new_fields_refuse_what_they_cannot_mean(tmp_path: Path, old, new, field, reason):
    found = problems(_project_with(tmp_path, old, new))
    assert any(p.field == field and reason in p.reason for p in found), [
        (p.field, p.reason) for p in found
    ]


def test_tables_with_the_new_columns_check_them_and_old_tables_still_load(tmp_path: Path):
    people = tmp_path / "people.csv"
    people.write_text(
        "id,profession,name,identifies_as_improver,identifies_as_improver_since\n"
        "p-1,Nurse,,false,2024-01-01\n"
        "p-2,Nurse,,,2024-13-01\n",
        encoding="utf-8",
    )
    found = problems(people)
    assert [(p.line, p.field) for p in found] == [
        (2, "(record)"),
        (3, "identifies_as_improver_since"),
    ]
    assert "identifies_as_improver is false" in found[0].reason
    modules = tmp_path / "modules.csv"
    modules.write_text(
        "id,title,institution,co_delivered_by,commissioned_by\n"
        "m1,Title,uni,uni; trust,\n"
        "m2,Title,uni,,icb; icb\n",
        encoding="utf-8",
    )
    found = problems(modules)
    assert "the module's institution" in found[0].reason
    assert "more than once" in found[1].reason
    old = tmp_path / "old-people.csv"
    old.write_text("id,profession,name,identifies_as_improver\np-1,Nurse,,true\n", "utf-8")
    (row,) = [r.record for r in parse_file(old).records]
    assert row.identifies_as_improver and row.identifies_as_improver_since is None
