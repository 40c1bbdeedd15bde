"""Benchmarks, run by ``make bench``; results go to bench/results.md.

Every figure is measured beside a baseline in the same run on the same data, and
reported as a ratio: absolute times drift between machines, ratios much less.
"""

from __future__ import annotations

import math
import platform
import re
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


def load_rows() -> tuple[list[tuple[str, str, float, str, float]], list[str]]:
    """Loading records: incremental validation of one project against a whole-graph check."""
    import shutil
    import tempfile

    from cipd_graph import Settings
    from cipd_graph._store import GraphStore

    samples = Path(__file__).resolve().parents[1] / "examples" / "records"
    settings = Settings(pseudonym_key="bench-key-0123456789", user="bench")
    notes: list[str] = []
    rows: list[tuple[str, str, float, str, float]] = []
    for copies in (0, 3, 38):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            records = root / "records"
            shutil.copytree(samples, records)
            for source in sorted((samples / "projects").glob("*.yaml")):
                text = source.read_text(encoding="utf-8")
                for k in range(copies):
                    renamed = re.sub(r"^id: (\S+)", rf"id: \1-c{k}", text, count=1, flags=re.M)
                    renamed = re.sub(
                        r"^  id: (\S+)", rf"  id: \1-c{k}", renamed, count=1, flags=re.M
                    )
                    (records / "projects" / f"{source.stem}-c{k}.yaml").write_text(
                        renamed, encoding="utf-8"
                    )
            projects = len(list((records / "projects").glob("*.yaml")))
            store = GraphStore(root / "store", settings)
            start = time.perf_counter()
            result = store.load([records])
            load_s = time.perf_counter() - start
            assert result.ok, result.to_text()
            triples = len(store.oxigraph)
            notes.append(
                f"Load of {projects} projects + 7 reference tables into a fresh on-disk store: "
                f"{load_s:.1f} s ({triples / load_s:,.0f} triples/s, {triples} triples in the store)."
            )
            if copies == 38:  # the 1,000-project graph: named query latency only
                rows += query_rows(store, f"{projects} projects", baseline=False)
                store.close()
                continue
            one = records / "projects" / "ward7-falls.yaml"
            incremental = median_seconds(lambda s=store, f=one: s.validate([f]))
            whole = median_seconds(store.validate_store, runs=1)
            rows.append(
                (
                    f"validate one project against a store of {projects} projects",
                    "incremental (batch + what it touches)",
                    incremental,
                    "whole-store SHACL",
                    whole,
                )
            )
            if copies == 0:
                rows += query_rows(store, "sample")
            store.close()
    return rows, notes


def query_rows(
    store: object, scope: str, *, baseline: bool = True
) -> list[tuple[str, str, float, str, float]]:
    """Each named query's median latency (and p95 of 20 runs), against rdflib on the same triples."""
    from rdflib import Dataset

    from cipd_graph._queries import named_queries, run_query

    params = {
        "project": "ward7-falls",
        "team": "ward7-microsystem",
        "organisation": "northshire-trust",
        "module": "ncu-qi-practice",
        "programme": "nsu-msc-qi",
    }
    union = Dataset(default_union=True)
    if baseline:
        union.parse(data=store.export("nq", with_ontology=True), format="nquads")  # type: ignore[attr-defined]
    out = []
    for name, query in named_queries().items():
        values = {p.name: params[p.name] for p in query.parameters if p.required}
        times = sorted(
            median_seconds(lambda n=name, v=values: run_query(store, n, v), runs=1)
            for _ in range(20)
        )
        ours, p95 = times[10], times[18]
        text = query.bound(values, store.base)  # type: ignore[attr-defined]
        base = (
            median_seconds(lambda t=text: list(union.query(t)), runs=1)
            if baseline
            else float("nan")
        )
        label = f"named query {name} ({scope}; p95 {p95 * 1000:.1f} ms)"
        out.append((label, "pyoxigraph", ours, "rdflib" if baseline else "-", base))
    return out


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
    record_rows, record_notes = load_rows()
    rows += record_rows
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
        if math.isnan(base_s):  # no baseline was run for this row
            lines.append(f"| {task} | {ours} | {ours_s:.4f} | - | - | - |")
            continue
        ratio = base_s / ours_s if ours_s > 0 else float("inf")
        lines.append(f"| {task} | {ours} | {ours_s:.4f} | {base} | {base_s:.4f} | {ratio:.1f}x |")
    lines += ["", f"Reading the typed model (load_model, cached parse): {model_load:.4f} s", ""]
    lines += [f"- {note}" for note in record_notes] + [""]
    OUT.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
