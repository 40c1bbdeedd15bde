"""MedBiquitous Curriculum Inventory in and out: an Ilios-shaped report, its edge cases, round trips."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, XSD

from cipd_graph import GraphStore, Settings
from cipd_graph._ontology import CIPD
from cipd_graph.interop import FormatError, export_format, import_files
from cipd_graph.interop.curriculum_inventory import (
    INSTRUCTIONAL_METHODS,
    KIND_OF_METHOD,
    METHOD_OF_KIND,
    methods_table,
)
from cipd_graph.mapping.mapper import SCHEMA

from .conftest import ROOT, SAMPLES
from .standards import MEDBIQ, ci_errors

KEY = "test-key-0123456789abcdef"
FIXTURE = Path(__file__).parent / "fixtures" / "interop" / "curriculum-inventory.xml"
D = "https://w3id.org/cipd/data/"
EVENT = D + "ci/2025-ipe-17/event/"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[GraphStore]:
    """An on-disk store holding the reference tables."""
    with GraphStore(tmp_path / "store", Settings(pseudonym_key=KEY, user="tester")) as s:
        assert s.load([SAMPLES / "reference"]).ok
        yield s


def snapshot(store: GraphStore) -> set[str]:
    return {str(q) for q in store.oxigraph}


def batch(store: GraphStore, path: Path) -> Graph:
    g = Graph()
    name = store.batch_graph(path)
    for q in store.oxigraph:
        if getattr(q.graph_name, "value", "") == name:
            g.parse(data=f"{q.subject} {q.predicate} {q.object} .", format="nt")
    return g


def write(tmp_path: Path, text: str, name: str = "report.xml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def fixture_text() -> str:
    return FIXTURE.read_text(encoding="utf-8")


def test_an_ilios_report_becomes_programme_modules_planned_sessions_and_outcomes(
    store: GraphStore, tmp_path: Path
) -> None:
    path = write(tmp_path, fixture_text())
    result = import_files(store, "curriculum-inventory", [path])
    assert result.ok and result.written, result.to_text()
    g = batch(store, path)
    programme, org = URIRef(D + "programme/ihcp"), URIRef(D + "organisation/southmoor-university")
    assert (programme, RDF.type, CIPD.Programme) in g and (programme, SCHEMA.provider, org) in g
    assert (org, RDF.type, CIPD.EducationalInstitution) in g
    year1, sim_week, year2, placement = (
        URIRef(D + f"module/ihcp-{i}") for i in ("1", "1-1", "2", "2-1")
    )
    assert set(g.objects(programme, SCHEMA.hasCourse)) == {year1, year2}  # top-level blocks only
    assert (year1, CIPD.hasSubModule, sim_week) in g  # written nested
    assert (year2, CIPD.hasSubModule, placement) in g  # written as a SequenceBlockReference
    assert (year1, SCHEMA.timeRequired, Literal("P180D", datatype=XSD.duration)) in g
    assert (sim_week, SCHEMA.startDate, Literal("2026-02-02", datatype=XSD.date)) in g
    sim = URIRef(EVENT + "e101")
    assert {
        CIPD.LearningActivity,
        CIPD.PlannedLearningActivity,
        CIPD.InterprofessionalLearningActivity,
    } <= set(g.objects(sim, RDF.type))
    assert (sim, CIPD.activityKind, CIPD.Simulation) in g
    assert (sim, CIPD.partOfModule, sim_week) in g
    assert {str(k) for k in g.objects(sim, SCHEMA.keywords)} == {"Accidental Falls", "Teamwork"}
    assert len(list(g.objects(sim, SCHEMA.timeRequired))) == 1
    intro = URIRef(EVENT + "e102")
    assert (intro, RDFS.label, Literal("Einführung: Qualität und Sicherheit \u2013 Überblick")) in g
    assert CIPD.InterprofessionalLearningActivity not in set(g.objects(intro, RDF.type))
    workshop = URIRef(EVENT + "e103")
    assert (workshop, CIPD.activityKind, CIPD.Workshop) in g  # the primary method, not the first
    assert set(g.objects(workshop, CIPD.partOfModule)) == {year2, placement}
    outcomes = set(g.subjects(RDF.type, CIPD.LearningOutcome))
    assert len(outcomes) == 3
    programme_outcome = next(
        o
        for o in outcomes
        if (o, DCTERMS.identifier, Literal("http://southmoor.ac.uk/program_objective/1")) in g
    )
    assert {str(k) for k in g.objects(programme_outcome, SCHEMA.keywords)} == {
        "patient safety",
        "interprofessional working",
    }
    assert (year2, CIPD.hasLearningOutcome, programme_outcome) in g
    assert len(set(g.objects(sim, CIPD.hasLearningOutcome))) == 1
    # what cannot be placed is said, located
    warnings = {(w.record, w.field, w.line) for w in result.warnings}
    assert warnings == {
        ("report", "Institution", 12),  # m:Institution, where the schema has CI's Institution
        ("Event E104", "InstructionalMethod", 60),  # an assessment, not a learning activity
        ("SequenceBlock 1.1", "SequenceBlock", 125),  # nested, which v1 does not allow
    }, result.to_text()
    assert (URIRef(EVENT + "e104"), None, None) not in g
    # IM011 Journal Club: a seminar on papers, a teaching session
    assert (URIRef(EVENT + "e105"), CIPD.activityKind, CIPD.TeachingSession) in g


def test_round_trip_of_an_imported_report(store: GraphStore, tmp_path: Path) -> None:
    path = write(tmp_path, fixture_text())
    assert import_files(store, "curriculum-inventory", [path]).written
    exported = export_format(store, "curriculum-inventory", {"programme": "ihcp"})
    assert b'xmlns="http://ns.medbiq.org/curriculuminventory/v1/"' in exported
    assert ci_errors(exported) == []
    again = write(tmp_path, exported.decode("utf-8"), "exported.xml")
    with GraphStore(tmp_path / "fresh", Settings(pseudonym_key=KEY, user="tester")) as fresh:
        result = import_files(fresh, "curriculum-inventory", [again])
        assert result.ok and result.written and not result.warnings, result.to_text()
        assert set(batch(fresh, again)) == set(batch(store, path))
        assert export_format(fresh, "curriculum-inventory", {"programme": "ihcp"}) == exported


def test_round_trip_of_a_native_programme(
    loaded_sample_store: GraphStore, store: GraphStore, tmp_path: Path
) -> None:
    exported = export_format(
        loaded_sample_store, "curriculum-inventory", {"programme": "nsu-msc-qi"}
    )
    assert ci_errors(exported) == []
    path = write(tmp_path, exported.decode("utf-8"), "nsu.xml")
    result = import_files(store, "curriculum-inventory", [path])
    assert result.ok and result.written, result.to_text()
    # native activities have no duration and modules no timing: the export writes zero
    # (the schema requires both) and the import reads this tool's zero as not recorded
    assert not result.warnings, result.to_text()
    assert (None, SCHEMA.timeRequired, None) not in batch(store, path)
    assert export_format(store, "curriculum-inventory", {"programme": "nsu-msc-qi"}) == exported
    carried = {RDFS.label, CIPD.activityKind, CIPD.partOfModule, DCTERMS.date}

    def planned(s: GraphStore) -> set[tuple[str, str, str]]:
        rows = s.oxigraph.query(
            "SELECT ?a ?p ?o ?g WHERE { <https://w3id.org/cipd/data/programme/nsu-msc-qi> <https://schema.org/hasCourse> ?m . "
            "GRAPH ?g { ?a <https://w3id.org/cipd#partOfModule> ?m } GRAPH ?h { ?a ?p ?o } }"
        )
        out = set()
        for r in rows:  # type: ignore[union-attr]
            p = URIRef(r["p"].value)
            if p in carried:
                out.add((r["a"].value, r["p"].value, r["o"].value))
        return out

    assert planned(store) and planned(store) == planned(loaded_sample_store)


def test_a_loaded_institution_is_referenced_not_defined_again(
    store: GraphStore, tmp_path: Path
) -> None:
    text = fixture_text().replace(">southmoor-university<", ">northshire-university<")
    path = write(tmp_path, text)
    result = import_files(store, "curriculum-inventory", [path])
    assert result.ok and result.written, result.to_text()
    g = batch(store, path)
    org = URIRef(D + "organisation/northshire-university")
    assert (org, None, None) not in g
    assert (URIRef(D + "programme/ihcp"), SCHEMA.provider, org) in g


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda t: t.replace(
                '<ReportID domain="idd:southmoor.ac.uk:cip">2025-ipe-17</ReportID>', ""
            ),
            [("report", "ReportID", 2)],
        ),
        (
            lambda t: t.replace("<Title>PDSA workshop on a live service problem</Title>", ""),
            [("Event E103", "Title", 53)],
        ),
        (
            lambda t: t.replace(
                "<EventDuration>PT3H</EventDuration>", "<EventDuration>3 hours</EventDuration>"
            ),
            [("Event E103", "EventDuration", 55)],
        ),
        (
            lambda t: t.replace("<Duration>P30D</Duration>", "<Duration>P1W2</Duration>"),
            [("SequenceBlock 2.1", "Timing/Duration", 143)],
        ),
        (
            lambda t: t.replace("<EndDate>2026-02-06</EndDate>", "<EndDate>2026-01-06</EndDate>"),
            [("SequenceBlock 1.1", "Timing/Dates", 127)],
        ),
        (
            lambda t: t.replace("Event[@id='E105']", "Event[@id='E999']"),
            [("SequenceBlock 2", "SequenceBlockEvent/EventReference", 138)],
        ),
        (
            lambda t: t.replace("SequenceBlock[@id='2.1']", "SequenceBlock[@id='9']"),
            [("SequenceBlock 2", "SequenceBlockReference", 139)],
        ),
        (
            lambda t: t.replace('<Event id="E105">', "<Event>"),
            [
                ("Event (line 65)", "@id", 65),
                ("SequenceBlock 2", "SequenceBlockEvent/EventReference", 138),
            ],
        ),
        (
            lambda t: t.replace(
                "<Interprofessional>false</Interprofessional>",
                "<Interprofessional>maybe</Interprofessional>",
            ),
            [("Event E102", "Interprofessional", 49)],
        ),
        (
            lambda t: t.replace(
                "<ReportDate>2025-09-30</ReportDate>", "<ReportDate>30/09/2025</ReportDate>"
            ),
            [("report", "ReportDate", 27)],
        ),
    ],
    ids=[
        "no ReportID",
        "event without title",
        "bad event duration",
        "bad block duration",
        "dates reversed",
        "unknown event",
        "unknown block",
        "event without id",
        "bad flag",
        "bad report date",
    ],
)
def test_malformed_reports_are_located_and_change_nothing(
    store: GraphStore, tmp_path: Path, change, expected
) -> None:  # type: ignore[no-untyped-def]
    before = snapshot(store)
    path = write(tmp_path, change(fixture_text()))
    result = import_files(store, "curriculum-inventory", [path])
    assert not result.written
    assert [(p.record, p.field, p.line) for p in result.problems] == expected, result.to_text()
    assert snapshot(store) == before


HOSTILE = {
    "billion laughs": """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<CurriculumInventory xmlns="http://ns.medbiq.org/curriculuminventory/v1/"><Title>&lol3;</Title></CurriculumInventory>""",
    "external entity": """<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<CurriculumInventory xmlns="http://ns.medbiq.org/curriculuminventory/v1/"><Title>&xxe;</Title></CurriculumInventory>""",
    "external DTD": """<?xml version="1.0"?>
