"""The load pipeline: records -> map -> validate -> write -> derive, for one store.

Every write goes one way through the stages, each a module with one job:

1. read the files (:mod:`cipd_graph.records`), reference tables first;
2. map them to RDF (:mod:`cipd_graph.mapping`);
3. validate them with SHACL against what the store already says about what they mention
   (:mod:`cipd_graph.validation`, context from :mod:`cipd_graph.load.context`);
4. plan the write (:class:`~cipd_graph.store.Change`): each batch replaces its graphs, the
   union follows exactly;
5. derive: the derived facts the write touches are recomputed into the same plan
   (:mod:`cipd_graph.derive.maintain`), or all of them when it touches the vocabulary;
6. apply the plan in one step (one Oxigraph transaction, or one journalled write remotely).

If any file fails, nothing is written. Large loads take the same stages chunk by chunk
through a staged copy of the store (:mod:`cipd_graph.load.staged`). Writes through one
:class:`Pipeline` exclude each other; on disk, the store's lock excludes other processes.
"""

from __future__ import annotations

import functools
import multiprocessing
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, URIRef
from rdflib.namespace import OWL

from cipd_graph._errors import RecordProblem, StoreError
from cipd_graph._model import Model
from cipd_graph._ontology import ONTOLOGY_IRI, curie, load_ontology
from cipd_graph._rdf import Triple, oxigraph_triples, triples_of
from cipd_graph.derive import Maintainer, NeedsFullDerivation, fingerprint, full_operations
from cipd_graph.load.background import BACKGROUND_TRIPLES, Validation
from cipd_graph.load.batches import (
    batch_contents,
    batch_graph,
    duplicate_problems,
    entities_of,
    loader,
    now_utc,
    source_path,
    summaries,
)
from cipd_graph.load.context import ContextReader
from cipd_graph.load.gc import fewer_collections
from cipd_graph.load.result import LoadResult, Progress, Stage, untimed
from cipd_graph.load.staged import derive_all_staged, load_staged, write_all_staged
from cipd_graph.mapping import MappedFile, Mapper, Pseudonymiser, parse_and_map
from cipd_graph.records import expand_paths
from cipd_graph.store import FORMAT, Change, ChangeSet, Store, StoreState
from cipd_graph.store.meta import add_totals, new_version, state_triples, totals_update
from cipd_graph.validation import ValidationReport, validate_graph


@lru_cache(maxsize=4)
def _model(directory: Path | None) -> Model:
    return Model(load_ontology(directory))


@lru_cache(maxsize=4)
def _maintainer(base: str) -> Maintainer:
    return Maintainer(base)


def stored_types(store: Store, iri: str, ignore: Collection[str] = ()) -> frozenset[str]:
    """The classes the records loaded in ``store`` give ``iri`` (empty when none mentions
    it), not counting the batch graphs in ``ignore`` (those an import is about to replace)."""
    try:
        subject = ox.NamedNode(iri)
    except ValueError:
        return frozenset()
    rows = store.select(f"SELECT ?c ?g WHERE {{ GRAPH ?g {{ {subject} a ?c }} }}")
    return frozenset(
        row["c"].value
        for row in rows
        if isinstance(row["c"], ox.NamedNode)
        and store.layout.is_record(row["g"].value)
        and row["g"].value not in ignore
    )


def stored_facts(
    store: Store, iri: str, ignore: Collection[str] = ()
) -> list[tuple[str, str, str]]:
    """What the batches loaded in ``store`` say about ``iri``: (predicate, object value,
    source path) rows from their record and provenance graphs, not counting the batches in
    ``ignore``."""
    try:
        subject = ox.NamedNode(iri)
    except ValueError:
        return []
    rows = store.select(f"SELECT ?p ?o ?g WHERE {{ GRAPH ?g {{ {subject} ?p ?o }} }}")
    paths: dict[str, str] = {}
    found: list[tuple[str, str, str]] = []
    for row in rows:
        graph = row["g"].value
        batch = graph.removesuffix("/provenance")
        if batch in ignore or not store.layout.is_record(batch) or graph.endswith("/names"):
            continue
        if batch not in paths:
            paths[batch] = source_path(store, batch)
        found.append((row["p"].value, row["o"].value, paths[batch]))
    return found


