"""The library's front door: a store together with its load pipeline.

:class:`GraphStore` is a :class:`~cipd_graph.store.Store` (queries, sources, exports) that
can also load, validate, drop and derive through the one pipeline the CLI and the API use
(:class:`~cipd_graph.load.Pipeline`); each of those methods is a single call into it.

>>> from cipd_graph import Settings
>>> store = GraphStore(None, Settings(pseudonym_key="doctest-key-0123456789"))
>>> store.stats()["batches"]
0
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from functools import cached_property
from pathlib import Path

import pyoxigraph as ox
from rdflib import URIRef

from cipd_graph._config import Settings
from cipd_graph._errors import RecordProblem, StoreError
from cipd_graph._model import Model
from cipd_graph._ontology import CIPD, ONTOLOGY_IRI
from cipd_graph.load import LoadResult, Pipeline, Progress
from cipd_graph.mapping import MappedFile, Mapper, Pseudonymiser
from cipd_graph.store import FORMAT, Backend, EmbeddedBackend, GraphLayout, Store, StoreState
from cipd_graph.validation import ValidationReport

#: What :meth:`GraphStore.stats` counts: name -> the classes whose instances it counts.
COUNTED = {
    "projects": (CIPD.ImprovementProject,),
    "pdsa_cycles": (CIPD.PDSACycle,),
    "learning_activities": (CIPD.LearningActivity,),
    "reflections": (CIPD.Reflection,),
    "co_design_activities": (CIPD.CoDesignActivity,),
    "people": (URIRef("http://xmlns.com/foaf/0.1/Person"),),
    "organisations": (
        URIRef("http://www.w3.org/ns/org#FormalOrganization"),
        CIPD.ServiceProvider,
        CIPD.EducationalInstitution,
        CIPD.Commissioner,
    ),
    "modules": (CIPD.Module,),
    "programmes": (CIPD.Programme,),
    "module_mappings": (CIPD.ModuleMapping,),
    "partnerships": (CIPD.Partnership,),
}


class GraphStore(Store):
    """The CIPD graph: on disk at ``location``, in memory (None), or on ``backend``."""

    def __init__(
        self,
        location: Path | None,
        settings: Settings | None = None,
        *,
        backend: Backend | None = None,
    ) -> None:
        settings = settings or Settings.from_env()
        if backend is None:
            layout = GraphLayout(settings.base_iri, str(ONTOLOGY_IRI))
            backend = EmbeddedBackend(location, layout)
        super().__init__(backend, settings)

    @classmethod
    def open(
        cls, settings: Settings | None = None, *, read_only: bool = False, create: bool = True
    ) -> GraphStore:
        """Open the store ``CIPD_STORE`` names (see :meth:`Store.open`); a reader of a store of
        an earlier layout is told to upgrade it."""
        opened = Store.open(settings, read_only=read_only, create=create)
        store = cls(None, opened.settings, backend=opened.backend)
        if read_only and store.format() not in (0, FORMAT):
            store.close()
            raise StoreError(
                f"{store.settings.store}: the store was made by an earlier version of cipd-graph; "
                "upgrade it once with `cipd derive --all` (with no server running)"
            )
        return store

    @cached_property
    def pipeline(self) -> Pipeline:
        """The load pipeline that writes to this store (over a :class:`Store` of the same
        backend, not this object: a reference back would make a cycle, and the store would
        stay open until the cycle collector ran)."""
        return Pipeline(Store(self.backend, self.settings))

    # -- what mapping needs ---------------------------------------------------------------
    @property
    def pseudonymiser(self) -> Pseudonymiser:
        """The keyed hash for person identifiers (CIPD_PSEUDONYM_KEY or the store's key file)."""
        return self.pipeline.pseudonymiser

    @property
    def model(self) -> Model:
        """The CIPD model the store's records are mapped against."""
        return self.pipeline.model

    def new_mapper(self) -> Mapper:
        """A mapper for this store, for readers of other formats (see :meth:`Pipeline.new_mapper`)."""
        return self.pipeline.new_mapper()

    def framework_items(self) -> dict[str, URIRef]:
        """Items of imported competency frameworks, by every key a record may name them with."""
        return self.pipeline.framework_items()

    def stored_types(self, iri: str, ignore: Collection[str] = ()) -> frozenset[str]:
        """The classes the loaded records give ``iri``, not counting the batches in ``ignore``."""
        return self.pipeline.stored_types(iri, ignore)

    def stored_facts(self, iri: str, ignore: Collection[str] = ()) -> list[tuple[str, str, str]]:
        """What the loaded batches say about ``iri``: (predicate, object value, source path)."""
        return self.pipeline.stored_facts(iri, ignore)

    def batch_graph(self, path: Path) -> str:
        """The named graph a source file is loaded into."""
        return self.pipeline.batch_graph(path)

    # -- the pipeline -----------------------------------------------------------------------
    def check(self, paths: Sequence[Path]) -> tuple[LoadResult, list[MappedFile]]:
        """Read, map and validate ``paths`` without writing anything."""
        return self.pipeline.check(paths)

    def check_mapped(
        self, mapped: Sequence[MappedFile], problems: Sequence[RecordProblem] = ()
    ) -> LoadResult:
        """Validate already-mapped batches against the store; write nothing."""
        return self.pipeline.check_mapped(mapped, problems)

    def validate(self, paths: Sequence[Path]) -> LoadResult:
        """Dry run: everything a load does except writing."""
        return self.pipeline.check(paths)[0]

    def load(
        self,
        paths: Sequence[Path],
        *,
        user: str | None = None,
        progress: Progress | None = None,
        staged: bool | None = None,
        chunk: int | None = None,
    ) -> LoadResult:
        """Load files, each into its own named graphs, all in one step, or nothing."""
        return self.pipeline.load(paths, user=user, progress=progress, staged=staged, chunk=chunk)

    def load_mapped(
        self,
        mapped: Sequence[MappedFile],
        problems: Sequence[RecordProblem] = (),
        *,
        user: str | None = None,
        progress: Progress | None = None,
    ) -> LoadResult:
        """Validate already-mapped batches and write them in one step, or nothing."""
        return self.pipeline.load_mapped(mapped, problems, user=user, progress=progress)

    def drop(self, source: str) -> str:
        """Remove the batch loaded from ``source`` and what it supported; return its graph."""
        return self.pipeline.drop(source)

    def edit(
        self,
        *,
        replace: Mapping[str, Sequence[ox.Triple]] | None = None,
        remove: Mapping[str, Collection[ox.Triple]] | None = None,
        add: Mapping[str, Collection[ox.Triple]] | None = None,
    ) -> LoadResult:
        """Edit record graphs in one step, deriving what the edit touches."""
        return self.pipeline.edit(replace=replace, remove=remove, add=add)

    def derive_all(self, progress: Progress | None = None) -> None:
        """Recompute the union and every derived fact from the records."""
        self.pipeline.derive_all(progress)

    def validate_store(self) -> ValidationReport:
        """Validate every batch in the store together."""
        return self.pipeline.validate_store()

    # -- counts ------------------------------------------------------------------------------
    def stats(self) -> dict[str, int]:
        """Counts of what the store holds, each thing once.

        The whole-store totals (triples, quads, derived triples) are those the store keeps
        with its version (:mod:`cipd_graph.store.meta`); when it keeps none they are counted,
        and kept for the next reader. The other counts read one class or property each.
        """
        state = self.state()
        totals = state.totals
        if totals is None:
            totals = self.count_totals()
            if state.version:
                self.pipeline.keep_totals(StoreState(state.version, totals, state.derivation))
        counts = {
            "triples": totals["triples"],
            "quads": totals["quads"],
            "batches": len(self.record_graphs()),
        }
        for name, classes in COUNTED.items():
            values = " ".join(f"<{c}>" for c in classes)
            rows = self.select(
                f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ VALUES ?c {{ {values} }} ?s a ?c }}"
            )
            counts[name] = int(rows[0]["n"].value)
        rows = self.select(
            "SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?s <https://w3id.org/cipd#hasProfession> ?p }"
        )
        counts["professions"] = int(rows[0]["n"].value)
        counts["derived_triples"] = totals["derived_triples"]
        return counts

    def derived_facts_current(self) -> bool:
        """Whether the derived facts were computed with this installation's rules and
        ontology (false after an upgrade that changed them, until the next write or
        ``cipd derive --all``; true for a store nothing was written to)."""
        state = self.state()
        return not state.version or state.derivation == self.pipeline.derivation

    def count_totals(self) -> dict[str, int]:
        """The whole-store totals, counted (a scan of every quad)."""
        derived = 0
        for graph in self.named_graphs():
            if self.layout.is_derived(graph):
                rows = self.select(
                    f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
                )
                derived += int(rows[0]["n"].value)
        return {
            "triples": self.union_size(),
            "quads": self.quad_count(),
            "derived_triples": derived,
        }
