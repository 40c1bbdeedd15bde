"""The chunks of a staged load, parsed, mapped and validated in worker processes.

A staged load (:func:`cipd_graph.load.staged.load_staged`) validates chunk k against the staged store as it
stands after chunks 1..k-1 are written. Workers keep that order without waiting on each
other's validation: a worker parses and maps its chunk (that needs nothing from the store)
and sends the loading process the chunk's quads with the IRIs it mentions. The loading
process, the only one that reads or writes the store, takes chunks strictly in order: it
reads chunk k's context (what the store, holding chunks 1..k-1, says about those IRIs),
sends it to the worker, then writes chunk k (the staged copy is thrown away unless every
chunk turns out clean, so writing before validating is safe). The worker validates chunk k
against that context while the loading process goes on to chunk k+1. Each worker holds two
chunks, and maps the second while it waits for the first one's context. The findings,
problems and quads are the ones the one-process path gives.

Workers are forked: they inherit the loaded model and mapper set-up, and only ever run pure
Python (parsing, mapping, SHACL, serialising), never touching the store or a lock another
thread of the loading process might hold. (Spawning would re-import a script's ``__main__``
in each worker.) They end when the loading process closes their pipe or dies (on Linux the
kernel kills them with it: ``cipd_graph._lifetime``).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox
from rdflib import BNode, Graph

from cipd_graph._config import Settings
from cipd_graph._errors import RecordProblem, StoreError
from cipd_graph._lifetime import die_with_parent
from cipd_graph._ontology import ONTOLOGY_IRI
from cipd_graph._rdf import as_triples, ntriples_terms, triples_of
from cipd_graph.load.batches import (
    Entity,
    batch_graph,
    batch_nquads,
    entities_of,
    mentioned_iris,
    subject_iris,
    summaries,
)
from cipd_graph.load.gc import settle_worker
from cipd_graph.load.result import BatchSummary
from cipd_graph.mapping import MappedFile, Mapper, parse_and_map
from cipd_graph.store import EmbeddedBackend, GraphLayout, Store
from cipd_graph.validation import Finding, ValidationReport, shape_blank_nodes

if TYPE_CHECKING:
    from cipd_graph.load.pipeline import Pipeline


@dataclass(frozen=True)
class WorkerSetup:
    """What every worker needs to map and validate like the loading process."""

    #: The pipeline class to validate with (a worker builds one over an empty memory store).
    pipeline: type[Pipeline]
    settings: Settings
    #: The load's mapper (workers are forked: each gets a copy, nothing is pickled).
    mapper: Mapper
    existing: frozenset[str]
    user: str
    now: str
    #: Whether chunks write their record triples to the union too (see ``staged.Staging``).
    union: bool = True


@dataclass
class ChunkOutcome:
    """What a worker hands back for one chunk once it is mapped (before validation)."""

    number: int
    nquads: bytes
    mentioned: list[str]
    #: The IRIs its record graphs have as subjects (for the loading process's filter).
    subjects: list[str]
    batches: list[BatchSummary]
    problems: list[RecordProblem]
    warnings: list[RecordProblem]
    entities: list[Entity]
    graphs: dict[str, str]
    local_ids: dict[str, str] = field(default_factory=dict)


@dataclass
class ChunkFindings:
    """What a worker hands back for one chunk once it is validated."""

    number: int
    findings: list[Finding]
    #: The chunk's SHACL results graph as N-Triples (parsed only if somebody reads it).
    results: bytes


def results_text(results: Graph, number: int) -> bytes:
    """``results`` as N-Triples, each blank node but the shapes' own made unique to chunk
    ``number`` (forked workers draw blank node ids from the same sequence)."""
    shared = shape_blank_nodes()
    write = ntriples_terms()

    def term(node: Any) -> str:
        if isinstance(node, BNode) and node not in shared:
            node = BNode(f"c{number}x{node}")
        return write(node)

    return "".join(f"{term(s)} {term(p)} {term(o)} .\n" for s, p, o in triples_of(results)).encode()


@dataclass
class _Mapped:
    """A chunk a worker has mapped and handed over, waiting for its context."""

    number: int
    mapped: list[MappedFile]
    graphs: set[str]


def _map_chunk(
    pipeline: Pipeline, setup: WorkerSetup, number: int, paths: Sequence[Path]
) -> tuple[ChunkOutcome, _Mapped]:
    """Parse and map one chunk: what the loading process needs to write it, and what this
    worker keeps to validate it once its context comes; as ``staged._stage_chunk`` does."""
    mapper = setup.mapper
    known = set(mapper.local_ids)
    layout = pipeline.store.layout
    mapped, problems = parse_and_map(paths, mapper)
    graphs = {str(m.source.path): batch_graph(layout, m.source.path) for m in mapped}
    problems.extend(p for m in mapped for p in m.problems)
    outcome = ChunkOutcome(
        number=number,
        nquads=batch_nquads(mapped, layout, setup.user, setup.now, union=setup.union),
        mentioned=sorted(mentioned_iris(mapped, pipeline.base)),
        subjects=subject_iris(mapped, pipeline.base),
        batches=summaries(mapped, graphs, set(setup.existing)),
        problems=problems,
        warnings=[w for m in mapped for w in m.warnings],
        entities=entities_of(mapped),
        graphs=graphs,
        local_ids={k: v for k, v in mapper.local_ids.items() if k not in known},
    )
    return outcome, _Mapped(number, mapped, set(graphs.values()))


def _validate_chunk(pipeline: Pipeline, chunk: _Mapped, context: bytes) -> ChunkFindings:
    """Validate a mapped chunk against its ``context`` (N-Triples: what the staged store,
    holding every earlier chunk, says about the IRIs it mentions)."""
    report = pipeline.validate_batches(
        chunk.mapped,
        chunk.graphs,
        context=as_triples(ox.parse(context, format=ox.RdfFormat.N_TRIPLES)),
    )
    return ChunkFindings(chunk.number, report.findings, results_text(report.results, chunk.number))


def worker(conn: Connection, setup: WorkerSetup) -> None:
    """A worker's loop, until the pipe closes: chunks come in (up to ``AHEAD`` at a time),
    each goes back mapped, then, once its context comes, validated.

    While it waits for a context (the loading process writes chunks strictly in order, so
    chunk k's context waits until chunk k-1 is mapped, perhaps by the other worker), a
    worker maps the next chunk it holds instead of sitting idle."""
    parent = multiprocessing.parent_process()
    die_with_parent(parent.pid if parent is not None else None)  # not left running if killed
    settle_worker()
    layout = GraphLayout(setup.settings.base_iri, str(ONTOLOGY_IRI))
    pipeline = setup.pipeline(Store(EmbeddedBackend(None, layout), setup.settings))
    pipeline.pseudonymiser = setup.mapper.pseudonymise
    pipeline.model = setup.mapper.model
    pipeline.mapper = setup.mapper
    todo: deque[tuple[int, list[Path]]] = deque()
    waiting: dict[int, _Mapped] = {}
    number = 0
    try:
        while True:
            if todo and not conn.poll():  # nothing to read: map the next chunk meanwhile
                number, paths = todo.popleft()
                outcome, waiting[number] = _map_chunk(pipeline, setup, number, paths)
                conn.send(("mapped", number, outcome))
                del outcome
                continue
            message = conn.recv()
            if message is None:
                return
            kind, number, payload = message
            if kind == "chunk":
                todo.append((number, payload))
            else:  # its context
                findings = _validate_chunk(pipeline, waiting.pop(number), payload)
                conn.send(("done", number, findings))
    except (EOFError, OSError):
        return
    except BaseException:  # reported to the loading process, which fails the load
        with contextlib.suppress(OSError):
            conn.send(("error", number, traceback.format_exc()))
        return


#: Chunks a worker holds at once: the one waiting for its context and the next to map.
AHEAD = 2


class _Workers:
    """The worker processes of one staged load and the chunks they hold.

    Messages to a worker go through a sending thread of its own: a worker busy mapping
    reads nothing until it is done, and a context larger than the pipe's buffer would
    otherwise block this process while that worker blocks sending it its next chunk."""

    def __init__(
        self, setup: WorkerSetup, count: int, chunks: Sequence[tuple[int, Sequence[Path]]]
    ) -> None:
        spawn = multiprocessing.get_context("fork")
        self.queue = deque(chunks)
        self.held: dict[Connection, list[int]] = {}
        self.procs: list[tuple[Connection, Any]] = []
        self.senders: dict[Connection, ThreadPoolExecutor] = {}
        for _ in range(max(1, min(count, len(chunks)))):
            parent, child = spawn.Pipe()
            proc = spawn.Process(target=worker, args=(child, setup), daemon=True)
            proc.start()
            child.close()
            self.procs.append((parent, proc))
            self.held[parent] = []
            self.senders[parent] = ThreadPoolExecutor(max_workers=1)
        for _ in range(AHEAD):  # one chunk to each, then a second to each
            for conn, _proc in self.procs:
                self.assign(conn)

    def send(self, conn: Connection, message: object) -> None:
        """Send ``message`` to ``conn``'s worker, in order, without waiting for it to read.
        A send that fails means the worker is gone, which :meth:`messages` reports."""
        self.senders[conn].submit(conn.send, message)

    def assign(self, conn: Connection) -> None:
        """Give ``conn``'s worker the next chunk, if any is left."""
        if self.queue:
            number, paths = self.queue.popleft()
            self.send(conn, ("chunk", number, list(paths)))
            self.held[conn].append(number)

    def messages(self) -> list[tuple[Connection, str, int, Any]]:
        """The next messages from workers holding chunks: (pipe, kind, chunk, payload)."""
        out = []
        busy = [conn for conn, held in self.held.items() if held]
        for conn in multiprocessing.connection.wait(busy):
            assert isinstance(conn, Connection)
            try:
                kind, number, payload = conn.recv()
            except (EOFError, OSError) as exc:
                held = self.held[conn]
                which = " and ".join(map(str, held))
                raise StoreError(
                    f"a load worker stopped while working on chunk{'s' if len(held) > 1 else ''} "
                    f"{which}"
                ) from exc
            if kind == "error":
                raise StoreError(f"a load worker failed on chunk {number}:\n{payload}")
            if kind == "done":
                self.held[conn].remove(number)
            out.append((conn, kind, number, payload))
        return out

    def close(self) -> None:
        """Stop every worker (they also stop on their own when this process dies)."""
        for conn, _proc in self.procs:
            self.send(conn, None)
        for _conn, proc in self.procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join()
        for sender in self.senders.values():
            sender.shutdown(wait=True)
        for conn, _proc in self.procs:
            conn.close()


def run_chunks(
    chunks: Sequence[tuple[int, Sequence[Path]]],
    setup: WorkerSetup,
    *,
    workers: int,
    context: Callable[[int, list[str]], bytes],
    write: Callable[[ChunkOutcome], None],
) -> list[ChunkFindings]:
    """Hand ``chunks`` (numbered, in load order) to ``workers`` processes; for each chunk in
    order, once it is mapped, answer its ``context`` and ``write`` it; give back every
    chunk's findings, in order. Raises StoreError if a worker fails or dies; the workers
    are gone on return."""
    if not chunks:
        return []
    order = [number for number, _ in chunks]
    mapped: dict[int, tuple[Connection, ChunkOutcome]] = {}
    validated: dict[int, ChunkFindings] = {}
    pool = _Workers(setup, workers, chunks)
    try:
        position = 0  # index in ``order`` of the next chunk to write
        while len(validated) < len(order):
            for conn, kind, number, payload in pool.messages():
                if kind == "mapped":
                    mapped[number] = (conn, payload)
                else:
                    validated[number] = payload
                    pool.assign(conn)
            while position < len(order) and order[position] in mapped:
                conn, outcome = mapped.pop(order[position])
                pool.send(
                    conn, ("context", outcome.number, context(outcome.number, outcome.mentioned))
                )
                write(outcome)
                position += 1
    finally:
        pool.close()
    return [validated[number] for number in order]


def merge_report(report: ValidationReport, outcome: ChunkFindings) -> None:
    """Add a chunk's findings (and its SHACL results graph) to ``report``."""
    report.findings.extend(outcome.findings)
    report.add_results_text(outcome.results)
