"""The chunks of a staged load, parsed, mapped and validated in worker processes.

A staged load (``GraphStore._load_staged``) validates chunk k against the staged store as it
stands after chunks 1..k-1 are written. Workers keep that order without waiting on each
other's validation: a worker parses and maps its chunk (that needs nothing from the store)
and sends the loading process the chunk's quads with the IRIs it mentions. The loading
process, the only one that reads or writes the store, takes chunks strictly in order: it
reads chunk k's context (what the store, holding chunks 1..k-1, says about those IRIs),
sends it to the worker, then writes chunk k (the staged copy is thrown away unless every
chunk turns out clean, so writing before validating is safe). The worker validates chunk k
against that context while the loading process goes on to chunk k+1. The findings,
problems and quads are the ones the one-process path gives.

Workers are forked: they inherit the loaded model and mapper set-up, and only ever run pure
Python (parsing, mapping, SHACL, serialising), never touching the store or a lock another
thread of the loading process might hold. (Spawning would re-import a script's ``__main__``
in each worker.) They end when the loading process closes their pipe or dies.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox
from rdflib import BNode, Graph

from cipd_graph._config import Settings
from cipd_graph._errors import RecordProblem, StoreError
from cipd_graph._gc import settle_worker
from cipd_graph._mapping import Mapper
from cipd_graph._triples import triples_of
from cipd_graph._validation import Finding, ValidationReport, shape_blank_nodes

if TYPE_CHECKING:
    from cipd_graph._store import BatchSummary, Entity, GraphStore


@dataclass(frozen=True)
class WorkerSetup:
    """What every worker needs to map and validate like the loading process."""

    settings: Settings
    #: The load's mapper (workers are forked: each gets a copy, nothing is pickled).
    mapper: Mapper
    existing: frozenset[str]
    user: str
    now: str


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
    from cipd_graph._store import ntriples_terms

    shared = shape_blank_nodes()
    write = ntriples_terms()

    def term(node: Any) -> str:
        if isinstance(node, BNode) and node not in shared:
            node = BNode(f"c{number}x{node}")
        return write(node)

    return "".join(f"{term(s)} {term(p)} {term(o)} .\n" for s, p, o in triples_of(results)).encode()


def _chunk(
    store: GraphStore,
    setup: WorkerSetup,
    number: int,
    paths: Sequence[Path],
    exchange: Callable[[ChunkOutcome], bytes],
) -> ChunkFindings:
    """Parse and map one chunk, hand it over (``exchange`` returns its context), validate it;
    as ``GraphStore._stage_chunk`` does."""
    from cipd_graph._store import (
        _summaries,
        as_triples,
        entities_of,
        mentioned_iris,
        parse_and_map,
        subject_iris,
    )

    mapper = setup.mapper
    known = set(mapper.local_ids)
    mapped, problems = parse_and_map(paths, mapper)
    graphs = {str(m.source.path): store.batch_graph(m.source.path) for m in mapped}
    problems.extend(p for m in mapped for p in m.problems)
    context = exchange(
        ChunkOutcome(
            number=number,
            nquads=store._batch_nquads(mapped, setup.user, setup.now),
            mentioned=sorted(mentioned_iris(mapped, store.base)),
            subjects=subject_iris(mapped, store.base),
            batches=_summaries(mapped, graphs, set(setup.existing)),
            problems=problems,
            warnings=[w for m in mapped for w in m.warnings],
            entities=entities_of(mapped),
            graphs=graphs,
            local_ids={k: v for k, v in mapper.local_ids.items() if k not in known},
        )
    )
    report = store._validate_batches(
        mapped,
        set(graphs.values()),
        context=as_triples(ox.parse(context, format=ox.RdfFormat.N_TRIPLES)),
    )
    return ChunkFindings(number, report.findings, results_text(report.results, number))


def worker(conn: Connection, setup: WorkerSetup) -> None:
    """A worker's loop: chunks in, outcomes out, until the pipe closes."""
    from cipd_graph._store import GraphStore

    settle_worker()
    store = GraphStore(None, setup.settings)  # batch graphs, provenance, names of people
    store._pseudonymiser = setup.mapper.pseudonymise
    store._model = setup.mapper.model
    store._mapper = setup.mapper

    def exchange(outcome: ChunkOutcome) -> bytes:
        conn.send(("mapped", outcome.number, outcome))
        answer: bytes = conn.recv()
        return answer

    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        number, paths = message
        try:
            outcome = _chunk(store, setup, number, paths, exchange)
        except (EOFError, OSError):
            return
        except BaseException:  # reported to the loading process, which fails the load
            conn.send(("error", number, traceback.format_exc()))
            return
        conn.send(("done", number, outcome))


class _Workers:
    """The worker processes of one staged load and the chunks they are on."""

    def __init__(
        self, setup: WorkerSetup, count: int, chunks: Sequence[tuple[int, Sequence[Path]]]
    ) -> None:
        spawn = multiprocessing.get_context("fork")
        self.queue = list(chunks)
        self.busy: dict[Connection, int] = {}
        self.procs: list[tuple[Connection, Any]] = []
        for _ in range(max(1, min(count, len(chunks)))):
            parent, child = spawn.Pipe()
            proc = spawn.Process(target=worker, args=(child, setup), daemon=True)
            proc.start()
            child.close()
            self.procs.append((parent, proc))
        for conn, _proc in self.procs:
            self.assign(conn)

    def assign(self, conn: Connection) -> None:
        """Give ``conn``'s worker the next chunk, if any is left."""
        if self.queue:
            number, paths = self.queue.pop(0)
            conn.send((number, list(paths)))
            self.busy[conn] = number
        else:
            self.busy.pop(conn, None)

    def messages(self) -> list[tuple[Connection, str, int, Any]]:
        """The next messages from busy workers: (pipe, kind, chunk, payload)."""
        out = []
        for conn in multiprocessing.connection.wait(list(self.busy)):
            assert isinstance(conn, Connection)
            try:
                kind, number, payload = conn.recv()
            except (EOFError, OSError) as exc:
                raise StoreError(
                    f"a load worker stopped while working on chunk {self.busy.get(conn)}"
                ) from exc
            if kind == "error":
                raise StoreError(f"a load worker failed on chunk {number}:\n{payload}")
            out.append((conn, kind, number, payload))
        return out

    def close(self) -> None:
        """Stop every worker (they also stop on their own when this process dies)."""
        for conn, _proc in self.procs:
            with contextlib.suppress(OSError, ValueError):
                conn.send(None)
            conn.close()
        for _conn, proc in self.procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join()


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
                conn.send(context(outcome.number, outcome.mentioned))
                write(outcome)
                position += 1
    finally:
        pool.close()
    return [validated[number] for number in order]


def merge_report(report: ValidationReport, outcome: ChunkFindings) -> None:
    """Add a chunk's findings (and its SHACL results graph) to ``report``."""
    report.findings.extend(outcome.findings)
    report.add_results_text(outcome.results)
