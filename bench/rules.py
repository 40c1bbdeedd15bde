"""Time each derivation rule on an existing store, as a full derivation runs it.

Runs every rule's CONSTRUCT parts over the store's default graph (the union) in the order
of :func:`~cipd_graph.derive.rules.rule_levels`, timing each (seconds) and counting the
triples it derives; nothing is written::

    .venv/bin/python bench/rules.py STORE
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pyoxigraph as ox

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cipd_graph.derive.rules import rule_levels  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path, help="the store folder (CIPD_STORE)")
    args = parser.parse_args()
    store = ox.Store.read_only(str(args.store / "oxigraph"))
    total = 0.0
    print(f"{'rule':<32} {'seconds':>8} {'triples':>10}")
    for level in rule_levels():
        for rule in level:
            start = time.perf_counter()
            count = 0
            for part in rule.parts:
                answer = store.query(part)
                assert isinstance(answer, ox.QueryTriples)
                count += sum(1 for _ in answer)
            seconds = time.perf_counter() - start
            total += seconds
            print(f"{rule.name:<32} {seconds:>8.2f} {count:>10}", flush=True)
    print(f"{'all rules':<32} {total:>8.2f}")


if __name__ == "__main__":
    main()
