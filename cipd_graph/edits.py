"""Edits of a module's mappings, one at a time (the library behind the workbench and the API's
mapping routes): checked by SHACL, written through the load
pipeline, recorded with PROV-O, and undoable.

Every edit (add, change or remove one mapping, replace them all, undo) is one call to
:meth:`GraphStore.edit <cipd_graph.graph.GraphStore.edit>`, so it is one transaction and
derives incrementally what it touches. The module's mappings are moved, whole, into the API's
graph of the module (``<base>graph/api/module-mappings/<module>``): they leave whichever
record graph held them (a loaded ``mappings.csv``, an earlier edit).

Before writing, the new mappings are made by the same :class:`~cipd_graph.mapping.Mapper` a
``mappings.csv`` row goes through and validated with the project's SHACL shapes against what
the store says about what they mention; each error comes back as a :class:`Problem` naming
the field (the shape's ``(column: ...)``), so a form can show it beside the field.

The same transaction adds to the module's provenance graph (``.../<module>/provenance``,
readable over SPARQL by name, never in the union) one ``prov:Activity`` per edit::

    <.../module/M/mapping-edit/3> a prov:Activity ;
        dcterms:type "change" ; rdfs:label "changed SI: strength moderate -> strong" ;
        dcterms:subject <.../module/M> ;
        prov:startedAtTime "..."^^xsd:dateTime ; prov:endedAtTime "..."^^xsd:dateTime ;
        prov:wasAssociatedWith <.../person/PSEUDONYM> , <.../agent/cipd-graph> ;  # the tool
        prov:used <.../mapping-edit/3/before> .          # the mappings before (a prov:Collection)
    <.../mapping-edit/3/after> prov:wasGeneratedBy <.../mapping-edit/3> ;
        prov:wasRevisionOf <.../mapping-edit/3/before> .
    <.../mapping-edit/3/before/SI> a prov:Entity ;        # one member per mapping
        prov:specializationOf <.../module/M/mapping/SI> ;
        cipd:mapsToElement cipd:ServiceImprovement ; cipd:mappingStrength cipd:ModerateMapping ;
        cipd:justification "..." ; prov:wasAttributedTo <.../person/PSEUDONYM> .

An undo restores the mappings an edit found (its ``before`` collection) and is itself an edit,
``prov:wasInformedBy`` the edit it undoes. Undo works as a stack: each undo takes back the
latest edit that is neither an undo nor undone. People appear only by their pseudonymous IRIs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph

from cipd_graph._errors import StoreError
from cipd_graph._ontology import CIPD, curie
from cipd_graph._rdf import RDF_TYPE, as_triples, iri_ok, oxigraph_triples
from cipd_graph.graph import GraphStore
from cipd_graph.load.batches import mentioned_iris
from cipd_graph.load.context import ContextReader
from cipd_graph.mapping import MappedFile, Mapper
from cipd_graph.mapping.mapper import STRENGTH
from cipd_graph.records.parse import Located, MappingRow, RecordFile, Strength
from cipd_graph.validation import validate_graph

_PROV = "http://www.w3.org/ns/prov#"
_RDFS_LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
_DCTERMS_TYPE = ox.NamedNode("http://purl.org/dc/terms/type")
_DCTERMS_SUBJECT = ox.NamedNode("http://purl.org/dc/terms/subject")
_XSD_DATETIME = ox.NamedNode("http://www.w3.org/2001/XMLSchema#dateTime")
_FOAF_PERSON = "http://xmlns.com/foaf/0.1/Person"
_MAPPING = ox.NamedNode(str(CIPD.ModuleMapping))
_HAS_MAPPING = ox.NamedNode(str(CIPD.hasMapping))
_MAPS_MODULE = ox.NamedNode(str(CIPD.mapsModule))
_MAPS_TO = ox.NamedNode(str(CIPD.mapsToElement))
_STRENGTH = ox.NamedNode(str(CIPD.mappingStrength))
_JUSTIFICATION = ox.NamedNode(str(CIPD.justification))


def _prov(name: str) -> ox.NamedNode:
    return ox.NamedNode(_PROV + name)


_ATTRIBUTED = _prov("wasAttributedTo")
_SPECIALIZATION = _prov("specializationOf")

#: The form field each property of a mapping comes from (the columns of mappings.csv).
FIELDS = {
    "cipd:mapsModule": "module",
    "cipd:mapsToElement": "element",
    "cipd:mappingStrength": "strength",
    "cipd:justification": "justification",
    "prov:wasAttributedTo": "mapped_by",
}
_COLUMN = re.compile(r"\s*\(columns?: ([\w, ]+)\)")
STRENGTH_NAME = {str(iri): strength.value for strength, iri in STRENGTH.items()}
#: Edits one process runs at a time: each reads the module's mappings, then writes.
_LOCK = threading.Lock()

Object = ox.NamedNode | ox.Literal | ox.BlankNode
#: A mapping's statements but its type: (predicate, object) pairs.
Statements = tuple[tuple[ox.NamedNode, Object], ...]


@dataclass(frozen=True)
class MappingState:
    """One mapping as it stands (or stood): IRI, element, strength, justification, who."""

    iri: str
    element: str
    strength: str | None
    justification: str | None
    by: str | None


@dataclass(frozen=True)
class Problem:
    """Why a proposed mapping is refused: the item (of a list), the field, the message."""

    index: int | None
    field: str
    message: str


class EditError(Exception):
    """An edit of a module's mappings that was not made; nothing was written."""


