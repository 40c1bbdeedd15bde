"""A SHACL engine in plain Python for the SHACL Core subset our shapes use (plus SPARQL targets).

pyshacl spends most of a load's time walking rdflib graphs; this engine compiles the shapes
graph once into plain objects and validates against one dictionary index built straight
from the data graphs (no rdflib union graph). What it implements, following the W3C SHACL
recommendation (https://www.w3.org/TR/shacl/), with literals read by XSD 1.1 (see
:mod:`cipd_graph.validation.xsd`; pyshacl reads them through rdflib's Python values), checked against
Jena SHACL by ``tests/test_shacl_jena.py``:

- targets: ``sh:targetClass`` (instances through ``rdf:type/rdfs:subClassOf*`` in the data),
  ``sh:targetNode``, ``sh:targetSubjectsOf``, ``sh:targetObjectsOf``, implicit class targets,
  and ``sh:target`` of type ``sh:SPARQLTarget`` (SHACL-AF; ``sh:select`` run by rdflib's
  SPARQL engine over the index, with the ``sh:prefixes`` declarations);
- paths: predicate, sequence and inverse paths;
- constraints: ``sh:property``, ``sh:minCount``, ``sh:maxCount``, ``sh:class``,
  ``sh:datatype`` (a lexical form outside the datatype's lexical space fails),
  ``sh:minLength``, ``sh:minInclusive``, ``sh:minExclusive``, ``sh:maxInclusive``,
  ``sh:maxExclusive``, ``sh:lessThan``, ``sh:lessThanOrEquals`` (values that cannot be
  compared fail), ``sh:hasValue``, ``sh:qualifiedValueShape`` with
  ``sh:qualifiedMinCount``/``sh:qualifiedMaxCount``, ``sh:or``, ``sh:and``, ``sh:closed``
  with ``sh:ignoredProperties``; ``sh:severity``, ``sh:message`` and ``sh:deactivated``.

Literals are read as given: build them without rdflib's normalisation (which rewrites some
ill-typed lexical forms into well-typed ones) and write simple literals rather than
``xsd:string`` ones (the same RDF term; the index would hold both).

Anything else in a shapes graph (another constraint component, path kind, target type,
SPARQL constraint, rule or function) makes :func:`compile_shapes` raise
:class:`UnsupportedShapes` naming the shape and the feature: never silently ignored.

>>> from rdflib import Graph
>>> shapes = Graph().parse(data='''
...     @prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> .
...     ex:S a sh:NodeShape ; sh:targetClass ex:Person ;
...         sh:property [ sh:path ex:name ; sh:minCount 1 ; sh:message "needs a name" ] .
...     ''', format="turtle")
>>> data = Graph().parse(data='''
...     @prefix ex: <http://example.org/> . ex:ann a ex:Person . ex:bob a ex:Person ; ex:name "Bob" .
...     ''', format="turtle")
>>> results = validate(compile_shapes(shapes), [data])
>>> [(str(r.focus), str(r.messages[0])) for r in results]
[('http://example.org/ann', 'needs a name')]
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, XSD
from rdflib.store import Store
from rdflib.term import Node

from cipd_graph._rdf import memory_indexes
from cipd_graph.validation import xsd as _xsd

SH = Namespace("http://www.w3.org/ns/shacl#")
# Namespace attribute look-ups cost a Python call each: the hot paths use these constants.
_TYPE = RDF.type
_SUBCLASS = RDFS.subClassOf
_VIOLATION = SH.Violation
_XSD_STRING = str(XSD.string)

#: A term of the data graph: URIRef, BNode or Literal.
Term = Any
Triple = tuple[Term, Term, Term]


class UnsupportedShapes(ValueError):  # noqa: N818 - the name the callers and docs use
    """The shapes graph uses a SHACL feature this engine does not implement."""

    def __init__(self, shape: Node, feature: str) -> None:
        self.shape = shape
        self.feature = feature
        super().__init__(f"shape {shape.n3()}: {feature} is not supported by the native engine")


# ---------------------------------------------------------------------------------------
#    The data index
# ---------------------------------------------------------------------------------------


class DataIndex:
    """Every triple of some graphs and triple iterables, in plain dictionaries.

    ``spo`` maps subject -> predicate -> objects and ``pos`` predicate -> object -> subjects
    (insertion-ordered dicts used as sets, so a triple given twice counts once).

    >>> from rdflib import URIRef
    >>> a, p, b = URIRef("urn:a"), URIRef("urn:p"), URIRef("urn:b")
    >>> index = DataIndex([[(a, p, b)], [(a, p, b)]])
    >>> list(index.objects(a, p)), list(index.subjects(p, b)), len(index)
    ([rdflib.term.URIRef('urn:b')], [rdflib.term.URIRef('urn:a')], 1)
    """

    def __init__(self, sources: Iterable[Graph | Iterable[Triple]] = ()) -> None:
        self.spo: dict[Term, dict[Term, dict[Term, Any]]] = {}
        self.pos: dict[Term, dict[Term, dict[Term, Any]]] = {}
        self._size: int | None = 0
        self._supers: dict[Term, frozenset[Term]] = {}
        self._subs: dict[Term, frozenset[Term]] = {}
        for source in sources:
            self.add(source)

    def add(self, source: Graph | Iterable[Triple]) -> None:
        """Add the triples of an rdflib graph or of an iterable of triples."""
        memory = memory_indexes(source) if isinstance(source, Graph) else None
        if memory is not None:
            self._merge(*memory)
        else:
            self._add_triples(iter(source))

    def _add_triples(self, triples: Iterator[Triple]) -> None:
        spo, pos = self.spo, self.pos
        added = 0
        for s, p, o in triples:
            by_p = spo.get(s)
            if by_p is None:
                by_p = spo[s] = {}
            objects = by_p.get(p)
            if objects is None:
                objects = by_p[p] = {}
            elif o in objects:
                continue
            objects[o] = None
            added += 1
            by_o = pos.get(p)
            if by_o is None:
                by_o = pos[p] = {}
            subjects = by_o.get(o)
            if subjects is None:
                by_o[o] = {s: None}
            else:
                subjects[s] = None
        if self._size is not None:
            self._size += added

    def _merge(self, their_spo: dict[Any, Any], their_pos: dict[Any, Any]) -> None:
        """Merge another s->p->o and p->o->s index (dict copies run in C)."""
        spo, pos = self.spo, self.pos
        for s, their in their_spo.items():
            ours = spo.get(s)
            if ours is None:
                spo[s] = {p: objects.copy() for p, objects in their.items()}
                continue
            for p, objects in their.items():
                mine = ours.get(p)
                if mine is None:
                    ours[p] = objects.copy()
                else:
                    mine.update(objects)
        for p, their in their_pos.items():
            ours = pos.get(p)
            if ours is None:
                pos[p] = {o: subjects.copy() for o, subjects in their.items()}
                continue
            for o, subjects in their.items():
                mine = ours.get(o)
                if mine is None:
                    ours[o] = subjects.copy()
                else:
                    mine.update(subjects)
        self._size = None  # counted when asked

    def __len__(self) -> int:
        if self._size is None:
            self._size = sum(
                len(objects) for by_p in self.spo.values() for objects in by_p.values()
            )
        return self._size

    def objects(self, s: Term, p: Term) -> Iterable[Term]:
        """The objects of ``s p ?o``."""
        by_p = self.spo.get(s)
        if by_p is None:
            return ()
        return by_p.get(p, ())

    def subjects(self, p: Term, o: Term) -> Iterable[Term]:
        """The subjects of ``?s p o``."""
        by_o = self.pos.get(p)
        if by_o is None:
            return ()
        return by_o.get(o, ())

    def predicate_objects(self, s: Term) -> Iterator[tuple[Term, Term]]:
        """Every ``(p, o)`` of ``s p o``."""
        for p, objects in self.spo.get(s, {}).items():
            for o in objects:
                yield p, o

    def triples(  # noqa: PLR0912 - one branch per bound position
        self, s: Term | None, p: Term | None, o: Term | None
    ) -> Iterator[Triple]:
        """Every triple matching a pattern (None matches anything)."""
        spo, pos = self.spo, self.pos
        if s is not None:
            by_p = spo.get(s)
            if not by_p:
                return
            for pred, objects in by_p.items() if p is None else ((p, by_p.get(p, {})),):
                if o is None:
                    for obj in objects:
                        yield s, pred, obj
                elif o in objects:
                    yield s, pred, o
        elif p is not None:
            by_o = pos.get(p)
            if not by_o:
                return
            for obj, subjects in by_o.items() if o is None else ((o, by_o.get(o, {})),):
                for subj in subjects:
                    yield subj, p, obj
        else:
            for pred, by_o in pos.items():
                for obj, subjects in by_o.items() if o is None else ((o, by_o.get(o, {})),):
                    for subj in subjects:
                        yield subj, pred, obj

    def superclasses(self, cls: Term) -> frozenset[Term]:
        """``cls`` and everything it is an ``rdfs:subClassOf*`` of, memoised."""
        found = self._supers.get(cls)
        if found is None:
            seen = {cls}
            todo = [cls]
            while todo:
                for sup in self.objects(todo.pop(), _SUBCLASS):
                    if sup not in seen:
                        seen.add(sup)
                        todo.append(sup)
            found = self._supers[cls] = frozenset(seen)
        return found

    def subclasses(self, cls: Term) -> frozenset[Term]:
        """``cls`` and everything that is an ``rdfs:subClassOf*`` it, memoised."""
        found = self._subs.get(cls)
        if found is None:
            seen = {cls}
            todo = [cls]
            while todo:
                for sub in self.subjects(_SUBCLASS, todo.pop()):
                    if sub not in seen:
                        seen.add(sub)
                        todo.append(sub)
            found = self._subs[cls] = frozenset(seen)
        return found

    def is_instance(self, node: Term, cls: Term) -> bool:
        """Whether ``node rdf:type/rdfs:subClassOf* cls`` holds (a SHACL instance)."""
        by_p = self.spo.get(node)
        if by_p is None:
            return False
        types = by_p.get(_TYPE)
        if not types:
            return False
        if cls in types:
            return True
        return any(cls in self.superclasses(t) for t in types)

    def instances(self, cls: Term) -> Iterator[Term]:
        """Every SHACL instance of ``cls`` (may repeat a node)."""
        by_o = self.pos.get(_TYPE, {})
        for sub in self.subclasses(cls):
            yield from by_o.get(sub, ())


class _IndexStore(Store):
    """A read-only rdflib store over a :class:`DataIndex`, for rdflib's SPARQL engine."""

    def __init__(self, index: DataIndex) -> None:
        super().__init__()
        self._index = index

    def triples(
        self, triple_pattern: tuple[Any, Any, Any], context: Any = None
    ) -> Iterator[tuple[Triple, Iterator[Any]]]:
        s, p, o = triple_pattern
        for triple in self._index.triples(s, p, o):
            yield triple, iter(())

    def __len__(self, context: Any = None) -> int:
        return len(self._index)

    def contexts(self, triple: Any = None) -> Generator[Graph, None, None]:
        yield from ()


