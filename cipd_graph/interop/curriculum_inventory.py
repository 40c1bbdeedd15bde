"""MedBiquitous Curriculum Inventory (v1 XML): programmes, modules, planned sessions, outcomes.

Import maps a Curriculum Inventory report (as AAMC CI submissions, Ilios exports and
MedBiquitous' own sample write it):

- ``Institution`` -> the educational institution (referenced when already loaded, else defined);
- ``Program`` -> the programme; ``Sequence/SequenceBlock`` -> modules of the programme (blocks
  linked through ``SequenceBlockReference``, or nested as v1 does not allow, become sub-modules);
- ``Events/Event`` -> planned learning activities (``cipd:PlannedLearningActivity``): title,
  description, ``EventDuration``, ``Keyword``s, the primary ``InstructionalMethod`` as the activity
  kind (see :data:`INSTRUCTIONAL_METHODS`), ``Interprofessional`` true as an interprofessional
  learning activity, the blocks that reference it (``SequenceBlockEvent``) as its modules and
  their ``StartDate`` as its date; an event in no block is the programme's (``dcterms:hasPart``);
- ``Expectations/CompetencyObject`` -> learning outcomes (LOM identifier, title, description,
  keywords) the programme teaches, linked from the events and blocks that reference them; a
  reference no competency object matches is warned and left out.

The XML is parsed with the standard library's expat with every DTD refused (no DOCTYPE, no
entity declarations): XXE and entity-expansion attacks fail with a clear error.

Export writes one programme (``programme=ID``) as a report valid against the official v1 XSD,
so that the report read back gives the same modules, planned activities and outcomes, and
exporting that again gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from xml.parsers import expat

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, XSD

from cipd_graph._errors import RecordError, RecordProblem
from cipd_graph._ontology import CIPD, ONTOLOGY_IRI
from cipd_graph.graph import GraphStore
from cipd_graph.interop import Format, FormatError, Option, register
from cipd_graph.interop._common import (
    problem,
    read_bytes,
    select,
    short_hash,
    slug,
    value,
)
from cipd_graph.limits import current as current_limits
from cipd_graph.mapping.mapper import SCHEMA, MappedFile, Mapper
from cipd_graph.records.parse import Located, RecordFile

CI = "http://ns.medbiq.org/curriculuminventory/v1/"
MEMBER = "http://ns.medbiq.org/member/v1/"
LOM = "http://ltsc.ieee.org/xsd/LOM"
HX = "http://ns.medbiq.org/lom/extend/v1/"
CO = "http://ns.medbiq.org/competencyobject/v1/"
#: The namespace of the elements this tool adds after the schema's own (see METHOD_OF_KIND).
CIPD_XML = str(CIPD)
NAMESPACES = {
    "": CI,
    "lom": LOM,
    "a": "http://ns.medbiq.org/address/v1/",
    "cf": "http://ns.medbiq.org/competencyframework/v1/",
    "co": CO,
    "hx": HX,
    "m": MEMBER,
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}

#: The AAMC standardized instructional methods (IM001-IM030, the list the MedBiquitous
#: Curriculum Inventory uses, as the AAMC published it for CI submissions and as Ilios and
#: Entrada ship it), each with the CIPD activity kind it is read as and how close that kind
#: is: "exact", "close" (the kind's definition covers the method), "nearest" (the closest of
#: the eight kinds, not a match) or "none" (no kind fits: read as a teaching session, the
#: generic planned session, with a warning).
INSTRUCTIONAL_METHODS: tuple[tuple[str, str, URIRef, str, str], ...] = (
    (
        "IM001",
        "Case-Based Instruction/Learning",
        CIPD.CaseReview,
        "close",
        "patient cases discussed to learn",
    ),
    (
        "IM002",
        "Clinical Experience - Ambulatory",
        CIPD.TeachingSession,
        "none",
        "patient care in an outpatient setting: no CIPD kind",
    ),
    (
        "IM003",
        "Clinical Experience - Inpatient",
        CIPD.TeachingSession,
        "none",
        "patient care on a ward: no CIPD kind",
    ),
    (
        "IM004",
        "Concept Mapping",
        CIPD.TeachingSession,
        "none",
        "a learner's technique, not a kind of session",
    ),
    (
        "IM005",
        "Conference",
        CIPD.TeachingSession,
        "close",
        "presentations to a large group, as a lecture",
    ),
    ("IM006", "Demonstration", CIPD.TeachingSession, "close", "a session led by an educator"),
    ("IM007", "Discussion, Large Group (>12)", CIPD.TeachingSession, "close", "a seminar"),
    (
        "IM008",
        "Discussion, Small Group (\u226412)",
        CIPD.TeachingSession,
        "close",
        "a seminar; not an action learning set, which works on members' own work problems",
    ),
    ("IM009", "Games", CIPD.TeachingSession, "none", "no CIPD kind"),
    (
        "IM010",
        "Independent Learning",
        CIPD.ELearning,
        "nearest",
        "learner-led study; CIPD's kind for it is e-learning",
    ),
    ("IM011", "Journal Club", CIPD.TeachingSession, "close", "a seminar on published papers"),
    ("IM012", "Laboratory", CIPD.TeachingSession, "none", "no CIPD kind"),
    ("IM013", "Lecture", CIPD.TeachingSession, "exact", "a lecture is a teaching session"),
    ("IM014", "Mentorship", CIPD.Coaching, "close", "guidance from an experienced professional"),
    (
        "IM015",
        "Patient Presentation - Faculty",
        CIPD.CaseReview,
        "close",
        "a patient's care presented and discussed",
    ),
    (
        "IM016",
        "Patient Presentation - Learner",
        CIPD.CaseReview,
        "close",
        "a patient's care presented and discussed",
    ),
    ("IM017", "Peer Teaching", CIPD.TeachingSession, "close", "a session led by a fellow learner"),
    ("IM018", "Preceptorship", CIPD.Coaching, "close", "supervision while doing real work"),
    (
        "IM019",
        "Problem-Based Learning (PBL)",
        CIPD.CaseReview,
        "close",
        "designed patient cases worked through in a group",
    ),
    (
        "IM020",
        "Reflection",
        CIPD.TeachingSession,
        "none",
        "a reflection is a person's record (cipd:Reflection), not a session",
    ),
    ("IM021", "Research", CIPD.TeachingSession, "none", "no CIPD kind"),
    ("IM022", "Role Play/Dramatization", CIPD.Simulation, "close", "rehearsing a situation safely"),
    (
        "IM023",
        "Self-Directed Learning",
        CIPD.ELearning,
        "nearest",
        "learner-led study; CIPD's kind for it is e-learning",
    ),
    ("IM024", "Service Learning Activity", CIPD.TeachingSession, "none", "no CIPD kind"),
    ("IM025", "Simulation", CIPD.Simulation, "exact", ""),
    (
        "IM026",
        "Team-Based Learning (TBL)",
        CIPD.Workshop,
        "close",
        "teams working actively on a topic in a facilitated session",
    ),
    (
        "IM027",
        "Team-Building",
        CIPD.Workshop,
        "close",
        "workshops that develop teamwork; not a huddle, which is a team's short meeting at work",
    ),
    ("IM028", "Tutorial", CIPD.TeachingSession, "close", "a small session led by an educator"),
    (
        "IM029",
        "Ward Rounds",
        CIPD.CaseReview,
        "close",
        "real patients' care discussed at the bedside",
    ),
    ("IM030", "Workshop", CIPD.Workshop, "exact", ""),
)
#: Activity kind -> the instructional method written on export. Huddles and action learning
#: sets have no AAMC method: both are written as a small-group discussion, and the exact kind
#: goes in a ``cipd:activityKind`` element at the end of the report (the schema's place for
#: other namespaces), which the import reads back.
METHOD_OF_KIND: dict[URIRef, str] = {
    CIPD.CaseReview: "IM001",
    CIPD.TeachingSession: "IM013",
    CIPD.Coaching: "IM014",
    CIPD.ELearning: "IM023",
    CIPD.Simulation: "IM025",
    CIPD.Workshop: "IM030",
    CIPD.TeamHuddle: "IM008",
    CIPD.ActionLearningSetMeeting: "IM008",
}
_PARENTHESES = re.compile(r"\([^)]*\)")
_WORDS = re.compile(r"[^a-z0-9]+")


def _method_key(text: str) -> str:
    """A method's code or name as a lookup key: lower case, words only, no parentheses.

    >>> _method_key("Discussion, Small Group (\u226412)")
    'discussion small group'
    """
    return " ".join(_WORDS.sub(" ", _PARENTHESES.sub(" ", text.lower())).split())


#: Instructional methods (code or name, any case and punctuation) -> (code, kind, fit).
KIND_OF_METHOD: dict[str, tuple[str, URIRef, str]] = {
    **{_method_key(code): (code, kind, fit) for code, _, kind, fit, _ in INSTRUCTIONAL_METHODS},
    **{_method_key(name): (code, kind, fit) for code, name, kind, fit, _ in INSTRUCTIONAL_METHODS},
}
_METHOD_NAMES = {code: name for code, name, _, _, _ in INSTRUCTIONAL_METHODS}
_KIND_NOTATION = {
    CIPD.Workshop: "workshop",
    CIPD.TeamHuddle: "huddle",
    CIPD.ActionLearningSetMeeting: "action-learning-set",
    CIPD.Simulation: "simulation",
    CIPD.TeachingSession: "teaching-session",
    CIPD.ELearning: "e-learning",
    CIPD.Coaching: "coaching",
    CIPD.CaseReview: "case-review",
}


def methods_table() -> str:
    """The instructional-method table of docs/reference/standards.md (a test keeps the two equal)."""
    names = _KIND_NOTATION
    lines = [
        "| AAMC code | Instructional method | CIPD activity kind | Fit | Why |",
        "|---|---|---|---|---|",
    ]
    for code, name, kind, fit, why in INSTRUCTIONAL_METHODS:
        shown = "teaching session (fallback, warned)" if fit == "none" else names[kind]
        lines.append(f"| {code} | {name} | {shown} | {fit} | {why} |")
    lines.append("")
    lines.append("| CIPD activity kind | Written as |")
    lines.append("|---|---|")
    for kind, code in METHOD_OF_KIND.items():
        extra = " + `cipd:activityKind`" if KIND_OF_METHOD[_method_key(code)][1] != kind else ""
        lines.append(f"| {names[kind]} | {code}{extra} |")
    return "\n".join(lines) + "\n"


_DURATION = re.compile(
    r"^-?P(?=\d|T\d)(?:\d+Y)?(?:\d+M)?(?:\d+D)?(?:T(?=\d)(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)?)?$"
)
_ID_REF = re.compile(r"@id\s*=\s*['\"]([^'\"]+)['\"]")
_ENTRY_REF = re.compile(r"lom:entry\s*=\s*['\"]([^'\"]+)['\"]")
_NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9._-]*$")


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


# --------------------------------------------------------------------------- hardened parsing


class _RefusedError(Exception):
    pass


def parse_xml(data: bytes, path: Path) -> tuple[ET.Element, dict[ET.Element, int]]:
    """Parse ``data`` with expat, refusing any DTD; the root and each element's line."""
    parser = expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    builder = ET.TreeBuilder()
    lines: dict[ET.Element, int] = {}

    def name(raw: str) -> str:
        return "{" + raw if "}" in raw else raw

    depth = [0]
    most = current_limits().nesting

    def start(tag: str, attrs: dict[str, str]) -> None:
        depth[0] += 1
        if depth[0] > most:  # the reader walks nested blocks recursively
            raise _RefusedError(f"elements nested too deeply (at most {most}, CIPD_MAX_NESTING)")
        element = builder.start(name(tag), {name(k): v for k, v in attrs.items()})
        lines[element] = parser.CurrentLineNumber

    def end(tag: str) -> None:
        depth[0] -= 1
        builder.end(name(tag))

    def refuse(*_: object) -> None:
        raise _RefusedError("the document declares a DTD (DOCTYPE or entities), which is refused")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse  # type: ignore[assignment]
    try:
        parser.Parse(data, True)
    except _RefusedError as exc:
        raise RecordError(
            [problem(path, parser.CurrentLineNumber, "document", "", str(exc))]
        ) from exc
    except LookupError as exc:  # the XML declaration names an encoding Python does not know
        raise RecordError(
            [problem(path, 1, "document", "", f"cannot read the document: {exc}")]
        ) from exc
    except expat.ExpatError as exc:
        raise RecordError(
            [
                problem(
                    path,
                    exc.lineno,
                    "document",
                    "",
                    f"not well-formed XML: {expat.errors.messages[exc.code]}",
                )
            ]
        ) from exc
    return builder.close(), lines


