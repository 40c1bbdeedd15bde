"""JSON-LD: the published context, and framed documents of a project and of a module.

The context (``contexts/cipd.jsonld``, published at :data:`CONTEXT_URL` and served by the API
at ``/contexts/cipd.jsonld``) gives every class and property of the ontology a short term,
with the value types the ontology declares, plus the reused terms the records use. It is
made from the ontology by :func:`build_context`; a test keeps the shipped file equal to it.

An export is the record's triples framed as one tree: the record at the root, what it points
at embedded once below it, and the few things that point *at* it (activities and co-design
sessions of a project, reflections, memberships of its team, the programmes of a module)
embedded through reverse terms. Anything still unplaced goes into ``@included``, so the
document always carries every triple. pyld converts between RDF and JSON-LD and compacts;
nothing is fetched from the network: the context is read from the local file.

>>> CONTEXT_URL in _LOCAL_DOCUMENTS
True
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from pyld import jsonld
from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

from cipd_graph._ontology import PREFIXES, load_ontology
from cipd_graph._resources import data_dir
from cipd_graph.graph import GraphStore
from cipd_graph.interop import Format, FormatError, Option, register
from cipd_graph.interop._common import construct, find_record, select

CONTEXT_URL = "https://w3id.org/cipd/contexts/cipd.jsonld"
CONTEXT_FILE = "cipd.jsonld"

#: Reused (non-cipd) terms the records and exports use, with their value type.
REUSED_TERMS: dict[str, tuple[str, str | None]] = {
    "label": ("rdfs:label", None),
    "comment": ("rdfs:comment", None),
    "identifier": ("dcterms:identifier", None),
    "title": ("dcterms:title", None),
    "description": ("dcterms:description", None),
    "date": ("dcterms:date", "xsd:date"),
    "source": ("dcterms:source", "@id"),
    "startDate": ("schema:startDate", "xsd:date"),
    "endDate": ("schema:endDate", "xsd:date"),
    "provider": ("schema:provider", "@id"),
    "hasCourse": ("schema:hasCourse", "@id"),
    "courseCode": ("schema:courseCode", None),
    "numberOfCredits": ("schema:numberOfCredits", "xsd:integer"),
    "unitText": ("schema:unitText", None),
    "hasMember": ("org:hasMember", "@id"),
    "member": ("org:member", "@id"),
    "organization": ("org:organization", "@id"),
    "role": ("org:role", "@id"),
    "wasAttributedTo": ("prov:wasAttributedTo", "@id"),
    "wasAssociatedWith": ("prov:wasAssociatedWith", "@id"),
    "wasInformedBy": ("prov:wasInformedBy", "@id"),
    "wasDerivedFrom": ("prov:wasDerivedFrom", "@id"),
    "prefLabel": ("skos:prefLabel", None),
    "altLabel": ("skos:altLabel", None),
    "definition": ("skos:definition", None),
    "scopeNote": ("skos:scopeNote", None),
    "notation": ("skos:notation", None),
    "broader": ("skos:broader", "@id"),
    "narrower": ("skos:narrower", "@id"),
    "related": ("skos:related", "@id"),
    "inScheme": ("skos:inScheme", "@id"),
    "topConceptOf": ("skos:topConceptOf", "@id"),
    "hasTopConcept": ("skos:hasTopConcept", "@id"),
    "exactMatch": ("skos:exactMatch", "@id"),
    "closeMatch": ("skos:closeMatch", "@id"),
    "Person": ("foaf:Person", None),
    "Membership": ("org:Membership", None),
    "Concept": ("skos:Concept", None),
    "ConceptScheme": ("skos:ConceptScheme", None),
}
#: Reverse terms: a node lists what points at it through these properties.
REVERSE_TERMS: dict[str, str] = {
    "parts": "cipd:partOfProject",
    "reflections": "cipd:reflectsOn",
    "memberships": "org:organization",
    "inProgrammes": "schema:hasCourse",
}


def _expand(curie: str) -> str:
    prefix, _, local = curie.partition(":")
    return PREFIXES[prefix] + local


def build_context(ontology: Graph | None = None) -> dict[str, Any]:
    """The JSON-LD context of the ontology and of record exports, made from the ontology.

    >>> ctx = build_context()["@context"]
    >>> ctx["hasTeam"], ctx["startDate"]["@type"]
    ({'@id': 'cipd:hasTeam', '@type': '@id'}, 'xsd:date')
    """
    g = ontology if ontology is not None else load_ontology()
    ns = PREFIXES["cipd"]
    terms: dict[str, Any] = {}

    def add(term: str, definition: Any) -> None:
        if term in terms and terms[term] != definition:
            raise ValueError(f"JSON-LD term {term!r} would mean two things")
        terms[term] = definition

    def local(iri: URIRef) -> str:
        return str(iri)[len(ns) :]

    cipd_terms = sorted({s for s in g.subjects(RDF.type, None) if str(s).startswith(ns)}, key=str)
    for s in cipd_terms:
        assert isinstance(s, URIRef)
        types = set(g.objects(s, RDF.type))
        if OWL.ObjectProperty in types:
            add(local(s), {"@id": f"cipd:{local(s)}", "@type": "@id"})
        elif OWL.DatatypeProperty in types:
            ranges = [r for r in g.objects(s, RDFS.range) if str(r).startswith(str(XSD))]
            kind = f"xsd:{str(ranges[0])[len(str(XSD)) :]}" if len(ranges) == 1 else None
            add(
                local(s),
                {"@id": f"cipd:{local(s)}", "@type": kind}
                if kind and kind != "xsd:string"
                else f"cipd:{local(s)}",
            )
        elif OWL.Class in types:
            add(local(s), f"cipd:{local(s)}")
    for term, (curie, kind) in REUSED_TERMS.items():
        add(term, {"@id": curie, "@type": kind} if kind else curie)
    for term, curie in REVERSE_TERMS.items():
        add(term, {"@reverse": curie})
    context: dict[str, Any] = {"@version": 1.1, "id": "@id", "type": "@type"}
    context.update(dict(sorted(PREFIXES.items())))
    context.update(dict(sorted(terms.items())))
    return {"@context": context}


def context_path() -> Path:
    """The shipped context file."""
    return data_dir("contexts") / CONTEXT_FILE


@lru_cache(maxsize=1)
def _shipped_context() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(context_path().read_text(encoding="utf-8"))
    return loaded


_LOCAL_DOCUMENTS = {CONTEXT_URL: _shipped_context}


def document_loader(url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A pyld document loader that serves the published context from the local file only."""
    if url in _LOCAL_DOCUMENTS:
        return {"contextUrl": None, "documentUrl": url, "document": _LOCAL_DOCUMENTS[url]()}
    raise jsonld.JsonLdError(
        f"{url}: cipd-graph loads no remote JSON-LD documents; only {CONTEXT_URL}",
        "jsonld.LoadDocumentError",
        code="loading document failed",
    )


