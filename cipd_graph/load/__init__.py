"""The load pipeline: the one place where records become stored, validated, derived graphs.

Records -> map -> validate -> write -> derive, each stage its own package
(:mod:`cipd_graph.records`, :mod:`cipd_graph.mapping`, :mod:`cipd_graph.validation`,
:mod:`cipd_graph.store`, :mod:`cipd_graph.derive`); :class:`Pipeline` strings them
together, batch by batch (:mod:`~cipd_graph.load.pipeline`) or staged in workers
(:mod:`~cipd_graph.load.staged`, :mod:`~cipd_graph.load.workers`), and owns atomicity
and provenance (:mod:`~cipd_graph.load.batches`).
"""

from cipd_graph.load.batches import TOOL_VERSION, batch_graph
from cipd_graph.load.pipeline import Pipeline
from cipd_graph.load.result import BatchSummary, LoadResult, Progress, Stage

__all__ = [
    "TOOL_VERSION",
    "BatchSummary",
    "LoadResult",
    "Pipeline",
    "Progress",
    "Stage",
    "batch_graph",
]
