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


def _counting(backend: EmbeddedBackend, calls: dict[str, int]) -> None:
    """Count the backend's reads of nodes, by method, on this one backend."""
    for name in ("edges", "in_graph"):
        original = getattr(backend, name)

        def counted(*args, _original=original, _name=name, **kwargs):
            nodes = args[1] if _name == "in_graph" else args[0]
            calls[_name] = calls.get(_name, 0) + len(list(nodes))
            return _original(*args, **kwargs)

        setattr(backend, name, counted)


def test_the_stored_union_is_read_once_a_node_and_predicate(tmp_path: Path):
    p, q = ox.NamedNode(f"{BASE}p"), ox.NamedNode(f"{BASE}q")
    hub, small, absent = (ox.NamedNode(f"{BASE}{name}") for name in ("hub", "small", "absent"))
    into_hub = [ox.Triple(ox.NamedNode(f"{BASE}a{n}"), p if n < 3 else q, hub) for n in range(5)]
    into_small = [ox.Triple(ox.NamedNode(f"{BASE}b"), q, small)]
    backend = EmbeddedBackend(tmp_path, LAYOUT)
    first = Change(backend)
    first.replace(KEPT, into_hub + into_small)
    backend.apply(first.changeset())

    calls: dict[str, int] = {}
    _counting(backend, calls)
    change = Change(backend)
    new = ox.Triple(ox.NamedNode(f"{BASE}c"), p, absent)
    change.replace(NEVER, [new])
    nodes = [hub, small, absent]
    assert change.edges(nodes, p, inverse=True) == set(into_hub[:3]) | {new}
    assert change.edges(nodes, p, inverse=True) == set(into_hub[:3]) | {new}
    assert calls == {"edges": 3}  # each node once for p
    assert change.edges(nodes, q, inverse=True) == set(into_hub[3:]) | set(into_small)
    assert calls == {"edges": 6}
    assert change.edges(nodes, None, inverse=True) == set(into_hub + into_small) | {new}
    assert calls == {"edges": 9}
    # Read whole, a node answers any predicate; as stored now, without the change's triple:
    assert change.stored([absent, hub], p, inverse=True) == set(into_hub[:3])
    assert change.stored([small], None, inverse=True) == set(into_small)
    assert calls == {"edges": 9}
    backend.close()


def test_what_a_derived_graph_holds_about_a_new_node_takes_no_look_up(tmp_path: Path):
    derived = LAYOUT.derived("rule")
    old, new = ox.NamedNode(f"{BASE}old"), ox.NamedNode(f"{BASE}new")
    p, r = ox.NamedNode(f"{BASE}p"), ox.NamedNode(f"{BASE}r")
    fact = ox.Triple(old, r, ox.Literal("derived"))
    backend = EmbeddedBackend(tmp_path, LAYOUT)
    first = Change(backend)
    first.replace(KEPT, [ox.Triple(old, p, ox.Literal("1")), ox.Triple(old, p, ox.Literal("2"))])
    first.replace(derived, [fact])
    backend.apply(first.changeset())

    calls: dict[str, int] = {}
    _counting(backend, calls)
    change = Change(backend)
    # Both subjects asked about for two triples: the backend reads each whole on the way.
    change.replace(
        EMPTIED,
        [ox.Triple(s, p, ox.Literal(v)) for s in (old, new) for v in ("1", "3")],
    )
    assert change.derived(derived, [old, new]) == {fact}
    assert calls == {"in_graph": 1}  # the old node only: the new one has nothing anywhere
    assert change.edges([old, new], p, inverse=False) == {
        ox.Triple(s, p, ox.Literal(v))
        for s, v in ((old, "1"), (old, "2"), (old, "3"), (new, "1"), (new, "3"))
    }
    assert "edges" not in calls  # both read whole by the placement of the replaced graph
    backend.close()


def test_triples_are_compared_as_the_store_gives_them_back(tmp_path: Path):
    """``canonical`` puts only literals other than plain strings through a memory store;
    what it gives equals what a store on disk gives back, repeats that meet once written
    (01 and 1 as integers, 1 and true as booleans) counted once."""
    from cipd_graph.store.change import canonical

    xsd = "http://www.w3.org/2001/XMLSchema#"
    s, p = ox.NamedNode(f"{BASE}s"), ox.NamedNode(f"{BASE}p")
    objects = [
        ox.NamedNode(f"{BASE}o"),
        ox.BlankNode("b1"),
        ox.Literal("plain"),
        ox.Literal("  spaced 5.0 "),
        ox.Literal("Hello", language="EN-gb"),
        ox.Literal("3", datatype=ox.NamedNode(xsd + "positiveInteger")),
        ox.Literal("01", datatype=ox.NamedNode(xsd + "integer")),
        ox.Literal("1", datatype=ox.NamedNode(xsd + "integer")),
        ox.Literal("5.0", datatype=ox.NamedNode(xsd + "decimal")),
        ox.Literal("true", datatype=ox.NamedNode(xsd + "boolean")),
        ox.Literal("1", datatype=ox.NamedNode(xsd + "boolean")),
        ox.Literal("2024-05-31", datatype=ox.NamedNode(xsd + "date")),
        ox.Literal("2024-05-31T10:00:00Z", datatype=ox.NamedNode(xsd + "dateTime")),
        ox.Literal("x", datatype=ox.NamedNode(f"{BASE}customType")),
    ]
    triples = [ox.Triple(s, p, o) for o in objects] * 2
    disk = ox.Store(str(tmp_path / "disk"))
    disk.extend(ox.Quad(t.subject, t.predicate, t.object) for t in triples)
    back = {q.triple for q in disk}
    assert set(canonical(triples)) == back
    assert len(canonical(triples)) == len(back) == len(objects) - 2