class Pipeline:
    """Reads, maps, validates, writes and derives for ``store``."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.settings = store.settings
        self.base = store.base
        self._pseudonymiser: Pseudonymiser | None = None
        self._model: Model | None = None
        #: The last load's mapper, to name people in reports by the ids it saw.
        self.mapper: Mapper | None = None
        #: Called after every write through this pipeline (the API refreshes its answers).
        self.listeners: list[Callable[[], None]] = []
        self._lock = threading.RLock()

    def _written(self) -> None:
        for listener in list(self.listeners):
            listener()

    # -- what mapping needs -------------------------------------------------------------
    @property
    def pseudonymiser(self) -> Pseudonymiser:
        """The keyed hash for person identifiers (CIPD_PSEUDONYM_KEY or the store's key file)."""
        if self._pseudonymiser is None:
            self._pseudonymiser = Pseudonymiser.from_settings(
                self.settings.pseudonym_key, self.store.location
            )
        return self._pseudonymiser

    @pseudonymiser.setter
    def pseudonymiser(self, value: Pseudonymiser) -> None:
        self._pseudonymiser = value

    @property
    def model(self) -> Model:
        """The CIPD model the store's records are mapped against."""
        if self._model is None:
            self._model = _model(self.settings.ontology_dir)
        return self._model

    @model.setter
    def model(self, value: Model) -> None:
        self._model = value

    def framework_items(self) -> dict[str, URIRef]:
        """Items of imported competency frameworks, by every key a record may name them with.

        Keys are the item's IRI, its URI in the publishing system (``skos:exactMatch``), its
        CASE identifier, and its code (``skos:notation``) when no other item shares it.
        """
        rows = self.store.select(
            "PREFIX cipd: <https://w3id.org/cipd#> "
            "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
            "PREFIX dcterms: <http://purl.org/dc/terms/> "
            "SELECT ?item ?id ?uri ?code WHERE { ?item a cipd:FrameworkItem . "
            "OPTIONAL { ?item dcterms:identifier ?id } OPTIONAL { ?item skos:exactMatch ?uri } "
            "OPTIONAL { ?item skos:notation ?code } }"
        )
        found: dict[str, URIRef] = {}
        codes: dict[str, set[str]] = {}
        for row in rows:
            item = URIRef(row["item"].value)
            found[str(item)] = item
            for key in ("id", "uri"):
                if row[key] is not None:
                    found.setdefault(row[key].value, item)
            if row["code"] is not None:
                codes.setdefault(row["code"].value, set()).add(str(item))
        for code, items in codes.items():
            if len(items) == 1:
                found.setdefault(code, URIRef(next(iter(items))))
        return found

    def stored_types(self, iri: str, ignore: Collection[str] = ()) -> frozenset[str]:
        """The classes the loaded records give ``iri`` (empty when no record mentions it),
        not counting the batch graphs in ``ignore``."""
        return stored_types(self.store, iri, ignore)

    def stored_facts(self, iri: str, ignore: Collection[str] = ()) -> list[tuple[str, str, str]]:
        """What the loaded batches say about ``iri`` (see :func:`stored_facts`)."""
        return stored_facts(self.store, iri, ignore)

    def new_mapper(self) -> Mapper:
        """A mapper for this store (its base IRI, pseudonym key and model), for readers of
        other formats. The pipeline remembers it so that reports name people by its ids."""
        self.mapper = Mapper(self.base, self.pseudonymiser, self.model, self.framework_items())
        # Bound to the store, not to this pipeline: the pipeline holds the mapper, and a
        # reference back would keep both (and the open store) until the cycle collector ran.
        self.mapper.stored_types = functools.partial(stored_types, self.store)
        self.mapper.stored_facts = functools.partial(stored_facts, self.store)
        return self.mapper

    def describe(self, iri: str) -> str:
        """``iri`` as a report names it (a person by the local id the last load saw)."""
        person_prefix = self.base + "person/"
        if iri.startswith(person_prefix):
            local = self.mapper.local_ids.get(iri) if self.mapper is not None else None
            return f"person {local}" if local else "person " + iri.removeprefix(person_prefix)
        if iri.startswith(self.base):
            return iri.removeprefix(self.base)
        return curie(iri)

    def batch_graph(self, path: Path) -> str:
        """The named graph a source file is loaded into (stable for the file's location)."""
        return batch_graph(self.store.layout, path)

    # -- read, map, validate --------------------------------------------------------------
    def parse_and_map(self, paths: Sequence[Path]) -> tuple[list[MappedFile], list[RecordProblem]]:
        """Read the files named (folders: every record file inside) and map them."""
        problems: list[RecordProblem] = []
        files = expand_paths(paths, problems)
        mapped, unreadable = parse_and_map(files, self.new_mapper())
        return mapped, problems + unreadable

    def check(self, paths: Sequence[Path]) -> tuple[LoadResult, list[MappedFile]]:
        """Read, map and validate ``paths`` against the store without writing anything."""
        with fewer_collections():
            mapped, problems, read = self._read(paths)
            result = self.check_mapped(mapped, problems)
            result.stages.insert(0, read)
            return result, mapped

    def _read(self, paths: Sequence[Path]) -> tuple[list[MappedFile], list[RecordProblem], Stage]:
        """:meth:`parse_and_map`, timed as the first stage of the result still to come."""
        start = time.perf_counter()
        mapped, problems = self.parse_and_map(paths)
        return mapped, problems, Stage("read and map", time.perf_counter() - start)

    def check_mapped(
        self, mapped: Sequence[MappedFile], problems: Sequence[RecordProblem] = ()
    ) -> LoadResult:
        """Validate already-mapped batches (from any reader) against the store; write nothing."""
        result, replaced = self._prechecked(mapped, problems)
        if replaced is not None:
            with result.timed("validation"):
                result.report = self.validate_batches(mapped, replaced)
        return result

    def _prechecked(
        self, mapped: Sequence[MappedFile], problems: Sequence[RecordProblem]
    ) -> tuple[LoadResult, set[str] | None]:
        """The checks before SHACL: the files' own problems, then entities another file
        defines. Also the graphs the batches replace, to validate against (None: the files
        have problems of their own, and are not validated). Timed as the stage ``checks``."""
        start = time.perf_counter()
        problems = [*problems, *(p for m in mapped for p in m.problems)]
        graphs = {str(m.source.path): self.batch_graph(m.source.path) for m in mapped}
        # look-ups, not a listing of every graph (3.4 s at 31,400 projects)
        existing = {g for g in graphs.values() if self.store.has_graph(g)}
        result = LoadResult(problems=problems, warnings=[w for m in mapped for w in m.warnings])
        result.batches = summaries(mapped, graphs, existing)
        own = bool(problems)
        if not own:
            result.problems.extend(duplicate_problems(self.store, entities_of(mapped), graphs))
        result.stages.append(Stage("checks", time.perf_counter() - start))
        return result, None if own else set(graphs.values())

    def _validation(
        self, mapped: Sequence[MappedFile], replaced: set[str], result: LoadResult
    ) -> Validation:
        """Validate ``mapped``: in a forked process when the batch is large and there is a
        core for it (see ``background``), with its context read here first."""
        size = sum(len(m.graph) for m in mapped)
        fork = (
            size >= BACKGROUND_TRIPLES
            and self.settings.load_workers > 1
            and "fork" in multiprocessing.get_all_start_methods()
        )
        if not fork:
            with result.timed("validation"):
                return Validation(lambda: self.validate_batches(mapped, replaced), fork=False)
        with result.timed("validation context"):
            context = ContextReader(self.store).for_mapped(mapped, replaced)
        return Validation(
            lambda: self.validate_batches(mapped, replaced, context=context), fork=True
        )

    @staticmethod
    def _report(validation: Validation, result: LoadResult) -> None:
        """Give ``result`` the report of ``validation``, waiting for it if it runs aside
        (timed as a stage of its own, beside its own time in the other process)."""
        if not validation.aside:
            result.report = validation.report()
            return
        with result.timed("waiting for validation"):
            result.report = validation.report()
        if validation.seconds is not None:
            result.stages.append(Stage("validation", validation.seconds, aside=True))

    def validate_batches(
        self,
        mapped: Sequence[MappedFile],
        replaced: set[str],
        context: Sequence[Triple] | None = None,
        reader: ContextReader | None = None,
    ) -> ValidationReport:
        """SHACL over ``mapped`` plus what the store says about what they mention (not
        counting the ``replaced`` graphs; ``context``: that, already read, as a load worker
        gets it); findings about the batches' own subjects only."""
        if context is None:
            context = (reader or ContextReader(self.store)).for_mapped(mapped, replaced)
        data: list[Graph | Sequence[Triple]] = [*(m.graph for m in mapped), context]
        index: dict[str, tuple[str, int, str]] = {}
        for m in mapped:
            for iri, (line, label) in m.records.items():
                index.setdefault(iri, (str(m.source.path), line, label))
        new_subjects = {str(s) for m in mapped for s, _, _ in triples_of(m.graph)}

        def locate(focus: str) -> tuple[str | None, int | None, str | None]:
            return index.get(focus, (None, None, None))

        return validate_graph(
            data,
            locate,
            describe=self.describe,
            focus_filter=new_subjects.__contains__,
            engine=self.settings.shacl,
        )

    # -- write and derive ---------------------------------------------------------------------
    def _ontology_triples(self) -> list[ox.Triple] | None:
        """The ontology's triples when the stored copy differs from the shipped one, else None."""
        ontology = (
            self.model.graph
            if self._model is not None
            else load_ontology(self.settings.ontology_dir)
        )
        version = ontology.value(ONTOLOGY_IRI, OWL.versionInfo)
        rows = self.store.select(
            f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{ONTOLOGY_IRI}> {{ ?s ?p ?o }} }}"
        )
        same = self.store.query(
            f'ASK {{ GRAPH <{ONTOLOGY_IRI}> {{ <{ONTOLOGY_IRI}> <{OWL.versionInfo}> "{version}" }} }}'
        )
        if int(rows[0]["n"].value) == len(ontology) and bool(same):
            return None
        return oxigraph_triples(ontology)

    def _union_has_ontology(self) -> bool:
        ontology = (
            self.model.graph
            if self._model is not None
            else load_ontology(self.settings.ontology_dir)
        )
        version = ontology.value(ONTOLOGY_IRI, OWL.versionInfo)
        return bool(self.store.query(f'ASK {{ <{ONTOLOGY_IRI}> <{OWL.versionInfo}> "{version}" }}'))

    def write(
        self,
        change: Change,
        result: LoadResult | None = None,
        progress: Progress | None = None,
        *,
        validated: Callable[[], bool] | None = None,
    ) -> bool:
        """Derive what ``change`` touches into it and apply it all in one step. Returns
        whether it wrote: ``validated``, asked once the change is planned and before
        anything is written, may say no (a batch validated meanwhile has errors).

        A change that touches the vocabulary (the ontology itself, or a store of an earlier
        layout being upgraded) rebuilds the union and every derived fact in the same step:
        in a checkpoint of an on-disk store, swapped in when done
        (:func:`~cipd_graph.load.staged.write_all_staged`), or in the write's transaction.
        """
        timed = result.timed if result is not None else untimed
        legacy = self.store.format() == 1
        state = self.store.state()
        layout = self.store.layout
        try:
            if legacy:
                raise NeedsFullDerivation("the store is of an earlier layout")
            if state.derivation != self.derivation:
                raise NeedsFullDerivation("the derived facts come from other rules or ontology")
            if (
                self.store.is_remote
                and layout.ontology not in change.replaced
                and not self._union_has_ontology()
            ):
                # A remote server's ontology graph is shared by the stores it holds: one made
                # before this store's union was started is not in it yet.
                raise NeedsFullDerivation("the union does not hold the ontology yet")
            with timed("derived facts"):
                counts = _maintainer(self.base).maintain(change)
        except NeedsFullDerivation:
            if validated is not None and not validated():
                return False
            ontology = self._ontology_triples()
            if ontology is not None and layout.ontology not in change.replaced:
                change.replace(layout.ontology, ontology)
            self._stamp(change, state, keep_totals=False)
            with timed("write, with every derived fact again"):
                if self.can_stage and not self.store.backend.union_is_empty():
                    # In a checkpoint, written in bulk: the same rules as one update took
                    # 1,402 s at 10,000 projects (the first write after an ontology change).
                    # Not the first write into an empty store: nothing to gain there.
                    say = progress or (lambda _m: None)
                    write_all_staged(self, _written_graphs(change), say)
                else:
                    self._write_full(change, legacy=legacy)
            if result is not None:
                result.derived = {"*": -1}
            self._written()
            return True
        if validated is not None and not validated():
            return False
        self._stamp(change, state, keep_totals=True)
        with timed("write"):
            self.store.apply(change.changeset())
        if result is not None:
            result.derived = counts
        self._written()
        return True

    @property
    def derivation(self) -> str:
        """The digest of the rules and the ontology this pipeline derives with
        (:func:`~cipd_graph.derive.fingerprint`), kept in the store by every write."""
        return fingerprint(self.settings.ontology_dir)

    def _stamp(self, change: Change, state: StoreState, *, keep_totals: bool) -> None:
        """Give the store (now at ``state``) a new version in ``change``, with the totals it
        keeps moved by what the change does (``keep_totals`` False: a write that rebuilds the
        union and the derived facts, whose totals are counted again when next asked for)."""
        totals = add_totals(state.totals, change.totals_delta()) if keep_totals else None
        layout = self.store.layout
        stamp = StoreState(new_version(), totals, self.derivation)
        change.replace(layout.meta, state_triples(layout, stamp))

    def stamp_operations(self) -> list[str]:
        """Update operations that give the store a new version, without totals (a write
        that rebuilds everything: ``cipd derive --all``)."""
        layout = self.store.layout
        lines = "\n".join(
            f"{t.subject} {t.predicate} {t.object} ."
            for t in state_triples(layout, StoreState(new_version(), derivation=self.derivation))
        )
        return [
            f"DROP SILENT GRAPH <{layout.meta}>",
            f"INSERT DATA {{ GRAPH <{layout.meta}> {{ {lines} }} }}",
        ]

    def keep_totals(self, state: StoreState) -> None:
        """Keep ``state``'s totals (counted by a reader) in the store, unless a write has
        given it another version since they were counted."""
        if self.store.read_only or state.totals is None or not state.version:
            return
        with self._lock:
            self.store.update([totals_update(self.store.layout, state)])

    def _write_full(self, change: Change, *, legacy: bool) -> None:
        changes = _written_graphs(change)
        graphs = set(self.store.named_graphs()) | {g for g, t in change.replaced.items() if t}
        graphs -= {g for g, t in change.replaced.items() if not t}
        union = self.store.layout.union if self.store.is_remote else None
        operations = full_operations(self.store.layout, sorted(graphs), union=union)
        if legacy:
            operations.insert(0, f"DROP SILENT GRAPH <{self.base}graph/inferred>")
        derived = [g for g in graphs if self.store.layout.is_derived(g)]
        self.store.apply(changes, operations, graphs=[*derived, self.store.layout.union])

    def load_mapped(
        self,
        mapped: Sequence[MappedFile],
        problems: Sequence[RecordProblem] = (),
        *,
        user: str | None = None,
        progress: Progress | None = None,
    ) -> LoadResult:
        """Validate already-mapped batches and write them in one step, or nothing.

        This is the one write path of files: ``load`` uses it for record files, importers of
        other formats (:mod:`cipd_graph.interop`) for what their readers mapped.
        """
        with self._lock, fewer_collections():
            result, replaced = self._prechecked(mapped, problems)
            if replaced is None:
                return result
            validation = self._validation(mapped, replaced, result)
            try:
                if result.problems or not mapped:
                    self._report(validation, result)
                    return result
                with result.timed("plan"):
                    change = Change(self.store.backend)
                    who, now = loader(user or self.settings.user), now_utc()
                    for m in mapped:
                        graph = self.batch_graph(m.source.path)
                        contents = batch_contents(m, graph, self.store.layout, who, now)
                        for name, triples in contents.items():
                            change.replace(name, triples)

                def validated() -> bool:
                    self._report(validation, result)
                    if result.ok and progress is not None:
                        progress(
                            f"validated {len(mapped)} file(s); writing them in one transaction"
                        )
                    return result.ok

                if not self.write(change, result, progress, validated=validated):
                    return result
            finally:
                validation.close()
        result.written = True
        return result

    def load(
        self,
        paths: Sequence[Path],
        *,
        user: str | None = None,
        progress: Progress | None = None,
        staged: bool | None = None,
        chunk: int | None = None,
    ) -> LoadResult:
        """Load files, each into its own named graphs, all in one step, or nothing.

        ``staged``: write through a staged copy of the store, ``chunk`` files at a time
        (default ``CIPD_BULK_CHUNK``), which bounds memory; None stages loads of at least
        ``CIPD_BULK_FILES`` files into an on-disk embedded store. Either way all or nothing.
        """
        with self._lock, fewer_collections():  # a load allocates millions of objects: see ``gc``
            if staged is None:
                staged = self.stages(paths)
            if staged:
                problems: list[RecordProblem] = []
                files = expand_paths(paths, problems)
                result = load_staged(
                    self,
                    files,
                    problems,
                    user=user,
                    progress=progress,
                    chunk=chunk or self.settings.bulk_chunk,
                )
                if result.written:
                    self._written()
                return result
            mapped, problems, read = self._read(paths)
            result = self.load_mapped(mapped, problems, user=user, progress=progress)
            result.stages.insert(0, read)
            return result

    @property
    def can_stage(self) -> bool:
        """Whether loads can be staged: an embedded store on disk."""
        return not self.store.is_remote and self.store.location is not None

    def stages(self, paths: Sequence[Path]) -> bool:
        """Whether ``load(paths)`` takes the staged path (``CIPD_BULK_FILES`` files or more)."""
        threshold = self.settings.bulk_files
        if not threshold or not self.can_stage:
            return False
        return len(expand_paths(paths, [])) >= threshold

    def drop(self, source: str) -> str:
        """Remove the batch loaded from ``source`` (a path or a batch graph IRI), and what
        it supported; return its graph."""
        layout = self.store.layout
        graph = (
            source if source.startswith(layout.source_prefix) else self.batch_graph(Path(source))
        )
        with self._lock, fewer_collections():
            if not layout.is_record(graph) or not self.store.has_graph(graph):
                raise StoreError(
                    f"nothing is loaded from {source!r}; `cipd stats` lists the loaded sources"
                )
            change = Change(self.store.backend)
            for name in (graph, layout.names(graph), layout.provenance(graph)):
                change.replace(name, [])
            self.write(change)
        return graph

    def edit(
        self,
        *,
        replace: Mapping[str, Sequence[ox.Triple]] | None = None,
        remove: Mapping[str, Collection[ox.Triple]] | None = None,
        add: Mapping[str, Collection[ox.Triple]] | None = None,
    ) -> LoadResult:
        """Write edits to record graphs (the API's): replace graphs, remove or add triples;
        derive what they touch; all in one step."""
        result = LoadResult()
        with self._lock, fewer_collections():
            with result.timed("plan"):
                change = Change(self.store.backend)
                for graph, triples in (replace or {}).items():
                    change.replace(graph, triples)
                for graph in sorted(set(remove or {}) | set(add or {})):
                    change.edit(
                        graph, remove=(remove or {}).get(graph, ()), add=(add or {}).get(graph, ())
                    )
            self.write(change, result)
        result.written = True
        return result

    def derive_all(self, progress: Progress | None = None) -> None:
        """Recompute the union and every derived fact from the records (``cipd derive --all``)."""
        say = progress or (lambda _m: None)
        with self._lock:
            if self.can_stage:
                derive_all_staged(self, say)
                self._written()
                return
            graphs = self.store.named_graphs()
            union = self.store.layout.union if self.store.is_remote else None
            operations = full_operations(self.store.layout, graphs, union=union)
            if self.base + "graph/inferred" in graphs:
                operations.insert(0, f"DROP SILENT GRAPH <{self.base}graph/inferred>")
            operations += self.stamp_operations()
            derived = [g for g in graphs if self.store.layout.is_derived(g)]
            self.store.update(operations, graphs=[*derived, self.store.layout.union])
            self._written()
            say("derived the facts")

    def upgrade(self, progress: Progress | None = None) -> bool:
        """Bring a store of an earlier layout to this one (union and per-rule derived
        graphs); True if it had to."""
        if self.store.format() in (0, FORMAT):
            return False
        self.derive_all(progress)
        return True

    # -- whole-store checks -----------------------------------------------------------------
    def validate_store(self) -> ValidationReport:
        """Validate every batch in the store together (slower than a load's incremental check)."""
        from cipd_graph._rdf import to_rdflib

        data = Graph()
        where: dict[str, str] = {}
        for graph in self.store.record_graphs():
            for quad in self.store.backend.quads(graph):
                s = to_rdflib(quad.subject)
                data.add((s, to_rdflib(quad.predicate), to_rdflib(quad.object)))
                where.setdefault(str(s), graph)
        paths = {g: source_path(self.store, g) for g in set(where.values())}

        def locate(focus: str) -> tuple[str | None, int | None, str | None]:
            graph = where.get(focus)
            return (paths.get(graph) if graph else None, None, self.describe(focus))

        return validate_graph(data, locate, describe=self.describe, engine=self.settings.shacl)


def _written_graphs(change: Change) -> ChangeSet:
    """What ``change`` writes to the record, provenance, ontology and meta graphs: a write
    that derives everything again leaves out the union and the derived graphs it planned."""
    layout = change.layout
    changes = ChangeSet(replace=dict(change.replaced))
    for graph, triples in change.removed.items():
        if graph not in change.replaced and triples and not layout.is_derived(graph):
            changes.remove[graph] = list(triples)
    for graph, triples in change.added.items():
        if graph not in change.replaced and triples and not layout.is_derived(graph):
            changes.add[graph] = list(triples)
    return changes
