"""Imported competency frameworks read back from the store, for the writers of CASE and
CTDL-ASN: both importers make the same SKOS model (``cipd:CompetencyFramework`` schemes of
``cipd:FrameworkItem`` concepts), and both writers turn it into their standard's document.

Every list is sorted and every single value is the least of its values, so that a document
written from the store is the same bytes on every run (a store's union graph can repeat a
triple stated in two batches).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox
from rdflib import URIRef
from rdflib.namespace import DCTERMS, PROV, SKOS

from cipd_graph._ontology import CIPD
from cipd_graph.graph import GraphStore
from cipd_graph.interop import FormatError
from cipd_graph.interop._common import select


@dataclass
class Text:
    """A literal: its text and language tag (empty for none)."""

    text: str
    lang: str = ""


@dataclass
class Item:
    """One item of an imported framework."""

    iri: str
    identifier: str
    label: Text
    uri: str | None = None
    code: str | None = None
    alt_labels: list[Text] = field(default_factory=list)
    kind: str | None = None
    note: Text | None = None
    modified: str | None = None
    created: str | None = None
    broader: list[str] = field(default_factory=list)
    top: bool = False
    related: list[str] = field(default_factory=list)
    exact: list[str] = field(default_factory=list)
    close: list[str] = field(default_factory=list)
    related_match: list[str] = field(default_factory=list)
    broad_match: list[str] = field(default_factory=list)
    narrow_match: list[str] = field(default_factory=list)
    derived_from: list[str] = field(default_factory=list)


@dataclass
class Framework:
    """An imported framework and its items (by IRI)."""

    iri: str
    identifier: str
    title: Text
    uri: str | None = None
    creators: list[str] = field(default_factory=list)
    creator_iris: list[str] = field(default_factory=list)
    publishers: list[Text] = field(default_factory=list)
    publisher_iris: list[str] = field(default_factory=list)
    description: Text | None = None
    version: str | None = None
    modified: str | None = None
    created: str | None = None
    note: Text | None = None
    licence: str | None = None
    items: dict[str, Item] = field(default_factory=dict)


_SCHEME = """
SELECT DISTINCT ?p ?o WHERE { #+ bind
  ?f ?p ?o }
"""
_ITEMS = """
SELECT DISTINCT ?item ?p ?o WHERE { #+ bind
  ?item skos:inScheme ?f ; a cipd:FrameworkItem ; ?p ?o }
"""
_FIND = """
SELECT DISTINCT ?f WHERE { #+ bind
  ?f a cipd:CompetencyFramework ; dcterms:identifier ?id }
"""
_ALL = "SELECT DISTINCT ?id WHERE { ?f a cipd:CompetencyFramework ; dcterms:identifier ?id }"


def _text(term: ox.Literal) -> Text:
    return Text(term.value, term.language or "")


def _least(values: list[Text]) -> Text | None:
    return min(values, key=lambda t: (t.lang, t.text)) if values else None


def find_framework(store: GraphStore, key: str) -> str:
    """The IRI of the imported framework ``key`` names (its identifier or IRI)."""
    rows = select(store, _FIND, id=ox.Literal(key))  # a CASE identifier, a CTID, an @id
    if rows:
        return str(min(r["f"].value for r in rows))
    if key.startswith(("http://", "https://")) and str(CIPD.CompetencyFramework) in (
        store.stored_types(key)
    ):
        return key
    known = sorted(r["id"].value for r in select(store, _ALL))
    listed = (
        ", ".join(known[:20]) + (" ..." if len(known) > 20 else "") if known else "none imported"
    )
    raise FormatError(f"no imported framework {key!r}; known frameworks: {listed}")


def read_framework(store: GraphStore, key: str) -> Framework:
    """The imported framework ``key`` (identifier or IRI) with its items."""
    iri = find_framework(store, key)
    node = ox.NamedNode(iri)
    values: dict[str, list[ox.NamedNode | ox.Literal]] = {}
    for row in select(store, _SCHEME, f=node):
        values.setdefault(row["p"].value, []).append(row["o"])

    def texts(prop: URIRef, found: dict[str, list[ox.NamedNode | ox.Literal]]) -> list[Text]:
        return sorted(
            (_text(o) for o in found.get(str(prop), []) if isinstance(o, ox.Literal)),
            key=lambda t: (t.lang, t.text),
        )

    def iris(prop: URIRef, found: dict[str, list[ox.NamedNode | ox.Literal]]) -> list[str]:
        return sorted({o.value for o in found.get(str(prop), []) if isinstance(o, ox.NamedNode)})

    def one(prop: URIRef, found: dict[str, list[ox.NamedNode | ox.Literal]]) -> str | None:
        text = _least(texts(prop, found))
        return text.text if text else None

    ident = one(DCTERMS.identifier, values) or iri
    title = _least(texts(SKOS.prefLabel, values)) or Text(ident)
    framework = Framework(iri, ident, title)
    framework.uri = min(iris(DCTERMS.source, values), default=None)
    framework.creators = [t.text for t in texts(DCTERMS.creator, values)]
    framework.creator_iris = iris(DCTERMS.creator, values)
    framework.publishers = texts(DCTERMS.publisher, values)
    framework.publisher_iris = iris(DCTERMS.publisher, values)
    framework.description = _least(texts(DCTERMS.description, values))
    framework.version = one(DCTERMS.hasVersion, values)
    framework.modified = one(DCTERMS.modified, values)
    framework.created = one(DCTERMS.created, values)
    framework.note = _least(texts(SKOS.note, values))
    framework.licence = min(iris(DCTERMS.license, values), default=None)
    top = set(iris(SKOS.hasTopConcept, values))

    by_item: dict[str, dict[str, list[ox.NamedNode | ox.Literal]]] = {}
    for row in select(store, _ITEMS, f=node):
        by_item.setdefault(row["item"].value, {}).setdefault(row["p"].value, []).append(row["o"])
    for item_iri, found in sorted(by_item.items()):
        label = _least(texts(SKOS.prefLabel, found))
        item = Item(item_iri, one(DCTERMS.identifier, found) or item_iri, label or Text(item_iri))
        item.uri = min(iris(DCTERMS.source, found), default=None)
        item.code = one(SKOS.notation, found)
        item.alt_labels = texts(SKOS.altLabel, found)
        item.kind = one(DCTERMS.type, found)
        item.note = _least(texts(SKOS.note, found))
        item.modified = one(DCTERMS.modified, found)
        item.created = one(DCTERMS.created, found)
        item.broader = iris(SKOS.broader, found)
        item.top = item_iri in top or bool(iris(SKOS.topConceptOf, found))
        item.related = iris(SKOS.related, found)
        item.exact = [u for u in iris(SKOS.exactMatch, found) if u != item.uri]
        item.close = iris(SKOS.closeMatch, found)
        item.related_match = iris(SKOS.relatedMatch, found)
        item.broad_match = iris(SKOS.broadMatch, found)
        item.narrow_match = iris(SKOS.narrowMatch, found)
        item.derived_from = iris(PROV.wasDerivedFrom, found)
        framework.items[item_iri] = item
    return framework
