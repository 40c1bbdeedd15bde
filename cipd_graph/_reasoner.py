"""Checking the ontology with a DL reasoner (HermiT, through owlready2; needs Java)."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph

from cipd_graph._errors import OntologyError


@dataclass(frozen=True)
class ReasonerReport:
    """What the reasoner concluded about a graph."""

    consistent: bool
    unsatisfiable: tuple[str, ...] = ()
    message: str = ""
    classes: int = 0
    individuals: int = field(default=0)

    @property
    def ok(self) -> bool:
        """Consistent and without unsatisfiable classes."""
        return self.consistent and not self.unsatisfiable


def check_with_hermit(graph: Graph) -> ReasonerReport:
    """Load ``graph`` into owlready2 and classify it with HermiT.

    Raises :class:`OntologyError` when Java is missing or owlready2 cannot load
    the graph (for instance because of OWL punning, which owlready2 rejects).
    """
    if shutil.which("java") is None:
        raise OntologyError(
            "the HermiT reasoner needs Java: install a JRE (e.g. default-jre-headless)"
        )
    import owlready2  # imported here: it is slow to import and only needed for reasoning

    world = owlready2.World()
    with tempfile.TemporaryDirectory(prefix="cipd-reason-") as tmp:
        path = Path(tmp) / "cipd-merged.nt"
        graph.serialize(path, format="nt", encoding="utf-8")
        try:
            onto = world.get_ontology(path.as_uri()).load(format="ntriples")
        except Exception as exc:  # owlready2 raises plain exceptions on bad OWL
            raise OntologyError(f"owlready2 cannot load the ontology: {exc}") from exc
        try:
            with onto:
                owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0)
        except owlready2.OwlReadyInconsistentOntologyError as exc:
            detail = str(exc).strip()[:2000] or "HermiT found no model of the ontology"
            return ReasonerReport(consistent=False, message=detail)
        unsat = tuple(
            sorted(c.iri for c in world.inconsistent_classes() if c is not owlready2.Nothing)
        )
        return ReasonerReport(
            consistent=True,
            unsatisfiable=unsat,
            classes=len(list(world.classes())),
            individuals=len(list(world.individuals())),
        )
