"""xAPI (Experience API) statements: learning activities, who took part, and reflections.

Import reads statements (a JSON object or array in ``.json``, one statement a line in
``.jsonl``/``.ndjson``) as an LRS would hand them over, and maps them to learning activities:

- the *actor* becomes a pseudonymous person, identified by its IFI only. An ``account`` whose
  ``homePage`` is this graph's ``<base>person/`` is one of ours (what export writes); an
  ``account.name`` that is the id of a person already loaded (``people.csv``) is that person;
  any other IFI is pseudonymised with the store's key (``mbox`` is first reduced to its
  ``mbox_sha1sum`` so that both forms give the same person). Names and e-mail addresses are
  never stored. A Group actor stands for its members.
- the *verb* says what the statement records: taking part (attended, completed, experienced)
  or a reflection (commented, reflected, with ``result.response`` as its text);
- the *object* (an Activity) becomes the learning activity, its kind read from
  ``definition.type`` (CIPD kinds or ADL activity types) or else from the verb; one activity per
  object id and day; an object id that is one of this graph's activities is that activity;
- ``context.contextActivities`` ``grouping``/``parent`` that are this graph's projects, modules
  or PDSA cycles link the activity to them; ``context.team`` that is one of this graph's action
  learning sets links it to the set;
- voiding statements remove the statements they void.

Statements the mapping cannot place are listed as warnings; malformed statements (against the
xAPI statement rules) refuse the whole file with their location.

Export writes the graph's learning activities as xAPI 1.0.3/2.0 statements, one per
participant, with deterministic ids, pseudonymous ``account`` actors and what xAPI cannot say
natively (at work, CAIPE modes, interprofessional) as context extensions under CIPD IRIs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, PROV, RDF, RDFS, XSD

from cipd_graph._errors import RecordError, RecordProblem
from cipd_graph._ontology import CIPD
from cipd_graph.graph import GraphStore
from cipd_graph.interop import Format, FormatError, Option, register
from cipd_graph.interop._common import PREFIXES, problem, read_bytes, select, short_hash, value
from cipd_graph.mapping.mapper import ACTIVITY_KIND, MODE, MappedFile, Mapper
from cipd_graph.records.parse import Located, RecordFile

ADL = "http://adlnet.gov/expapi/verbs/"
VOIDED = ADL + "voided"
#: Verbs that record taking part, with the activity kind used when the object has no known type.
PARTICIPATION = {
    ADL + "attended": CIPD.TeachingSession,
    ADL + "completed": CIPD.ELearning,
    ADL + "experienced": CIPD.ELearning,
}
#: Verbs that record a reflection (``result.response`` is its text).
REFLECTION = {
    ADL + "commented",
    "https://w3id.org/xapi/dod-isd/verbs/reflected",
    "https://w3id.org/xapi/catch/verbs/reflected",
}
ADL_ACTIVITY = "http://adlnet.gov/expapi/activities/"
#: Activity types (``object.definition.type``) and the activity kind each maps to.
ACTIVITY_TYPES: dict[str, URIRef] = {str(k): k for k in ACTIVITY_KIND.values()} | {
    ADL_ACTIVITY + "meeting": CIPD.Workshop,
    ADL_ACTIVITY + "lesson": CIPD.TeachingSession,
    ADL_ACTIVITY + "simulation": CIPD.Simulation,
    ADL_ACTIVITY + "course": CIPD.ELearning,
    ADL_ACTIVITY + "module": CIPD.ELearning,
    ADL_ACTIVITY + "media": CIPD.ELearning,
}
EXT_AT_WORK = str(CIPD.atWork)
EXT_MODES = str(CIPD.hasLearningMode)
EXT_INTERPROFESSIONAL = str(CIPD.InterprofessionalLearningActivity)
#: The namespace of export statement ids (uuid5 of the activity and person IRIs).
STATEMENT_NAMESPACE = uuid.UUID("6f1f3d4e-6a43-5d0b-9c4e-2f1c9b7c2a10")

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_SHA1 = re.compile(r"^[0-9a-f]{40}$", re.I)
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+$")
_IFIS = ("mbox", "mbox_sha1sum", "openid", "account")


# --------------------------------------------------------------------------- statement rules


@dataclass
class _Statement:
    data: dict[str, Any]
    line: int | None
    label: str


class _Checker:
    """Checks statements against the xAPI statement rules, collecting located problems."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[RecordProblem] = []

    def bad(self, st: _Statement, where: str, reason: str) -> None:
        self.problems.append(problem(self.path, st.line, st.label, where, reason))

    def iri(self, st: _Statement, where: str, text: object) -> bool:
        if not isinstance(text, str) or not _IRI.match(text):
            self.bad(st, where, f"must be an IRI, got {text!r}")
            return False
        return True

    def agent(self, st: _Statement, where: str, agent: object, *, group_ok: bool = True) -> None:
        if not isinstance(agent, dict):
            self.bad(st, where, "must be an Agent or Group object")
            return
        kind = agent.get("objectType", "Agent")
        if kind not in ("Agent", "Group") or (kind == "Group" and not group_ok):
            self.bad(st, f"{where}/objectType", f"must be Agent{' or Group' if group_ok else ''}")
            return
        ifis = [k for k in _IFIS if k in agent]
        if kind == "Agent" and len(ifis) != 1:
            self.bad(
                st,
                where,
                f"an Agent has exactly one IFI (mbox, mbox_sha1sum, openid or account), found {len(ifis)}",
            )
        if kind == "Group":
            if len(ifis) > 1:
                self.bad(st, where, f"a Group has at most one IFI, found {len(ifis)}")
            members = agent.get("member")
            if not ifis and (not isinstance(members, list) or not members):
                self.bad(st, f"{where}/member", "an anonymous Group must list its members")
            if members is not None:
                if not isinstance(members, list):
                    self.bad(st, f"{where}/member", "must be an array of Agents")
                else:
                    for i, m in enumerate(members):
                        self.agent(st, f"{where}/member/{i}", m, group_ok=False)
        for key in ifis:
            self.ifi(st, f"{where}/{key}", key, agent[key])

    def ifi(self, st: _Statement, where: str, key: str, ifi: object) -> None:
        if key == "mbox":
            if not isinstance(ifi, str) or not re.match(r"^mailto:[^@\s]+@[^@\s]+$", ifi):
                self.bad(st, where, "an mbox is a mailto: IRI with an e-mail address")
        elif key == "mbox_sha1sum":
            if not isinstance(ifi, str) or not _SHA1.match(ifi):
                self.bad(st, where, "an mbox_sha1sum is 40 hexadecimal digits")
        elif key == "openid":
            self.iri(st, where, ifi)
        elif not isinstance(ifi, dict) or not isinstance(ifi.get("name"), str) or not ifi["name"]:
            self.bad(st, where, "an account has a homePage (IRL) and a name")
        else:
            self.iri(st, f"{where}/homePage", ifi.get("homePage"))

    def timestamp(self, st: _Statement, where: str, text: object) -> None:
        if _parse_time(text) is None:
            self.bad(st, where, f"must be an ISO 8601 timestamp, got {text!r}")

    def statement(self, st: _Statement) -> None:  # noqa: PLR0912 - one check per property
        data = st.data
        for key in ("actor", "verb", "object"):
            if key not in data:
                self.bad(st, key, "required property missing")
        if "id" in data and (not isinstance(data["id"], str) or not _UUID.match(data["id"])):
            self.bad(st, "id", f"must be a UUID, got {data['id']!r}")
        if "actor" in data:
            self.agent(st, "actor", data["actor"])
        verb = data.get("verb")
        if "verb" in data:
            if not isinstance(verb, dict):
                self.bad(st, "verb", "must be an object with an id")
            else:
                self.iri(st, "verb/id", verb.get("id"))
                if "display" in verb and not isinstance(verb["display"], dict):
                    self.bad(st, "verb/display", "must be a language map")
        obj = data.get("object")
        if "object" in data:
            self.check_object(st, obj)
        for key in ("timestamp", "stored"):
            if key in data:
                self.timestamp(st, key, data[key])
        context = data.get("context")
        if context is not None:
            self.context(st, context)
        result = data.get("result")
        if result is not None and not isinstance(result, dict):
            self.bad(st, "result", "must be an object")

    def check_object(self, st: _Statement, obj: object) -> None:
        if not isinstance(obj, dict):
            self.bad(st, "object", "must be an object")
            return
        kind = obj.get("objectType", "Activity")
        if kind == "Activity":
            self.iri(st, "object/id", obj.get("id"))
            definition = obj.get("definition")
            if definition is not None:
                if not isinstance(definition, dict):
                    self.bad(st, "object/definition", "must be an object")
                else:
                    if "type" in definition:
                        self.iri(st, "object/definition/type", definition["type"])
                    for key in ("name", "description"):
                        if key in definition and not isinstance(definition[key], dict):
                            self.bad(st, f"object/definition/{key}", "must be a language map")
        elif kind == "StatementRef":
            ref = obj.get("id")
            if not isinstance(ref, str) or not _UUID.match(ref):
                self.bad(st, "object/id", f"a StatementRef's id must be a UUID, got {ref!r}")
        elif kind in ("Agent", "Group"):
            self.agent(st, "object", obj)
        elif kind != "SubStatement":
            self.bad(st, "object/objectType", f"unknown objectType {kind!r}")

    def context(self, st: _Statement, context: object) -> None:
        if not isinstance(context, dict):
            self.bad(st, "context", "must be an object")
            return
        if "team" in context:
            team = context["team"]
            if not isinstance(team, dict) or team.get("objectType") != "Group":
                self.bad(st, "context/team", "must be a Group")
            else:
                self.agent(st, "context/team", team)
        activities = context.get("contextActivities")
        if activities is None:
            return
        if not isinstance(activities, dict):
            self.bad(st, "context/contextActivities", "must be an object")
            return
        for key, items in activities.items():
            if key not in ("parent", "grouping", "category", "other"):
                self.bad(st, f"context/contextActivities/{key}", "unknown context activity kind")
                continue
            for i, item in enumerate(items if isinstance(items, list) else [items]):
                if not isinstance(item, dict):
                    self.bad(st, f"context/contextActivities/{key}/{i}", "must be an Activity")
                else:
                    self.iri(st, f"context/contextActivities/{key}/{i}/id", item.get("id"))
        extensions = context.get("extensions")
        if extensions is not None and not isinstance(extensions, dict):
            self.bad(st, "context/extensions", "must be an object keyed by IRIs")


