"""Every SHACL shape has a passing fixture (the base graph) and a failing one (a mutation)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import FOAF, RDF, RDFS, SKOS, XSD

from cipd_graph import CIPD
from cipd_graph.validation.report import shapes_graph, validate_graph

D = Namespace("https://w3id.org/cipd/data/")
SH = Namespace("http://www.w3.org/ns/shacl#")
SHAPES = Namespace("https://w3id.org/cipd/shapes#")

BASE = """
@prefix cipd: <https://w3id.org/cipd#> .
@prefix d: <https://w3id.org/cipd/data/> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix org: <http://www.w3.org/ns/org#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix schema: <https://schema.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .

d:trust a cipd:ServiceProvider ; rdfs:label "Trust" .
d:uni a cipd:EducationalInstitution ; rdfs:label "University" .
d:icb a cipd:Commissioner ; rdfs:label "ICB" .
d:nurse a foaf:Person ; cipd:hasProfession cipd:Nurse .
d:physio a foaf:Person ; cipd:hasProfession cipd:Physiotherapist .
d:hca a foaf:Person ; cipd:hasProfession cipd:HealthcareAssistant .
d:nursing-associate a foaf:Person ; cipd:hasProfession cipd:NursingAssociate .

d:p a cipd:ImprovementProject ; rdfs:label "Falls" ; cipd:hasAim d:p-aim ;
    schema:startDate "2024-01-01"^^xsd:date ; schema:endDate "2024-12-31"^^xsd:date ;
    cipd:hostedBy d:trust ; cipd:hasPartner d:icb ; cipd:hasTeam d:team ;
    cipd:claimsElement cipd:WorkBasedLearning ; cipd:addresses cipd:LessonTwoJobs ;
    cipd:hasMeasure d:m ; cipd:hasCycle d:c1 .
d:p-aim a cipd:Aim ; dcterms:description "Halve falls on the ward by December." .
d:team a cipd:Team ; rdfs:label "Ward team" ; org:hasMember d:nurse , d:physio .
d:ms a org:Membership ; org:member d:nurse ; org:organization d:team ; org:role cipd:ProjectLead ;
    schema:startDate "2024-01-01"^^xsd:date ; schema:endDate "2024-12-31"^^xsd:date .
d:nurse cipd:identifiesAs cipd:Improver ; cipd:qualifiedIdentification d:nurse-improver .
d:nurse-improver a cipd:RoleIdentification ; cipd:identifiedRole cipd:Improver ;
    schema:startDate "2023-09-01"^^xsd:date .
d:m a cipd:Measure ; rdfs:label "Falls per 1,000 bed days" ; cipd:measuresDimension cipd:SafeCare ;
    cipd:hasObservation d:m-1 .
d:m-1 a cipd:MeasureObservation ; dcterms:date "2024-02-01"^^xsd:date ; cipd:observedValue "7.5"^^xsd:decimal .
d:c1 a cipd:PDSACycle ; cipd:isCycleOf d:p ; cipd:cycleNumber "1"^^xsd:positiveInteger ;
    schema:startDate "2024-02-01"^^xsd:date ; schema:endDate "2024-02-28"^^xsd:date ;
    cipd:hasStage d:c1-plan , d:c1-do , d:c1-study , d:c1-act ; cipd:hasInvolvement d:c1-patients .
d:c1-patients a cipd:PatientCarerInvolvement ; cipd:involvedGroup cipd:InvolvedPatients ;
    cipd:involvementKind cipd:SharingExperienceInvolvement ; cipd:headcount "3"^^xsd:nonNegativeInteger .
d:c1-plan a cipd:CycleStage ; cipd:stageType cipd:PlanStage ; dcterms:description "Plan the rounds" ;
    schema:startDate "2024-02-01"^^xsd:date ; schema:endDate "2024-02-02"^^xsd:date ;
    prov:wasAssociatedWith d:nurse , d:physio .