# ---------------------------------------------------------------------------------------
#    Compiled shapes
# ---------------------------------------------------------------------------------------

#: A compiled path: ("pred", iri) | ("inv", iri) | ("seq", (path, ...)).
CompiledPath = tuple[str, Any]


@dataclass(frozen=True)
class Result:
    """One SHACL validation result."""

    focus: Term
    severity: URIRef
    source_shape: Node
    component: URIRef
    messages: tuple[Literal, ...]
    path: Node | None = None
    value: Term | None = None


@dataclass(eq=False)
class Shape:
    """A compiled node or property shape."""

    node: Node
    path: CompiledPath | None = None
    path_node: Node | None = None
    severity: URIRef = SH.Violation
    messages: tuple[Literal, ...] = ()
    deactivated: bool = False
    target_classes: list[Term] = field(default_factory=list)
    target_nodes: list[Term] = field(default_factory=list)
    target_subjects_of: list[Term] = field(default_factory=list)
    target_objects_of: list[Term] = field(default_factory=list)
    sparql_targets: list[Any] = field(default_factory=list)
    #: each check takes (shape, index, focus, value nodes, results) and appends results
    checks: list[Callable[..., None]] = field(default_factory=list)

    @property
    def has_targets(self) -> bool:
        return bool(
            self.target_classes
            or self.target_nodes
            or self.target_subjects_of
            or self.target_objects_of
            or self.sparql_targets
        )

    def result(
        self,
        focus: Term,
        component: URIRef,
        value: Term | None = None,
        path: Node | None = None,
    ) -> Result:
        """A result of this shape (the path defaults to the shape's own)."""
        return Result(
            focus=focus,
            severity=self.severity,
            source_shape=self.node,
            component=component,
            messages=self.messages or _generic_message(component),
            path=path if path is not None else self.path_node,
            value=value,
        )

    def value_nodes(self, index: DataIndex, focus: Term) -> Iterable[Term]:
        """The value nodes of ``focus``: itself for a node shape, the path's ends otherwise."""
        path = self.path
        if path is None:
            return (focus,)
        if path[0] == "pred":
            by_p = index.spo.get(focus)
            return () if by_p is None else by_p.get(path[1], ())
        return _walk(index, path, focus)

    def validate(self, index: DataIndex, focus: Term, results: list[Result]) -> None:
        """Append the results of validating one focus node against this shape."""
        if self.deactivated:
            return
        values = self.value_nodes(index, focus)
        for check in self.checks:
            check(self, index, focus, values, results)

    def conforms(self, index: DataIndex, focus: Term) -> bool:
        """Whether ``focus`` conforms (no results at all), for sh:or, sh:and and qualified
        value shapes; stops at the first result."""
        if self.deactivated:
            return True
        values = self.value_nodes(index, focus)
        found: list[Result] = []
        for check in self.checks:
            check(self, index, focus, values, found)
            if found:
                return False
        return True


