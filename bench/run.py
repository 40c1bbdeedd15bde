"""Benchmarks, run by ``make bench``; results go to bench/results.md.

Every figure is measured beside a baseline in the same run on the same data, and
reported as a ratio: absolute times drift between machines, ratios much less.
"""

from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pyoxigraph
from rdflib import Graph

from cipd_graph import load_model, load_ontology, ontology_files, quality_checks
from cipd_graph._qc import to_store

RUNS = 3
OUT = Path(__file__).with_name("results.md")


def median_seconds(work: Callable[[], object], runs: int = RUNS) -> float:
    """Median wall time of ``runs`` calls of ``work``."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def parse_rdflib() -> int:
    return sum(len(Graph().parse(p, format="turtle")) for p in ontology_files())


def parse_oxigraph() -> int:
    return sum(
        len(list(pyoxigraph.parse(path=str(p), format=pyoxigraph.RdfFormat.TURTLE)))
        for p in ontology_files()
    )


def main() -> None:
    rows: list[tuple[str, str, float, str, float]] = []
    rows.append(
        (
            "parse the ontology modules",
            "pyoxigraph",
            median_seconds(parse_oxigraph),
            "rdflib",
            median_seconds(parse_rdflib),
        )
    )
    graph = load_ontology()
    store = to_store(graph)
    for check in quality_checks():
        query = check.path.read_text(encoding="utf-8")
        rows.append(
            (
                f"QC {check.name}",
                "pyoxigraph",
                median_seconds(lambda q=query: list(store.query(q))),  # type: ignore[misc]
                "rdflib",
                median_seconds(lambda q=query: list(graph.query(q))),  # type: ignore[misc]
            )
        )
    model_load = median_seconds(load_model)
    lines = [
        "# Benchmark results",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"Python {platform.python_version()}, pyoxigraph {pyoxigraph.__version__}; "
        f"median of {RUNS} runs; ontology of {len(graph)} triples.",
        "",
        "| task | ours | s | baseline | s | speed-up |",
        "|---|---|---:|---|---:|---:|",
    ]
    for task, ours, ours_s, base, base_s in rows:
        ratio = base_s / ours_s if ours_s > 0 else float("inf")
        lines.append(f"| {task} | {ours} | {ours_s:.4f} | {base} | {base_s:.4f} | {ratio:.1f}x |")
    lines += ["", f"Reading the typed model (load_model, cached parse): {model_load:.4f} s", ""]
    OUT.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
