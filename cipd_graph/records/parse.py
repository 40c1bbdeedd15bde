"""Record formats: one YAML/JSON file per improvement project, CSV tables for reference data.

Parsing is typed (pydantic). A file with mistakes raises :class:`RecordError` listing every
mistake at once, each with the file, the line, the record and the field at fault.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Generic, Literal, TypeVar

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from cipd_graph._errors import RecordError, RecordProblem
from cipd_graph.limits import (
    InputRefusedError,
    check_decimal,
    check_depth,
    check_number_text,
    check_yaml_tree,
    load_json,
)

Slug = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$",
        description="An identifier: letters, digits, '.', '_' or '-', starting with a letter or digit.",
    ),
]


def _split_list(value: object) -> object:
    """CSV cells hold lists as 'a; b; c'."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(";") if part.strip()]
    return value


SlugList = Annotated[list[Slug], BeforeValidator(_split_list)]
TextList = Annotated[list[str], BeforeValidator(_split_list)]


#: A decimal whose written-out form has at most CIPD_MAX_NUMBER_DIGITS digits: ``1e300000000``
#: is a short text but three hundred million digits in a graph.
BoundedDecimal = Annotated[Decimal, AfterValidator(check_decimal)]


def _empty_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


# --------------------------------------------------------------------------- vocabularies


class OrganisationKind(StrEnum):
    """The kinds of organisation in the model's wider world."""

    SERVICE_PROVIDER = "service-provider"
    EDUCATIONAL_INSTITUTION = "educational-institution"
    COMMISSIONER = "commissioner"


class TeamKind(StrEnum):
    """How a team is organised (CQ7)."""

    TEAM = "team"
    INTERPROFESSIONAL_TEAM = "interprofessional-team"
    CLINICAL_MICROSYSTEM = "clinical-microsystem"
    COMMUNITY_OF_PRACTICE = "community-of-practice"
    ACTION_LEARNING_SET = "action-learning-set"


class Role(StrEnum):
    """A member's role, matching the notations of cipd:RoleScheme."""

    LEAD = "lead"
    MEMBER = "member"
    IMPROVER = "improver"
    EDUCATOR = "educator"
    FACILITATOR = "facilitator"
    PATIENT_CARER_REPRESENTATIVE = "patient-carer-representative"


class QualityDimension(StrEnum):
    """The three dimensions of quality (notations of cipd:QualityDimensionScheme)."""

    EFFECTIVE = "effective"
    PERSONAL = "personal"
    SAFE = "safe"


class CaipeMode(StrEnum):
    """Learning with, from and about each other."""

    WITH = "with"
    FROM = "from"
    ABOUT = "about"


class ReflectionMode(StrEnum):
    """Reflection in, on or through practice (notations of cipd:ReflectionMode)."""

    IN = "in"
    ON = "on"
    THROUGH = "through"


class Strength(StrEnum):
    """How strongly a module addresses an element (cipd:MappingStrengthScheme)."""

    STRONG = "strong"
    MODERATE = "moderate"
    WEAK = "weak"


class Methodology(StrEnum):
    """Improvement methodologies a project can declare."""

    MODEL_FOR_IMPROVEMENT = "model-for-improvement"
    PDSA = "pdsa"
    EXPERIENCE_BASED_CO_DESIGN = "experience-based-co-design"
    LEAN = "lean"
    SIX_SIGMA = "six-sigma"
    CLINICAL_AUDIT = "clinical-audit"
    OTHER_EVIDENCE_BASED = "evidence-based"


class InvolvedGroup(StrEnum):
    """Who an involvement record counts (notations of cipd:InvolvedGroupScheme)."""

    PATIENTS = "patients"
    CARERS = "carers"


class InvolvementKind(StrEnum):
    """How patients or carers took part (notations of cipd:InvolvementKindScheme)."""

    SHARING_EXPERIENCE = "sharing-experience"
    CO_DESIGNING = "co-designing"
    CO_DELIVERING = "co-delivering"