@lru_cache(maxsize=64)
def _generic_message(component: URIRef) -> tuple[Literal, ...]:
    """The message of a result whose shape has no sh:message (worded unlike pyshacl's)."""
    name = str(component).removeprefix(str(SH)).removesuffix("ConstraintComponent")
    return (Literal(f"does not conform: sh:{name[:1].lower()}{name[1:]}"),)


def _walk(index: DataIndex, path: CompiledPath, focus: Term) -> Iterable[Term]:
    kind, arg = path
    if kind == "pred":
        return index.objects(focus, arg)
    if kind == "inv":
        return index.subjects(arg, focus)
    nodes: dict[Term, None] = {focus: None}
    for step in arg:
        following: dict[Term, None] = {}
        for node in nodes:
            for end in _walk(index, step, node):
                following[end] = None
        nodes = following
    return nodes


@dataclass
class CompiledShapes:
    """Every shape of a shapes graph, compiled; ``graph`` is kept for the results graph."""

    graph: Graph
    shapes: dict[Node, Shape]
    top: list[Shape]
    #: triples describing each blank node of the shapes graph (copied into results graphs)
    bnode_closure: dict[Node, list[Triple]]


_CORE_PARAMETERS = {
    SH.targetClass,
    SH.targetNode,
    SH.targetSubjectsOf,
    SH.targetObjectsOf,
    SH.target,
    SH.property,
    SH.path,
    SH.minCount,
    SH.maxCount,
    SH["class"],
    SH.datatype,
    SH.minLength,
    SH.minInclusive,
    SH.minExclusive,
    SH.maxInclusive,
    SH.maxExclusive,
    SH.lessThan,
    SH.lessThanOrEquals,
    SH.hasValue,
    SH.qualifiedValueShape,
    SH.qualifiedMinCount,
    SH.qualifiedMaxCount,
    SH.qualifiedValueShapesDisjoint,
    SH["or"],
    SH["and"],
    SH.closed,
    SH.ignoredProperties,
    SH.severity,
    SH.message,
    SH.deactivated,
    # non-validating: documentation and form hints
    SH.name,
    SH.description,
    SH.order,
    SH.group,
    SH.defaultValue,
}

