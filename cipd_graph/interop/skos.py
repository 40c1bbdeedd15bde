"""The model as a standalone SKOS vocabulary (Turtle) that thesaurus tools can load and map to.

Only SKOS (and the scheme's ``dcterms`` title/creator/licence) is written: no OWL types,
classes or property axioms. Every concept scheme of the ontology is included with its
concepts, labels (``rdfs:label`` stands in when a concept has no ``skos:prefLabel``),
definitions, notes, notations, ``broader``/``narrower`` (both directions stated),
``related`` (stated both ways), the mapping properties (``exactMatch``, ``closeMatch`` ...),
and ``topConceptOf``/``hasTopConcept`` for concepts with no broader concept in that scheme.
"""

from __future__ import annotations

from collections.abc import Mapping

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, SKOS

from cipd_graph._ontology import CIPD, ONTOLOGY_IRI, PREFIXES
from cipd_graph.graph import GraphStore
from cipd_graph.interop import Format, register

#: Concept properties copied as they are.
COPIED = (
    SKOS.prefLabel,
    SKOS.altLabel,
    SKOS.hiddenLabel,
    SKOS.definition,
    SKOS.scopeNote,
    SKOS.example,
    SKOS.note,
    SKOS.notation,
    SKOS.inScheme,
    SKOS.exactMatch,
    SKOS.closeMatch,
    SKOS.broadMatch,
    SKOS.narrowMatch,
    SKOS.relatedMatch,
)


def skos_graph(ontology: Graph) -> Graph:  # noqa: PLR0912 - one pass per SKOS relation
    """The SKOS vocabulary of the model, made from the ontology graph."""
    out = Graph()
    for prefix in ("skos", "dcterms", "cipd", "xsd"):
        out.bind(prefix, PREFIXES[prefix])
    schemes = sorted(
        s
        for s in ontology.subjects(RDF.type, SKOS.ConceptScheme)
        if isinstance(s, URIRef) and str(s).startswith(str(CIPD))
    )
    concepts = sorted(
        {c for c in ontology.subjects(SKOS.inScheme, None) if isinstance(c, URIRef)}
        & {
            c
            for scheme in schemes
            for c in ontology.subjects(SKOS.inScheme, scheme)
            if isinstance(c, URIRef)
        }
    )
    concept_set = set(concepts)
    for scheme in schemes:
        out.add((scheme, RDF.type, SKOS.ConceptScheme))
        _labels(ontology, out, scheme)
        for p in (SKOS.definition, SKOS.scopeNote):
            for o in ontology.objects(scheme, p):
                out.add((scheme, p, o))
        for p in (DCTERMS.creator, DCTERMS.license):
            for o in ontology.objects(ONTOLOGY_IRI, p):
                out.add((scheme, p, o))
    for concept in concepts:
        out.add((concept, RDF.type, SKOS.Concept))
        _labels(ontology, out, concept)
        for p in COPIED:
            if p == SKOS.prefLabel:
                continue
            for o in ontology.objects(concept, p):
                if p == SKOS.inScheme and o not in schemes:
                    continue
                out.add((concept, p, o))
        for broader in ontology.objects(concept, SKOS.broader):
            if broader in concept_set:
                out.add((concept, SKOS.broader, broader))
                out.add((broader, SKOS.narrower, concept))
        for narrower in ontology.objects(concept, SKOS.narrower):
            if narrower in concept_set:
                out.add((concept, SKOS.narrower, narrower))
                out.add((narrower, SKOS.broader, concept))
        for related in ontology.objects(concept, SKOS.related):
            if related in concept_set:
                out.add((concept, SKOS.related, related))
                out.add((related, SKOS.related, concept))
    for scheme in schemes:
        for member in list(out.subjects(SKOS.inScheme, scheme)):
            parents = [
                b for b in out.objects(member, SKOS.broader) if (b, SKOS.inScheme, scheme) in out
            ]
            if not parents:
                out.add((member, SKOS.topConceptOf, scheme))
                out.add((scheme, SKOS.hasTopConcept, member))
    return out


def _labels(ontology: Graph, out: Graph, subject: URIRef) -> None:
    """prefLabels (one per language), falling back on rdfs:label; altLabels never repeat them."""
    pref: dict[str | None, Literal] = {}
    for label in sorted(ontology.objects(subject, SKOS.prefLabel), key=str):
        if isinstance(label, Literal):
            pref.setdefault(label.language, label)
    for label in sorted(ontology.objects(subject, RDFS.label), key=str):
        if isinstance(label, Literal):
            pref.setdefault(label.language, label)
    for label in pref.values():
        out.add((subject, SKOS.prefLabel, label))
    for alt in ontology.objects(subject, SKOS.altLabel):
        if alt not in pref.values():
            out.add((subject, SKOS.altLabel, alt))


def write_skos(store: GraphStore, options: Mapping[str, str]) -> bytes:
    """The model's concept schemes as SKOS Turtle."""
    graph = skos_graph(store.model.graph)
    return graph.serialize(format="turtle", encoding="utf-8")


register(
    Format(
        name="skos",
        title="SKOS (W3C Simple Knowledge Organization System), Turtle",
        media_type="text/turtle",
        suffix=".ttl",
        writer=write_skos,
        limits=(
            "Carries the concept schemes, concepts, labels, definitions, notes, notations, "
            "broader/narrower/related and the exact/close matches; not the OWL classes, the "
            "model's own relations (realises, weaves into, aims to improve), sequence numbers "
            "or the paper sources, which SKOS has no place for."
        ),
        specification="https://www.w3.org/TR/skos-reference/",
    )
)
