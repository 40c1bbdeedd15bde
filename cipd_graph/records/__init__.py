"""Stage 1 of the pipeline: record files read into typed records, with located problems.

Project files (YAML or JSON) and reference tables (CSV) are parsed into pydantic records
(:mod:`~cipd_graph.records.parse`); every mistake is a
:class:`~cipd_graph.RecordProblem` naming the file, line, record and field.
"""

from cipd_graph.records.files import LOAD_ORDER, expand_paths
from cipd_graph.records.parse import (
    PROJECT_SUFFIXES,
    TABLES,
    Located,
    RecordFile,
    json_schemas,
    parse_file,
    parse_project,
    parse_table,
    table_kind,
)

__all__ = [
    "LOAD_ORDER",
    "PROJECT_SUFFIXES",
    "TABLES",
    "Located",
    "RecordFile",
    "expand_paths",
    "json_schemas",
    "parse_file",
    "parse_project",
    "parse_table",
    "table_kind",
]