def to_graph(document: Any) -> Graph:
    """Parse a JSON-LD document (using the local context) into an rdflib graph."""
    nquads = jsonld.to_rdf(
        document, {"format": "application/n-quads", "documentLoader": document_loader}
    )
    return Graph().parse(data=nquads, format="nt")


def frame(graph: Graph, root: URIRef) -> dict[str, Any]:
    """``graph`` as one compacted tree rooted at ``root`` (see the module docstring)."""
    # sorted lines: rdflib writes triples in hash order, which differs between runs, and the
    # document follows the order pyld reads them in
    lines = graph.serialize(format="nt", encoding="utf-8").decode("utf-8").splitlines()
    nquads = "\n".join(sorted(line for line in lines if line.strip())) + "\n"
    flat = sorted(
        jsonld.from_rdf(nquads, {"format": "application/n-quads"}), key=lambda n: str(n["@id"])
    )
    nodes: dict[str, dict[str, Any]] = {n["@id"]: n for n in flat}
    reverse = {_expand(c) for c in REVERSE_TERMS.values()}
    incoming: dict[str, list[tuple[str, str]]] = {}
    for node in flat:
        for prop in sorted(reverse & set(node)):
            for value in node[prop]:
                if "@id" in value:
                    incoming.setdefault(value["@id"], []).append((prop, node["@id"]))
    embedded: set[str] = set()

    def embed(node_id: str, via: tuple[str, str] | None = None) -> dict[str, Any]:
        node = copy.deepcopy(nodes[node_id])
        embedded.add(node_id)
        if via is not None:  # implied by the parent's @reverse entry
            prop, parent = via
            node[prop] = [v for v in node[prop] if v.get("@id") != parent]
            if not node[prop]:
                del node[prop]
        for prop in sorted(k for k in node if not k.startswith("@")):
            for i, value in enumerate(node[prop]):
                target = value.get("@id")
                if target in nodes and target not in embedded:
                    node[prop][i] = embed(target)
        for prop, source in sorted(incoming.get(node_id, [])):
            if source not in embedded:
                child = embed(source, (prop, node_id))
                node.setdefault("@reverse", {}).setdefault(prop, []).append(child)
        return node

    tree = embed(str(root))
    rest = [copy.deepcopy(nodes[n]) for n in sorted(nodes) if n not in embedded]
    if rest:
        tree["@included"] = rest
    compacted: dict[str, Any] = jsonld.compact(
        tree, CONTEXT_URL, {"documentLoader": document_loader, "compactArrays": True}
    )
    return compacted


