"""Stage 2 of the pipeline: records mapped to RDF, with deterministic IRIs and pseudonyms.

A :class:`Mapper` turns a :class:`~cipd_graph.records.RecordFile` into a
:class:`MappedFile`: its record graph, people's names (kept apart) and where each subject
came from. People get keyed pseudonyms (:class:`Pseudonymiser`); names never enter a record
graph.
"""

from cipd_graph.mapping.files import parse_and_map
from cipd_graph.mapping.mapper import MappedFile, Mapper, record_graph
from cipd_graph.mapping.pseudonym import Pseudonymiser

__all__ = ["MappedFile", "Mapper", "Pseudonymiser", "parse_and_map", "record_graph"]
