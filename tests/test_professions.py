"""The professions scheme: at least 15 professions, each with ISCO-08 and ESCO links."""

from __future__ import annotations

import re

from rdflib import Graph, URIRef
from rdflib.namespace import RDF, SKOS

from cipd_graph import CIPD

ESCO_OCCUPATION = re.compile(
    r"^http://data\.europa\.eu/esco/occupation/[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$"
)


def professions(graph: Graph) -> list[URIRef]:
    return sorted(p for p in graph.subjects(RDF.type, CIPD.Profession) if isinstance(p, URIRef))


def test_at_least_fifteen_professions_in_the_scheme(ontology: Graph):
    found = professions(ontology)
    assert len(found) >= 15
    for profession in found:
        assert (profession, SKOS.inScheme, CIPD.ProfessionScheme) in ontology
        assert (CIPD.ProfessionScheme, SKOS.hasTopConcept, profession) in ontology


def test_each_profession_has_an_isco_notation_matching_its_esco_group(ontology: Graph):
    for profession in professions(ontology):
        (notation,) = list(ontology.objects(profession, SKOS.notation))
        assert re.fullmatch(r"\d{4}", str(notation)), profession
        groups = [str(o) for o in ontology.objects(profession, SKOS.closeMatch)]
        assert f"http://data.europa.eu/esco/isco/C{notation}" in groups, profession


def test_esco_occupation_matches_are_well_formed_and_unique(ontology: Graph):
    matches = [
        (p, str(o)) for p in professions(ontology) for o in ontology.objects(p, SKOS.exactMatch)
    ]
    assert len(matches) >= 15
    for profession, iri in matches:
        assert ESCO_OCCUPATION.match(iri), (profession, iri)
    iris = [iri for _, iri in matches]
    assert len(iris) == len(set(iris)), "two professions claim the same ESCO occupation"


def test_the_paper_professions_that_samples_will_use_exist(ontology: Graph):
    for name in (
        "Nurse",
        "Physiotherapist",
        "Pharmacist",
        "OccupationalTherapist",
        "Midwife",
        "SocialWorker",
        "GeneralPractitioner",
        "Paramedic",
        "Dietitian",
        "SpeechAndLanguageTherapist",
    ):
        assert (CIPD[name], RDF.type, CIPD.Profession) in ontology, name