def project_graph(store: GraphStore, project: URIRef) -> Graph:
    """Every triple the project's record file put in the store (its batch graph)."""
    rows = select(
        store,
        "SELECT DISTINCT ?g WHERE { #+ bind\n GRAPH ?g { ?project a cipd:ImprovementProject } }",
        {"project": ox.NamedNode(str(project))},
    )
    graphs = sorted(r["g"].value for r in rows if store.layout.is_record(r["g"].value))
    graph = Graph()
    for name in graphs:
        graph += construct(
            store,
            "CONSTRUCT { ?s ?p ?o } WHERE { #+ bind\n GRAPH ?g { ?s ?p ?o } }",
            {"g": ox.NamedNode(name)},
        )
    return graph


def module_graph(store: GraphStore, module: URIRef) -> Graph:
    """A module, its mappings with the labels and codes of what they map to, its programmes."""
    return construct(
        store,
        "CONSTRUCT { ?module ?p ?o . ?m ?mp ?mo . ?e skos:prefLabel ?el ; skos:notation ?en . "
        " ?prog schema:hasCourse ?module ; rdfs:label ?pl ; dcterms:identifier ?pid } WHERE { "
        " #+ bind\n"
        " { ?module ?p ?o FILTER(?p != cipd:hasMapping || EXISTS { ?o a cipd:ModuleMapping }) } "
        " UNION { ?module cipd:hasMapping ?m . ?m ?mp ?mo } "
        " UNION { ?module cipd:hasMapping/cipd:mapsToElement ?e . "
        "   OPTIONAL { ?e skos:prefLabel ?el FILTER(LANG(?el) IN ('', 'en')) } "
        "   OPTIONAL { ?e skos:notation ?en } } "
        " UNION { ?prog schema:hasCourse ?module . "
        "   OPTIONAL { ?prog rdfs:label ?pl } OPTIONAL { ?prog dcterms:identifier ?pid } } }",
        {"module": ox.NamedNode(str(module))},
    )


def _document(graph: Graph, root: URIRef) -> bytes:
    return (json.dumps(frame(graph, root), indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def write_project(store: GraphStore, options: Mapping[str, str]) -> bytes:
    """The framed JSON-LD of one project (option ``project``)."""
    project = find_record(store, "project", options["project"])
    return _document(project_graph(store, project), project)


def write_module(store: GraphStore, options: Mapping[str, str]) -> bytes:
    """The framed JSON-LD of one module with its mappings (option ``module``)."""
    module = find_record(store, "module", options["module"])
    graph = module_graph(store, module)
    if not graph:
        raise FormatError(f"module {options['module']!r} has no triples in the store")
    return _document(graph, module)


register(
    Format(
        name="jsonld-project",
        title="JSON-LD 1.1 (framed project record, cipd context)",
        media_type="application/ld+json",
        suffix=".jsonld",
        writer=write_project,
        options=(Option("project", "the project's id or IRI", required=True),),
        limits=(
            "Carries every triple of the project's record file; not derived facts (graph/inferred), "
            "the names of people (never exported) or the model elements' own descriptions "
            "(they are IRIs; see `cipd export skos`)."
        ),
        specification="https://www.w3.org/TR/json-ld11/",
    )
)
register(
    Format(
        name="jsonld-module",
        title="JSON-LD 1.1 (framed module with its mappings, cipd context)",
        media_type="application/ld+json",
        suffix=".jsonld",
        writer=write_module,
        options=(Option("module", "the module's id or IRI", required=True),),
        limits=(
            "Carries the module, its mappings (element, strength, justification, who mapped it) "
            "and its programmes; the mapped elements only by IRI, label and code; not the "
            "projects or activities linked to the module beyond their IRIs."
        ),
        specification="https://www.w3.org/TR/json-ld11/",
    )
)