#: sh: terms whose presence anywhere in a shapes graph means a feature we do not run.
_UNSUPPORTED_ANYWHERE = {
    SH.sparql: "SPARQL-based constraints (sh:sparql)",
    SH.rule: "SHACL rules (sh:rule)",
    SH.SPARQLRule: "SHACL rules (sh:SPARQLRule)",
    SH.TripleRule: "SHACL rules (sh:TripleRule)",
    SH.ConstraintComponent: "custom constraint components",
    SH.SPARQLFunction: "SHACL functions (sh:SPARQLFunction)",
    SH.SPARQLTargetType: "SPARQL-based target types",
    SH.JSTarget: "JavaScript targets",
    SH.JSConstraint: "JavaScript constraints",
    SH.expression: "node expressions (sh:expression)",
}


class _Compiler:
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.shapes: dict[Node, Shape] = {}

    def one(self, node: Node, parameter: URIRef) -> Any:
        values = list(self.graph.objects(node, parameter))
        if len(values) > 1:
            raise UnsupportedShapes(node, f"more than one {_curie(parameter)}")
        return values[0] if values else None

    def integer(self, node: Node, parameter: URIRef) -> int | None:
        value = self.one(node, parameter)
        if value is None:
            return None
        if not isinstance(value, Literal) or not isinstance(value.value, int):
            raise UnsupportedShapes(node, f"{_curie(parameter)} that is not an integer")
        return int(value.value)

    def items(self, node: Node, head: Any, parameter: URIRef) -> list[Any]:
        if head == RDF.nil:
            return []
        if not isinstance(head, BNode | URIRef) or (head, RDF.first, None) not in self.graph:
            raise UnsupportedShapes(node, f"{_curie(parameter)} that is not an RDF list")
        return list(Collection(self.graph, head))

    def path(self, shape: Node, node: Any) -> CompiledPath:
        if isinstance(node, URIRef):
            return ("pred", node)
        if isinstance(node, BNode):
            if (node, RDF.first, None) in self.graph:
                steps = tuple(self.path(shape, step) for step in Collection(self.graph, node))
                if len(steps) < 2:
                    raise UnsupportedShapes(shape, "a sequence path of fewer than two members")
                return ("seq", steps)
            predicates = set(self.graph.predicates(node))
            if predicates == {SH.inversePath}:
                inverse = self.one(node, SH.inversePath)
                if isinstance(inverse, URIRef):
                    return ("inv", inverse)
                raise UnsupportedShapes(shape, "an inverse path of a complex path")
            kinds = ", ".join(sorted(_curie(p) for p in predicates)) or "an empty node"
            raise UnsupportedShapes(shape, f"the path kind {kinds}")
        raise UnsupportedShapes(shape, "a path that is not an IRI or a blank node")

    def shape(self, node: Any) -> Shape:  # noqa: PLR0912, PLR0915 - one branch per parameter
        found = self.shapes.get(node)
        if found is not None:
            return found
        if not isinstance(node, URIRef | BNode):
            raise UnsupportedShapes(node, "a shape that is a literal")
        g = self.graph
        shape = Shape(node=node)
        self.shapes[node] = shape  # before recursing: shapes may refer to each other
        parameters = set(g.predicates(node))
        for parameter in parameters:
            if str(parameter).startswith(str(SH)) and parameter not in _CORE_PARAMETERS:
                raise UnsupportedShapes(node, f"the parameter {_curie(parameter)}")
        path_node = self.one(node, SH.path)
        if path_node is not None:
            shape.path = self.path(node, path_node)
            shape.path_node = path_node
        severity = self.one(node, SH.severity)
        if severity is not None:
            shape.severity = severity
        shape.messages = tuple(m for m in g.objects(node, SH.message) if isinstance(m, Literal))
        deactivated = self.one(node, SH.deactivated)
        shape.deactivated = isinstance(deactivated, Literal) and deactivated.value is True
        shape.target_classes = list(g.objects(node, SH.targetClass))
        if (node, RDF.type, RDFS.Class) in g or (node, RDF.type, OWL.Class) in g:
            shape.target_classes.append(node)  # an implicit class target
        shape.target_nodes = list(g.objects(node, SH.targetNode))
        shape.target_subjects_of = list(g.objects(node, SH.targetSubjectsOf))
        shape.target_objects_of = list(g.objects(node, SH.targetObjectsOf))
        for target in g.objects(node, SH.target):
            shape.sparql_targets.append(self.sparql_target(node, target))

        checks = shape.checks
        for cls in g.objects(node, SH["class"]):
            checks.append(_class_check(cls))
        datatype = self.one(node, SH.datatype)
        if datatype is not None:
            if not isinstance(datatype, URIRef):
                raise UnsupportedShapes(node, "sh:datatype that is not an IRI")
            if str(datatype).startswith(_xsd.XSD) and not _xsd.recognised(str(datatype)):
                raise UnsupportedShapes(node, f"sh:datatype {_curie(datatype)}")
            checks.append(_datatype_check(str(datatype)))
        for parameter, make in ((SH.minCount, _min_count_check), (SH.maxCount, _max_count_check)):
            count = self.integer(node, parameter)
            if count is not None:
                if shape.path is None:
                    raise UnsupportedShapes(node, f"{_curie(parameter)} on a node shape")
                checks.append(make(count))
        min_length = self.integer(node, SH.minLength)
        if min_length is not None:
            checks.append(_min_length_check(min_length))
        for parameter in _RANGES:
            for bound in g.objects(node, parameter):
                if not isinstance(bound, Literal):
                    raise UnsupportedShapes(node, f"{_curie(parameter)} that is not a literal")
                checks.append(_range_check(parameter, bound))
        for parameter in _PAIRS:
            for other in g.objects(node, parameter):
                if not isinstance(other, URIRef):
                    raise UnsupportedShapes(node, f"{_curie(parameter)} that is not an IRI")
                checks.append(_pair_check(parameter, other))
        has_values = list(dict.fromkeys(g.objects(node, SH.hasValue)))
        if has_values:
            checks.append(_has_value_check(has_values))
        for parameter in (SH["or"], SH["and"]):
            for head in g.objects(node, parameter):
                members = [self.shape(m) for m in self.items(node, head, parameter)]
                if not members:
                    raise UnsupportedShapes(node, f"an empty {_curie(parameter)} list")
                checks.append(_logical_check(members, any_of=parameter == SH["or"]))
        qualified = list(g.objects(node, SH.qualifiedValueShape))
        if qualified:
            if shape.path is None:
                raise UnsupportedShapes(node, "sh:qualifiedValueShape on a node shape")
            disjoint = self.one(node, SH.qualifiedValueShapesDisjoint)
            if isinstance(disjoint, Literal) and disjoint.value is True:
                raise UnsupportedShapes(node, "sh:qualifiedValueShapesDisjoint true")
            low = self.integer(node, SH.qualifiedMinCount)
            high = self.integer(node, SH.qualifiedMaxCount)
            if low is None and high is None:
                raise UnsupportedShapes(
                    node, "sh:qualifiedValueShape without sh:qualifiedMinCount or MaxCount"
                )
            checks.append(_qualified_check([self.shape(q) for q in qualified], low, high))
        property_shapes = [self.shape(p) for p in g.objects(node, SH.property)]
        for property_shape in property_shapes:
            if property_shape.path is None:
                raise UnsupportedShapes(property_shape.node, "a property shape without sh:path")
        closed = self.one(node, SH.closed)
        if isinstance(closed, Literal) and closed.value is True:
            allowed: set[Any] = {p.path_node for p in property_shapes}
            for head in g.objects(node, SH.ignoredProperties):
                allowed.update(self.items(node, head, SH.ignoredProperties))
            checks.append(_closed_check(frozenset(allowed)))
        if property_shapes:
            checks.append(_property_check(property_shapes))
        return shape

    def sparql_target(self, shape: Node, target: Any) -> Any:
        g = self.graph
        types = set(g.objects(target, RDF.type))
        select = self.one(target, SH.select)
        unknown = {p for p in g.predicates(target) if p not in (RDF.type, SH.select, SH.prefixes)}
        if (types and types != {SH.SPARQLTarget}) or select is None or unknown:
            raise UnsupportedShapes(shape, "a target other than sh:SPARQLTarget with sh:select")
        from rdflib.plugins.sparql import prepareQuery

        prologue = "".join(
            f"PREFIX {prefix}: <{namespace}>\n" for prefix, namespace in self.prefixes(target)
        )
        namespaces = {"rdf": RDF, "rdfs": RDFS, "owl": OWL, "xsd": XSD}
        try:
            query = prepareQuery(prologue + str(select), initNs=namespaces)
        except Exception as exc:
            raise UnsupportedShapes(shape, f"a sh:select that does not parse ({exc})") from exc
        if query.algebra.name != "SelectQuery" or "this" not in {
            str(v) for v in query.algebra.get("PV") or ()
        }:
            raise UnsupportedShapes(shape, "a sh:select that does not select ?this")
        return query

    def prefixes(self, node: Any) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for holder in self.graph.objects(node, SH.prefixes):
            for declaration in self.graph.objects(holder, SH.declare):
                prefix = self.one(declaration, SH.prefix)
                namespace = self.one(declaration, SH.namespace)
                if prefix is None or namespace is None:
                    raise UnsupportedShapes(
                        node, "a prefix declaration without prefix or namespace"
                    )
                found.append((str(prefix), str(namespace)))
        return sorted(set(found))


