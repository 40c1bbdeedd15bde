"""A planned :class:`Change` written as the smallest set of edits, on a real store on disk.

A replaced graph that keeps content is written as what it loses and gains (a DROP in an
Oxigraph update slows the whole update down); only a graph the store holds and the change
empties is dropped, and a replaced graph that neither holds nor will hold anything is left
alone. The union follows either way.
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox

from cipd_graph.store.backends import UNION, EmbeddedBackend
from cipd_graph.store.change import Change
from cipd_graph.store.layout import GraphLayout

BASE = "https://example.org/data/"
LAYOUT = GraphLayout(BASE, "https://example.org/ontology")
KEPT = LAYOUT.source_prefix + "kept"
EMPTIED = LAYOUT.source_prefix + "emptied"
NEVER = LAYOUT.source_prefix + "never"


def triple(n: int) -> ox.Triple:
    return ox.Triple(ox.NamedNode(f"{BASE}s{n}"), ox.NamedNode(f"{BASE}p"), ox.Literal(str(n)))


def union(backend: EmbeddedBackend) -> set[ox.Triple]:
    return {q.triple for q in backend.store.quads_for_pattern(None, None, None, ox.DefaultGraph())}


def test_replaced_graphs_are_written_as_their_differences(tmp_path: Path):
    backend = EmbeddedBackend(tmp_path, LAYOUT)
    first = Change(backend)
    first.replace(KEPT, [triple(1), triple(2), triple(3)])
    first.replace(EMPTIED, [triple(3), triple(4)])
    backend.apply(first.changeset())
    assert union(backend) == {triple(n) for n in (1, 2, 3, 4)}

    change = Change(backend)
    change.replace(KEPT, [triple(2), triple(3), triple(5)])
    change.replace(EMPTIED, [])
    change.replace(NEVER, [])
    planned = change.changeset()

    assert planned.replace == {EMPTIED: []}  # the one graph dropped
    assert planned.remove[KEPT] == [triple(1)]
    assert planned.add[KEPT] == [triple(5)]
    assert EMPTIED not in planned.remove and EMPTIED not in planned.add
    assert NEVER not in planned.graphs()
    assert sorted(planned.remove[UNION], key=str) == [triple(1), triple(4)]  # 3 is still KEPT's
    assert planned.add[UNION] == [triple(5)]

    backend.apply(planned)
    assert set(backend.graph_triples(KEPT)) == {triple(2), triple(3), triple(5)}
    assert sorted(backend.named_graphs()) == [KEPT]  # the emptied graph is gone, not empty
    assert union(backend) == {triple(2), triple(3), triple(5)}
    backend.close()


def test_an_existing_empty_graph_replaced_by_nothing_is_dropped(tmp_path: Path):
    backend = EmbeddedBackend(tmp_path, LAYOUT)
    backend.store.add_graph(ox.NamedNode(EMPTIED))
    change = Change(backend)
    change.replace(EMPTIED, [])
    assert change.changeset().replace == {EMPTIED: []}
    backend.apply(change.changeset())
    assert backend.named_graphs() == []
    backend.close()
