"""Time each derivation rule on an existing store: the derivation step of a load, rule by rule.

Empties the inferred graph and applies every rule of ``rules/`` in order, as a load does at its
end, timing each one (seconds) and counting what it adds::

    .venv/bin/python bench/rules.py /tmp/q1m/store
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cipd_graph import Settings  # noqa: E402
from cipd_graph.derive.rules import derivation_steps, rules  # noqa: E402
from cipd_graph.graph import GraphStore  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path, help="the store folder (CIPD_STORE)")
    args = parser.parse_args()
    store = GraphStore(args.store, Settings(pseudonym_key="bench-key-0123456789", user="bench"))
    graph = store.inferred_graph
    prologue, steps = derivation_steps(graph)
    count = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"

    def size() -> int:
        return int(next(iter(store.oxigraph.query(count)))["n"].value)  # type: ignore[index]

    store.backend.update([steps[0]], prologue=prologue)  # DROP the inferred graph
    total = 0.0
    print(f"{'rule':<32} {'seconds':>8} {'triples added':>14}")
    for rule, step in zip(rules(), steps[1:], strict=True):
        before = size()
        start = time.perf_counter()
        store.backend.update([step], prologue=prologue)
        seconds = time.perf_counter() - start
        total += seconds
        print(f"{rule.name:<32} {seconds:>8.2f} {size() - before:>14}", flush=True)
    print(f"{'all rules':<32} {total:>8.2f} {size():>14}")
    store.close()


if __name__ == "__main__":
    main()