def compile_shapes(graph: Graph) -> CompiledShapes:
    """Compile every shape of ``graph``; :class:`UnsupportedShapes` if it needs more than we run."""
    for s, p, o in graph:
        for term in (p, o):
            if term in _UNSUPPORTED_ANYWHERE:
                raise UnsupportedShapes(s, _UNSUPPORTED_ANYWHERE[term])  # type: ignore[index]
    compiler = _Compiler(graph)
    roots: dict[Node, None] = {}
    for parameter in (
        SH.targetClass,
        SH.targetNode,
        SH.targetSubjectsOf,
        SH.targetObjectsOf,
        SH.target,
    ):
        for node in graph.subjects(parameter, None):
            roots[node] = None
    for kind in (SH.NodeShape, SH.PropertyShape):
        for node in graph.subjects(RDF.type, kind):
            roots[node] = None
    for node in roots:
        compiler.shape(node)
    top = [s for s in compiler.shapes.values() if s.has_targets and not s.deactivated]
    closure: dict[Node, list[Triple]] = {}
    for node in set(graph.subjects()):
        if isinstance(node, BNode):
            closure[node] = _describe_bnode(graph, node)
    return CompiledShapes(graph=graph, shapes=compiler.shapes, top=top, bnode_closure=closure)


def _describe_bnode(graph: Graph, node: BNode) -> list[Triple]:
    triples: list[Triple] = []
    seen = {node}
    todo = [node]
    while todo:
        subject = todo.pop()
        for p, o in graph.predicate_objects(subject):
            triples.append((subject, p, o))
            if isinstance(o, BNode) and o not in seen:
                seen.add(o)
                todo.append(o)
    return triples


