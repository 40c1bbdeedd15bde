"""How a store names its graphs, and which of them a reader sees.

Every graph of a store lives under ``<base>graph/`` (plus the ontology's own IRI):

- ``graph/source/<key>``: the records of one loaded file (a *batch*), with
  ``<batch>/names`` (people's names, never readable by queries) and ``<batch>/provenance``
  (where the batch came from, PROV-O);
- ``graph/api/...``: records written through the API (module mappings), same suffixes;
- ``graph/inferred/<rule>``: the facts one derivation rule derives (``rules/*.rq``), so the
  graph of a derived triple names the rule that supports it;
- the ontology, in a graph named by the ontology IRI;
- the *union*: every triple of the record, derived and ontology graphs, each once. On the
  embedded store it is Oxigraph's default graph; on a remote server, the named graph
  ``graph/union`` (a server's own default graph may be anything). Queries read it as their
  default graph, so ``COUNT`` counts each triple once, as a set of triples should;
- ``graph/journal/...``: a remote store's undo journals (never read by queries);
- ``graph/meta``: the store's version (a new one with every write) and the totals kept with
  it (:mod:`cipd_graph.store.meta`); not in the union, not exported, not read by queries.

>>> layout = GraphLayout("https://example.org/d/", "https://w3id.org/cipd")
>>> layout.in_union("https://example.org/d/graph/source/abc")
True
>>> layout.in_union("https://example.org/d/graph/source/abc/names")
False
>>> layout.readable("https://example.org/d/graph/source/abc/provenance")
True
>>> layout.derived("caipe-interprofessional")
'https://example.org/d/graph/inferred/caipe-interprofessional'
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GraphLayout:
    """The graph names of a store whose records live under ``base``."""

    base: str
    ontology: str

    @property
    def graphs(self) -> str:
        """The prefix of every graph of the store but the ontology's."""
        return self.base + "graph/"

    @property
    def source_prefix(self) -> str:
        """Graphs of loaded files."""
        return self.base + "graph/source/"

    @property
    def api_prefix(self) -> str:
        """Graphs of records written through the API."""
        return self.base + "graph/api/"

    @property
    def derived_prefix(self) -> str:
        """Graphs of derived facts, one a rule."""
        return self.base + "graph/inferred/"

    @property
    def union(self) -> str:
        """The union's graph on a remote server (the embedded store uses its default graph)."""
        return self.base + "graph/union"

    @property
    def journal_prefix(self) -> str:
        """A remote store's undo journals."""
        return self.base + "graph/journal/"

    @property
    def meta(self) -> str:
        """The graph of the store's version and the totals kept with it."""
        return self.base + "graph/meta"

    def derived(self, rule: str) -> str:
        """The graph of the facts rule ``rule`` derives."""
        return self.derived_prefix + rule

    def names(self, batch: str) -> str:
        """The graph of people's names of a batch."""
        return batch + "/names"

    def provenance(self, batch: str) -> str:
        """The provenance graph of a batch."""
        return batch + "/provenance"

    def is_record(self, graph: str) -> bool:
        """A graph of records: a loaded file's or the API's (not its names or provenance)."""
        return graph.startswith((self.source_prefix, self.api_prefix)) and not graph.endswith(
            ("/names", "/provenance")
        )

    def is_derived(self, graph: str) -> bool:
        """A graph of one rule's derived facts."""
        return graph.startswith(self.derived_prefix)

    def in_union(self, graph: str) -> bool:
        """Whether ``graph``'s triples belong to the union (records, derived facts, ontology)."""
        return self.is_record(graph) or self.is_derived(graph) or graph == self.ontology

    def readable(self, graph: str) -> bool:
        """Whether queries may read ``graph`` by name: every graph of the store but the names
        graphs, the journals, the store's bookkeeping and (remote) the union's own graph,
        which is the default graph."""
        return (
            not graph.endswith("/names")
            and not graph.startswith(self.journal_prefix)
            and graph not in (self.union, self.meta)
        )

    def owned(self, graph: str) -> bool:
        """Whether ``graph`` belongs to this store (a shared server holds other graphs too)."""
        return graph.startswith(self.graphs) or graph == self.ontology
