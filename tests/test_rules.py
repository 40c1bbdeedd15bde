"""Derivation rules: each states what it claims and where the claim comes from, and computes
on hand-built records what the claim says, worked out by hand below (the comments give the
reasoning). The sample records are checked against an independent reading of the record
files in ``tests/test_rules_sample.py``."""

from __future__ import annotations

import re
from pathlib import Path

import pyoxigraph as ox
import pytest

from cipd_graph._errors import OntologyError
from cipd_graph._ontology import ontology_files
from cipd_graph.derive import compute, parse_rule, rules

CIPD = "https://w3id.org/cipd#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
INFERRED = "urn:test:inferred/"

# Professions and their families (ontology/modules/professions.ttl): Nurse, SpecialistNurse and
# NursingAssociate are nursing; HealthcareAssistant the support workforce (does not count for
# CAIPE); GeneralPractitioner and SpecialistDoctor medicine; HealthServicesManager counts.
DATA = """
@prefix cipd: <https://w3id.org/cipd#> .
@prefix org: <http://www.w3.org/ns/org#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix d: <urn:d:> .
@prefix schema: <https://schema.org/> .

d:nurse cipd:hasProfession cipd:Nurse .
d:snurse cipd:hasProfession cipd:SpecialistNurse .
d:assoc cipd:hasProfession cipd:NursingAssociate .
d:hca cipd:hasProfession cipd:HealthcareAssistant .
d:physio cipd:hasProfession cipd:Physiotherapist ; cipd:identifiesAs cipd:Improver .
d:gp cipd:hasProfession cipd:GeneralPractitioner .
d:doc cipd:hasProfession cipd:SpecialistDoctor .
d:pharm cipd:hasProfession cipd:Pharmacist .
d:mgr cipd:hasProfession cipd:HealthServicesManager .

# Learning activities
d:a-ipl a cipd:LearningActivity ; prov:wasAssociatedWith d:nurse , d:physio ;
  cipd:hasLearningMode cipd:LearningWith , cipd:LearningFrom ; cipd:declaredInterprofessional true ;
  cipd:partOfProject d:p ; cipd:atWork true ; prov:wasInformedBy d:p-c1 ; cipd:partOfModule d:mod .
d:a-declared-false a cipd:LearningActivity ; prov:wasAssociatedWith d:nurse , d:physio ;
  cipd:hasLearningMode cipd:LearningWith , cipd:LearningFrom , cipd:LearningAbout ;
  cipd:declaredInterprofessional false ; cipd:partOfProject d:p ; cipd:atWork false .
d:a-zero a cipd:LearningActivity ; prov:wasAssociatedWith d:nurse , d:physio ;
  cipd:hasLearningMode cipd:LearningWith , cipd:LearningFrom ;
  cipd:declaredInterprofessional "0"^^xsd:boolean .
d:a-with-only a cipd:LearningActivity ; prov:wasAssociatedWith d:nurse , d:gp ;
  cipd:hasLearningMode cipd:LearningWith ; cipd:declaredInterprofessional true ;
  cipd:partOfProject d:s ; cipd:atWork false .
d:a-about-only a cipd:LearningActivity ; prov:wasAssociatedWith d:physio , d:mgr ;
  cipd:hasLearningMode cipd:LearningAbout ; cipd:partOfProject d:m ; cipd:atWork true .
d:a-nursing a cipd:LearningActivity ; prov:wasAssociatedWith d:nurse , d:snurse , d:assoc , d:hca ;
  cipd:hasLearningMode cipd:LearningWith , cipd:LearningFrom , cipd:LearningAbout ;
  cipd:partOfProject d:q ; cipd:atWork true .
d:a-gp-doc a cipd:LearningActivity ; prov:wasAssociatedWith d:gp , d:doc ;
  cipd:hasLearningMode cipd:LearningWith , cipd:LearningAbout .
d:a-nurse-hca a cipd:LearningActivity ; prov:wasAssociatedWith d:nurse , d:hca ;
  cipd:hasLearningMode cipd:LearningWith , cipd:LearningFrom .
d:a-w-ipl a cipd:LearningActivity ; prov:wasAssociatedWith d:nurse , d:pharm ;
  cipd:hasLearningMode cipd:LearningWith , cipd:LearningAbout ; cipd:partOfProject d:w ; cipd:atWork false .
d:a-w-work a cipd:LearningActivity ; prov:wasAssociatedWith d:nurse ;
  cipd:hasLearningMode cipd:LearningWith ; cipd:partOfProject d:w ; cipd:atWork true ;
  prov:wasInformedBy d:w-c1 .

# Teams
d:t-p a cipd:Team ; org:hasMember d:nurse , d:physio , d:hca .
d:t-dn a cipd:Team ; org:hasMember d:nurse , d:snurse , d:assoc , d:hca .
d:t-declared a cipd:InterprofessionalTeam ; org:hasMember d:nurse , d:snurse .
d:t-ms a cipd:ClinicalMicrosystem ; org:hasMember d:gp , d:pharm .
d:t-w a cipd:Team ; org:hasMember d:nurse , d:pharm .

# Projects
d:p a cipd:ImprovementProject ; cipd:hasTeam d:t-p ; cipd:hasCycle d:p-c1 ;
  cipd:usesMethodology cipd:PlanDoStudyAct ; cipd:targetsQualityDimension cipd:SafeCare .
d:p-c1 a cipd:PDSACycle ; cipd:isCycleOf d:p ; prov:wasAssociatedWith d:t-p ;
  cipd:hasStage d:p-c1-plan , d:p-c1-do .
d:p-c1-plan cipd:stageType cipd:PlanStage ; prov:wasAssociatedWith d:nurse , d:physio .
d:p-c1-do cipd:stageType cipd:DoStage ; prov:wasAssociatedWith d:nurse , d:hca .
d:r1 a cipd:Reflection ; cipd:reflectsOn d:p-c1 ; prov:wasAttributedTo d:nurse .

d:q a cipd:ImprovementProject ; cipd:hasTeam d:t-dn ; cipd:usesMethodology cipd:Lean ;
  cipd:targetsQualityDimension cipd:SafeCare .

d:s a cipd:ImprovementProject ; cipd:hasTeam d:t-declared .
d:cd a cipd:CoDesignActivity ; cipd:partOfProject d:s .

d:m a cipd:ImprovementProject ; cipd:hasTeam d:t-ms .
d:r2 a cipd:Reflection ; cipd:reflectsOn d:m ; prov:wasAttributedTo d:gp .

d:w a cipd:ImprovementProject ; cipd:hasTeam d:t-w ; cipd:hasCycle d:w-c1 .
d:w-c1 a cipd:PDSACycle ; cipd:isCycleOf d:w ; prov:wasAssociatedWith d:t-w .

# Measures: two observations share the latest date, one records no value
d:falls cipd:hasObservation d:falls-1 , d:falls-2 , d:falls-3 , d:falls-4 .
d:falls-1 dcterms:date "2024-05-31"^^xsd:date ; cipd:observedValue 7.6 .
d:falls-2 dcterms:date "2024-06-30"^^xsd:date ; cipd:observedValue 6.9 .
d:falls-3 dcterms:date "2024-06-30"^^xsd:date ; cipd:observedValue 7.0 .
d:falls-4 dcterms:date "2024-06-30"^^xsd:date .

# Modules
d:mod a cipd:Module ; cipd:linkedToProject d:p ; schema:provider d:uni .
d:mod2 a cipd:Module ; cipd:linkedToProject d:q ; schema:provider d:uni .
d:p cipd:hostedBy d:trust .
d:q cipd:hostedBy d:other .
d:mod3 a cipd:Module ; cipd:forTeam d:t-p .
d:ghost cipd:linkedToProject d:p .

# Partnerships
d:pship a cipd:Partnership ; org:hasMember d:trust , d:uni , d:icb .
d:other a cipd:ServiceProvider .
"""


