"""Every metric of cipd_graph.analytics on a small hand-built graph, against a hand-computed answer."""

from __future__ import annotations

import math

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cipd_graph.analytics import (
    Group,
    adjusted_rand_index,
    best_match_jaccard,
    blau_index,
    brokers,
    collaboration_graph,
    communities,
    evidence_shares,
    gaps_and_overlaps,
    shannon_index,
    shortest_paths,
)
from cipd_graph.analytics._figures import convex_hull, gid, profession_styles


def two_triangles() -> nx.Graph:
    """a-b-c and d-e-f, each a triangle, joined by the bridge c-d."""
    g = nx.Graph()
    g.add_edges_from(
        [("a", "b"), ("b", "c"), ("a", "c"), ("d", "e"), ("e", "f"), ("d", "f"), ("c", "d")],
        weight=1,
    )
    return g


def test_blau_index_by_hand():
    # Two nurses, a doctor, a pharmacist: shares 1/2, 1/4, 1/4 -> 1 - (1/4 + 1/16 + 1/16) = 0.625
    assert blau_index([2, 1, 1]) == 0.625
    assert blau_index([1, 1, 1, 1]) == 0.75  # 1 - 4 * (1/4)^2
    assert blau_index([5]) == 0.0
    assert blau_index([]) == 0.0
    assert blau_index([3, 0]) == 0.0  # an empty category changes nothing


def test_shannon_index_by_hand():
    # -(1/2 ln 1/2 + 2 * 1/4 ln 1/4) = 0.5 ln 2 + 0.5 ln 4 = 1.5 ln 2
    assert shannon_index([2, 1, 1]) == pytest.approx(1.5 * math.log(2), abs=1e-6)
    assert shannon_index([1, 1, 1, 1]) == pytest.approx(math.log(4), abs=1e-6)
    assert shannon_index([7]) == 0.0
    assert shannon_index([]) == 0.0


def test_brokers_are_the_bridge_ends():
    # c lies on the shortest paths between {a, b} and {d, e, f}: 6 pairs; normalised by
    # (n-1)(n-2)/2 = 10 pairs not involving c -> 0.6. Likewise d. Everyone else: 0.
    assert brokers(two_triangles()) == [("c", 0.6), ("d", 0.6)]
    assert brokers(two_triangles(), top=1) == [("c", 0.6)]
    assert brokers(nx.complete_graph(["x", "y", "z"])) == []


def test_louvain_finds_the_two_triangles():
    found = communities(two_triangles(), seed=1)
    assert found == [{"a", "b", "c"}, {"d", "e", "f"}]
    assert communities(nx.Graph()) == []


def test_best_match_jaccard_by_hand():
    found = {"c1": {"a", "b", "c"}, "c2": {"d", "e", "f"}}
    declared = {"t1": {"a", "b"}, "t2": {"c", "d", "e", "f"}, "t3": {"z"}}
    # c1 & t1 = {a,b}, union {a,b,c}: 2/3; c1 & t2 = {c}, union 6: 1/6
    # c2 & t2 = {d,e,f}, union {c,d,e,f}: 3/4
    assert best_match_jaccard(found, declared) == {"c1": ("t1", 0.667), "c2": ("t2", 0.75)}
    assert best_match_jaccard({"c": {"q"}}, declared) == {"c": (None, 0.0)}


def _every_pair(
    found: dict[str, set[str]], declared: dict[str, set[str]]
) -> dict[str, tuple[str | None, float]]:
    """The definition, pair by pair: what the indexed ``best_match_jaccard`` must give."""
    out: dict[str, tuple[str | None, float]] = {}
    for name, members in found.items():
        best: tuple[str | None, float] = (None, 0.0)
        for other, other_members in sorted(declared.items()):
            union = members | other_members
            score = len(members & other_members) / len(union) if union else 0.0
            if score > best[1]:
                best = (other, score)
        out[name] = (best[0], round(best[1], 3))
    return out


groups = st.dictionaries(
    st.text("abcdefgh", min_size=1, max_size=3),
    st.sets(st.sampled_from("pqrstuvwxyz"), max_size=6),
    max_size=8,
)


@settings(max_examples=500, deadline=None)
@given(found=groups, declared=groups)
def test_best_match_jaccard_is_the_best_of_every_pair(found, declared):
    """Small alphabets make ties, empty groups and groups sharing nothing frequent: the
    first declared group by name wins a tie, and a group that shares nothing has none."""
    assert best_match_jaccard(found, declared) == _every_pair(found, declared)


