"""Derived facts kept up to date by each write, at the cost of what the write touches.

For a planned :class:`~cipd_graph.store.change.Change`, rule by rule in the order of
:func:`~cipd_graph.derive.rules.rule_levels`:

1. *reach*: the foci whose derivation could read a triple whose place in the union the
   change touched (the records it writes, the facts earlier rules changed), found by walking
   each rule's plan inward from the changed triple (:mod:`cipd_graph.derive.plan`), over the
   union as it is now or will be;
2. *support*: for those foci, every triple the rule can read about them in the union as it
   will be, walking the plan outward;
3. the rule evaluated over that support alone (an in-memory Oxigraph store), with its focus
   bound to those foci: what the rule derives for them after the change. What its graph
   holds now about them, and about the nodes it minted for them (found through the rule's
   anchor triples, :mod:`cipd_graph.derive.rules`), is replaced by that, and the union
   follows.

A rule's facts about foci the change cannot reach stay as they are, so a write costs what
it touches, not the size of the store. ``cipd derive --all`` recomputes everything
(:mod:`cipd_graph.derive.full`), and the tests compare the two after random sequences of
loads, reloads and drops.

A change to the vocabulary itself (a triple about a term outside the store's base IRI,
such as a profession's broader family) could reach every record that uses it:
:class:`NeedsFullDerivation` says so, and the caller derives everything instead.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

import pyoxigraph as ox
from rdflib import Literal as RdfLiteral
from rdflib import URIRef, Variable
from rdflib.term import Node

from cipd_graph._errors import StoreError
from cipd_graph._rdf import RDF_TYPE, Term, grouped_by_predicate
from cipd_graph.derive.plan import PlanError, RulePlan, Step
from cipd_graph.derive.rules import Rule, rule_levels
from cipd_graph.store.change import Change, State


class NeedsFullDerivation(StoreError):  # noqa: N818 (a signal, not an error to report)
    """The change touches the vocabulary: derive everything instead of what it touches."""


def _term(node: Node) -> Term:
    if isinstance(node, URIRef):
        return ox.NamedNode(str(node))
    if isinstance(node, RdfLiteral):
        if node.language:
            return ox.Literal(str(node), language=node.language)
        if node.datatype is not None:
            return ox.Literal(str(node), datatype=ox.NamedNode(str(node.datatype)))
        return ox.Literal(str(node))
    raise PlanError(f"unexpected constant {node!r} in a rule")


class Maintainer:
    """Keeps the derived graphs of a store with base IRI ``base`` up to date with changes."""

    def __init__(self, base: str, rules: Sequence[Rule] | None = None) -> None:
        self.base = base
        self.levels = rule_levels(rules)
        # One plan an alternative of a rule's UNIONs (see ``plan``).
        self.plans: dict[str, list[RulePlan]] = {
            rule.name: rule.plans for level in self.levels for rule in level
        }
        # What each rule must not read: the facts of its own level and the levels after it.
        # A full recomputation (:func:`~cipd_graph.derive.full.compute`) evaluates a rule
        # before those facts exist, but the union holds them from the last write. Rule 22
        # reads the team types it derives itself: without this, a team that lost its
        # record's ``a cipd:Team`` kept ``a cipd:InterprofessionalTeam`` on its own say.
        self.hidden: dict[str, tuple[frozenset[str], frozenset[str] | None]] = {}
        for index, level in enumerate(self.levels):
            after = [rule for later in self.levels[index:] for rule in later]
            made: set[str] | None = set()
            for rule in after:
                if rule.produces is None or made is None:
                    made = None
                else:
                    made |= rule.produces
            keys = frozenset(rule.key for rule in after)
            for rule in level:
                wild = any(
                    None in step.edge.predicates for plan in rule.plans for step in plan.steps
                )
                terms = None if made is None else frozenset(made if wild else made & rule.reads)
                self.hidden[rule.name] = (keys, terms)

    def _data(self, node: Term) -> bool:
        return isinstance(node, ox.NamedNode) and node.value.startswith(self.base)

    # -- the three walks ----------------------------------------------------------------------
    def _walk(
        self,
        change: Change,
        nodes: set[Term],
        step: Step,
        *,
        outward: bool,
        state: State,
    ) -> tuple[set[Term], set[ox.Triple]]:
        """From ``nodes`` at one end of ``step`` to the other end, along each of its ways:
        the nodes reached and the triples walked through."""
        reached: set[Term] = set()
        walked: set[ox.Triple] = set()
        for predicate, backward in step.edge.ways:
            named = ox.NamedNode(str(predicate)) if predicate is not None else None
            from_subject = step.from_subject(backward, outward=outward)
            frontier = set(nodes)
            seen = set(frontier)
            while frontier:
                if not from_subject:
                    hubs = [n for n in frontier if not self._data(n)]
                    if hubs:
                        raise NeedsFullDerivation(
                            f"walking back from the vocabulary term {hubs[0]} would read every "
                            "record that uses it"
                        )
                found = change.edges(frontier, named, inverse=not from_subject, state=state)
                walked |= found
                ends = {t.object if from_subject else t.subject for t in found}
                reached |= ends
                if not step.edge.closure:
                    break
                frontier = ends - seen
                seen |= frontier
        if step.edge.closure:
            reached |= nodes  # zero steps
        return reached, walked

    def _bound(self, step: Step, candidates: Iterable[ox.Triple], change: Change) -> set[Term]:
        """The nodes that ``candidates`` (changed triples) bind at ``step``'s inner end."""
        edge = step.edge
        subject = None if isinstance(edge.subject, Variable) else _term(edge.subject)
        obj = None if isinstance(edge.object, Variable) else _term(edge.object)
        # Along a repeated path the changed triple may sit anywhere: constants bind the
        # path's ends only.
        constants = not edge.closure and (subject is not None or obj is not None)
        at_subject = step.inner == edge.subject
        rows = candidates if isinstance(candidates, list) else list(candidates)
        inner: set[Term] = set()
        for predicate, backward in edge.ways:
            # The caller passes the triples of the step's predicates: with one way, all match.
            want = None if predicate is None or len(edge.ways) == 1 else str(predicate)
            matching = rows if want is None else [t for t in rows if t.predicate.value == want]
            # ``^p`` swaps the ends: the subject end of the step is the triple's object.
            from_object = at_subject == backward
            if not constants:
                inner.update(t.object if from_object else t.subject for t in matching)
                continue
            for t in matching:
                s_end, o_end = (t.object, t.subject) if backward else (t.subject, t.object)
                if (subject is not None and s_end != subject) or (obj is not None and o_end != obj):
                    continue
                inner.add(s_end if at_subject else o_end)
        if inner and edge.closure:
            more, _ = self._walk(change, inner, step, outward=False, state="either")
            inner |= more
        return inner

    def reach(
        self,
        rule: Rule,
        changed: list[ox.Triple],
        by_predicate: dict[ox.NamedNode, list[ox.Triple]],
        change: Change,
    ) -> set[ox.NamedNode]:
        """The foci of ``rule`` whose derivation could read one of ``changed`` (indexed by
        predicate in ``by_predicate``, once for all the rules of a level)."""
        found: set[ox.NamedNode] = set()
        for branch in self.plans[rule.name]:
            found |= self._reach(branch, changed, by_predicate, change)
        return found

    def _reach(
        self,
        rule_plan: RulePlan,
        every: list[ox.Triple],
        by_predicate: dict[ox.NamedNode, list[ox.Triple]],
        change: Change,
    ) -> set[ox.NamedNode]:
        bound: dict[Node, set[Term]] = {}
        for step in rule_plan.steps:
            predicates = step.edge.predicates
            candidates = (
                every
                if None in predicates
                else [t for p in predicates for t in by_predicate.get(ox.NamedNode(str(p)), [])]
            )
            inner = self._bound(step, candidates, change) if candidates else set()
            if not inner:
                continue
            if not isinstance(step.inner, Variable):
                if _term(step.inner) in inner:
                    raise NeedsFullDerivation(
                        f"the change touches the vocabulary term {step.inner}"
                    )
                continue
            bound.setdefault(step.inner, set()).update(inner)
        # Walk back to the focus along every step that reaches a variable (a variable of
        # several UNION branches is reached by several), until nothing new is found.
        reached: dict[Node, set[Term]] = {}
        todo = dict(bound)
        while todo:
            variable, nodes = todo.popitem()
            nodes = nodes - reached.get(variable, set())
            if not nodes:
                continue
            reached.setdefault(variable, set()).update(nodes)
            if variable == rule_plan.focus:
                continue
            for step in rule_plan.steps:
                if step.outer == variable and isinstance(step.inner, Variable):
                    inner, _ = self._walk(change, nodes, step, outward=False, state="either")
                    if inner:
                        todo[step.inner] = todo.get(step.inner, set()) | inner
        return {f for f in reached.get(rule_plan.focus, set()) if isinstance(f, ox.NamedNode)}

    def support(self, rule: Rule, foci: Collection[ox.NamedNode], change: Change) -> set[ox.Triple]:
        """Every triple ``rule`` can read about ``foci`` in the union after the change."""
        found: set[ox.Triple] = set()
        for branch in self.plans[rule.name]:
            found |= self._support(branch, foci, change)
        return found

    def _support(
        self, rule_plan: RulePlan, foci: Collection[ox.NamedNode], change: Change
    ) -> set[ox.Triple]:
        nodes: dict[Node, set[Term]] = {rule_plan.focus: set(foci)}
        done: dict[int, set[Term]] = {}
        triples: set[ox.Triple] = set()
        progress = True
        while progress:  # until no step reaches a node it has not walked from
            progress = False
            for index, step in enumerate(rule_plan.steps):
                start = (
                    nodes.get(step.inner, set())
                    if isinstance(step.inner, Variable)
                    else {_term(step.inner)}
                )
                new = start - done.get(index, set())
                if not new:
                    continue
                done.setdefault(index, set()).update(new)
                reached, walked = self._walk(change, new, step, outward=True, state="after")
                triples |= walked
                if isinstance(step.outer, Variable):
                    known = nodes.setdefault(step.outer, set())
                    if not reached <= known:
                        known |= reached
                        progress = True
        return triples

    def visible(self, rule: Rule, support: set[ox.Triple], change: Change) -> set[ox.Triple]:
        """``support`` without the triples that only the graphs of ``rule``'s level and the
        levels after it will hold (facts the rule must not read: see ``hidden``)."""
        keys, terms = self.hidden[rule.name]
        if terms is not None and not terms:
            return support
        candidates = [
            t
            for t in support
            if terms is None
            or t.predicate.value in terms
            or (
                t.predicate == RDF_TYPE
                and isinstance(t.object, ox.NamedNode)
                and t.object.value in terms
            )
        ]
        if not candidates:
            return support
        hidden = {change.layout.derived(key) for key in keys}
        holders = change.holders_after(candidates)
        return support - {t for t in candidates if holders.get(t, set()) <= hidden}

    @staticmethod
    def evaluate(
        rule: Rule, foci: Collection[ox.NamedNode], support: Iterable[ox.Triple]
    ) -> set[ox.Triple]:
        """What ``rule`` derives for ``foci`` from ``support`` alone."""
        memory = ox.Store()
        memory.extend(ox.Quad(t.subject, t.predicate, t.object) for t in support)
        answer = memory.query(rule.focused(sorted(f.value for f in foci)))
        assert isinstance(answer, ox.QueryTriples)
        return set(answer)

    # -- the whole change -----------------------------------------------------------------------
    def maintain(self, change: Change) -> dict[str, int]:
        """Add to ``change`` what it changes in the derived graphs. Returns the number of
        foci recomputed, by rule. Raises :class:`NeedsFullDerivation` when the change
        touches the vocabulary."""
        for t in change.union_removed | change.union_added:
            if not self._data(t.subject) and not isinstance(t.subject, ox.BlankNode):
                raise NeedsFullDerivation(f"the change touches the vocabulary term {t.subject}")
        recomputed: dict[str, int] = {}
        seen: set[ox.Triple] = set()
        by_predicate: dict[ox.NamedNode, list[ox.Triple]] = {}
        for level in self.levels:
            # What the rules of this level read: the union after the levels before. Indexed
            # by what the levels before added to it (100 files into 10,000 projects: 42,000
            # changed triples, indexed again at each of six levels took 0.14 s).
            now = change.union_removed | change.union_added
            if seen - now:
                seen, by_predicate = set(), {}
            for predicate, triples in grouped_by_predicate(now - seen).items():
                by_predicate.setdefault(predicate, []).extend(triples)
            seen = now
            changed = list(now)
            for rule in level:
                foci = self.reach(rule, changed, by_predicate, change)
                recomputed[rule.name] = len(foci)
                if not foci:
                    continue
                support = self.visible(rule, self.support(rule, foci, change), change)
                facts = self.evaluate(rule, foci, support)
                subjects = self.minted(rule, foci, change) | {
                    t.subject for t in facts if isinstance(t.subject, ox.NamedNode)
                }
                change.set_facts(change.layout.derived(rule.key), foci | subjects, facts)
        return recomputed

    @staticmethod
    def minted(rule: Rule, foci: Collection[ox.NamedNode], change: Change) -> set[ox.NamedNode]:
        """The nodes ``rule`` minted for ``foci`` before the change, found through its anchor
        triples in the union as it is now (see :mod:`cipd_graph.derive.rules`); a node counts
        only when its IRI starts with the IRI of the focus it is anchored to and a ``/``."""
        found: set[ox.NamedNode] = set()
        for predicate, focus_is_subject in rule.anchors:
            for t in change.stored(
                list(foci), ox.NamedNode(predicate), inverse=not focus_is_subject
            ):
                focus, node = (t.subject, t.object) if focus_is_subject else (t.object, t.subject)
                if (
                    isinstance(node, ox.NamedNode)
                    and isinstance(focus, ox.NamedNode)
                    and node.value.startswith(focus.value + "/")
                ):
                    found.add(node)
        return found