def _vocabulary() -> list[ox.Triple]:
    triples: list[ox.Triple] = []
    for path in ontology_files():
        triples += [q.triple for q in ox.parse(path.read_bytes(), format=ox.RdfFormat.TURTLE)]
    return triples


def _derive() -> ox.Store:
    """The records' and the ontology's triples, and every rule's facts about them, each
    rule's in its own graph."""
    records = [q.triple for q in ox.parse(DATA, format=ox.RdfFormat.TURTLE)]
    derivation = compute(records + _vocabulary())
    store = ox.Store()
    store.extend(ox.Quad(t.subject, t.predicate, t.object) for t in derivation.union)
    for key, triples in derivation.facts.items():
        store.extend(
            ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(INFERRED + key)) for t in triples
        )
    return store


@pytest.fixture(scope="module")
def derived() -> ox.Store:
    return _derive()


def facts(store: ox.Store, subject: str, predicate: str) -> set[str]:
    """What the rules derived about ``subject`` through ``predicate`` (local names)."""
    return {
        q.object.value.removeprefix(CIPD).removeprefix("urn:d:")
        for q in store.quads_for_pattern(ox.NamedNode(subject), ox.NamedNode(predicate), None)
        if isinstance(q.graph_name, ox.NamedNode) and q.graph_name.value.startswith(INFERRED)
    }


