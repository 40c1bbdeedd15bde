"""xAPI statements in and out: a realistic LRS export, its edge cases, and the round trip."""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, PROV, RDF, RDFS, XSD
from typer.testing import CliRunner

from cipd_graph import GraphStore, Settings
from cipd_graph._ontology import CIPD
from cipd_graph.cli import app
from cipd_graph.interop import FormatError, export_format, import_files, read_files
from cipd_graph.interop.xapi import check_statement

from .conftest import SAMPLES

KEY = "test-key-0123456789abcdef"
FIXTURE = Path(__file__).parent / "fixtures" / "interop" / "xapi-statements.json"
D = "https://w3id.org/cipd/data/"
SIM = "https://learn.northshire.nhs.uk/events/sim-2024-05-falls"
PEOPLE_TEXT = (
    "sam.patel",
    "Sam Patel",
    "Amara Osei",
    "Toby",
    "jo.green",
    "Jo Green",
    "Ena Hills",
    "Pat Lee",
    "mailto:",
    "Night team",
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[GraphStore]:
    """An on-disk store with the reference tables and one project (ward7-falls)."""
    with GraphStore(tmp_path / "store", Settings(pseudonym_key=KEY, user="tester")) as s:
        result = s.load([SAMPLES / "reference", SAMPLES / "projects" / "ward7-falls.yaml"])
        assert result.ok, result.to_text()
        yield s


def snapshot(store: GraphStore) -> set[str]:
    return {str(q) for q in store.oxigraph}


def graph_of(store: GraphStore, path: Path) -> Graph:
    g = Graph()
    batch = store.batch_graph(path)
    for q in store.oxigraph.quads_for_pattern(None, None, None, None):
        if getattr(q.graph_name, "value", "") == batch:
            g.parse(data=f"{q.subject} {q.predicate} {q.object} .", format="nt")
    return g


def person(store: GraphStore, key: str) -> URIRef:
    return URIRef(D + "person/" + store.pseudonymiser(key))


def activity(iri: str, day: str) -> URIRef:
    return URIRef(D + "xapi/activity/" + hashlib.sha256(iri.encode()).hexdigest()[:16] + "/" + day)


def test_an_lrs_export_becomes_activities_participation_and_reflections(
    store: GraphStore, tmp_path: Path
) -> None:
    path = tmp_path / "statements.json"
    shutil.copy(FIXTURE, path)
    result = import_files(store, "xapi", [path])
    assert result.ok and result.written, result.to_text()
    g = graph_of(store, path)
    sim = activity(SIM, "2024-05-20")
    assert (sim, CIPD.activityKind, CIPD.Simulation) in g
    assert (sim, DCTERMS.date, Literal("2024-05-20", datatype=XSD.date)) in g
    assert (sim, CIPD.partOfProject, URIRef(D + "project/ward7-falls")) in g
    assert (sim, PROV.wasInformedBy, URIRef(D + "project/ward7-falls/cycle/1")) in g
    assert (sim, CIPD.inActionLearningSet, URIRef(D + "team/ward-leaders-als")) in g
    # account.name that is a people.csv id is that person; other IFIs are pseudonymised
    mbox_sha = hashlib.sha1(b"mailto:sam.patel@northshire.nhs.uk").hexdigest()
    expected = {
        person(store, "nsh-0101"),
        person(store, "nsh-0102"),  # a member of the Group actor
        person(store, "mbox_sha1sum:" + mbox_sha),
        person(store, "mbox_sha1sum:ebd31e95054c018b10727ccffd2ef2ec3a016ee9"),
        person(store, "openid:http://toby.openid.example.org/"),
        person(
            store, "mbox_sha1sum:" + hashlib.sha1(b"mailto:jo.green@northshire.nhs.uk").hexdigest()
        ),
    }
    assert set(g.objects(sim, PROV.wasAssociatedWith)) == expected
    for p in expected:
        assert (p, RDF.type, FOAF.Person) in g
    # the voided statement (Pat Lee) is gone
    pat = person(
        store, "mbox_sha1sum:" + hashlib.sha1(b"mailto:pat.lee@northshire.nhs.uk").hexdigest()
    )
    assert (None, None, pat) not in g and (pat, None, None) not in g
    # completed e-learning in a module, by the same person whose mbox appeared
    course = activity("https://learn.northshire.nhs.uk/courses/sepsis-6/scorm", "2024-06-02")
    assert (course, CIPD.activityKind, CIPD.ELearning) in g
    assert (course, CIPD.partOfModule, URIRef(D + "module/ncu-qi-practice")) in g
    assert set(g.objects(course, PROV.wasAssociatedWith)) == {
        person(store, "mbox_sha1sum:" + mbox_sha)
    }
    reflection = URIRef(D + "xapi/statement/2f0b0007-8c1e-4d5a-9b7e-4e6f1a2b3c4d/reflection")
    assert (reflection, CIPD.reflectsOn, sim) in g
    assert (reflection, PROV.wasAttributedTo, person(store, "nsh-0101")) in g
    # nothing dropped silently: every left-out statement is a located warning
    reasons = {(w.record, w.field): w.reason for w in result.warnings}
    assert "launched" in reasons[("statement /7", "verb/id")]
    assert "voided by statement /9" in reasons[("statement /8", "id")]
    assert "no timestamp" in reasons[("statement /10", "timestamp")]
    assert "counted once" in reasons[("statement /11", "id")]
    grouping = [w for w in result.warnings if "courses/falls-pathway" in w.reason]
    assert len(grouping) == 1  # said once, not once per statement
    # what the statements carry that the graph has no place for: said once per property
    left_out = {w.field for w in result.warnings if "left out (and in" in w.reason}
    assert left_out == {
        "context/contextActivities/category",
        "context/language",
        "context/platform",
        "context/registration",
    }, result.to_text()
    assert len(result.warnings) == 9, result.to_text()


def test_no_address_or_name_reaches_any_graph(store: GraphStore, tmp_path: Path) -> None:
    path = tmp_path / "statements.json"
    shutil.copy(FIXTURE, path)
    assert import_files(store, "xapi", [path]).written
    readable = store.export("nq").decode()
    for text in PEOPLE_TEXT:
        assert text not in readable
    assert "ebd31e95054c018b10727ccffd2ef2ec3a016ee9" not in readable  # not even the hash
    # nor does the import keep names apart, as people.csv does: it keeps none at all
    names = store.batch_graph(path) + "/names"
    assert not any(getattr(q.graph_name, "value", "") == names for q in store.oxigraph)


def _variants(tmp_path: Path) -> dict[str, Path]:
    items = json.loads(FIXTURE.read_text())[:4]
    paths = {
        "array": tmp_path / "a.json",
        "lines": tmp_path / "b.jsonl",
        "ndjson": tmp_path / "c.ndjson",
    }
    paths["array"].write_text(json.dumps(items))
    paths["lines"].write_text("\n".join(json.dumps(i) for i in items) + "\n\n")
    paths["ndjson"].write_text("\n".join(json.dumps(i) for i in items))
    for i, item in enumerate(items):
        paths[f"one-{i}"] = tmp_path / f"one-{i}.json"
        paths[f"one-{i}"].write_text(json.dumps(item))
    return paths


def test_one_statement_an_array_and_json_lines_map_alike(store: GraphStore, tmp_path: Path) -> None:
    paths = _variants(tmp_path)
    graphs = {}
    for name, path in paths.items():
        mapped, problems = read_files(store, "xapi", [path])
        assert not problems, problems
        graphs[name] = mapped[0].graph
    assert set(graphs["array"]) == set(graphs["lines"]) == set(graphs["ndjson"])
    singles = Graph()
    for i in range(4):
        singles += graphs[f"one-{i}"]
    assert set(singles) == set(graphs["array"])
    lines = read_files(store, "xapi", [paths["lines"]])[0][0]
    assert lines.records[str(activity(SIM, "2024-05-20"))][0] == 1  # located to its line


def test_bad_json_is_located_to_its_line_and_changes_nothing(
    store: GraphStore, tmp_path: Path
) -> None:
    before = snapshot(store)
    good = json.dumps(json.loads(FIXTURE.read_text())[0])
    lines = tmp_path / "broken.jsonl"
    lines.write_text(f"{good}\n{good[:40]}\n{good}\n{{oops\n")
    result = import_files(store, "xapi", [lines])
    assert not result.written
    assert [(p.line, p.record) for p in result.problems] == [(2, "line 2"), (4, "line 4")]
    assert all("not JSON" in p.reason for p in result.problems)
    # Only "\n" ends a JSON line: a form feed or \r inside one does not move the count on.
    odd = tmp_path / "odd.jsonl"
    odd.write_text("{oops\f\r\x1c}\n", newline="")
    result = import_files(store, "xapi", [odd])
    assert [(p.line, p.record) for p in result.problems] == [(1, "line 1")]
    array = tmp_path / "broken.json"
    array.write_text('[\n  {"id": 1},\n  {oops}\n]')
    result = import_files(store, "xapi", [array])
    assert [(p.line, p.record) for p in result.problems] == [(3, "line 3")]
    assert snapshot(store) == before


def test_statements_breaking_the_xapi_rules_are_located(store: GraphStore, tmp_path: Path) -> None:
    before = snapshot(store)
    base = json.loads(FIXTURE.read_text())[0]
    two_ifis = {**base, "actor": {"mbox": "mailto:a@b.org", "openid": "http://x.example/"}}
    bad_id = {**base, "id": "not-a-uuid"}
    bad_time = {**base, "id": str(uuid.uuid4()), "timestamp": "20/05/2024 08:30"}
    no_verb = {k: v for k, v in base.items() if k not in ("verb", "id")}
    bad_sha = {**base, "id": str(uuid.uuid4()), "actor": {"mbox_sha1sum": "xyz"}}
    anonymous_group = {**base, "id": str(uuid.uuid4()), "actor": {"objectType": "Group"}}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([two_ifis, bad_id, bad_time, no_verb, bad_sha, anonymous_group]))
    result = import_files(store, "xapi", [path])
    found = {(p.record, p.field) for p in result.problems}
    assert found == {
        ("statement /0", "actor"),
        ("statement /1", "id"),
        ("statement /2", "timestamp"),
        ("statement /3", "verb"),
        ("statement /4", "actor/mbox_sha1sum"),
        ("statement /5", "actor/member"),
    }, result.to_text()
    assert snapshot(store) == before


