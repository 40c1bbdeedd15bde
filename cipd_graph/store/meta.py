"""The store's version, and the whole-store totals kept with it.

Every write gives the store a new *version* (a random token), written in the graph
``<base>graph/meta`` in the same step as the write itself (:meth:`Pipeline.write
<cipd_graph.load.Pipeline.write>`, staged loads, ``cipd derive --all``). A reader compares it
with the version an answer was computed for, so a cache of whole-store answers (the API's:
:mod:`cipd_graph.api.cache`) is right until the next write, of whatever kind, from whatever
process.

The same graph keeps the totals that otherwise cost a scan of every quad (the union's
triples, the named graphs' quads, the derived facts: 2.5-4.7 s each at 1M quads): each write
adds what its :class:`~cipd_graph.store.change.Change` adds and takes what it removes. A
write that cannot say (a staged load, a full derivation) leaves them out, and the next reader
that counts them puts them back for that version (:func:`totals_update`).

>>> from cipd_graph.store.layout import GraphLayout
>>> layout = GraphLayout("https://example.org/d/", "https://w3id.org/cipd")
>>> state = StoreState("v1", {"triples": 3, "quads": 5, "derived_triples": 1}, "d1")
>>> read_state(layout, state_triples(layout, state)) == state
True
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pyoxigraph as ox

from cipd_graph.store.layout import GraphLayout

#: The totals kept with the version, as ``GraphStore.stats`` names them.
TOTALS = ("triples", "quads", "derived_triples")
_INTEGER = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")


@dataclass(frozen=True)
class StoreState:
    """What the store's meta graph says: its version ("" for a store no write of this
    version of cipd-graph has stamped yet) and the totals kept with it (None: not kept)."""

    version: str
    totals: Mapping[str, int] | None = None
    #: The rules and ontology the derived facts were computed with
    #: (:func:`cipd_graph.derive.fingerprint`; "": not known).
    derivation: str = ""


def new_version() -> str:
    """A version no other write has given."""
    return uuid.uuid4().hex


def _predicate(layout: GraphLayout, name: str) -> ox.NamedNode:
    return ox.NamedNode(f"{layout.meta}#{name}")


def state_triples(layout: GraphLayout, state: StoreState) -> list[ox.Triple]:
    """The content of the meta graph that says ``state``."""
    node = ox.NamedNode(layout.meta)
    triples = [ox.Triple(node, _predicate(layout, "version"), ox.Literal(state.version))]
    if state.derivation:
        triples.append(
            ox.Triple(node, _predicate(layout, "derivation"), ox.Literal(state.derivation))
        )
    for name, value in sorted((state.totals or {}).items()):
        triples.append(
            ox.Triple(node, _predicate(layout, name), ox.Literal(str(value), datatype=_INTEGER))
        )
    return triples


def read_state(layout: GraphLayout, triples: Iterable[ox.Triple]) -> StoreState:
    """The state the meta graph's ``triples`` say (a missing or partial one: no totals)."""
    version = derivation = ""
    totals: dict[str, int] = {}
    prefix = layout.meta + "#"
    for t in triples:
        name = t.predicate.value.removeprefix(prefix)
        if not isinstance(t.object, ox.Literal):
            continue
        if name == "version":
            version = t.object.value
        elif name == "derivation":
            derivation = t.object.value
        elif name in TOTALS:
            try:
                totals[name] = int(t.object.value)
            except ValueError:
                continue
    complete = bool(version) and set(totals) == set(TOTALS)
    return StoreState(version, totals if complete else None, derivation)


def add_totals(totals: Mapping[str, int] | None, delta: Mapping[str, int]) -> dict[str, int] | None:
    """``totals`` after a write that changes them by ``delta`` (None stays None)."""
    if totals is None:
        return None
    return {name: totals[name] + delta.get(name, 0) for name in TOTALS}


def totals_update(layout: GraphLayout, state: StoreState) -> str:
    """A SPARQL update that keeps ``state`` (its totals counted by a reader) in the meta graph
    if, and only if, the store is still at ``state.version`` when it runs (a write since
    then made them wrong)."""
    graph = f"<{layout.meta}>"
    version = ox.Literal(state.version)
    lines = " ".join(
        f"{t.subject} {t.predicate} {t.object} ." for t in state_triples(layout, state)
    )
    return (
        f"DELETE {{ GRAPH {graph} {{ ?s ?p ?o }} }} "
        f"INSERT {{ GRAPH {graph} {{ {lines} }} }} "
        f"WHERE {{ GRAPH {graph} {{ {graph} {_predicate(layout, 'version')} {version} . ?s ?p ?o }} }}"
    )