# --------------------------------------------------------------------------- reading


@dataclass
class _Block:
    element: ET.Element
    ident: str
    iri: URIRef
    children: list[str] = field(default_factory=list)
    nested: bool = False


class _Reader:
    def __init__(
        self, path: Path, mapper: Mapper, root: ET.Element, lines: dict[ET.Element, int]
    ) -> None:
        self.path = path
        self.mapper = mapper
        self.root = root
        self.lines = lines
        self.problems: list[RecordProblem] = []
        self.warnings: list[RecordProblem] = []
        self.graph = Graph()
        self.records: dict[str, tuple[int, str]] = {}
        self.located: list[Located[Any]] = []
        self.ours = False
        self.kinds: dict[str, URIRef] = {}
        #: events defined by this report (not already loaded): id -> (IRI, element)
        self.defined: dict[str, tuple[URIRef, ET.Element]] = {}
        #: the days blocks schedule each event on (SequenceBlockEvent/StartDate)
        self.event_days: dict[str, set[dt.date]] = {}
        #: events some block references
        self.placed: set[str] = set()

    # -- helpers --------------------------------------------------------------------
    def bad(self, element: ET.Element | None, record: str, where: str, reason: str) -> None:
        line = self.lines.get(element) if element is not None else None
        self.problems.append(problem(self.path, line, record, where, reason))

    def warn(self, element: ET.Element, record: str, where: str, reason: str) -> None:
        self.warnings.append(problem(self.path, self.lines.get(element), record, where, reason))

    def text(
        self, parent: ET.Element, record: str, *names: str, required: bool = True
    ) -> str | None:
        node: ET.Element | None = parent
        for n in names:
            node = node.find(n) if node is not None else None
        found = (node.text or "").strip() if node is not None else ""
        if not found and required:
            self.bad(
                parent,
                record,
                "/".join(_local(n) for n in names),
                "required element missing or empty",
            )
        return found or None

    def note(self, iri: URIRef, element: ET.Element, label: str) -> None:
        self.records.setdefault(str(iri), (self.lines.get(element, 0), label))
        self.located.append(Located(element, self.lines.get(element, 0), label))

    def stored(self, iri: URIRef, cls: URIRef) -> bool:
        return str(cls) in self.mapper.stored_types(str(iri))

    # -- the document ---------------------------------------------------------------
    def read(self) -> None:  # noqa: PLR0912, PLR0915 - the report's header, then its parts
        root = self.root
        if root.tag != _q(CI, "CurriculumInventory"):
            self.bad(
                root,
                "document",
                "",
                f"not a Curriculum Inventory report: the root element is {root.tag}, not {{{CI}}}CurriculumInventory",
            )
            return
        report_id = self.text(root, "report", _q(CI, "ReportID"))
        report_el = root.find(_q(CI, "ReportID"))
        for name in ("Title", "ReportDate", "ReportingStartDate", "ReportingEndDate", "Language"):
            self.text(root, "report", _q(CI, name))
        for name in ("ReportDate", "ReportingStartDate", "ReportingEndDate"):
            found = root.find(_q(CI, name))
            if found is not None and found.text and _date(found.text) is None:
                self.bad(
                    found,
                    "report",
                    name,
                    f"must be a date (YYYY-MM-DD), got {found.text.strip()!r}",
                )
        institution_el = root.find(_q(CI, "Institution"))
        if institution_el is None:
            institution_el = root.find(_q(MEMBER, "Institution"))
            if institution_el is not None:
                self.warn(
                    institution_el,
                    "report",
                    "Institution",
                    "m:Institution is in the member namespace, where the schema has only its "
                    "fields (InstitutionName, InstitutionID, Address); read anyway",
                )
        if institution_el is None:
            self.bad(root, "report", "Institution", "required element missing")
            return
        inst_name = self.text(institution_el, "institution", _q(MEMBER, "InstitutionName"))
        inst_id = self.text(institution_el, "institution", _q(MEMBER, "InstitutionID"))
        program_el = root.find(_q(CI, "Program"))
        if program_el is None:
            self.bad(root, "report", "Program", "required element missing")
            return
        prog_name = self.text(program_el, "program", _q(CI, "ProgramName"))
        prog_id = self.text(program_el, "program", _q(CI, "ProgramID"), required=False)
        for name in ("Events", "Expectations", "Sequence"):
            if root.find(_q(CI, name)) is None:
                self.bad(root, "report", name, "required element missing")
        if self.problems or not (report_id and inst_name and inst_id and prog_name):
            return
        host = urlparse(self.mapper.base).netloc
        self.ours = report_el is not None and report_el.get("domain") == f"idd:{host}:cipd-graph"
        self.report = slug(report_id)
        g = self.graph

        # institution and programme: referenced when loaded, else defined here
        org = self.mapper.organisation(_own_id(inst_id) if self.ours else slug(inst_id))
        if not self.stored(org, CIPD.EducationalInstitution):
            self.note(org, institution_el, f"institution {inst_id}")
            g.add((org, RDF.type, CIPD.EducationalInstitution))
            g.add((org, DCTERMS.identifier, Literal(str(org).rsplit("/", 1)[-1])))
            g.add((org, RDFS.label, Literal(inst_name)))
        programme_id = _own_id(prog_id) if self.ours and prog_id else slug(prog_id or prog_name)
        programme = self.mapper.programme(programme_id)
        if not self.stored(programme, CIPD.Programme):
            self.note(programme, program_el, f"program {prog_id or prog_name}")
            g.add((programme, RDF.type, CIPD.Programme))
            g.add((programme, DCTERMS.identifier, Literal(programme_id)))
            g.add((programme, RDFS.label, Literal(prog_name)))
            g.add((programme, SCHEMA.provider, org))
        self.org, self.programme, self.programme_id = org, programme, programme_id

        self.kinds = self.read_kinds(root)
        outcomes = self.read_outcomes(root.find(_q(CI, "Expectations")))
        for outcome in outcomes.values():  # the report's expectations are the programme's
            g.add((programme, SCHEMA.teaches, outcome))
        events = self.read_events(root.find(_q(CI, "Events")), outcomes)
        self.read_sequence(root.find(_q(CI, "Sequence")), events, outcomes)
        self.date_events()
        for ident, event in events.items():  # in no block: still the programme's
            if event is not None and ident not in self.placed:
                g.add((programme, DCTERMS.hasPart, event))

    def read_kinds(self, root: ET.Element) -> dict[str, URIRef]:
        """The exact CIPD kinds this tool's reports add after the schema's elements."""
        kinds: dict[str, URIRef] = {}
        for el in root.findall(_q(CIPD_XML, "activityKind")):
            event, text = el.get("event"), (el.text or "").strip()
            if event and URIRef(text) in _KIND_NOTATION:
                kinds[event] = URIRef(text)
            else:
                self.warn(
                    el,
                    "report",
                    "cipd:activityKind",
                    f"not an event id and a CIPD activity kind ({event!r}, {text!r}); ignored",
                )
        return kinds

    def date_events(self) -> None:
        """Planned activities defined here take the date their blocks schedule them on."""
        for ident, (iri, element) in self.defined.items():
            days = sorted(self.event_days.get(ident, ()))
            if not days:
                continue
            self.graph.add((iri, DCTERMS.date, Literal(days[0].isoformat(), datatype=XSD.date)))
            if len(days) > 1:
                self.warn(
                    element,
                    f"Event {ident}",
                    "SequenceBlockEvent/StartDate",
                    f"its blocks schedule it on {len(days)} days; recorded on {days[0]}",
                )

    def read_outcomes(self, expectations: ET.Element | None) -> dict[str, URIRef]:
        found: dict[str, URIRef] = {}
        if expectations is None:
            return found
        for el in expectations.findall(_q(CI, "CompetencyObject")):
            general = el.find(f"{_q(LOM, 'lom')}/{_q(LOM, 'general')}")
            record = f"CompetencyObject (line {self.lines.get(el)})"
            if general is None:
                self.bad(el, record, "lom:lom/lom:general", "required element missing")
                continue
            entry = self.text(general, record, _q(LOM, "identifier"), _q(LOM, "entry"))
            title = self.text(general, record, _q(LOM, "title"), _q(LOM, "string"))
            if not entry or not title:
                continue
            record = f"CompetencyObject {entry}"
            if entry in found:
                self.bad(el, record, "lom:identifier", "the same competency object is listed twice")
                continue
            iri = (
                URIRef(entry)
                if entry.startswith(self.mapper.base)
                else self.mapper.iri("outcome", short_hash(entry))
            )
            found[entry] = iri
            self.note(iri, el, record)
            g = self.graph
            g.add((iri, RDF.type, CIPD.LearningOutcome))
            g.add((iri, RDFS.label, Literal(title)))
            g.add((iri, DCTERMS.identifier, Literal(entry)))
            description = self.text(
                general, record, _q(LOM, "description"), _q(LOM, "string"), required=False
            )
            if description:
                g.add((iri, DCTERMS.description, Literal(description)))
            for keyword in general.findall(f"{_q(LOM, 'keyword')}/{_q(LOM, 'string')}"):
                if keyword.text and keyword.text.strip():
                    g.add((iri, SCHEMA.keywords, Literal(keyword.text.strip())))
        return found

    def outcome_refs(
        self, el: ET.Element, record: str, outcomes: Mapping[str, URIRef]
    ) -> list[URIRef]:
        found: list[URIRef] = []
        for ref in el.findall(_q(CI, "CompetencyObjectReference")):
            match = _ENTRY_REF.search(ref.text or "")
            if match is None:
                self.bad(
                    ref,
                    record,
                    "CompetencyObjectReference",
                    f"not a reference to a competency object: {(ref.text or '').strip()!r}",
                )
            elif match.group(1) not in outcomes:
                self.warn(
                    ref,
                    record,
                    "CompetencyObjectReference",
                    f"refers to the competency object {match.group(1)!r}, which is not in "
                    "Expectations (no lom:entry matches it); the link is left out",
                )
            else:
                found.append(outcomes[match.group(1)])
        return found

    def event_iri(self, ident: str) -> URIRef:
        if self.ours and _NCNAME.match(ident) and ".." not in ident:
            candidate = self.mapper.base + ident.replace(".", "/")
            if "/" in candidate.removeprefix(self.mapper.base):
                return URIRef(candidate)
        return self.mapper.iri("ci", self.report, "event", slug(ident))

    def read_events(  # noqa: PLR0912 - one pass over each event's elements
        self, events_el: ET.Element | None, outcomes: Mapping[str, URIRef]
    ) -> dict[str, URIRef | None]:
        found: dict[str, URIRef | None] = {}
        if events_el is None:
            return found
        g = self.graph
        for el in events_el.findall(_q(CI, "Event")):
            ident = el.get("id")
            record = f"Event {ident}" if ident else f"Event (line {self.lines.get(el)})"
            if not ident:
                self.bad(el, record, "@id", "an event needs an id")
                continue
            if ident in found:
                self.bad(el, record, "@id", "the id is used by another event")
                continue
            title = self.text(el, record, _q(CI, "Title"))
            duration = self.event_duration(el, record)
            flag = self.text(el, record, _q(CI, "Interprofessional"), required=False)
            if flag is not None and flag.lower() not in ("true", "false", "1", "0"):
                self.bad(
                    el.find(_q(CI, "Interprofessional")),
                    record,
                    "Interprofessional",
                    f"must be true or false, got {flag!r}",
                )
            refs = self.outcome_refs(el, record, outcomes)
            methods = el.findall(_q(CI, "InstructionalMethod"))
            if not title:
                found[ident] = None  # known, so references to it are not reported again
                continue
            if not methods:
                found[ident] = None
                self.warn(
                    el,
                    record,
                    "InstructionalMethod",
                    "an assessment event, with no instructional method, is not a learning activity; left out",
                )
                continue
            primary = next((m for m in methods if m.get("primary") == "true"), methods[0])
            kind = self.kinds.get(ident) or self.method_kind(primary, record)
            iri = self.event_iri(ident)
            found[ident] = iri
            self.note(iri, el, record)
            for outcome in refs:
                g.add((iri, CIPD.hasLearningOutcome, outcome))
            for keyword in el.findall(f"{_q(CI, 'Keyword')}/{_q(HX, 'string')}"):
                if keyword.text and keyword.text.strip():
                    g.add((iri, SCHEMA.keywords, Literal(keyword.text.strip())))
            if self.stored(iri, CIPD.LearningActivity):
                continue  # an activity that took place: only its module, outcomes and keywords are added
            self.defined[ident] = (iri, el)
            g.add((iri, RDF.type, CIPD.LearningActivity))
            g.add((iri, RDF.type, CIPD.PlannedLearningActivity))
            if flag is not None and flag.lower() in ("true", "1"):
                # a planned event the curriculum declares interprofessional: no participants
                # yet for the CAIPE test, so the class is the source system's statement
                g.add((iri, RDF.type, CIPD.InterprofessionalLearningActivity))
            if flag is not None and flag.lower() in ("true", "1", "false", "0"):
                declared = flag.lower() in ("true", "1")
                g.add((iri, CIPD.declaredInterprofessional, Literal(declared)))
            g.add((iri, RDFS.label, Literal(title)))
            g.add((iri, CIPD.activityKind, kind))
            if duration:
                g.add((iri, SCHEMA.timeRequired, Literal(duration, datatype=XSD.duration)))
            description = self.text(el, record, _q(CI, "Description"), required=False)
            if description:
                g.add((iri, DCTERMS.description, Literal(description)))
        return found

    def event_duration(self, el: ET.Element, record: str) -> str | None:
        """The event's duration in the form EventDuration allows (PT2H30M), or None."""
        text = self.text(el, record, _q(CI, "EventDuration"), required=False)
        where = el.find(_q(CI, "EventDuration"))
        if text is None or where is None:
            self.warn(
                el,
                record,
                "EventDuration",
                "no EventDuration (the schema requires one); the activity is recorded without a duration",
            )
            return None
        if not _DURATION.match(text):
            self.bad(
                where,
                record,
                "EventDuration",
                f"must be an xs:duration such as PT90M, got {text!r}",
            )
            return None
        minutes = duration_minutes(text)
        if minutes is None:
            self.warn(
                where,
                record,
                "EventDuration",
                f"{text!r} counts years or months, which have no fixed length; not recorded",
            )
            return None
        if minutes == 0:
            if not self.ours:  # this tool writes PT0M for a duration it does not know
                self.warn(where, record, "EventDuration", "a zero duration is read as not recorded")
            return None
        return event_duration(minutes)

    def method_kind(self, method: ET.Element, record: str) -> URIRef:
        """The activity kind of an instructional method, given by code or name (the code may
        also be in ``sourceID``, as this tool writes it)."""
        text = (method.text or "").strip()
        found = KIND_OF_METHOD.get(_method_key(method.get("sourceID") or "")) or (
            KIND_OF_METHOD.get(_method_key(text))
        )
        if found is None:
            self.warn(
                method,
                record,
                "InstructionalMethod",
                f"{text!r} is not an AAMC instructional method (IM001-IM030, by code or name); "
                "recorded as a teaching session",
            )
            return CIPD.TeachingSession
        code, kind, fit = found
        if fit == "none":
            self.warn(
                method,
                record,
                "InstructionalMethod",
                f"{code} ({_METHOD_NAMES[code]}) has no close CIPD activity kind; recorded as a "
                "teaching session",
            )
        return kind

    def read_sequence(  # noqa: PLR0912, PLR0915 - blocks, their nesting, timing and references
        self,
        sequence: ET.Element | None,
        events: Mapping[str, URIRef | None],
        outcomes: Mapping[str, URIRef],
    ) -> None:
        if sequence is None:
            return
        blocks: dict[str, _Block] = {}

        def collect(el: ET.Element, parent: _Block | None) -> None:
            ident = el.get("id")
            record = (
                f"SequenceBlock {ident}" if ident else f"SequenceBlock (line {self.lines.get(el)})"
            )
            if not ident:
                self.bad(el, record, "@id", "a sequence block needs an id")
                return
            if ident in blocks:
                self.bad(el, record, "@id", "the id is used by another sequence block")
                return
            module_id = _own_id(ident) if self.ours else f"{self.programme_id}-{slug(ident)}"
            block = _Block(el, ident, self.mapper.module(module_id), nested=parent is not None)
            if parent is not None:
                self.warn(
                    el,
                    record,
                    "SequenceBlock",
                    "a block nested in a block, which Curriculum Inventory v1 does not allow "
                    "(it lists blocks flat and links them with SequenceBlockReference); read as "
                    "a sub-module",
                )
            blocks[ident] = block
            if parent is not None:
                parent.children.append(ident)
            for child in el.findall(_q(CI, "SequenceBlock")):
                collect(child, block)

        for el in sequence.findall(_q(CI, "SequenceBlock")):
            collect(el, None)
        # children named by reference (the flat form Ilios writes)
        for block in list(blocks.values()):
            for ref in block.element.findall(_q(CI, "SequenceBlockReference")):
                match = _ID_REF.search(ref.text or "")
                if match is None or match.group(1) not in blocks:
                    self.bad(
                        ref,
                        f"SequenceBlock {block.ident}",
                        "SequenceBlockReference",
                        f"refers to an unknown sequence block: {(ref.text or '').strip()!r}",
                    )
                    continue
                child = blocks[match.group(1)]
                child.nested = True
                if child.ident not in block.children:
                    block.children.append(child.ident)
        g = self.graph
        for block in blocks.values():
            el, record = block.element, f"SequenceBlock {block.ident}"
            title = self.text(el, record, _q(CI, "Title"))
            module = block.iri
            defined = not self.stored(module, CIPD.Module)
            if title and defined:
                self.note(module, el, record)
                g.add((module, RDF.type, CIPD.Module))
                g.add((module, DCTERMS.identifier, Literal(str(module).rsplit("/", 1)[-1])))
                g.add((module, RDFS.label, Literal(title)))
                g.add((module, SCHEMA.provider, self.org))
                description = self.text(el, record, _q(CI, "Description"), required=False)
                if description:
                    g.add((module, DCTERMS.description, Literal(description)))
            self.timing(el, record, module if defined else None)
            if not block.nested:
                g.add((self.programme, SCHEMA.hasCourse, module))
            for child_id in block.children:
                g.add((module, CIPD.hasSubModule, blocks[child_id].iri))
            for outcome in self.outcome_refs(el, record, outcomes):
                g.add((module, CIPD.hasLearningOutcome, outcome))
            for item in el.findall(_q(CI, "SequenceBlockEvent")):
                event_ref = item.find(_q(CI, "EventReference"))
                match = _ID_REF.search(event_ref.text or "") if event_ref is not None else None
                if match is None or match.group(1) not in events:
                    text = (event_ref.text or "").strip() if event_ref is not None else ""
                    self.bad(
                        item,
                        record,
                        "SequenceBlockEvent/EventReference",
                        f"refers to an unknown event: {text!r}",
                    )
                    continue
                event = events[match.group(1)]
                self.placed.add(match.group(1))
                if event is not None:
                    g.add((event, CIPD.partOfModule, module))
                start = item.find(_q(CI, "StartDate"))
                day = _date(start.text or "") if start is not None else None
                if start is not None and day is None:
                    self.bad(
                        start,
                        record,
                        "SequenceBlockEvent/StartDate",
                        f"must be a date (YYYY-MM-DD), got {(start.text or '').strip()!r}",
                    )
                elif day is not None:
                    self.event_days.setdefault(match.group(1), set()).add(day)

    def timing(self, el: ET.Element, record: str, module: URIRef | None) -> None:
        timing = el.find(_q(CI, "Timing"))
        if timing is None:
            self.warn(
                el,
                record,
                "Timing",
                "no Timing (the schema requires a Duration or Dates); the module is recorded without one",
            )
            return
        duration = timing.find(_q(CI, "Duration"))
        dates = timing.find(_q(CI, "Dates"))
        if duration is None and dates is None:
            self.bad(timing, record, "Timing", "needs a Duration or Dates")
        if duration is not None:
            text = (duration.text or "").strip()
            if not _DURATION.match(text):
                self.bad(
                    duration,
                    record,
                    "Timing/Duration",
                    f"must be an xs:duration such as P10D, got {text!r}",
                )
            elif _zero(text):  # this tool writes P0D for a module without timing
                if not self.ours:
                    self.warn(
                        duration,
                        record,
                        "Timing/Duration",
                        "a zero duration is read as not recorded",
                    )
            elif module is not None:
                self.graph.add((module, SCHEMA.timeRequired, Literal(text, datatype=XSD.duration)))
        if dates is not None:
            start = self.text(dates, record, _q(CI, "StartDate"))
            end = self.text(dates, record, _q(CI, "EndDate"))
            parsed = [(_date(start) if start else None), (_date(end) if end else None)]
            for given, day, name in ((start, parsed[0], "StartDate"), (end, parsed[1], "EndDate")):
                if given and day is None:
                    self.bad(
                        dates,
                        record,
                        f"Timing/Dates/{name}",
                        f"must be a date (YYYY-MM-DD), got {given!r}",
                    )
            if parsed[0] and parsed[1] and parsed[0] > parsed[1]:
                self.bad(dates, record, "Timing/Dates", "the start date is after the end date")
            elif module is not None and parsed[0] and parsed[1]:
                self.graph.add(
                    (module, SCHEMA.startDate, Literal(parsed[0].isoformat(), datatype=XSD.date))
                )
                self.graph.add(
                    (module, SCHEMA.endDate, Literal(parsed[1].isoformat(), datatype=XSD.date))
                )


