"""A small typed view of the CIPD model, read from the ontology (nothing hard-coded)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from cipd_graph._errors import ElementNotFoundError
from cipd_graph._ontology import CIPD, ONTOLOGY_IRI, PREFIXES, curie, load_ontology, local_name

_DCTERMS_SOURCE = URIRef("http://purl.org/dc/terms/source")


@dataclass(frozen=True, slots=True)
class Element:
    """One model element: a SKOS concept of the tapestry model scheme."""

    iri: str
    label: str
    definition: str
    kind: str
    notation: str | None = None
    sequence: int | None = None
    alt_labels: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    broader: tuple[str, ...] = ()

    @property
    def curie(self) -> str:
        """The IRI shortened with the ``cipd:`` prefix."""
        return curie(self.iri)


@dataclass(frozen=True, slots=True)
class TableRow:
    """A row of Table 1: a social learning dimension and the practice that realises it."""

    dimension: Element
    practice: Element


@dataclass(frozen=True, slots=True)
class OntologyCounts:
    """How many terms of each kind the cipd namespace declares."""

    classes: int
    object_properties: int
    datatype_properties: int
    concepts: int
    concept_schemes: int


def _text(graph: Graph, subject: URIRef, predicate: URIRef) -> str | None:
    values = [o for o in graph.objects(subject, predicate) if isinstance(o, Literal)]
    english = [v for v in values if v.language in (None, "en")]
    chosen = sorted(english or values, key=str)
    return str(chosen[0]) if chosen else None


def _in_cipd(node: object) -> bool:
    return isinstance(node, URIRef) and str(node).startswith(str(CIPD))


class Model:
    """The CIPD model: every element with its relations, as the ontology states them.

    >>> model = load_model()
    >>> [s.notation for s in model.strands]
    ['IPW', 'IPL', 'WBL', 'SI']
    >>> model.element("doing").label
    'Learning as doing'
    >>> model.realised_by(model.element("cipd:LearningAsBecoming")).label
    'Identifying oneself as an improver'
    """

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.version = _text(graph, ONTOLOGY_IRI, OWL.versionInfo) or "unversioned"
        self._elements = self._read_elements()

    # -- reading ---------------------------------------------------------
    def _element_kinds(self) -> set[URIRef]:
        kinds: set[URIRef] = set()
        frontier = [CIPD.ModelElement]
        while frontier:
            cls = frontier.pop()
            if cls in kinds:
                continue
            kinds.add(cls)
            frontier.extend(
                s
                for s in self.graph.subjects(RDFS.subClassOf, cls)
                if isinstance(s, URIRef) and _in_cipd(s)
            )
        return kinds

    def _read_elements(self) -> dict[str, Element]:
        g = self.graph
        kinds = self._element_kinds()
        elements: dict[str, Element] = {}
        for kind in kinds:
            for subject in g.subjects(RDF.type, kind):
                if not isinstance(subject, URIRef):
                    continue
                seq = _text(g, subject, CIPD.sequence)
                elements[str(subject)] = Element(
                    iri=str(subject),
                    label=_text(g, subject, RDFS.label) or local_name(subject),
                    definition=_text(g, subject, SKOS.definition) or "",
                    kind=local_name(kind),
                    notation=_text(g, subject, SKOS.notation),
                    sequence=int(seq) if seq is not None else None,
                    alt_labels=tuple(sorted(str(o) for o in g.objects(subject, SKOS.altLabel))),
                    sources=tuple(
                        sorted(curie(str(o)) for o in g.objects(subject, _DCTERMS_SOURCE))
                    ),
                    broader=tuple(sorted(str(o) for o in g.objects(subject, SKOS.broader))),
                )
        return elements

    def _related(self, subject: str, predicate: URIRef) -> list[Element]:
        found = [
            self._elements[str(o)]
            for o in self.graph.objects(URIRef(subject), predicate)
            if str(o) in self._elements
        ]
        return _ordered(found)

    # -- public API ------------------------------------------------------
    @property
    def elements(self) -> Mapping[str, Element]:
        """Every model element by IRI."""
        return self._elements

    def __iter__(self) -> Iterator[Element]:
        return iter(_ordered(list(self._elements.values())))

    def __len__(self) -> int:
        return len(self._elements)

    def of_kind(self, kind: str) -> list[Element]:
        """Elements whose class is ``kind`` (a local name such as ``Strand``), in paper order."""
        return _ordered([e for e in self._elements.values() if e.kind == kind])

    @property
    def strands(self) -> list[Element]:
        """The four strands, in the order the paper names them."""
        return self.of_kind("Strand")

    @property
    def dimensions(self) -> list[Element]:
        """The four social learning dimensions of Table 1."""
        return self.of_kind("SocialLearningDimension")

    @property
    def table1(self) -> list[TableRow]:
        """Table 1: each dimension with the improvement-learning practice that realises it."""
        return [TableRow(d, self.realised_by(d)) for d in self.dimensions]

    def realised_by(self, dimension: Element) -> Element:
        """The practice that realises a social learning dimension (``cipd:isRealisedBy``)."""
        practices = self._related(dimension.iri, CIPD.isRealisedBy)
        if len(practices) != 1:
            raise ElementNotFoundError(
                f"{dimension.curie} should be realised by exactly one practice, "
                f"the ontology gives {len(practices)}"
            )
        return practices[0]

    @property
    def centre(self) -> Element:
        """The centre of the tapestry: the element the strands are woven into."""
        centres = {e.iri for s in self.strands for e in self._related(s.iri, CIPD.weavesInto)}
        if len(centres) != 1:
            raise ElementNotFoundError(f"the strands weave into {len(centres)} centres, not one")
        return self._elements[centres.pop()]

    @property
    def integrating_medium(self) -> Element:
        """The element that integrates the strands (social learning)."""
        for subject in self.graph.subjects(CIPD.integrates, None):
            if str(subject) in self._elements:
                return self._elements[str(subject)]
        raise ElementNotFoundError("no element integrates the strands")

    def integrates_across(self) -> list[Element]:
        """What the integrating medium joins the strands across (the permeable membranes)."""
        return self._related(self.integrating_medium.iri, CIPD.integratesAcross)

    def grounding(self) -> list[Element]:
        """What the centre of the tapestry is grounded in."""
        return self._related(self.centre.iri, CIPD.isGroundedIn)

    def outcomes_of(self, element: Element) -> list[Element]:
        """The outcomes an element aims to improve."""
        return self._related(element.iri, CIPD.aimsToImprove)

    def narrower(self, element: Element) -> list[Element]:
        """Elements whose ``skos:broader`` is ``element``."""
        return _ordered([e for e in self._elements.values() if element.iri in e.broader])

    def element(self, key: str) -> Element:
        """Find an element by IRI, CURIE (``cipd:X``), local name or notation.

        >>> load_model().element("IPL").curie
        'cipd:InterprofessionalLearning'
        """
        key = key.strip()
        for prefix, ns in PREFIXES.items():
            if key.startswith(f"{prefix}:") and not key.startswith(f"{prefix}://"):
                key = ns + key[len(prefix) + 1 :]
                break
        if key in self._elements:
            return self._elements[key]
        if str(CIPD) + key in self._elements:
            return self._elements[str(CIPD) + key]
        by_notation = [e for e in self._elements.values() if e.notation == key]
        if len(by_notation) == 1:
            return by_notation[0]
        raise ElementNotFoundError(
            f"no model element {key!r}: give an IRI, a CURIE such as cipd:LearningAsDoing, "
            "a local name or a notation such as IPW (`cipd model` lists them)"
        )

    def counts(self) -> OntologyCounts:
        """How many classes, properties, concepts and schemes the cipd namespace declares."""

        def count(rdf_type: URIRef) -> int:
            return sum(1 for s in set(self.graph.subjects(RDF.type, rdf_type)) if _in_cipd(s))

        concepts = {
            s
            for s in self.graph.subjects(RDF.type, None)
            if _in_cipd(s)
            and (s, RDF.type, OWL.NamedIndividual) in self.graph
            and (s, RDF.type, SKOS.ConceptScheme) not in self.graph
        }
        return OntologyCounts(
            classes=count(OWL.Class),
            object_properties=count(OWL.ObjectProperty),
            datatype_properties=count(OWL.DatatypeProperty),
            concepts=len(concepts),
            concept_schemes=count(SKOS.ConceptScheme),
        )


def _ordered(elements: list[Element]) -> list[Element]:
    return sorted(elements, key=lambda e: (e.kind, e.sequence or 10_000, e.label))


def load_model(directory: Path | None = None) -> Model:
    """Read the model from the ontology (``CIPD_ONTOLOGY`` or the shipped copy)."""
    return Model(load_ontology(directory))
