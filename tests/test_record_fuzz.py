"""Property-based tests of every record parser: any input gives records or located problems.

Mutated sample files and arbitrary bytes must never make a parser raise anything but
RecordError (tests/fuzzing.py holds the contract, reusable for importers); valid records
made up by hypothesis parse and map to the facts they state.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS

from cipd_graph import Model
from cipd_graph._errors import RecordError
from cipd_graph.mapping.mapper import Mapper
from cipd_graph.mapping.pseudonym import Pseudonymiser
from cipd_graph.records.parse import TABLES, parse_file, parse_project, parse_table

from .conftest import SAMPLES
from .fuzzing import check_parser_contract, fuzz_parser

CIPD = "https://w3id.org/cipd#"
BASE = "https://w3id.org/cipd/data/"
PROJECTS = sorted((SAMPLES / "projects").glob("*.yaml"))

test_yaml_project_parser_never_crashes = fuzz_parser(
    parse_project,
    # the first six, and the two that fill the fields of issue 19 (stage participants,
    # involvement counts, dated memberships, the team of an activity)
    [
        *PROJECTS[:6],
        SAMPLES / "projects" / "ward7-falls.yaml",
        SAMPLES / "projects" / "mh-crisis-response.yaml",
    ],
    name="project.yaml",
    max_examples=200,
)
test_json_project_parser_never_crashes = fuzz_parser(
    parse_project,
    [SAMPLES / "projects" / "ward7-falls.yaml"],
    name="project.json",
    max_examples=60,
)
test_parse_file_never_crashes_on_any_suffix = fuzz_parser(
    parse_file, PROJECTS[:2], name="unknown.txt", max_examples=20
)


def _table_test(table: str) -> object:
    return fuzz_parser(
        parse_table, [SAMPLES / "reference" / f"{table}.csv"], name=f"{table}.csv", max_examples=60
    )


for _table in TABLES:
    globals()[f"test_{_table}_table_parser_never_crashes"] = _table_test(_table)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_any_json_value_as_a_project_gives_located_problems(data: object):
    """JSON that parses but is not a project (lists, numbers, wrong types) is a located RecordError."""
    with tempfile.TemporaryDirectory() as folder:
        result = check_parser_contract(
            parse_project, Path(folder) / "p.json", json.dumps(data).encode()
        )
    assert result is None


def test_deeply_nested_input_is_a_located_problem(tmp_path: Path):
    """Nesting deep enough to exhaust Python's recursion is refused with a message, not a crash."""
    for name, text in [("deep.json", "[" * 100_000), ("deep.yaml", "[" * 100_000)]:
        assert check_parser_contract(parse_project, tmp_path / name, text.encode()) is None


# --------------------------------------------------------------------------- valid records round-trip

slugs = st.from_regex(r"\A[a-z0-9][a-z0-9._-]{0,20}\Z")
names = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")),
    min_size=1,
    max_size=30,
).filter(lambda t: t.strip() and not t.startswith((" ", "\ufeff")) and t == t.strip())


