"""Practice-to-learning links of a scope, each with why it is there (CQ5, CQ14).

The links are derived at load by ``rules/60-practice-learning-links.rq``: a direct link from
a practice record (an improvement project or one of its PDSA cycles) to a learning record (a
learning activity, a module or a reflection), made where one record names the other, with its
kind, its strength and the records that carry it. Paths through shared model concepts (two
records that target the same quality dimension, say) are never links. This module reads them
for a scope and says, for each, which records make it and how strongly.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from cipd_graph.analytics._graphs import Scope, scope_modules, scope_projects, select
from cipd_graph.graph import GraphStore

#: The definition of evidence, as the report, the dashboard and the API state it.
DEFINITION = (
    "A practice-to-learning link is a direct link that the records themselves make, from an "
    "improvement project or one of its PDSA cycles to a learning activity, a module or a "
    "reflection: one record names the other (an activity recorded for the project or informed "
    "by one of its cycles, a reflection on the project or a cycle, a module whose record names "
    "the project). It is strong when at least one person took part in both records, moderate "
    "when no one is recorded in both, and weak when the two are linked through one intermediate "
    "record (an activity of the project delivered in a module, a module delivered to the "
    "project's team). Paths through shared model concepts (the same quality dimension, model "
    "element or strand) never count."
)

_RECORD_KINDS = {
    "https://w3id.org/cipd#ImprovementProject": "project",
    "https://w3id.org/cipd#PDSACycle": "cycle",
    "https://w3id.org/cipd#LearningActivity": "activity",
    "https://w3id.org/cipd#Module": "module",
    "https://w3id.org/cipd#Reflection": "reflection",
    "https://w3id.org/cipd#Team": "team",
    "https://w3id.org/cipd#InterprofessionalTeam": "team",
    "https://w3id.org/cipd#ClinicalMicrosystem": "team",
    "https://w3id.org/cipd#CommunityOfPractice": "team",
}

_LINKS = """
SELECT ?link ?project ?from ?to ?kind ?kindLabel ?kindDefinition ?strength ?strengthLabel
       ?strengthDefinition ?weight ?via WHERE {
  #+ bind
  ?link a cipd:PracticeLearningLink ; cipd:fromPractice ?from ; cipd:toLearning ?to ;
    cipd:linkKind ?kindConcept ; cipd:linkStrength ?strengthConcept .
  { ?from a cipd:ImprovementProject . BIND(?from AS ?project) } UNION { ?from cipd:isCycleOf ?project }
  ?kindConcept skos:notation ?kind ; rdfs:label ?kindLabel ; skos:definition ?kindDefinition .
  ?strengthConcept skos:notation ?strength ; rdfs:label ?strengthLabel ;
    skos:definition ?strengthDefinition ; cipd:strengthWeight ?weight .
  OPTIONAL { ?link cipd:linkedRecord ?via . FILTER(?via != ?from && ?via != ?to) }
}
"""

_RECORDS = """
SELECT ?r ?type ?label ?number ?projectTitle WHERE {
  #+ bind
  ?r a ?type .
  OPTIONAL { ?r rdfs:label|dcterms:title ?label }
  OPTIONAL { ?r cipd:cycleNumber ?number ; cipd:isCycleOf/dcterms:title ?projectTitle }
}
"""


@dataclass(frozen=True)
class LinkedRecord:
    """A record a link joins or passes through: its IRI, what it is and a label to show (no
    person's name: a reflection is shown by its id)."""

    iri: str
    kind: str
    label: str


@dataclass(frozen=True)
class LearningLink:
    """One practice-to-learning link and why it is there."""

    iri: str
    #: The project the practice record is (or is a cycle of).
    project: str
    source: LinkedRecord
    target: LinkedRecord
    #: The record between them, for a weak link (an activity, a team).
    via: list[LinkedRecord]
    kind: str
    kind_label: str
    strength: str
    strength_label: str
    #: 3 strong, 2 moderate, 1 weak.
    weight: int
    #: Why the link is there, in a sentence: how the records make it and how strongly.
    why: str


@dataclass(frozen=True)
class LearningLinks:
    """The practice-to-learning links of a scope, strongest first, with counts by kind and by
    strength and the definition of what counts as a link."""

    scope: Scope
    links: list[LearningLink]
    by_kind: dict[str, int]
    by_strength: dict[str, int]
    definition: str


def link_order(link: LearningLink) -> tuple[int, str, str, str, str, str]:
    """Where ``link`` comes in a scope's list: strongest first, then by project, kind, the
    two records and the link itself (one place for each link, so pages can follow it)."""
    return (-link.weight, link.project, link.kind, link.source.iri, link.target.iri, link.iri)


def _id(store: GraphStore, iri: str) -> str:
    return iri.rsplit("/", 1)[-1] if iri.startswith(store.base) else iri


def _records(store: GraphStore, iris: set[str]) -> dict[str, LinkedRecord]:
    found: dict[str, LinkedRecord] = {}
    rows = select(store, _RECORDS, r=sorted(iris)) if iris else []
    for row in sorted(rows, key=lambda r: (r["r"], r.get("label", ""))):
        kind = _RECORD_KINDS.get(row["type"])
        if kind is None or row["r"] in found:
            continue
        iri = row["r"]
        if kind == "cycle":
            title = row.get("projectTitle", _id(store, iri))
            label = f"PDSA cycle {row.get('number', '?')} of {title!r}"
        elif kind == "reflection":
            label = f"reflection {_id(store, iri)}"
        else:
            label = row.get("label") or _id(store, iri)
        found[iri] = LinkedRecord(iri, kind, label)
    for iri in iris - set(found):
        found[iri] = LinkedRecord(iri, "record", _id(store, iri))
    return found


_NOUNS = {"project": "project", "activity": "learning activity", "module": "module", "team": "team"}


def _named(record: LinkedRecord) -> str:
    """A record as the sentence names it: 'project 'Title'', 'PDSA cycle 2 of 'Title''."""
    noun = _NOUNS.get(record.kind)
    return f"{noun} {record.label!r}" if noun else record.label


def _why(
    *,
    source: LinkedRecord,
    target: LinkedRecord,
    via: list[LinkedRecord],
    kind_label: str,
    strength_label: str,
    strength_definition: str,
) -> str:
    through = f", through {' and '.join(_named(v) for v in via)}" if via else ""
    return (
        f"{kind_label}: from {_named(source)} to {_named(target)}{through}. "
        f"{strength_label}: {strength_definition[0].lower()}{strength_definition[1:]}"
    )


def learning_links(store: GraphStore, scope: Scope) -> LearningLinks:
    """The practice-to-learning links of ``scope``: for a project or a team, the links of its
    projects and their cycles; for a programme, the links to its modules; for an organisation,
    the links of the projects it hosts and the links to the modules it provides."""
    rows: list[dict[str, str]] = []
    if scope.kind == "all":
        rows = select(store, _LINKS)
    elif scope.kind in ("project", "team"):
        projects = scope_projects(store, scope)
        rows = select(store, _LINKS, project=projects) if projects else []
    else:
        assert scope.iri is not None
        if scope.kind == "organisation":
            hosted = select(store, "SELECT ?p WHERE { #+ bind ?p cipd:hostedBy ?o }", o=scope.iri)
            projects = sorted({r["p"] for r in hosted})
            rows = select(store, _LINKS, project=projects) if projects else []
        modules = scope_modules(store, scope, [])
        if modules:
            rows += select(store, _LINKS, to=modules)
    grouped: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        grouped.setdefault(row["link"], []).append(row)
    iris = {row[k] for row in rows for k in ("from", "to", "via") if k in row}
    records = _records(store, iris)
    links = []
    for iri, group in grouped.items():
        row = group[0]
        via = sorted(
            {records[r["via"]] for r in group if "via" in r}, key=lambda v: (v.kind, v.label)
        )
        source, target = records[row["from"]], records[row["to"]]
        links.append(
            LearningLink(
                iri=iri,
                project=row["project"],
                source=source,
                target=target,
                via=via,
                kind=row["kind"],
                kind_label=row["kindLabel"],
                strength=row["strength"],
                strength_label=row["strengthLabel"],
                weight=int(row["weight"]),
                why=_why(
                    source=source,
                    target=target,
                    via=via,
                    kind_label=row["kindLabel"],
                    strength_label=row["strengthLabel"],
                    strength_definition=row["strengthDefinition"],
                ),
            )
        )
    links.sort(key=link_order)
    return LearningLinks(
        scope=scope,
        links=links,
        by_kind=dict(sorted(Counter(x.kind for x in links).items())),
        by_strength={
            s: n
            for s in ("strong", "moderate", "weak")
            if (n := sum(1 for x in links if x.strength == s))
        },
        definition=DEFINITION,
    )
