"""HTML documentation of the ontology.

``index.html`` documents the classes and properties with pyLODE (OntPub profile).
pyLODE's SKOS profile does not list concepts, so ``concepts.html`` documents every
concept scheme and its concepts (the model elements, professions, roles, ...).
"""

from __future__ import annotations

import logging
from html import escape
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDFS, SKOS

from cipd_graph._errors import OntologyError
from cipd_graph._ontology import curie, load_ontology, local_name

_STYLE = (
    "body{font-family:sans-serif;max-width:72em;margin:2em auto;padding:0 1em}"
    "table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.3em;"
    "vertical-align:top;text-align:left}th{background:#eee}code{font-size:.9em}"
)


def _first(graph: Graph, subject: URIRef, predicate: URIRef) -> str:
    values = sorted(str(o) for o in graph.objects(subject, predicate) if isinstance(o, Literal))
    return values[0] if values else ""


def _link(graph: Graph, target: URIRef) -> str:
    if str(target).startswith("https://w3id.org/cipd#"):
        text = _first(graph, target, RDFS.label) or curie(target)
        return f'<a href="#{escape(local_name(target))}">{escape(text)}</a>'
    return f'<a href="{escape(str(target))}">{escape(curie(target))}</a>'


def _links(graph: Graph, subject: URIRef, predicate: URIRef) -> str:
    targets = sorted(o for o in graph.objects(subject, predicate) if isinstance(o, URIRef))
    return ", ".join(_link(graph, o) for o in targets)


def concepts_html(graph: Graph) -> str:
    """One HTML page listing every concept scheme with its concepts."""
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>CIPD ontology: concept schemes</title><style>{_STYLE}</style></head><body>",
        "<h1>CIPD ontology: concept schemes</h1>",
        "<p>Classes and properties: <a href='index.html'>index.html</a>.</p><ul>",
    ]
    schemes = sorted(
        (s for s in graph.subjects(SKOS.hasTopConcept, None) if isinstance(s, URIRef)), key=str
    )
    schemes = sorted(set(schemes), key=lambda s: _first(graph, s, RDFS.label))
    for scheme in schemes:
        parts.append(
            f"<li><a href='#{escape(local_name(scheme))}'>"
            f"{escape(_first(graph, scheme, RDFS.label))}</a></li>"
        )
    parts.append("</ul>")
    for scheme in schemes:
        name, label = escape(local_name(scheme)), escape(_first(graph, scheme, RDFS.label))
        definition = escape(_first(graph, scheme, SKOS.definition))
        parts.append(f"<h2 id='{name}'>{label}</h2>")
        parts.append(f"<p><code>{escape(curie(scheme))}</code>: {definition}</p>")
        parts.append(
            "<table><tr><th>Concept</th><th>Notation</th><th>Definition</th>"
            "<th>Broader</th><th>Matches</th><th>Source</th></tr>"
        )
        members = sorted(
            (c for c in graph.subjects(SKOS.inScheme, scheme) if isinstance(c, URIRef)),
            key=lambda c: (
                _first(graph, c, URIRef("https://w3id.org/cipd#sequence")).zfill(4),
                _first(graph, c, RDFS.label),
            ),
        )
        for concept in members:
            matches = ", ".join(
                x
                for x in (
                    _links(graph, concept, SKOS.exactMatch),
                    _links(graph, concept, SKOS.closeMatch),
                )
                if x
            )
            label = escape(_first(graph, concept, RDFS.label))
            parts.append(
                f"<tr id='{escape(local_name(concept))}'><td><b>{label}</b>"
                f"<br><code>{escape(curie(concept))}</code></td>"
                f"<td>{escape(_first(graph, concept, SKOS.notation))}</td>"
                f"<td>{escape(_first(graph, concept, SKOS.definition))}</td>"
                f"<td>{_links(graph, concept, SKOS.broader)}</td><td>{matches}</td>"
                f"<td>{_links(graph, concept, DCTERMS.source)}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def render_docs(out_dir: Path, directory: Path | None = None) -> list[Path]:
    """Render ``index.html`` (pyLODE) and ``concepts.html`` into ``out_dir``."""
    try:
        from pylode import OntPub
    except ImportError as exc:  # pylode is a development extra
        raise OntologyError(
            "rendering the docs needs pyLODE: pip install 'cipd-graph[dev]'"
        ) from exc
    ontology = load_ontology(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.WARNING)  # pyLODE logs its progress on the root logger
    try:
        index = out_dir / "index.html"
        OntPub(ontology=ontology, sort_subjects=True).make_html(destination=index)
    except Exception as exc:  # pyLODE reports content problems as assorted exceptions
        raise OntologyError(f"pyLODE could not render the documentation: {exc}") from exc
    finally:
        root.setLevel(level)
    concepts = out_dir / "concepts.html"
    concepts.write_text(concepts_html(ontology), encoding="utf-8")
    return [index, concepts]