ActivityKind = Literal[
    "workshop",
    "huddle",
    "action-learning-set",
    "simulation",
    "teaching-session",
    "e-learning",
    "coaching",
    "case-review",
]

# --------------------------------------------------------------------------- project file


class Member(_Record):
    """A person on the project team."""

    person: Slug = Field(description="Person identifier (pseudonymised when loaded).")
    profession: Slug | None = Field(
        default=None,
        description="Profession: an ISCO-backed concept of cipd:ProfessionScheme, by local name "
        "(e.g. Nurse, Physiotherapist) or ISCO-08 code.",
    )
    role: Role = Role.MEMBER
    identifies_as_improver: bool = Field(
        default=False, description="The person has come to see themselves as an improver (CQ6)."
    )
    identifies_as_improver_since: dt.date | None = Field(
        default=None,
        description="Since when the person sees themselves as an improver (implies "
        "identifies_as_improver), so that becoming an improver can be followed over time.",
    )
    start: dt.date | None = Field(
        default=None, description="When the person joined the team in this role."
    )
    end: dt.date | None = Field(default=None, description="When the person left the team.")

    @model_validator(mode="after")
    def _dates(self) -> Member:
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError(f"the membership ends ({self.end}) before it starts ({self.start})")
        _improver_since(self)
        return self


def _improver_since(record: Member | PersonRow) -> None:
    """A date since when someone identifies as an improver contradicts a stated 'false'."""
    if (
        record.identifies_as_improver_since is not None
        and "identifies_as_improver" in record.model_fields_set
        and not record.identifies_as_improver
    ):
        raise ValueError(
            "identifies_as_improver is false, but identifies_as_improver_since gives a date "
            f"({record.identifies_as_improver_since}): leave out one of them"
        )


class Team(_Record):
    """The team that runs the project."""

    id: Slug | None = Field(default=None, description="Defaults to '<project id>-team'.")
    name: str | None = None
    kind: TeamKind = TeamKind.TEAM
    members: list[Member] = Field(min_length=1)


class Observation(_Record):
    """One value of a measure."""

    date: dt.date
    value: BoundedDecimal


class Measure(_Record):
    """A measure the project tracks, with its values over time."""

    id: Slug
    name: str = Field(min_length=1)
    dimension: QualityDimension | None = None
    unit: str | None = None
    baseline: BoundedDecimal | None = None
    target: BoundedDecimal | None = None
    values: list[Observation] = []


class ChangeIdea(_Record):
    """A change the team intends to test."""

    id: Slug
    description: str = Field(min_length=1)


class Stage(_Record):
    """What happened in one stage of a PDSA cycle, and who took part in it."""

    notes: str = Field(min_length=1)
    start: dt.date | None = None
    end: dt.date | None = None
    participants: list[Slug] = Field(
        default=[], description="Who took part in this stage (person ids)."
    )

    @model_validator(mode="before")
    @classmethod
    def _text_shorthand(cls, value: Any) -> Any:
        return {"notes": value} if isinstance(value, str) else value


#: Keys that say who someone is: an involvement record that has them is refused.
_IDENTITY_KEYS = frozenset(
    {
        "name",
        "names",
        "who",
        "people",
        "person",
        "persons",
        "patient",
        "carer",
        "initials",
        "contact",
        "email",
        "phone",
        "address",
        "dob",
        "date_of_birth",
        "nhs_number",
        "identity",
        "participants",
    }
)