_DURATION_PARTS = re.compile(
    r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$"
)


def duration_minutes(text: str) -> int | None:
    """The minutes of an xs:duration, or None when it counts years or months (no fixed length).

    >>> duration_minutes("PT90M"), duration_minutes("P1DT2H"), duration_minutes("P1M")
    (90, 1560, None)
    """
    match = _DURATION_PARTS.match(text.strip())
    if match is None:
        return None
    years, months, days, hours, minutes, seconds = match.groups()
    if years or months:
        return None
    total = int(days or 0) * 1440 + int(hours or 0) * 60 + int(minutes or 0)
    return total + round(float(seconds or 0) / 60)


def event_duration(minutes: int) -> str:
    """Minutes in the form EventDuration allows (``PT\\d+H\\d+M|PT\\d+H|PT\\d+M``).

    >>> event_duration(90), event_duration(120), event_duration(45), event_duration(0)
    ('PT1H30M', 'PT2H', 'PT45M', 'PT0M')
    """
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"PT{hours}H{rest}M"
    return f"PT{hours}H" if hours else f"PT{rest}M"


def _zero(duration: str) -> bool:
    return not any(c in "123456789" for c in duration)


def _own_id(ident: str) -> str:
    """An id from a report this tool wrote, kept as it is when it is safe in an IRI, else a slug."""
    return ident if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", ident) else slug(ident)


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return None