class MappingRefusedError(EditError):
    """The proposed mappings do not pass validation; nothing was written."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = list(problems)


class EditConflictError(EditError):
    """The edit cannot be made in the module's present state (nothing to undo, a change
    since the last edit, a mapping that exists already or not at all)."""


class MappingNotFoundError(EditError):
    """The module has no mapping to the element named."""


@dataclass(frozen=True)
class Edit:
    """One recorded edit of a module's mappings."""

    number: int
    iri: str
    action: str
    summary: str
    at: str
    by: str | None
    undoes: int | None
    before: list[MappingState]
    after: list[MappingState]
    undone_by: int | None = None


@dataclass
class _Proposal:
    """Rows to map and check, with the index each came from in the request."""

    rows: list[MappingRow] = field(default_factory=list)
    indexes: list[int | None] = field(default_factory=list)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _local(iri: str) -> str:
    return iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


class ModuleMappings:
    """The mappings of one module in ``store``: read, edit, history and undo."""

    def __init__(self, store: GraphStore, module_id: str) -> None:
        self.store = store
        self.module_id = module_id
        self.module = store.base + "module/" + module_id
        self.graph = f"{store.base}graph/api/module-mappings/{module_id}"
        self.provenance = store.layout.provenance(self.graph)
        self._module = ox.NamedNode(self.module)

    # -- reading -------------------------------------------------------------------------
    def stored(self) -> dict[str, list[ox.Triple]]:
        """The triples of the module's mappings (and its links to them) by record graph."""
        m = f"<{iri_ok(self.module)}>"
        rows = self.store.select(
            f"SELECT DISTINCT ?g ?s ?p ?o WHERE {{ {{ GRAPH ?h {{ ?s <{CIPD.mapsModule}> {m} }} "
            f"GRAPH ?g {{ ?s ?p ?o }} }} UNION {{ GRAPH ?g {{ {m} <{CIPD.hasMapping}> ?o }} "
            f"BIND({m} AS ?s) BIND(<{CIPD.hasMapping}> AS ?p) }} }}"
        )
        found: dict[str, list[ox.Triple]] = {}
        for row in rows:
            graph = row["g"].value
            if self.store.layout.is_record(graph):
                found.setdefault(graph, []).append(ox.Triple(row["s"], row["p"], row["o"]))
        return found

    def contents(
        self, stored: Mapping[str, Iterable[ox.Triple]] | None = None
    ) -> dict[str, Statements]:
        """Each mapping's statements (but its type and module link), as the union has them."""
        stored = self.stored() if stored is None else stored
        pairs: dict[str, dict[tuple[ox.NamedNode, Object], None]] = {}
        for triples in stored.values():
            for t in triples:
                if t.subject == self._module or t.predicate == RDF_TYPE:
                    continue
                if isinstance(t.subject, ox.NamedNode) and not isinstance(t.object, ox.Triple):
                    pairs.setdefault(t.subject.value, {})[(t.predicate, t.object)] = None
        return {
            iri: tuple(sorted(p, key=lambda po: (po[0].value, str(po[1]))))
            for iri, p in pairs.items()
        }

    def states(self, contents: Mapping[str, Statements] | None = None) -> list[MappingState]:
        """The module's mappings, sorted by element."""
        contents = self.contents() if contents is None else contents
        return sorted(
            (_state(iri, s) for iri, s in contents.items()), key=lambda m: (m.element, m.iri)
        )

    # -- the edits -------------------------------------------------------------------------
    def add(self, element: str, strength: Strength, justification: str, mapped_by: str) -> Edit:
        """Map the module onto one more element."""
        with _LOCK:
            stored = self.stored()
            before = self.contents(stored)
            proposal = _Proposal([self._row(element, strength, justification, mapped_by)], [None])
            mapped = self._mapped(proposal)
            new = _contents_of(mapped.graph)
            target = next(iter(new), None)
            if target is not None and target in before:
                state = _state(target, before[target])
                raise EditConflictError(
                    f"the module is mapped to {_name(self.store, state.element)} already: "
                    "change that mapping instead"
                )
            self._check(mapped, proposal)
            summary = f"added {_describe(self.store, new)}"
            return self._write(stored, before, {**before, **new}, "add", summary, mapped_by)

    def change(
        self,
        element: str,
        mapped_by: str,
        strength: Strength | None = None,
        justification: str | None = None,
    ) -> Edit:
        """Change the strength or justification of the mapping to ``element``."""
        with _LOCK:
            stored = self.stored()
            before = self.contents(stored)
            iri, old = self._find(element, before)
            state = _state(iri, old)
            row = self._row(
                state.element,
                strength or Strength(STRENGTH_NAME.get(state.strength or "", "moderate")),
                (state.justification or "") if justification is None else justification,
                mapped_by,
            )
            proposal = _Proposal([row], [None])
            mapped = self._mapped(proposal)
            self._check(mapped, proposal)
            new = _contents_of(mapped.graph)
            after = {k: v for k, v in before.items() if k != iri} | new
            changes = []
            new_state = _state(iri, new.get(iri, ()))
            if new_state.strength != state.strength:
                changes.append(
                    f"strength {STRENGTH_NAME.get(state.strength or '', '?')} -> "
                    f"{STRENGTH_NAME.get(new_state.strength or '', '?')}"
                )
            if new_state.justification != state.justification:
                changes.append("justification")
            summary = f"changed {_name(self.store, state.element)}: " + (
                ", ".join(changes) or "no change"
            )
            return self._write(stored, before, after, "change", summary, mapped_by)

    def remove(self, element: str, mapped_by: str) -> Edit:
        """Remove the mapping to ``element``."""
        with _LOCK:
            self._check_person(mapped_by)
            stored = self.stored()
            before = self.contents(stored)
            iri, old = self._find(element, before)
            after = {k: v for k, v in before.items() if k != iri}
            summary = f"removed {_name(self.store, _state(iri, old).element)}"
            return self._write(stored, before, after, "remove", summary, mapped_by)

    def replace(self, rows: Sequence[MappingRow]) -> Edit:
        """Make ``rows`` the module's mappings, all of them (who: each row's ``mapped_by``)."""
        with _LOCK:
            stored = self.stored()
            before = self.contents(stored)
            proposal = _Proposal(list(rows), list(range(len(rows))))
            mapped = self._mapped(proposal)
            self._check(mapped, proposal)
            after = _contents_of(mapped.graph)
            summary = f"replaced the mappings: {len(before)} before, {len(after)} after"
            who = sorted({r.mapped_by for r in rows})
            return self._write(stored, before, after, "replace", summary, *who)

    def undo(self, mapped_by: str) -> Edit:
        """Restore the mappings as they were before the latest edit not undone yet."""
        with _LOCK:
            self._check_person(mapped_by)
            edits = self._edits()
            if not edits:
                raise EditConflictError(
                    "nothing to undo: the module's mappings were never edited here"
                )
            undone = {e.undoes for e in edits.values() if e.undoes is not None}
            target = next(
                (
                    e
                    for n, e in sorted(edits.items(), reverse=True)
                    if e.action != "undo" and n not in undone
                ),
                None,
            )
            if target is None:
                raise EditConflictError("nothing to undo: every edit has been undone")
            latest = max(edits)
            revisions = self._revisions([f"{edits[latest].iri}/after", f"{target.iri}/before"])
            stored = self.stored()
            before = self.contents(stored)
            if before != revisions.get(f"{edits[latest].iri}/after", {}):
                raise EditConflictError(
                    "the module's mappings changed since its last edit (a load of mappings.csv "
                    "or an import?): undoing would lose that change"
                )
            restored = revisions.get(f"{target.iri}/before", {})
            graph = Graph()
            for t in _triples(self._module, restored):
                graph.add(as_triples([t])[0])
            mapped = MappedFile(
                RecordFile(Path(f"api/module-mappings/{self.module_id}"), "mappings", ()),
                graph,
                Graph(),
                records={iri: (0, _local(iri)) for iri in restored},
            )
            problems = self._problems(mapped, _Proposal())
            if problems:
                raise EditConflictError(
                    "the mappings before that edit no longer pass validation: "
                    + "; ".join(f"{p.field}: {p.message}" for p in problems)
                )
            summary = f"undid edit {target.number} ({target.summary})"
            return self._write(
                stored, before, restored, "undo", summary, mapped_by, undoes=target.iri
            )

    def history(self, limit: int | None = None) -> list[Edit]:
        """The module's edits, the latest first (``limit``: the latest ``limit`` only)."""
        edits = self._edits()
        numbers = sorted(edits, reverse=True)[:limit]
        wanted = [f"{edits[n].iri}/{side}" for n in numbers for side in ("before", "after")]
        revisions = self._revisions(wanted)
        undone_by = {e.undoes: n for n, e in edits.items() if e.undoes is not None}
        out = []
        for n in numbers:
            e = edits[n]
            out.append(
                Edit(
                    number=e.number,
                    iri=e.iri,
                    action=e.action,
                    summary=e.summary,
                    at=e.at,
                    by=e.by,
                    undoes=e.undoes,
                    before=self.states(revisions.get(e.iri + "/before", {})),
                    after=self.states(revisions.get(e.iri + "/after", {})),
                    undone_by=undone_by.get(n),
                )
            )
        return out

    # -- helpers ---------------------------------------------------------------------------
    def _row(
        self, element: str, strength: Strength, justification: str, mapped_by: str
    ) -> MappingRow:
        return MappingRow(
            module=self.module_id,
            element=element,
            strength=strength,
            justification=justification,
            mapped_by=mapped_by,
        )

    def _mapper(self) -> Mapper:
        store = self.store
        return Mapper(store.base, store.pseudonymiser, store.model, store.framework_items())

    def _mapped(self, proposal: _Proposal) -> MappedFile:
        mapper = self._mapper()
        problems: list[Problem] = []
        rows: list[tuple[int, MappingRow]] = []
        for i, row in enumerate(proposal.rows):
            key = row.element.strip()
            if mapper.element(key) is None:
                problem = _unknown_element(key)
                if problem:
                    problems.append(Problem(proposal.indexes[i], "element", problem))
                    continue
            rows.append((i, row))
        located = tuple(
            Located(row, i + 1, f"mapping {row.module} -> {row.element}") for i, row in rows
        )
        source = RecordFile(Path(f"api/module-mappings/{self.module_id}"), "mappings", located)
        mapped = mapper.map(source)
        problems += [
            Problem(proposal.indexes[p.line - 1] if p.line else None, p.field, p.reason)
            for p in mapped.problems
        ]
        seen: dict[str, int] = {}
        for i, row in enumerate(proposal.rows):
            target = next(
                (
                    iri
                    for iri, (line, _label) in mapped.records.items()
                    if line == i + 1 and iri.startswith(self.module + "/mapping/")
                ),
                None,
            )
            if target is None:
                continue
            if target in seen:
                problems.append(
                    Problem(
                        proposal.indexes[i],
                        "element",
                        f"maps the element {row.element!r} again (item {seen[target]})",
                    )
                )
            seen.setdefault(target, i)
        if problems:
            raise MappingRefusedError(problems)
        return mapped

    def _problems(self, mapped: MappedFile, proposal: _Proposal) -> list[Problem]:
        """SHACL over the new mappings, with what the store says about what they mention
        (but the module's present mappings, which they replace)."""
        prefix = self.module + "/mapping/"
        mentioned = mentioned_iris([mapped], self.store.base)
        context = [
            t
            for t in ContextReader(self.store).triples(mentioned, {self.graph})
            if not (isinstance(t.subject, ox.NamedNode) and t.subject.value.startswith(prefix))
        ]
        subjects = {iri for iri in mapped.records if iri.startswith(prefix)}

        def locate(focus: str) -> tuple[str | None, int | None, str | None]:
            line, label = mapped.records.get(focus, (None, None))
            return None, line, label

        report = validate_graph(
            [mapped.graph, as_triples(context)],
            locate,
            describe=lambda iri: _name(self.store, iri),
            focus_filter=subjects.__contains__,
            engine=self.store.settings.shacl,
        )
        problems = []
        for finding in report.errors:
            column = _COLUMN.search(finding.message)
            name = FIELDS.get(finding.path or "") or (
                column.group(1).split(",")[0].strip() if column else "element"
            )
            index = (
                proposal.indexes[finding.line - 1]
                if finding.line and finding.line <= len(proposal.indexes)
                else None
            )
            problems.append(Problem(index, name, _COLUMN.sub("", finding.message)))
        return problems

    def _check(self, mapped: MappedFile, proposal: _Proposal) -> None:
        problems = self._problems(mapped, proposal)
        if problems:
            raise MappingRefusedError(problems)

    def _check_person(self, local_id: str) -> None:
        if not person_is_loaded(self.store, local_id):
            raise MappingRefusedError(
                [
                    Problem(
                        None,
                        "mapped_by",
                        f"no person {local_id!r} is loaded (people.csv lists them)",
                    )
                ]
            )

    def _find(self, element: str, contents: Mapping[str, Statements]) -> tuple[str, Statements]:
        iri = self._mapper().element(element)
        if iri is not None:
            for mapping, statements in contents.items():
                if _state(mapping, statements).element == str(iri):
                    return mapping, statements
        raise MappingNotFoundError(
            f"module {self.module_id!r} has no mapping to {element!r} "
            f"(GET /modules/{self.module_id}/mappings lists them)"
        )

    def _write(
        self,
        stored: Mapping[str, list[ox.Triple]],
        before: Mapping[str, Statements],
        after: Mapping[str, Statements],
        action: str,
        summary: str,
        *who: str,
        undoes: str | None = None,
    ) -> Edit:
        layout = self.store.layout
        remove = {g: t for g, t in stored.items() if g != self.graph and layout.is_record(g)}
        number = self._count() + 1
        edit = f"{self.module}/mapping-edit/{number}"
        started = _now()
        people = [person_iri(self.store, w) for w in who]
        record = self._record(
            edit,
            action=action,
            summary=summary,
            at=started,
            people=people,
            before=before,
            after=after,
            undoes=undoes,
        )
        self.store.edit(
            replace={self.graph: _triples(self._module, after)},
            remove=remove,
            add={self.provenance: record},
        )
        return Edit(
            number=number,
            iri=edit,
            action=action,
            summary=summary,
            at=started,
            by=people[0] if people else None,
            undoes=_number(undoes) if undoes else None,
            before=self.states(dict(before)),
            after=self.states(dict(after)),
        )

    def _record(
        self,
        edit: str,
        *,
        action: str,
        summary: str,
        at: str,
        people: Sequence[str],
        before: Mapping[str, Statements],
        after: Mapping[str, Statements],
        undoes: str | None,
    ) -> list[ox.Triple]:
        e = ox.NamedNode(edit)
        tool = ox.NamedNode(self.store.base + "agent/cipd-graph")
        when = ox.Literal(at, datatype=_XSD_DATETIME)
        out = [
            ox.Triple(e, RDF_TYPE, _prov("Activity")),
            ox.Triple(e, _DCTERMS_TYPE, ox.Literal(action)),
            ox.Triple(e, _RDFS_LABEL, ox.Literal(summary)),
            ox.Triple(e, _DCTERMS_SUBJECT, self._module),
            ox.Triple(e, _prov("startedAtTime"), when),
            ox.Triple(e, _prov("endedAtTime"), ox.Literal(_now(), datatype=_XSD_DATETIME)),
            # The tool is described in every load's provenance; stated again here, the write
            # would look up each of the 10,000 graphs holding that description (0.9 s).
            ox.Triple(e, _prov("wasAssociatedWith"), tool),
        ]
        for person in people:
            p = ox.NamedNode(person)
            out += [
                ox.Triple(e, _prov("wasAssociatedWith"), p),
                ox.Triple(p, RDF_TYPE, _prov("Person")),
            ]
        if undoes is not None:
            out.append(ox.Triple(e, _prov("wasInformedBy"), ox.NamedNode(undoes)))
        for side, contents in (("before", before), ("after", after)):
            rev = ox.NamedNode(f"{edit}/{side}")
            out.append(ox.Triple(rev, RDF_TYPE, _prov("Collection")))
            for mapping, statements in contents.items():
                snap = ox.NamedNode(f"{edit}/{side}/{_local(mapping)}")
                out += [
                    ox.Triple(rev, _prov("hadMember"), snap),
                    ox.Triple(snap, RDF_TYPE, _prov("Entity")),
                    ox.Triple(snap, _SPECIALIZATION, ox.NamedNode(mapping)),
                ]
                out += [ox.Triple(snap, p, o) for p, o in statements if p != _MAPS_MODULE]
        before_rev = ox.NamedNode(f"{edit}/before")
        after_rev = ox.NamedNode(f"{edit}/after")
        out += [
            ox.Triple(e, _prov("used"), before_rev),
            ox.Triple(after_rev, _prov("wasGeneratedBy"), e),
            ox.Triple(after_rev, _prov("wasRevisionOf"), before_rev),
        ]
        return out

    def _count(self) -> int:
        rows = self.store.select(
            f"SELECT (COUNT(?e) AS ?n) WHERE {{ GRAPH <{iri_ok(self.provenance)}> "
            f"{{ ?e a <{_PROV}Activity> }} }}"
        )
        return int(rows[0]["n"].value)

    def _edits(self) -> dict[int, Edit]:
        rows = self.store.select(
            f"SELECT ?e ?type ?label ?at ?who ?undoes WHERE {{ GRAPH <{iri_ok(self.provenance)}> {{ "
            f"?e a <{_PROV}Activity> ; <{_DCTERMS_TYPE.value}> ?type ; "
            f"<{_RDFS_LABEL.value}> ?label ; <{_PROV}startedAtTime> ?at . "
            f"OPTIONAL {{ ?e <{_PROV}wasAssociatedWith> ?who . ?who a <{_PROV}Person> }} "
            f"OPTIONAL {{ ?e <{_PROV}wasInformedBy> ?undoes }} }} }}"
        )
        edits: dict[int, Edit] = {}
        for row in rows:
            n = _number(row["e"].value)
            if n in edits:
                continue
            edits[n] = Edit(
                number=n,
                iri=row["e"].value,
                action=row["type"].value,
                summary=row["label"].value,
                at=row["at"].value,
                by=row["who"].value if row["who"] is not None else None,
                undoes=_number(row["undoes"].value) if row["undoes"] is not None else None,
                before=[],
                after=[],
            )
        return edits

    def _revisions(self, revisions: Sequence[str]) -> dict[str, dict[str, Statements]]:
        """The mappings each of ``revisions`` holds (revision IRI -> mapping IRI -> statements)."""
        if not revisions:
            return {}
        values = " ".join(f"<{iri_ok(r)}>" for r in revisions)
        rows = self.store.select(
            f"SELECT ?rev ?mapping ?p ?o WHERE {{ VALUES ?rev {{ {values} }} "
            f"GRAPH <{iri_ok(self.provenance)}> {{ ?rev <{_PROV}hadMember> ?snap . "
            f"?snap <{_SPECIALIZATION.value}> ?mapping ; ?p ?o . "
            f"FILTER(?p NOT IN (<{RDF_TYPE.value}>, <{_SPECIALIZATION.value}>)) }} }}"
        )
        found: dict[str, dict[str, dict[tuple[ox.NamedNode, Object], None]]] = {}
        for row in rows:
            mapping = found.setdefault(row["rev"].value, {}).setdefault(row["mapping"].value, {})
            mapping[(row["p"], row["o"])] = None
        out: dict[str, dict[str, Statements]] = {}
        for rev, mappings in found.items():
            out[rev] = {}
            for iri, pairs in mappings.items():
                statements = list(pairs)
                statements.append((_MAPS_MODULE, self._module))
                out[rev][iri] = tuple(sorted(statements, key=lambda po: (po[0].value, str(po[1]))))
        return out


