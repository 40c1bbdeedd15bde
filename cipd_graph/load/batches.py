"""Batches: one mapped file each, written to its own named graphs with its provenance.

A file's batch graph is named from where the file is (so loading it again replaces it);
beside it, ``<batch>/names`` holds people's names and ``<batch>/provenance`` says, in
PROV-O, what was loaded, from which file (its name as the user gave it, never the machine's
absolute path), when, by whom (``CIPD_USER``, or nobody named) and with which tool.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import FOAF, PROV, RDF, RDFS, XSD

from cipd_graph._errors import RecordProblem
from cipd_graph._ontology import CIPD
from cipd_graph._rdf import iri_ok, ntriples_terms, oxigraph_triples, triples_of
from cipd_graph.load.result import BatchSummary
from cipd_graph.mapping import MappedFile, record_graph
from cipd_graph.store import GraphLayout, Store

TOOL_VERSION = "0.1.0"
#: Who loaded a batch when ``CIPD_USER`` is not set: nobody named (the OS account is never read).
NOBODY = "unnamed user"
#: Classes whose instances one file defines; another file defining the same IRI is an error.
ENTITY_CLASSES = (
    CIPD.ImprovementProject,
    CIPD.ServiceProvider,
    CIPD.EducationalInstitution,
    CIPD.Commissioner,
    CIPD.Module,
    CIPD.Programme,
    CIPD.Partnership,
    CIPD.Team,
    CIPD.ClinicalMicrosystem,
    CIPD.InterprofessionalTeam,
    CIPD.CommunityOfPractice,
    CIPD.ActionLearningSet,
    CIPD.CompetencyFramework,
)


def batch_graph(layout: GraphLayout, path: Path) -> str:
    """The named graph a source file is loaded into (stable for the file's location)."""
    key = str(path.resolve())
    return layout.source_prefix + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def display_path(path: Path) -> str:
    """``path`` as provenance records it: relative to the working folder when inside it,
    otherwise the file's name alone (an absolute path would show the machine's folders).

    >>> display_path(Path("/srv/private/records/ward7.yaml"))
    'ward7.yaml'
    """
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return path.name


def provenance(m: MappedFile, graph: str, user: str, now: str, base: str) -> Graph:
    """The provenance graph of batch ``graph``, loaded from ``m``'s file by ``user`` at ``now``."""
    prov = record_graph()
    batch = URIRef(graph)
    source = URIRef(graph + "/provenance#file")
    load = URIRef(graph + "/provenance#load")
    tool = URIRef(base + "agent/cipd-graph")
    who = URIRef(base + "agent/user/" + re.sub(r"[^A-Za-z0-9._-]", "-", user))
    at = Literal(now, datatype=XSD.dateTime)
    prov.add((batch, RDF.type, CIPD.RecordBatch))
    prov.add((batch, PROV.wasDerivedFrom, source))
    prov.add((batch, PROV.wasGeneratedBy, load))
    prov.add((batch, PROV.generatedAtTime, at))
    prov.add((batch, CIPD.tripleCount, Literal(len(m.graph), datatype=XSD.nonNegativeInteger)))
    prov.add((source, RDF.type, CIPD.SourceFile))
    prov.add((source, CIPD.sourcePath, Literal(display_path(m.source.path))))
    prov.add((source, CIPD.sha256, Literal(m.source.sha256)))
    prov.add((source, CIPD.recordKind, Literal(m.source.kind)))
    prov.add((load, RDF.type, CIPD.LoadActivity))
    prov.add((load, PROV.startedAtTime, at))
    prov.add((load, PROV.used, source))
    prov.add((load, PROV.wasAssociatedWith, tool))
    prov.add((load, PROV.wasAssociatedWith, who))
    prov.add((load, CIPD.toolVersion, Literal(TOOL_VERSION)))
    prov.add((tool, RDF.type, PROV.SoftwareAgent))
    prov.add((tool, RDFS.label, Literal(f"cipd-graph {TOOL_VERSION}")))
    prov.add((who, RDF.type, PROV.Agent))
    prov.add((who, RDFS.label, Literal(user)))
    for triple in triples_of(m.provenance):  # what the reader recorded (xAPI statement ids)
        prov.add(triple)
    return prov


def loader(configured: str | None) -> str:
    """Who a load's provenance names: ``CIPD_USER``, or nobody named."""
    return configured or NOBODY


def _skolem(triples: list[ox.Triple], graph: str) -> list[ox.Triple]:
    """``triples`` with each blank node replaced by an IRI under the batch graph: the union
    keeps each triple once, which a blank node (fresh in every graph) would defeat."""

    def name(node: Any) -> Any:
        if isinstance(node, ox.BlankNode):
            return ox.NamedNode(f"{graph}/genid/{node.value}")
        return node

    if not any(
        isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode) for t in triples
    ):
        return triples
    return [ox.Triple(name(t.subject), t.predicate, name(t.object)) for t in triples]