d:c1-do a cipd:CycleStage ; cipd:stageType cipd:DoStage ; dcterms:description "Ran the rounds" ;
    schema:startDate "2024-02-03"^^xsd:date .
d:c1-study a cipd:CycleStage ; cipd:stageType cipd:StudyStage ; dcterms:description "Looked at data" .
d:c1-act a cipd:CycleStage ; cipd:stageType cipd:ActStage ; dcterms:description "Adopted it" .
d:a a cipd:LearningActivity ; rdfs:label "Huddle" ; cipd:declaredInterprofessional true ;
    cipd:activityKind cipd:TeamHuddle ; cipd:atWork true ; dcterms:date "2024-02-05"^^xsd:date ;
    cipd:partOfProject d:p ; cipd:hasLearningMode cipd:LearningWith , cipd:LearningFrom ;
    cipd:partOfModule d:mod ; cipd:forTeam d:team ;
    prov:wasAssociatedWith d:nurse , d:physio .
d:a2 a cipd:LearningActivity ; rdfs:label "Briefing" ; cipd:declaredInterprofessional false ;
    cipd:activityKind cipd:Workshop ; dcterms:date "2024-02-06"^^xsd:date ;
    cipd:hasLearningMode cipd:LearningAbout ; prov:wasAssociatedWith d:nurse , d:physio .
d:ev a cipd:PlannedLearningActivity , cipd:InterprofessionalLearningActivity ; rdfs:label "Falls simulation" ;
    cipd:activityKind cipd:Simulation ; cipd:partOfModule d:mod ; cipd:hasLearningOutcome d:lo .
d:lo a cipd:LearningOutcome ; rdfs:label "Explain the causes of falls in hospital" .
d:r a cipd:Reflection ; cipd:reflectionMode cipd:ReflectionOnPractice ; cipd:reflectsOn d:c1 ;
    cipd:partOfProject d:p ;
    prov:wasAttributedTo d:nurse ; dcterms:description "We learned to ask the night staff first." .
d:cd a cipd:CoDesignActivity ; cipd:partOfProject d:p ; cipd:atTouchPoint d:tp ; cipd:involvesCoDesigner d:pc .
d:tp a cipd:TouchPoint ; rdfs:label "Call bell at night" .
d:pc a cipd:PatientOrCarer ; rdfs:label "Patient 1" .
d:prog a cipd:Programme ; rdfs:label "MSc QI" ; schema:provider d:uni ; schema:hasCourse d:mod ;
    cipd:commissionedBy d:icb .
d:mod a cipd:Module ; rdfs:label "QI in practice" ; schema:provider d:uni , d:trust ;
    cipd:commissionedBy d:icb ; cipd:linkedToProject d:p .
d:map a cipd:ModuleMapping ; cipd:mapsModule d:mod ; cipd:mapsToElement cipd:WorkBasedLearning ;
    cipd:mappingStrength cipd:StrongMapping ; cipd:justification "Students run a PDSA cycle at work." ;
    prov:wasAttributedTo d:nurse .
d:ps a cipd:Partnership ; rdfs:label "Northshire partnership" ; org:hasMember d:trust , d:uni , d:icb ;
    cipd:supports d:p , d:mod .
d:fw a cipd:CompetencyFramework , skos:ConceptScheme ; skos:prefLabel "IPEC core competencies" ;
    dcterms:identifier "9f3c1d2e-4b5a-4c6d-8e7f-0a1b2c3d4e5f" .
d:fw-tt a cipd:FrameworkItem , skos:Concept ; skos:inScheme d:fw ; skos:prefLabel "Teams and teamwork" ;
    dcterms:identifier "tt" .
d:fw-tt2 a cipd:FrameworkItem , skos:Concept ; skos:inScheme d:fw ; skos:broader d:fw-tt ;
    skos:prefLabel "Use improvement methods in teams" ; dcterms:identifier "tt2" .
