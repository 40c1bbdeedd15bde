"""The typed model API reads the ontology; nothing about the model is hard-coded."""

from __future__ import annotations

from pathlib import Path

import pytest

from cipd_graph import CIPD, ElementNotFoundError, load_model


def test_strands_in_paper_order(model):
    assert [s.label for s in model.strands] == [
        "Interprofessional working",
        "Interprofessional learning",
        "Work-based learning",
        "Service improvement",
    ]
    assert all(s.definition and s.sources for s in model.strands)


def test_centre_medium_and_grounding(model):
    assert model.centre.curie == "cipd:CIPD"
    assert model.integrating_medium.curie == "cipd:SocialLearning"
    assert [e.curie for e in model.integrates_across()] == ["cipd:PermeableMembrane"]
    assert [e.curie for e in model.grounding()] == ["cipd:WiderWorld"]


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (str(CIPD.LearningAsBelonging), "cipd:LearningAsBelonging"),
        ("cipd:LearningAsBelonging", "cipd:LearningAsBelonging"),
        ("LearningAsBelonging", "cipd:LearningAsBelonging"),
        ("belonging", "cipd:LearningAsBelonging"),
        ("  WBL ", "cipd:WorkBasedLearning"),
        ("OPP-iii", "cipd:OpportunitySharedPurpose"),
        ("LESSON-3", "cipd:LessonTwoJobs"),
    ],
)
def test_element_lookup(model, key, expected):
    assert model.element(key).curie == expected


@pytest.mark.parametrize(
    "key", ["", "cipd:Nope", "https://example.org/x", "cipd:Team", "cipd:Nurse"]
)
def test_unknown_or_non_element_keys_raise_a_clear_error(model, key):
    with pytest.raises(ElementNotFoundError, match="no model element"):
        model.element(key)


def test_kinds_have_the_counts_the_paper_gives(model):
    counts = {
        "Strand": 4,
        "SocialLearningDimension": 4,
        "ImprovementLearningPractice": 4,
        "QualityDimension": 3,
        "PDSAStage": 4,
        "CAIPEMode": 3,
        "EducationForQualityImprovementAim": 4,
        "EducationArea": 3,
        "OpportunityOrChallenge": 5,
        "LessonForPractice": 6,
        "ReflectionMode": 3,  # in, on and through practice (the paper's text on Table 1)
    }
    assert {kind: len(model.of_kind(kind)) for kind in counts} == counts
    for kind, n in counts.items():
        assert [e.sequence for e in model.of_kind(kind)] in (list(range(1, n + 1)), [None] * n)


def test_the_model_follows_the_ontology_files(ontology_copy: Path):
    core = ontology_copy / "modules" / "core.ttl"
    text = core.read_text(encoding="utf-8")
    core.write_text(
        text.replace('rdfs:label "Work-based learning"@en', 'rdfs:label "Workplace learning"@en'),
        encoding="utf-8",
    )
    model = load_model(ontology_copy)
    assert model.element("WBL").label == "Workplace learning"


def test_an_ambiguous_table_1_is_reported(ontology_copy: Path):
    social = ontology_copy / "modules" / "social-learning.ttl"
    social.write_text(
        social.read_text(encoding="utf-8")
        + "\ncipd:LearningAsDoing cipd:isRealisedBy cipd:IdentifyingAsImprover .\n",
        encoding="utf-8",
    )
    model = load_model(ontology_copy)
    with pytest.raises(ElementNotFoundError, match="exactly one practice, the ontology gives 2"):
        model.table1  # noqa: B018


def test_counts(model):
    counts = model.counts()
    assert counts.classes >= 40
    assert counts.object_properties >= 40
    assert counts.concept_schemes == 17
