"""Stage 3 of the pipeline: SHACL validation of mapped records against ``shapes/``.

:func:`validate_graph` runs the built-in engine (:mod:`~cipd_graph.validation.shacl`) or
pyshacl (``CIPD_SHACL=pyshacl``) and gives a :class:`ValidationReport` of located
:class:`Finding`\\ s.
"""

from cipd_graph.validation.report import (
    Finding,
    ValidationReport,
    graphs_union,
    shape_blank_nodes,
    shapes_graph,
    validate_graph,
)

__all__ = [
    "Finding",
    "ValidationReport",
    "graphs_union",
    "shape_blank_nodes",
    "shapes_graph",
    "validate_graph",
]