def _curie(iri: Node) -> str:
    text = str(iri)
    return "sh:" + text.removeprefix(str(SH)) if text.startswith(str(SH)) else f"<{text}>"


# ---------------------------------------------------------------------------------------
#    Constraint components (each: what the SHACL recommendation says)
# ---------------------------------------------------------------------------------------

Check = Callable[[Shape, DataIndex, Term, Iterable[Term], list[Result]], None]


def _class_check(cls: Term) -> Check:
    component = SH.ClassConstraintComponent

    def check(
        shape: Shape, index: DataIndex, focus: Term, values: Iterable[Term], out: list[Result]
    ) -> None:
        for value in values:
            if isinstance(value, Literal) or not index.is_instance(value, cls):
                out.append(shape.result(focus, component, value))

    return check


def _has_datatype(value: Term, datatype: str) -> bool:
    """Whether ``value`` is a literal of exactly ``datatype`` whose lexical form is in the
    datatype's lexical space (a simple literal is an ``xsd:string``, a language-tagged one an
    ``rdf:langString``; no subtype counts as its supertype)."""
    if not isinstance(value, Literal):
        return False
    if value.language:
        actual = _xsd.RDF_LANGSTRING
    elif value.datatype is None:
        actual = _XSD_STRING
    else:
        actual = str(value.datatype)
    return actual == datatype and _xsd.well_formed(str(value), datatype)


