"""Stage 4 of the pipeline: where the graphs live (embedded Oxigraph or a remote SPARQL server).

The store knows how its graphs are named and keeps the union (its default graph: every
record, derived and ontology triple once), but nothing of records: the load pipeline
(:mod:`cipd_graph.load`) plans a write as a :class:`Change` and applies it here in one step.
"""

from cipd_graph.store.backends import (
    UNION,
    Backend,
    ChangeSet,
    EmbeddedBackend,
    QueryAnswer,
    RemoteBackend,
)
from cipd_graph.store.change import Change
from cipd_graph.store.layout import GraphLayout
from cipd_graph.store.meta import StoreState
from cipd_graph.store.store import FORMAT, MEMORY, SourceInfo, Store, StoreNotFoundError

__all__ = [
    "FORMAT",
    "MEMORY",
    "UNION",
    "Backend",
    "Change",
    "ChangeSet",
    "EmbeddedBackend",
    "GraphLayout",
    "QueryAnswer",
    "RemoteBackend",
    "SourceInfo",
    "Store",
    "StoreNotFoundError",
    "StoreState",
]