class Involvement(_Record):
    """How many patients or carers took part in a PDSA cycle, and how: counts, never who."""

    group: InvolvedGroup = Field(description="patients or carers.")
    kind: InvolvementKind = Field(
        description="How they took part: sharing-experience, co-designing or co-delivering."
    )
    count: int = Field(ge=1, description="How many took part (a number, never who they were).")

    @model_validator(mode="before")
    @classmethod
    def _counts_only(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        for key, item in value.items():
            if key in ("group", "kind") or (key == "count" and not isinstance(item, list)):
                continue
            if key == "count" or str(key).lower() in _IDENTITY_KEYS or _names_like(item):
                raise ValueError(
                    f"involvement records how many patients or carers took part, never who: "
                    f"{key!r} looks like names or other identity; give only group, kind and count"
                )
        return value


def _names_like(value: object) -> bool:
    """Text with letters, or a list of texts: what a name or a list of names looks like."""
    if isinstance(value, list):
        return any(isinstance(v, str) for v in value)
    return isinstance(value, str) and any(c.isalpha() for c in value)


class Cycle(_Record):
    """One PDSA cycle."""

    number: int = Field(ge=1)
    change_idea: Slug | None = None
    prediction: str | None = None
    start: dt.date
    end: dt.date | None = None
    plan: Stage | None = None
    do: Stage | None = None
    study: Stage | None = None
    act: Stage | None = None
    involvement: list[Involvement] = Field(
        default=[],
        description="Patients and carers who took part in the cycle: group, kind and count.",
    )

    @model_validator(mode="after")
    def _dates_in_order(self) -> Cycle:
        """Dates run forward: the cycle's start, each stage in turn (plan, do, study, act), its end.

        Checked here rather than in SHACL: the same rule as a SPARQL-based shape tripled
        validation time (pyshacl evaluates it per cycle with rdflib's engine).
        """
        if self.end is not None and self.end < self.start:
            raise ValueError(
                f"cycle {self.number} ends ({self.end}) before it starts ({self.start})"
            )
        previous = ("the cycle's start", self.start)
        for name in ("plan", "do", "study", "act"):
            stage = getattr(self, name)
            if stage is None:
                continue
            for which, day in (("starts", stage.start), ("ends", stage.end)):
                if day is None:
                    continue
                if day < previous[1]:
                    raise ValueError(
                        f"cycle {self.number}: the {name} stage {which} on {day}, before {previous[0]} ({previous[1]})"
                    )
                previous = (f"the {name} stage {which}", day)
            if self.end is not None and previous[1] > self.end:
                raise ValueError(
                    f"cycle {self.number}: the {name} stage runs past the cycle's end ({self.end})"
                )
        pairs = [(i.group.value, i.kind.value) for i in self.involvement]
        repeated = sorted({f"{g} {k}" for g, k in pairs if pairs.count((g, k)) > 1})
        if repeated:
            raise ValueError(
                f"cycle {self.number}: involvement gives {', '.join(repeated)} more than once; "
                "give one count for each group and kind"
            )
        return self


class LearningActivity(_Record):
    """A learning activity tied to the project."""

    id: Slug
    title: str = Field(min_length=1)
    kind: ActivityKind
    date: dt.date
    modes: list[CaipeMode] = []
    at_work: bool = True
    interprofessional: bool | None = Field(
        default=None,
        description="The recorder's declaration whether this was interprofessional learning "
        "(true or false; left out: not declared). Stored as given and never overridden; "
        "validation warns where it disagrees with the CAIPE definition (two or more "
        "profession families learning with, and from or about, each other).",
    )
    participants: list[Slug] = Field(min_length=1)
    module: Slug | None = None
    cycle: int | None = Field(default=None, ge=1, description="The PDSA cycle it served, if any.")
    team: Slug | None = Field(
        default=None,
        description="The team, clinical microsystem or community of practice it was held for "
        "(a team id: the project's team or one of teams.csv).",
    )


class Reflection(_Record):
    """A recorded reflection in, on or through practice."""

    id: Slug
    mode: ReflectionMode
    by: Slug
    date: dt.date
    cycle: int | None = Field(default=None, ge=1, description="Number of the cycle reflected on.")
    activity: Slug | None = Field(default=None, description="Learning activity reflected on.")
    text: str = Field(min_length=1)


class CoDesigners(_Record):
    """How many patients and carers co-designed: counts only, never identities."""

    patients: int = Field(default=0, ge=0)
    carers: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _someone(self) -> CoDesigners:
        if self.patients + self.carers == 0:
            raise ValueError("co-design needs at least one patient or carer")
        return self


class CoDesign(_Record):
    """Experience-based co-design with patients and carers (CQ8)."""

    id: Slug
    title: str = Field(min_length=1)
    date: dt.date
    touch_points: list[str] = Field(min_length=1)
    co_designers: CoDesigners


class Partner(_Record):
    """An organisation that supports the project."""

    organisation: Slug


class Project(_Record):
    """One improvement project file."""

    id: Slug
    title: str = Field(min_length=1)
    aim: str = Field(min_length=1)
    start: dt.date
    end: dt.date | None = None
    organisation: Slug = Field(description="The service provider hosting the project.")
    team: Team
    quality_dimensions: list[QualityDimension] = []
    methodologies: list[Methodology] = []
    measures: list[Measure] = []
    change_ideas: list[ChangeIdea] = []
    pdsa_cycles: list[Cycle] = []
    learning_activities: list[LearningActivity] = []
    reflections: list[Reflection] = []
    co_design: list[CoDesign] = []
    partners: list[Partner] = []
    claims: list[str] = Field(
        default=[], description="Model elements the team says it embodies (notation or CURIE)."
    )
    addresses: list[str] = Field(
        default=[], description="Opportunities or lessons addressed (e.g. OPP-i, LESSON-4)."
    )

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, end: dt.date | None, info: Any) -> dt.date | None:
        start = info.data.get("start")
        if end is not None and start is not None and end < start:
            raise ValueError(f"end {end} is before start {start}")
        return end

    @model_validator(mode="after")
    def _references(self) -> Project:
        numbers = [c.number for c in self.pdsa_cycles]
        dupes = sorted({n for n in numbers if numbers.count(n) > 1})
        if dupes:
            raise ValueError(f"PDSA cycle numbers must be unique; repeated: {dupes}")
        ideas = {c.id for c in self.change_ideas}
        for cycle in self.pdsa_cycles:
            if cycle.change_idea and cycle.change_idea not in ideas:
                raise ValueError(
                    f"PDSA cycle {cycle.number} tests change idea {cycle.change_idea!r}, "
                    f"which is not among change_ideas ({sorted(ideas)})"
                )
        activity_ids = {a.id for a in self.learning_activities}
        for reflection in self.reflections:
            if reflection.cycle is not None and reflection.cycle not in numbers:
                raise ValueError(
                    f"reflection {reflection.id!r} is on cycle {reflection.cycle}, "
                    "which is not among pdsa_cycles"
                )
            if reflection.activity and reflection.activity not in activity_ids:
                raise ValueError(
                    f"reflection {reflection.id!r} is on activity {reflection.activity!r}, "
                    "which is not among learning_activities"
                )
        for activity in self.learning_activities:
            if activity.cycle is not None and activity.cycle not in numbers:
                raise ValueError(
                    f"learning activity {activity.id!r} serves cycle {activity.cycle}, "
                    "which is not among pdsa_cycles"
                )
        for kind, items in (
            ("measure", self.measures),
            ("change idea", self.change_ideas),
            ("learning activity", self.learning_activities),
            ("reflection", self.reflections),
            ("co-design", self.co_design),
        ):
            ids = [i.id for i in items]
            repeated = sorted({i for i in ids if ids.count(i) > 1})
            if repeated:
                raise ValueError(f"{kind} ids must be unique in a project; repeated: {repeated}")
        return self