<!DOCTYPE CurriculumInventory SYSTEM "http://attacker.example/ci.dtd">
<CurriculumInventory xmlns="http://ns.medbiq.org/curriculuminventory/v1/"/>""",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_xml_is_refused_with_a_clear_error(
    store: GraphStore, tmp_path: Path, name: str
) -> None:
    before = snapshot(store)
    result = import_files(store, "curriculum-inventory", [write(tmp_path, HOSTILE[name])])
    assert not result.written
    assert [(p.record, p.line) for p in result.problems] == [("document", 2)]
    assert "declares a DTD" in result.problems[0].reason
    assert "root:" not in str(store.export("nq"))
    assert snapshot(store) == before


def test_not_xml_and_not_a_report_are_clear_errors(store: GraphStore, tmp_path: Path) -> None:
    broken = write(tmp_path, fixture_text()[:2000], "cut.xml")
    result = import_files(store, "curriculum-inventory", [broken])
    assert (
        result.problems[0].record == "document"
        and "not well-formed XML" in result.problems[0].reason
    )
    assert result.problems[0].line is not None
    other = write(
        tmp_path,
        '<?xml version="1.0"?><manifest xmlns="http://www.imsglobal.org/xsd/imscp_v1p1"/>',
        "m.xml",
    )
    result = import_files(store, "curriculum-inventory", [other])
    assert "not a Curriculum Inventory report" in result.problems[0].reason


def test_export_needs_a_loaded_programme(loaded_sample_store: GraphStore) -> None:
    with pytest.raises(FormatError, match=r"option.*programme.*required"):
        export_format(loaded_sample_store, "curriculum-inventory")
    with pytest.raises(FormatError, match="no programme 'nope'"):
        export_format(loaded_sample_store, "curriculum-inventory", {"programme": "nope"})


def test_a_reimported_native_programme_adds_to_activities_already_loaded(tmp_path: Path) -> None:
    records = tmp_path / "records"
    shutil.copytree(SAMPLES, records)
    with GraphStore(tmp_path / "s", Settings(pseudonym_key=KEY, user="tester")) as s:
        assert s.load([records]).ok
        exported = export_format(s, "curriculum-inventory", {"programme": "nsu-msc-qi"})
        path = write(tmp_path, exported.decode("utf-8"), "nsu.xml")
        result = import_files(s, "curriculum-inventory", [path])
        assert result.ok and result.written, result.to_text()
        g = batch(s, path)
        # activities that took place stay what they are: not re-declared as planned
        assert (None, RDF.type, CIPD.PlannedLearningActivity) not in g
        assert (None, CIPD.partOfModule, None) in g


def test_an_unknown_declared_encoding_is_a_clear_error(store: GraphStore, tmp_path: Path) -> None:
    """Found by hypothesis: expat raised LookupError for an encoding Python does not know."""
    before = snapshot(store)
    text = fixture_text().replace('encoding="UTF-8"', 'encoding="TF-8"', 1)
    assert 'encoding="TF-8"' in text
    result = import_files(store, "curriculum-inventory", [write(tmp_path, text)])
    assert not result.written
    assert [(p.record, p.line) for p in result.problems] == [("document", 1)]
    assert "unknown encoding: TF-8" in result.problems[0].reason
    assert snapshot(store) == before


OFFICIAL = MEDBIQ / "curriculuminventory" / "v1" / "sample_curriculuminventory.xml"


def test_reimporting_a_report_changes_nothing(store: GraphStore, tmp_path: Path) -> None:
    """Issue 21: the second import only referred to the institution, programme and modules
    the first one defined (its own batch, about to be replaced), and lost them: 82 triples,
    then 28, alternating."""
    path = write(tmp_path, fixture_text())
    first = import_files(store, "curriculum-inventory", [path])
    assert first.written
    graph = set(batch(store, path))
    for _ in range(2):
        again = import_files(store, "curriculum-inventory", [path])
        assert again.written and again.batches[0].replaces
        assert again.batches[0].triples == first.batches[0].triples
        assert set(batch(store, path)) == graph
    dry = import_files(store, "curriculum-inventory", [path], write=False)
    assert dry.batches[0].triples == first.batches[0].triples


def test_the_official_sample_imports_with_its_dangling_reference_warned(
    store: GraphStore, tmp_path: Path
) -> None:
    """MedBiquitous' own v1 sample passes the XSD but refers to competency object 'zxcvb',
    whose entry is http://nosuchdomain.edu/zxcvb: warned and left out, as CASE and xAPI do."""
    assert ci_errors(OFFICIAL.read_bytes()) == []
    path = tmp_path / "sample.xml"
    shutil.copy(OFFICIAL, path)
    result = import_files(store, "curriculum-inventory", [path])
    assert result.ok and result.written, result.to_text()
    dangling = [w for w in result.warnings if w.field == "CompetencyObjectReference"]
    assert [(w.record, w.line) for w in dangling] == [
        ("Event E1", 40),
        ("Event E2", 54),
        ("SequenceBlock c", 142),
    ]
    assert all("'zxcvb'" in w.reason for w in dangling)
    g = batch(store, path)
    assert len(set(g.subjects(RDF.type, CIPD.PlannedLearningActivity))) == 6
    assert len(set(g.subjects(RDF.type, CIPD.Module))) >= 3
    # clinical experience (IM002, IM003), named rather than coded: no close kind
    fallback = {w.reason.split(" ")[0] for w in result.warnings if w.field == "InstructionalMethod"}
    assert fallback == {"IM002", "IM003"}, result.to_text()


