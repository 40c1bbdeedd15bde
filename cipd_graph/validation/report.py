"""SHACL validation of record graphs and its report.

The native engine (:mod:`cipd_graph.validation.shacl`) runs by default; ``CIPD_SHACL=pyshacl`` runs
pyshacl instead, and so does a shapes graph that uses a feature the native engine lacks.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import PROV, RDF, RDFS, SKOS
from rdflib.term import Node

from cipd_graph._config import SHACL_ENGINES, shacl_engine
from cipd_graph._errors import ConfigError
from cipd_graph._ontology import CIPD, curie, load_ontology
from cipd_graph._resources import data_dir
from cipd_graph.validation import shacl as _shacl

SH = Namespace("http://www.w3.org/ns/shacl#")
SEVERITY = {SH.Violation: "error", SH.Warning: "warning", SH.Info: "note"}
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Finding:
    """One validation result, placed in the source file and record it is about."""

    severity: str  # "error", "warning" or "note"
    message: str
    focus: str
    path: str | None = None
    value: str | None = None
    shape: str | None = None
    file: str | None = None
    line: int | None = None
    record: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.file and self.line else self.file or "(store)"
        value = f" [value: {self.value}]" if self.value else ""
        return f"{where}: {self.severity}: {self.record or self.focus}: {self.message}{value}"


class ValidationReport:
    """What validation found, grouped by file and record; also JSON and the SHACL graph.

    The SHACL results graph is built when first read: a staged load's workers send theirs as
    N-Triples text (pickling rdflib terms cost 0.45 s a chunk, and at 100,000 projects the
    graph holds millions of triples that only ``cipd load --report`` reads).
    """

    def __init__(self, findings: list[Finding] | None = None, results: Graph | None = None) -> None:
        self.findings: list[Finding] = [] if findings is None else findings
        self._graph = Graph() if results is None else results
        #: N-Triples of results not parsed yet; their blank nodes are unique to each text,
        #: but for the shapes' own (results point at them; they keep their identifiers).
        self._pending: list[bytes] = []

    @property
    def results(self) -> Graph:
        """The SHACL validation report graph(s) (``sh:ValidationReport``), one per batch checked."""
        if self._pending:
            shared: dict[str, Node] = {str(n): n for n in shape_blank_nodes()}
            for text in self._pending:
                self._graph.parse(data=text, format="nt", bnode_context=dict(shared))
            self._pending.clear()
        return self._graph

    def add_results_text(self, text: bytes) -> None:
        """Add a results graph written as N-Triples (see ``_parallel``)."""
        if text:
            self._pending.append(text)

    @property
    def errors(self) -> list[Finding]:
        """Findings of severity Violation: these block a load."""
        return [f for f in self.findings if f.severity == "error"]

    @property
    def conforms(self) -> bool:
        """True when no finding is an error (warnings and notes do not block)."""
        return not self.errors

    def extend(self, other: ValidationReport) -> None:
        """Add another report's findings and results."""
        self.findings.extend(other.findings)
        self._graph += other._graph
        self._pending.extend(other._pending)

    def to_text(self) -> str:
        """Plain language, grouped by source file, then record."""
        if not self.findings:
            return "no problems found"
        lines: list[str] = []
        by_file: dict[str, list[Finding]] = {}
        for finding in self.findings:
            by_file.setdefault(finding.file or "(already in the store)", []).append(finding)
        for file, findings in sorted(by_file.items()):
            counts = {
                s: sum(f.severity == s for f in findings) for s in ("error", "warning", "note")
            }
            summary = ", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items() if n)
            lines.append(f"{file} ({summary})")
            by_record: dict[str, list[Finding]] = {}
            for finding in findings:
                by_record.setdefault(finding.record or finding.focus, []).append(finding)
            for record, items in sorted(
                by_record.items(), key=lambda kv: (kv[1][0].line or 0, kv[0])
            ):
                line = items[0].line
                lines.append(f"  {record}" + (f" (line {line})" if line else ""))
                for f in sorted(items, key=lambda f: (f.severity != "error", f.message)):
                    value = f" [{f.value}]" if f.value else ""
                    lines.append(f"    {f.severity}: {f.message}{value}")
        return "\n".join(lines)

    def to_json(self) -> str:
        """The findings as a JSON document."""
        return json.dumps(
            {
                "conforms": self.conforms,
                "errors": len(self.errors),
                "findings": [asdict(f) for f in self.findings],
            },
            indent=2,
            ensure_ascii=False,
        )


@lru_cache(maxsize=4)
def _shapes_triples(directory: Path) -> tuple[tuple[object, ...], ...]:
    graph = Graph()
    for path in sorted(directory.glob("*.ttl")):
        graph.parse(path, format="turtle")
    return tuple(graph)


def shapes_graph(directory: Path | None = None) -> Graph:
    """Every SHACL shape shipped in ``shapes/``."""
    graph = Graph()
    for triple in _shapes_triples((directory or data_dir("shapes")).resolve()):
        graph.add(triple)  # type: ignore[arg-type]
    return graph


