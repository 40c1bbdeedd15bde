"""MedBiquitous Curriculum Inventory (v1 XML): programmes, modules, planned sessions, outcomes.

Import maps a Curriculum Inventory report (as AAMC CI submissions and Ilios exports write it):

- ``Institution`` -> the educational institution (referenced when already loaded, else defined);
- ``Program`` -> the programme; ``Sequence/SequenceBlock`` -> modules of the programme (nested
  blocks, written nested or through ``SequenceBlockReference``, become sub-modules);
- ``Events/Event`` -> planned learning activities (``cipd:PlannedLearningActivity``): title,
  description, ``EventDuration``, ``Keyword``s, the primary ``InstructionalMethod`` as the activity
  kind, ``Interprofessional`` true as an interprofessional learning activity, and the blocks that
  reference it (``SequenceBlockEvent``) as its modules;
- ``Expectations/CompetencyObject`` -> learning outcomes (LOM identifier, title, description,
  keywords), linked from the events and blocks that reference them.

The XML is parsed with the standard library's expat with every DTD refused (no DOCTYPE, no
entity declarations): XXE and entity-expansion attacks fail with a clear error.

Export writes one programme (``programme=ID``) as a Curriculum Inventory report, so that the
report read back gives the same modules, planned activities and outcomes.
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
from cipd_graph._ontology import CIPD
from cipd_graph.graph import GraphStore
from cipd_graph.interop import Format, FormatError, Option, register
from cipd_graph.interop._common import (
    PREFIXES,
    problem,
    read_bytes,
    select,
    short_hash,
    slug,
    value,
)
from cipd_graph.mapping.mapper import SCHEMA, MappedFile, Mapper
from cipd_graph.records.parse import Located, RecordFile

CI = "http://ns.medbiq.org/curriculuminventory/v1/"
MEMBER = "http://ns.medbiq.org/member/v1/"
LOM = "http://ltsc.ieee.org/xsd/LOM"
HX = "http://ns.medbiq.org/lom/extend/v1/"
CO = "http://ns.medbiq.org/competencyobject/v1/"
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

#: Activity kind -> the AAMC standardized instructional method written on export (and read back).
METHOD_OF_KIND = {
    CIPD.CaseReview: ("IM001", "Case-Based Instruction/Learning"),
    CIPD.ActionLearningSetMeeting: ("IM008", "Discussion, Small Group"),
    CIPD.TeachingSession: ("IM013", "Lecture"),
    CIPD.Coaching: ("IM014", "Mentorship"),
    CIPD.ELearning: ("IM023", "Self-Directed Learning"),
    CIPD.Simulation: ("IM025", "Simulation"),
    CIPD.TeamHuddle: ("IM027", "Team-Building"),
    CIPD.Workshop: ("IM030", "Workshop"),
}
#: Instructional methods (code or name, any case) -> activity kind, on import.
KIND_OF_METHOD: dict[str, URIRef] = {
    **{code.lower(): kind for kind, (code, _) in METHOD_OF_KIND.items()},
    **{name.lower(): kind for kind, (_, name) in METHOD_OF_KIND.items()},
    "im007": CIPD.TeachingSession,  # discussion, large group
    "im010": CIPD.ELearning,  # independent learning
    "im018": CIPD.Coaching,  # preceptorship
    "im019": CIPD.CaseReview,  # problem-based learning
    "im026": CIPD.Workshop,  # team-based learning
    "im028": CIPD.TeachingSession,  # tutorial
    "im029": CIPD.CaseReview,  # ward rounds
}

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

    def start(tag: str, attrs: dict[str, str]) -> None:
        element = builder.start(name(tag), {name(k): v for k, v in attrs.items()})
        lines[element] = parser.CurrentLineNumber

    def refuse(*_: object) -> None:
        raise _RefusedError("the document declares a DTD (DOCTYPE or entities), which is refused")

    parser.StartElementHandler = start
    parser.EndElementHandler = lambda tag: builder.end(name(tag))
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
    def read(self) -> None:
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
        institution_el = root.find(_q(MEMBER, "Institution"))
        if institution_el is None:
            institution_el = root.find(_q(CI, "Institution"))
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

        outcomes = self.read_outcomes(root.find(_q(CI, "Expectations")))
        events = self.read_events(root.find(_q(CI, "Events")), outcomes)
        self.read_sequence(root.find(_q(CI, "Sequence")), events, outcomes)

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
                self.bad(
                    ref,
                    record,
                    "CompetencyObjectReference",
                    f"refers to the unknown competency object {match.group(1)!r} (not in Expectations)",
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

    def read_events(  # noqa: PLR0912, PLR0915 - one pass over each event's elements
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
            duration = self.text(el, record, _q(CI, "EventDuration"), required=False)
            if duration is None:
                self.warn(
                    el,
                    record,
                    "EventDuration",
                    "no EventDuration (the schema requires one); the activity is recorded without a duration",
                )
            elif not _DURATION.match(duration):
                self.bad(
                    el.find(_q(CI, "EventDuration")),
                    record,
                    "EventDuration",
                    f"must be an xs:duration such as PT90M, got {duration!r}",
                )
                duration = None
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
            method = (primary.text or "").strip()
            kind = KIND_OF_METHOD.get(method.lower())
            if kind is None:
                kind = CIPD.TeachingSession
                self.warn(
                    primary,
                    record,
                    "InstructionalMethod",
                    f"no activity kind for the instructional method {method!r}; recorded as a teaching session",
                )
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
            g.add((iri, RDF.type, CIPD.LearningActivity))
            g.add((iri, RDF.type, CIPD.PlannedLearningActivity))
            if flag is not None and flag.lower() in ("true", "1"):
                g.add((iri, RDF.type, CIPD.InterprofessionalLearningActivity))
            g.add((iri, RDFS.label, Literal(title)))
            g.add((iri, CIPD.activityKind, kind))
            if duration:
                g.add((iri, SCHEMA.timeRequired, Literal(duration, datatype=XSD.duration)))
            description = self.text(el, record, _q(CI, "Description"), required=False)
            if description:
                g.add((iri, DCTERMS.description, Literal(description)))
        return found

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
                if event is not None:
                    g.add((event, CIPD.partOfModule, module))

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

_PROGRAMME = (
    PREFIXES
    + """
