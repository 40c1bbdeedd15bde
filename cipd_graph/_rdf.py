"""RDF terms shared by every stage: fast reads of rdflib's in-memory graphs, conversions
between rdflib and pyoxigraph terms.

Fast reads, for the hot paths of a load:

rdflib answers ``for t in graph`` through its store's generic ``triples`` method, which for
the default ``Memory`` store also looks up the graphs holding every triple. Mapped files and
their provenance are small single graphs over an in-memory store, so the load reads their
index dictionaries directly instead (about ten times faster); any other graph is iterated.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.plugins.stores.memory import Memory, SimpleMemory
from rdflib.term import Node

from cipd_graph._errors import StoreError

Index = dict[Any, dict[Any, dict[Any, Any]]]
Triple = tuple[Node, Node, Node]
#: A pyoxigraph term that can stand in a triple (pyoxigraph's stubs name no such union).
Term = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple


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


# --------------------------------------------------------------------------- conversions


#: ``rdf:type`` as a pyoxigraph term.
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
#: ``xsd:string`` (the datatype of a plain literal) as a pyoxigraph term.
XSD_STRING = ox.NamedNode("http://www.w3.org/2001/XMLSchema#string")


def grouped_by_predicate(triples: Iterable[ox.Triple]) -> dict[ox.NamedNode, list[ox.Triple]]:
    """``triples`` grouped by predicate."""
    found: dict[ox.NamedNode, list[ox.Triple]] = {}
    for t in triples:
        found.setdefault(t.predicate, []).append(t)
    return found


def to_rdflib(term: Any) -> Node:
    """A pyoxigraph term as rdflib's, literals as stored: without rdflib's normalisation
    (which rewrites lexical forms, such as a week date into a calendar date, before SHACL
    could see them); an xsd:string is a simple literal, the same RDF term as the record
    graphs hold."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language, normalize=False)
        if term.datatype == XSD_STRING:
            return Literal(term.value, normalize=False)
        return Literal(term.value, datatype=URIRef(term.datatype.value), normalize=False)
    raise StoreError(f"unexpected RDF term {term!r}")


def to_oxigraph(term: Node) -> Any:
    """An rdflib term as pyoxigraph's (which checks IRIs and language tags)."""
    if isinstance(term, URIRef):
        return ox.NamedNode(term)
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(term.datatype))
        return ox.Literal(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    raise StoreError(f"unexpected RDF term {term!r}")


def ntriples_terms() -> Callable[[Node], str]:
    """A writer of rdflib terms as N-Triples text that checks and writes each distinct term
    once, through pyoxigraph (so a term it would refuse fails here too)."""
    written: dict[Node, str] = {}

    def term(node: Node) -> str:
        text = written.get(node)
        if text is None:
            text = written[node] = str(to_oxigraph(node))
        return text

    return term


def rdflib_terms() -> Callable[[Any], Node]:
    """A converter of pyoxigraph terms to rdflib's that converts each distinct term once
    (rdflib checks every IRI it is given, and data restates the same few terms)."""
    converted: dict[Any, Node] = {}

    def term(node: Any) -> Node:
        found = converted.get(node)
        if found is None:
            found = converted[node] = to_rdflib(node)
        return found

    return term


def as_triples(triples: Iterable[ox.Triple]) -> list[Triple]:
    """pyoxigraph triples in rdflib terms."""
    term = rdflib_terms()
    return [(term(t.subject), term(t.predicate), term(t.object)) for t in triples]


def oxigraph_triples(graph: Graph) -> list[ox.Triple]:
    """The triples of an rdflib graph as pyoxigraph triples (each distinct term converted once)."""
    converted: dict[Node, Any] = {}

    def term(node: Node) -> Any:
        found = converted.get(node)
        if found is None:
            found = converted[node] = to_oxigraph(node)
        return found

    return [ox.Triple(term(s), term(p), term(o)) for s, p, o in triples_of(graph)]


def iri_ok(iri: str) -> str:
    """``iri`` if it can sit between ``<`` and ``>`` in a query; StoreError otherwise."""
    if re.search(r"[\s<>\"{}|\\^`]", iri):
        raise StoreError(f"not a valid IRI: {iri!r}")
    return iri
