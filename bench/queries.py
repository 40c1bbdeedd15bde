"""Time every named query on an existing store: p50 of N runs, whole store and with parameters.

The cases are those of the scale benchmark (``bench/scale.py`` ``bench_cases``: each query with
its bench parameters, and a query with optional parameters also over the whole store), run
through ``run_query`` as the API and CLI run them. For measuring query rewrites against one
store built once, e.g. 3,200 generated projects (about 1M triples)::

    .venv/bin/python -m cipd_graph generate --projects 3200 --seed 42 --out /tmp/q1m/records
    CIPD_STORE=/tmp/q1m/store CIPD_PSEUDONYM_KEY=bench-key-0123456789 \\
        .venv/bin/python -m cipd_graph load /tmp/q1m/records
    .venv/bin/python bench/queries.py /tmp/q1m/store --out /tmp/q1m/after.json

``--queries DIR`` times the query files of another folder (e.g. the reference copies in
``tests/data/queries-reference``) on the same store.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from scale import QUERY_RUNS, bench_cases  # noqa: E402

import cipd_graph._queries as queries_module  # noqa: E402
from cipd_graph import Settings  # noqa: E402
from cipd_graph._queries import named_queries, run_query  # noqa: E402
from cipd_graph.graph import GraphStore  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path, help="the store folder (CIPD_STORE)")
    parser.add_argument("--runs", type=int, default=QUERY_RUNS)
    parser.add_argument("--only", default="", help="only the cases whose label contains this")
    parser.add_argument("--queries", type=Path, help="time the .rq files of this folder instead")
    parser.add_argument("--out", type=Path, help="write {label: {p50_ms, rows}} as JSON here")
    args = parser.parse_args()

    store = GraphStore(args.store, Settings(pseudonym_key="bench-key-0123456789", user="bench"))
    if args.queries:  # run_query reads its catalogue through this name
        folder = args.queries  # parsed on every call, as run_query parses the shipped ones
        queries_module.named_queries = lambda directory=None: named_queries(folder)  # type: ignore[assignment]
    results: dict[str, dict[str, float]] = {}
    print(f"{'query':<50} {'p50 ms':>10} {'rows':>7}")
    for label, name, values in bench_cases():
        if args.only and args.only not in label:
            continue
        times = []
        rows = 0
        for _ in range(args.runs):
            start = time.perf_counter()
            result = run_query(store, name, values)
            rows = len(result.triples if result.triples is not None else result.rows)
            times.append(time.perf_counter() - start)
        p50 = statistics.median(times) * 1000
        results[label] = {"p50_ms": round(p50, 2), "rows": rows}
        print(f"{label:<50} {p50:>10.1f} {rows:>7}", flush=True)
    store.close()
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
