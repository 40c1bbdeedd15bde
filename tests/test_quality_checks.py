"""The named quality checks (queries/qc/*-violation.rq) pass, and each one can fail."""

from __future__ import annotations

import pytest
from rdflib import Graph

from cipd_graph import load_ontology, quality_checks

PREFIXES = """
@prefix cipd: <https://w3id.org/cipd#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix paper: <https://w3id.org/cipd/paper#> .
"""

# A well-documented term to start each bad example from.
GOOD = """
    rdfs:label "Example term"@en ; skos:definition "An example."@en ;
    dcterms:source paper:figure-1 ; rdfs:isDefinedBy <https://w3id.org/cipd>
"""

#: For every check, Turtle that breaks it and the term the check must report.
BROKEN: dict[str, tuple[str, str]] = {
    "missing-label": (
        'cipd:X a owl:Class ; rdfs:subClassOf cipd:Team ; skos:definition "d"@en ;'
        " dcterms:source paper:figure-1 ; rdfs:isDefinedBy <https://w3id.org/cipd> .",
        "X",
    ),
    "missing-definition": (
        'cipd:X a owl:Class ; rdfs:subClassOf cipd:Team ; rdfs:label "X thing"@en ;'
        " dcterms:source paper:figure-1 ; rdfs:isDefinedBy <https://w3id.org/cipd> .",
        "X",
    ),
    "missing-source": (
        'cipd:X a owl:Class ; rdfs:subClassOf cipd:Team ; rdfs:label "X thing"@en ;'
        ' skos:definition "d"@en ; rdfs:isDefinedBy <https://w3id.org/cipd> .',
        "X",
    ),
    "missing-isdefinedby": (
        'cipd:X a owl:Class ; rdfs:subClassOf cipd:Team ; rdfs:label "X thing"@en ;'
        ' skos:definition "d"@en ; dcterms:source paper:figure-1 .',
        "X",
    ),
    "duplicate-label": (
        f'cipd:X a owl:Class ; rdfs:subClassOf cipd:Team ; rdfs:label "team"@en ; {GOOD} .',
        "X",
    ),
    "undeclared-term": ("cipd:Team rdfs:seeAlso cipd:NeverDeclared .", "NeverDeclared"),
    "orphan-class": (f"cipd:X a owl:Class ; {GOOD} .", "X"),
    "property-without-domain-range": (f"cipd:x a owl:ObjectProperty ; {GOOD} .", "x"),
    "concept-without-scheme": (f"cipd:X a owl:NamedIndividual , cipd:Strand ; {GOOD} .", "X"),
    "model-element-outside-tapestry": (
        "cipd:X a owl:NamedIndividual , cipd:Strand ;"
        f" skos:inScheme cipd:OpportunityScheme ; {GOOD} .",
        "X",
    ),
    "duplicate-notation": (
        f'cipd:X a owl:NamedIndividual , cipd:Strand ; skos:notation "IPW" ;'
        f" skos:inScheme cipd:TapestryModel ; {GOOD} .",
        "X",
    ),
    "multiple-preflabel": ('cipd:LearningAsDoing skos:prefLabel "Doing"@en .', "LearningAsDoing"),
    "punning": (
        "cipd:LearningAsDoing a owl:Class ; rdfs:subClassOf cipd:ModelElement .",
        "LearningAsDoing",
    ),
}


def test_every_check_has_a_summary_and_a_broken_example():
    checks = quality_checks()
    assert {c.name for c in checks} == set(BROKEN)
    assert all(c.summary for c in checks)


@pytest.mark.parametrize("check", quality_checks(), ids=lambda c: c.name)
def test_check_finds_nothing_in_the_ontology(check, ontology: Graph):
    assert check.run(ontology) == []


@pytest.mark.parametrize("check", quality_checks(), ids=lambda c: c.name)
def test_check_reports_the_broken_term(check):
    turtle, offender = BROKEN[check.name]
    graph = load_ontology()
    graph.parse(data=PREFIXES + turtle, format="turtle")
    reported = {v.term.rsplit("#", 1)[-1] for v in check.run(graph)}
    assert offender in reported


def test_a_term_citing_a_source_that_is_not_listed_is_reported():
    check = next(c for c in quality_checks() if c.name == "missing-source")
    graph = load_ontology()
    graph.parse(
        data=PREFIXES
        + "@prefix src: <https://w3id.org/cipd/sources#> .\n"
        + 'cipd:X a owl:Class ; rdfs:subClassOf cipd:Team ; rdfs:label "X thing"@en ;'
        + ' skos:definition "d"@en ; rdfs:isDefinedBy <https://w3id.org/cipd> ;'
        + " dcterms:source src:langley-2009 , <https://example.org/hearsay> .",
        format="turtle",
    )
    reported = [(v.term.rsplit("#", 1)[-1], v.detail) for v in check.run(graph)]
    assert reported == [("X", "https://example.org/hearsay")]


def test_every_cited_source_has_a_bibliographic_record(ontology: Graph):
    """The sources module gives each cited work a title, creators and a citation."""
    from rdflib import URIRef
    from rdflib.namespace import DCTERMS

    paper = URIRef("https://w3id.org/cipd/paper")
    cited = {o for o in ontology.objects(None, DCTERMS.source) if isinstance(o, URIRef)}
    assert cited, "no term cites a source"
    for source in cited:
        if (source, DCTERMS.isPartOf, paper) in ontology:
            continue
        assert (source, DCTERMS.title, None) in ontology, source
        assert (source, DCTERMS.creator, None) in ontology, source
        assert (source, DCTERMS.bibliographicCitation, None) in ontology, source


def test_the_paper_has_its_own_bibliographic_record(ontology: Graph):
    from rdflib import URIRef
    from rdflib.namespace import DCTERMS

    paper = URIRef("https://w3id.org/cipd/paper")
    assert {str(c) for c in ontology.objects(paper, DCTERMS.creator)} == {
        "Peter M. Wilcock",
        "Gillian Janes",
        "Alison Chambers",
    }
    (published,) = list(ontology.objects(paper, DCTERMS.isVersionOf))
    assert str(ontology.value(published, DCTERMS.issued)) == "2009"
    assert "J Contin Educ Health Prof" in str(ontology.value(paper, DCTERMS.bibliographicCitation))