def _datatype_check(datatype: str) -> Check:
    component = SH.DatatypeConstraintComponent

    def check(
        shape: Shape, index: DataIndex, focus: Term, values: Iterable[Term], out: list[Result]
    ) -> None:
        for value in values:
            if not _has_datatype(value, datatype):
                out.append(shape.result(focus, component, value))

    return check


def _min_count_check(count: int) -> Check:
    component = SH.MinCountConstraintComponent

    def check(
        shape: Shape, index: DataIndex, focus: Term, values: Iterable[Term], out: list[Result]
    ) -> None:
        if count and len(values) < count:  # type: ignore[arg-type]
            out.append(shape.result(focus, component))

    return check


def _max_count_check(count: int) -> Check:
    component = SH.MaxCountConstraintComponent

    def check(
        shape: Shape, index: DataIndex, focus: Term, values: Iterable[Term], out: list[Result]
    ) -> None:
        if len(values) > count:  # type: ignore[arg-type]
            out.append(shape.result(focus, component))

    return check


def _min_length_check(length: int) -> Check:
    component = SH.MinLengthConstraintComponent

    def check(
        shape: Shape, index: DataIndex, focus: Term, values: Iterable[Term], out: list[Result]
    ) -> None:
        if length == 0:
            return
        for value in values:
            if isinstance(value, BNode) or len(str(value)) < length:
                out.append(shape.result(focus, component, value))

    return check


#: sh:minInclusive and its kin: (component, which orders of ``bound`` against the value pass)
_RANGES: dict[URIRef, tuple[URIRef, tuple[int, ...]]] = {
    SH.minInclusive: (SH.MinInclusiveConstraintComponent, (-1, 0)),
    SH.minExclusive: (SH.MinExclusiveConstraintComponent, (-1,)),
    SH.maxInclusive: (SH.MaxInclusiveConstraintComponent, (0, 1)),
    SH.maxExclusive: (SH.MaxExclusiveConstraintComponent, (1,)),
}


def _range_check(parameter: URIRef, bound: Literal) -> Check:
    """Each value against the bound by SPARQL's order of values: a value that cannot be
    compared with it (another value space, an ill-typed literal, an IRI, a blank node, an
    indeterminate order) fails, as SHACL says."""
    component, passing = _RANGES[parameter]
    compare = _xsd.compare

    def check(
        shape: Shape, index: DataIndex, focus: Term, values: Iterable[Term], out: list[Result]
    ) -> None:
        for value in values:
            if compare(bound, value) not in passing:
                out.append(shape.result(focus, component, value))

    return check


#: sh:lessThan and sh:lessThanOrEquals: (component, which orders of value against other pass)
_PAIRS: dict[URIRef, tuple[URIRef, tuple[int, ...]]] = {
    SH.lessThan: (SH.LessThanConstraintComponent, (-1,)),
    SH.lessThanOrEquals: (SH.LessThanOrEqualsConstraintComponent, (-1, 0)),
}


def _pair_check(parameter: URIRef, other: URIRef) -> Check:
    """Each value against each value of ``other`` at the focus node: one result per pair that
    is not in order or cannot be compared (a date against a dateTime or a number, an IRI, a
    blank node, an ill-typed literal, an indeterminate order)."""
    component, passing = _PAIRS[parameter]
    compare = _xsd.compare

    def check(
        shape: Shape, index: DataIndex, focus: Term, values: Iterable[Term], out: list[Result]
    ) -> None:
        bounds = index.objects(focus, other)
        if not bounds:
            return
        for value in values:
            for bound in bounds:
                if compare(value, bound) not in passing:
                    out.append(shape.result(focus, component, value))

    return check


def _has_value_check(expected: list[Term]) -> Check:
    component = SH.HasValueConstraintComponent

    def check(
        shape: Shape, index: DataIndex, focus: Term, values: Iterable[Term], out: list[Result]
    ) -> None:
        for wanted in expected:
            if wanted not in values:
                out.append(shape.result(focus, component))

    return check


def _logical_check(members: list[Shape], *, any_of: bool) -> Check:
    component = SH.OrConstraintComponent if any_of else SH.AndConstraintComponent
    combine = any if any_of else all

    def check(
        shape: Shape, index: DataIndex, focus: Term, values: Iterable[Term], out: list[Result]
    ) -> None:
        for value in values:
            if not combine(m.conforms(index, value) for m in members):
                out.append(shape.result(focus, component, value))

    return check


