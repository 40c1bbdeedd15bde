"""Table 1 as data: from each social learning dimension a SPARQL query reaches its practice."""

from __future__ import annotations

import pyoxigraph
import pytest
from rdflib import Graph, URIRef

from cipd_graph import CIPD
from cipd_graph._qc import to_store

TABLE_1 = {
    "LearningAsDoing": "ImplementingImprovementThroughPDSA",
    "LearningAsBelonging": "DevelopingSharedInterprofessionalFramework",
    "LearningAsBecoming": "IdentifyingAsImprover",
    "LearningAsExperience": "ContinuousReflectiveImprovement",
}

QUERY = """
PREFIX cipd: <https://w3id.org/cipd#>
SELECT ?dimension ?practice WHERE { ?dimension cipd:isRealisedBy ?practice . ?practice cipd:realises ?dimension }
"""


@pytest.mark.parametrize(("dimension", "practice"), TABLE_1.items())
def test_dimension_reaches_its_practice_in_oxigraph(dimension, practice, ontology: Graph):
    store = to_store(ontology)
    rows = list(
        store.query(
            QUERY,
            substitutions={
                pyoxigraph.Variable("dimension"): pyoxigraph.NamedNode(CIPD + dimension)
            },
        )
    )
    assert [r["practice"].value for r in rows] == [CIPD + practice]


@pytest.mark.parametrize(("dimension", "practice"), TABLE_1.items())
def test_dimension_reaches_its_practice_in_rdflib(dimension, practice, ontology: Graph):
    rows = list(ontology.query(QUERY, initBindings={"dimension": URIRef(CIPD + dimension)}))
    assert [str(r[1]) for r in rows] == [CIPD + practice]


def test_the_typed_api_gives_the_same_table(model):
    assert {
        r.dimension.iri.removeprefix(CIPD): r.practice.iri.removeprefix(CIPD) for r in model.table1
    } == TABLE_1
    assert [r.dimension.sequence for r in model.table1] == [1, 2, 3, 4]


def test_the_practice_of_learning_as_doing_leads_to_the_pdsa_method(ontology: Graph):
    related = set(
        ontology.objects(
            CIPD.ImplementingImprovementThroughPDSA,
            URIRef("http://www.w3.org/2004/02/skos/core#related"),
        )
    )
    assert CIPD.PlanDoStudyAct in related