def batch_contents(
    m: MappedFile, graph: str, layout: GraphLayout, user: str, now: str
) -> dict[str, list[ox.Triple]]:
    """The graphs a batch writes (records, names, provenance) and their triples."""
    return {
        graph: _skolem(oxigraph_triples(m.graph), graph),
        layout.names(graph): oxigraph_triples(m.names),
        layout.provenance(graph): oxigraph_triples(provenance(m, graph, user, now, layout.base)),
    }


def batch_nquads(
    mapped: Sequence[MappedFile], layout: GraphLayout, user: str, now: str, *, union: bool
) -> bytes:
    """The quads a staged load writes for ``mapped`` (records, names and provenance graphs,
    and with ``union`` each record triple again in the default graph), as N-Quads text
    written straight from the mapped graphs.

    Each distinct term is checked and written once, by pyoxigraph (an IRI or a language
    tag it would refuse fails here as it would in ``ox.NamedNode``); each line is then
    plain string formatting, several times faster than building a pyoxigraph quad per
    triple and serialising those.
    """
    term = ntriples_terms()
    lines: list[str] = []
    for m in mapped:
        graph = batch_graph(layout, m.source.path)
        parts = [
            (m.graph, graph),
            (m.names, layout.names(graph)),
            (provenance(m, graph, user, now, layout.base), layout.provenance(graph)),
        ]
        for data, name in parts:
            end = f" {ox.NamedNode(name)} .\n"
            lines.extend(f"{term(s)} {term(p)} {term(o)}{end}" for s, p, o in triples_of(data))
        if union:
            lines.extend(f"{term(s)} {term(p)} {term(o)} .\n" for s, p, o in triples_of(m.graph))
    return "".join(lines).encode()


def summaries(
    mapped: Sequence[MappedFile], graphs: dict[str, str], existing: Collection[str]
) -> list[BatchSummary]:
    """What a load does with each mapped file; ``graphs``: path -> batch graph."""
    return [
        BatchSummary(
            str(m.source.path),
            graphs[str(m.source.path)],
            m.source.kind,
            len(m.source.records),
            len(m.graph) + len(m.names),
            graphs[str(m.source.path)] in existing,
        )
        for m in mapped
    ]


@dataclass(frozen=True)
class Entity:
    """An entity a mapped file defines (an instance of one of ``ENTITY_CLASSES``)."""

    iri: str
    path: str
    line: int | None
    label: str

    def problem(self, reason: str) -> RecordProblem:
        """A problem with the entity's id, placed at its record."""
        return RecordProblem(self.path, self.line, self.label, "id", reason)


def entities_of(mapped: Sequence[MappedFile]) -> list[Entity]:
    """The entities ``mapped`` define, file by file and class by class."""
    entities: list[Entity] = []
    for m in mapped:
        path = str(m.source.path)
        # People are defined by people tables only (project files mention them as members).
        for cls in (*ENTITY_CLASSES, FOAF.Person) if m.source.kind == "people" else ENTITY_CLASSES:
            for s in m.graph.subjects(RDF.type, cls):
                line, label = m.records.get(str(s), (None, str(s)))
                entities.append(Entity(str(s), path, line, label))
    return entities