def test_exports_validate_against_the_official_xsd(loaded_sample_store: GraphStore) -> None:
    for programme in ("nsu-msc-qi", "wdu-pgcert-ipe"):
        exported = export_format(
            loaded_sample_store, "curriculum-inventory", {"programme": programme}
        )
        assert ci_errors(exported) == [], programme
        text = exported.decode()
        assert "<Integration" not in text and "<m:Institution>" not in text
        assert "<EventDuration>PT0M</EventDuration>" in text  # none recorded: the schema needs one


def test_the_validator_catches_what_issue_21_found(loaded_sample_store: GraphStore) -> None:
    """The XSD check is not vacuous: the faults of the old export are errors."""
    good = export_format(loaded_sample_store, "curriculum-inventory", {"programme": "nsu-msc-qi"})
    broken = {
        "member-namespace institution": good.replace(b"<Institution>", b"<m:Institution>").replace(
            b"</Institution>", b"</m:Institution>"
        ),
        "empty integration": good.replace(b"</Sequence>", b"</Sequence><Integration/>"),
        "week duration": good.replace(b"<Duration>P0D</Duration>", b"<Duration>P2W</Duration>", 1),
        "no event duration": good.replace(b"<EventDuration>PT0M</EventDuration>", b"", 1),
    }
    for name, document in broken.items():
        assert ci_errors(document), name


