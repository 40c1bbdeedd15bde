"""Large loads, staged: chunk by chunk into a checkpoint of the store, then swapped in.

A load of ``CIPD_BULK_FILES`` files or more into an on-disk store takes a checkpoint of the
store (hard links, so cheap), and reads, maps and validates ``CIPD_BULK_CHUNK`` files at a
time against that copy, which already holds the earlier chunks (so references across chunks
resolve, and an entity defined in two chunks is refused). Each chunk's quads, and its record
triples again for the union, go to a pending file indexed by subject, where later chunks'
context reads find them, and are bulk-loaded into the copy after the last chunk. If any
chunk has a problem, the copy is deleted and the store never changed. Otherwise the derived
facts are computed in the copy (:func:`~cipd_graph.derive.derive_in_bulk`) and it becomes the
store in one atomic step (a link replaced with ``os.replace``). Worker processes
(:mod:`cipd_graph.load.workers`) parse, map and validate the chunks when there are several.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Collection, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox

from cipd_graph._errors import RecordProblem, StoreError
from cipd_graph.derive import derive_in_bulk
from cipd_graph.load.batches import (
    batch_nquads,
    duplicate_problems,
    entities_of,
    loader,
    now_utc,
    subject_iris,
    summaries,
)
from cipd_graph.load.bloom import SubjectFilter
from cipd_graph.load.context import ContextReader
from cipd_graph.load.result import LoadResult, Progress, untimed
from cipd_graph.load.workers import ChunkOutcome, WorkerSetup, merge_report, run_chunks
from cipd_graph.mapping import MappedFile, Mapper, parse_and_map
from cipd_graph.store import ChangeSet, EmbeddedBackend, Store, StoreState
from cipd_graph.store.meta import new_version, state_triples

if TYPE_CHECKING:
    from cipd_graph.load.pipeline import Pipeline

#: Subjects a record file brings, to size a staged load's filter (generated projects: about 51).
SUBJECTS_PER_FILE = 64


@dataclass
class Staging:
    """What a staged load carries from chunk to chunk."""

    mapper: Mapper
    #: The record graphs the store held before the load (a batch there is replaced).
    existing: set[str]
    #: The batch graphs of every file of the load.
    ours: set[str]
    result: LoadResult
    #: Entity IRI -> the file of the load that defines it.
    owners: dict[str, str] = field(default_factory=dict)
    #: Who and when, as the load's provenance says.
    user: str = ""
    now: str = ""
    #: Whether chunks write their record triples to the union as they go (not when the
    #: load replaces graphs: the union is then rebuilt after the last chunk).
    union: bool = True


def _staging_pipeline(pipeline: Pipeline, staging: EmbeddedBackend) -> Pipeline:
    """A pipeline like ``pipeline`` (its mapping set-up) writing to the staged copy."""
    staged = type(pipeline)(Store(staging, pipeline.settings))
    staged.pseudonymiser = pipeline.pseudonymiser
    staged.model = pipeline.model
    return staged


def load_staged(
    pipeline: Pipeline,
    files: Sequence[Path],
    problems: Sequence[RecordProblem],
    *,
    user: str | None,
    progress: Progress | None,
    chunk: int,
) -> LoadResult:
    """Load ``files`` chunk by chunk into a checkpoint of the store, then swap it in (see
    the module's docstring)."""
    live = pipeline.store.backend
    if not isinstance(live, EmbeddedBackend) or live.location is None:
        raise StoreError("a staged load needs an embedded store on disk")
    say = progress or (lambda _msg: None)
    result = LoadResult(problems=list(problems))
    existing = set(pipeline.store.record_graphs())
    mapper = pipeline.new_mapper()
    ours = {pipeline.batch_graph(f) for f in files}
    tables = [f for f in files if f.suffix.lower() == ".csv"]
    projects = sorted((f for f in files if f.suffix.lower() != ".csv"), key=str)
    chunks = ([tables] if tables else []) + [
        projects[i : i + chunk] for i in range(0, len(projects), chunk)
    ]
    earlier = sorted(ours & existing)
    state = Staging(
        mapper,
        existing,
        ours,
        result,
        user=loader(user or pipeline.settings.user),
        now=now_utc(),
        union=not earlier and pipeline.store.format() != 1,
    )
    directory = live.stage()
    staging = EmbeddedBackend(live.location, live.layout, directory=directory)
    staged = _staging_pipeline(pipeline, staging)
    staged.mapper = mapper
    pending = Pending(staging, pipeline.settings.stage_quads)
    known = _subject_filter(staged.store, existing, len(files))
    reader = ContextReader(staged.store, pending=pending, known=known)
    swapped = False
    try:
        if earlier:  # the earlier versions of reloaded files go first: context never sees them
            layout = live.layout
            staging.update(
                [
                    f"DROP SILENT GRAPH <{name}>"
                    for g in earlier
                    for name in (g, layout.names(g), layout.provenance(g))
                ]
            )
        with result.timed("read, map and validate, in chunks"):
            _stage_chunks(
                staged,
                chunks,
                state,
                pending=pending,
                reader=reader,
                known=known,
                tables=bool(tables),
                say=say,
            )
        if not result.ok or not result.batches:
            return result
        with result.timed("bulk write"):
            pending.flush()
        say(f"validated {len(result.batches)} file(s); compacting the staged store")
        _derive_staged(staged, staging, rebuild_union=not state.union, say=say, result=result)
        say("swapping the staged store in")
        with result.timed("swap"):
            old = live.swap_in(staging)
            swapped = True
            say("swapped the staged store in")
            live.discard(old)
        result.written = True
        result.derived = {"*": -1}
        return result
    finally:
        pending.close()
        if not swapped:
            staging.close()
            live.discard(directory)


def derive_all_staged(pipeline: Pipeline, say: Progress) -> None:
    """Recompute the union and every derived fact in a checkpoint of the store, then swap it in."""
    write_all_staged(pipeline, ChangeSet(), say)


def write_all_staged(pipeline: Pipeline, changes: ChangeSet, say: Progress) -> None:
    """Apply ``changes`` (to record, provenance, ontology or meta graphs) in a checkpoint of
    the store, recompute the union and every derived fact there, then swap it in: a write
    that touches the vocabulary, which any rule may read, and ``cipd derive --all``. Killed
    or failed before the swap, the store is as it was."""
    live = pipeline.store.backend
    if not isinstance(live, EmbeddedBackend) or live.location is None:
        raise StoreError("deriving in a checkpoint needs an embedded store on disk")
    directory = live.stage()
    staging = EmbeddedBackend(live.location, live.layout, directory=directory)
    swapped = False
    try:
        if changes:
            staging.apply(changes)
        say("deriving every fact again in a checkpoint of the store")
        staged = _staging_pipeline(pipeline, staging)
        _derive_staged(staged, staging, rebuild_union=True, say=say)
        say("swapping the staged store in")
        old = live.swap_in(staging)
        swapped = True
        say("swapped the staged store in")
        live.discard(old)
    finally:
        if not swapped:
            staging.close()
            live.discard(directory)


def _derive_staged(
    staged: Pipeline,
    staging: EmbeddedBackend,
    *,
    rebuild_union: bool,
    say: Progress,
    result: LoadResult | None = None,
) -> None:
    """Compact a staged store holding every chunk, then derive its facts.

    The compaction comes first because a bulk load leaves its quads in many overlapping
    files, which every look-up of a rule checks, and RocksDB starts merging them in the
    background, on a core the rules need. At 100,000 projects (31.9M quads bulk-loaded
    into a fresh store): compacting 82 s, then deriving 185 s, against deriving 314 s and
    compacting afterwards 112 s in the same load timed alone the same morning. It is not
    compacted again after: that took 71-116 s for a tenth of the quads, and RocksDB merges
    them in the background as the store is written again. ``result``: where to time the
    two as stages of a load."""
    timed = result.timed if result is not None else untimed
    with timed("compaction"):
        staging.store.optimize()
    say("compacted the staged store; deriving facts")
    with timed("derived facts"):
        _derive_compacted(staged, staging, rebuild_union=rebuild_union, say=say)


def _derive_compacted(
    staged: Pipeline, staging: EmbeddedBackend, *, rebuild_union: bool, say: Progress
) -> None:
    """The derivation of :func:`_derive_staged`, in the compacted store."""
    legacy = ox.NamedNode(staging.layout.base + "graph/inferred")  # a store of layout 1
    if staging.store.contains_named_graph(legacy):
        staging.store.remove_graph(legacy)
        rebuild_union = True
    ontology = staged._ontology_triples()
    if ontology is not None:
        graph = ox.NamedNode(staging.layout.ontology)
        if staging.store.contains_named_graph(graph):
            staging.store.remove_graph(graph)
            rebuild_union = True
        staging.store.bulk_extend(
            ox.Quad(t.subject, t.predicate, t.object, graph) for t in ontology
        )
        if not rebuild_union:
            staging.store.bulk_extend(ox.Quad(t.subject, t.predicate, t.object) for t in ontology)
    derive_in_bulk(staging.store, staging.layout, rebuild_union=rebuild_union, say=say)
    _stamp(staging, staged.derivation)


def _stamp(staging: EmbeddedBackend, derivation: str) -> None:
    """Give the staged store a new version, with the digest its facts were derived with,
    without totals: counting them would read every quad again, and the first reader that
    asks counts them once (see ``store.meta``)."""
    graph = ox.NamedNode(staging.layout.meta)
    if staging.store.contains_named_graph(graph):
        staging.store.remove_graph(graph)
    triples = state_triples(staging.layout, StoreState(new_version(), derivation=derivation))
    staging.store.extend(ox.Quad(t.subject, t.predicate, t.object, graph) for t in triples)


def _subject_filter(store: Store, existing: Collection[str], files: int) -> SubjectFilter | None:
    """A filter of the subjects the store holds (``existing``: its record graphs), for a
    staged load of ``files`` files to skip looking up IRIs nothing states anything about;
    None when the store is larger than the load (reading its subjects would cost more than
    the look-ups it saves)."""
    if len(existing) > files:
        return None
    known = SubjectFilter(expected=SUBJECTS_PER_FILE * (files + len(existing)))
    if existing:  # every graph's subjects: more than needed, which only costs look-ups
        rows = store.query("SELECT DISTINCT ?s WHERE { GRAPH ?g { ?s ?p ?o } FILTER(isIRI(?s)) }")
        assert isinstance(rows, ox.QuerySolutions)
        known.update(row[0].value for row in rows)
    return known


def _stage_chunks(
    staged: Pipeline,
    chunks: Sequence[Sequence[Path]],
    state: Staging,
    *,
    pending: Pending,
    reader: ContextReader,
    known: SubjectFilter | None,
    tables: bool,
    say: Progress,
) -> None:
    """Stage every chunk in order: here, or (``CIPD_LOAD_WORKERS``) in worker processes."""
    numbered = list(enumerate(chunks, 1))
    workers = staged.settings.load_workers if len(chunks) > 2 else 1
    # Reference tables first, here: every project chunk's context needs them.
    serial = numbered if workers <= 1 else numbered[: 1 if tables else 0]
    layout = staged.store.layout
    for number, part in serial:
        mapped = _stage_chunk(staged, part, state, reader)
        pending.add(batch_nquads(mapped, layout, state.user, state.now, union=state.union))
        if known is not None:
            known.update(subject_iris(mapped, staged.base))
        say(f"staged chunk {number}/{len(chunks)}: {len(mapped)} file(s)")
        del mapped
    if workers > 1:
        _stage_in_workers(
            staged,
            numbered[len(serial) :],
            state,
            pending=pending,
            reader=reader,
            known=known,
            workers=workers,
            say=say,
        )


def _stage_in_workers(
    staged: Pipeline,
    chunks: Sequence[tuple[int, Sequence[Path]]],
    state: Staging,
    *,
    pending: Pending,
    reader: ContextReader,
    known: SubjectFilter | None,
    workers: int,
    say: Progress,
) -> None:
    """Stage ``chunks`` as :func:`_stage_chunk` does, parsed, mapped and validated by
    ``workers`` processes (see ``workers``); this process reads and writes the store."""
    setup = WorkerSetup(
        pipeline=type(staged),
        settings=staged.settings,
        mapper=state.mapper,
        existing=frozenset(state.existing),
        user=state.user,
        now=state.now,
        union=state.union,
    )
    replaced = {number: {staged.batch_graph(p) for p in part} for number, part in chunks}
    total = max((number for number, _ in chunks), default=0)
    result = state.result

    def context(number: int, mentioned: list[str]) -> bytes:
        triples = reader.triples(mentioned, replaced[number])
        return ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""

    def write(outcome: ChunkOutcome) -> None:
        result.problems.extend(outcome.problems)
        result.warnings.extend(outcome.warnings)
        result.batches.extend(outcome.batches)
        result.problems.extend(
            duplicate_problems(
                staged.store, outcome.entities, outcome.graphs, state.owners, state.ours
            )
        )
        state.mapper.local_ids.update(outcome.local_ids)
        pending.add(outcome.nquads)
        if known is not None:
            known.update(outcome.subjects)
        say(f"staged chunk {outcome.number}/{total}: {len(outcome.batches)} file(s)")

    for findings in run_chunks(chunks, setup, workers=workers, context=context, write=write):
        merge_report(result.report, findings)


def _stage_chunk(
    staged: Pipeline, part: Sequence[Path], state: Staging, reader: ContextReader
) -> list[MappedFile]:
    """Parse, map, check and validate one chunk of a staged load (problems and findings go to
    ``state.result``); give the mapped files to write.

    They are written even after a problem, so that later chunks are validated against
    everything before them as in the one-transaction path; the staged copy is thrown away
    unless the whole load is clean.
    """
    result = state.result
    mapped, unreadable = parse_and_map(part, state.mapper)
    result.problems.extend(unreadable)
    graphs = {str(m.source.path): staged.batch_graph(m.source.path) for m in mapped}
    result.problems.extend(p for m in mapped for p in m.problems)
    result.warnings.extend(w for m in mapped for w in m.warnings)
    result.batches.extend(summaries(mapped, graphs, state.existing))
    result.problems.extend(
        duplicate_problems(staged.store, entities_of(mapped), graphs, state.owners, state.ours)
    )
    result.report.extend(staged.validate_batches(mapped, set(graphs.values()), reader=reader))
    return mapped


#: One N-Quads line and its subject (the text up to the first space).
_LINE = re.compile(rb"(\S+) [^\n]*\n")


class Segment:
    """Staged N-Quads not yet on disk: a file, and an index from each subject to the byte
    ranges of its lines there (ranges of consecutive lines merged)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = path.open("w+b")
        self.size = 0
        self.quads = 0
        self.index: dict[bytes, list[int]] = {}

    def add(self, nquads: bytes) -> None:
        """Append ``nquads`` and index its lines by subject."""
        index, offset = self.index, self.size
        for line in _LINE.finditer(nquads):
            start, end = line.span()
            ranges = index.get(line[1])
            if ranges is None:
                index[line[1]] = [start + offset, end + offset]
            elif ranges[-1] == start + offset:  # the line after the subject's last one
                ranges[-1] = end + offset
            else:
                ranges += (start + offset, end + offset)
        self.file.write(nquads)
        self.size += len(nquads)
        self.quads += nquads.count(b"\n")

    def lines(self, subjects: Iterable[bytes]) -> list[bytes]:
        """The lines of ``subjects`` (N-Triples text of IRIs or blank nodes)."""
        self.file.flush()
        fd = self.file.fileno()
        found = []
        for subject in subjects:
            ranges = self.index.get(subject, ())
            for at in range(0, len(ranges), 2):
                found.append(os.pread(fd, ranges[at + 1] - ranges[at], ranges[at]))
        return found

    def close(self) -> None:
        """Close and remove the file."""
        self.file.close()
        self.path.unlink(missing_ok=True)


class Pending:
    """The chunks a staged load has written but not yet put on disk, and their writing.

    Oxigraph's ``bulk_load`` writes each call as new sorted files that overlap every earlier
    one, and a look-up then checks each of them: after 40 chunk-sized loads a look-up took
    238 µs instead of 40, so reading a chunk's context grew with every chunk. Chunks
    therefore go to a file, a :class:`Segment`, indexed by subject in memory. Context reads
    take the lines of the subjects they ask about from the segments not yet on disk, through
    a small in-memory store, so they see the terms exactly as the disk store would give them
    (Oxigraph stores ``"1"^^xsd:positiveInteger`` as an ``xsd:integer``, for one).

    With ``limit`` 0 (the default) everything stays pending until the last chunk and is then
    bulk-loaded in one call: the store is never written while it is read, and the writing
    does not take CPU from the workers (a 10,000-project load: 112 s instead of 127 with a
    write every 2,000,000 quads on a thread). A positive ``limit`` writes a segment every
    ``limit`` quads (on a thread, while the workers go on), which bounds the index's memory
    at the price of slower look-ups. The index costs a fifth of what an in-memory store of
    the same quads cost to fill (1.8 µs a quad against 9.4), and about a tenth of its memory.
    """

    def __init__(self, staging: EmbeddedBackend, limit: int) -> None:
        assert staging.directory is not None
        self.staging = staging
        self.limit = limit
        # Named like the staged store's directory, so an open after a kill removes it with it.
        self.stem = staging.directory.name + ".pending"
        self.segments = 0
        self.segment = self._segment()
        self.writing: tuple[Future[None], Segment] | None = None
        self.pool = ThreadPoolExecutor(max_workers=1)

    def _segment(self) -> Segment:
        assert self.staging.directory is not None
        self.segments += 1
        return Segment(self.staging.directory.with_name(f"{self.stem}-{self.segments}.nq"))

    def store_of(self, iris: Collection[str]) -> ox.Store | None:
        """The pending quads whose subject is one of ``iris``, in an in-memory store (None
        when there are none)."""
        subjects = [str(ox.NamedNode(iri)).encode() for iri in iris]
        segments = [self.segment] + ([self.writing[1]] if self.writing is not None else [])
        lines = [line for segment in segments for line in segment.lines(subjects)]
        if not lines:
            return None
        store = ox.Store()
        store.bulk_load(b"".join(lines), format=ox.RdfFormat.N_QUADS)
        return store

    def add(self, nquads: bytes) -> None:
        """Stage a chunk's N-Quads."""
        if not nquads:
            return
        self.segment.add(nquads)
        if self.limit and self.segment.quads >= self.limit:
            self.flush(wait=False)

    def flush(self, *, wait: bool = True) -> None:
        """Start writing what is pending to disk (after the previous write ends); with
        ``wait``, return once everything is on disk."""
        if self.segment.quads:
            self._wait()
            self.segment.file.flush()
            job = self.pool.submit(self._write, self.segment.path)
            self.writing = (job, self.segment)
            self.segment = self._segment()
        if wait:
            self._wait()

    def _write(self, path: Path) -> None:
        self.staging.store.bulk_load(path=str(path), format=ox.RdfFormat.N_QUADS)

    def _wait(self) -> None:
        if self.writing is not None:
            job, segment = self.writing
            try:
                job.result()
            except Exception as exc:
                raise StoreError(
                    f"writing staged chunks to disk failed ({exc}); the store is unchanged"
                ) from exc
            finally:
                segment.close()
                self.writing = None

    def close(self) -> None:
        """Wait for any write, then remove the files. A load that succeeded has flushed
        already; one that failed throws the staged store away, so a failed write no longer
        matters there (and must not hide why the load failed)."""
        try:
            with contextlib.suppress(Exception):
                self._wait()
        finally:
            self.pool.shutdown()
            self.segment.close()