# --------------------------------------------------------------------------- CSV rows


class _Row(_Record):
    @model_validator(mode="before")
    @classmethod
    def _blank_cells(cls, value: Any) -> Any:
        if isinstance(value, dict):
            # An empty cell means "not given": drop it so the field's default applies.
            return {k: v for k, v in value.items() if _empty_is_none(v) is not None}
        return value


class OrganisationRow(_Row):
    """organisations.csv: id, name, kind."""

    id: Slug
    name: str = Field(min_length=1)
    kind: OrganisationKind


class PersonRow(_Row):
    """people.csv: id, profession, name, identifies_as_improver, identifies_as_improver_since
    (all but id optional)."""

    id: Slug
    profession: Slug | None = None
    name: str | None = Field(default=None, description="Kept apart and left out of exports.")
    identifies_as_improver: bool = False
    identifies_as_improver_since: dt.date | None = Field(
        default=None,
        description="Since when the person sees themselves as an improver (implies "
        "identifies_as_improver).",
    )

    @model_validator(mode="after")
    def _since(self) -> PersonRow:
        _improver_since(self)
        return self


class TeamRow(_Row):
    """teams.csv: id, name, kind, organisation, members ('a; b; c')."""

    id: Slug
    name: str = Field(min_length=1)
    kind: TeamKind = TeamKind.TEAM
    organisation: Slug | None = None
    members: SlugList = Field(min_length=1)


