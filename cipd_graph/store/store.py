"""The store: the graphs of a CIPD knowledge graph, embedded or remote, behind one interface.

A :class:`Store` opens the backend ``CIPD_STORE`` names, answers queries over the union
(its default graph: each triple once), lists the graphs it holds and what they came from,
exports them, and applies a :class:`~cipd_graph.store.backends.ChangeSet` atomically. It
knows how graphs are named (:class:`~cipd_graph.store.layout.GraphLayout`) but nothing of
records: reading, mapping, validating and deriving happen in the load pipeline
(:mod:`cipd_graph.load`), which writes through it.

>>> store = Store.open(Settings(store=":memory:", pseudonym_key="doctest-key-0123456789"))
>>> store.union_size(), store.record_graphs()
(0, [])
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import pyoxigraph as ox

from cipd_graph._config import Settings
from cipd_graph._errors import StoreError
from cipd_graph._ontology import ONTOLOGY_IRI, PREFIXES
from cipd_graph.store.backends import (
    LIVE,
    Backend,
    ChangeSet,
    EmbeddedBackend,
    QueryAnswer,
    RemoteBackend,
)
from cipd_graph.store.layout import GraphLayout
from cipd_graph.store.meta import StoreState, read_state

#: The version of the store's layout; a store of an earlier one is upgraded when a writer
#: opens it (see :meth:`Store.format`).
FORMAT = 2
#: A memory store, for tests and doctests.
MEMORY = ":memory:"
#: Pauses between attempts to open a store read-only while its writer compacts it (seconds).
READ_RETRY_PAUSES = (0.02, 0.05, 0.1, 0.2, 0.4, 0.8)


class StoreNotFoundError(StoreError):
    """A reader named a store that does not exist (only writes create one)."""


@dataclass(frozen=True)
class SourceInfo:
    """A batch in the store and where it came from."""

    graph: str
    path: str
    kind: str
    sha256: str
    loaded_at: str
    loaded_by: str
    triples: int
    tool_version: str


def _open_read_only(location: Path, layout: GraphLayout) -> EmbeddedBackend:
    """Open ``location``'s store read-only, retrying while its writer compacts it (a
    read-only handle reads the files the manifest lists when it opens; the writer may
    delete some of them in between, and opening again finds the new manifest)."""
    for pause in (*READ_RETRY_PAUSES, None):
        try:
            return EmbeddedBackend(location, layout, read_only=True)
        except StoreError:
            if pause is None:
                raise
            time.sleep(pause)
    raise AssertionError("unreachable")  # pragma: no cover


class Store:
    """The CIPD graph's storage (see the module's docstring)."""

    def __init__(self, backend: Backend, settings: Settings) -> None:
        self.settings = settings
        self.backend = backend
        self.layout = backend.layout
        self.base = settings.base_iri
        #: Seen at the current layout once: no write of this version makes an earlier layout.
        self._current = False

    @classmethod
    def open(
        cls, settings: Settings | None = None, *, read_only: bool = False, create: bool = True
    ) -> Store:
        """Open the store ``CIPD_STORE`` names.

        ``read_only``: a reader beside a writer (``cipd serve``), seeing the store as it is
        when opened; a store that does not exist is then an error naming its location, as it
        is with ``create`` False (only writes create a store).
        """
        settings = settings or Settings.from_env()
        layout = GraphLayout(settings.base_iri, str(ONTOLOGY_IRI))
        if settings.store == MEMORY:
            return cls(EmbeddedBackend(None, layout), settings)
        if not settings.store_is_remote:
            location = Path(settings.store)
            if (read_only or not create) and not (location / LIVE).exists():
                raise StoreNotFoundError(
                    f"no store at {location}: check CIPD_STORE (a load creates a store; "
                    "reading never does)"
                )
            if read_only:
                return cls(_open_read_only(location, layout), settings)
            return cls(EmbeddedBackend(location, layout), settings)
        if not settings.pseudonym_key:
            raise StoreError(
                f"CIPD_STORE={settings.store!r} is a remote SPARQL server: set CIPD_PSEUDONYM_KEY "
                "too (a remote store has no local directory to keep a generated key in, and "
                "every process writing to it must use the same key)"
            )
        backend = RemoteBackend(
            settings.store,
            layout,
            update_url=settings.store_update,
            gsp_url=settings.store_gsp,
            user=settings.store_user,
            password=settings.store_password,
            auth=settings.store_auth,
        )
        return cls(backend, settings)

    # -- basics -------------------------------------------------------------------------
    @property
    def location(self) -> Path | None:
        """The store's directory (None in memory or remote)."""
        return self.backend.location

    @property
    def is_remote(self) -> bool:
        """Whether the quads live on a remote SPARQL server."""
        return isinstance(self.backend, RemoteBackend)

    @property
    def read_only(self) -> bool:
        """Whether the store was opened as a reader."""
        return self.backend.read_only

    @property
    def oxigraph(self) -> ox.Store:
        """The underlying pyoxigraph store of an embedded store (read it; write through the pipeline)."""
        if not isinstance(self.backend, EmbeddedBackend):
            raise StoreError("the store is a remote SPARQL server: use Store.query")
        return self.backend.store

    def close(self) -> None:
        """Flush to disk (or close the connection) and release the store."""
        self.backend.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reads --------------------------------------------------------------------------
    def query(self, text: str) -> QueryAnswer:
        """Run a read-only SPARQL query. Its default graph is the union: every record,
        derived and ontology triple once, never a person's name; ``GRAPH ?g`` reads any graph.

        >>> store = Store.open(Settings(store=MEMORY))
        >>> bool(store.query("ASK { ?s ?p ?o }"))
        False
        """
        return self.backend.query(text)

    def select(self, text: str) -> list[dict[str, Any]]:
        """The rows of a SELECT query, each a dict of variable name -> term (or None)."""
        solutions = self.backend.query(text)
        if not isinstance(solutions, ox.QuerySolutions):
            raise StoreError("select() needs a SELECT query")
        names = [v.value for v in solutions.variables]
        return [{n: row[n] for n in names} for row in solutions]

    def named_graphs(self) -> list[str]:
        """Every named graph of the store."""
        return self.backend.named_graphs()

    def record_graphs(self) -> list[str]:
        """The named graphs holding records (one per loaded file, and the API's)."""
        return sorted(g for g in self.backend.named_graphs() if self.layout.is_record(g))

    def readable_graphs(self) -> list[str]:
        """The named graphs queries may read by name: records, derived facts, provenance and
        the ontology; never names."""
        return sorted(g for g in self.backend.named_graphs() if self.layout.readable(g))

    def quad_count(self) -> int:
        """How many quads the named graphs hold (names and ontology included, the union not)."""
        return self.backend.count()

    def union_size(self) -> int:
        """How many distinct triples the union holds."""
        return self.backend.union_size()

    def state(self) -> StoreState:
        """The store's version and the totals kept with it (see :mod:`cipd_graph.store.meta`):
        a point look-up, so a reader can ask before every answer it caches."""
        return read_state(self.layout, self.backend.graph_triples(self.layout.meta))

    def version(self) -> str:
        """The store's version: a new one after every write ("" before the first)."""
        return self.state().version

    def format(self) -> int:
        """The layout version of the store's data: :data:`FORMAT`, 0 when empty, 1 for a
        store made before the union and the per-rule derived graphs.

        Look-ups only: every write asks, and listing the graphs or counting the union of a
        store of 31,400 projects took 3.4 s and 12.2 s of a 16 s one-project upload. Once a
        store has been seen at :data:`FORMAT` the answer is remembered: nothing this version
        writes makes an earlier layout. (A store emptied since then still answers
        :data:`FORMAT`, which every caller takes as 0.)
        """
        if self._current:
            return FORMAT
        if not self.backend.has_named_graphs():
            return 0
        if self.backend.has_graph(self.layout.base + "graph/inferred"):
            return 1
        if self.backend.union_is_empty() and self.record_graphs():
            return 1
        self._current = True
        return FORMAT

    def has_graph(self, graph: str) -> bool:
        """Whether the store holds the named ``graph``."""
        return self.backend.has_graph(graph)

    def sources(self) -> list[SourceInfo]:
        """Every loaded batch with its provenance."""
        graphs = self.record_graphs()
        if not graphs:
            return []
        # Only this store's batches (a remote server may hold other stores'), kept in Python:
        # with the 10,007 provenance graphs of 10,000 projects in a VALUES block the query
        # took 12.8 s, reading every provenance graph and keeping this store's 0.97 s.
        mine = {self.layout.provenance(g) for g in graphs}
        rows = [
            r
            for r in self.select(
                """
            PREFIX prov: <http://www.w3.org/ns/prov#>
            PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
            PREFIX cipd: <https://w3id.org/cipd#>
            SELECT ?pg ?batch ?path ?kind ?sha ?at ?who ?n ?version WHERE {
              GRAPH ?pg {
                ?batch a cipd:RecordBatch ; prov:wasDerivedFrom ?file ; prov:generatedAtTime ?at ;
                       cipd:tripleCount ?n ; prov:wasGeneratedBy ?load .
                ?file cipd:sourcePath ?path ; cipd:sha256 ?sha ; cipd:recordKind ?kind .
                ?load cipd:toolVersion ?version ; prov:wasAssociatedWith ?agent .
                ?agent a prov:Agent ; rdfs:label ?who .
              }
            }
            """
            )
            if r["pg"].value in mine
        ]
        found = [
            SourceInfo(
                graph=r["batch"].value,
                path=r["path"].value,
                kind=r["kind"].value,
                sha256=r["sha"].value,
                loaded_at=r["at"].value,
                loaded_by=r["who"].value,
                triples=int(r["n"].value),
                tool_version=r["version"].value,
            )
            for r in rows
        ]
        return sorted(found, key=lambda s: (s.path, s.graph))

    def quads(self, *, with_names: bool = False, with_ontology: bool = False) -> Iterator[ox.Quad]:
        """Every quad to export: records, derived facts and provenance; names only if asked.
        The union is not exported: it is the merge of the other graphs."""
        for quad in self.backend.quads():
            name = quad.graph_name.value if isinstance(quad.graph_name, ox.NamedNode) else ""
            if name.endswith("/names") and not with_names:
                continue
            if name == self.layout.ontology and not with_ontology:
                continue
            if name in (self.layout.union, self.layout.meta) or name.startswith(
                self.layout.journal_prefix
            ):
                continue
            yield quad

    def export(self, fmt: str, *, with_names: bool = False, with_ontology: bool = False) -> bytes:
        """Serialise the store: ``nq`` and ``trig`` keep the graphs; ``ttl``, ``nt`` and
        ``jsonld`` merge them. Sorted, so the same store always gives the same bytes."""
        formats = {
            "nq": ox.RdfFormat.N_QUADS,
            "trig": ox.RdfFormat.TRIG,
            "ttl": ox.RdfFormat.TURTLE,
            "nt": ox.RdfFormat.N_TRIPLES,
            "jsonld": ox.RdfFormat.JSON_LD,
        }
        if fmt not in formats:
            raise StoreError(f"unknown export format {fmt!r}: use one of {sorted(formats)}")
        rdf_format = formats[fmt]
        quads = self.quads(with_names=with_names, with_ontology=with_ontology)
        prefixes = PREFIXES | {"data": self.base}
        if rdf_format.supports_datasets:
            ordered = sorted(quads, key=lambda q: (str(q.graph_name), str(q)))
            return ox.serialize(ordered, format=rdf_format, prefixes=prefixes) or b""
        triples = sorted({q.triple for q in quads}, key=str)
        if fmt == "jsonld":
            return ox.serialize(triples, format=rdf_format) or b""
        return ox.serialize(triples, format=rdf_format, prefixes=prefixes) or b""

    # -- writes -------------------------------------------------------------------------
    def apply(
        self, changes: ChangeSet, after: Sequence[str] = (), *, graphs: Sequence[str] = ()
    ) -> None:
        """Apply ``changes``, then the update operations ``after``, all together or not at
        all (``graphs``: every graph ``after`` changes beyond those its text names)."""
        self.backend.apply(changes, after, graphs=graphs)

    def update(self, operations: Sequence[str], *, graphs: Sequence[str] = ()) -> None:
        """Run SPARQL update operations all together or not at all."""
        self.backend.update(operations, graphs=graphs)
