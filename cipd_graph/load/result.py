"""What a load (or a dry run) reports: problems, SHACL findings, what it wrote."""

from __future__ import annotations

from collections.abc import Callable
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
