"""cipd-graph: the CIPD tapestry ontology and knowledge graph.

>>> import cipd_graph
>>> model = cipd_graph.load_model()
>>> [row.dimension.notation for row in model.table1]
['doing', 'belonging', 'becoming', 'experience']
"""

from cipd_graph._config import Settings
from cipd_graph._errors import (
    CipdError,
    ConfigError,
    ElementNotFoundError,
    OntologyError,
    RecordError,
    RecordProblem,
    StoreError,
)
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
from cipd_graph._queries import NamedQuery, QueryError, QueryResult, named_queries, run_query
from cipd_graph._reasoner import ReasonerReport, check_with_hermit
from cipd_graph.derive import Rule, rules
from cipd_graph.graph import GraphStore
from cipd_graph.load import LoadResult, Pipeline
from cipd_graph.store import SourceInfo, Store, StoreNotFoundError
from cipd_graph.validation import Finding, ValidationReport

__version__ = "0.1.0"

__all__ = [
    "CIPD",
    "ONTOLOGY_IRI",
    "CipdError",
    "ConfigError",
    "Element",
    "ElementNotFoundError",
    "Finding",
    "GraphStore",
    "LoadResult",
    "Model",
    "NamedQuery",
    "OntologyCounts",
    "OntologyError",
    "Pipeline",
    "QualityCheck",
    "QueryError",
    "QueryResult",
    "ReasonerReport",
    "RecordError",
    "RecordProblem",
    "Rule",
    "Settings",
    "SourceInfo",
    "Store",
    "StoreError",
    "StoreNotFoundError",
    "TableRow",
    "ValidationReport",
    "Violation",
    "__version__",
    "check_with_hermit",
    "curie",
    "load_model",
    "load_ontology",
    "named_queries",
    "ontology_dir",
    "ontology_files",
    "quality_checks",
    "rules",
    "run_quality_checks",
    "run_query",
    "write_merged",
]