@lru_cache(maxsize=1)
def shape_blank_nodes() -> frozenset[BNode]:
    """The blank nodes of the shipped shapes (results point at them; one parse per process)."""
    return frozenset(n for t in shapes_graph() for n in t if isinstance(n, BNode))


@lru_cache(maxsize=4)
def _compiled_shapes(directory: Path) -> _shacl.CompiledShapes | _shacl.UnsupportedShapes:
    """The shipped shapes compiled for the native engine (or why they cannot be)."""
    return _compile_or_reason(shapes_graph(directory))


_warned: set[str] = set()


def _fall_back(exc: _shacl.UnsupportedShapes) -> None:
    """Say once per reason that pyshacl validates instead of the native engine."""
    reason = str(exc)
    if reason not in _warned:
        _warned.add(reason)
        _log.warning("SHACL: validating with pyshacl: %s", reason)


@lru_cache(maxsize=2)
def _schema_triples() -> tuple[tuple[object, ...], ...]:
    """The part of the ontology that shapes need, added to the data graph.

    sh:class follows rdf:type/rdfs:subClassOf* in the data graph, so shapes need the named
    class hierarchy and the types of the ontology's individuals (strands, professions, ...);
    the stage-order check also reads notations and sequence numbers, and the CAIPE shapes
    each profession's family and whether the family counts for CAIPE. Handing pyshacl the
    whole ontology as ``ont_graph`` instead took minutes per batch (measured: > 120 s against
    0.2 s for this extract, same findings).
    """
    ontology = load_ontology()
    keep = (SKOS.notation, CIPD.sequence, CIPD.inProfessionFamily, CIPD.countsForCaipe)
    return tuple(
        (s, p, o)
        for s, p, o in ontology
        if (p == RDFS.subClassOf and isinstance(o, URIRef))
        or (p == RDF.type and str(s).startswith(str(CIPD)))
        or p in keep
    )


Locator = Callable[[str], tuple[str | None, int | None, str | None]]


def _text(node: object, describe: Callable[[str], str]) -> str | None:
    if node is None:
        return None
    if isinstance(node, URIRef):
        return describe(str(node))
    if isinstance(node, Literal):
        return str(node)
    return None  # blank nodes and paths say nothing to a person


Data = Graph | Sequence[Graph | Iterable[tuple[Node, Node, Node]]]


def validate_graph(
    data: Data,
    locate: Locator,
    describe: Callable[[str], str] = curie,
    focus_filter: Callable[[str], bool] | None = None,
    *,
    in_place: bool = False,
    engine: str | None = None,
    shapes: Graph | None = None,
) -> ValidationReport:
    """Validate ``data`` (plus the ontology) against the shapes.

    ``data`` is one graph or a sequence of graphs (and/or iterables of triples) validated
    as their union, which the native engine never builds. ``locate`` places a focus node
    in its file, line and record; ``describe`` renders an IRI for people; ``focus_filter``
    keeps only the findings about some focus nodes; ``in_place`` lets pyshacl add the
    ontology extract to a single ``data`` graph itself rather than to a copy (a load's
    throw-away union graph). ``engine`` is ``native`` or ``pyshacl`` (default:
    ``CIPD_SHACL``); ``shapes`` replaces the shipped shapes.

    >>> from rdflib import Graph
    >>> data = Graph().parse(data='''@prefix cipd: <https://w3id.org/cipd#> .
    ...     <https://w3id.org/cipd/data/m> a cipd:Measure .''', format="turtle")
    >>> report = validate_graph([data], lambda focus: (None, None, None))
    >>> sorted((f.severity, f.message[:25]) for f in report.findings)
    [('error', 'a measure needs a name (f'), ('warning', 'say which quality dimensi')]
    """
    engine = shacl_engine() if engine is None else engine
    if engine not in SHACL_ENGINES:
        raise ConfigError(f"SHACL engine {engine!r}: use native or pyshacl")
    graphs: list[Graph | Iterable[tuple[Node, Node, Node]]] = (
        [data] if isinstance(data, Graph) else list(data)
    )
    if engine == "native":
        compiled = (
            _compiled_shapes(data_dir("shapes").resolve())
            if shapes is None
            else _compile_or_reason(shapes)
        )
        if isinstance(compiled, _shacl.UnsupportedShapes):
            _fall_back(compiled)
        else:
            report = _validate_native(compiled, graphs, locate, describe, focus_filter)
            _name_families(report, graphs)
            return report
    first = graphs[0] if len(graphs) == 1 else None
    if in_place and isinstance(first, Graph):
        combined = first
    else:
        combined = Graph()
        for source in graphs:
            if isinstance(source, Graph):
                combined += source
            else:
                for triple in source:
                    combined.add(triple)
    report = _validate_pyshacl(combined, locate, describe, focus_filter, shapes)
    _name_families(report, [combined])
    return report


#: The shapes whose warnings compare a declared interprofessional activity with the CAIPE
#: definition by the profession families of its participants.
_FAMILY_SHAPES = ("DeclaredInterprofessionalFamiliesShape", "DeclaredNotInterprofessionalShape")


