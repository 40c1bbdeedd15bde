"""HermiT, through owlready2, finds the ontology consistent with no unsatisfiable class."""

from __future__ import annotations

import pytest
from rdflib import BNode, Graph, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS

from cipd_graph import CIPD, check_with_hermit

pytestmark = pytest.mark.slow
EX = "https://example.org/test#"


def _copy(graph: Graph) -> Graph:
    copy = Graph()
    for triple in graph:
        copy.add(triple)
    return copy


def test_ontology_is_consistent_with_no_unsatisfiable_class(ontology: Graph):
    report = check_with_hermit(ontology)
    assert report.consistent, report.message
    assert report.unsatisfiable == ()
    assert report.classes >= 40  # owlready2 really loaded the classes


def test_reasoner_detects_an_individual_in_two_disjoint_classes(ontology: Graph):
    graph = _copy(ontology)
    both = URIRef(EX + "projectAndCycle")
    graph.add((both, RDF.type, CIPD.ImprovementProject))
    graph.add((both, RDF.type, CIPD.PDSACycle))
    report = check_with_hermit(graph)
    assert not report.consistent
    assert not report.ok


def test_reasoner_detects_an_unsatisfiable_class(ontology: Graph):
    graph = _copy(ontology)
    impossible = URIRef(EX + "ProjectThatIsACycle")
    intersection = BNode()
    members = BNode()
    Collection(graph, members, [CIPD.ImprovementProject, CIPD.PDSACycle])
    graph.add((intersection, RDF.type, OWL.Class))
    graph.add((intersection, OWL.intersectionOf, members))
    graph.add((impossible, RDF.type, OWL.Class))
    graph.add((impossible, RDFS.subClassOf, intersection))
    report = check_with_hermit(graph)
    assert report.consistent
    assert report.unsatisfiable == (str(impossible),)