class ProgrammeRow(_Row):
    """programmes.csv: id, title, institution, commissioned_by (optional)."""

    id: Slug
    title: str = Field(min_length=1)
    institution: Slug
    commissioned_by: SlugList = Field(
        default=[], description="Commissioners that planned and paid for it ('a; b')."
    )


class ModuleRow(_Row):
    """modules.csv: id, code, title, institution, programmes, credits, linked_projects,
    co_delivered_by and commissioned_by (optional)."""

    id: Slug
    code: str | None = None
    title: str = Field(min_length=1)
    institution: Slug = Field(description="The educational institution offering the module.")
    programmes: SlugList = []
    credits: int | None = Field(default=None, ge=0)
    linked_projects: SlugList = []
    co_delivered_by: SlugList = Field(
        default=[],
        description="Other organisations that deliver it with the institution, such as a "
        "trust ('a; b').",
    )
    commissioned_by: SlugList = Field(
        default=[], description="Commissioners that planned and paid for it ('a; b')."
    )

    @model_validator(mode="after")
    def _providers(self) -> ModuleRow:
        if self.institution in self.co_delivered_by:
            raise ValueError(
                f"co_delivered_by names {self.institution!r}, the module's institution: "
                "list only the other organisations"
            )
        for name, ids in (
            ("co_delivered_by", self.co_delivered_by),
            ("commissioned_by", self.commissioned_by),
        ):
            repeated = sorted({i for i in ids if ids.count(i) > 1})
            if repeated:
                raise ValueError(f"{name} names {repeated} more than once")
        return self


class MappingRow(_Row):
    """mappings.csv: module, element, strength, justification, mapped_by."""

    module: Slug
    element: str = Field(min_length=1, description="A model element: notation, CURIE or name.")
    strength: Strength
    justification: str = Field(min_length=1)
    mapped_by: Slug


class PartnershipRow(_Row):
    """partnerships.csv: id, name, members, supports_projects, supports_modules."""

    id: Slug
    name: str = Field(min_length=1)
    members: SlugList = Field(min_length=2)
    supports_projects: SlugList = []
    supports_modules: SlugList = []


TABLES: dict[str, type[_Row]] = {
    "organisations": OrganisationRow,
    "people": PersonRow,
    "teams": TeamRow,
    "programmes": ProgrammeRow,
    "modules": ModuleRow,
    "mappings": MappingRow,
    "partnerships": PartnershipRow,
}

# --------------------------------------------------------------------------- parsing

T = TypeVar("T")


@dataclass(frozen=True)
class Located(Generic[T]):
    """A parsed record with where it came from."""

    record: T
    line: int
    label: str


@dataclass(frozen=True)
class RecordFile:
    """A parsed source file: its kind and its records, each with its line."""

    path: Path
    kind: str  # "project" or a table name
    records: tuple[Located[Any], ...]
    root: yaml.Node | None = None  # the YAML node tree of a project file, for line numbers
    sha256: str = ""  # digest of the very bytes that were parsed (recorded in provenance)

    def line_of(self, *loc: int | str) -> int | None:
        """The line of the value at ``loc`` (e.g. ``"pdsa_cycles", 1``) in a project file."""
        return _yaml_line(self.root, loc) if self.root is not None else None


