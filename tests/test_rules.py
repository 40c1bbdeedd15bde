"""Derivation rules: documented, and each computes what the model says on hand-built data."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from cipd_graph.derive import compute, rules

CIPD = "https://w3id.org/cipd#"
INFERRED = "urn:test:inferred/"

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


def _derive() -> ox.Store:
    """The records' triples and every rule's facts about them, each rule's in its own graph."""
    records = [q.triple for q in ox.parse(DATA, format=ox.RdfFormat.TURTLE)]
    derivation = compute(records)
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
    return {
        q.object.value
        for q in store.quads_for_pattern(ox.NamedNode(subject), ox.NamedNode(predicate), None)
        if isinstance(q.graph_name, ox.NamedNode) and q.graph_name.value.startswith(INFERRED)
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
    assert {str(q) for q in _derive()} == {str(q) for q in derived}


def _rule(directory: Path, name: str, template: str, where: str) -> None:
    (directory / f"{name}.rq").write_text(
        f"#+ summary: test rule {name}\n#+ source: none\n"
        "PREFIX ex: <http://example.org/>\n"
        f"CONSTRUCT {{ {template} }}\nWHERE {{ {where} }}\n",
        encoding="utf-8",
    )


def test_rule_levels_put_a_rule_after_the_rules_whose_facts_it_reads(tmp_path: Path):
    """Rules that read nothing another derives share a level (they run at the same time in a
    staged load); a rule reading a derived property or class waits for its rule; a template
    that may derive anything (a free variable property) holds back every rule after it."""
    from cipd_graph.derive.rules import rule_levels, rules

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
    if len(rule.branches) > 1:  # the hand-built data gives every union rule something to derive
        assert whole