def _parse_time(text: object) -> dt.datetime | None:
    if not isinstance(text, str) or not re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", text):
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


# --------------------------------------------------------------------------- reading


def _load_statements(path: Path, data: bytes) -> list[_Statement]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RecordError([problem(path, None, "file", "", f"not UTF-8 text: {exc}")]) from exc
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        statements: list[_Statement] = []
        problems: list[RecordProblem] = []
        # JSON Lines ends a line at "\n" only (str.splitlines also splits at \r, \x1c, \u2028,
        # ..., which gave line numbers past the end of the file; found by hypothesis)
        for n, line in enumerate(text.split("\n"), 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(
                    problem(path, n, f"line {n}", "", f"not JSON: {exc.msg} (column {exc.colno})")
                )
                continue
            statements.append(_Statement(item, n, f"statement on line {n}"))
        if problems:
            raise RecordError(problems)
        return statements
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordError(
            [
                problem(
                    path,
                    exc.lineno,
                    f"line {exc.lineno}",
                    "",
                    f"not JSON: {exc.msg} (column {exc.colno})",
                )
            ]
        ) from exc
    if isinstance(parsed, dict):
        return [_Statement(parsed, None, "statement")]
    if isinstance(parsed, list):
        return [_Statement(item, None, f"statement /{i}") for i, item in enumerate(parsed)]
    raise RecordError(
        [problem(path, None, "file", "", "expected a statement object or an array of statements")]
    )


def _lang(value_map: object) -> str | None:
    if not isinstance(value_map, dict) or not value_map:
        return None
    for tag in ("en", "en-GB", "en-US"):
        if isinstance(value_map.get(tag), str):
            return str(value_map[tag])
    first = next(iter(value_map.values()))
    return first if isinstance(first, str) else None


@dataclass
class _Activity:
    iri: URIRef
    line: int | None
    label: str
    stored: bool
    kind: URIRef | None = None
    dates: set[dt.date] = field(default_factory=set)
    people: set[URIRef] = field(default_factory=set)
    links: set[tuple[URIRef, URIRef]] = field(default_factory=set)
    at_work: bool | None = None
    modes: set[URIRef] = field(default_factory=set)
    interprofessional: bool = False
    title: str | None = None


class _Reader:
    def __init__(self, path: Path, mapper: Mapper) -> None:
        self.path = path
        self.mapper = mapper
        self.base = mapper.base
        self.warnings: list[RecordProblem] = []
        self._warned: set[str] = set()
        self.activities: dict[URIRef, _Activity] = {}
        self.graph = Graph()
        self.records: dict[str, tuple[int, str]] = {}

    def warn(self, st: _Statement, where: str, reason: str, *, once: str | None = None) -> None:
        if once is not None:
            if once in self._warned:
                return
            self._warned.add(once)
        self.warnings.append(problem(self.path, st.line, st.label, where, reason))

    # -- people ------------------------------------------------------------------------
    def person(self, agent: Mapping[str, Any], st: _Statement) -> URIRef:
        ours = self.base + "person/"
        account = agent.get("account")
        if isinstance(account, dict):
            home, name = str(account.get("homePage", "")), str(account["name"])
            if home.rstrip("/") + "/" == ours and re.fullmatch(r"[A-Za-z0-9_-]+", name):
                return URIRef(ours + name)
            known = self.mapper.person(name)
            if str(FOAF.Person) in self.mapper.stored_types(str(known)):
                return known
            self.mapper.local_ids.pop(str(known), None)
            key = f"account:{home}|{name}"
        elif "mbox" in agent:
            key = "mbox_sha1sum:" + hashlib.sha1(str(agent["mbox"]).encode("utf-8")).hexdigest()  # noqa: S324 - the xAPI mbox_sha1sum
        elif "mbox_sha1sum" in agent:
            key = "mbox_sha1sum:" + str(agent["mbox_sha1sum"]).lower()
        else:
            key = "openid:" + str(agent.get("openid"))
        iri = self.mapper.iri("person", self.mapper.pseudonymise(key))
        # reports name the person by where they appear, never by an address or name
        self.mapper.local_ids.setdefault(str(iri), f"(actor of {st.label})")
        return iri

    def people(self, actor: Mapping[str, Any], st: _Statement) -> list[URIRef]:
        if actor.get("objectType") == "Group":
            members = actor.get("member") or []
            if not members:
                self.warn(
                    st,
                    "actor",
                    "a Group actor that lists no members cannot be placed: nobody to record as taking part; left out",
                )
            return [self.person(m, st) for m in members]
        return [self.person(actor, st)]

    # -- activities --------------------------------------------------------------------
    def activity(self, st: _Statement, obj: Mapping[str, Any], day: dt.date) -> _Activity:
        object_id = str(obj["id"])
        definition = obj.get("definition") or {}
        if object_id.startswith(self.base):
            iri = URIRef(object_id)
            stored = str(CIPD.LearningActivity) in self.mapper.stored_types(object_id)
        else:
            iri = self.mapper.iri("xapi", "activity", short_hash(object_id), day.isoformat())
            stored = False
        act = self.activities.get(iri)
        if act is None:
            act = _Activity(iri, st.line, f"activity {object_id}", stored)
            act.title = _lang(definition.get("name"))
            self.activities[iri] = act
        if act.kind is None and isinstance(definition.get("type"), str):
            act.kind = ACTIVITY_TYPES.get(definition["type"])
        act.dates.add(day)
        return act

    def context(self, st: _Statement, act: _Activity) -> None:
        context = st.data.get("context") or {}
        activities = context.get("contextActivities") or {}
        for key in ("grouping", "parent"):
            items = activities.get(key) or []
            for item in items if isinstance(items, list) else [items]:
                self.link(st, act, str(item["id"]), key)
        team = context.get("team")
        if isinstance(team, dict):
            self.team(st, act, team)
        extensions = context.get("extensions") or {}
        if isinstance(extensions.get(EXT_AT_WORK), bool):
            act.at_work = extensions[EXT_AT_WORK]
        modes = extensions.get(EXT_MODES)
        if isinstance(modes, list):
            known = {str(m) for m in MODE.values()}
            for mode in modes:
                if mode in known:
                    act.modes.add(URIRef(mode))
                else:
                    self.warn(
                        st,
                        f"context/extensions/{EXT_MODES}",
                        f"{mode!r} is not a CAIPE mode; left out",
                    )
        if extensions.get(EXT_INTERPROFESSIONAL) is True:
            act.interprofessional = True

    def link(self, st: _Statement, act: _Activity, target: str, key: str) -> None:
        types = self.mapper.stored_types(target) if target.startswith(self.base) else frozenset()
        for cls, prop in (
            (CIPD.ImprovementProject, CIPD.partOfProject),
            (CIPD.Module, CIPD.partOfModule),
            (CIPD.PDSACycle, PROV.wasInformedBy),
        ):
            if str(cls) in types:
                act.links.add((prop, URIRef(target)))
                return
        self.warn(
            st,
            f"context/contextActivities/{key}",
            f"{target} is not a project, module or PDSA cycle loaded in this graph; the link is left out",
            once=f"link {target}",
        )

    def team(self, st: _Statement, act: _Activity, team: Mapping[str, Any]) -> None:
        ours = self.base + "team/"
        account = team.get("account")
        iri: str | None = None
        if isinstance(account, dict) and str(account.get("homePage", "")).rstrip("/") + "/" == ours:
            iri = ours + str(account.get("name"))
        elif isinstance(team.get("openid"), str) and team["openid"].startswith(ours):
            iri = team["openid"]
        if iri is not None and str(CIPD.ActionLearningSet) in self.mapper.stored_types(iri):
            act.links.add((CIPD.inActionLearningSet, URIRef(iri)))
            return
        reason = (
            f"the team {iri} is not an action learning set loaded in this graph"
            if iri
            else "the team is not one of this graph's teams"
        )
        self.warn(
            st,
            "context/team",
            reason + "; the link is left out",
            once=f"team {iri or json.dumps(team, sort_keys=True)}",
        )

    # -- statements ------------------------------------------------------------------
    def place(self, st: _Statement) -> None:
        data = st.data
        verb = str(data["verb"]["id"])
        if verb not in PARTICIPATION and verb not in REFLECTION:
            self.warn(
                st,
                "verb/id",
                f"verb {verb} is not one this import maps (it maps {', '.join(v.rsplit('/', 1)[-1] for v in (*PARTICIPATION, *sorted(REFLECTION)))}); left out",
            )
            return
        obj = data["object"]
        if obj.get("objectType", "Activity") != "Activity":
            self.warn(
                st, "object", f"the object is a {obj.get('objectType')}, not an Activity; left out"
            )
            return
        when = _parse_time(data.get("timestamp")) or _parse_time(data.get("stored"))
        if when is None:
            self.warn(
                st,
                "timestamp",
                "no timestamp (nor stored time), so the activity has no date; left out",
            )
            return
        people = self.people(data["actor"], st)
        if not people:
            return
        act = self.activity(st, obj, when.date())
        if verb in REFLECTION:
            self.reflection(st, act, people, when)
            if not act.stored:
                act.people.update(people)
        else:
            if act.kind is None:
                act.kind = PARTICIPATION[verb]
            act.people.update(people)
        self.context(st, act)
        for person in act.people:
            self.graph.add((person, RDF.type, FOAF.Person))

    def reflection(
        self, st: _Statement, act: _Activity, people: list[URIRef], when: dt.datetime
    ) -> None:
        result = st.data.get("result") or {}
        text = result.get("response")
        if not isinstance(text, str) or len(text.strip()) < 10:
            self.warn(
                st,
                "result/response",
                "a reflection needs its text (result.response, at least 10 characters); left out",
            )
            return
        if len(people) != 1:
            self.warn(st, "actor", "a reflection is written by one person, not a Group; left out")
            return
        ident = st.data.get("id") or str(
            uuid.uuid5(STATEMENT_NAMESPACE, json.dumps(st.data, sort_keys=True))
        )
        node = self.mapper.iri("xapi", "statement", str(ident).lower(), "reflection")
        g = self.graph
        g.add((node, RDF.type, CIPD.Reflection))
        g.add((node, CIPD.reflectionMode, CIPD.ReflectionOnPractice))
        g.add((node, PROV.wasAttributedTo, people[0]))
        g.add((node, DCTERMS.date, Literal(when.date().isoformat(), datatype=XSD.date)))
        g.add((node, DCTERMS.description, Literal(text.strip())))
        g.add((node, CIPD.reflectsOn, act.iri))
        g.add((people[0], RDF.type, FOAF.Person))
        self.records[str(node)] = (st.line or 0, f"reflection in {st.label}")
        if act.kind is None:
            act.kind = CIPD.CaseReview  # reflected on, never attended: a review of practice

    def emit(self, out: MappedFile) -> None:
        g = self.graph
        for act in self.activities.values():
            out.records.setdefault(str(act.iri), (act.line or 0, act.label))
            for person in act.people:
                g.add((act.iri, PROV.wasAssociatedWith, person))
            for prop, target in act.links:
                g.add((act.iri, prop, target))
            if act.stored:
                continue  # an activity already loaded: only who took part and links are added
            g.add((act.iri, RDF.type, CIPD.LearningActivity))
            if act.interprofessional:
                g.add((act.iri, RDF.type, CIPD.InterprofessionalLearningActivity))
            g.add((act.iri, RDFS.label, Literal(act.title or act.label.removeprefix("activity "))))
            g.add((act.iri, CIPD.activityKind, act.kind or CIPD.TeachingSession))
            day = min(act.dates)
            g.add((act.iri, DCTERMS.date, Literal(day.isoformat(), datatype=XSD.date)))
            if act.at_work is not None:
                g.add((act.iri, CIPD.atWork, Literal(act.at_work)))
            for mode in act.modes:
                g.add((act.iri, CIPD.hasLearningMode, mode))
            if len(act.dates) > 1:
                out.warnings.append(
                    problem(
                        self.path,
                        act.line,
                        act.label,
                        "timestamp",
                        f"statements about it fall on {len(act.dates)} days; it is recorded once, on {day}",
                    )
                )
        out.graph += g


def read_xapi(path: Path, mapper: Mapper) -> MappedFile:  # noqa: PLR0912, PLR0915 - check, dedupe, void, place
    """Map a file of xAPI statements to learning activities, participation and reflections."""
    data, sha = read_bytes(path)
    statements = _load_statements(path, data)
    checker = _Checker(path)
    for st in statements:
        if not isinstance(st.data, dict):
            checker.bad(st, "", "a statement is a JSON object")
        else:
            checker.statement(st)
    if checker.problems:
        raise RecordError(checker.problems)
    reader = _Reader(path, mapper)
    # duplicates and voiding, before anything is placed
    by_id: dict[str, _Statement] = {}
    kept: list[_Statement] = []
    for st in statements:
        ident = st.data.get("id")
        if isinstance(ident, str):
            ident = ident.lower()
            first = by_id.get(ident)
            if first is not None:
                if _same(first.data, st.data):
                    reader.warn(
                        st, "id", f"repeats {first.label} (same id, same content); counted once"
                    )
                    continue
                checker.bad(
                    st,
                    "id",
                    f"the id {ident} is already used by {first.label} for a different statement",
                )
                continue
            by_id[ident] = st
        kept.append(st)
    if checker.problems:
        raise RecordError(checker.problems)
    voided: dict[str, _Statement] = {}
    for st in kept:
        if st.data["verb"]["id"] != VOIDED:
            continue
        obj = st.data["object"]
        if obj.get("objectType") != "StatementRef":
            checker.bad(st, "object", "a voiding statement's object must be a StatementRef")
            continue
        target = str(obj["id"]).lower()
        victim = by_id.get(target)
        if victim is None:
            reader.warn(st, "object/id", f"voids statement {target}, which is not in this file")
        elif victim.data["verb"]["id"] == VOIDED:
            reader.warn(
                st,
                "object/id",
                f"voids {victim.label}, a voiding statement, which cannot be voided; ignored",
            )
        else:
            voided[target] = st
    if checker.problems:
        raise RecordError(checker.problems)
    for st in kept:
        ident = str(st.data.get("id", "")).lower()
        if st.data["verb"]["id"] == VOIDED:
            continue
        if ident in voided:
            reader.warn(st, "id", f"voided by {voided[ident].label}; left out")
            continue
        reader.place(st)
    located = tuple(Located(st.data, st.line or 0, st.label) for st in statements)
    out = MappedFile(RecordFile(path, "xapi", located, sha256=sha), Graph(), Graph())
    reader.emit(out)
    out.records.update(reader.records)
    out.warnings.extend(reader.warnings)
    return out


def _same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    ignore = ("stored", "authority", "version")
    return {k: v for k, v in a.items() if k not in ignore} == {
        k: v for k, v in b.items() if k not in ignore
    }


# --------------------------------------------------------------------------- writing

_ACTIVITIES = (
    PREFIXES
    + """
SELECT ?a ?label ?kind ?date ?atWork ?ipl ?person WHERE {
  #+ bind
  ?a a cipd:LearningActivity ; rdfs:label ?label ; cipd:activityKind ?kind ; dcterms:date ?date ;
     prov:wasAssociatedWith ?person .
  FILTER NOT EXISTS { ?a a cipd:PlannedLearningActivity }
  OPTIONAL { ?a cipd:atWork ?atWork }
  # declared interprofessional (derived facts are recomputed wherever the statements go)
  BIND(EXISTS { ?a cipd:declaredInterprofessional true } || EXISTS { GRAPH ?src { ?a a cipd:InterprofessionalLearningActivity } FILTER(!STRSTARTS(STR(?src), STR(?inferred))) } AS ?ipl)
  %s
} ORDER BY ?a ?person
"""
)
_LINKS = (
    PREFIXES
    + """
SELECT ?a ?p ?o WHERE {
  #+ bind
  ?a a cipd:LearningActivity ; ?p ?o .
  VALUES ?p { cipd:partOfProject cipd:partOfModule prov:wasInformedBy cipd:hasLearningMode cipd:inActionLearningSet }
} ORDER BY ?a ?p ?o
"""
)


def _statements(store: GraphStore, options: Mapping[str, str]) -> Iterator[dict[str, Any]]:
    base = store.base
    project = options.get("project")
    if project:
        iri = project if project.startswith(base) else base + "project/" + project
        if str(CIPD.ImprovementProject) not in store.stored_types(iri):
            raise FormatError(f"export xapi: no project {project!r} is loaded")
        rows = select(
            store,
            _ACTIVITIES % "?a cipd:partOfProject ?project .",
            project=ox.NamedNode(iri),
            inferred=ox.NamedNode(store.layout.derived_prefix),
        )
    else:
        rows = select(store, _ACTIVITIES % "", inferred=ox.NamedNode(store.layout.derived_prefix))
    links: dict[str, dict[str, list[str]]] = {}
    for row in select(store, _LINKS):
        links.setdefault(str(value(row, "a")), {}).setdefault(str(value(row, "p")), []).append(
            str(value(row, "o"))
        )
    for row in rows:
        activity, person = str(value(row, "a")), str(value(row, "person"))
        kind = str(value(row, "kind"))
        found = links.get(activity, {})
        grouping = found.get(str(CIPD.partOfProject), []) + found.get(str(CIPD.partOfModule), [])
        parent = found.get(str(PROV.wasInformedBy), [])
        extensions: dict[str, Any] = {EXT_INTERPROFESSIONAL: value(row, "ipl") == "true"}
        if value(row, "atWork") is not None:
            extensions[EXT_AT_WORK] = value(row, "atWork") == "true"
        if found.get(str(CIPD.hasLearningMode)):
            extensions[EXT_MODES] = sorted(found[str(CIPD.hasLearningMode)])
        context: dict[str, Any] = {"extensions": extensions}
        activities: dict[str, Any] = {}
        if grouping:
            activities["grouping"] = [{"objectType": "Activity", "id": g} for g in sorted(grouping)]
        if parent:
            activities["parent"] = [{"objectType": "Activity", "id": p} for p in sorted(parent)]
        if activities:
            context["contextActivities"] = activities
        sets = found.get(str(CIPD.inActionLearningSet), [])
        if sets:
            context["team"] = {
                "objectType": "Group",
                "account": {
                    "homePage": base + "team/",
                    "name": sets[0].removeprefix(base + "team/"),
                },
            }
        verb = "experienced" if kind == str(CIPD.ELearning) else "attended"
        yield {
            "id": str(uuid.uuid5(STATEMENT_NAMESPACE, f"{activity} {person}")),
            "actor": {
                "objectType": "Agent",
                "account": {
                    "homePage": base + "person/",
                    "name": person.removeprefix(base + "person/"),
                },
            },
            "verb": {"id": ADL + verb, "display": {"en-US": verb}},
            "object": {
                "objectType": "Activity",
                "id": activity,
                "definition": {"name": {"en": str(value(row, "label"))}, "type": kind},
            },
            "timestamp": f"{value(row, 'date')}T00:00:00Z",
            "context": context,
        }


def check_statement(statement: Mapping[str, Any]) -> list[str]:
    """The xAPI statement rules ``statement`` breaks (empty when it keeps them all).

    >>> check_statement({"actor": {"mbox": "mailto:a@example.org"},
    ...     "verb": {"id": "http://adlnet.gov/expapi/verbs/attended"},
    ...     "object": {"id": "https://example.org/a"}})
    []
    >>> check_statement({"actor": {}, "verb": {"id": "x"}, "object": {"id": "y"}})[0]
    'statement: actor: an Agent has exactly one IFI (mbox, mbox_sha1sum, openid or account), found 0'
    """
    checker = _Checker(Path("statement"))
    st = _Statement(dict(statement), None, "statement")
    checker.statement(st)
    return [f"{p.record}: {p.field}: {p.reason}" for p in checker.problems]


def write_xapi(store: GraphStore, options: Mapping[str, str]) -> bytes:
    """The graph's learning activities (optionally one project's) as an array of xAPI statements."""
    statements = list(_statements(store, options))
    for statement in statements:
        broken = check_statement(statement)
        if broken:  # a bug here, not bad data: say so plainly
            raise FormatError(f"export xapi wrote a statement that breaks the xAPI rules: {broken}")
    return json.dumps(statements, indent=2, ensure_ascii=False).encode("utf-8")


FORMAT = register(
    Format(
        name="xapi",
        title="xAPI (Experience API) 1.0.3 / 2.0 statements",
        media_type="application/json",
        suffix=".json",
        reader=read_xapi,
        writer=write_xapi,
        read_suffixes=(".json", ".jsonl", ".ndjson"),
        options=(Option("project", "only the learning activities of this project (id or IRI)"),),
        limits=(
            "names and e-mail addresses (never stored; actors are pseudonymised); verbs other than "
            "attended/completed/experienced/commented/reflected; objects that are not Activities; "
            "result scores, success and duration; attachments, authority, category and other "
            "context activities; context teams that are not action learning sets; professions"
        ),
        specification="https://github.com/adlnet/xAPI-Spec (xAPI-Data.md)",
    )
)