def warm_up(store: GraphStore) -> None:
    """Load what a process's first edit would otherwise load on the way, so that it takes as
    long as the next: the model and the compiled shapes (about 2 s together), and the
    pipeline's incremental derivation (an edit that changes nothing: about 3 s)."""
    _ = store.model
    validate_graph([Graph()], lambda _focus: (None, None, None), engine=store.settings.shacl)
    with contextlib.suppress(StoreError):  # a read-only store takes no edit
        store.edit()


def person_iri(store: GraphStore, local_id: str) -> str:
    """The pseudonymous IRI of the person with local id ``local_id`` (people.csv)."""
    return store.base + "person/" + store.pseudonymiser(local_id)


def person_is_loaded(store: GraphStore, local_id: str) -> bool:
    """Whether the records hold a person with local id ``local_id``."""
    iri = person_iri(store, local_id)
    return _FOAF_PERSON in store.stored_types(iri)  # a look-up, no query text


def _unknown_element(key: str) -> str | None:
    """Why ``key``, which names no model element or framework item, cannot be mapped; None
    when it is an IRI or CURIE that validation should judge (with the shape's message)."""
    if key.startswith("cipd:"):
        iri = str(CIPD) + key[5:]
    elif key.startswith(("http://", "https://")):
        iri = key
    else:
        return (
            f"no model element or imported framework item {key!r}: give a notation (SI), "
            "a CURIE (cipd:LearningAsDoing), a local name or an IRI (GET /workbench/elements "
            "lists them)"
        )
    try:
        ox.NamedNode(iri_ok(iri))
    except (StoreError, ValueError):
        return f"{key!r} is not a valid IRI or CURIE"
    return None


