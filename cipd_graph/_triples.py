"""Fast reads of rdflib's in-memory graphs, for the hot paths of a load.

rdflib answers ``for t in graph`` through its store's generic ``triples`` method, which for
the default ``Memory`` store also looks up the graphs holding every triple. Mapped files and
their provenance are small single graphs over an in-memory store, so the load reads their
index dictionaries directly instead (about ten times faster); any other graph is iterated.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rdflib import Graph
from rdflib.plugins.stores.memory import Memory, SimpleMemory

Index = dict[Any, dict[Any, dict[Any, Any]]]


def memory_indexes(graph: Graph) -> tuple[Index, Index] | None:
    """The s->p->o and p->o->s dictionaries of rdflib's in-memory stores, when ``graph`` is
    the only graph in its store (a plain ``Graph()``, or a graph over ``SimpleMemory``,
    which holds one graph); None otherwise.
    """
    store = graph.store
    if type(graph) is not Graph:
        return None
    if isinstance(store, SimpleMemory):
        prefix = "_SimpleMemory"
    elif type(store) is Memory:
        contexts = getattr(store, "_Memory__all_contexts", None)
        if not isinstance(contexts, set):
            return None
        if any(c.identifier != graph.identifier for c in contexts):
            return None  # the store holds other graphs too
        prefix = "_Memory"
    else:
        return None
    spo = getattr(store, prefix + "__spo", None)
    pos = getattr(store, prefix + "__pos", None)
    if not isinstance(spo, dict) or not isinstance(pos, dict):
        return None
    return spo, pos


def triples_of(graph: Graph) -> Iterator[tuple[Any, Any, Any]]:
    """Every triple of ``graph``, in no particular order.

    >>> from rdflib import URIRef
    >>> g = Graph()
    >>> _ = g.add((URIRef("urn:a"), URIRef("urn:p"), URIRef("urn:b")))
    >>> [str(n) for t in triples_of(g) for n in t]
    ['urn:a', 'urn:p', 'urn:b']
    """
    indexes = memory_indexes(graph)
    if indexes is None:
        yield from graph
        return
    for s, by_p in indexes[0].items():
        for p, objects in by_p.items():
            for o in objects:
                yield s, p, o
