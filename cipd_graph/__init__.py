"""cipd-graph: the CIPD tapestry ontology and knowledge graph.

>>> import cipd_graph
>>> model = cipd_graph.load_model()
>>> [row.dimension.notation for row in model.table1]
['doing', 'belonging', 'becoming', 'experience']
"""

from cipd_graph._config import Settings
from cipd_graph._errors import CipdError, ConfigError, ElementNotFoundError, OntologyError
from cipd_graph._model import Element, Model, OntologyCounts, TableRow, load_model
from cipd_graph._ontology import (
    CIPD,
    ONTOLOGY_IRI,
    curie,
    load_ontology,
    ontology_dir,
    ontology_files,
    write_merged,
)
from cipd_graph._qc import QualityCheck, Violation, quality_checks, run_quality_checks
from cipd_graph._reasoner import ReasonerReport, check_with_hermit

__version__ = "0.1.0"

__all__ = [
    "CIPD",
    "ONTOLOGY_IRI",
    "CipdError",
    "ConfigError",
    "Element",
    "ElementNotFoundError",
    "Model",
    "OntologyCounts",
    "OntologyError",
    "QualityCheck",
    "ReasonerReport",
    "Settings",
    "TableRow",
    "Violation",
    "__version__",
    "check_with_hermit",
    "curie",
    "load_model",
    "load_ontology",
    "ontology_dir",
    "ontology_files",
    "quality_checks",
    "run_quality_checks",
    "write_merged",
]