def d(name: str) -> str:
    return "urn:d:" + name


def instances(store: ox.Store, cls: str) -> set[str]:
    return {
        q.subject.value.removeprefix("urn:d:")
        for q in store.quads_for_pattern(None, ox.NamedNode(RDF_TYPE), ox.NamedNode(CIPD + cls))
        if isinstance(q.graph_name, ox.NamedNode) and q.graph_name.value.startswith(INFERRED)
    }


# ------------------------------------------------------------------------ the headers


def test_every_rule_states_its_claim_source_needs_and_what_contradicts_it():
    loaded = rules()
    assert len(loaded) >= 12
    sources = "\n".join(p.read_text("utf-8") for p in ontology_files())
    known = set(re.findall(r"^(?:paper|src):[\w-]+", sources, re.MULTILINE))
    for rule in loaded:
        for header in ("summary", "claim", "source", "needs", "contradicted-by", "derives"):
            assert rule.headers.get(header), (rule.name, header)
        cited = [s.strip() for s in rule.source.split(",")]
        assert cited and set(cited) <= known, (rule.name, set(cited) - known)
        assert rule.template and rule.where.startswith("{")


def test_each_rule_names_the_terms_it_derives():
    """The ``derives`` header names every property and class the template writes."""
    for rule in rules():
        written = set(re.findall(r"cipd:\w+", rule.template))
        named = set(re.findall(r"cipd:\w+", rule.derives))
        # the values a template writes (a kind, a strand) are not terms it derives
        terms = {
            t for t in written if t[5].islower() or t in re.findall(r"a (cipd:\w+)", rule.template)
        }
        assert terms <= named, (rule.name, terms - named)


