"""Every element, relation and list item of MODEL.md sections 2 to 4, and the corrections and
additions of issue 19, has a term that encodes it.

Each row names the item as MODEL.md states it, the terms that encode it, and where the
item is a fact rather than a name, a SPARQL ASK that must hold in the ontology.
"""

from __future__ import annotations

import pyoxigraph
import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS

from cipd_graph import CIPD
from cipd_graph._qc import to_store

PREFIXES = """
PREFIX cipd: <https://w3id.org/cipd#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
"""

Row = tuple[str, str, tuple[str, ...], str | None]

COVERAGE: list[Row] = [
    # --- section 2: Figure 1 -------------------------------------------------------------
    (
        "2",
        "CIPD tapestry at the centre",
        ("CIPD",),
        "ASK { cipd:CIPD skos:topConceptOf cipd:TapestryModel }",
    ),
    (
        "2",
        "everyday life of teams working and learning together",
        ("CIPD", "Team", "CommunitiesOfPractice"),
        None,
    ),
    (
        "2",
        "four strands woven into the tapestry",
        ("Strand", "weavesInto"),
        "ASK { { SELECT (COUNT(?s) AS ?n) WHERE { ?s a cipd:Strand ; cipd:weavesInto cipd:CIPD } } FILTER(?n = 4) }",
    ),
    (
        "2",
        "no strand makes the picture alone (warp and weft)",
        ("evidencesStrand", "AllStrandsEvidencedProject", "InterwovenProject", "StrandLink"),
        "ASK { cipd:InterwovenProject rdfs:subClassOf cipd:AllStrandsEvidencedProject }",
    ),
    (
        "2",
        "strand 1: interprofessional working",
        ("InterprofessionalWorking",),
        "ASK { cipd:InterprofessionalWorking a cipd:Strand }",
    ),
    (
        "2",
        "strand 2: interprofessional learning",
        ("InterprofessionalLearning",),
        "ASK { cipd:InterprofessionalLearning a cipd:Strand }",
    ),
    (
        "2",
        "IPL includes interprofessional education",
        ("InterprofessionalEducation",),
        "ASK { cipd:InterprofessionalEducation skos:broader cipd:InterprofessionalLearning }",
    ),
    (
        "2",
        "CAIPE: at least two professions",
        ("minimumProfessions", "InterprofessionalLearningActivity"),
        "ASK { cipd:InterprofessionalLearning cipd:minimumProfessions ?n FILTER(?n = 2) }",
    ),
    (
        "2",
        "CAIPE modes: with, from, about",
        ("LearningWith", "LearningFrom", "LearningAbout", "hasLearningMode"),
        "ASK { cipd:InterprofessionalLearning cipd:hasLearningMode cipd:LearningWith, cipd:LearningFrom, cipd:LearningAbout }",
    ),
    (
        "2",
        "CAIPE aims: collaboration and quality of care",
        ("Collaboration", "QualityOfCare", "aimsToImprove"),
        "ASK { cipd:InterprofessionalLearning cipd:aimsToImprove cipd:Collaboration, cipd:QualityOfCare }",
    ),
    (
        "2",
        "strand 3: work-based learning (for, at, through work)",
        ("WorkBasedLearning", "atWork"),
        "ASK { cipd:WorkBasedLearning a cipd:Strand }",
    ),
    (
        "2",
        "practice-based learning",
        ("WorkBasedLearning",),
        'ASK { cipd:WorkBasedLearning skos:altLabel "Practice-based learning"@en }',
    ),
    (
        "2",
        "strand 4: service improvement (healthcare / continuous quality improvement)",
        ("ServiceImprovement",),
        'ASK { cipd:ServiceImprovement a cipd:Strand ; skos:altLabel "Continuous quality improvement"@en, "Healthcare improvement"@en }',
    ),
    (
        "2",
        "strands integrate across permeable membranes",
        ("PermeableMembrane", "integratesAcross"),
        "ASK { cipd:SocialLearning cipd:integratesAcross cipd:PermeableMembrane }",
    ),
    (
        "2",
        "through the intentional nourishing of social learning",
        ("SocialLearning", "integrates"),
        "ASK { { SELECT (COUNT(?s) AS ?n) WHERE { cipd:SocialLearning cipd:integrates ?s . ?s a cipd:Strand } } FILTER(?n = 4) }",
    ),
    (
        "2",
        "core grounded in the wider world of providers and institutions",
        ("WiderWorld", "isGroundedIn"),
        "ASK { cipd:CIPD cipd:isGroundedIn cipd:WiderWorld }",
    ),
    ("2", "service providers", ("ServiceProvider",), None),
    ("2", "educational institutions", ("EducationalInstitution",), None),
    (
        "2",
        "social learning also happens outside the core",
        ("SocialLearning",),
        'ASK { cipd:SocialLearning skos:scopeNote ?note FILTER(CONTAINS(?note, "outside the core")) }',
    ),
    (
        "2",
        "commissioners are the third partner",
        ("Commissioner", "Partnership", "hasPartner", "supports"),
        None,
    ),
    # --- section 3: Table 1 --------------------------------------------------------------
    ("3", "learning as doing", ("LearningAsDoing",), None),
    ("3", "learning as belonging", ("LearningAsBelonging",), None),
    ("3", "learning as becoming", ("LearningAsBecoming",), None),
    ("3", "learning as experience", ("LearningAsExperience",), None),
    (
        "3",
        "implementing service improvement through PDSA cycles",
        ("ImplementingImprovementThroughPDSA",),
        None,
    ),
    (
        "3",
        "developing a shared interprofessional framework",
        ("DevelopingSharedInterprofessionalFramework",),
        None,
    ),
    ("3", "identifying oneself as an improver", ("IdentifyingAsImprover",), None),
    (
        "3",
        "continuous quality improvement through continuous reflection",
        ("ContinuousReflectiveImprovement",),
        None,
    ),
    (
        "3",
        "each dimension is realised by its practice",
        ("isRealisedBy", "realises"),
        "ASK { { SELECT (COUNT(*) AS ?n) WHERE { ?d cipd:isRealisedBy ?p . ?p cipd:realises ?d } } FILTER(?n = 4) }",
    ),
    # --- section 4: other concepts -----------------------------------------------------------
    ("4", "quality of care", ("QualityOfCare",), None),
    (
        "4",
        "quality dimension: clinically effective",
        ("ClinicallyEffective", "QualityDimension"),
        None,
    ),
    ("4", "quality dimension: personal", ("PersonalCare",), None),
    ("4", "quality dimension: safe", ("SafeCare",), None),
    ("4", "improvement methodology", ("ImprovementMethodology", "usesMethodology"), None),
    ("4", "PDSA cycle", ("PDSACycle", "PlanDoStudyAct", "hasCycle", "cycleNumber"), None),
    (
        "4",
        "PDSA stages: plan, do, study, act",
        ("PlanStage", "DoStage", "StudyStage", "ActStage", "PDSAStage", "hasStage", "stageType"),
        "ASK { cipd:PlanStage cipd:nextStage cipd:DoStage . cipd:DoStage cipd:nextStage cipd:StudyStage . cipd:StudyStage cipd:nextStage cipd:ActStage }",
    ),
    ("4", "model for improvement", ("ModelForImprovement",), None),
    (
        "4",
        "evidence-based improvement methodologies",
        ("EvidenceBasedImprovementMethodology",),
        None,
    ),
    ("4", "double-loop learning", ("DoubleLoopLearning",), None),
    (
        "4",
        "action learning is double-loop learning in practice",
        ("ActionLearning", "isPracticeOf"),
        "ASK { cipd:ActionLearning cipd:isPracticeOf cipd:DoubleLoopLearning }",
    ),
    ("4", "action learning sets", ("ActionLearningSet", "inActionLearningSet"), None),
    ("4", "reflection in practice", ("ReflectionInPractice", "Reflection", "reflectionMode"), None),
    ("4", "reflection on practice", ("ReflectionOnPractice", "reflectsOn"), None),
    ("4", "critical reflection", ("CriticalReflection",), None),
    ("4", "experiential learning", ("ExperientialLearning",), None),
    ("4", "community of practice", ("CommunityOfPractice", "CommunitiesOfPractice"), None),
    (
        "4",
        "clinical microsystem, a community of learning",
        ("ClinicalMicrosystem", "ClinicalMicrosystems"),
        "ASK { cipd:ClinicalMicrosystems skos:broader cipd:CommunitiesOfPractice }",
    ),
    ("4", "experience-based co-design", ("ExperienceBasedCoDesign", "CoDesignActivity"), None),
    ("4", "patients and carers as co-designers", ("PatientOrCarer", "involvesCoDesigner"), None),
    ("4", "touch points", ("TouchPoint", "atTouchPoint"), None),
    (
        "4",
        "actor: health professionals of many professions",
        ("HealthProfessional", "Profession", "hasProfession", "ProfessionScheme"),
        None,
    ),
    ("4", "actor: interprofessional teams", ("InterprofessionalTeam",), None),
    ("4", "actor: educators", ("Educator",), None),
    ("4", "actor: improvement practitioners", ("Improver", "identifiesAs"), None),
    ("4", "actor: patients and carers", ("PatientOrCarer", "PatientOrCarerRepresentative"), None),
    ("4", "actor: service providers", ("ServiceProvider", "hostedBy"), None),
    ("4", "actor: educational institutions (HEIs)", ("EducationalInstitution",), None),
    ("4", "actor: healthcare commissioners", ("Commissioner",), None),
    (
        "4",
        "EQI aim (i): ethos of reflection and commitment to improvement",
        ("AimReflectiveEthos",),
        None,
    ),
    (
        "4",
        "EQI aim (ii): assessing performance of care and needs",
        ("AimAssessPerformanceAndNeeds",),
        None,
    ),
    (
        "4",
        "EQI aim (iii): the gap between current activity and best practice",
        ("AimUnderstandGaps",),
        None,
    ),
    ("4", "EQI aim (iv): tools and confidence to close the gap", ("AimToolsToCloseGaps",), None),
    (
        "4",
        "education area (i): professional, clinical and technical skills",
        ("AreaProfessionalSkills",),
        None,
    ),
    (
        "4",
        "education area (ii): improvement skills with evidence-based methods",
        ("AreaImprovementSkills",),
        None,
    ),
    (
        "4",
        "education area (iii): continuous action learning by teams",
        ("AreaTeamActionLearning",),
        None,
    ),
    ("4", "opportunity (i)", ("OpportunityInformalCIPD",), None),
    ("4", "opportunity (ii)", ("OpportunitySameThing",), None),
    ("4", "opportunity (iii)", ("OpportunitySharedPurpose",), None),
    ("4", "opportunity (iv)", ("OpportunityJointInvestment",), None),
    ("4", "opportunity (v)", ("OpportunityCareerPaths",), None),
    (
        "4",
        "the five opportunities as a SKOS scheme",
        ("OpportunityScheme", "addresses"),
        "ASK { { SELECT (COUNT(?c) AS ?n) WHERE { cipd:OpportunityScheme skos:hasTopConcept ?c } } FILTER(?n = 5) }",
    ),
    ("4", "lesson 1: patients' needs motivate", ("LessonPatientNeeds",), None),
    ("4", "lesson 2: social learning in the workplace", ("LessonSocialLearningAtWork",), None),
    ("4", "lesson 3: two jobs", ("LessonTwoJobs",), None),
    (
        "4",
        "lesson 4: continuous reflection in everyday practice",
        ("LessonEverydayReflection",),
        None,
    ),
    ("4", "lesson 5: patients and carers involved", ("LessonPatientInvolvement",), None),
    (
        "4",
        "lesson 6: commissioners, providers and institutions together",
        ("LessonJointWorking",),
        None,
    ),
    (
        "4",
        "the six lessons as a SKOS scheme",
        ("LessonScheme",),
        "ASK { { SELECT (COUNT(?c) AS ?n) WHERE { cipd:LessonScheme skos:hasTopConcept ?c } } FILTER(?n = 6) }",
    ),
    ("4", "outcome: patient outcomes", ("PatientOutcomes", "Outcome", "targetsOutcome"), None),
    (
        "4",
        "outcome: quality of care",
        ("QualityOfCare",),
        "ASK { cipd:QualityOfCare a cipd:Outcome }",
    ),
    ("4", "outcome: productivity", ("Productivity",), None),
    ("4", "outcome: collective knowledge creation", ("CollectiveKnowledgeCreation",), None),
    ("4", "outcome: innovation", ("Innovation",), None),
    # --- issue 19: corrections and concepts the paper relies on that were missing ----------
    (
        "19",
        "social learning frames the core and reaches outside it, so is not narrower than CIPD",
        ("SocialLearning",),
        "ASK { cipd:SocialLearning skos:topConceptOf cipd:TapestryModel FILTER NOT EXISTS { cipd:SocialLearning skos:broader ?b } }",
    ),
    (
        "19",
        "the wider world grounds the core and is not part of it",
        ("WiderWorld",),
        "ASK { cipd:WiderWorld skos:topConceptOf cipd:TapestryModel FILTER NOT EXISTS { cipd:WiderWorld skos:broader ?b } }",
    ),
    (
        "19",
        "teams can be communities of practice; a clinical microsystem is both (OWL agrees with SKOS)",
        ("ClinicalMicrosystem", "CommunityOfPractice"),
        "ASK { cipd:ClinicalMicrosystem rdfs:subClassOf cipd:Team , cipd:CommunityOfPractice }",
    ),
    (
        "19",
        "reflection in, on and through practice are modes, related to critical reflection",
        ("ReflectionThroughPractice", "ReflectionMode", "CriticalReflection"),
        "ASK { cipd:ReflectionThroughPractice a cipd:ReflectionMode ; skos:related cipd:CriticalReflection FILTER NOT EXISTS { ?m skos:broader cipd:CriticalReflection } }",
    ),
    (
        "19",
        "shared education (side by side) versus shared learning in the CAIPE sense",
        ("SharedEducation", "SharedEducationActivity", "InterprofessionalLearningActivity"),
        "ASK { cipd:SharedEducation skos:related cipd:InterprofessionalLearning . cipd:InterprofessionalLearningActivity owl:disjointWith cipd:SharedEducationActivity }",
    ),
    (
        "19",
        "professional knowledge fused with improvement knowledge",
        (
            "ProfessionalKnowledge",
            "ImprovementKnowledge",
            "FusedProfessionalAndImprovementKnowledge",
            "fuses",
        ),
        "ASK { cipd:FusedProfessionalAndImprovementKnowledge cipd:fuses cipd:ProfessionalKnowledge , cipd:ImprovementKnowledge }",
    ),
    ("19", "learning and improvement culture", ("LearningAndImprovementCulture",), None),
    (
        "19",
        "improvement gives common language, purpose, knowledge, identity and mutual trust",
        (
            "CommonLanguage",
            "CommonPurpose",
            "CommonKnowledge",
            "CommonSenseOfIdentity",
            "MutualTrust",
            "providesCommonGround",
        ),
        "ASK { { SELECT (COUNT(?g) AS ?n) WHERE { cipd:ServiceImprovement cipd:providesCommonGround ?g } } FILTER(?n = 5) }",
    ),
    (
        "19",
        "experience-based co-design integrates and drives the strands",
        ("ExperienceBasedCoDesign", "bindsStrand", "drivesStrand"),
        "ASK { { SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { cipd:ExperienceBasedCoDesign cipd:bindsStrand ?s ; cipd:drivesStrand ?s } } FILTER(?n = 4) }",
    ),
    (
        "19",
        "service improvement is evidenced by any improvement methodology",
        ("ImprovementMethodologyScheme", "Lean", "SixSigma", "ClinicalAudit"),
        "ASK { cipd:ExperienceBasedCoDesign skos:inScheme cipd:ImprovementMethodologyScheme }",
    ),
]

DECLARATIONS = {OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.NamedIndividual}


@pytest.fixture(scope="module")
def store(ontology: Graph) -> pyoxigraph.Store:
    return to_store(ontology)


@pytest.mark.parametrize(
    ("section", "item", "terms", "ask"), COVERAGE, ids=[r[1] for r in COVERAGE]
)
def test_model_item_is_encoded(section, item, terms, ask, ontology: Graph, store):
    for name in terms:
        term = URIRef(CIPD + name)
        kinds = set(ontology.objects(term, RDF.type)) & DECLARATIONS
        assert kinds, f"MODEL.md section {section}, {item!r}: cipd:{name} is not declared"
        assert (term, RDFS.label, None) in ontology
    if ask:
        assert store.query(PREFIXES + ask), f"MODEL.md section {section}, {item!r}: {ask}"


def test_every_model_element_is_accounted_for(model):
    """No model element exists in the ontology that the coverage table does not name."""
    named = {CIPD + name for _, _, terms, _ in COVERAGE for name in terms}
    outside = {e.curie for e in model if e.iri not in named}
    assert outside == set()