SELECT ?label ?org ?orgId ?orgLabel WHERE {
  #+ bind
  ?programme a cipd:Programme ; rdfs:label ?label ; schema:provider ?org .
  ?org rdfs:label ?orgLabel . OPTIONAL { ?org dcterms:identifier ?orgId }
} LIMIT 1
"""
)
_MODULES = (
    PREFIXES
    + """
SELECT ?m ?parent ?id ?label ?description ?duration ?start ?end WHERE {
  #+ bind
  { ?programme schema:hasCourse ?m } UNION { ?programme schema:hasCourse/cipd:hasSubModule+ ?m .
    ?parent cipd:hasSubModule ?m }
  ?m a cipd:Module ; rdfs:label ?label .
  OPTIONAL { ?m dcterms:identifier ?id }
  OPTIONAL { ?m dcterms:description ?description }
  OPTIONAL { ?m schema:timeRequired ?duration }
  OPTIONAL { ?m schema:startDate ?start ; schema:endDate ?end }
} ORDER BY ?m
"""
)
_EVENTS = (
    PREFIXES
    + """
SELECT DISTINCT ?a ?label ?kind ?ipl ?description ?duration WHERE {
  #+ bind
  ?programme schema:hasCourse/cipd:hasSubModule* ?m .
  ?a a cipd:LearningActivity ; cipd:partOfModule ?m ; rdfs:label ?label ; cipd:activityKind ?kind .
  BIND(EXISTS { ?a cipd:declaredInterprofessional true } || EXISTS { GRAPH ?src { ?a a cipd:InterprofessionalLearningActivity } FILTER(!STRSTARTS(STR(?src), STR(?inferred))) } AS ?ipl)
  OPTIONAL { ?a dcterms:description ?description }
  OPTIONAL { ?a schema:timeRequired ?duration }
} ORDER BY ?a
"""
)
_LINKS = (
    PREFIXES
    + """
SELECT DISTINCT ?s ?p ?o WHERE {
  #+ bind
  ?programme schema:hasCourse/cipd:hasSubModule* ?m .
  { BIND(?m AS ?s) ?s ?p ?o . VALUES ?p { cipd:hasLearningOutcome } }
  UNION { ?s cipd:partOfModule ?m ; ?p ?o . VALUES ?p { cipd:hasLearningOutcome schema:keywords cipd:partOfModule } }
} ORDER BY ?s ?p ?o
"""
)
_OUTCOMES = (
    PREFIXES
    + """