def _rule(directory: Path, name: str, template: str, where: str, headers: str = "") -> Path:
    path = directory / f"{name}.rq"
    headers = headers or (
        f"#+ summary: test rule {name}\n#+ claim: a test\n#+ source: none\n#+ needs: ex:q\n"
        "#+ contradicted-by: nothing\n#+ derives: ex:p\n"
    )
    path.write_text(
        headers + "PREFIX ex: <http://example.org/>\n"
        f"CONSTRUCT {{ {template} }}\nWHERE {{ {where} }}\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("missing", ["claim", "needs", "contradicted-by", "source", "derives"])
def test_a_rule_without_a_required_header_is_refused(tmp_path: Path, missing: str):
    lines = {
        "summary": "a rule",
        "claim": "a claim",
        "source": "paper:figure-1",
        "needs": "ex:q",
        "contradicted-by": "nothing",
        "derives": "ex:p",
    }
    del lines[missing]
    headers = "".join(f"#+ {k}: {v}\n" for k, v in lines.items())
    path = _rule(tmp_path, "10-a", "?x ex:p ?y", "?x ex:q ?y", headers)
    with pytest.raises(OntologyError, match=f"#\\+ {missing}:"):
        parse_rule(path)


def test_a_header_goes_on_over_indented_lines(tmp_path: Path):
    headers = (
        "#+ summary: a rule\n#+ claim: the first part\n#+   and the second\n#+ source: x\n"
        "#+ needs: y\n#+ contradicted-by: z\n#+ derives: ex:p\n"
    )
    rule = parse_rule(_rule(tmp_path, "10-a", "?x ex:p ?y", "?x ex:q ?y", headers))
    assert rule.claim == "the first part and the second"


def test_a_rule_may_mint_nodes_from_its_focus_tied_to_it_by_an_anchor(tmp_path: Path):
    mint = 'BIND(IRI(CONCAT(STR(?x), "/link/", STR(?y))) AS ?l)'
    rule = parse_rule(
        _rule(tmp_path, "10-a", "?x ex:has ?l . ?l ex:to ?y . ?l a ex:Link", f"?x ex:q ?y {mint}")
    )
    assert rule.focus == "x" and rule.anchors == (("http://example.org/has", True),)
    only = parse_rule(_rule(tmp_path, "20-b", "?l ex:from ?x ; ex:to ?y", f"?x ex:q ?y {mint}"))
    assert only.focus == "x" and only.anchors == (("http://example.org/from", False),)
    with pytest.raises(OntologyError, match="tie the minted node"):
        parse_rule(_rule(tmp_path, "30-c", "?x ex:p ?y . ?l ex:to ?y", f"?x ex:q ?y {mint}"))
    other = 'BIND(IRI(CONCAT(STR(?y), "/link")) AS ?l)'
    with pytest.raises(OntologyError, match="not from the rule's focus"):
        parse_rule(_rule(tmp_path, "40-d", "?x ex:has ?l . ?l ex:to ?y", f"?x ex:q ?y {other}"))
    loose = 'BIND(IRI(CONCAT("urn:", STR(?x))) AS ?l)'  # not under the focus's IRI
    with pytest.raises(OntologyError, match="same variable as subject"):
        parse_rule(_rule(tmp_path, "50-e", "?x ex:has ?l . ?l ex:to ?y", f"?x ex:q ?y {loose}"))


# ------------------------------------------------------------------------ CAIPE


def test_caipe_counts_profession_families_and_needs_interactive_modes(derived: ox.Store):
    """Interprofessional learning: two counted families, with and (from or about), not
    declared false. Everything else with two counted families is shared education."""
    assert instances(derived, "InterprofessionalLearningActivity") == {"a-ipl", "a-w-ipl"}
    # a-declared-false and a-zero: declared not interprofessional ("0" is false);
    # a-with-only: declared true, but learning with alone is side by side;
    # a-about-only: learning about alone (the msk-first-contact briefing's case).
    assert instances(derived, "SharedEducationActivity") == {
        "a-declared-false",
        "a-zero",
        "a-with-only",
        "a-about-only",
    }
    # nurses of three kinds and a healthcare assistant: one counted family (nursing); a GP
    # and a hospital doctor: one (medicine); a nurse and an HCA: one. Neither class.
    assert facts(derived, d("a-nursing"), CIPD + "involvesProfessionFamily") == {
        "NursingFamily",
        "SupportWorkforceFamily",
    }
    assert facts(derived, d("a-gp-doc"), CIPD + "involvesProfessionFamily") == {"MedicineFamily"}
    assert facts(derived, d("a-nursing"), CIPD + "involvesProfession") == {
        "Nurse",
        "SpecialistNurse",
        "NursingAssociate",
        "HealthcareAssistant",
    }


def test_a_declared_fact_is_never_overridden(derived: ox.Store):
    """The declaration stays as recorded and no rule types a declared-false activity."""
    for activity in ("a-declared-false", "a-zero"):
        assert "InterprofessionalLearningActivity" not in facts(derived, d(activity), RDF_TYPE)
        assert "InterprofessionalLearning" not in facts(
            derived, d(activity), CIPD + "evidencesStrand"
        )
    stated = derived.quads_for_pattern(
        ox.NamedNode(d("a-declared-false")), ox.NamedNode(CIPD + "declaredInterprofessional"), None
    )
    assert [q.object.value for q in stated] == ["false"]


def test_interprofessional_teams_by_counted_families(derived: ox.Store):
    # t-p: nursing and physiotherapy (the HCA does not count); t-ms: medicine and pharmacy;
    # t-w: nursing and pharmacy. t-dn (a district nursing team): nursing only. t-declared
    # keeps the type its record gives it, and the rule adds nothing to it.
    assert instances(derived, "InterprofessionalTeam") == {"t-p", "t-ms", "t-w"}


# ------------------------------------------------------------------------ strands and levels


def test_strands_evidenced(derived: ox.Store):
    strands = {p: facts(derived, d(p), CIPD + "evidencesStrand") for p in "pqsmw"}
    assert strands == {
        # team of two families; a-ipl; a-ipl at work and r1 on a cycle; a cycle and PDSA
        "p": {
            "InterprofessionalWorking",
            "InterprofessionalLearning",
            "WorkBasedLearning",
            "ServiceImprovement",
        },
        # one family; no IPL; a-nursing at work; Lean alone is service improvement
        "q": {"WorkBasedLearning", "ServiceImprovement"},
        # a declared interprofessional team of nurses only; learning with alone; a co-design
        # activity is service improvement (experience-based co-design)
        "s": {"ServiceImprovement"},
        # GP and pharmacist; learning about only; at work, and r2 on the project; no cycle,
        # methodology or co-design
        "m": {"InterprofessionalWorking", "WorkBasedLearning"},
        "w": {
            "InterprofessionalWorking",
            "InterprofessionalLearning",
            "WorkBasedLearning",
            "ServiceImprovement",
        },
    }
    assert facts(derived, d("a-ipl"), CIPD + "evidencesStrand") == {
        "InterprofessionalLearning",
        "WorkBasedLearning",
    }
    assert facts(derived, d("t-p"), CIPD + "evidencesStrand") == strands["p"]


def test_social_learning_dimensions(derived: ox.Store):
    dims = {p: facts(derived, d(p), CIPD + "evidencesDimension") for p in "pqsmw"}
    assert dims == {
        # do stage; a-ipl; the physiotherapist identifies as an improver; r1 on the cycle
        "p": {
            "LearningAsDoing",
            "LearningAsBelonging",
            "LearningAsBecoming",
            "LearningAsExperience",
        },
        "q": set(),
        "s": set(),
        # an interprofessional clinical microsystem; r2 on the project
        "m": {"LearningAsBelonging", "LearningAsExperience"},
        # a-w-ipl; no stages, no improver, no reflection
        "w": {"LearningAsBelonging"},
    }


def _links(store: ox.Store, project: str) -> set[tuple[str, str, str]]:
    """The strand links of a project: (kind, strand, strand) with the strands sorted."""
    out = set()
    for link in facts(store, d(project), CIPD + "hasStrandLink"):
        iri = "urn:d:" + link
        (kind,) = facts(store, iri, CIPD + "linkKind")
        a, b = sorted(facts(store, iri, CIPD + "linksStrand"))
        assert facts(store, iri, CIPD + "strandLinkOf") == {project}
        assert facts(store, iri, CIPD + "evidencesDimension"), link
        out.add((kind, a, b))
    return out


def test_strand_links_join_strands_where_records_link_them(derived: ox.Store):
    assert _links(derived, "p") == {
        # a-ipl (IPL, at work) informed by cycle 1
        ("ActivityInformedByCycleLink", "InterprofessionalLearning", "ServiceImprovement"),
        ("ActivityInformedByCycleLink", "ServiceImprovement", "WorkBasedLearning"),
        # r1 on cycle 1
        ("ReflectionOnPracticeRecordLink", "ServiceImprovement", "WorkBasedLearning"),
        # the nurse and the physiotherapist of the team in a-ipl
        ("TeamLearningTogetherLink", "InterprofessionalLearning", "InterprofessionalWorking"),
        # the plan stage: the nurse and the physiotherapist (the do stage: nurse and HCA)
        ("InterprofessionalStageLink", "InterprofessionalWorking", "ServiceImprovement"),
    }
    assert _links(derived, "w") == {
        ("TeamLearningTogetherLink", "InterprofessionalLearning", "InterprofessionalWorking"),
        ("ActivityInformedByCycleLink", "ServiceImprovement", "WorkBasedLearning"),
    }
    assert _links(derived, "q") == _links(derived, "s") == set()
    # m: r2 on the project, but m evidences no service improvement: the link is still made
    assert _links(derived, "m") == {
        ("ReflectionOnPracticeRecordLink", "ServiceImprovement", "WorkBasedLearning")
    }
    link = "urn:d:p/strand-link/activity-informed-by-cycle/IPL-SI"
    assert facts(derived, link, CIPD + "linkedRecord") == {"a-ipl", "p-c1"}
    assert facts(derived, link, CIPD + "evidencesDimension") == {"LearningAsDoing"}


def test_weaving_levels(derived: ox.Store):
    assert instances(derived, "AllStrandsEvidencedProject") == {"p", "w"}
    # w's links (IPW-IPL and WBL-SI) touch all four strands but leave them in two pieces
    assert instances(derived, "InterwovenProject") == {"p"}


_STRAND = {"W": "InterprofessionalWorking", "L": "InterprofessionalLearning",
           "B": "WorkBasedLearning", "S": "ServiceImprovement"}  # fmt: skip


@pytest.mark.parametrize(
    ("links", "interwoven"),
    [
        (["WL", "LS", "SB"], True),  # a path through all four
        (["WL", "WS", "WB"], True),  # a star
        (["WL", "LS", "SW", "SB"], True),  # a circle of three and the fourth hung on it
        (["WL", "LS", "SW"], False),  # a circle of three: the fourth strand is not reached
        (["WL", "SB"], False),  # two pieces
        (["WL", "SB", "WL"], False),  # two links for one pair are one pair
        (["WL", "LS", "SB-"], False),  # the link to the fourth carries no social learning
    ],
)
def test_a_project_is_interwoven_when_its_links_connect_all_four_strands(
    links: list[str], interwoven: bool
):
    """Rule interwoven on a project's links alone (its other levels are given)."""
    (rule,) = [r for r in rules() if r.key == "interwoven"]
    lines = ["d:x a cipd:AllStrandsEvidencedProject ."]
    for n, link in enumerate(links):
        lines.append(f"d:x cipd:hasStrandLink d:x-{n} .")
        lines += [f"d:x-{n} cipd:linksStrand cipd:{_STRAND[s]} ." for s in link[:2]]
        if not link.endswith("-"):
            lines.append(f"d:x-{n} cipd:evidencesDimension cipd:LearningAsDoing .")
    data = "@prefix cipd: <https://w3id.org/cipd#> . @prefix d: <urn:d:> .\n" + "\n".join(lines)
    derivation = compute([q.triple for q in ox.parse(data, format=ox.RdfFormat.TURTLE)], [rule])
    assert bool(derivation.facts["interwoven"]) is interwoven


# ------------------------------------------------------------------------ practice to learning


def _practice_links(store: ox.Store) -> set[tuple[str, str, str, str]]:
    out = set()
    for q in store.quads_for_pattern(
        None, ox.NamedNode(RDF_TYPE), ox.NamedNode(CIPD + "PracticeLearningLink")
    ):
        iri = q.subject.value
        (source,) = facts(store, iri, CIPD + "fromPractice")
        (target,) = facts(store, iri, CIPD + "toLearning")
        (kind,) = facts(store, iri, CIPD + "linkKind")
        (strength,) = facts(store, iri, CIPD + "linkStrength")
        assert iri.startswith("urn:d:" + source + "/learning-link/")
        assert {source, target} <= facts(store, iri, CIPD + "linkedRecord")
        out.add((source, kind.removesuffix("Link"), target, strength.removesuffix("Link")))
    return out


def test_practice_to_learning_links(derived: ox.Store):
    assert _practice_links(derived) == {
        # activities recorded for a project: strong when a team member took part
        ("p", "ActivityOfProject", "a-ipl", "Strong"),
        ("p", "ActivityOfProject", "a-declared-false", "Strong"),
        ("s", "ActivityOfProject", "a-with-only", "Strong"),  # the nurse is on t-declared
        ("m", "ActivityOfProject", "a-about-only", "Moderate"),  # nobody of t-ms took part
        ("q", "ActivityOfProject", "a-nursing", "Strong"),
        ("w", "ActivityOfProject", "a-w-ipl", "Strong"),
        ("w", "ActivityOfProject", "a-w-work", "Strong"),
        # informed by a cycle: the cycle's team took part
        ("p-c1", "ActivityInformedByCycle", "a-ipl", "Strong"),
        ("w-c1", "ActivityInformedByCycle", "a-w-work", "Strong"),
        # reflections by a team member
        ("p-c1", "ReflectionOnPracticeRecord", "r1", "Strong"),
        ("m", "ReflectionOnPracticeRecord", "r2", "Strong"),
        # mod names p and a-ipl (the nurse, of p's team) is delivered in it; mod2 names q,
        # and nobody took part in it; d:ghost is no module
        ("p", "ModuleNamesProject", "mod", "Strong"),
        ("q", "ModuleNamesProject", "mod2", "Moderate"),
        # through one record: a-ipl in mod; mod3 delivered to p's team
        ("p", "ActivityInModule", "mod", "Weak"),
        ("p", "ModuleDeliveredToTeam", "mod3", "Weak"),
    }


def test_a_shared_model_concept_is_no_link(derived: ox.Store):
    """p and q both target safe care; nothing of q's records names mod or mod3."""
    assert not {
        link for link in _practice_links(derived) if link[0] == "q" and link[2] != "a-nursing"
    } - {("q", "ModuleNamesProject", "mod2", "Moderate")}


# ------------------------------------------------------------------------ other facts


def test_a_module_is_linked_to_practice_at_a_partner_through_a_link_and_a_partnership(
    derived: ox.Store,
):
    """mod names p (a link), p is hosted by the trust, a partner of the university that
    provides mod; mod2 names q, hosted by a provider in no partnership with the university;
    mod3 reaches p only through a team and has no provider."""
    assert facts(derived, d("mod"), CIPD + "linkedToPracticeAtPartner") == {"p"}
    assert facts(derived, d("mod2"), CIPD + "linkedToPracticeAtPartner") == set()
    assert facts(derived, d("mod3"), CIPD + "linkedToPracticeAtPartner") == set()


def test_partners_are_different_members_of_one_partnership(derived: ox.Store):
    assert facts(derived, d("trust"), CIPD + "partnerOf") == {"uni", "icb"}
    assert facts(derived, d("uni"), CIPD + "partnerOf") == {"trust", "icb"}
    assert facts(derived, d("other"), CIPD + "partnerOf") == set()
    # a team's members are people, and a team is no partnership
    assert facts(derived, d("nurse"), CIPD + "partnerOf") == set()


def test_person_project_counts(derived: ox.Store):
    # the nurse is on t-p (p), t-dn (q), t-declared (s) and t-w (w)
    assert facts(derived, d("nurse"), CIPD + "projectCount") == {"4"}
    assert facts(derived, d("gp"), CIPD + "projectCount") == {"1"}


def test_latest_observations(derived: ox.Store):
    assert facts(derived, d("falls"), CIPD + "latestObservation") == {"falls-2", "falls-3"}


def test_rerunning_the_rules_gives_the_same_graph(derived: ox.Store):
    def named(store: ox.Store) -> set[str]:  # the ontology's blank nodes are new at each parse
        return {
            str(q)
            for q in store
            if not isinstance(q.subject, ox.BlankNode) and not isinstance(q.object, ox.BlankNode)
        }

    assert named(_derive()) == named(derived)


def test_rule_levels_put_a_rule_after_the_rules_whose_facts_it_reads(tmp_path: Path):
    """Rules that read nothing another derives share a level (they run at the same time in a
    staged load); a rule reading a derived property or class waits for its rule; a template
    that may derive anything (a free variable property) holds back every rule after it."""
    from cipd_graph.derive.rules import rule_levels

    _rule(tmp_path, "10-a", "?x ex:p ?y", "?x ex:q ?y")
    _rule(tmp_path, "20-b", "?x a ex:C", "?x ex:r ?y")
    _rule(tmp_path, "30-c", "?x ex:s ?y", "?x ex:p ?y")  # reads 10's ex:p
    _rule(tmp_path, "40-d", "?x ex:t ?y", "?x a ex:C")  # reads 20's class
    _rule(tmp_path, "50-e", "?x ?rel ?y", "?x ex:s ?y VALUES ?rel { ex:u ex:v }")
    _rule(tmp_path, "60-f", "?x ex:w ?y", "?x ex:v ?y")  # reads 50's ex:v
    _rule(tmp_path, "70-g", "?x ex:z ?y", "?x ex:q ?y")
    names = [[r.name for r in level] for level in rule_levels(rules(tmp_path))]
    assert names == [["10-a", "20-b", "70-g"], ["30-c", "40-d"], ["50-e"], ["60-f"]]
    _rule(tmp_path, "55-any", "?x ?any ?y", "?x ex:q ?y")
    names = [[r.name for r in level] for level in rule_levels(rules(tmp_path))]
    # 60-f and 70-g come after 55-any; 50-e comes before it, so it only waits for 30-c.
    assert names == [["10-a", "20-b", "55-any"], ["30-c", "40-d", "70-g"], ["50-e"], ["60-f"]]
    # a rule that writes what an earlier one writes, reading nothing derived, does not wait
    _rule(tmp_path, "80-h", "?x ex:p ?y", "?x ex:q ?y")
    assert "80-h" in [r.name for r in rule_levels(rules(tmp_path))[1]]


def test_a_union_rule_is_applied_branch_by_branch(tmp_path: Path):
    """A rule whose WHERE clause is only a union runs as one query a branch (Oxigraph plans
    each branch better on its own); anything beside the union keeps it one query."""
    _rule(
        tmp_path,
        "10-a",
        "?x ex:p ?y",
        "{ { ?x ex:q ?y } } UNION { { ?x ex:r ?y } }",
    )
    _rule(tmp_path, "20-b", "?x ex:p ?y", "{ ?x ex:q ?y } union {?x ex:r ?y}UNION{ ?x ex:s ?y }")
    _rule(tmp_path, "30-c", "?x ex:p ?y", "{ ?x ex:q ?y } UNION { ?x ex:r ?y } FILTER(?y != 1)")
    _rule(tmp_path, "40-d", "?x ex:p ?y", "{ ?x ex:q ?y } UNION { ?x ex:r ?y } ?x ex:t ?z")
    _rule(tmp_path, "50-e", "?x ex:p ?y", "{ ?x ex:q ?y }")
    _rule(tmp_path, "60-f", "?x ex:p ?y", "?x ex:q ?y")
    loaded = {rule.name: rule for rule in rules(tmp_path)}
    assert loaded["10-a"].branches == ["{ { ?x ex:q ?y } }", "{ { ?x ex:r ?y } }"]
    assert loaded["20-b"].branches == ["{ ?x ex:q ?y }", "{?x ex:r ?y}", "{ ?x ex:s ?y }"]
    for whole in ("30-c", "40-d", "50-e", "60-f"):
        assert loaded[whole].branches == [loaded[whole].where]
    store = ox.Store()
    store.add(ox.Quad(ox.NamedNode("urn:x"), ox.NamedNode("http://example.org/r"), ox.Literal("y")))
    store.add(ox.Quad(ox.NamedNode("urn:x"), ox.NamedNode("http://example.org/s"), ox.Literal("z")))
    derived = [{str(t) for t in store.query(part)} for part in loaded["20-b"].parts]  # type: ignore[union-attr]
    assert derived == [
        set(),
        {'<urn:x> <http://example.org/p> "y"'},
        {'<urn:x> <http://example.org/p> "z"'},
    ]
    inserts = loaded["10-a"].inserts(INFERRED, None)
    assert len(inserts) == 2 and all(
        op.startswith(f"INSERT {{ GRAPH <{INFERRED}>") for op in inserts
    )


@pytest.mark.parametrize("rule", rules(), ids=lambda rule: rule.name)
def test_a_rule_split_into_branches_derives_what_it_derives_whole(rule, derived: ox.Store):
    """Each shipped rule's branches together give exactly what the rule as written gives."""
    whole = {str(t) for t in derived.query(rule.construct)}  # type: ignore[union-attr]
    parts = {str(t) for part in rule.parts for t in derived.query(part)}  # type: ignore[union-attr]
    assert parts == whole
    assert whole  # the hand-built data gives every rule something to derive


def test_compiled_rules_are_current():
    """``rules/compiled.json`` is what parsing the shipped rules gives now (else: ``make rules``)."""
    import json

    from cipd_graph._resources import data_dir
    from cipd_graph.derive.rules import COMPILED, compile_rules

    shipped = json.loads((data_dir("rules") / COMPILED).read_text(encoding="utf-8"))
    fresh = compile_rules()
    stale = sorted(
        name
        for name in shipped["rules"].keys() | fresh["rules"].keys()
        if shipped["rules"].get(name) != fresh["rules"].get(name)
    )
    assert not stale, f"rules/compiled.json is stale for {stale}: run `make rules`"


def test_a_compiled_rule_gives_what_its_parse_gives_and_an_edited_one_is_parsed(tmp_path: Path):
    """A rule read through ``compiled.json`` has the focus, anchors, reads, derived terms and
    plans its parse gives; a file edited after compiling is parsed again, the others not."""
    import shutil

    from cipd_graph._resources import data_dir
    from cipd_graph.derive.plan import plans_to_json
    from cipd_graph.derive.rules import rule_levels, write_compiled

    for path in data_dir("rules").glob("*.rq"):
        shutil.copy(path, tmp_path / path.name)
    write_compiled(tmp_path)
    loaded = rules(tmp_path)
    assert all(r.compiled is not None and r.parsed is None for r in loaded)
    for rule in loaded:
        parsed = parse_rule(rule.path)
        assert parsed.compiled is None
        assert (rule.focus, rule.anchors) == (parsed.focus, parsed.anchors)
        assert (rule.reads, rule.produces) == (parsed.reads, parsed.produces)
        assert plans_to_json(rule.plans) == plans_to_json(parsed.plans)
    levels = [[r.name for r in level] for level in rule_levels(loaded)]
    assert levels == [[r.name for r in level] for level in rule_levels()]
    edited = tmp_path / "40-teams.rq"
    edited.write_text(edited.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    again = {r.name: r for r in rules(tmp_path)}
    assert again["40-teams"].compiled is None and again["40-teams"].parsed is not None
    assert again["10-involves-profession"].compiled is not None
    (tmp_path / "compiled.json").write_text("{not json", encoding="utf-8")
    assert all(r.compiled is None for r in rules(tmp_path))  # unreadable: every rule parsed