def test_a_reused_id_for_a_different_statement_refuses_the_file(
    store: GraphStore, tmp_path: Path
) -> None:
    first, second = json.loads(FIXTURE.read_text())[:2]
    second["id"] = first["id"]
    path = tmp_path / "dup.json"
    path.write_text(json.dumps([first, second]))
    result = import_files(store, "xapi", [path])
    assert not result.written
    assert [(p.record, p.field) for p in result.problems] == [("statement /1", "id")]
    assert "already used by statement /0" in result.problems[0].reason


ODD = Path(__file__).parent / "fixtures" / "interop" / "xapi-lrs-odd.json"
HUDDLE = "https://learn.northshire.nhs.uk/events/huddle-2024-05-21"


def test_odd_lrs_statements_map_and_say_what_they_leave_out(
    store: GraphStore, tmp_path: Path
) -> None:
    """Single context activities, offsets, stored/authority/version, several languages, the
    ADL reflected verb, a huddle, a statement without a type, a repeated id with another name."""
    path = tmp_path / "odd.json"
    shutil.copy(ODD, path)
    result = import_files(store, "xapi", [path])
    assert result.ok and result.written, result.to_text()
    g = graph_of(store, path)
    # the ADL "reflected" verb records a reflection; the offset gives the local day
    sim = activity(SIM, "2024-05-20")
    reflection = URIRef(D + "xapi/statement/9a1c0001-5d2e-4f6a-8b7c-0d1e2f3a4b5c/reflection")
    assert (reflection, RDF.type, CIPD.Reflection) in g
    assert (reflection, CIPD.reflectsOn, sim) in g
    assert (reflection, DCTERMS.date, Literal("2024-05-20", datatype=XSD.date)) in g
    assert (sim, CIPD.partOfProject, URIRef(D + "project/ward7-falls")) in g  # a single object
    # an ADL meeting named a huddle is a team huddle; the later statement without a type
    # (verb completed, which alone would mean e-learning) is about the same huddle
    huddle = activity(HUDDLE, "2024-05-21")
    assert set(g.objects(huddle, CIPD.activityKind)) == {CIPD.TeamHuddle}
    assert set(g.objects(huddle, RDFS.label)) == {Literal("Morning safety huddle")}
    assert (huddle, DCTERMS.description, None) in g
    assert len(set(g.objects(huddle, PROV.wasAssociatedWith))) == 2
    assert (huddle, PROV.wasInformedBy, URIRef(D + "project/ward7-falls/cycle/1")) in g
    night = activity("https://learn.northshire.nhs.uk/events/night-handover-huddle", "2024-05-22")
    assert (night, CIPD.activityKind, CIPD.TeamHuddle) in g  # a type IRI ending in "huddle"
    reasons = {(w.record, w.field): w.reason for w in result.warnings}
    assert (
        "its activity definition (name, type or description) differs"
        in reasons[("statement /3", "id")]
    )
    assert (
        "the en-GB one is kept, left out: de" in reasons[("statement /1", "object/definition/name")]
    )
    unknown = reasons[("statement /5", "verb/id")]
    assert (
        "http://adlnet.gov/expapi/verbs/reflected" in unknown
        and "reflected, reflected" not in unknown
    )
    for where in ("result/duration", "result/completion", "context/platform"):
        assert "left out" in reasons[("statement /1", where)], where
    assert (
        "left out"
        in reasons[
            ("statement /1", "context/extensions/http://id.tincanapi.com/extension/location")
        ]
    )
    assert len(result.warnings) == 7, result.to_text()


