"""Ontology quality checks: named SPARQL queries that return the offending terms.

The checks run on pyoxigraph, whose SPARQL engine answers them in milliseconds
where rdflib's takes seconds (see NOTES.md on join order).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyoxigraph
from rdflib import Graph

from cipd_graph._errors import OntologyError
from cipd_graph._resources import data_dir


@dataclass(frozen=True)
class Violation:
    """One offending term found by a quality check."""

    check: str
    term: str
    detail: str = ""


def to_store(graph: Graph) -> pyoxigraph.Store:
    """Copy an rdflib graph into a new in-memory Oxigraph store."""
    store = pyoxigraph.Store()
    store.bulk_load(graph.serialize(format="nt", encoding="utf-8"), pyoxigraph.RdfFormat.N_TRIPLES)
    return store


def _text(term: object) -> str:
    return str(getattr(term, "value", term))


@dataclass(frozen=True)
class QualityCheck:
    """A ``queries/qc/<name>-violation.rq`` file and its one-line summary."""

    name: str
    summary: str
    path: Path

    def run(self, graph: Graph | pyoxigraph.Store) -> list[Violation]:
        """Run the check; every row of its answer is a violation."""
        store = to_store(graph) if isinstance(graph, Graph) else graph
        try:
            solutions = store.query(self.path.read_text(encoding="utf-8"))
        except (SyntaxError, OSError) as exc:
            raise OntologyError(f"{self.path}: the quality check cannot run: {exc}") from exc
        if not isinstance(solutions, pyoxigraph.QuerySolutions):
            raise OntologyError(f"{self.path}: a quality check must be a SELECT query")
        violations = []
        for row in solutions:
            values = [_text(v) for v in row if v is not None]
            violations.append(Violation(self.name, values[0], " ".join(values[1:])))
        return sorted(violations, key=lambda v: (v.term, v.detail))


def quality_checks(directory: Path | None = None) -> list[QualityCheck]:
    """Every quality check shipped in ``queries/qc``, by name.

    >>> [c.name for c in quality_checks()][:2]
    ['concept-without-scheme', 'duplicate-label']
    """
    directory = directory or data_dir("queries") / "qc"
    checks = []
    for path in sorted(directory.glob("*-violation.rq")):
        summary = ""
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("#+ summary:"):
                summary = line.removeprefix("#+ summary:").strip()
                break
        checks.append(QualityCheck(path.name.removesuffix("-violation.rq"), summary, path))
    return checks


def run_quality_checks(graph: Graph) -> dict[str, list[Violation]]:
    """Run every quality check; the result maps each check's name to its violations."""
    store = to_store(graph)
    return {check.name: check.run(store) for check in quality_checks()}