d:map2 a cipd:ModuleMapping ; cipd:mapsModule d:mod ; cipd:mapsToElement d:fw-tt2 ;
    cipd:mappingStrength cipd:WeakMapping ; cipd:justification "Students improve care with their team." ;
    prov:wasAttributedTo d:nurse .
"""

P = Namespace("http://www.w3.org/ns/prov#")
DCT = Namespace("http://purl.org/dc/terms/")
SCHEMA = Namespace("https://schema.org/")
ORG = Namespace("http://www.w3.org/ns/org#")


def _drop(s: URIRef, p: URIRef) -> Callable[[Graph], None]:
    return lambda g: g.remove((s, p, None))


def _set(s: URIRef, p: URIRef, o: object) -> Callable[[Graph], None]:
    def change(g: Graph) -> None:
        g.remove((s, p, None))
        g.add((s, p, o))  # type: ignore[arg-type]

    return change


def _set_all(s: URIRef, p: URIRef, *objects: object) -> Callable[[Graph], None]:
    def change(g: Graph) -> None:
        g.remove((s, p, None))
        for o in objects:
            g.add((s, p, o))  # type: ignore[arg-type]

    return change


def _add(s: URIRef, p: URIRef, o: object) -> Callable[[Graph], None]:
    return lambda g: g.add((s, p, o))  # type: ignore[arg-type]


def _date(text: str) -> Literal:
    return Literal(text, datatype=XSD.date)


#: (node shape, what breaks, the mutation, a fragment of the expected message, severity)
CASES = [
    ("ProjectShape", "no aim", _drop(D.p, CIPD.hasAim), "a project needs an aim", "error"),
    (
        "ProjectShape",
        "short aim",
        _set(D["p-aim"], DCT.description, Literal("Less")),
        "at least 10 characters",
        "error",
    ),
    (
        "ProjectShape",
        "no members",
        _drop(D.team, ORG.hasMember),
        "at least one team member",
        "error",
    ),
    (
        "ProjectShape",
        "start after end",
        _set(D.p, SCHEMA.startDate, _date("2025-01-01")),
        "on or before its end date",
        "error",
    ),
    (
        "ProjectShape",
        "hosted by a university",
        _set(D.p, CIPD.hostedBy, D.uni),
        "must be a service provider",
        "error",
    ),
    (
        "ProjectShape",
        "end date not a date",
        _set(D.p, SCHEMA.endDate, Literal("soon")),
        "end date must be a calendar date",
        "error",
    ),
    (
        "ProjectShape",
        "unknown partner",
        _set(D.p, CIPD.hasPartner, D.nowhere),
        "each partner must be an organisation",
        "error",
    ),
    (
        "ProjectShape",
        "claims a non-element",
        _set(D.p, CIPD.claimsElement, CIPD.Team),
        "element of the CIPD model",
        "error",
    ),
    (
        "ProjectReflectionInfo",
        "no reflection",
        _drop(D.r, CIPD.reflectsOn),
        "no reflection is recorded",
        "note",
    ),
    (
        "TeamShape",
        "member not a person",
        _add(D.team, ORG.hasMember, D.ghost),
        "person known to the graph",
        "error",
    ),
    (
        "PersonShape",
        "unknown profession",
        _set(D.nurse, CIPD.hasProfession, CIPD.Wizard),
        "not in the professions scheme",
        "error",
    ),
    (
        "PersonShape",
        "name with the records",
        _add(D.nurse, FOAF.name, Literal("Ann Example")),
        "name must not be stored",
        "error",
    ),
    ("MembershipShape", "no role", _drop(D.ms, ORG.role), "a membership needs a role", "error"),
    (
        "MeasureShape",
        "no dimension",
        _drop(D.m, CIPD.measuresDimension),
        "which quality dimension",
        "warning",
    ),
    (
        "ObservationShape",
        "value not a number",
        _set(D["m-1"], CIPD.observedValue, Literal("seven")),
        "one numeric value",
        "error",
    ),
    (
        "CycleShape",
        "no plan",
        lambda g: g.remove((D.c1, CIPD.hasStage, D["c1-plan"])),
        "records its plan",
        "error",
    ),
    (
        "CycleShape",
        "end date as text",
        _set(D.c1, SCHEMA.endDate, Literal("end of February")),
        "end date must be a calendar date",
        "error",
    ),
    (
        "CompletedCycleShape",
        "completed without study",
        lambda g: g.remove((D.c1, CIPD.hasStage, D["c1-study"])),
        "all four stages",
        "error",
    ),
    (
        "StageShape",
        "stage ends before it starts",
        _set(D["c1-plan"], SCHEMA.endDate, _date("2024-01-15")),
        "starts on or before it ends",
        "error",
    ),
    (
        "StageShape",
        "stage without notes",
        _drop(D["c1-act"], DCT.description),
        "needs notes",
        "error",
    ),
    (
        "StageShape",
        "stage starts at a time of day",
        _set(D["c1-do"], SCHEMA.startDate, Literal("2024-02-03T09:00:00", datatype=XSD.dateTime)),
        "start date must be a calendar date",
        "error",
    ),
    (
        "StageShape",
        "stage end date as text",
        _set(D["c1-plan"], SCHEMA.endDate, Literal("Feb")),
        "end date must be a calendar date",
        "error",
    ),
    (
        "LearningActivityShape",
        "unknown participant",
        _add(D.a, P.wasAssociatedWith, D.ghost),
        "every participant must be a person",
        "error",
    ),
    (
        "HeldLearningActivityShape",
        "no date",
        _drop(D.a, DCT.date),
        "has one date",
        "error",
    ),
    (
        "HeldLearningActivityShape",
        "no participant",
        lambda g: g.remove((D.a, P.wasAssociatedWith, None)),
        "every participant must be a person",
        "error",
    ),
    (
        "PlannedActivityShape",
        "no title",
        _drop(D.ev, RDFS.label),
        "planned learning activity needs a title",
        "error",
    ),
    (
        "LearningOutcomeShape",
        "no title",
        _drop(D.lo, RDFS.label),
        "learning outcome needs a title",
        "error",
    ),
    (
        "LearningActivityShape",
        "held for a person rather than a team",
        _set(D.a, CIPD.forTeam, D.nurse),
        "must be one team",
        "error",
    ),
    (
        "LearningActivityShape",
        "declared twice, both ways",
        _add(D.a, CIPD.declaredInterprofessional, Literal(False)),
        "declared once, as true or false",
        "error",
    ),
    (
        "DeclaredInterprofessionalFamiliesShape",
        "a nurse, a nursing associate and a healthcare assistant",
        _set_all(D.a, P.wasAssociatedWith, D.nurse, D["nursing-associate"], D.hca),
        "declared interprofessional (interprofessional: true), but its participants do not come from two or more profession families",
        "warning",
    ),
    (
        "DeclaredInterprofessionalModesShape",
        "side by side only",
        _set(D.a, CIPD.hasLearningMode, CIPD.LearningAbout),
        "professions learning side by side is shared education",
        "warning",
    ),
    (
        "DeclaredNotInterprofessionalShape",
        "two families learning with and from each other",
        lambda g: [
            g.add((D.a2, CIPD.hasLearningMode, CIPD.LearningWith)),
            g.add((D.a2, CIPD.hasLearningMode, CIPD.LearningFrom)),
        ],
        "declared not interprofessional (interprofessional: false), though participants from two or more profession families",
        "warning",
    ),
    (
        "MembershipShape",
        "leaves before joining",
        _set(D.ms, SCHEMA.endDate, _date("2023-12-31")),
        "on or before its end date",
        "error",
    ),
    (
        "RoleIdentificationShape",
        "no role",
        _drop(D["nurse-improver"], CIPD.identifiedRole),
        "names one role",
        "error",
    ),
    (
        "RoleIdentificationShape",
        "since a time of day",
        _set(
            D["nurse-improver"],
            SCHEMA.startDate,
            Literal("2023-09-01T08:00:00", datatype=XSD.dateTime),
        ),
        "a calendar date",
        "error",
    ),
    (
        "StageShape",
        "a stage participant who is not a person",
        _add(D["c1-plan"], P.wasAssociatedWith, D.ghost),
        "everyone who took part in a stage",
        "error",
    ),
    (
        "InvolvementShape",
        "a patient's name on the count",
        _add(D["c1-patients"], FOAF.name, Literal("Mrs Example")),
        "never a name",
        "error",
    ),
    (
        "InvolvementShape",
        "no one counted",
        _set(D["c1-patients"], CIPD.headcount, Literal("0", datatype=XSD.nonNegativeInteger)),
        "a whole number from 1",
        "error",
    ),
    (
        "InvolvementShape",
        "not a group",
        _set(D["c1-patients"], CIPD.involvedGroup, CIPD.Nurse),
        "patients or carers",
        "error",
    ),
    (
        "ReflectionShape",
        "part of a module, not a project",
        _set(D.r, CIPD.partOfProject, D.mod),
        "belongs to at most one improvement project",
        "error",
    ),
    (
        "ReflectionShape",
        "no author",
        _drop(D.r, P.wasAttributedTo),
        "author of a reflection",
        "error",
    ),
    (
        "ReflectionShape",
        "dated with a time of day",
        _add(D.r, DCT.date, Literal("2024-02-03T09:00:00", datatype=XSD.dateTime)),
        "date must be a calendar date",
        "error",
    ),
    (
        "CoDesignShape",
        "no touch point",
        _drop(D.cd, CIPD.atTouchPoint),
        "at least one touch point",
        "error",
    ),
    (
        "CoDesignShape",
        "date as text",
        _add(D.cd, DCT.date, Literal("last week")),
        "must be a calendar date",
        "error",
    ),
    (
        "PatientOrCarerShape",
        "a patient's name",
        _add(D.pc, FOAF.name, Literal("Mrs Example")),
        "never identified",
        "error",
    ),
    (
        "PatientOrCarerShape",
        "a patient's email",
        _add(D.pc, SCHEMA.email, Literal("x@example.org")),
        "never identified",
        "error",
    ),
    (
        "OrganisationShape",
        "no name",
        _drop(D.trust, URIRef("http://www.w3.org/2000/01/rdf-schema#label")),
        "needs a name",
        "error",
    ),
    (
        "ProgrammeShape",
        "offered by a trust",
        _set(D.prog, SCHEMA.provider, D.trust),
        "one educational institution",
        "error",
    ),
    (
        "ModuleShape",
        "no institution",
        _drop(D.mod, SCHEMA.provider),
        "at least one educational institution",
        "error",
    ),
    (
        "ModuleShape",
        "co-delivered by a trust alone",
        _set(D.mod, SCHEMA.provider, D.trust),
        "at least one educational institution",
        "error",
    ),
    (
        "ModuleShape",
        "a provider that is not an organisation",
        _add(D.mod, SCHEMA.provider, D.nurse),
        "every provider of a module must be an organisation",
        "error",
    ),
    (
        "ModuleShape",
        "commissioned by a university",
        _set(D.mod, CIPD.commissionedBy, D.uni),
        "kind commissioner",
        "error",
    ),
    (
        "ProgrammeShape",
        "commissioned by a trust",
        _set(D.prog, CIPD.commissionedBy, D.trust),
        "kind commissioner",
        "error",
    ),
    (
        "ModuleShape",
        "starts after it ends",
        lambda g: [
            g.add((D.mod, SCHEMA.startDate, _date("2025-09-01"))),
            g.add((D.mod, SCHEMA.endDate, _date("2025-06-30"))),
        ],
        "on or before its end date",
        "error",
    ),
    (
        "ModuleMappingShape",
        "not a model element",
        _set(D.map, CIPD.mapsToElement, CIPD.Nurse),
        "must point at an element",
        "error",
    ),
    (
        "ModuleMappingShape",
        "thin justification",
        _set(D.map, CIPD.justification, Literal("yes")),
        "carries a justification",
        "error",
    ),
    (
        "PartnershipShape",
        "one member",
        _set(D.ps, ORG.hasMember, D.trust),
        "at least two organisations",
        "error",
    ),
    (
        "CompetencyFrameworkShape",
        "no title",
        _drop(D.fw, SKOS.prefLabel),
        "an imported framework needs a title",
        "error",
    ),
    (
        "FrameworkItemShape",
        "parent outside the import",
        _set(D["fw-tt2"], SKOS.broader, CIPD.WorkBasedLearning),
        "parent must be an item of the same import",
        "error",
    ),
    (
        "ModuleMappingShape",
        "framework item target without a framework type",
        _set(D.map2, CIPD.mapsToElement, D.fw),
        "or at an item of an imported competency framework",
        "error",
    ),
]


def base() -> Graph:
    return Graph().parse(data=BASE, format="turtle")


@pytest.fixture(params=["native", "pyshacl"])
def engine(request: pytest.FixtureRequest) -> str:
    """Every fixture runs under both SHACL engines (tests/test_shacl_engine.py compares them)."""
    return request.param


def findings(graph: Graph, engine: str = "native"):
    return validate_graph(graph, lambda _focus: (None, None, None), engine=engine).findings


def test_the_base_graph_passes_every_shape(engine):
    assert findings(base(), engine) == []


def test_every_node_shape_has_a_failing_case():
    shapes = {
        str(s).removeprefix(str(SHAPES))
        for s in shapes_graph().subjects(RDF.type, SH.NodeShape)
        if isinstance(s, URIRef)
    }
    assert shapes == {case[0] for case in CASES}


@pytest.mark.parametrize(
    ("shape", "why", "mutate", "message", "severity"), CASES, ids=[f"{c[0]}: {c[1]}" for c in CASES]
)
def test_shape_fails_when_the_record_breaks_it(shape, why, mutate, message, severity, engine):
    graph = base()
    mutate(graph)
    found = findings(graph, engine)
    assert any(message in f.message and f.severity == severity for f in found), (
        f"{shape} ({why}): expected a {severity} containing {message!r}, got {[(f.severity, f.message) for f in found]}"
    )


def test_profession_families_reach_the_validation_context():
    from cipd_graph.validation.report import _schema_triples

    extract = set(_schema_triples())
    assert (CIPD.PharmacyTechnician, CIPD.inProfessionFamily, CIPD.PharmacyFamily) in extract
    assert (CIPD.SupportWorkforceFamily, CIPD.countsForCaipe, Literal(False)) in extract
    assert (CIPD.NursingFamily, CIPD.countsForCaipe, Literal(True)) in extract


def test_caipe_warnings_read_professions_stored_by_an_earlier_load(tmp_path, settings):
    """Loaded on its own after the reference tables, a project whose members' professions
    come from people.csv (med-rec-admissions lists some without one) still gets the family
    warning, naming the family: the professions come from the store, the families from the
    ontology extract."""
    from cipd_graph.graph import GraphStore

    from .conftest import SAMPLES

    store = GraphStore(tmp_path / "store", settings)
    try:
        assert store.load([SAMPLES / "reference"]).ok
        result = store.load([SAMPLES / "projects" / "med-rec-admissions.yaml"])
        assert result.ok, result.to_text()
        (warning,) = [
            f
            for f in result.report.findings
            if f.shape and f.shape.endswith("DeclaredInterprofessionalFamiliesShape")
        ]
        assert (
            warning.record == "learning activity technician-coaching of project med-rec-admissions"
        )
        assert warning.message.endswith("(participants' profession families: pharmacy)")
        assert warning.severity == "warning" and warning.line
    finally:
        store.close()