def source_path(store: Store, graph: str) -> str:
    """The file a stored batch was loaded from, as its provenance names it."""
    rows = store.select(
        "PREFIX prov: <http://www.w3.org/ns/prov#> PREFIX cipd: <https://w3id.org/cipd#> "
        f"SELECT ?path WHERE {{ GRAPH <{iri_ok(graph)}/provenance> {{ <{graph}> prov:wasDerivedFrom ?f . "
        "?f cipd:sourcePath ?path } }"
    )
    return rows[0]["path"].value if rows else graph


def duplicate_problems(
    store: Store,
    entities: Sequence[Entity],
    graphs: dict[str, str],
    owners: dict[str, str] | None = None,
    ours: Collection[str] = (),
) -> list[RecordProblem]:
    """Entities defined twice: in two of the files being loaded, in a file of ``owners``
    (entity IRI -> file: the earlier chunks of a staged load) or in a stored batch that the
    load does not replace (``graphs``: path -> batch graph of the files; ``ours``: every
    batch graph of the load)."""
    problems: list[RecordProblem] = []
    owners = {} if owners is None else owners
    owner: dict[str, Entity] = {}
    for entity in entities:
        first = owners.setdefault(entity.iri, entity.path)
        owner.setdefault(entity.iri, entity)
        if first != entity.path:
            problems.append(
                entity.problem(f"also defined in {first}; each entity is defined in one file")
            )
    if not owner:
        return problems
    replaced = set(graphs.values()) | set(ours)
    values = " ".join(f"<{iri_ok(iri)}>" for iri in owner)
    # The classes as a filter, not a VALUES block: given ?c, Oxigraph reads every instance
    # of each class and joins (0.47 s a chunk at 10,000 projects, growing with the store);
    # given only ?s, it looks each one up (0.01 s).
    classes = ", ".join(f"<{c}>" for c in ENTITY_CLASSES)
    rows = store.select(
        f"SELECT DISTINCT ?s ?g WHERE {{ VALUES ?s {{ {values} }} "
        f"GRAPH ?g {{ ?s a ?c }} FILTER(?c IN ({classes})) }}"
    )
    # A person is defined by a people table (project files only mention people): one already
    # defined by another stored people table would get two names.
    people = [iri for iri in owner if iri.startswith(store.base + "person/")]
    if people:
        rows += store.select(
            "PREFIX prov: <http://www.w3.org/ns/prov#> PREFIX cipd: <https://w3id.org/cipd#> "
            f"SELECT DISTINCT ?s ?g WHERE {{ VALUES ?s {{ {' '.join(f'<{iri_ok(i)}>' for i in people)} }} "
            f"GRAPH ?g {{ ?s a <{FOAF.Person}> }} "
            'GRAPH ?pg { ?g prov:wasDerivedFrom ?f . ?f cipd:recordKind "people" } }'
        )
    for row in rows:
        graph = row["g"].value
        if graph in replaced or not store.layout.is_record(graph):
            continue
        reason = f"already loaded from {source_path(store, graph)}; change the id or drop that file first"
        problems.append(owner[row["s"].value].problem(reason))
    return problems


def subject_iris(mapped: Sequence[MappedFile], base: str) -> list[str]:
    """The IRIs under ``base`` that are subjects of ``mapped`` (of their record graphs), each once."""
    return sorted(
        {
            str(s)
            for m in mapped
            for s, _, _ in triples_of(m.graph)
            if isinstance(s, URIRef) and str(s).startswith(base)
        }
    )


def mentioned_iris(mapped: Sequence[MappedFile], base: str) -> set[str]:
    """The IRIs under ``base`` that ``mapped`` mention, as subject or object."""
    mentioned: set[str] = set()
    for m in mapped:
        for s, _, o in triples_of(m.graph):
            for node in (s, o):
                if isinstance(node, URIRef) and str(node).startswith(base):
                    mentioned.add(str(node))
    return mentioned


def now_utc() -> str:
    """The time a load is recorded at, in UTC, to the second."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