def _mapper(model: Model) -> Mapper:
    return Mapper(BASE, Pseudonymiser(b"fuzz-key-0123456789"), model)


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(
            slugs,
            names,
            st.sampled_from(["service-provider", "educational-institution", "commissioner"]),
        ),
        min_size=1,
        max_size=5,
        unique_by=lambda r: r[0],
    )
)
def test_generated_organisations_parse_and_map_to_their_facts(model: Model, rows):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "organisations.csv"
        path.write_bytes(_csv(["id", "name", "kind"], [list(r) for r in rows]))
        parsed = parse_table(path)
        assert [(r.record.id, r.record.name, r.record.kind.value) for r in parsed.records] == rows
        mapped = _mapper(model).map(parsed)
    assert not mapped.problems
    for org_id, name, _kind in rows:
        org = URIRef(BASE + "organisation/" + org_id)
        assert (org, RDFS.label, Literal(name)) in mapped.graph
        assert (org, DCTERMS.identifier, Literal(org_id)) in mapped.graph


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(
            slugs,
            st.sampled_from(["Nurse", "Physiotherapist", "Pharmacist", ""]),
            names | st.just(""),
            st.booleans(),
        ),
        min_size=1,
        max_size=5,
        unique_by=lambda r: r[0],
    )
)
def test_generated_people_parse_and_map_pseudonymously(model: Model, rows):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "people.csv"
        body = [[i, p, n, "true" if b else "false"] for i, p, n, b in rows]
        path.write_bytes(_csv(["id", "profession", "name", "identifies_as_improver"], body))
        mapped = _mapper(model).map(parse_table(path))
    assert not mapped.problems
    text = mapped.graph.serialize(format="nt")
    for person_id, _profession, name, _improver in rows:
        assert f"/{person_id}>" not in text, "local ids never enter the record graph"
        if name:
            assert name not in {str(o) for o in mapped.graph.objects()}, "names stay apart"
            assert any(str(o) == name for o in mapped.names.objects())
    improvers = set(mapped.graph.subjects(URIRef(CIPD + "identifiesAs"), URIRef(CIPD + "Improver")))
    assert len(improvers) == sum(1 for r in rows if r[3])


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    project_id=slugs,
    title=names,
    aim=names,
    start=st.dates(),
    members=st.lists(slugs, min_size=1, max_size=4, unique=True),
    as_yaml=st.booleans(),
)
def test_generated_projects_parse_and_map_to_their_facts(
    model: Model, project_id, title, aim, start, members, as_yaml
):
    project = {
        "id": project_id,
        "title": title,
        "aim": aim,
        "start": start.isoformat(),
        "organisation": "some-trust",
        "team": {"members": [{"person": m, "profession": "Nurse"} for m in members]},
    }
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("p.yaml" if as_yaml else "p.json")
        path.write_text(json.dumps(project, ensure_ascii=False), encoding="utf-8")  # JSON is YAML
        parsed = parse_project(path)
        mapped = _mapper(model).map(parsed)
    assert not mapped.problems
    iri = URIRef(BASE + "project/" + project_id)
    g = mapped.graph
    assert (iri, RDF.type, URIRef(CIPD + "ImprovementProject")) in g
    assert (iri, DCTERMS.title, Literal(title)) in g
    assert str(next(g.objects(iri, URIRef("https://schema.org/startDate")))) == start.isoformat()


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_record_iris_are_ones_urirefs_check_accepts(model: Model, data):
    """``Mapper.iri`` skips ``URIRef``'s character check: whatever record identifiers can
    be (the ``Slug`` pattern itself), the IRIs made from them pass it and equal the
    checked ``URIRef``."""
    from rdflib.term import _is_valid_uri

    from cipd_graph.records.parse import Slug

    pattern = Slug.__metadata__[0].metadata[0].pattern
    part = st.one_of(st.from_regex(pattern), st.dates().map(str), st.integers(1, 99).map(str))
    parts = data.draw(st.lists(part.map(str.strip), min_size=1, max_size=5))

    iri = _mapper(model).iri(*parts)
    assert type(iri) is URIRef
    assert iri == URIRef(BASE + "/".join(parts))
    assert _is_valid_uri(str(iri))


# --------------------------------------------------------------------------- issue 19 fields

