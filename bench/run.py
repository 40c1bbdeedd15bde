"""Benchmarks, run by ``make bench``; results go to bench/results.md.

Every figure is measured beside a baseline in the same run on the same data, and
reported as a ratio: absolute times drift between machines, ratios much less.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
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
#: The hand-written reading of the latest full run (why targets are missed), kept across runs.
ANALYSIS = Path(__file__).with_name("analysis.md")


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


def ontology_rows() -> list[tuple[str, str, float, str, float]]:
    """The ontology: parsing it and running the quality checks, pyoxigraph against rdflib."""
    rows: list[tuple[str, str, float, str, float]] = [
        (
            "parse the ontology modules",
            "pyoxigraph",
            median_seconds(parse_oxigraph),
            "rdflib",
            median_seconds(parse_rdflib),
        )
    ]
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
                median_seconds(lambda q=query: list(graph.query(q)), runs=1),  # type: ignore[misc]
            )
        )
    return rows


def main() -> None:
    import tempfile

    from report import scale_section  # type: ignore[import-not-found]
    from scale import measure_size  # type: ignore[import-not-found]

    started = time.monotonic()
    sizes = [int(n) for n in os.environ.get("BENCH_SIZES", "1000,10000,100000").split(",") if n]
    deadline = started + float(os.environ.get("BENCH_DEADLINE_S", "1770"))
    baseline_limit = float(os.environ.get("BENCH_BASELINE_S", "300"))
    results = []
    with tempfile.TemporaryDirectory(prefix="cipd-bench-") as tmp:
        # The ontology's figures are measured beside the untimed one-core build of the graph
        # for the first size's baseline queries, or alone here if that did not run.
        rows_file = Path(tmp) / "ontology.json"
        for i, n in enumerate(sizes):
            if deadline - time.monotonic() < 30:
                results.append({"projects": n, "skipped": True})
                continue
            work = Path(tmp) / str(n)
            work.mkdir(exist_ok=True)  # made already when its records were generated ahead
            later = sizes[i + 1] if i + 1 < len(sizes) else None
            ahead = (later, Path(tmp) / str(later)) if later and later != n else None
            print(f"bench: {n} projects", flush=True)
            previous = next((r for r in reversed(results) if not r.get("skipped")), None)
            side = [[__file__, "ontology", str(rows_file)]] if i == 0 and len(sizes) > 1 else []
            # The last (largest) size's load starts while the size before builds its
            # baseline's graph for the queries (see measure_size).
            results.append(
                measure_size(
                    n,
                    work,
                    deadline,
                    baseline_limit,
                    previous,
                    ahead=ahead,
                    side=side,
                    load_ahead=i == len(sizes) - 2,
                )
            )
            shutil.rmtree(work, ignore_errors=True)
        beside = rows_file.exists()
        rows = (
            [tuple(row) for row in json.loads(rows_file.read_text())] if beside else ontology_rows()
        )
    lines = [
        "# Benchmark results",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()} "
        f"({os.cpu_count()} cores, shared with other work), Python {platform.python_version()}, "
        f"pyoxigraph {pyoxigraph.__version__}; `make bench` took "
        f"{(time.monotonic() - started) / 60:.1f} min; sizes {','.join(map(str, sizes))} "
        "(`BENCH_SIZES`), deadline `BENCH_DEADLINE_S`, baseline limit per size `BENCH_BASELINE_S`.",
        "",
    ]
    lines += scale_section(results, baseline_limit)
    lines += small_writes()
    lines += [
        "## The ontology",
        "",
        f"Median of {RUNS} runs (rdflib quality checks: one run)"
        + (
            ", measured while the baseline built its graph for the queries of the first size "
            "(one process on each core), which waited for them."
            if beside
            else "."
        ),
        "",
        "| task | ours | s | baseline | s | speed-up |",
        "|---|---|---:|---|---:|---:|",
    ]
    for task, ours, ours_s, base, base_s in rows:
        ratio = base_s / ours_s if ours_s > 0 else float("inf")
        lines.append(f"| {task} | {ours} | {ours_s:.4f} | {base} | {base_s:.4f} | {ratio:.1f}x |")
    lines += [
        "",
        f"Reading the typed model (load_model, cached parse): {median_seconds(load_model):.4f} s",
        "",
    ]
    if ANALYSIS.exists():  # written by hand after a full run; says which run it reads
        lines += [ANALYSIS.read_text(encoding="utf-8")]
    OUT.write_text("\n".join(lines), encoding="utf-8")
    (OUT.with_suffix(".json")).write_text(json.dumps(results, indent=1), encoding="utf-8")
    print("\n".join(lines))


def small_writes() -> list[str]:
    """Issue 20's targets (bench/small_write.py, its own children), sizes
    ``BENCH_SMALL_WRITE_SIZES`` (empty: not run): the section of results.md."""
    from small_write import section  # type: ignore[import-not-found]

    sizes = os.environ.get("BENCH_SMALL_WRITE_SIZES", "1000,10000,100000")
    if not sizes:
        return []
    out = Path(__file__).with_name("small_write.json")
    script = Path(__file__).with_name("small_write.py")
    out.unlink(missing_ok=True)  # never a section from an earlier run
    command = [sys.executable, str(script), "--sizes", sizes, "--no-markdown", "--json", str(out)]
    subprocess.run(command, check=False)  # noqa: S603 - our own script
    return section(json.loads(out.read_text(encoding="utf-8"))) if out.exists() else []


def ontology_step(out: Path) -> None:
    """Child: :func:`ontology_rows`, written to ``out`` as JSON (see ``main``)."""
    out.write_text(json.dumps(ontology_rows()), encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:2] == ["ontology"]:
        ontology_step(Path(sys.argv[2]))
    else:
        main()
