"""A write being planned: what it does to which graphs, and the union as it will be after.

A :class:`Change` is built before anything is written, from the stored state and the
edits a writer asks for: replace a graph's content, remove or add triples. It keeps the
*union* (every triple of the record, derived and ontology graphs, each once) exact: a
triple enters the union when the first of those graphs gets it and leaves when the last one
loses it. Reads through :meth:`Change.edges` see the union as it will be, so the derivation
of facts (:mod:`cipd_graph.derive.maintain`) can compute its part of the change before the
one transaction that writes it all (:meth:`Change.changeset`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Literal

import pyoxigraph as ox

from cipd_graph._rdf import XSD_STRING, Term, grouped_by_predicate
from cipd_graph.store.backends import UNION, Backend, ChangeSet

State = Literal["after", "either"]


def _by_predicate(triples: list[ox.Triple]) -> dict[ox.NamedNode | None, list[ox.Triple]]:
    """``triples`` (of one node) under None and under each of their predicates."""
    found: dict[ox.NamedNode | None, list[ox.Triple]] = {None: triples}
    for predicate, through in grouped_by_predicate(triples).items():
        found[predicate] = through
    return found


class _Around:
    """The stored union's triples from nodes (``inverse``: into them), read once a node and
    predicate asked, or once a node read whole.

    By predicate, not whole: what a read costs is mostly its triples (Oxigraph looks up the
    text of each term it returns), about 8 µs a triple against 10 µs for the look-up of a
    node with none. 100 files into 10,000 projects read 114,000 triples whole to use 34,000
    of them."""

    def __init__(self, backend: Backend, *, inverse: bool) -> None:
        self.backend = backend
        self.inverse = inverse
        self.whole: dict[Term, dict[ox.NamedNode | None, list[ox.Triple]]] = {}
        self.narrow: dict[tuple[Term, ox.NamedNode | None], list[ox.Triple]] = {}

    def empty(self, node: Term) -> bool:
        """Whether ``node`` is known to have no such triple."""
        held = self.whole.get(node)
        return held is not None and not held[None]

    def get(self, nodes: list[ox.NamedNode], predicate: ox.NamedNode | None) -> set[ox.Triple]:
        """The triples through ``predicate`` (None: any) of ``nodes``."""
        missing = [n for n in nodes if n not in self.whole and (n, predicate) not in self.narrow]
        if missing:
            read: dict[Term, list[ox.Triple]] = {node: [] for node in missing}
            for t in self.backend.edges(missing, predicate, inverse=self.inverse):
                read[t.object if self.inverse else t.subject].append(t)
            for node, triples in read.items():
                if predicate is None:
                    self.whole[node] = _by_predicate(triples)
                else:
                    self.narrow[(node, predicate)] = triples
        found: set[ox.Triple] = set()
        for node in nodes:
            held = self.whole.get(node)
            found.update(
                held.get(predicate, ()) if held is not None else self.narrow[(node, predicate)]
            )
        return found


def canonical(triples: Iterable[ox.Triple]) -> dict[ox.Triple, None]:
    """``triples`` as the store will hold them, without repeats: Oxigraph keeps literals by
    value (``"3"^^xsd:positiveInteger`` is read back as ``"3"^^xsd:integer``,
    ``"5.0"^^xsd:decimal`` as ``"5"``), so a triple is compared as it comes back.

    Only a triple whose object is a literal of another type than a plain string goes
    through an in-memory store to see how it comes back: IRIs, blank nodes and plain
    strings come back as they are. Of the 43,769 triples of 300 graphs of a generated store
    (records, names, provenance), 16% go through it: 0.07-0.08 s for the 300, against
    0.13-0.20 s with every triple through one store a graph (three rounds each)."""
    found: dict[ox.Triple, None] = {}
    memory: ox.Store | None = None
    for t in triples:
        o = t.object
        if not isinstance(o, ox.Literal) or (o.datatype == XSD_STRING and o.language is None):
            found[t] = None
        else:
            if memory is None:
                memory = ox.Store()
            memory.add(ox.Quad(t.subject, t.predicate, o))
    if memory is not None:
        found.update((q.triple, None) for q in memory)
    return found


class Change:
    """Edits to a store's graphs, planned against what it holds now."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.layout = backend.layout
        self.replaced: dict[str, list[ox.Triple]] = {}
        #: graph -> triples it holds now and will not hold after the change
        self.removed: dict[str, set[ox.Triple]] = {}
        #: graph -> triples it does not hold now and will hold after the change
        self.added: dict[str, set[ox.Triple]] = {}
        #: replaced graphs the store holds now and will not after the change
        self._emptied: set[str] = set()
        self.union_removed: set[ox.Triple] = set()
        self.union_added: set[ox.Triple] = set()
        # The union's triples the change adds, by subject (and by object), each under the
        # node alone and the node with its predicate: the derivation asks for one predicate
        # of a node at a time, and a new project's nodes have all their triples here.
        self._added_out: dict[tuple[Term, ox.NamedNode | None], set[ox.Triple]] = {}
        self._added_in: dict[tuple[Term, ox.NamedNode | None], set[ox.Triple]] = {}
        #: triple -> the union's graphs that will get it (the inverse of ``added``)
        self._added_by: dict[ox.Triple, set[str]] = {}
        # The union as stored now, as far as :meth:`edges` has read it. The stored union does
        # not change while a change is planned, and the derivation of a 100-file load asks
        # for the same nodes again and again (100 files into 1,000 projects: 194,256
        # look-ups before, 75,347 with this and ``placement``).
        self._out = _Around(backend, inverse=False)
        self._in = _Around(backend, inverse=True)

    # -- edits --------------------------------------------------------------------------
    def replace(self, graph: str, triples: Iterable[ox.Triple]) -> None:
        """Make ``triples`` the whole content of ``graph`` (none: remove it)."""
        if graph in self.replaced or graph in self.removed:
            raise ValueError(f"<{graph}> is edited twice in one change")
        new = canonical(triples)
        old = set(self.backend.graph_triples(graph))
        self.replaced[graph] = list(new)
        if not new and (old or self.backend.has_graph(graph)):
            self._emptied.add(graph)
        self.removed[graph] = old - new.keys()
        self.added[graph] = new.keys() - old
        self._recheck(graph, self.removed[graph] | self.added[graph])

    def edit(
        self, graph: str, *, remove: Iterable[ox.Triple] = (), add: Iterable[ox.Triple] = ()
    ) -> None:
        """Take ``remove`` out of ``graph`` and put ``add`` in (only what changes counts)."""
        if graph in self.replaced or graph in self.removed:
            raise ValueError(f"<{graph}> is edited twice in one change")
        gone, new = set(canonical(remove)), set(canonical(add))
        held = self.backend.holders(gone | new)
        self.removed[graph] = {t for t in gone - new if graph in held.get(t, ())}
        self.added[graph] = {t for t in new - gone if graph not in held.get(t, ())}
        self._recheck(graph, self.removed[graph] | self.added[graph])

    def _recheck(self, graph: str, candidates: set[ox.Triple]) -> None:
        """Settle whether each of ``candidates`` is in the union after the change."""
        if not self.layout.in_union(graph):
            return
        for t in self.added[graph]:
            self._added_by.setdefault(t, set()).add(graph)
        if not candidates:
            return
        held, now = self._placement(candidates)
        for t in candidates:
            after = any(self._holding(t, held))
            self.union_removed.discard(t)
            if t in self.union_added:
                self.union_added.discard(t)
                for key in ((t.subject, None), (t.subject, t.predicate)):
                    self._added_out[key].discard(t)
                for into in ((t.object, None), (t.object, t.predicate)):
                    self._added_in[into].discard(t)
            if t in now and not after:
                self.union_removed.add(t)
            elif after and t not in now:
                self.union_added.add(t)
                for key in ((t.subject, None), (t.subject, t.predicate)):
                    self._added_out.setdefault(key, set()).add(t)
                for into in ((t.object, None), (t.object, t.predicate)):
                    self._added_in.setdefault(into, set()).add(t)

    def _placement(
        self, candidates: set[ox.Triple]
    ) -> tuple[dict[ox.Triple, set[str]], set[ox.Triple]]:
        """The backend's placement of ``candidates``. It reads whole the subjects asked
        about for several triples: what it read of the union there answers the derivation's
        reads from them (100 files into 10,000 projects: 6,545 of its 12,035 such reads)."""
        whole: dict[ox.NamedNode, list[ox.Triple]] = {}
        placed = self.backend.placement(candidates, whole)
        for subject, triples in whole.items():
            if subject not in self._out.whole:
                self._out.whole[subject] = _by_predicate(triples)
        return placed

    # -- reads of the union as it will be ------------------------------------------------
    def edges(
        self,
        nodes: Collection[Term],
        predicate: ox.NamedNode | None,
        *,
        inverse: bool,
        state: State = "after",
    ) -> set[ox.Triple]:
        """The union's triples with one of ``nodes`` as subject (``inverse``: as object)
        through ``predicate`` (None: any): as it will be after the change (``after``), or
        as it is now or will be (``either``)."""
        if inverse:
            asked = [n for n in nodes if isinstance(n, ox.NamedNode | ox.BlankNode | ox.Literal)]
        else:
            asked = [n for n in nodes if isinstance(n, ox.NamedNode | ox.BlankNode)]
        named = [n for n in asked if isinstance(n, ox.NamedNode)]
        found = self.stored(named, predicate, inverse=inverse) if named else set()
        if state == "after":
            found -= self.union_removed
        extra = self._added_in if inverse else self._added_out
        for node in asked:
            added = extra.get((node, predicate))
            if added:
                found |= added
        return found

    def stored(
        self, nodes: list[ox.NamedNode], predicate: ox.NamedNode | None, *, inverse: bool
    ) -> set[ox.Triple]:
        """The stored union's triples (as it is now, before the change) from ``nodes``
        (``inverse``: into them) through ``predicate`` (None: any)."""
        return (self._in if inverse else self._out).get(nodes, predicate)

    def holders_after(self, triples: Collection[ox.Triple]) -> dict[ox.Triple, set[str]]:
        """For each of ``triples``, the named graphs of the union that will hold it after
        the change (none: no entry)."""
        held = self.backend.holders(triples)
        found: dict[ox.Triple, set[str]] = {}
        for t in triples:
            graphs = set(self._holding(t, held))
            if graphs:
                found[t] = graphs
        return found

    def _holding(self, t: ox.Triple, held: Mapping[ox.Triple, Collection[str]]) -> Iterator[str]:
        """The union's graphs that will hold ``t`` after the change (``held``: the named
        graphs holding it now): those that hold it and keep it, then those that get it."""
        for g in held.get(t, ()):
            if self.layout.in_union(g) and t not in self.removed.get(g, ()):
                yield g
        yield from self._added_by.get(t, ())

    def derived(self, graph: str, subjects: Collection[ox.NamedNode]) -> set[ox.Triple]:
        """What ``graph`` holds now about ``subjects``."""
        if self.layout.in_union(graph):
            # A graph of the union holds nothing about a subject the stored union holds
            # nothing about; a new batch's nodes are such subjects, and those already read
            # need no look-up (100 files into 10,000 projects: 12,240 of 13,151 were empty).
            subjects = [s for s in subjects if not self._out.empty(s)]
        return set(self.backend.in_graph(graph, subjects))

    def set_facts(
        self, graph: str, subjects: Collection[ox.NamedNode], facts: Iterable[ox.Triple]
    ) -> None:
        """Make ``facts`` what ``graph`` says about ``subjects`` after the change."""
        old = self.derived(graph, subjects)
        new = set(facts)
        self.removed[graph] = old - new
        self.added[graph] = new - old
        self._recheck(graph, self.removed[graph] | self.added[graph])

    # -- the result ----------------------------------------------------------------------
    def totals_delta(self) -> dict[str, int]:
        """How the change moves the totals the store keeps (:mod:`cipd_graph.store.meta`):
        the union's triples, the named graphs' quads and the derived facts."""
        quads = derived = 0
        for graph in self.removed.keys() | self.added.keys():
            if graph == self.layout.meta:
                continue
            moved = len(self.added.get(graph, ())) - len(self.removed.get(graph, ()))
            quads += moved
            if self.layout.is_derived(graph):
                derived += moved
        return {
            "triples": len(self.union_added) - len(self.union_removed),
            "quads": quads,
            "derived_triples": derived,
        }

    def changeset(self) -> ChangeSet:
        """Everything planned, as writes for the backend (one transaction)."""
        # A replaced graph that keeps any content is written as what it loses and gains,
        # not emptied and filled again: one DROP in an Oxigraph update made the whole
        # update slower (100 files into 10,000 projects, 83,254 quads added: 0.87-1.07 s
        # without one, 1.44-1.93 s with one, on disk, even a DROP of a graph that does not
        # exist). Only a graph the store holds and the change empties is dropped (removing
        # its last triple would keep it as an empty named graph).
        changes = ChangeSet(replace={g: [] for g in sorted(self._emptied)})
        for graph, triples in self.removed.items():
            if graph not in self._emptied and triples:
                changes.remove[graph] = sorted(triples, key=str)
        for graph, triples in self.added.items():
            if graph not in self._emptied and triples:
                changes.add[graph] = sorted(triples, key=str)
        if self.union_removed:
            changes.remove[UNION] = sorted(self.union_removed, key=str)
        if self.union_added:
            changes.add[UNION] = sorted(self.union_added, key=str)
        return changes