SCHEMA_ORG = "https://schema.org/"
PROV_NS = "http://www.w3.org/ns/prov#"
involvements = st.lists(
    st.fixed_dictionaries(
        {
            "group": st.sampled_from(["patients", "carers"]),
            "kind": st.sampled_from(["sharing-experience", "co-designing", "co-delivering"]),
            "count": st.integers(1, 500),
        }
    ),
    max_size=4,
    unique_by=lambda i: (i["group"], i["kind"]),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    members=st.lists(slugs, min_size=1, max_size=4, unique=True),
    joined=st.lists(st.dates() | st.none(), min_size=4, max_size=4),
    since=st.dates() | st.none(),
    stage_people=st.lists(st.integers(0, 3), max_size=4),
    involvement=involvements,
    declared=st.sampled_from([True, False, None]),
    mode=st.sampled_from(["in", "on", "through"]),
    methodologies=st.lists(
        st.sampled_from(["pdsa", "lean", "six-sigma", "clinical-audit", "evidence-based"]),
        unique=True,
    ),
    team=slugs | st.none(),
)
def test_generated_point_7_fields_parse_and_map_to_their_facts(
    model: Model,
    members,
    joined,
    since,
    stage_people,
    involvement,
    declared,
    mode,
    methodologies,
    team,
):
    people = [
        {"person": m, "profession": "Nurse"}
        | ({"start": joined[i].isoformat()} if joined[i] else {})
        | ({"identifies_as_improver_since": since.isoformat()} if since and i == 0 else {})
        for i, m in enumerate(members)
    ]
    stage_participants = sorted({members[i % len(members)] for i in stage_people})
    activity = {
        "id": "a",
        "title": "Huddle",
        "kind": "huddle",
        "date": "2024-02-01",
        "participants": members[:1],
    }
    if declared is not None:
        activity["interprofessional"] = declared
    if team is not None:
        activity["team"] = team
    project = {
        "id": "p",
        "title": "Falls",
        "aim": "Fewer falls on the ward.",
        "start": "2024-01-01",
        "organisation": "trust",
        "team": {"members": people},
        "methodologies": methodologies,
        "pdsa_cycles": [
            {
                "number": 1,
                "start": "2024-01-02",
                "plan": {"notes": "Plan it.", "participants": stage_participants},
                "involvement": involvement,
            }
        ],
        "learning_activities": [activity],
        "reflections": [
            {"id": "r", "mode": mode, "by": members[0], "date": "2024-03-01", "text": "We learned."}
        ],
    }
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.json"
        path.write_text(json.dumps(project), encoding="utf-8")
        mapped = _mapper(model).map(parse_project(path))
    assert not mapped.problems
    g = mapped.graph
    cipd = URIRef(CIPD + "declaredInterprofessional")
    a = URIRef(BASE + "project/p/activity/a")
    assert list(g.objects(a, cipd)) == ([] if declared is None else [Literal(declared)])
    assert list(g.objects(a, URIRef(CIPD + "forTeam"))) == (
        [] if team is None else [URIRef(BASE + "team/" + team)]
    )
    stage = URIRef(BASE + "project/p/cycle/1/plan")
    assert len(set(g.objects(stage, URIRef(PROV_NS + "wasAssociatedWith")))) == len(
        stage_participants
    )
    counts = sorted(
        int(o)  # type: ignore[call-overload]
        for o in g.objects(None, URIRef(CIPD + "headcount"))
    )
    assert counts == sorted(i["count"] for i in involvement)
    starts = list(g.subjects(URIRef(SCHEMA_ORG + "startDate"), None))
    dated = sum(1 for d in joined[: len(members)] if d) + (1 if since else 0)
    assert len([s for s in starts if "/membership/" in s or "/identification/" in s]) == dated
    reflection = URIRef(BASE + "project/p/reflection/r")
    assert (reflection, URIRef(CIPD + "partOfProject"), URIRef(BASE + "project/p")) in g
    expected_mode = {"in": "InPractice", "on": "OnPractice", "through": "ThroughPractice"}[mode]
    assert g.value(reflection, URIRef(CIPD + "reflectionMode")) == URIRef(
        CIPD + "Reflection" + expected_mode
    )
    assert len(set(g.objects(URIRef(BASE + "project/p"), URIRef(CIPD + "usesMethodology")))) == len(
        methodologies
    )


@settings(max_examples=60, deadline=None)
@given(
    key=st.sampled_from(["name", "names", "who", "people", "email", "nhs_number", "Initials"])
    | slugs,
    value=names | st.lists(names, min_size=1, max_size=3),
)
def test_an_involvement_that_says_who_is_refused(key, value):
    """Whatever extra a recorder adds to an involvement count (a name, a list of names, an
    e-mail...), the file is refused with a located problem, and never mapped."""
    entry = {"group": "patients", "kind": "co-designing", "count": 2, key: value}
    if key in ("group", "kind", "count"):
        entry[key] = value
    project = {
        "id": "p",
        "title": "Falls",
        "aim": "Fewer falls on the ward.",
        "start": "2024-01-01",
        "organisation": "trust",
        "team": {"members": [{"person": "n1"}]},
        "pdsa_cycles": [{"number": 1, "start": "2024-01-02", "involvement": [entry]}],
    }
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.json"
        path.write_text(json.dumps(project), encoding="utf-8")
        try:
            parse_project(path)
        except RecordError as error:
            assert any(p.field.startswith("pdsa_cycles[0].involvement[0]") for p in error.problems)
        else:
            raise AssertionError(f"an involvement with {key}={value!r} was accepted")


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    co_delivered=st.lists(slugs.filter(lambda s: s != "uni"), max_size=3, unique=True),
    commissioned=st.lists(slugs, max_size=3, unique=True),
)
def test_generated_module_rows_map_every_provider_and_commissioner(
    model: Model, co_delivered, commissioned
):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "modules.csv"
        path.write_bytes(
            _csv(
                ["id", "title", "institution", "co_delivered_by", "commissioned_by"],
                [["m", "QI", "uni", "; ".join(co_delivered), "; ".join(commissioned)]],
            )
        )
        mapped = _mapper(model).map(parse_table(path))
    module = URIRef(BASE + "module/m")
    providers = set(mapped.graph.objects(module, URIRef(SCHEMA_ORG + "provider")))
    assert providers == {URIRef(BASE + "organisation/" + o) for o in ["uni", *co_delivered]}
    commissioners = set(mapped.graph.objects(module, URIRef(CIPD + "commissionedBy")))
    assert commissioners == {URIRef(BASE + "organisation/" + o) for o in commissioned}
