"""Where the files shipped with cipd-graph (ontology, queries) are found."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The directory of shipped data called ``name`` (``ontology`` or ``queries``).

    An installed wheel carries them in ``cipd_graph/_data``; a source checkout
    (editable install) keeps them at the repository root.

    >>> (data_dir("ontology") / "cipd.ttl").is_file()
    True
    """
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"cipd-graph data directory {name!r} is missing from the installation")