class _Yaml12Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans and no implicit timestamps.

    YAML 1.1 reads ``mode: on`` as ``True`` (reflection modes are literally 'in' and 'on'),
    and turns ``2024-13-01`` into a crash rather than a located error; here both stay
    strings, and pydantic checks dates with the field and line in its message.
    """


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


class _Yaml12CLoader(yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader):  # type: ignore[misc]
    """The same rules as :class:`_Yaml12Loader` over libyaml's parser (about 10x faster)."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        # A plain scalar's tag depends only on its text (this loader has no path
        # resolvers): short texts, which repeat (codes, enums, dates), are resolved once.
        if kind is yaml.ScalarNode and implicit[0] and len(value) <= _CACHED_SCALAR:
            return _implicit_tag(value)
        return super().resolve(kind, value, implicit)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """A mapping, refusing a key written twice (the last would silently win); keys a
        merge (``<<``) brings in may be overridden, as YAML says."""
        seen: set[tuple[str, str]] = set()
        for key, _value in node.value:
            if key.__class__ is not yaml.ScalarNode or key.tag == "tag:yaml.org,2002:merge":
                continue
            pair = (key.tag, key.value)
            if pair in seen:
                first = next(k for k, _v in node.value if k is not key and (k.tag, k.value) == pair)
                raise InputRefusedError(
                    f"the key {key.value!r} is written twice in one mapping "
                    f"(first on line {first.start_mark.line + 1})",
                    key.start_mark.line + 1,
                )
            seen.add(pair)
        return super().construct_mapping(node, deep)  # type: ignore[no-any-return]

    def _bounded_number(self, node: yaml.ScalarNode, build: Any) -> Any:
        try:
            check_number_text(node.value.replace("_", ""))
        except InputRefusedError as exc:
            raise InputRefusedError(exc.reason, node.start_mark.line + 1) from None
        return build(self, node)


_Yaml12CLoader.add_constructor(
    "tag:yaml.org,2002:int",
    lambda loader, node: loader._bounded_number(node, yaml.SafeLoader.construct_yaml_int),
)
_Yaml12CLoader.add_constructor(
    "tag:yaml.org,2002:float",
    lambda loader, node: loader._bounded_number(node, yaml.SafeLoader.construct_yaml_float),
)

_CACHED_SCALAR = 40


@lru_cache(maxsize=8192)
def _implicit_tag(value: str) -> str:
    """The tag YAML 1.2 rules (:class:`_Yaml12Loader`) give a plain scalar ``value``."""
    tag: str = yaml.resolver.BaseResolver.resolve(  # type: ignore[no-untyped-call]
        _Yaml12Loader,  # type: ignore[arg-type]  # only its class attributes are read
        yaml.ScalarNode,
        value,
        (True, False),
    )
    return tag


_Yaml12CLoader.yaml_implicit_resolvers = _Yaml12Loader.yaml_implicit_resolvers


def _compose_and_construct(text: str) -> tuple[yaml.Node | None, Any]:
    """Parse YAML once: the node tree (for line numbers) and the Python data built from it."""
    loader = _Yaml12CLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, None
        if "*" in text:  # an alias may be there: see what it expands to before building it
            check_yaml_tree(root)
        data = loader.construct_document(root)
    finally:
        loader.dispose()
    try:
        check_depth(data)
    except InputRefusedError:
        check_yaml_tree(root)  # which says on which line
        raise
    return root, data


def _field_path(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(record)"


def _yaml_line(node: yaml.Node | None, loc: Sequence[int | str]) -> int | None:
    """The line of the YAML node at ``loc``, or of its closest ancestor."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            child = _mapping_values(node).get(part) if isinstance(part, str) else None
            if child is None:
                return line
            node = child
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
        else:
            return line
        line = node.start_mark.line + 1
    return line


def _mapping_values(node: yaml.MappingNode) -> dict[str, yaml.Node]:
    """A mapping node's values by the text of their (scalar) keys, the first of each; kept
    on the node, since the mapper asks for the lines of many values of the same mappings."""
    values: dict[str, yaml.Node] | None = getattr(node, "_cipd_values", None)
    if values is None:
        values = {}
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode):
                values.setdefault(k.value, v)
        node._cipd_values = values  # type: ignore[attr-defined]
    return values


def _problems(
    exc: ValidationError, path: Path, record: str, line_of: Any
) -> Iterator[RecordProblem]:
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field (check its spelling; extra fields are refused)"
        elif error["type"] == "missing":
            message = "required field is missing"
        yield RecordProblem(str(path), line_of(loc), record, _field_path(loc), message)


def _digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def parse_project(path: Path) -> RecordFile:
    """Parse one project file (YAML or JSON)."""
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordError(
            [RecordProblem(str(path), None, "file", "", f"cannot read: {exc}")]
        ) from exc
    try:
        if path.suffix.lower() == ".json":
            data = load_json(text)
            root: yaml.Node | None = None
        else:
            root, data = _compose_and_construct(text)
    except InputRefusedError as exc:  # a limit, or a key written twice
        raise RecordError([RecordProblem(str(path), exc.line, "file", "", exc.reason)]) from exc
    except RecursionError as exc:  # e.g. "[[[[..." thousands deep: the parsers recurse
        raise RecordError(
            [RecordProblem(str(path), None, "file", "", "nested too deeply to be a project record")]
        ) from exc
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        line = line + 1 if line is not None else getattr(exc, "lineno", None)
        if isinstance(exc, yaml.MarkedYAMLError):  # one line, without the marks' own text
            why = ": ".join(str(p) for p in (exc.context, exc.problem) if p)
        else:
            why = str(exc)
        raise RecordError(
            [
                RecordProblem(
                    str(path), line, "file", "", f"not valid {path.suffix[1:].upper()}: {why}"
                )
            ]
        ) from exc
    if not isinstance(data, dict):
        raise RecordError(
            [
                RecordProblem(
                    str(path), 1, "file", "", "a project file must hold one mapping (key: value)"
                )
            ]
        )
    label = f"project {data.get('id', '?')}"
    try:
        project = Project.model_validate(data)
    except ValidationError as exc:
        raise RecordError(
            list(_problems(exc, path, label, lambda loc: _yaml_line(root, loc)))
        ) from exc
    return RecordFile(
        path, "project", (Located(project, 1, f"project {project.id}"),), root, _digest(raw)
    )


def table_kind(path: Path) -> str:
    """The table a CSV file holds, from its name (``people.csv``, ``2024-modules.csv``...)."""
    stem = path.stem.lower()
    for name in TABLES:
        if stem == name or stem.endswith(f"-{name}") or stem.endswith(f"_{name}"):
            return name
    raise RecordError(
        [
            RecordProblem(
                str(path),
                None,
                "file",
                "",
                f"cannot tell which table this is: name the file after one of {sorted(TABLES)} "
                "(e.g. people.csv or trust-people.csv)",
            )
        ]
    )


def _table_text(path: Path) -> tuple[bytes, str]:
    """A table's bytes and its text: UTF-8 (a BOM allowed), without NUL characters."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RecordError(
            [RecordProblem(str(path), None, "file", "", f"cannot read: {exc.strerror or exc}")]
        ) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise RecordError(
            [
                RecordProblem(
                    str(path),
                    line,
                    "file",
                    "",
                    f"not UTF-8 text: byte 0x{raw[exc.start]:02x} cannot start or continue a "
                    "character; save the table as UTF-8",
                )
            ]
        ) from exc
    nul = text.find("\x00")
    if nul >= 0:
        raise RecordError(
            [
                RecordProblem(
                    str(path),
                    text.count("\n", 0, nul) + 1,
                    "file",
                    "",
                    "holds a NUL character: not a text table (was it saved as UTF-16 or binary?)",
                )
            ]
        )
    return raw, text


def _check_header(path: Path, kind: str, model: type[_Row], fields: Sequence[str]) -> None:
    expected = set(model.model_fields)
    unknown = [f for f in fields if f not in expected]
    required = [n for n, f in model.model_fields.items() if f.is_required()]
    missing = [f for f in required if f not in fields]
    repeated = sorted({f for f in fields if list(fields).count(f) > 1})
    if unknown or missing or repeated:
        detail = []
        if missing:
            detail.append(f"missing column(s) {missing}")
        if unknown:
            detail.append(f"unknown column(s) {unknown}")
        if repeated:
            detail.append(f"column(s) named twice {repeated}")
        raise RecordError(
            [
                RecordProblem(
                    str(path),
                    1,
                    "header",
                    "",
                    "; ".join(detail)
                    + f"; the {kind} table has columns {list(model.model_fields)}",
                )
            ]
        )


def parse_table(path: Path) -> RecordFile:
    """Parse one CSV table; its kind comes from the file name.

    Malformed CSV is refused with its line: a quote left open (which would swallow the rest
    of the file into one cell), text after a closing quote, rows with more or fewer cells
    than the header has columns, NUL characters, text that is not UTF-8."""
    kind = table_kind(path)
    model = TABLES[kind]
    problems: list[RecordProblem] = []
    records: list[Located[Any]] = []
    raw, text = _table_text(path)
    line = 1
    with io.StringIO(text, newline="") as handle:
        reader = csv.DictReader(handle, strict=True)
        try:
            fields = reader.fieldnames or []
            _check_header(path, kind, model, fields)
            seen: dict[str, int] = {}
            for row in reader:
                line = reader.line_num
                key = next(iter(row.values()), "") or "?"
                label = (
                    f"row {key}"
                    if kind != "mappings"
                    else f"mapping {row.get('module')} -> {row.get('element')}"
                )
                if None in row:
                    problems.append(
                        RecordProblem(
                            str(path),
                            line,
                            label,
                            "",
                            f"more cells than the {len(fields)} columns of the header",
                        )
                    )
                    continue
                if None in row.values():
                    given = sum(v is not None for v in row.values())
                    problems.append(
                        RecordProblem(
                            str(path),
                            line,
                            label,
                            "",
                            f"{given} cell(s) where the header has {len(fields)} columns "
                            "(an empty cell is written as nothing between two commas)",
                        )
                    )
                    continue
                try:
                    record = model.model_validate(row)
                except ValidationError as exc:
                    problems.extend(_problems(exc, path, label, lambda _loc, n=line: n))
                    continue
                identity = (
                    getattr(record, "id", None) or f"{row.get('module')}|{row.get('element')}"
                )
                if identity in seen:
                    problems.append(
                        RecordProblem(
                            str(path),
                            line,
                            label,
                            "id",
                            f"duplicate of the record on line {seen[identity]}",
                        )
                    )
                    continue
                seen[identity] = line
                records.append(Located(record, line, label))
        except csv.Error as exc:
            where = reader.line_num + 1  # the record that failed starts after the lines read
            reason = str(exc)
            if "unexpected end of data" in reason:
                reason = (
                    "a quoted cell is never closed: the quote opened in this row runs to the end "
                    'of the file (close it with a second ")'
                )
            raise RecordError(
                [*problems, RecordProblem(str(path), where, "file", "", f"not valid CSV: {reason}")]
            ) from exc
    if problems:
        raise RecordError(problems)
    if not records:
        raise RecordError([RecordProblem(str(path), None, "file", "", "the table has no rows")])
    return RecordFile(path, kind, tuple(records), sha256=_digest(raw))


PROJECT_SUFFIXES = (".yaml", ".yml", ".json")


def parse_file(path: Path) -> RecordFile:
    """Parse a record file of any supported kind, by its suffix."""
    suffix = path.suffix.lower()
    if suffix in PROJECT_SUFFIXES:
        return parse_project(path)
    if suffix == ".csv":
        return parse_table(path)
    raise RecordError(
        [
            RecordProblem(
                str(path), None, "file", "", "unsupported file type: use .yaml, .yml, .json or .csv"
            )
        ]
    )


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema of every record format, by file name in ``schemas/``."""
    schemas = {"project.schema.json": Project.model_json_schema()}
    for name, model in TABLES.items():
        schemas[f"{name}.schema.json"] = model.model_json_schema()
    for name, schema in schemas.items():
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://w3id.org/cipd/schemas/{name}"
    return schemas
