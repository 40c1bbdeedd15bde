"""What a load (or a dry run) reports: problems, SHACL findings, what it wrote."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field

from cipd_graph._errors import RecordProblem
from cipd_graph.validation import ValidationReport

#: What a long load reports as it goes (one line of text at a time).
Progress = Callable[[str], None]


@dataclass(frozen=True)
class BatchSummary:
    """What a load did (or would do) with one file."""

    path: str
    graph: str
    kind: str
    records: int
    triples: int
    replaces: bool


def _seconds(value: float) -> str:
    """Seconds to the millisecond below one second (an upload's stages take a few), to the
    hundredth above.

    >>> _seconds(0.0042), _seconds(6.604)
    ('0.004 s', '6.60 s')
    """
    return f"{value:.3f} s" if value < 1 else f"{value:.2f} s"


def untimed(_name: str) -> AbstractContextManager[None]:
    """A stand-in for :meth:`LoadResult.timed` where a write has no result to time."""
    return nullcontext()


@dataclass(frozen=True)
class Stage:
    """How long one stage of a write took, in seconds of wall time."""

    name: str
    seconds: float
    #: Run in another process beside the stages of the loading process (SHACL of a large
    #: batch: ``load.background``), so not a part of their sum.
    aside: bool = False


@dataclass
class LoadResult:
    """The outcome of loading or validating files: problems, the SHACL report, what was written."""

    batches: list[BatchSummary] = field(default_factory=list)
    problems: list[RecordProblem] = field(default_factory=list)
    #: Things a reader could not place and left out, reported so that nothing is dropped silently.
    warnings: list[RecordProblem] = field(default_factory=list)
    report: ValidationReport = field(default_factory=ValidationReport)
    written: bool = False
    #: Derived facts recomputed by the write, by rule: how many things each rule looked at
    #: again (a full derivation counts as -1).
    derived: dict[str, int] = field(default_factory=dict)
    #: The stages the load (or dry run) went through, in order, and how long each took:
    #: where a slow load spends its time (the CLI prints them; ``--format json`` and the
    #: API give them as ``stages``).
    stages: list[Stage] = field(default_factory=list)

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        """Time the block as the stage ``name`` (also when it fails: a load that stops
        says how far it got)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.stages.append(Stage(name, time.perf_counter() - start))

    def timing_text(self) -> str:
        """The stages in one line: ``took 6.1 s: read and map 0.4 s, ...``; empty when
        nothing was timed."""
        own = [s for s in self.stages if not s.aside]
        if not own:
            return ""
        parts = ", ".join(f"{s.name} {_seconds(s.seconds)}" for s in own)
        text = f"took {_seconds(sum(s.seconds for s in own))}: {parts}"
        aside = [s for s in self.stages if s.aside]
        if aside:
            text += "; beside them, in another process: " + ", ".join(
                f"{s.name} {_seconds(s.seconds)}" for s in aside
            )
        return text

    @property
    def ok(self) -> bool:
        """No format problem and no validation error."""
        return not self.problems and self.report.conforms

    def to_text(self) -> str:
        """A plain-language account for people."""
        lines = [str(p) for p in self.problems]
        lines += [f"warning: {w}" for w in self.warnings]
        if self.report.findings:
            lines.append(self.report.to_text())
        if self.ok:
            verb = "loaded" if self.written else "valid"
            for b in self.batches:
                again = " (replaced the earlier load)" if b.replaces and self.written else ""
                lines.append(
                    f"{verb}: {b.path}: {b.records} record{'s' if b.records != 1 else ''}, {b.triples} triples{again}"
                )
        else:
            errors = len(self.problems) + len(self.report.errors)
            lines.append(f"nothing was written: {errors} error(s) to fix first")
        return "\n".join(lines)