def test_adjusted_rand_index_by_hand():
    a = {"1": "x", "2": "x", "3": "y", "4": "y", "5": "y"}
    b = {"1": "p", "2": "p", "3": "p", "4": "q", "5": "q"}
    # contingency (x,p)=2 (y,p)=1 (y,q)=2 -> sum C(n,2) = 1 + 0 + 1 = 2
    # rows 2,3 -> 1 + 3 = 4; columns 3,2 -> 3 + 1 = 4; C(5,2) = 10; expected 4*4/10 = 1.6
    # max (4+4)/2 = 4 -> (2 - 1.6) / (4 - 1.6) = 1/6
    assert adjusted_rand_index(a, b) == pytest.approx(1 / 6, abs=1e-6)
    assert adjusted_rand_index(a, a) == 1.0
    # the same partition under other names
    assert adjusted_rand_index(a, {k: v.upper() for k, v in a.items()}) == 1.0
    # (x,p)=1 (x,q)=1 (y,q)=2: index 1, rows 1+1=2, columns 0+3=3, expected 2*3/6 = 1 -> 0
    assert adjusted_rand_index(
        {"1": "x", "2": "x", "3": "y", "4": "y"}, {"1": "p", "2": "q", "3": "q", "4": "q"}
    ) == pytest.approx(0.0)
    assert adjusted_rand_index({"1": "x"}, {"1": "y"}) is None  # one shared item
    assert adjusted_rand_index({"1": "x", "2": "x"}, {"1": "y", "2": "y"}) is None


def test_collaboration_graph_counts_shared_groups():
    groups = [
        Group("team", "Team", "Ward team", frozenset({"n1", "n2", "d1"})),
        Group("huddle", "LearningActivity", "Huddle", frozenset({"n1", "d1"})),
        Group("solo", "LearningActivity", "Reading", frozenset({"p1"})),
    ]
    g = collaboration_graph(groups, {"n1": "Nurse", "n2": "Nurse", "d1": "Doctor"})
    assert sorted(g.nodes) == ["d1", "n1", "n2", "p1"]
    assert g.edges["n1", "d1"]["weight"] == 2
    assert g.edges["n1", "d1"]["groups"] == ["team", "huddle"]
    assert g.edges["n1", "n2"]["weight"] == 1
    assert g.degree("p1") == 0
    assert g.nodes["p1"]["profession"] == "unknown"


def practice_learning() -> nx.Graph:
    """project P with cycle C; activity A informed by C, part of P and of module M;
    module M maps to element SI, and P evidences SI."""
    g = nx.Graph()

    def link(s, p, o):
        if g.has_edge(s, o):
            g.edges[s, o]["statements"].append((s, p, o))
        else:
            g.add_edge(s, o, statements=[(s, p, o)])

    link("P", "cipd:hasCycle", "C")
    link("A", "prov:wasInformedBy", "C")
    link("A", "cipd:partOfProject", "P")
    link("A", "cipd:partOfModule", "M")
    link("M", "cipd:mapsToElement", "SI")
    link("P", "cipd:evidencesStrand", "SI")
    link("P", "cipd:claimsElement", "SI")
    for _, _, data in g.edges(data=True):
        data["statements"].sort()
    return g


def test_shortest_paths_explain_each_hop():
    g = practice_learning()
    # C to M: C - A - M (2 hops); C - P - A - M is longer.
    [path] = shortest_paths(g, "C", "M")
    assert [(h.start, h.end, h.predicates) for h in path] == [
        ("C", "A", ("^prov:wasInformedBy",)),
        ("A", "M", ("cipd:partOfModule",)),
    ]
    # P to SI directly, through both statements.
    [direct] = shortest_paths(g, "P", "SI")
    assert direct[0].predicates == ("cipd:claimsElement", "cipd:evidencesStrand")
    # C to SI: two shortest paths of two hops (via P, and none via A+M which is three).
    paths = shortest_paths(g, "C", "SI")
    assert [[h.end for h in p] for p in paths] == [["P", "SI"]]
    # A to SI: via M and via P, both 2 hops, in a stable order.
    assert [[h.end for h in p] for p in shortest_paths(g, "A", "SI")] == [["M", "SI"], ["P", "SI"]]
    assert shortest_paths(g, "A", "SI", limit=1) == shortest_paths(g, "A", "SI")[:1]
    g.add_node("lonely")
    assert shortest_paths(g, "P", "lonely") == []
    assert shortest_paths(g, "P", "absent") == []


def test_evidence_shares_and_gaps_by_hand():
    evidence = {"p1": {"IPW", "SI"}, "p2": {"SI"}}
    assert evidence_shares(evidence, ["p1", "p2", "p3", "p4"], ["SI", "IPW", "IPL"]) == {
        "SI": (2, 0.5),
        "IPW": (1, 0.25),
        "IPL": (0, 0.0),
    }
    assert evidence_shares(evidence, [], ["SI"]) == {"SI": (0, 0.0)}
    weights = [[3, 0, 0, 1], [2, 0, 1, 0], [0, 0, 2, 0]]
    assert gaps_and_overlaps(weights, ["m1", "m2", "m3"], ["a", "b", "c", "d"]) == (
        ["b"],
        {"a": ["m1", "m2"], "c": ["m2", "m3"]},
    )


def test_figure_helpers():
    assert convex_hull([(0, 0), (2, 0), (1, 1), (1, 3), (0, 2)]) == [
        (0.0, 0.0),
        (2.0, 0.0),
        (1.0, 3.0),
        (0.0, 2.0),
    ]
    styles = profession_styles({f"p{i}": 20 - i for i in range(10)} | {"unknown": 5})
    assert len(set(styles.values())) == 11  # no two professions look alike
    assert styles["unknown"][0] == "#999999"
    assert styles["p8"][1] != styles["p0"][1]  # the ninth profession takes the next marker
    assert gid("cipd:Model For") == "cipd-Model-For"
