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
  ``definition.type`` (CIPD kinds, ADL activity types, a type IRI ending in a kind's notation)
  or else from the verb; one activity per object id and day (a reflection: the latest session
  on or before its day); an object id that is one of this graph's activities, or an activity
  another file loaded, is that activity, and keeps its kind and name;
- ``context.contextActivities`` ``grouping``/``parent`` that are this graph's projects, modules
  or PDSA cycles link the activity to them; ``context.team`` that is one of this graph's action
  learning sets links it to the set;
- voiding statements remove the statements they void.

A statement is identified by its ``id``: the same statement twice (as xAPI compares them) is
counted once, in one file or across files; other content under a known id refuses the file.
The ids and content digests go to the batch's provenance graph. What the import has no place
for is reported once per property and file; malformed statements (against the xAPI statement
rules) refuse the whole file with their location.

Export writes the graph's held learning activities as xAPI 1.0.3/2.0 statements, one per
participant and one per reflection, with deterministic ids, pseudonymous ``account`` actors
and what xAPI cannot say natively (at work, CAIPE modes, the declaration whether it was
interprofessional learning: true, false or, when the record declares nothing, left out; the reflection's
IRI and mode) as context extensions under CIPD IRIs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from collections.abc import Callable, Mapping
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
from cipd_graph.interop._common import problem, read_bytes, select, short_hash, value
from cipd_graph.limits import InputRefusedError, load_json
from cipd_graph.mapping.mapper import ACTIVITY_KIND, MODE, SCHEMA, MappedFile, Mapper
from cipd_graph.mapping.mapper import REFLECTION as REFLECTION_MODE
from cipd_graph.records.parse import Located, RecordFile

ADL = "http://adlnet.gov/expapi/verbs/"
VOIDED = ADL + "voided"
#: Verbs that record taking part, with the activity kind used when the object has no known type.
PARTICIPATION = {
    ADL + "attended": CIPD.TeachingSession,
    ADL + "completed": CIPD.ELearning,
    ADL + "experienced": CIPD.ELearning,
}
#: Verbs that record a reflection (``result.response`` is its text). ``commented`` is in the
#: ADL vocabulary; ``reflected`` is not (it has no ADL verb), but learning record providers send
#: it under the ADL prefix, and the CATCH and DoD ISD profiles define their own.
REFLECTED = "https://w3id.org/xapi/catch/verbs/reflected"
REFLECTION = (
    ADL + "commented",
    ADL + "reflected",
    REFLECTED,
    "https://w3id.org/xapi/dod-isd/verbs/reflected",
)
ADL_ACTIVITY = "http://adlnet.gov/expapi/activities/"
#: Activity types (``object.definition.type``) and the activity kind each maps to. Besides
#: these, a type IRI whose last segment is a kind's notation (``.../activities/huddle``) is
#: that kind, and an ADL ``meeting`` named a huddle or an action learning set is one.
ACTIVITY_TYPES: dict[str, URIRef] = {str(k): k for k in ACTIVITY_KIND.values()} | {
    ADL_ACTIVITY + "meeting": CIPD.Workshop,
    ADL_ACTIVITY + "lesson": CIPD.TeachingSession,
    ADL_ACTIVITY + "simulation": CIPD.Simulation,
    ADL_ACTIVITY + "course": CIPD.ELearning,
    ADL_ACTIVITY + "module": CIPD.ELearning,
    ADL_ACTIVITY + "media": CIPD.ELearning,
}
_KIND_BY_SEGMENT = dict(ACTIVITY_KIND) | {
    "team-huddle": CIPD.TeamHuddle,
    "action-learning-set-meeting": CIPD.ActionLearningSetMeeting,
}
EXT_AT_WORK = str(CIPD.atWork)
EXT_MODES = str(CIPD.hasLearningMode)
EXT_INTERPROFESSIONAL = str(CIPD.InterprofessionalLearningActivity)
EXT_REFLECTION = str(CIPD.Reflection)
EXT_REFLECTION_MODE = str(CIPD.reflectionMode)
#: The context extensions this import reads (the export writes them).
OWN_EXTENSIONS = (
    EXT_AT_WORK,
    EXT_MODES,
    EXT_INTERPROFESSIONAL,
    EXT_REFLECTION,
    EXT_REFLECTION_MODE,
)
#: The namespace of statement ids: uuid5 of the activity and person IRIs (participation), of the
#: reflection IRI (reflections), and of a statement's content when it came without an id.
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
                item = load_json(line)
            except InputRefusedError as exc:  # a limit (CIPD_MAX_*), or a key written twice
                problems.append(problem(path, n, f"line {n}", "", exc.reason))
                continue
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
        parsed = load_json(text)
    except InputRefusedError as exc:  # a limit (CIPD_MAX_*), or a key written twice
        raise RecordError([problem(path, exc.line, "file", "", exc.reason)]) from exc
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


def _lang(value_map: object) -> tuple[str | None, str, list[str]]:
    """The text of a language map in the preferred language (English first, then the first
    tag in order), that tag, and the other tags it leaves out."""
    if not isinstance(value_map, dict):
        return None, "", []
    texts = {k: v for k, v in value_map.items() if isinstance(k, str) and isinstance(v, str)}
    if not texts:
        return None, "", []
    english = sorted(t for t in texts if t.lower() == "en" or t.lower().startswith("en-"))
    chosen = english[0] if english else sorted(texts)[0]
    return texts[chosen], chosen, sorted(t for t in texts if t != chosen)


def _canonical(data: Mapping[str, Any], person: Callable[[Mapping[str, Any]], str]) -> str:
    """A statement as xAPI compares statements (Data 2.3.1): without the properties an LRS
    assigns (id, authority, stored, version), attachments, activity definitions and verb
    displays; the timestamp as a point in time; the members of a Group in no order. Agents
    are replaced by their pseudonymous IRI (``person``), so that no address or name is hashed
    and the ``mbox`` and ``mbox_sha1sum`` of one person compare equal."""

    def walk(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            if any(k in value for k in _IFIS) and key not in ("object", "statement"):
                return {"agent": person(value)}
            if key == "object" and value.get("objectType") in ("Agent", "Group"):
                return {"agent": person(value)} if any(k in value for k in _IFIS) else walk(value)
            out = {}
            for k, v in value.items():
                if k in ("definition", "display", "attachments") or (
                    not key and k in ("id", "authority", "stored", "version", "timestamp")
                ):
                    continue
                if k == "objectType" and v == "Activity":
                    continue  # the default, which an LRS may add
                # an LRS returns one context activity as an array of one
                one = key == "contextActivities" and not isinstance(v, list)
                out[k] = walk([v] if one else v, k)
            if key in ("actor", "object", "team", "instructor") and "member" in out:
                out["member"] = sorted(out["member"], key=lambda m: json.dumps(m, sort_keys=True))
            return out
        if isinstance(value, list):
            return [walk(v, key) for v in value]
        return value

    out = walk(dict(data))
    when = _parse_time(data.get("timestamp"))
    if when is not None:
        out["timestamp"] = (when.astimezone(dt.UTC) if when.tzinfo else when).isoformat()
    return json.dumps(out, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@dataclass
class _Activity:
    iri: URIRef
    line: int | None
    label: str
    stored: bool
    title: str | None = None
    description: str | None = None
    #: the kinds the statements' activity types name, with the first statement naming each
    declared: dict[URIRef, str] = field(default_factory=dict)
    #: the kind the verb of the first participation statement implies (used when none is named)
    by_verb: URIRef | None = None
    reflected_only: bool = True
    dates: set[dt.date] = field(default_factory=set)
    people: set[URIRef] = field(default_factory=set)
    links: set[tuple[URIRef, URIRef]] = field(default_factory=set)
    at_work: bool | None = None
    modes: set[URIRef] = field(default_factory=set)
    interprofessional: bool | None = None  # the declaration: true, false or not given

    @property
    def kind(self) -> URIRef:
        if self.declared:
            return next(iter(self.declared))
        if self.by_verb is not None:
            return self.by_verb
        # reflected on, never attended: a review of practice
        return CIPD.CaseReview if self.reflected_only else CIPD.TeachingSession


def _kind_of_type(type_iri: str, name: str | None) -> URIRef | None:
    kind = ACTIVITY_TYPES.get(type_iri)
    segment = type_iri.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1].lower()
    if kind is None:
        kind = _KIND_BY_SEGMENT.get(segment)
    if type_iri == ADL_ACTIVITY + "meeting" and name:  # a meeting's name may say which kind
        lowered = name.lower()
        if "huddle" in lowered:
            return CIPD.TeamHuddle
        if "action learning" in lowered:
            return CIPD.ActionLearningSetMeeting
    return kind


#: Statement properties the import reads; every other one is reported once per file.
_READ = {
    "": {
        "id",
        "actor",
        "verb",
        "object",
        "timestamp",
        "stored",
        "authority",
        "version",
        "context",
        "result",
    },
    "result": {"response"},
    "context": {"contextActivities", "team", "extensions"},
    "context/contextActivities": {"grouping", "parent"},
}


class _Reader:
    def __init__(self, path: Path, mapper: Mapper) -> None:
        self.path = path
        self.mapper = mapper
        self.base = mapper.base
        self.warnings: list[RecordProblem] = []
        self._warned: set[str] = set()
        #: property -> (first statement carrying it, how many carry it) for what is left out
        self.unread: dict[str, tuple[_Statement, int, str]] = {}
        self.activities: dict[URIRef, _Activity] = {}
        self.graph = Graph()
        self.provenance = Graph()
        self.records: dict[str, tuple[int, str]] = {}

    def warn(self, st: _Statement, where: str, reason: str, *, once: str | None = None) -> None:
        if once is not None:
            if once in self._warned:
                return
            self._warned.add(once)
        self.warnings.append(problem(self.path, st.line, st.label, where, reason))

    def left_out(self, st: _Statement, where: str, why: str) -> None:
        first, count, reason = self.unread.get(where, (st, 0, why))
        self.unread[where] = (first, count + 1, reason)

    def report_left_out(self) -> None:
        for where, (st, count, why) in sorted(self.unread.items()):
            also = f" (and in {count - 1} more statement(s))" if count > 1 else ""
            self.warn(st, where, f"{why}; left out{also}")

    # -- people ------------------------------------------------------------------------
    def person(self, agent: Mapping[str, Any], st: _Statement | None = None) -> URIRef:
        ours = self.base + "person/"
        account = agent.get("account")
        if isinstance(account, dict):
            home, name = str(account.get("homePage", "")), str(account.get("name"))
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
        if st is not None:
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

    # -- statement identity --------------------------------------------------------------
    def digest(self, st: _Statement) -> str:
        def agent(value: Mapping[str, Any]) -> str:
            return str(self.person(value))

        return hashlib.sha256(_canonical(st.data, agent).encode("utf-8")).hexdigest()

    def statement_id(self, st: _Statement, digest: str) -> str:
        ident = st.data.get("id")
        if isinstance(ident, str):
            return ident.lower()
        return str(uuid.uuid5(STATEMENT_NAMESPACE, "content " + digest))

    def imported_before(self, st: _Statement, ident: str, digest: str) -> str | None:
        """The file that imported the statement ``ident`` before, when it holds the same
        statement; a problem (via the checker) when it holds a different one."""
        for predicate, stored, source in self.mapper.stored_facts(self.statement_iri(ident)):
            if predicate != str(SCHEMA.sha256):
                continue
            if stored == digest:
                return source
            raise _ConflictError(
                f"the id {ident} was imported from {source} for a different statement (an LRS "
                "refuses a second statement with the same id); give it a new id or drop that file"
            )
        return None

    def statement_iri(self, ident: str) -> URIRef:
        return self.mapper.iri("xapi", "statement", ident)

    def record(self, ident: str, digest: str) -> None:
        node = self.statement_iri(ident)
        self.provenance.add((node, RDF.type, PROV.Entity))
        self.provenance.add((node, DCTERMS.identifier, Literal(ident)))
        self.provenance.add((node, SCHEMA.sha256, Literal(digest)))

    # -- activities --------------------------------------------------------------------
    def activity(  # noqa: PLR0912 - name, description, type and what is left out
        self, st: _Statement, obj: Mapping[str, Any], day: dt.date, *, reflection: bool = False
    ) -> _Activity:
        """The activity a statement is about: one per object id and day. A reflection is
        about the latest session of its object on or before the day it was written."""
        object_id = str(obj["id"])
        definition = obj.get("definition") or {}
        if object_id.startswith(self.base):
            iri = URIRef(object_id)
        else:
            iri = self.mapper.iri("xapi", "activity", short_hash(object_id), day.isoformat())
            if reflection:
                prefix = str(iri).rsplit("/", 1)[0] + "/"
                held = sorted(
                    a
                    for a in self.activities
                    if a.startswith(prefix) and a[len(prefix) :] <= str(iri)[len(prefix) :]
                )
                iri = held[-1] if held else iri
        act = self.activities.get(iri)
        if act is None:
            stored = str(CIPD.LearningActivity) in self.mapper.stored_types(str(iri))
            act = _Activity(iri, st.line, f"activity {object_id}", stored)
            self.activities[iri] = act
            if stored:
                facts = self.mapper.stored_facts(str(iri))
                act.title = min((v for p, v, _ in facts if p == str(RDFS.label)), default=None)
                kinds = sorted(v for p, v, _ in facts if p == str(CIPD.activityKind))
                if kinds:
                    act.declared[URIRef(kinds[0])] = "the loaded activity"
        name, tag, others = _lang(definition.get("name"))
        if others:
            self.warn(
                st,
                "object/definition/name",
                f"the name is given in {len(others) + 1} languages; the {tag} one is kept, "
                f"left out: {', '.join(others)}",
                once=f"name languages {iri}",
            )
        if name is not None and act.title is None:
            act.title = name
        elif name is not None and name != act.title:
            self.warn(
                st,
                "object/definition/name",
                f"names {act.label} {name!r}, but it is already named {act.title!r}; the first name is kept",
                once=f"name {iri} {name}",
            )
        description, _tag, others = _lang(definition.get("description"))
        if description is not None and act.description is None and not act.stored:
            act.description = description
        elif description is not None and description != act.description:
            self.warn(
                st,
                "object/definition/description",
                f"describes {act.label} differently from an earlier statement; the first description is kept",
                once=f"description {iri}",
            )
        if isinstance(definition.get("type"), str):
            kind = _kind_of_type(definition["type"], name)
            if kind is None:
                self.warn(
                    st,
                    "object/definition/type",
                    f"{definition['type']} is not an activity type this import knows (CIPD kinds, "
                    "ADL meeting/lesson/simulation/course/module/media, or an IRI ending in a "
                    "kind's notation such as .../huddle); the kind comes from the verb",
                    once=f"type {definition['type']}",
                )
            elif kind not in act.declared:
                if act.declared:
                    first_kind, where = next(iter(act.declared.items()))
                    self.warn(
                        st,
                        "object/definition/type",
                        f"{act.label} is a {_notation(first_kind)} in {where}, a {_notation(kind)} "
                        f"here; it is recorded as a {_notation(first_kind)}",
                        once=f"kind {iri} {kind}",
                    )
                act.declared.setdefault(kind, st.label)
        for key in ("extensions", "moreInfo", "interactionType", "correctResponsesPattern"):
            if key in definition:
                self.left_out(st, f"object/definition/{key}", "activity definition " + key)
        if not reflection or not act.dates:  # a reflection's day is when it was written
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
        if isinstance(extensions.get(EXT_INTERPROFESSIONAL), bool):
            act.interprofessional = extensions[EXT_INTERPROFESSIONAL]
        for key in sorted(extensions):
            if key not in OWN_EXTENSIONS:
                self.left_out(
                    st, f"context/extensions/{key}", "a context extension this import does not know"
                )

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

    def unread_properties(self, st: _Statement, reflection: bool) -> None:
        """Report (once per property and file) what the statement says that is not kept."""
        data = st.data
        for parent, known in _READ.items():
            value: Any = data
            for part in parent.split("/") if parent else ():
                value = value.get(part) if isinstance(value, dict) else None
            if not isinstance(value, dict):
                continue
            for key in sorted(value):
                where = f"{parent}/{key}" if parent else key
                if key in known and not (where == "result/response" and not reflection):
                    continue
                why = {
                    "result/duration": "result.duration (how long one person took; the activity's own duration is not in xAPI)",
                    "result/response": "result.response of a statement that is not a reflection",
                    "context/contextActivities/category": "category context activities (profiles and tags)",
                    "context/contextActivities/other": "other context activities",
                    "context/instructor": "the instructor (a person this graph would have to pseudonymise without a role to give them)",
                }.get(where, where.replace("/", ".") + " has no place in the graph")
                self.left_out(st, where, why)

    # -- statements ------------------------------------------------------------------
    def place(self, st: _Statement, ident: str) -> None:
        data = st.data
        verb = str(data["verb"]["id"])
        if verb not in PARTICIPATION and verb not in REFLECTION:
            accepted = ", ".join((*PARTICIPATION, *REFLECTION))
            self.warn(
                st,
                "verb/id",
                f"verb {verb} is not one this import maps (it maps {accepted}); left out",
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
        reflection = verb in REFLECTION
        self.unread_properties(st, reflection)
        act = self.activity(st, obj, when.date(), reflection=reflection)
        if reflection:
            self.reflection(st, ident, act, people, when)
            if not act.stored:
                act.people.update(people)
        else:
            act.reflected_only = False
            if act.by_verb is None:
                act.by_verb = PARTICIPATION[verb]
            act.people.update(people)
        self.context(st, act)
        for person in act.people:
            self.graph.add((person, RDF.type, FOAF.Person))

    def reflection(
        self, st: _Statement, ident: str, act: _Activity, people: list[URIRef], when: dt.datetime
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
        extensions = (st.data.get("context") or {}).get("extensions") or {}
        given = extensions.get(EXT_REFLECTION)
        node = (
            URIRef(given)
            if isinstance(given, str) and given.startswith(self.base) and _IRI.match(given)
            else self.mapper.iri("xapi", "statement", ident, "reflection")
        )
        self.records[str(node)] = (st.line or 0, f"reflection in {st.label}")
        if str(CIPD.Reflection) in self.mapper.stored_types(str(node)):
            return  # a reflection already loaded (an export read back): nothing to add
        mode = extensions.get(EXT_REFLECTION_MODE)
        modes = {str(m) for m in REFLECTION_MODE.values()}
        g = self.graph
        g.add((node, RDF.type, CIPD.Reflection))
        g.add(
            (
                node,
                CIPD.reflectionMode,
                URIRef(mode) if mode in modes else CIPD.ReflectionOnPractice,
            )
        )
        g.add((node, PROV.wasAttributedTo, people[0]))
        g.add((node, DCTERMS.date, Literal(when.date().isoformat(), datatype=XSD.date)))
        g.add((node, DCTERMS.description, Literal(text.strip())))
        g.add((node, CIPD.reflectsOn, act.iri))
        g.add((people[0], RDF.type, FOAF.Person))

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
            if act.interprofessional is not None:  # a declaration, as a record states it
                g.add((act.iri, CIPD.declaredInterprofessional, Literal(act.interprofessional)))
            g.add((act.iri, RDFS.label, Literal(act.title or act.label.removeprefix("activity "))))
            if act.description:
                g.add((act.iri, DCTERMS.description, Literal(act.description)))
            g.add((act.iri, CIPD.activityKind, act.kind))
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
        out.provenance += self.provenance


def _definition(data: Mapping[str, Any]) -> Any:
    obj = data.get("object")
    return obj.get("definition") if isinstance(obj, dict) else None


class _ConflictError(Exception):
    """A statement id already imported for different content."""


def _notation(kind: URIRef) -> str:
    return next((n for n, k in ACTIVITY_KIND.items() if k == kind), str(kind))


def read_xapi(path: Path, mapper: Mapper) -> MappedFile:  # noqa: PLR0912, PLR0915 - check, dedupe, void, place
    """Map a file of xAPI statements to learning activities, participation and reflections.

    A statement is identified by its ``id`` (one without gets a name-based UUID of its
    content). The same id twice in a file, or in a file imported before, is counted once
    when the two are the same statement as xAPI compares them (Data 2.3.1) and refuses the
    file when they differ. The ids and content digests are kept in the batch's provenance.
    """
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
    # identity, duplicates and voiding, before anything is placed
    by_id: dict[str, tuple[_Statement, str]] = {}
    kept: list[tuple[_Statement, str]] = []
    for st in statements:
        digest = reader.digest(st)
        ident = reader.statement_id(st, digest)
        first = by_id.get(ident)
        if first is not None:
            if first[1] == digest:
                differs = _definition(first[0].data) != _definition(st.data)
                reader.warn(
                    st,
                    "id",
                    f"repeats {first[0].label} (same id, same statement); counted once"
                    + (
                        "; its activity definition (name, type or description) differs, and "
                        "the first is kept (xAPI compares statements without definitions)"
                        if differs
                        else ""
                    ),
                )
            else:
                checker.bad(
                    st,
                    "id",
                    f"the id {ident} is already used by {first[0].label} for a different statement",
                )
            continue
        try:
            source = reader.imported_before(st, ident, digest)
        except _ConflictError as exc:
            checker.bad(st, "id", str(exc))
            continue
        by_id[ident] = (st, digest)
        if source is not None:
            reader.warn(
                st, "id", f"already imported from {source} (same id, same statement); counted once"
            )
            continue
        kept.append((st, ident))
    if checker.problems:
        raise RecordError(checker.problems)
    voided: dict[str, _Statement] = {}
    for st, _ident in kept:
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
        elif victim[0].data["verb"]["id"] == VOIDED:
            reader.warn(
                st,
                "object/id",
                f"voids {victim[0].label}, a voiding statement, which cannot be voided; ignored",
            )
        else:
            voided[target] = st
    if checker.problems:
        raise RecordError(checker.problems)
    # participation before reflections, which find the session they reflect on
    for st, ident in sorted(kept, key=lambda k: k[0].data["verb"]["id"] in REFLECTION):
        reader.record(ident, by_id[ident][1])
        if st.data["verb"]["id"] == VOIDED:
            continue
        if ident in voided:
            reader.warn(st, "id", f"voided by {voided[ident].label}; left out")
            continue
        reader.place(st, ident)
    reader.report_left_out()
    located = tuple(Located(st.data, st.line or 0, st.label) for st in statements)
    out = MappedFile(RecordFile(path, "xapi", located, sha256=sha), Graph(), Graph())
    reader.emit(out)
    out.records.update(reader.records)
    out.warnings.extend(reader.warnings)
    return out


# --------------------------------------------------------------------------- writing

_ACTIVITIES = """
SELECT DISTINCT ?a ?label ?kind ?date ?atWork ?declared ?ipl ?description WHERE {
  #+ bind
  ?a a cipd:LearningActivity ; rdfs:label ?label ; cipd:activityKind ?kind ; dcterms:date ?date .
  FILTER NOT EXISTS { ?a a cipd:PlannedLearningActivity }
  OPTIONAL { ?a cipd:atWork ?atWork }
  OPTIONAL { ?a dcterms:description ?description }
  # declared interprofessional (derived facts are recomputed wherever the statements go):
  # the recorder's declaration, or the class stated by a record (older imports)
  OPTIONAL { ?a cipd:declaredInterprofessional ?declared }
  BIND(EXISTS { GRAPH ?src { ?a a cipd:InterprofessionalLearningActivity } FILTER(!STRSTARTS(STR(?src), STR(?inferred))) } AS ?ipl)
  %s
}
"""
_PEOPLE = """
SELECT DISTINCT ?a ?person WHERE {
  ?a a cipd:LearningActivity ; prov:wasAssociatedWith ?person .
}
"""
_LINKS = """
SELECT DISTINCT ?a ?p ?o WHERE {
  ?a a cipd:LearningActivity ; ?p ?o .
  VALUES ?p { cipd:partOfProject cipd:partOfModule prov:wasInformedBy cipd:hasLearningMode cipd:inActionLearningSet }
}
"""
_REFLECTIONS = """
SELECT DISTINCT ?r ?a ?person ?date ?text ?mode WHERE {
  ?r a cipd:Reflection ; cipd:reflectsOn ?a ; prov:wasAttributedTo ?person ; dcterms:date ?date ;
     dcterms:description ?text ; cipd:reflectionMode ?mode .
  ?a a cipd:LearningActivity .
}
"""


def _account(base: str, kind: str, iri: str) -> dict[str, str]:
    return {"homePage": base + kind + "/", "name": iri.removeprefix(base + kind + "/")}


def _statements(store: GraphStore, options: Mapping[str, str]) -> list[dict[str, Any]]:  # noqa: PLR0912, PLR0915 - one statement per participant and per reflection
    """The statements of the graph's held learning activities, one per participant and one
    per reflection on the activity, sorted by id; a property with several values (an activity
    named twice by two loads) takes the least, so the document is the same on every run."""
    base = store.base
    inferred = ox.NamedNode(store.layout.derived_prefix)
    project = options.get("project")
    if project:
        iri = project if project.startswith(base) else base + "project/" + project
        if str(CIPD.ImprovementProject) not in store.stored_types(iri):
            raise FormatError(f"export xapi: no project {project!r} is loaded")
        rows = select(
            store,
            _ACTIVITIES % "?a cipd:partOfProject ?project .",
            project=ox.NamedNode(iri),
            inferred=inferred,
        )
    else:
        rows = select(store, _ACTIVITIES % "", inferred=inferred)
    activities: dict[str, dict[str, str]] = {}
    for row in rows:
        found = activities.setdefault(str(value(row, "a")), {})
        for name in row:
            text = value(row, name)
            if text is not None and (name not in found or text < found[name]):
                found[name] = text
    people: dict[str, set[str]] = {}
    for row in select(store, _PEOPLE):
        people.setdefault(str(value(row, "a")), set()).add(str(value(row, "person")))
    links: dict[str, dict[str, set[str]]] = {}
    for row in select(store, _LINKS):
        links.setdefault(str(value(row, "a")), {}).setdefault(str(value(row, "p")), set()).add(
            str(value(row, "o"))
        )

    def obj(activity: str) -> dict[str, Any]:
        row = activities[activity]
        definition: dict[str, Any] = {"name": {"en": row["label"]}, "type": row["kind"]}
        if row.get("description"):
            definition["description"] = {"en": row["description"]}
        return {"objectType": "Activity", "id": activity, "definition": definition}

    def context(activity: str, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        row, found = activities[activity], links.get(activity, {})
        extensions: dict[str, Any] = {}
        if row.get("declared") is not None:  # left out when the record declares nothing
            extensions[EXT_INTERPROFESSIONAL] = row["declared"] == "true"
        elif row.get("ipl") == "true":
            extensions[EXT_INTERPROFESSIONAL] = True
        if row.get("atWork") is not None:
            extensions[EXT_AT_WORK] = row["atWork"] == "true"
        if found.get(str(CIPD.hasLearningMode)):
            extensions[EXT_MODES] = sorted(found[str(CIPD.hasLearningMode)])
        extensions.update(extra or {})
        out: dict[str, Any] = {"extensions": extensions}
        grouping = found.get(str(CIPD.partOfProject), set()) | found.get(
            str(CIPD.partOfModule), set()
        )
        parent = found.get(str(PROV.wasInformedBy), set())
        context_activities: dict[str, Any] = {}
        if grouping:
            context_activities["grouping"] = [
                {"objectType": "Activity", "id": g} for g in sorted(grouping)
            ]
        if parent:
            context_activities["parent"] = [
                {"objectType": "Activity", "id": p} for p in sorted(parent)
            ]
        if context_activities:
            out["contextActivities"] = context_activities
        sets = sorted(found.get(str(CIPD.inActionLearningSet), ()))
        if sets:
            out["team"] = {"objectType": "Group", "account": _account(base, "team", sets[0])}
        return out

    statements: list[dict[str, Any]] = []
    for activity, row in activities.items():
        verb = "experienced" if row["kind"] == str(CIPD.ELearning) else "attended"
        for person in sorted(people.get(activity, ())):
            statements.append(
                {
                    "id": str(uuid.uuid5(STATEMENT_NAMESPACE, f"{activity} {person}")),
                    "actor": {"objectType": "Agent", "account": _account(base, "person", person)},
                    "verb": {"id": ADL + verb, "display": {"en-US": verb}},
                    "object": obj(activity),
                    "timestamp": f"{row['date']}T00:00:00Z",
                    "context": context(activity),
                }
            )
    reflections: dict[str, dict[str, str]] = {}
    for row in select(store, _REFLECTIONS):
        found = reflections.setdefault(str(value(row, "r")), {})
        for name in row:
            text = value(row, name)
            if text is not None and (name not in found or text < found[name]):
                found[name] = text
    for reflection, row in reflections.items():
        if row["a"] not in activities:
            continue
        statements.append(
            {
                "id": str(uuid.uuid5(STATEMENT_NAMESPACE, reflection)),
                "actor": {
                    "objectType": "Agent",
                    "account": _account(base, "person", row["person"]),
                },
                "verb": {"id": REFLECTED, "display": {"en-US": "reflected"}},
                "object": obj(row["a"]),
                "result": {"response": row["text"]},
                "timestamp": f"{row['date']}T00:00:00Z",
                "context": context(
                    row["a"], {EXT_REFLECTION: reflection, EXT_REFLECTION_MODE: row["mode"]}
                ),
            }
        )
    return sorted(statements, key=lambda s: str(s["id"]))


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
    statements = _statements(store, options)
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
            "result scores, success, completion and duration; attachments, registration, "
            "instructor, platform, language, category and other context activities, other "
            "extensions (all reported); context teams that are not action learning sets; "
            "professions; one language of names and descriptions"
        ),
        specification="https://github.com/adlnet/xAPI-Spec (xAPI-Data.md)",
    )
)