def test_huddles_and_action_learning_sets_keep_their_kind(
    loaded_sample_store: GraphStore, store: GraphStore, tmp_path: Path
) -> None:
    """Neither has an AAMC method: both are written as IM008 plus a cipd:activityKind element
    (the schema's place for other namespaces), which the import reads back."""
    exported = export_format(
        loaded_sample_store, "curriculum-inventory", {"programme": "wdu-pgcert-ipe"}
    )
    assert b"cipd:activityKind" in exported and ci_errors(exported) == []
    path = write(tmp_path, exported.decode(), "wdu.xml")
    assert import_files(store, "curriculum-inventory", [path]).written
    kinds = set(batch(store, path).objects(None, CIPD.activityKind))
    assert CIPD.ActionLearningSetMeeting in kinds


def test_every_aamc_method_has_a_kind_and_the_docs_show_the_table() -> None:
    codes = [code for code, *_ in INSTRUCTIONAL_METHODS]
    assert codes == [f"IM{n:03d}" for n in range(1, 31)]
    assert KIND_OF_METHOD["im008"][1] == CIPD.TeachingSession  # Discussion, Small Group
    assert KIND_OF_METHOD["discussion small group"][0] == "IM008"
    assert KIND_OF_METHOD["im026"][1] == CIPD.Workshop  # Team-Based Learning
    assert KIND_OF_METHOD["team based learning"][0] == "IM026"
    for kind, code in METHOD_OF_KIND.items():  # every kind is written as a real code
        assert code in codes, kind
    page = (ROOT / "docs" / "reference" / "standards.md").read_text(encoding="utf-8")
    assert methods_table() in page, "docs/reference/standards.md: paste methods_table() there"
