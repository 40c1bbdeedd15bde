"""The professions scheme: professions grouped into families, each with ISCO-08 and ESCO links."""

from __future__ import annotations

import re

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, SKOS, XSD

from cipd_graph import CIPD

ESCO_OCCUPATION = re.compile(
    r"^http://data\.europa\.eu/esco/occupation/[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$"
)


def professions(graph: Graph) -> list[URIRef]:
    return sorted(p for p in graph.subjects(RDF.type, CIPD.Profession) if isinstance(p, URIRef))


def families(graph: Graph) -> list[URIRef]:
    return sorted(
        f for f in graph.subjects(RDF.type, CIPD.ProfessionFamily) if isinstance(f, URIRef)
    )


def family_of(graph: Graph, profession: URIRef) -> URIRef:
    """The family reached by following skos:broader up from a profession."""
    node = profession
    for _ in range(5):
        (node,) = list(graph.objects(node, SKOS.broader))
        if (node, RDF.type, CIPD.ProfessionFamily) in graph:
            return node  # type: ignore[return-value]
    raise AssertionError(f"{profession}: no profession family within five skos:broader steps")


def test_families_are_the_top_concepts_and_every_profession_is_in_the_scheme(ontology: Graph):
    found = professions(ontology)
    assert len(found) >= 15
    tops = set(ontology.objects(CIPD.ProfessionScheme, SKOS.hasTopConcept))
    assert tops == set(families(ontology))
    for profession in found:
        assert (profession, SKOS.inScheme, CIPD.ProfessionScheme) in ontology
        assert profession not in tops, "a profession is narrower than its family, not a top concept"


def test_each_profession_states_the_family_its_broader_chain_reaches(ontology: Graph):
    for profession in professions(ontology):
        (stated,) = list(ontology.objects(profession, CIPD.inProfessionFamily))
        assert family_of(ontology, profession) == stated, profession


def test_the_caipe_test_counts_families_not_concepts(ontology: Graph):
    same_family = [
        ("Nurse", "SpecialistNurse"),
        ("Nurse", "MentalHealthNurse"),
        ("Nurse", "NursingAssociate"),
        ("GeneralPractitioner", "SpecialistDoctor"),
        ("Radiographer", "DiagnosticRadiographer"),
        ("Pharmacist", "PharmacyTechnician"),
        ("Psychologist", "ClinicalPsychologist"),
    ]
    for a, b in same_family:
        assert family_of(ontology, CIPD[a]) == family_of(ontology, CIPD[b]), (a, b)
    different = [("Nurse", "Physiotherapist"), ("Physiotherapist", "OccupationalTherapist")]
    for a, b in different:
        assert family_of(ontology, CIPD[a]) != family_of(ontology, CIPD[b]), (a, b)


def test_only_the_support_workforce_does_not_count_for_caipe(ontology: Graph):
    flags = {}
    for family in families(ontology):
        (flag,) = list(ontology.objects(family, CIPD.countsForCaipe))
        assert isinstance(flag, Literal) and flag.datatype == XSD.boolean, family
        flags[family] = flag.toPython()
    assert [f for f, counts in flags.items() if not counts] == [CIPD.SupportWorkforceFamily]
    for support in (
        "HealthcareAssistant",
        "MaternitySupportWorker",
        "MedicalLaboratoryAssistant",
        "SocialCareWorker",
    ):
        assert family_of(ontology, CIPD[support]) == CIPD.SupportWorkforceFamily, support


def test_each_profession_has_an_isco_notation_matching_its_esco_group(ontology: Graph):
    for profession in professions(ontology):
        (notation,) = list(ontology.objects(profession, SKOS.notation))
        assert re.fullmatch(r"\d{4}", str(notation)), profession
        groups = [str(o) for o in ontology.objects(profession, SKOS.closeMatch)]
        assert f"http://data.europa.eu/esco/isco/C{notation}" in groups, profession


def test_domain_corrections_of_issue_19(ontology: Graph):
    def labels(term: URIRef) -> set[str]:
        return {str(o) for p in (SKOS.prefLabel, SKOS.altLabel) for o in ontology.objects(term, p)}

    # ISCO-08 puts radiographers in 3211 (medical imaging and therapeutic equipment technicians).
    for radiographer in (CIPD.Radiographer, CIPD.DiagnosticRadiographer):
        assert str(ontology.value(radiographer, SKOS.notation)) == "3211"
    # Adult nursing is one field of four, not another name for a nurse.
    assert "Adult nurse" not in labels(CIPD.Nurse)
    assert (CIPD.AdultNurse, SKOS.broader, CIPD.Nurse) in ontology
    # An assistant practitioner is a different role from a nursing associate.
    assert not any("Assistant practitioner" in label for label in labels(CIPD.NursingAssociate))
    # 'Specialist doctor' is a UK staff grade, not a label for hospital doctors.
    everything = {str(o) for o in ontology.objects(None, SKOS.prefLabel)}
    everything |= {str(o) for o in ontology.objects(None, SKOS.altLabel)}
    assert "Specialist doctor" not in everything
    # The paper's 'personal' dimension reads as person-centred care.
    assert str(ontology.value(CIPD.PersonalCare, SKOS.prefLabel)).startswith("Person-centred")


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
