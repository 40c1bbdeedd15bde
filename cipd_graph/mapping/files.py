"""Record files read and mapped, in load order (reference tables first)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cipd_graph._errors import RecordError, RecordProblem
from cipd_graph.mapping.mapper import MappedFile, Mapper
from cipd_graph.records import LOAD_ORDER, RecordFile, parse_file


def parse_and_map(
    paths: Sequence[Path], mapper: Mapper
) -> tuple[list[MappedFile], list[RecordProblem]]:
    """Parse ``paths`` and map them in load order (reference tables first); the problems of
    the files that could not be parsed."""
    problems: list[RecordProblem] = []
    parsed: list[RecordFile] = []
    for path in paths:
        try:
            parsed.append(parse_file(path))
        except RecordError as exc:
            problems.extend(exc.problems)
    parsed.sort(key=lambda f: (LOAD_ORDER[f.kind], str(f.path)))
    return [mapper.map(f) for f in parsed], problems