def test_a_later_file_about_a_known_activity_inherits_its_kind(
    store: GraphStore, tmp_path: Path
) -> None:
    first = json.loads(ODD.read_text())[1]
    a = tmp_path / "a.json"
    a.write_text(json.dumps(first))
    assert import_files(store, "xapi", [a]).written
    later = {
        "id": str(uuid.uuid4()),
        "actor": {"account": {"homePage": "https://learn.northshire.nhs.uk", "name": "nsh-0104"}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "object": {"id": HUDDLE, "definition": {"name": {"en": "Another name"}}},
        "timestamp": "2024-05-21T08:00:00+01:00",
    }
    b = tmp_path / "b.json"
    b.write_text(json.dumps(later))
    result = import_files(store, "xapi", [b])
    assert result.ok and result.written, result.to_text()  # not "a learning activity has one kind"
    g = graph_of(store, b)
    huddle = activity(HUDDLE, "2024-05-21")
    assert set(g.predicate_objects(huddle)) == {(PROV.wasAssociatedWith, person(store, "nsh-0104"))}
    assert [w.field for w in result.warnings] == ["object/definition/name"]
    assert "already named 'Morning safety huddle'" in result.warnings[0].reason


def test_statement_identity_across_files(store: GraphStore, tmp_path: Path) -> None:
    """A statement is its id: the same statements under a second file name add nothing and
    the export has each id once; the same id with other content in another file is refused."""
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    shutil.copy(FIXTURE, a)
    shutil.copy(FIXTURE, b)
    assert import_files(store, "xapi", [a]).written
    before = export_format(store, "xapi")
    result = import_files(store, "xapi", [b])
    assert result.ok and result.written, result.to_text()
    assert len(graph_of(store, b)) == 0
    assert sum("already imported from" in w.reason for w in result.warnings) == 11
    after = export_format(store, "xapi")
    assert after == before
    ids = [s["id"] for s in json.loads(after)]
    assert len(ids) == len(set(ids))
    # the ids and content digests are in the first file's provenance, not in the records
    prov = {
        str(q.subject)
        for q in store.oxigraph
        if getattr(q.graph_name, "value", "") == store.batch_graph(a) + "/provenance"
    }
    assert "<" + D + "xapi/statement/2f0b0001-8c1e-4d5a-9b7e-4e6f1a2b3c4d>" in prov
    # other content under an id already imported: located, refused
    changed = json.loads(FIXTURE.read_text())
    changed[0]["timestamp"] = "2024-05-21T08:30:00Z"
    c = tmp_path / "c.json"
    c.write_text(json.dumps(changed))
    refused = import_files(store, "xapi", [c])
    assert not refused.written
    assert [(p.record, p.field) for p in refused.problems] == [("statement /0", "id")]
    assert f"was imported from {a.name}" in refused.problems[0].reason  # as provenance names it
    # the same statements read back from the export: accepted, nothing changes
    exported = tmp_path / "export.json"
    exported.write_bytes(after)
    snapshot_before = records_snapshot(store)
    again = import_files(store, "xapi", [exported])
    assert again.ok and again.written and not again.warnings, again.to_text()
    assert records_snapshot(store) == snapshot_before
    assert export_format(store, "xapi") == after


def records_snapshot(store: GraphStore) -> set[tuple[str, str, str]]:
    """The distinct triples of every record graph (not provenance, names or derived facts)."""
    return {
        (str(q.subject), str(q.predicate), str(q.object))
        for q in store.oxigraph
        if store.layout.is_record(getattr(q.graph_name, "value", ""))
    }


def test_identified_group_without_members_and_foreign_objects_are_warnings(
    store: GraphStore, tmp_path: Path
) -> None:
    base = json.loads(FIXTURE.read_text())[0]
    group = {
        **base,
        "id": str(uuid.uuid4()),
        "actor": {
            "objectType": "Group",
            "account": {"homePage": "https://x.example", "name": "g1"},
        },
    }
    agent_object = {
        **base,
        "id": str(uuid.uuid4()),
        "object": {"objectType": "Agent", "mbox": "mailto:c@d.org"},
    }
    void_missing = {
        **base,
        "id": str(uuid.uuid4()),
        "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
        "object": {"objectType": "StatementRef", "id": str(uuid.uuid4())},
    }
    path = tmp_path / "odd.json"
    path.write_text(json.dumps([base, group, agent_object, void_missing]))
    result = import_files(store, "xapi", [path])
    assert result.written, result.to_text()
    fields = [(w.record, w.field) for w in result.warnings]
    assert ("statement /1", "actor") in fields
    assert ("statement /2", "object") in fields
    assert ("statement /3", "object/id") in fields
    assert "c@d.org" not in store.export("nq").decode()


def _without_activities(target: Path) -> Path:
    """The sample records with every project's learning activities (and reflections on them) removed."""
    shutil.copytree(SAMPLES, target)
    for path in (target / "projects").glob("*.yaml"):
        data = yaml.load(path.read_text(), Loader=yaml.BaseLoader)
        data.pop("learning_activities", None)
        data["reflections"] = [r for r in data.get("reflections", []) if "activity" not in r]
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return target


def test_round_trip_export_then_import_gives_the_same_activities(
    loaded_sample_store: GraphStore, tmp_path: Path
) -> None:
    exported = export_format(loaded_sample_store, "xapi")
    statements = json.loads(exported)
    assert statements and all(check_statement(s) == [] for s in statements)
    assert len({s["id"] for s in statements}) == len(statements)
    assert export_format(loaded_sample_store, "xapi") == exported  # deterministic
    for s in statements:
        assert uuid.UUID(s["id"]).version == 5
        assert set(s["actor"]) == {"objectType", "account"}
    path = tmp_path / "statements.json"
    path.write_bytes(exported)
    records = _without_activities(tmp_path / "records")
    with GraphStore(tmp_path / "b", Settings(pseudonym_key=KEY, user="tester")) as other:
        loaded = other.load([records])
        assert loaded.ok, loaded.to_text()
        result = import_files(other, "xapi", [path])
        assert result.ok and result.written and not result.warnings, result.to_text()
        carried = (
            RDF.type,
            CIPD.activityKind,
            DCTERMS.date,
            CIPD.atWork,
            CIPD.declaredInterprofessional,
            CIPD.hasLearningMode,
            CIPD.partOfProject,
            CIPD.partOfModule,
            PROV.wasInformedBy,
            PROV.wasAssociatedWith,
        )

        def activities(s: GraphStore) -> set[tuple[str, str, str]]:
            rows = s.oxigraph.query(
                "SELECT ?a ?p ?o WHERE { GRAPH ?g { ?a a <https://w3id.org/cipd#LearningActivity> ; ?p ?o } }"
            )
            return {
                (r["a"].value, r["p"].value, r["o"].value)
                for r in rows
                if URIRef(r["p"].value) in carried
            }  # type: ignore[union-attr]

        assert activities(other) == activities(loaded_sample_store)


def test_export_option_project_and_unknown_project(loaded_sample_store: GraphStore) -> None:
    statements = json.loads(export_format(loaded_sample_store, "xapi", {"project": "ward7-falls"}))
    assert statements
    assert all(
        {"objectType": "Activity", "id": D + "project/ward7-falls"}
        in s["context"]["contextActivities"]["grouping"]
        for s in statements
    )
    with pytest.raises(FormatError, match="no project 'nope'"):
        export_format(loaded_sample_store, "xapi", {"project": "nope"})


def test_cli_lists_and_exports_xapi(tmp_path: Path) -> None:
    env = {"CIPD_STORE": str(tmp_path / "cli"), "CIPD_PSEUDONYM_KEY": KEY}
    runner = CliRunner()
    listed = runner.invoke(app, ["formats"], env=env)
    assert (
        listed.exit_code == 0
        and "xapi" in listed.output
        and "curriculum-inventory" in listed.output
    )
    done = runner.invoke(
        app,
        ["load", str(SAMPLES / "reference"), str(SAMPLES / "projects" / "ward7-falls.yaml")],
        env=env,
    )
    assert done.exit_code == 0, done.output
    out = tmp_path / "x.json"
    exported = runner.invoke(
        app, ["export", "xapi", "-o", "project=ward7-falls", "--out", str(out)], env=env
    )
    assert exported.exit_code == 0, exported.output
    assert len(json.loads(out.read_text())) > 0


def test_a_statement_about_a_loaded_activity_adds_a_participant_only(
    store: GraphStore, tmp_path: Path
) -> None:
    huddle = D + "project/ward7-falls/activity/falls-huddle-may"
    statement = {
        "id": str(uuid.uuid4()),
        "actor": {"account": {"homePage": "https://learn.northshire.nhs.uk", "name": "nsh-0104"}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/attended", "display": {"en-US": "attended"}},
        "object": {
            "id": huddle,
            "definition": {"name": {"en": "Another title"}, "type": str(CIPD.Workshop)},
        },
        "timestamp": "2024-05-14T07:00:00Z",
    }
    path = tmp_path / "one.json"
    path.write_text(json.dumps(statement))
    result = import_files(store, "xapi", [path])
    assert result.ok and result.written, result.to_text()
    g = graph_of(store, path)
    # the interprofessional huddle is validated with its stored participants' professions
    assert set(g.predicate_objects(URIRef(huddle))) == {
        (PROV.wasAssociatedWith, person(store, "nsh-0104"))
    }
