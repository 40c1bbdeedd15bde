"""Which files a load reads, and in what order."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from cipd_graph._errors import RecordProblem
from cipd_graph.records.parse import PROJECT_SUFFIXES, TABLES

#: Reference tables load before projects, in this order, so references resolve.
LOAD_ORDER = {name: i for i, name in enumerate(TABLES)} | {"project": len(TABLES)}


def expand_paths(
    paths: Iterable[Path],
    problems: list[RecordProblem],
    suffixes: Sequence[str] | None = None,
) -> list[Path]:
    """Files named, and files with ``suffixes`` inside folders named (recursively), without repeats.

    ``suffixes`` defaults to those of record files (.yaml, .yml, .json, .csv).
    """
    wanted = tuple(suffixes) if suffixes else (*PROJECT_SUFFIXES, ".csv")
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            inner = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in wanted)
            if not inner:
                problems.append(
                    RecordProblem(
                        str(path), None, "folder", "", f"holds no {', '.join(wanted)} file"
                    )
                )
            found.extend(inner)
        elif path.is_file():
            found.append(path)
        else:
            problems.append(RecordProblem(str(path), None, "file", "", "no such file or folder"))
    unique: dict[Path, Path] = {}
    for p in found:
        unique.setdefault(p.resolve(), p)
    return list(unique.values())
