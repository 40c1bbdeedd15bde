"""Reading the CIPD ontology: its modules, resolved through the catalog, as one graph."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import OWL, RDF

from cipd_graph._config import Settings
from cipd_graph._errors import OntologyError
from cipd_graph._resources import data_dir


class TermNamespace(Namespace):
    """An rdflib ``Namespace`` that makes each of its terms once.

    rdflib builds and checks a new ``URIRef`` on every ``CIPD.Project``; mapping a project
    file looks up about 160 terms, which came to a tenth of the time of parsing and mapping
    it. Here the first look-up keeps the term on the namespace as a plain attribute.
    """

    def __getattr__(self, name: str) -> URIRef:
        if name.startswith("__"):  # Python's own names (pickling, copying) are not terms
            raise AttributeError(name)
        term = self.term(name)
        self.__dict__[name] = term
        return term


CIPD = TermNamespace("https://w3id.org/cipd#")
ONTOLOGY_IRI = URIRef("https://w3id.org/cipd")
UMBRELLA = "cipd.ttl"
CATALOG = "catalog-v001.xml"
_CATALOG_NS = "{urn:oasis:names:tc:entity:xmlns:xml:catalog}"

#: Prefixes used when cipd-graph writes RDF for people to read.
PREFIXES: dict[str, str] = {
    "cipd": str(CIPD),
    "dcterms": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "org": "http://www.w3.org/ns/org#",
    "owl": str(OWL),
    "paper": "https://w3id.org/cipd/paper#",
    "prov": "http://www.w3.org/ns/prov#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "schema": "https://schema.org/",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "src": "https://w3id.org/cipd/sources#",
    "vann": "http://purl.org/vocab/vann/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}


def ontology_dir(settings: Settings | None = None) -> Path:
    """The directory the ontology is read from: ``CIPD_ONTOLOGY`` or the shipped copy."""
    settings = settings or Settings.from_env()
    return settings.ontology_dir or data_dir("ontology")


def read_catalog(directory: Path) -> dict[str, Path]:
    """Map each module IRI named in ``catalog-v001.xml`` to its file.

    >>> cat = read_catalog(ontology_dir())
    >>> cat["https://w3id.org/cipd/core"].name
    'core.ttl'
    """
    path = directory / CATALOG
    try:
        root = ET.parse(path).getroot()  # noqa: S314 - a file shipped with the package
    except (OSError, ET.ParseError) as exc:
        raise OntologyError(f"{path}: cannot read the import catalog: {exc}") from exc
    mapping: dict[str, Path] = {}
    for entry in root.iter(f"{_CATALOG_NS}uri"):
        name, target = entry.get("name"), entry.get("uri")
        if not name or not target:
            raise OntologyError(f"{path}: a <uri> entry lacks its 'name' or 'uri' attribute")
        mapping[name] = directory / target
    return mapping


def _parse(path: Path) -> Graph:
    graph = Graph()
    try:
        graph.parse(path, format="turtle")
    except FileNotFoundError as exc:
        raise OntologyError(f"{path}: file not found") from exc
    except Exception as exc:  # rdflib raises many parser exception types
        raise OntologyError(f"{path}: not valid Turtle: {exc}") from exc
    return graph


def ontology_files(directory: Path | None = None) -> list[Path]:
    """The umbrella file followed by every module it imports, transitively, in order.

    >>> [p.name for p in ontology_files()][:3]
    ['cipd.ttl', 'actors.ttl', 'core.ttl']
    """
    directory = directory or ontology_dir()
    catalog = read_catalog(directory)
    order: list[Path] = []
    pending: list[tuple[Path, Graph]] = []
    umbrella = directory / UMBRELLA
    pending.append((umbrella, _parse(umbrella)))
    seen = {umbrella}
    while pending:
        path, graph = pending.pop(0)
        order.append(path)
        imports = sorted(str(o) for o in graph.objects(None, OWL.imports))
        for iri in imports:
            target = catalog.get(iri)
            if target is None:
                raise OntologyError(
                    f"{path}: owl:imports <{iri}> has no entry in {directory / CATALOG}"
                )
            if target not in seen:
                seen.add(target)
                pending.append((target, _parse(target)))
    return order


@lru_cache(maxsize=4)
def _merged_triples(directory: Path, stamp: tuple[float, ...]) -> tuple[tuple[object, ...], ...]:
    del stamp  # part of the cache key only: edits to the files invalidate the cache
    merged = Graph()
    module_iris: set[URIRef] = set()
    for path in ontology_files(directory):
        graph = _parse(path)
        for onto in graph.subjects(RDF.type, OWL.Ontology):
            if onto != ONTOLOGY_IRI and isinstance(onto, URIRef):
                module_iris.add(onto)
        merged += graph
    for onto in module_iris:
        merged.remove((onto, None, None))
    merged.remove((ONTOLOGY_IRI, OWL.imports, None))
    return tuple(merged)


def load_ontology(directory: Path | None = None) -> Graph:
    """The whole ontology as one rdflib graph with a single ontology header.

    Module headers and ``owl:imports`` are dropped, so the result is what a
    merged release contains and what reasoners load without fetching anything.

    >>> g = load_ontology()
    >>> (CIPD.Strand, None, None) in g
    True
    """
    directory = (directory or ontology_dir()).resolve()
    stamp = tuple(p.stat().st_mtime for p in sorted(directory.rglob("*")) if p.is_file())
    graph = Graph()
    for prefix, ns in PREFIXES.items():
        graph.bind(prefix, ns)
    for triple in _merged_triples(directory, stamp):
        graph.add(triple)  # type: ignore[arg-type]
    return graph


def write_merged(out_dir: Path, directory: Path | None = None) -> list[Path]:
    """Write the merged ontology as Turtle, N-Triples and RDF/XML into ``out_dir``."""
    graph = load_ontology(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt, suffix in (("turtle", "ttl"), ("nt", "nt"), ("pretty-xml", "owl")):
        target = out_dir / f"cipd-merged.{suffix}"
        graph.serialize(target, format=fmt, encoding="utf-8")
        written.append(target)
    return written


def local_name(iri: str | URIRef) -> str:
    """The part of an IRI after its last ``#`` or ``/``.

    >>> local_name("https://w3id.org/cipd#Strand")
    'Strand'
    """
    text = str(iri)
    return text.rsplit("#", 1)[-1] if "#" in text else text.rstrip("/").rsplit("/", 1)[-1]


def curie(iri: str | URIRef, prefixes: Iterable[tuple[str, str]] = PREFIXES.items()) -> str:
    """Shorten an IRI with the known prefixes, or return it unchanged.

    >>> curie("https://w3id.org/cipd#LearningAsDoing")
    'cipd:LearningAsDoing'
    """
    text = str(iri)
    for prefix, ns in prefixes:
        if text.startswith(ns) and len(text) > len(ns):
            return f"{prefix}:{text[len(ns) :]}"
    return text