SELECT DISTINCT ?o ?entry ?label ?description ?keyword WHERE {
  #+ bind
  ?programme schema:hasCourse/cipd:hasSubModule* ?m .
  { ?m cipd:hasLearningOutcome ?o } UNION { ?a cipd:partOfModule ?m ; cipd:hasLearningOutcome ?o }
  ?o rdfs:label ?label .
  OPTIONAL { ?o dcterms:description ?description }
  OPTIONAL { ?o schema:keywords ?keyword }
  OPTIONAL { ?o dcterms:identifier ?entry }
} ORDER BY ?o ?keyword
"""
)


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


def write_curriculum_inventory(store: GraphStore, options: Mapping[str, str]) -> bytes:  # noqa: PLR0912, PLR0915
    """One programme as a Curriculum Inventory v1 report."""
    base = store.base
    key = options["programme"]
    iri = key if key.startswith(base) else base + "programme/" + key
    node = ox.NamedNode(iri)
    head = select(store, _PROGRAMME, programme=node)
    if not head:
        raise FormatError(f"export curriculum-inventory: no programme {key!r} is loaded")
    programme_id = iri.removeprefix(base + "programme/")
    org_iri = str(value(head[0], "org"))
    for prefix, uri in NAMESPACES.items():
        ET.register_namespace(prefix, uri)
    root = ET.Element(_q(CI, "CurriculumInventory"))
    root.set(_q(NAMESPACES["xsi"], "schemaLocation"), f"{CI} curriculuminventory.xsd")
    host = urlparse(base).netloc
    _sub(root, CI, "ReportID", programme_id, domain=f"idd:{host}:cipd-graph")
    institution = _sub(root, MEMBER, "Institution")
    _sub(institution, MEMBER, "InstitutionName", value(head[0], "orgLabel"))
    _sub(
        institution,
        MEMBER,
        "InstitutionID",
        value(head[0], "orgId") or org_iri.rsplit("/", 1)[-1],
        domain=f"idd:{host}:institution",
    )
    program = _sub(root, CI, "Program")
    _sub(program, CI, "ProgramName", value(head[0], "label"))
    _sub(program, CI, "ProgramID", programme_id, domain=f"idd:{host}:program")
    _sub(root, CI, "Title", f"Curriculum inventory of {value(head[0], 'label')}")
    today = dt.date.today().isoformat()
    modules = select(store, _MODULES, programme=node)
    starts = sorted(str(value(m, "start")) for m in modules if value(m, "start"))
    ends = sorted(str(value(m, "end")) for m in modules if value(m, "end"))
    _sub(root, CI, "ReportDate", today)
    _sub(root, CI, "ReportingStartDate", starts[0] if starts else today)
    _sub(root, CI, "ReportingEndDate", ends[-1] if ends else today)
    _sub(root, CI, "Language", "en-GB")
    _sub(root, CI, "Description", f"{value(head[0], 'label')}, exported by cipd-graph")
    _sub(root, CI, "SupportingLink", iri)

    links: dict[str, dict[str, list[str]]] = {}
    for row in select(store, _LINKS, programme=node):
        links.setdefault(str(value(row, "s")), {}).setdefault(str(value(row, "p")), []).append(
            str(value(row, "o"))
        )

    def outcome_ref(parent: ET.Element, outcome: str) -> None:
        entry = (
            "/CurriculumInventory/Expectations/CompetencyObject[lom:lom/lom:general/lom:identifier/lom:entry='"
            + str(entries.get(outcome, outcome))
            + "']"
        )
        _sub(parent, CI, "CompetencyObjectReference", entry)

    outcomes: dict[str, dict[str, Any]] = {}
    entries: dict[str, str] = {}
    for row in select(store, _OUTCOMES, programme=node):
        entry = outcomes.setdefault(
            str(value(row, "o")),
            {
                "entry": value(row, "entry") or value(row, "o"),
                "label": value(row, "label"),
                "description": value(row, "description"),
                "keywords": [],
            },
        )
        entries[str(value(row, "o"))] = str(entry["entry"])
        if value(row, "keyword") and value(row, "keyword") not in entry["keywords"]:
            entry["keywords"].append(value(row, "keyword"))

    events = _sub(root, CI, "Events")
    event_ids: dict[str, str] = {}
    for row in select(
        store, _EVENTS, programme=node, inferred=ox.NamedNode(store.layout.derived_prefix)
    ):
        activity = str(value(row, "a"))
        if activity in event_ids:
            continue
        event_ids[activity] = _event_id(store, activity)
        event = _sub(events, CI, "Event", id=event_ids[activity])
        _sub(event, CI, "Title", value(row, "label"))
        if value(row, "duration"):
            _sub(event, CI, "EventDuration", value(row, "duration"))
        if value(row, "description"):
            _sub(event, CI, "Description", value(row, "description"))
        for keyword in sorted(links.get(activity, {}).get(str(SCHEMA.keywords), [])):
            _sub(_sub(event, CI, "Keyword"), HX, "string", keyword)
        _sub(event, CI, "Interprofessional", "true" if value(row, "ipl") == "true" else "false")
        for outcome in sorted(links.get(activity, {}).get(str(CIPD.hasLearningOutcome), [])):
            outcome_ref(event, outcome)
        code, _name = METHOD_OF_KIND.get(URIRef(str(value(row, "kind"))), ("IM013", "Lecture"))
        _sub(event, CI, "InstructionalMethod", code, primary="true")

    expectations = _sub(root, CI, "Expectations")
    for info in outcomes.values():
        general = _sub(_sub(_sub(expectations, CI, "CompetencyObject"), LOM, "lom"), LOM, "general")
        identifier = _sub(general, LOM, "identifier")
        _sub(identifier, LOM, "catalog", "URI")
        _sub(identifier, LOM, "entry", info["entry"])
        _sub(_sub(general, LOM, "title"), LOM, "string", info["label"])
        if info["description"]:
            _sub(_sub(general, LOM, "description"), LOM, "string", info["description"])
        for keyword in info["keywords"]:
            _sub(_sub(general, LOM, "keyword"), LOM, "string", keyword)

    levels = _sub(root, CI, "AcademicLevels")
    _sub(levels, CI, "LevelsInProgram", "1")
    level = _sub(levels, CI, "Level", number="1")
    _sub(level, CI, "Label", "Level 1")
    sequence = _sub(root, CI, "Sequence")
    by_iri: dict[str, dict[str, Any]] = {}
    children: dict[str, list[str]] = {}
    for row in modules:
        module = str(value(row, "m"))
        by_iri.setdefault(module, row)
        parent = value(row, "parent")
        if parent:
            children.setdefault(parent, [])
            if module not in children[parent]:
                children[parent].append(module)
    nested = {m for kids in children.values() for m in kids}

    def block(parent: ET.Element, module: str) -> None:
        row = by_iri[module]
        el = _sub(
            parent,
            CI,
            "SequenceBlock",
            id=value(row, "id") or module.rsplit("/", 1)[-1],
            required="Required",
        )
        _sub(el, CI, "Title", value(row, "label"))
        if value(row, "description"):
            _sub(el, CI, "Description", value(row, "description"))
        if value(row, "duration") or value(row, "start"):
            timing = _sub(el, CI, "Timing")
            if value(row, "duration"):
                _sub(timing, CI, "Duration", value(row, "duration"))
            if value(row, "start"):
                dates = _sub(timing, CI, "Dates")
                _sub(dates, CI, "StartDate", value(row, "start"))
                _sub(dates, CI, "EndDate", value(row, "end"))
        _sub(el, CI, "Level", "/CurriculumInventory/AcademicLevels/Level[@number='1']")
        for outcome in sorted(links.get(module, {}).get(str(CIPD.hasLearningOutcome), [])):
            outcome_ref(el, outcome)
        for activity, ident in event_ids.items():
            if module in links.get(activity, {}).get(str(CIPD.partOfModule), []):
                ref = _sub(el, CI, "SequenceBlockEvent", required="true")
                _sub(ref, CI, "EventReference", f"/CurriculumInventory/Events/Event[@id='{ident}']")
        for child in sorted(children.get(module, [])):
            block(el, child)

    for module in sorted(m for m in by_iri if m not in nested):
        block(sequence, module)
    _sub(root, CI, "Integration")
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
            "competency frameworks, keyword sources/ids, addresses; activities without a recorded "
            "duration and modules without timing are written without EventDuration/Timing"
        ),
        specification="http://ns.medbiq.org/curriculuminventory/v1/curriculuminventory.xsd",
    )
)
