"""What a rule reads, as steps from its focus: the plan of its incremental maintenance.

A rule's WHERE clause is a pattern of triples (some through property paths) that joins at
its focus, the subject of everything it derives. :func:`plans` reads the pattern from the
rule's algebra and gives one :class:`RulePlan` for each alternative of its UNIONs (a
variable of one alternative is not the variable of the same name in another, and a walk
that crossed from one to the other would miss what the other reaches). Within an
alternative, every triple of every group, OPTIONAL, FILTER (NOT) EXISTS and subquery
counts, variables of the same name taken as one, and the triples are ordered as a tree of
:class:`Step`\\ s grown outward from the focus. Two walks use a plan:

- *support*: from a set of foci outward along every step, the triples a rule can read
  about them. The rule evaluated over those triples alone gives, for those foci, what it
  gives over the whole union: every step fetches all the triples of its nodes through its
  predicates, so groups are counted whole, and NOT EXISTS sees all there is;
- *reach*: from a changed triple inward to the foci whose derivation could read it. A
  triple matching a step binds the step's inner end (the one nearer the focus); the foci are
  found by walking the tree back from there.

A step is walked outward from a variable only, or from a constant in subject position
(``cipd:Nurse skos:broader ?family``): walking into a vocabulary term (all the people of one
profession) would read a large part of the store, and a rule that needs it cannot be
maintained incrementally (:class:`PlanError`, or at run time
:class:`~cipd_graph.derive.maintain.NeedsFullDerivation`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from rdflib import Literal, URIRef, Variable
from rdflib.paths import AlternativePath, InvPath, MulPath, SequencePath
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import Node

from cipd_graph._errors import OntologyError


class PlanError(OntologyError):
    """A rule whose pattern cannot be maintained incrementally (it names why)."""


#: One way across an edge: a predicate (None: any) and whether the triple runs backward
#: (object to subject) as in ``^p``.
Way = tuple[URIRef | None, bool]


@dataclass(frozen=True)
class Edge:
    """One triple pattern of a rule: ``subject way object`` for any of its ``ways`` (an
    alternative path ``p|^q`` has two); ``closure``: repeated any number of times, as in
    ``skos:broader*``."""

    subject: Node
    ways: tuple[Way, ...]
    object: Node
    closure: bool = False

    @property
    def predicates(self) -> set[URIRef | None]:
        """The predicates a matching triple may have (None: any)."""
        return {p for p, _ in self.ways}


@dataclass(frozen=True)
class Step:
    """An edge oriented away from the focus: walked from ``inner`` (a variable nearer the
    focus, or a constant subject) to ``outer``."""

    edge: Edge
    inner: Node
    outer: Node

    def bound(self, subject: Node, obj: Node, backward: bool) -> Node:
        """Of a triple ``subject p object`` matched by a way (``backward``: ``^p``), the node
        at this step's inner end."""
        at_subject = (self.inner == self.edge.subject) != backward
        return subject if at_subject else obj

    def from_subject(self, backward: bool, *, outward: bool) -> bool:
        """Whether walking this step (``outward``, or back inward) along a way
        (``backward``: ``^p``) starts from the subjects of the triples it reads."""
        start = self.inner if outward else self.outer
        return (start == self.edge.subject) != backward


@dataclass(frozen=True)
class RulePlan:
    """A rule's focus and one alternative of its pattern, as steps in the order a walk from
    the focus meets them."""

    focus: Variable
    steps: tuple[Step, ...]


_fresh = itertools.count()


def _simple_ways(path: Any, backward: bool = False) -> list[Way] | None:
    """The ways of a path made of predicates, their inverses and alternatives of those;
    None for anything else (a sequence, a repetition)."""
    if isinstance(path, URIRef):
        return [(path, backward)]
    if isinstance(path, Variable):
        return [(None, backward)]
    if isinstance(path, InvPath):
        return _simple_ways(path.arg, not backward)
    if isinstance(path, AlternativePath):
        ways: list[Way] = []
        for part in path.args:
            more = _simple_ways(part, backward)
            if more is None:
                return None
            ways += more
        return ways
    return None


def _alternatives(subject: Node, path: Any, obj: Node) -> list[list[Edge]]:
    """``subject path object`` as alternative lists of edges (a sequence through fresh
    variables; an alternative of sequences as alternatives of the pattern)."""
    ways = _simple_ways(path)
    if ways is not None:
        return [[Edge(subject, tuple(ways), obj)]]
    if isinstance(path, MulPath):
        inner = _simple_ways(path.path)
        if inner is None:
            raise PlanError(f"a repeated path of more than predicates ({path}) is not supported")
        return [[Edge(subject, tuple(inner), obj, closure=True)]]
    if isinstance(path, InvPath):
        return _alternatives(obj, path.arg, subject)
    if isinstance(path, SequencePath):
        nodes: list[Node] = [subject]
        nodes += [Variable(f"__step{next(_fresh)}") for _ in path.args[:-1]]
        nodes.append(obj)
        parts = [
            _alternatives(a, part, b)
            for part, (a, b) in zip(path.args, itertools.pairwise(nodes), strict=True)
        ]
        return [list(itertools.chain.from_iterable(combo)) for combo in itertools.product(*parts)]
    if isinstance(path, AlternativePath):
        return [alt for part in path.args for alt in _alternatives(subject, part, obj)]
    # The parser's form of a path inside FILTER (NOT) EXISTS, or a negated path: any predicate.
    return [[Edge(subject, ((None, False),), obj)]]


def _product(choices: list[list[list[Edge]]]) -> list[list[Edge]]:
    return [list(itertools.chain.from_iterable(combo)) for combo in itertools.product(*choices)]