def read_curriculum_inventory(path: Path, mapper: Mapper) -> MappedFile:
    """Map a Curriculum Inventory report to a programme, modules, planned activities and outcomes."""
    data, sha = read_bytes(path)
    root, lines = parse_xml(data, path)
    reader = _Reader(path, mapper, root, lines)
    reader.read()
    if reader.problems:
        raise RecordError(reader.problems)
    out = MappedFile(
        RecordFile(path, "curriculum-inventory", tuple(reader.located), sha256=sha),
        reader.graph,
        Graph(),
    )
    out.records.update(reader.records)
    out.warnings.extend(reader.warnings)
    return out


# --------------------------------------------------------------------------- writing

_PROGRAMME = """
SELECT ?label ?org ?orgId ?orgLabel WHERE {
  #+ bind
  ?programme a cipd:Programme ; rdfs:label ?label ; schema:provider ?org .
  ?org rdfs:label ?orgLabel . OPTIONAL { ?org dcterms:identifier ?orgId }
}
"""
_MODULES = """
SELECT DISTINCT ?m ?id ?label ?description ?duration ?start ?end WHERE {
  #+ bind
  ?programme schema:hasCourse/cipd:hasSubModule* ?m .
  ?m a cipd:Module ; rdfs:label ?label .
  OPTIONAL { ?m dcterms:identifier ?id }
  OPTIONAL { ?m dcterms:description ?description }
  OPTIONAL { ?m schema:timeRequired ?duration }
  OPTIONAL { ?m schema:startDate ?start ; schema:endDate ?end }
}
"""
_CHILDREN = """
SELECT DISTINCT ?parent ?m WHERE {
  #+ bind
  ?programme schema:hasCourse/cipd:hasSubModule* ?parent . ?parent cipd:hasSubModule ?m .
}
"""
_EVENTS = """
SELECT DISTINCT ?a ?label ?kind ?declared ?ipl ?description ?duration ?date WHERE {
  #+ bind
  { ?programme schema:hasCourse/cipd:hasSubModule* ?m . ?a cipd:partOfModule ?m }
  UNION { ?programme dcterms:hasPart ?a }
  ?a a cipd:LearningActivity ; rdfs:label ?label ; cipd:activityKind ?kind .
  BIND(EXISTS { ?a cipd:declaredInterprofessional true }
       || EXISTS { GRAPH ?src { ?a a cipd:InterprofessionalLearningActivity } FILTER(!STRSTARTS(STR(?src), STR(?inferred))) } AS ?ipl)
  OPTIONAL { ?a cipd:declaredInterprofessional ?declared }
  OPTIONAL { ?a dcterms:description ?description }
  OPTIONAL { ?a schema:timeRequired ?duration }
  OPTIONAL { ?a dcterms:date ?date }
}
"""
_LINKS = """
SELECT DISTINCT ?s ?p ?o WHERE {
  #+ bind
  { ?programme schema:hasCourse/cipd:hasSubModule* ?s .
    { ?s cipd:hasLearningOutcome ?o . BIND(cipd:hasLearningOutcome AS ?p) }
    UNION { ?s cipd:hasMapping/cipd:mapsToElement ?o . BIND(cipd:mapsToElement AS ?p) } }
  UNION
  { ?programme schema:hasCourse/cipd:hasSubModule* ?m .
    ?s cipd:partOfModule ?m ; ?p ?o .
    VALUES ?p { cipd:hasLearningOutcome schema:keywords cipd:partOfModule } }
  UNION
  { ?programme dcterms:hasPart ?s . ?s ?p ?o .
    VALUES ?p { cipd:hasLearningOutcome schema:keywords } }
}
"""
_OUTCOMES = """
SELECT DISTINCT ?o ?entry ?label ?description ?keyword WHERE {
  #+ bind
  { ?programme schema:hasCourse/cipd:hasSubModule* ?m . ?m cipd:hasLearningOutcome ?o }
  UNION { ?programme schema:hasCourse/cipd:hasSubModule* ?m . ?a cipd:partOfModule ?m .
          ?a cipd:hasLearningOutcome ?o }
  UNION { ?programme schema:teaches ?o }
  UNION { ?programme dcterms:hasPart ?e . ?e cipd:hasLearningOutcome ?o }
  ?o rdfs:label ?label .
  OPTIONAL { ?o dcterms:description ?description }
  OPTIONAL { ?o schema:keywords ?keyword }
  OPTIONAL { ?o dcterms:identifier ?entry }
}
"""
_ITEMS = """
SELECT DISTINCT ?e ?label WHERE {
  #+ bind
  ?programme schema:hasCourse/cipd:hasSubModule* ?m .
  ?m cipd:hasMapping/cipd:mapsToElement ?e . ?e a cipd:FrameworkItem ; skos:prefLabel ?label .
}
"""