def _name_families(
    report: ValidationReport, graphs: Sequence[Graph | Iterable[tuple[Node, Node, Node]]]
) -> None:
    """Add to each CAIPE family warning the families its participants come from.

    A SHACL Core message is fixed text; the reader of "one profession family" wants to
    know which. Only findings of :data:`_FAMILY_SHAPES` are touched, so this costs nothing
    when no activity disagrees with its declaration.
    """
    wanted = [
        i
        for i, f in enumerate(report.findings)
        if f.shape is not None and f.shape.endswith(_FAMILY_SHAPES)
    ]
    if not wanted:
        return
    sources = [g for g in graphs if isinstance(g, Graph | list | tuple)]

    def objects(subject: URIRef, predicate: URIRef) -> set[Node]:
        found: set[Node] = set()
        for source in sources:
            if isinstance(source, Graph):
                found.update(source.objects(subject, predicate))
            else:
                found.update(o for s, p, o in source if s == subject and p == predicate)
        return found

    families = _families()
    for i in wanted:
        finding = report.findings[i]
        named: set[str] = set()
        for person in objects(URIRef(finding.focus), PROV.wasAssociatedWith):
            for profession in objects(person, CIPD.hasProfession):  # type: ignore[arg-type]
                named.add(families.get(str(profession), "a profession outside the scheme"))
        text = ", ".join(sorted(named)) if named else "none recorded"
        report.findings[i] = replace(
            finding, message=f"{finding.message} (participants' profession families: {text})"
        )


@lru_cache(maxsize=1)
def _families() -> dict[str, str]:
    """Profession IRI -> its family as a report names it ("nursing", "support workforce,
    not counted for CAIPE")."""
    ontology = load_ontology()
    named: dict[str, str] = {}
    for profession, family in ontology.subject_objects(CIPD.inProfessionFamily):
        label = str(ontology.value(family, SKOS.prefLabel) or family).lower()
        if (family, CIPD.countsForCaipe, Literal(False)) in ontology:
            label += ", not counted for CAIPE"
        named[str(profession)] = label
    return named


def _compile_or_reason(shapes: Graph) -> _shacl.CompiledShapes | _shacl.UnsupportedShapes:
    try:
        return _shacl.compile_shapes(shapes)
    except _shacl.UnsupportedShapes as exc:
        return exc


def _validate_native(
    compiled: _shacl.CompiledShapes,
    graphs: Sequence[Graph | Iterable[tuple[Node, Node, Node]]],
    locate: Locator,
    describe: Callable[[str], str],
    focus_filter: Callable[[str], bool] | None,
) -> ValidationReport:
    results = _shacl.validate(compiled, [*graphs, _schema_triples()])  # type: ignore[list-item]
    _conforms, graph = _shacl.results_graph(compiled, results)
    report = ValidationReport(results=graph)
    for r in results:
        focus = str(r.focus)
        if focus_filter is not None and not focus_filter(focus):
            continue
        file, line, record = locate(focus)
        report.findings.append(
            Finding(
                severity=SEVERITY.get(r.severity, "error"),
                message=str(r.messages[0]) if r.messages else "does not conform",
                focus=focus,
                path=_text(r.path, curie),
                value=_text(r.value, describe),
                shape=_text(r.source_shape, curie),
                file=file,
                line=line,
                record=record,
            )
        )
    report.findings.sort(key=lambda f: (f.file or "~", f.line or 0, f.record or "", f.message))
    return report


def _validate_pyshacl(
    combined: Graph,
    locate: Locator,
    describe: Callable[[str], str],
    focus_filter: Callable[[str], bool] | None,
    shapes: Graph | None,
) -> ValidationReport:
    import pyshacl

    for triple in _schema_triples():
        combined.add(triple)  # type: ignore[arg-type]
    _conforms, results, _text_report = pyshacl.validate(
        combined,
        shacl_graph=shapes_graph() if shapes is None else shapes,
        inference="none",
        abort_on_first=False,
        allow_warnings=True,
        advanced=True,
    )
    report = ValidationReport(results=results)
    for result in results.subjects(RDF.type, SH.ValidationResult):
        focus = str(results.value(result, SH.focusNode))
        if focus_filter is not None and not focus_filter(focus):
            continue
        severity = SEVERITY.get(results.value(result, SH.resultSeverity), "error")
        message = results.value(result, SH.resultMessage)
        file, line, record = locate(focus)
        report.findings.append(
            Finding(
                severity=severity,
                message=str(message) if message else "does not conform",
                focus=focus,
                path=_text(results.value(result, SH.resultPath), curie),
                value=_text(results.value(result, SH.value), describe),
                shape=_text(results.value(result, SH.sourceShape), curie),
                file=file,
                line=line,
                record=record,
            )
        )
    report.findings.sort(key=lambda f: (f.file or "~", f.line or 0, f.record or "", f.message))
    return report


def graphs_union(graphs: Iterable[Graph]) -> Graph:
    """One rdflib graph holding the triples of all ``graphs``."""
    union = Graph()
    for graph in graphs:
        union += graph
    return union