def alternatives(node: Any) -> list[list[Edge]]:
    """The alternatives of a parsed query's pattern (its template left out), each the
    list of edges it needs together."""
    if isinstance(node, CompValue) and node.name in ("Union",):
        return alternatives(node.get("p1")) + alternatives(node.get("p2"))
    if isinstance(node, CompValue) and node.name == "GroupOrUnionGraphPattern":
        return [alt for part in node["graph"] for alt in alternatives(part)]
    if isinstance(node, dict):
        choices: list[list[list[Edge]]] = []
        for key, value in node.items():
            if key == "template" or key.startswith("_"):
                continue
            if key == "triples" and isinstance(value, list):
                for triple in value:
                    if isinstance(triple, list | tuple) and len(triple) == 3:
                        choices.append(_alternatives(*triple))
                continue
            choices.append(alternatives(value))
        return _product(choices)
    if isinstance(node, list | tuple):
        return _product([alternatives(value) for value in node])
    return [[]]


def _order(focus: Variable, edges: list[Edge], name: str) -> RulePlan:
    pending = list(dict.fromkeys(edges))
    reached: set[Node] = {focus}
    steps: list[Step] = []

    def take(edge: Edge, inner: Node, outer: Node) -> None:
        steps.append(Step(edge, inner, outer))
        reached.update(n for n in (edge.subject, edge.object) if isinstance(n, Variable))
        pending.remove(edge)

    while pending:
        anchored = False
        for edge in list(pending):
            if not isinstance(edge.subject, Variable) and not isinstance(edge.object, Variable):
                pending.remove(edge)  # two constants: a fact of the vocabulary, read as such
            elif edge.subject in reached:
                take(edge, edge.subject, edge.object)
                anchored = True
            elif edge.object in reached:
                take(edge, edge.object, edge.subject)
                anchored = True
        if anchored:
            continue
        # Nothing more is reached from the focus: walk a vocabulary term's own triples
        # (a constant subject) forward, if the pattern has one.
        constant = next(
            (
                e
                for e in pending
                if not isinstance(e.subject, Variable) and isinstance(e.object, Variable)
            ),
            None,
        )
        if constant is None:
            break
        take(constant, constant.subject, constant.object)
    if pending:
        where = "; ".join(f"{e.subject} {[p for p, _ in e.ways]} {e.object}" for e in pending)
        raise PlanError(
            f"{name}: these patterns are not reached from the focus ?{focus} through variables "
            f"(or from a constant subject), so the rule cannot be kept up to date for the "
            f"things a write touches: {where}"
        )
    return RulePlan(focus, tuple(steps))


def plans(focus: str, algebra: Any, *, name: str = "rule") -> list[RulePlan]:
    """The plans of a rule whose template's subject is ``?focus`` (its algebra: ``algebra``),
    one for each alternative of its pattern."""
    root = Variable(focus)
    return [_order(root, edges, name) for edges in alternatives(algebra)]


def edges_of(algebra: Any) -> Iterator[Edge]:
    """Every edge of every alternative of a parsed query's pattern."""
    for edges in alternatives(algebra):
        yield from edges


# -- plans as JSON (rules/compiled.json: see cipd_graph.derive.rules) --------------------------
def _node_json(node: Node, fresh: dict[str, str]) -> list[Any]:
    if isinstance(node, Variable):
        name = str(node)
        if name.startswith("__step"):  # numbered per process: renumbered per rule
            name = fresh.setdefault(name, f"__step{len(fresh)}")
        return ["v", name]
    if isinstance(node, URIRef):
        return ["u", str(node)]
    if isinstance(node, Literal):
        return ["l", str(node), node.datatype and str(node.datatype), node.language]
    raise PlanError(f"a plan holds a node that cannot be written down: {node!r}")


def _node(value: list[Any]) -> Node:
    kind = value[0]
    if kind == "v":
        return Variable(value[1])
    if kind == "u":
        return URIRef(value[1])
    if kind == "l":
        datatype = URIRef(value[2]) if value[2] else None
        return Literal(value[1], datatype=datatype, lang=value[3])
    raise PlanError(f"unknown node kind {kind!r} in compiled plans")


def plans_to_json(found: list[RulePlan]) -> list[dict[str, Any]]:
    """``found`` (one rule's plans) as JSON-ready data; :func:`plans_from_json` reads it back
    equal (the fresh variables of path sequences renumbered from 0 for the rule)."""
    fresh: dict[str, str] = {}

    def edge(e: Edge) -> dict[str, Any]:
        return {
            "s": _node_json(e.subject, fresh),
            "ways": [[p and str(p), back] for p, back in e.ways],
            "o": _node_json(e.object, fresh),
            "closure": e.closure,
        }

    return [
        {
            "focus": str(plan.focus),
            "steps": [
                {
                    "edge": edge(step.edge),
                    "inner": _node_json(step.inner, fresh),
                    "outer": _node_json(step.outer, fresh),
                }
                for step in plan.steps
            ],
        }
        for plan in found
    ]


def plans_from_json(data: list[dict[str, Any]]) -> list[RulePlan]:
    """The plans :func:`plans_to_json` wrote."""

    def edge(e: dict[str, Any]) -> Edge:
        ways = tuple((URIRef(p) if p else None, bool(back)) for p, back in e["ways"])
        return Edge(_node(e["s"]), ways, _node(e["o"]), bool(e["closure"]))

    return [
        RulePlan(
            Variable(plan["focus"]),
            tuple(
                Step(edge(s["edge"]), _node(s["inner"]), _node(s["outer"])) for s in plan["steps"]
            ),
        )
        for plan in data
    ]