def _sub(
    parent: ET.Element, ns: str, name: str, text: str | None = None, **attrs: str
) -> ET.Element:
    el = ET.SubElement(parent, _q(ns, name), dict(attrs))
    if text is not None:
        el.text = text
    return el


def _event_id(store: GraphStore, iri: str) -> str:
    ident = iri.removeprefix(store.base).replace("/", ".")
    if iri.startswith(store.base) and _NCNAME.match(ident):
        return ident
    return "E" + short_hash(iri)


def _grouped(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, str]]:
    """Rows grouped by ``key``, each column the least of its values (one value per column,
    whatever the order of the rows or repeated values in several graphs)."""
    out: dict[str, dict[str, str]] = {}
    for row in rows:
        found = out.setdefault(str(value(row, key)), {})
        for name in row:
            text = value(row, name)
            if text is not None and (name not in found or text < found[name]):
                found[name] = text
    return out


@dataclass
class _Expectation:
    entry: str
    label: str
    description: str | None = None
    keywords: list[str] = field(default_factory=list)


def _expectations(
    store: GraphStore, node: ox.NamedNode, links: list[dict[str, Any]]
) -> dict[str, _Expectation]:
    """Competency objects by the IRI they stand for: the programme's learning outcomes, and
    the model elements and framework items its modules are mapped to (entry: their IRI).
    Two IRIs with one entry (an outcome imported from a report that listed a mapped element)
    share one object."""
    found: dict[str, _Expectation] = {}
    by_entry: dict[str, _Expectation] = {}

    def add(iri: str, expectation: _Expectation) -> None:
        found[iri] = by_entry.setdefault(expectation.entry, expectation)

    keywords: dict[str, set[str]] = {}
    rows = select(store, _OUTCOMES, programme=node)
    for row in rows:
        if value(row, "keyword"):
            keywords.setdefault(str(value(row, "o")), set()).add(str(value(row, "keyword")))
    for iri, row in sorted(_grouped(rows, "o").items()):
        words = sorted(keywords.get(iri, ()))
        add(iri, _Expectation(row.get("entry", iri), row["label"], row.get("description"), words))
    for row in links:
        element = str(value(row, "o"))
        if value(row, "p") != str(CIPD.mapsToElement) or element in found:
            continue
        try:
            e = store.model.element(element)
        except KeyError:
            continue
        add(element, _Expectation(element, e.label, e.definition))
    for iri, row in sorted(_grouped(select(store, _ITEMS, programme=node), "e").items()):
        if iri not in found:
            add(iri, _Expectation(iri, row["label"]))
    return found


