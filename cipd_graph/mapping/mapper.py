"""Mapping parsed records to RDF, with deterministic IRIs under a configurable base.

The same record always maps to the same IRIs, so reloading a file replaces its triples
exactly. Terms come only from the CIPD ontology and the vocabularies it reuses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, ORG, PROV, RDF, RDFS, SKOS, XSD
from rdflib.plugins.stores.memory import SimpleMemory

from cipd_graph._errors import RecordProblem
from cipd_graph._model import Model
from cipd_graph._ontology import CIPD, TermNamespace
from cipd_graph.mapping.pseudonym import Pseudonymiser
from cipd_graph.records.parse import (
    CaipeMode,
    InvolvedGroup,
    InvolvementKind,
    Located,
    MappingRow,
    Methodology,
    ModuleRow,
    OrganisationKind,
    OrganisationRow,
    PartnershipRow,
    PersonRow,
    ProgrammeRow,
    Project,
    RecordFile,
    Role,
    Strength,
    TeamKind,
    TeamRow,
)

_new_iri = str.__new__

SCHEMA = TermNamespace("https://schema.org/")

ORGANISATION_CLASS = {
    OrganisationKind.SERVICE_PROVIDER: CIPD.ServiceProvider,
    OrganisationKind.EDUCATIONAL_INSTITUTION: CIPD.EducationalInstitution,
    OrganisationKind.COMMISSIONER: CIPD.Commissioner,
}
TEAM_CLASS = {
    TeamKind.TEAM: CIPD.Team,
    TeamKind.INTERPROFESSIONAL_TEAM: CIPD.InterprofessionalTeam,
    TeamKind.CLINICAL_MICROSYSTEM: CIPD.ClinicalMicrosystem,
    TeamKind.COMMUNITY_OF_PRACTICE: CIPD.CommunityOfPractice,
    TeamKind.ACTION_LEARNING_SET: CIPD.ActionLearningSet,
}
ROLE = {
    Role.LEAD: CIPD.ProjectLead,
    Role.MEMBER: CIPD.TeamMember,
    Role.IMPROVER: CIPD.Improver,
    Role.EDUCATOR: CIPD.Educator,
    Role.FACILITATOR: CIPD.Facilitator,
    Role.PATIENT_CARER_REPRESENTATIVE: CIPD.PatientOrCarerRepresentative,
}
QUALITY = {
    "effective": CIPD.ClinicallyEffective,
    "personal": CIPD.PersonalCare,
    "safe": CIPD.SafeCare,
}
MODE = {
    CaipeMode.WITH: CIPD.LearningWith,
    CaipeMode.FROM: CIPD.LearningFrom,
    CaipeMode.ABOUT: CIPD.LearningAbout,
}
REFLECTION = {
    "in": CIPD.ReflectionInPractice,
    "on": CIPD.ReflectionOnPractice,
    "through": CIPD.ReflectionThroughPractice,
}
STRENGTH = {
    Strength.STRONG: CIPD.StrongMapping,
    Strength.MODERATE: CIPD.ModerateMapping,
    Strength.WEAK: CIPD.WeakMapping,
}
METHODOLOGY = {
    Methodology.MODEL_FOR_IMPROVEMENT: CIPD.ModelForImprovement,
    Methodology.PDSA: CIPD.PlanDoStudyAct,
    Methodology.EXPERIENCE_BASED_CO_DESIGN: CIPD.ExperienceBasedCoDesign,
    Methodology.LEAN: CIPD.Lean,
    Methodology.SIX_SIGMA: CIPD.SixSigma,
    Methodology.CLINICAL_AUDIT: CIPD.ClinicalAudit,
    Methodology.OTHER_EVIDENCE_BASED: CIPD.EvidenceBasedImprovementMethodology,
}
INVOLVED_GROUP = {
    InvolvedGroup.PATIENTS: CIPD.InvolvedPatients,
    InvolvedGroup.CARERS: CIPD.InvolvedCarers,
}
INVOLVEMENT_KIND = {
    InvolvementKind.SHARING_EXPERIENCE: CIPD.SharingExperienceInvolvement,
    InvolvementKind.CO_DESIGNING: CIPD.CoDesigningInvolvement,
    InvolvementKind.CO_DELIVERING: CIPD.CoDeliveringInvolvement,
}
ACTIVITY_KIND = {
    "workshop": CIPD.Workshop,
    "huddle": CIPD.TeamHuddle,
    "action-learning-set": CIPD.ActionLearningSetMeeting,
    "simulation": CIPD.Simulation,
    "teaching-session": CIPD.TeachingSession,
    "e-learning": CIPD.ELearning,
    "coaching": CIPD.Coaching,
    "case-review": CIPD.CaseReview,
}
STAGES = (
    ("plan", CIPD.PlanStage),
    ("do", CIPD.DoStage),
    ("study", CIPD.StudyStage),
    ("act", CIPD.ActStage),
)


class _RecordTriples(SimpleMemory):
    """rdflib's context-free in-memory store, counted without walking every triple.

    A mapped file is one graph; rdflib's default ``Memory`` store also keeps, per triple,
    which graphs hold it and announces every addition as an event: about a quarter of the
    time of mapping a project file.
    """

    def __len__(self, context: Any = None) -> int:
        spo: dict[Any, dict[Any, dict[Any, int]]] = self._SimpleMemory__spo  # type: ignore[attr-defined]
        return sum(len(objects) for po in spo.values() for objects in po.values())

    def add(self, triple: Any, context: Any, quoted: bool = False) -> None:
        """SimpleMemory's own ``add``, without its exceptions: it finds each missing key by
        catching a KeyError, and mapped triples bring many new keys (a quarter of the time
        of parsing, mapping and validating a project went to it; now about a tenth)."""
        s, p, o = triple
        by_p = self._SimpleMemory__spo.get(s)  # type: ignore[attr-defined]
        if by_p is None:
            by_p = self._SimpleMemory__spo[s] = {}  # type: ignore[attr-defined]
        objects = by_p.get(p)
        if objects is None:
            objects = by_p[p] = {}
        elif o in objects:
            return  # stated already: the other two indexes have it
        objects[o] = 1
        by_o = self._SimpleMemory__pos.get(p)  # type: ignore[attr-defined]
        if by_o is None:
            by_o = self._SimpleMemory__pos[p] = {}  # type: ignore[attr-defined]
        subjects = by_o.get(o)
        if subjects is None:
            subjects = by_o[o] = {}
        subjects[s] = 1
        by_s = self._SimpleMemory__osp.get(o)  # type: ignore[attr-defined]
        if by_s is None:
            by_s = self._SimpleMemory__osp[o] = {}  # type: ignore[attr-defined]
        predicates = by_s.get(s)
        if predicates is None:
            predicates = by_s[s] = {}
        predicates[p] = 1


def record_graph() -> Graph:
    """An empty graph for what is mapped from one file (see :class:`_RecordTriples`)."""
    return Graph(store=_RecordTriples())


@dataclass
class MappedFile:
    """The RDF made from one source file, with the record each subject came from."""

    source: RecordFile
    graph: Graph
    names: Graph
    records: dict[str, tuple[int, str]] = field(default_factory=dict)
    problems: list[RecordProblem] = field(default_factory=list)
    #: What a reader left out because it could not place it (the load still goes ahead).
    warnings: list[RecordProblem] = field(default_factory=list)
    #: Triples a reader adds to the batch's provenance graph (e.g. the ids of the xAPI
    #: statements it was made from), replaced and dropped with the batch.
    provenance: Graph = field(default_factory=Graph)


class Mapper:
    """Maps records to RDF under ``base``; one instance serves a whole load."""

    def __init__(
        self,
        base: str,
        pseudonymise: Pseudonymiser,
        model: Model,
        frameworks: Mapping[str, URIRef] | None = None,
    ) -> None:
        self.base = base
        #: Items of imported competency frameworks by IRI, source URI, identifier or unique code.
        self.frameworks: Mapping[str, URIRef] = frameworks or {}
        self.pseudonymise = pseudonymise
        self.model = model
        professions = [
            s for s in model.graph.subjects(RDF.type, CIPD.Profession) if isinstance(s, URIRef)
        ]
        self._profession_by_name = {str(p).removeprefix(str(CIPD)).lower(): p for p in professions}
        by_code: dict[str, list[URIRef]] = {}
        for p in professions:
            for code in model.graph.objects(p, SKOS.notation):
                by_code.setdefault(str(code), []).append(p)
        self._profession_by_code = by_code
        #: Pseudonymous person IRI -> local identifier, for reports during this load only.
        self.local_ids: dict[str, str] = {}
        #: The classes the store's records already give an IRI (empty without a store), so
        #: readers of other formats can tell a reference to something loaded from a new thing.
        self.stored_types: Callable[[str], frozenset[str]] = lambda iri: frozenset()
        #: What the store's other batches say about an IRI, as (predicate, object value,
        #: source path) rows from their record and provenance graphs (empty without a store).
        self.stored_facts: Callable[[str], list[tuple[str, str, str]]] = lambda iri: []

    # -- IRIs -----------------------------------------------------------------
    def iri(self, *parts: str) -> URIRef:
        """``base`` + the parts joined by '/' (parts are slugs, safe in IRIs).

        Made without ``URIRef``'s check, which only logs a warning for characters IRIs may
        not hold: the base is checked once (``CIPD_BASE_IRI``), the parts are record
        identifiers that match ``Slug``, numbers, dates or ``_slug`` output. With
        :class:`TermNamespace`, parsing and mapping 500 project files took 3.4 CPU-s
        instead of 3.9."""
        return _new_iri(URIRef, self.base + "/".join(parts))

    def person(self, local_id: str) -> URIRef:
        """The pseudonymous IRI of a person."""
        iri = self.iri("person", self.pseudonymise(local_id))
        self.local_ids[str(iri)] = local_id
        return iri

    def organisation(self, local_id: str) -> URIRef:
        return self.iri("organisation", local_id)

    def team(self, local_id: str) -> URIRef:
        return self.iri("team", local_id)

    def project(self, local_id: str) -> URIRef:
        return self.iri("project", local_id)

    def module(self, local_id: str) -> URIRef:
        return self.iri("module", local_id)

    def programme(self, local_id: str) -> URIRef:
        return self.iri("programme", local_id)

    # -- vocabulary lookups ------------------------------------------------------
    def profession(self, key: str) -> URIRef | None:
        """A profession concept by local name (any case) or unambiguous ISCO-08 code."""
        found = self._profession_by_name.get(key.lower())
        if found is not None:
            return found
        codes = self._profession_by_code.get(key, [])
        return codes[0] if len(codes) == 1 else None

    def element(self, key: str) -> URIRef | None:
        """A model element by notation, CURIE, local name or IRI; None when unknown.

        Failing that, an item of an imported competency framework (``cipd import case``) by
        its IRI, its URI in the publishing system, its CASE identifier or its code when that
        code is unique among imported items.
        """
        try:
            return URIRef(self.model.element(key).iri)
        except KeyError:
            return self.frameworks.get(key.strip())

    def framework(self, identifier: str) -> URIRef:
        """The IRI of an imported competency framework (a CASE CFDocument identifier)."""
        return self.iri("framework", _slug(identifier))

    def framework_item(self, framework: str, identifier: str) -> URIRef:
        """The IRI of an item of an imported framework (a CASE CFItem identifier)."""
        return self.iri("framework", _slug(framework), "item", _slug(identifier))

    # -- mapping --------------------------------------------------------------------
    def map(self, source: RecordFile) -> MappedFile:
        """Map every record of a parsed file."""
        out = MappedFile(source, record_graph(), record_graph())
        handler = getattr(self, f"_map_{source.kind}")
        for located in source.records:
            handler(out, located)
        return out

    def _note(
        self, out: MappedFile, subject: URIRef, located: Located[Any], label: str, *loc: int | str
    ) -> None:
        line = (out.source.line_of(*loc) if loc else None) or located.line
        out.records.setdefault(str(subject), (line, label))

    def _problem(
        self, out: MappedFile, located: Located[Any], field_path: str, reason: str
    ) -> None:
        out.problems.append(
            RecordProblem(str(out.source.path), located.line, located.label, field_path, reason)
        )

    def _add_profession(self, out: MappedFile, person: URIRef, key: str | None) -> None:
        if key is None:
            return
        profession = self.profession(key)
        if profession is None:
            # Keep the statement: validation reports it against the professions scheme.
            profession = CIPD[key]
        out.graph.add((person, CIPD.hasProfession, profession))

    def _add_improver(
        self, out: MappedFile, person: URIRef, identification: URIRef | None, since: dt.date | None
    ) -> None:
        """``person`` identifies as an improver; with a date, also a dated
        cipd:RoleIdentification (``identification``) that says since when."""
        g = out.graph
        g.add((person, CIPD.identifiesAs, CIPD.Improver))
        if since is None or identification is None:
            return
        g.add((person, CIPD.qualifiedIdentification, identification))
        g.add((identification, RDF.type, CIPD.RoleIdentification))
        g.add((identification, CIPD.identifiedRole, CIPD.Improver))
        g.add((identification, SCHEMA.startDate, _date(since)))

    def _map_project(self, out: MappedFile, located: Located[Project]) -> None:  # noqa: PLR0912, PLR0915
        p = located.record
        g = out.graph
        project = self.project(p.id)
        self._note(out, project, located, f"project {p.id}")
        g.add((project, RDF.type, CIPD.ImprovementProject))
        g.add((project, DCTERMS.identifier, Literal(p.id)))
        g.add((project, DCTERMS.title, Literal(p.title)))
        g.add((project, RDFS.label, Literal(p.title)))
        aim = self.iri("project", p.id, "aim")
        g.add((project, CIPD.hasAim, aim))
        g.add((aim, RDF.type, CIPD.Aim))
        g.add((aim, DCTERMS.description, Literal(p.aim)))
        g.add((project, SCHEMA.startDate, _date(p.start)))
        if p.end:
            g.add((project, SCHEMA.endDate, _date(p.end)))
        g.add((project, CIPD.hostedBy, self.organisation(p.organisation)))
        for dim in p.quality_dimensions:
            g.add((project, CIPD.targetsQualityDimension, QUALITY[dim.value]))
        for method in p.methodologies:
            g.add((project, CIPD.usesMethodology, METHODOLOGY[method]))
        for partner in p.partners:
            g.add((project, CIPD.hasPartner, self.organisation(partner.organisation)))
        for i, key in enumerate(p.claims):
            element = self.element(key)
            if element is None:
                self._problem(
                    out, located, f"claims[{i}]", f"no model element {key!r} (see `cipd model`)"
                )
            else:
                g.add((project, CIPD.claimsElement, element))
        for i, key in enumerate(p.addresses):
            element = self.element(key)
            if element is None:
                self._problem(out, located, f"addresses[{i}]", f"no opportunity or lesson {key!r}")
            else:
                g.add((project, CIPD.addresses, element))

        # team
        team_id = p.team.id or f"{p.id}-team"
        team = self.team(team_id)
        self._note(out, team, located, f"team {team_id} of project {p.id}", "team")
        g.add((project, CIPD.hasTeam, team))
        g.add((team, RDF.type, TEAM_CLASS[p.team.kind]))
        g.add((team, DCTERMS.identifier, Literal(team_id)))
        g.add((team, RDFS.label, Literal(p.team.name or f"Team of {p.title}")))
        g.add((team, CIPD.hostedBy, self.organisation(p.organisation)))
        for i, member in enumerate(p.team.members):
            person = self.person(member.person)
            self._note(
                out,
                person,
                located,
                f"team member {member.person} of project {p.id}",
                "team",
                "members",
                i,
            )
            g.add((person, RDF.type, FOAF.Person))
            g.add((team, ORG.hasMember, person))
            membership = self.iri("team", team_id, "membership", self.pseudonymise(member.person))
            g.add((membership, RDF.type, ORG.Membership))
            g.add((membership, ORG.member, person))
            g.add((membership, ORG.organization, team))
            g.add((membership, ORG.role, ROLE[member.role]))
            if member.start:
                g.add((membership, SCHEMA.startDate, _date(member.start)))
            if member.end:
                g.add((membership, SCHEMA.endDate, _date(member.end)))
            self._add_profession(out, person, member.profession)
            if member.identifies_as_improver or member.identifies_as_improver_since:
                identification = None
                if member.identifies_as_improver_since:
                    identification = self.iri(
                        "project",
                        p.id,
                        "identification",
                        self.pseudonymise(member.person),
                        "improver",
                    )
                    self._note(
                        out,
                        identification,
                        located,
                        f"improver identification of team member {member.person} of project {p.id}",
                        "team",
                        "members",
                        i,
                    )
                self._add_improver(out, person, identification, member.identifies_as_improver_since)

        # measures
        for mi, measure_record in enumerate(p.measures):
            measure = self.iri("project", p.id, "measure", measure_record.id)
            self._note(
                out,
                measure,
                located,
                f"measure {measure_record.id} of project {p.id}",
                "measures",
                mi,
            )
            g.add((project, CIPD.hasMeasure, measure))
            g.add((measure, RDF.type, CIPD.Measure))
            g.add((measure, RDFS.label, Literal(measure_record.name)))
            if measure_record.dimension:
                g.add((measure, CIPD.measuresDimension, QUALITY[measure_record.dimension.value]))
            if measure_record.unit:
                g.add((measure, SCHEMA.unitText, Literal(measure_record.unit)))
            if measure_record.baseline is not None:
                g.add((measure, CIPD.baselineValue, _decimal(measure_record.baseline)))
            if measure_record.target is not None:
                g.add((measure, CIPD.targetValue, _decimal(measure_record.target)))
            for obs in measure_record.values:
                node = self.iri("project", p.id, "measure", measure_record.id, obs.date.isoformat())
                g.add((measure, CIPD.hasObservation, node))
                g.add((node, RDF.type, CIPD.MeasureObservation))
                g.add((node, DCTERMS.date, _date(obs.date)))
                g.add((node, CIPD.observedValue, _decimal(obs.value)))

        ideas = {}
        for ii, idea_record in enumerate(p.change_ideas):
            idea = self.iri("project", p.id, "change-idea", idea_record.id)
            ideas[idea_record.id] = idea
            self._note(
                out,
                idea,
                located,
                f"change idea {idea_record.id} of project {p.id}",
                "change_ideas",
                ii,
            )
            g.add((project, CIPD.hasChangeIdea, idea))
            g.add((idea, RDF.type, CIPD.ChangeIdea))
            g.add((idea, DCTERMS.description, Literal(idea_record.description)))

        cycles = {}
        for ci, cycle_record in enumerate(p.pdsa_cycles):
            n = str(cycle_record.number)
            cycle = self.iri("project", p.id, "cycle", n)
            cycles[cycle_record.number] = cycle
            self._note(out, cycle, located, f"PDSA cycle {n} of project {p.id}", "pdsa_cycles", ci)
            g.add((project, CIPD.hasCycle, cycle))
            g.add((cycle, CIPD.isCycleOf, project))
            g.add((cycle, RDF.type, CIPD.PDSACycle))
            g.add(
                (
                    cycle,
                    CIPD.cycleNumber,
                    Literal(cycle_record.number, datatype=XSD.positiveInteger),
                )
            )
            g.add((cycle, SCHEMA.startDate, _date(cycle_record.start)))
            g.add((cycle, PROV.wasAssociatedWith, team))
            if cycle_record.end:
                g.add((cycle, SCHEMA.endDate, _date(cycle_record.end)))
            if cycle_record.prediction:
                g.add((cycle, CIPD.prediction, Literal(cycle_record.prediction)))
            if cycle_record.change_idea:
                g.add((cycle, CIPD.testsChangeIdea, ideas[cycle_record.change_idea]))
            for vi, involved in enumerate(cycle_record.involvement):
                node = self.iri(
                    "project",
                    p.id,
                    "cycle",
                    n,
                    "involvement",
                    f"{involved.group.value}-{involved.kind.value}",
                )
                self._note(
                    out,
                    node,
                    located,
                    f"{involved.group.value} {involved.kind.value} in PDSA cycle {n} of project {p.id}",
                    "pdsa_cycles",
                    ci,
                    "involvement",
                    vi,
                )
                g.add((cycle, CIPD.hasInvolvement, node))
                g.add((node, RDF.type, CIPD.PatientCarerInvolvement))
                g.add((node, CIPD.involvedGroup, INVOLVED_GROUP[involved.group]))
                g.add((node, CIPD.involvementKind, INVOLVEMENT_KIND[involved.kind]))
                g.add((node, CIPD.headcount, _count(involved.count)))
            for name, stage_type in STAGES:
                stage_record = getattr(cycle_record, name)
                if stage_record is None:
                    continue
                stage = self.iri("project", p.id, "cycle", n, name)
                self._note(
                    out,
                    stage,
                    located,
                    f"{name} stage of PDSA cycle {n} of project {p.id}",
                    "pdsa_cycles",
                    ci,
                    name,
                )
                g.add((cycle, CIPD.hasStage, stage))
                g.add((stage, RDF.type, CIPD.CycleStage))
                g.add((stage, CIPD.stageType, stage_type))
                g.add((stage, DCTERMS.description, Literal(stage_record.notes)))
                if stage_record.start:
                    g.add((stage, SCHEMA.startDate, _date(stage_record.start)))
                if stage_record.end:
                    g.add((stage, SCHEMA.endDate, _date(stage_record.end)))
                for participant in stage_record.participants:
                    g.add((stage, PROV.wasAssociatedWith, self.person(participant)))

        activities = {}
        for ai, act in enumerate(p.learning_activities):
            activity = self.iri("project", p.id, "activity", act.id)
            activities[act.id] = activity
            self._note(
                out,
                activity,
                located,
                f"learning activity {act.id} of project {p.id}",
                "learning_activities",
                ai,
            )
            g.add((activity, RDF.type, CIPD.LearningActivity))
            if act.interprofessional is not None:
                # The recorder's declaration, as given: whether the activity meets the CAIPE
                # definition is derived (rules/), and never against a declared "false".
                g.add((activity, CIPD.declaredInterprofessional, Literal(act.interprofessional)))
            g.add((activity, RDFS.label, Literal(act.title)))
            g.add((activity, CIPD.activityKind, ACTIVITY_KIND[act.kind]))
            g.add((activity, DCTERMS.date, _date(act.date)))
            g.add((activity, CIPD.atWork, Literal(act.at_work)))
            g.add((activity, CIPD.partOfProject, project))
            for mode in act.modes:
                g.add((activity, CIPD.hasLearningMode, MODE[mode]))
            for participant in act.participants:
                g.add((activity, PROV.wasAssociatedWith, self.person(participant)))
            if act.module:
                g.add((activity, CIPD.partOfModule, self.module(act.module)))
            if act.cycle is not None:
                g.add((activity, PROV.wasInformedBy, cycles[act.cycle]))
            if act.team:
                g.add((activity, CIPD.forTeam, self.team(act.team)))

        for ri, ref in enumerate(p.reflections):
            reflection = self.iri("project", p.id, "reflection", ref.id)
            self._note(
                out,
                reflection,
                located,
                f"reflection {ref.id} of project {p.id}",
                "reflections",
                ri,
            )
            g.add((reflection, RDF.type, CIPD.Reflection))
            g.add((reflection, CIPD.partOfProject, project))
            g.add((reflection, CIPD.reflectionMode, REFLECTION[ref.mode.value]))
            g.add((reflection, PROV.wasAttributedTo, self.person(ref.by)))
            g.add((reflection, DCTERMS.date, _date(ref.date)))
            g.add((reflection, DCTERMS.description, Literal(ref.text)))
            target = (
                cycles[ref.cycle]
                if ref.cycle is not None
                else activities[ref.activity]
                if ref.activity
                else project
            )
            g.add((reflection, CIPD.reflectsOn, target))

        for di, cd in enumerate(p.co_design):
            activity = self.iri("project", p.id, "co-design", cd.id)
            self._note(
                out, activity, located, f"co-design {cd.id} of project {p.id}", "co_design", di
            )
            g.add((activity, RDF.type, CIPD.CoDesignActivity))
            g.add((activity, RDFS.label, Literal(cd.title)))
            g.add((activity, DCTERMS.date, _date(cd.date)))
            g.add((activity, CIPD.partOfProject, project))
            for i, text in enumerate(cd.touch_points, start=1):
                point = self.iri("project", p.id, "co-design", cd.id, "touch-point", str(i))
                g.add((activity, CIPD.atTouchPoint, point))
                g.add((point, RDF.type, CIPD.TouchPoint))
                g.add((point, RDFS.label, Literal(text)))
            for kind, count in (
                ("patient", cd.co_designers.patients),
                ("carer", cd.co_designers.carers),
            ):
                for i in range(1, count + 1):
                    agent = self.iri("project", p.id, "co-design", cd.id, f"{kind}-{i}")
                    g.add((activity, CIPD.involvesCoDesigner, agent))
                    g.add((agent, RDF.type, CIPD.PatientOrCarer))
                    g.add((agent, RDFS.label, Literal(f"{kind.capitalize()} {i}")))

    def _map_organisations(self, out: MappedFile, located: Located[OrganisationRow]) -> None:
        row = located.record
        org = self.organisation(row.id)
        self._note(out, org, located, located.label)
        out.graph.add((org, RDF.type, ORGANISATION_CLASS[row.kind]))
        out.graph.add((org, DCTERMS.identifier, Literal(row.id)))
        out.graph.add((org, RDFS.label, Literal(row.name)))

    def _map_people(self, out: MappedFile, located: Located[PersonRow]) -> None:
        row = located.record
        person = self.person(row.id)
        self._note(out, person, located, located.label)
        out.graph.add((person, RDF.type, FOAF.Person))
        self._add_profession(out, person, row.profession)
        if row.identifies_as_improver or row.identifies_as_improver_since:
            identification = None
            if row.identifies_as_improver_since:
                identification = self.iri("identification", self.pseudonymise(row.id), "improver")
                self._note(out, identification, located, located.label)
            self._add_improver(out, person, identification, row.identifies_as_improver_since)
        if row.name:
            out.names.add((person, FOAF.name, Literal(row.name)))

    def _map_teams(self, out: MappedFile, located: Located[TeamRow]) -> None:
        row = located.record
        team = self.team(row.id)
        self._note(out, team, located, located.label)
        g = out.graph
        g.add((team, RDF.type, TEAM_CLASS[row.kind]))
        g.add((team, DCTERMS.identifier, Literal(row.id)))
        g.add((team, RDFS.label, Literal(row.name)))
        if row.organisation:
            g.add((team, CIPD.hostedBy, self.organisation(row.organisation)))
        for member in row.members:
            g.add((team, ORG.hasMember, self.person(member)))

    def _map_programmes(self, out: MappedFile, located: Located[ProgrammeRow]) -> None:
        row = located.record
        programme = self.programme(row.id)
        self._note(out, programme, located, located.label)
        out.graph.add((programme, RDF.type, CIPD.Programme))
        out.graph.add((programme, DCTERMS.identifier, Literal(row.id)))
        out.graph.add((programme, RDFS.label, Literal(row.title)))
        out.graph.add((programme, SCHEMA.provider, self.organisation(row.institution)))
        for commissioner in row.commissioned_by:
            out.graph.add((programme, CIPD.commissionedBy, self.organisation(commissioner)))

    def _map_modules(self, out: MappedFile, located: Located[ModuleRow]) -> None:
        row = located.record
        module = self.module(row.id)
        self._note(out, module, located, located.label)
        g = out.graph
        g.add((module, RDF.type, CIPD.Module))
        g.add((module, DCTERMS.identifier, Literal(row.id)))
        g.add((module, RDFS.label, Literal(row.title)))
        g.add((module, SCHEMA.provider, self.organisation(row.institution)))
        for partner in row.co_delivered_by:
            g.add((module, SCHEMA.provider, self.organisation(partner)))
        for commissioner in row.commissioned_by:
            g.add((module, CIPD.commissionedBy, self.organisation(commissioner)))
        if row.code:
            g.add((module, SCHEMA.courseCode, Literal(row.code)))
        if row.credits is not None:
            g.add((module, SCHEMA.numberOfCredits, Literal(row.credits, datatype=XSD.integer)))
        for programme in row.programmes:
            g.add((self.programme(programme), SCHEMA.hasCourse, module))
        for project in row.linked_projects:
            g.add((module, CIPD.linkedToProject, self.project(project)))

    def _map_mappings(self, out: MappedFile, located: Located[MappingRow]) -> None:
        row = located.record
        element = self.element(row.element)
        if element is None:
            key = row.element
            if key.startswith(("cipd:", "http://", "https://")):
                # Keep it: validation says it is not a model element, with the shape's message.
                element = URIRef(str(CIPD) + key[5:]) if key.startswith("cipd:") else URIRef(key)
            else:
                self._problem(
                    out, located, "element", f"no model element {key!r} (see `cipd model`)"
                )
                return
        local = str(element).rsplit("#", 1)[-1].rsplit("/", 1)[-1]
        mapping = self.iri("module", row.module, "mapping", local)
        self._note(out, mapping, located, located.label)
        g = out.graph
        g.add((mapping, RDF.type, CIPD.ModuleMapping))
        g.add((self.module(row.module), CIPD.hasMapping, mapping))
        g.add((mapping, CIPD.mapsModule, self.module(row.module)))
        g.add((mapping, CIPD.mapsToElement, element))
        g.add((mapping, CIPD.mappingStrength, STRENGTH[row.strength]))
        g.add((mapping, CIPD.justification, Literal(row.justification)))
        g.add((mapping, PROV.wasAttributedTo, self.person(row.mapped_by)))

    def _map_partnerships(self, out: MappedFile, located: Located[PartnershipRow]) -> None:
        row = located.record
        partnership = self.iri("partnership", row.id)
        self._note(out, partnership, located, located.label)
        g = out.graph
        g.add((partnership, RDF.type, CIPD.Partnership))
        g.add((partnership, DCTERMS.identifier, Literal(row.id)))
        g.add((partnership, RDFS.label, Literal(row.name)))
        for member in row.members:
            g.add((partnership, ORG.hasMember, self.organisation(member)))
        for project in row.supports_projects:
            g.add((partnership, CIPD.supports, self.project(project)))
        for module in row.supports_modules:
            g.add((partnership, CIPD.supports, self.module(module)))


@lru_cache(maxsize=65536)
def _date(value: dt.date) -> Literal:
    # Cached: rdflib parses and re-normalises a typed literal's text on every construction
    # (about 7 µs), and the same dates recur across a load's records.
    return Literal(value.isoformat(), datatype=XSD.date)


@lru_cache(maxsize=1024)
def _count(value: int) -> Literal:
    return Literal(str(value), datatype=XSD.nonNegativeInteger)


@lru_cache(maxsize=65536)
def _decimal(value: Decimal) -> Literal:
    return Literal(format(value, "f"), datatype=XSD.decimal)


def _slug(identifier: str) -> str:
    """An identifier made safe as one IRI path segment (UUIDs and slugs stay as they are)."""
    return quote(identifier.strip(), safe="-._~")