def _qualified_check(value_shapes: list[Shape], low: int | None, high: int | None) -> Check:
    too_many = SH.QualifiedMaxCountConstraintComponent
    too_few = SH.QualifiedMinCountConstraintComponent

    def check(
        shape: Shape, index: DataIndex, focus: Term, values: Iterable[Term], out: list[Result]
    ) -> None:
        for value_shape in value_shapes:
            conforming = sum(1 for v in values if value_shape.conforms(index, v))
            if high is not None and conforming > high:
                out.append(shape.result(focus, too_many))
            if low is not None and conforming < low:
                out.append(shape.result(focus, too_few))

    return check


def _closed_check(allowed: frozenset[Any]) -> Check:
    component = SH.ClosedConstraintComponent

    def check(
        shape: Shape, index: DataIndex, focus: Term, values: Iterable[Term], out: list[Result]
    ) -> None:
        for value in values:
            for p, o in index.predicate_objects(value):
                if p not in allowed:
                    out.append(shape.result(focus, component, o, path=p))

    return check


def _property_check(property_shapes: list[Shape]) -> Check:
    def check(
        shape: Shape, index: DataIndex, focus: Term, values: Iterable[Term], out: list[Result]
    ) -> None:
        for property_shape in property_shapes:
            for value in values:
                property_shape.validate(index, value, out)

    return check


# ---------------------------------------------------------------------------------------
#    Validation
# ---------------------------------------------------------------------------------------


@contextmanager
def _without_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: building the index and the results makes many
    objects and no cycles, and the collector's passes over a large heap (a load holds
    its mapped graphs) cost more than the work itself."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def build_index(data: Iterable[Graph | Iterable[Triple]]) -> DataIndex:
    """One index over a sequence of rdflib graphs and/or iterables of triples."""
    with _without_gc():
        return DataIndex(data)


def focus_nodes(shape: Shape, index: DataIndex) -> dict[Term, None]:
    """Every focus node of a shape's targets, in a stable order."""
    found: dict[Term, None] = dict.fromkeys(shape.target_nodes)
    for cls in shape.target_classes:
        found.update(dict.fromkeys(index.instances(cls)))
    for p in shape.target_subjects_of:
        found.update(dict.fromkeys(s for s, _, _ in index.triples(None, p, None)))
    for p in shape.target_objects_of:
        found.update(dict.fromkeys(o for _, _, o in index.triples(None, p, None)))
    if shape.sparql_targets:
        graph = Graph(store=_IndexStore(index))
        for query in shape.sparql_targets:
            for row in graph.query(query):
                this = row["this"]  # type: ignore[call-overload, index]
                if this is not None:
                    found[this] = None
    return found


def validate(
    shapes: CompiledShapes, data: DataIndex | Iterable[Graph | Iterable[Triple]]
) -> list[Result]:
    """Every validation result of ``data`` against the compiled ``shapes``."""
    index = data if isinstance(data, DataIndex) else build_index(data)
    results: list[Result] = []
    with _without_gc():
        for shape in shapes.top:
            for focus in focus_nodes(shape, index):
                shape.validate(index, focus, results)
    return results


def results_graph(shapes: CompiledShapes, results: Sequence[Result]) -> tuple[bool, Graph]:
    """A ``sh:ValidationReport`` graph of ``results`` (as pyshacl writes it) and sh:conforms.

    Conforms when no result has severity ``sh:Violation`` (warnings and notes do not block).
    Blank-node shapes and paths are copied in, keeping their identifiers.
    """
    conforms = not any(r.severity == SH.Violation for r in results)
    graph = Graph(bind_namespaces="core")
    for prefix, namespace in shapes.graph.namespace_manager.namespaces():
        graph.namespace_manager.bind(prefix, namespace)
    report = BNode()
    add = graph.add
    add((report, RDF.type, SH.ValidationReport))
    add((report, SH.conforms, Literal(conforms)))
    copied: set[Node] = set()

    def copy(node: Any) -> None:
        if isinstance(node, BNode) and node not in copied:
            copied.add(node)
            for triple in shapes.bnode_closure.get(node, ()):
                add(triple)

    for r in results:
        node = BNode()
        add((report, SH.result, node))
        add((node, RDF.type, SH.ValidationResult))
        add((node, SH.sourceConstraintComponent, r.component))
        add((node, SH.sourceShape, r.source_shape))
        copy(r.source_shape)
        add((node, SH.resultSeverity, r.severity))
        add((node, SH.focusNode, r.focus))
        if r.value is not None:
            add((node, SH.value, r.value))
        if r.path is not None:
            add((node, SH.resultPath, r.path))
            copy(r.path)
        for message in r.messages:
            add((node, SH.resultMessage, message))
    return conforms, graph