def _report_dates(store: GraphStore, dates: list[str]) -> tuple[str, str]:
    """The reporting period: the earliest and latest date of the programme's modules and
    activities; without any, the day the ontology was last modified (a fixed value, so that
    an export is the same bytes however often and wherever it is made)."""
    if dates:
        return min(dates), max(dates)
    modified = [str(o) for o in store.model.graph.objects(ONTOLOGY_IRI, DCTERMS.modified)]
    day = max(modified) if modified else "2026-01-01"
    return day, day


def write_curriculum_inventory(store: GraphStore, options: Mapping[str, str]) -> bytes:  # noqa: PLR0912, PLR0915
    """One programme as a Curriculum Inventory v1 report (valid against the official XSD)."""
    base = store.base
    key = options["programme"]
    iri = key if key.startswith(base) else base + "programme/" + key
    try:
        node = ox.NamedNode(iri)
    except ValueError as exc:
        raise FormatError(f"export curriculum-inventory: programme={key!r} is not an id") from exc
    heads = _grouped(select(store, _PROGRAMME, programme=node), "org")
    if not heads:
        raise FormatError(f"export curriculum-inventory: no programme {key!r} is loaded")
    org_iri, head = min(heads.items())
    programme_id = iri.removeprefix(base + "programme/")
    label = head["label"]

    modules = _grouped(select(store, _MODULES, programme=node), "m")
    children: dict[str, set[str]] = {}
    for row in select(store, _CHILDREN, programme=node):
        children.setdefault(str(value(row, "parent")), set()).add(str(value(row, "m")))
    links: dict[str, dict[str, set[str]]] = {}
    link_rows = select(store, _LINKS, programme=node)
    for row in link_rows:
        links.setdefault(str(value(row, "s")), {}).setdefault(str(value(row, "p")), set()).add(
            str(value(row, "o"))
        )
    events = _grouped(
        select(store, _EVENTS, programme=node, inferred=ox.NamedNode(store.layout.derived_prefix)),
        "a",
    )
    if not events:
        raise FormatError(
            f"export curriculum-inventory: programme {key!r} has no learning activity in its "
            "modules; a Curriculum Inventory report lists at least one event"
        )
    expectations = _expectations(store, node, link_rows)
    if not expectations:
        raise FormatError(
            f"export curriculum-inventory: programme {key!r} has no learning outcomes and no "
            "module mappings; a Curriculum Inventory report lists at least one competency object"
        )
    event_ids = {a: _event_id(store, a) for a in events}
    in_module: dict[str, list[str]] = {}
    for activity in events:
        for module in links.get(activity, {}).get(str(CIPD.partOfModule), ()):
            in_module.setdefault(module, []).append(activity)

    def written(module: str, seen: frozenset[str] = frozenset()) -> bool:
        if module in seen:
            return False
        return bool(in_module.get(module)) or any(
            written(child, seen | {module}) for child in children.get(module, ())
        )

    blocks = {m: row for m, row in modules.items() if written(m)}
    block_ids = {m: row.get("id") or m.rsplit("/", 1)[-1] for m, row in blocks.items()}
    dates = [d for row in events.values() if (d := row.get("date"))]
    dates += [row[k] for row in blocks.values() for k in ("start", "end") if k in row]
    start, end = _report_dates(store, dates)

    for prefix, uri in NAMESPACES.items():
        ET.register_namespace(prefix, uri)
    ET.register_namespace("cipd", CIPD_XML)
    root = ET.Element(_q(CI, "CurriculumInventory"))
    root.set(_q(NAMESPACES["xsi"], "schemaLocation"), f"{CI} curriculuminventory.xsd")
    host = urlparse(base).netloc
    _sub(root, CI, "ReportID", programme_id, domain=f"idd:{host}:cipd-graph")
    institution = _sub(root, CI, "Institution")
    _sub(institution, MEMBER, "InstitutionName", head["orgLabel"])
    _sub(
        institution,
        MEMBER,
        "InstitutionID",
        head.get("orgId") or org_iri.rsplit("/", 1)[-1],
        domain=f"idd:{host}:institution",
    )
    program = _sub(root, CI, "Program")
    _sub(program, CI, "ProgramName", label)
    _sub(program, CI, "ProgramID", programme_id, domain=f"idd:{host}:program")
    _sub(root, CI, "Title", f"Curriculum inventory of {label}")
    _sub(root, CI, "ReportDate", end)
    _sub(root, CI, "ReportingStartDate", start)
    _sub(root, CI, "ReportingEndDate", end)
    _sub(root, CI, "Language", "en-GB")
    _sub(root, CI, "Description", f"{label}, exported by cipd-graph")
    _sub(root, CI, "SupportingLink", iri)

    def outcome_refs(parent: ET.Element, subject: str) -> None:
        found = links.get(subject, {})
        targets = found.get(str(CIPD.hasLearningOutcome), set()) | found.get(
            str(CIPD.mapsToElement), set()
        )
        for entry in sorted({expectations[t].entry for t in targets if t in expectations}):
            _sub(
                parent,
                CI,
                "CompetencyObjectReference",
                "/CurriculumInventory/Expectations/CompetencyObject"
                f"[lom:lom/lom:general/lom:identifier/lom:entry='{entry}']",
            )

    events_el = _sub(root, CI, "Events")
    kinds: list[tuple[str, str]] = []
    for activity in sorted(events, key=event_ids.__getitem__):
        row, ident = events[activity], event_ids[activity]
        event = _sub(events_el, CI, "Event", id=ident)
        _sub(event, CI, "Title", row["label"])
        minutes = duration_minutes(row.get("duration", ""))
        _sub(event, CI, "EventDuration", event_duration(minutes or 0))
        if row.get("description"):
            _sub(event, CI, "Description", row["description"])
        for keyword in sorted(links.get(activity, {}).get(str(SCHEMA.keywords), ())):
            _sub(_sub(event, CI, "Keyword"), HX, "string", keyword)
        # the declaration as the records give it (optional in v1): false stays false, and
        # an event that declares nothing is written without the element, as it came
        if row.get("declared") is not None:
            _sub(event, CI, "Interprofessional", row["declared"])
        elif row["ipl"] == "true":
            _sub(event, CI, "Interprofessional", "true")
        outcome_refs(event, activity)
        kind = URIRef(row["kind"])
        code = METHOD_OF_KIND.get(kind, "IM013")
        _sub(
            event,
            CI,
            "InstructionalMethod",
            _METHOD_NAMES[code],
            primary="true",
            source="AAMC",
            sourceID=code,
        )
        if KIND_OF_METHOD[_method_key(code)][1] != kind:
            kinds.append((ident, str(kind)))

    expectations_el = _sub(root, CI, "Expectations")
    for info in sorted({e.entry: e for e in expectations.values()}.values(), key=lambda e: e.entry):
        general = _sub(
            _sub(_sub(expectations_el, CI, "CompetencyObject"), LOM, "lom"), LOM, "general"
        )
        identifier = _sub(general, LOM, "identifier")
        _sub(identifier, LOM, "catalog", "URI")
        _sub(identifier, LOM, "entry", info.entry)
        _sub(_sub(general, LOM, "title"), LOM, "string", info.label)
        if info.description:
            _sub(_sub(general, LOM, "description"), LOM, "string", info.description)
        for keyword in info.keywords:
            _sub(_sub(general, LOM, "keyword"), LOM, "string", keyword)

    levels = _sub(root, CI, "AcademicLevels")
    _sub(levels, CI, "LevelsInProgram", "1")
    _sub(_sub(levels, CI, "Level", number="1"), CI, "Label", "Level 1")

    sequence = _sub(root, CI, "Sequence")
    left_out = sorted(m.rsplit("/", 1)[-1] for m in modules if m not in blocks)
    if left_out:
        sequence.append(
            ET.Comment(
                " modules left out (no learning activity in them or their sub-modules): "
                + ", ".join(left_out).replace("--", "- -")
                + " "
            )
        )
    for module in sorted(blocks, key=block_ids.__getitem__):
        row = blocks[module]
        el = _sub(sequence, CI, "SequenceBlock", id=block_ids[module], required="Required")
        _sub(el, CI, "Title", row["label"])
        if row.get("description"):
            _sub(el, CI, "Description", row["description"])
        timing = _sub(el, CI, "Timing")
        if row.get("duration") or not row.get("start"):
            _sub(timing, CI, "Duration", row.get("duration", "P0D"))
        if row.get("start") and row.get("end"):
            dates_el = _sub(timing, CI, "Dates")
            _sub(dates_el, CI, "StartDate", row["start"])
            _sub(dates_el, CI, "EndDate", row["end"])
        _sub(el, CI, "Level", "/CurriculumInventory/AcademicLevels/Level[@number='1']")
        outcome_refs(el, module)
        for activity in sorted(in_module.get(module, ()), key=event_ids.__getitem__):
            ref = _sub(el, CI, "SequenceBlockEvent", required="true")
            _sub(
                ref,
                CI,
                "EventReference",
                f"/CurriculumInventory/Events/Event[@id='{event_ids[activity]}']",
            )
            day = events[activity].get("date")
            if day:
                _sub(ref, CI, "StartDate", day)
                _sub(ref, CI, "EndDate", day)
        for child in sorted(
            (c for c in children.get(module, ()) if c in blocks), key=block_ids.__getitem__
        ):
            _sub(
                el,
                CI,
                "SequenceBlockReference",
                f"/CurriculumInventory/Sequence/SequenceBlock[@id='{block_ids[child]}']",
            )
    for ident, kind_iri in kinds:
        _sub(root, CIPD_XML, "activityKind", kind_iri, event=ident)
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"


FORMAT = register(
    Format(
        name="curriculum-inventory",
        title="MedBiquitous Curriculum Inventory v1 (XML)",
        media_type="application/xml",
        suffix=".xml",
        reader=read_curriculum_inventory,
        writer=write_curriculum_inventory,
        read_suffixes=(".xml",),
        options=(Option("programme", "the programme to report (id or IRI)", required=True),),
        limits=(
            "participants, dates, projects and CAIPE modes of activities (CI describes the plan, "
            "not who took part); module codes, credits and model-element mappings; academic levels, "
            "clerkship models, resource types, assessment methods and events, integration blocks, "
            "competency frameworks, keyword sources/ids, addresses; mapping strengths (mapped "
            "elements are written as competency objects); activities without a recorded duration "
            "and modules without timing are written with PT0M/P0D (read back as not recorded); "
            "modules without any activity are left out (named in an XML comment)"
        ),
        specification="http://ns.medbiq.org/curriculuminventory/v1/curriculuminventory.xsd",
    )
)
