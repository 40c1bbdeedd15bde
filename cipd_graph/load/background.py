"""A large batch's SHACL validation in a forked process while the loading process plans its write.

Validating a batch and planning its write (the change to every graph, the derived facts
it touches) read the same stored state and are independent of each other; the write
itself waits for both, and a batch with an error is never written. On a machine with two
cores the two run side by side: 100 files into 10,000 projects validate in about 0.47 s
and plan in about 2 s (without a profiler).

The validating process is forked, as a staged load's workers are
(:mod:`cipd_graph.load.workers`): it inherits the batch, its context (read from the store
by the loading process before the fork) and the compiled shapes, runs pure Python and
never touches the store; it sends back the findings and the SHACL results graph as
N-Triples, and dies with the loading process (``cipd_graph._lifetime``). Forking and
reading back cost a few tens of milliseconds, more than validating a batch of a few files
takes: smaller batches are validated in the loading process (:data:`BACKGROUND_TRIPLES`).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from cipd_graph._errors import StoreError
from cipd_graph._lifetime import die_with_parent
from cipd_graph.load.gc import settle_worker
from cipd_graph.load.workers import results_text
from cipd_graph.validation import ValidationReport

#: Mapped triples from which a batch is validated in a forked process: 10,000 is about 25
#: project files, validated in about 0.12 s (a quarter of 100 files' 0.47 s); starting the
#: forked process took 5 ms and reading its answer back 8 ms for 100 files.
BACKGROUND_TRIPLES = 10_000


def _child(conn: Connection, run: Callable[[], ValidationReport]) -> None:
    parent = multiprocessing.parent_process()
    die_with_parent(parent.pid if parent is not None else None)
    settle_worker()
    start = time.perf_counter()
    try:
        report = run()
        text = results_text(report.results, 0)
        conn.send(("done", report.findings, text, time.perf_counter() - start))
    except BaseException:  # reported to the loading process, which fails the load
        with contextlib.suppress(OSError):
            conn.send(("error", None, traceback.format_exc(), 0.0))
    finally:
        conn.close()


class Validation:
    """A validation running in a forked process (or already done, when ``run`` is called
    in this one): :meth:`report` waits for it, :meth:`close` stops it if still running."""

    def __init__(self, run: Callable[[], ValidationReport], *, fork: bool) -> None:
        self._report: ValidationReport | None = None
        self._conn: Connection | None = None
        self._process: Any = None
        #: Whether it runs in another process.
        self.aside = fork
        #: How long it took in the other process, as that process timed it, once done.
        self.seconds: float | None = None
        if not fork:
            self._report = run()
            return
        context = multiprocessing.get_context("fork")
        ours, theirs = context.Pipe(duplex=False)
        self._process = context.Process(target=_child, args=(theirs, run), daemon=True)
        self._process.start()
        theirs.close()
        self._conn = ours

    def report(self) -> ValidationReport:
        """The validation's report, once it is done."""
        if self._report is not None:
            return self._report
        assert self._conn is not None
        try:
            kind, findings, payload, seconds = self._conn.recv()
        except (EOFError, OSError) as exc:
            raise StoreError(
                "the process validating the batch ended without an answer; nothing was written"
            ) from exc
        finally:
            self.close()
        if kind != "done":
            raise StoreError(f"validating the batch failed; nothing was written:\n{payload}")
        report = ValidationReport(findings)
        report.add_results_text(payload)
        self._report = report
        self.seconds = seconds
        return report

    def close(self) -> None:
        """Stop the validating process if it still runs, and reap it."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join()
            self._process = None
