"""Derivation rules: documented, and each computes what the model says on hand-built data."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from cipd_graph._rules import derivation_update, rules

CIPD = "https://w3id.org/cipd#"
INFERRED = "urn:test:inferred"

DATA = """
@prefix cipd: <https://w3id.org/cipd#> .
@prefix org: <http://www.w3.org/ns/org#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix d: <urn:d:> .
d:nurse cipd:hasProfession cipd:Nurse .
d:nurse2 cipd:hasProfession cipd:Nurse .
d:physio cipd:hasProfession cipd:Physiotherapist ; cipd:identifiesAs cipd:Improver .
d:mixed a cipd:LearningActivity ; prov:wasAssociatedWith d:nurse , d:physio ; cipd:partOfProject d:p ; cipd:atWork false .
d:nurses a cipd:LearningActivity ; prov:wasAssociatedWith d:nurse , d:nurse2 ; cipd:partOfProject d:q ; cipd:atWork true .
d:p a cipd:ImprovementProject ; cipd:hasTeam d:pt ; cipd:hasCycle d:pc .
d:pt a cipd:Team ; org:hasMember d:nurse , d:physio .
d:pc cipd:hasStage d:pc-do . d:pc-do cipd:stageType cipd:DoStage .
d:q a cipd:ImprovementProject ; cipd:hasTeam d:qt .
d:qt a cipd:Team ; org:hasMember d:nurse , d:nurse2 .
d:r cipd:reflectsOn d:pc .
d:pc cipd:isCycleOf d:p .
"""


@pytest.fixture(scope="module")
def derived() -> ox.Store:
    store = ox.Store()
    # records live in named graphs, as loads put them
    for quad in ox.parse(DATA, format=ox.RdfFormat.TURTLE):
        store.add(ox.Quad(quad.subject, quad.predicate, quad.object, ox.NamedNode("urn:g:records")))
    store.update(derivation_update(INFERRED))
    return store


def facts(store: ox.Store, subject: str, predicate: str) -> set[str]:
    return {
        q.object.value
        for q in store.quads_for_pattern(
            ox.NamedNode(subject), ox.NamedNode(predicate), None, ox.NamedNode(INFERRED)
        )
    }


def test_every_rule_says_what_it_encodes():
    loaded = rules()
    assert len(loaded) >= 6
    for rule in loaded:
        assert rule.summary and rule.model and rule.template and rule.where.startswith("{")


def test_caipe_test_needs_two_distinct_professions(derived: ox.Store):
    types = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
    assert CIPD + "InterprofessionalLearningActivity" in facts(derived, "urn:d:mixed", types)
    assert CIPD + "InterprofessionalLearningActivity" not in facts(derived, "urn:d:nurses", types)
    assert facts(derived, "urn:d:nurses", CIPD + "involvesProfession") == {CIPD + "Nurse"}
    assert CIPD + "InterprofessionalTeam" in facts(derived, "urn:d:pt", types)
    assert CIPD + "InterprofessionalTeam" not in facts(derived, "urn:d:qt", types)


def test_strands_and_dimensions(derived: ox.Store):
    assert facts(derived, "urn:d:p", CIPD + "weaves") == {
        CIPD + "InterprofessionalWorking",
        CIPD + "InterprofessionalLearning",
        CIPD + "ServiceImprovement",
    }
    assert facts(derived, "urn:d:q", CIPD + "weaves") == {CIPD + "WorkBasedLearning"}
    assert facts(derived, "urn:d:p", CIPD + "evidencesDimension") == {
        CIPD + "LearningAsDoing",
        CIPD + "LearningAsBelonging",
        CIPD + "LearningAsBecoming",
        CIPD + "LearningAsExperience",
    }
    assert facts(derived, "urn:d:q", CIPD + "evidencesDimension") == set()
    assert facts(derived, "urn:d:pt", CIPD + "weaves") == facts(derived, "urn:d:p", CIPD + "weaves")


def test_rerunning_the_rules_gives_the_same_graph(derived: ox.Store):
    before = {str(q) for q in derived}
    derived.update(derivation_update(INFERRED))
    assert {str(q) for q in derived} == before


def _rule(directory: Path, name: str, template: str, where: str) -> None:
    (directory / f"{name}.rq").write_text(
        f"#+ summary: test rule {name}\n#+ model: none\n"
        "PREFIX ex: <http://example.org/>\n"
        f"CONSTRUCT {{ {template} }}\nWHERE {{ {where} }}\n",
        encoding="utf-8",
    )


def test_rule_levels_put_a_rule_after_the_rules_whose_facts_it_reads(tmp_path: Path):
    """Rules that read nothing another derives share a level (they run at the same time in a
    staged load); a rule reading a derived property or class waits for its rule; a template
    that may derive anything (a free variable property) holds back every rule after it."""
    from cipd_graph._rules import rule_levels, rules

    _rule(tmp_path, "10-a", "?x ex:p ?y", "GRAPH ?g { ?x ex:q ?y }")
    _rule(tmp_path, "20-b", "?x a ex:C", "GRAPH ?g { ?x ex:r ?y }")
    _rule(tmp_path, "30-c", "?x ex:s ?y", "GRAPH ?g { ?x ex:p ?y }")  # reads 10's ex:p
    _rule(tmp_path, "40-d", "?x ex:t ?y", "GRAPH ?g { ?x a ex:C }")  # reads 20's class
    _rule(tmp_path, "50-e", "?x ?rel ?y", "GRAPH ?g { ?x ex:s ?y } VALUES ?rel { ex:u ex:v }")
    _rule(tmp_path, "60-f", "?x ex:w ?y", "GRAPH ?g { ?x ex:v ?y }")  # reads 50's ex:v
    _rule(tmp_path, "70-g", "?x ex:z ?y", "GRAPH ?g { ?x ex:q ?y }")
    names = [[r.name for r in level] for level in rule_levels(rules(tmp_path))]
    assert names == [["10-a", "20-b", "70-g"], ["30-c", "40-d"], ["50-e"], ["60-f"]]
    _rule(tmp_path, "55-any", "?x ?any ?y", "GRAPH ?g { ?x ex:q ?y }")
    names = [[r.name for r in level] for level in rule_levels(rules(tmp_path))]
    # 60-f and 70-g come after 55-any; 50-e comes before it, so it only waits for 30-c.
    assert names == [["10-a", "20-b", "55-any"], ["30-c", "40-d", "70-g"], ["50-e"], ["60-f"]]
