"""SHACL validation of record graphs (pyshacl on a small rdflib graph) and its report."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, RDFS, SKOS

from cipd_graph._ontology import CIPD, curie, load_ontology
from cipd_graph._resources import data_dir

SH = Namespace("http://www.w3.org/ns/shacl#")
SEVERITY = {SH.Violation: "error", SH.Warning: "warning", SH.Info: "note"}


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


@dataclass
class ValidationReport:
    """What validation found, grouped by file and record; also JSON and the SHACL graph."""

    findings: list[Finding] = field(default_factory=list)
    results: Graph = field(default_factory=Graph)

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
        self.results += other.results

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


@lru_cache(maxsize=2)
def _schema_triples() -> tuple[tuple[object, ...], ...]:
    """The part of the ontology that shapes need, added to the data graph.

    sh:class follows rdf:type/rdfs:subClassOf* in the data graph, so shapes need the named
    class hierarchy and the types of the ontology's individuals (strands, professions, ...);
    the stage-order check also reads notations and sequence numbers. Handing pyshacl the
    whole ontology as ``ont_graph`` instead took minutes per batch (measured: > 120 s against
    0.2 s for this extract, same findings).
    """
    ontology = load_ontology()
    keep = (SKOS.notation, CIPD.sequence)
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


def validate_graph(
    data: Graph,
    locate: Locator,
    describe: Callable[[str], str] = curie,
    focus_filter: Callable[[str], bool] | None = None,
    *,
    in_place: bool = False,
) -> ValidationReport:
    """Validate ``data`` (plus the ontology) against the shapes.

    ``locate`` places a focus node in its file, line and record; ``describe`` renders an IRI
    for people; ``focus_filter`` keeps only the findings about some focus nodes;
    ``in_place`` adds the ontology extract to ``data`` itself rather than to a copy (a
    load's throw-away union graph: copying it cost as much as building it).
    """
    import pyshacl

    if in_place:
        combined = data
    else:
        combined = Graph()
        combined += data
    for triple in _schema_triples():
        combined.add(triple)  # type: ignore[arg-type]
    _conforms, results, _text_report = pyshacl.validate(
        combined,
        shacl_graph=shapes_graph(),
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