def _number(edit: str) -> int:
    return int(edit.rsplit("/", 1)[-1])


def _state(iri: str, statements: Statements) -> MappingState:
    values: dict[str, str] = {}
    for p, o in statements:
        values.setdefault(p.value, str(o.value))
    return MappingState(
        iri=iri,
        element=values.get(_MAPS_TO.value, ""),
        strength=values.get(_STRENGTH.value),
        justification=values.get(_JUSTIFICATION.value),
        by=values.get(_ATTRIBUTED.value),
    )


def _contents_of(graph: Graph) -> dict[str, Statements]:
    """The mappings of a mapped graph as statements (their types and module links left out)."""
    pairs: dict[str, list[tuple[ox.NamedNode, Object]]] = {}
    for t in oxigraph_triples(graph):
        if t.predicate in (RDF_TYPE, _HAS_MAPPING) or not isinstance(t.subject, ox.NamedNode):
            continue
        pairs.setdefault(t.subject.value, []).append((t.predicate, t.object))  # type: ignore[arg-type]
    return {
        iri: tuple(sorted(p, key=lambda po: (po[0].value, str(po[1])))) for iri, p in pairs.items()
    }


def _triples(module: ox.NamedNode, contents: Mapping[str, Statements]) -> list[ox.Triple]:
    """The record triples of the mappings ``contents`` describe."""
    out: list[ox.Triple] = []
    for iri, statements in contents.items():
        node = ox.NamedNode(iri)
        out += [
            ox.Triple(node, RDF_TYPE, _MAPPING),
            ox.Triple(module, _HAS_MAPPING, node),
            ox.Triple(node, _MAPS_MODULE, module),
        ]
        out += [ox.Triple(node, p, o) for p, o in statements if p != _MAPS_MODULE]
    return out


def _name(store: GraphStore, iri: str) -> str:
    """A model element by its notation (or CURIE); anything else by its path or CURIE."""
    element = store.model.elements.get(iri)
    if element is not None:
        return element.notation or element.curie
    if iri.startswith(store.base):
        return iri.removeprefix(store.base)
    return curie(iri)


def _describe(store: GraphStore, contents: Mapping[str, Statements]) -> str:
    parts = []
    for iri, statements in contents.items():
        state = _state(iri, statements)
        parts.append(
            f"{_name(store, state.element)} ({STRENGTH_NAME.get(state.strength or '', '?')})"
        )
    return ", ".join(parts)
