"""Child processes for the fault tests (tests/test_faults.py), run as ``python -m tests.fault_children``.

``hang MARKER load PATH...`` and ``hang MARKER cli ARGS...`` load records (through the library or
through the ``cipd`` command line) with a store whose every SPARQL update ends with one more
operation that calls a custom function: that function writes MARKER and then sleeps. The
marker therefore appears while the load's single transaction is open, after every other
operation of it has run, and the parent can SIGKILL the process at exactly that moment.

``staged MARKER STAGE PATH...`` runs a staged load in chunks of 7 files that writes MARKER and
sleeps when its progress message starts with STAGE ("staged chunk 2/", "swapping", "swapped").

``write MARKER STAGE PATH...`` runs a load of a few files (not staged) that writes MARKER and
sleeps in the same way: into a store holding an earlier ontology, its write derives everything
again in a checkpoint ("deriving every fact again", "swapping", "swapped").

``writer PATH A B ROUNDS DONE`` reloads the project file PATH alternately with the contents of
files A and B, ROUNDS times, then writes DONE.

``reader STORE GRAPH PROJECT OUT DONE`` reads the store read-only over and over, as the SPARQL
endpoint does for each query (``cipd_graph._sparql.read_only``), until DONE exists, and writes
every state it saw, and every error, to OUT (JSON).
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pyoxigraph as ox

HANG = ox.NamedNode("urn:cipd-test:hang")
HANG_STEP = (
    " ;\nINSERT { GRAPH <urn:cipd-test:never> { <urn:cipd-test:s> <urn:cipd-test:p> ?v } } "
    "WHERE { BIND(<urn:cipd-test:hang>() AS ?v) }"
)


def install_hanging_store(marker: Path) -> None:
    """Make every ``pyoxigraph.Store`` hang inside its update transactions (after writing ``marker``)."""
    real = ox.Store

    def hang(*_args: Any) -> None:
        marker.write_text("inside the transaction\n", encoding="utf-8")
        time.sleep(600)

    class HangingStore:
        read_only = staticmethod(real.read_only)

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._real = real(*args, **kwargs)

        def update(self, update: str, **kwargs: Any) -> None:
            self._real.update(update + HANG_STEP, custom_functions={HANG: hang}, **kwargs)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._real, name)

        def __iter__(self) -> Any:
            return iter(self._real)

        def __len__(self) -> int:
            return len(self._real)

        def __contains__(self, quad: object) -> bool:
            return quad in self._real

    ox.Store = HangingStore  # type: ignore[misc,assignment]


def state_query(graph: str, project: str, inferred: str) -> str:
    """One SELECT (so one snapshot) giving a batch's data size, its provenance, its derived
    facts (``inferred``: the prefix of the derived graphs) and the union's triples about it."""
    return f"""
    PREFIX cipd: <https://w3id.org/cipd#>
    PREFIX prov: <http://www.w3.org/ns/prov#>
    SELECT ?data ?declared ?sha ?derived ?union WHERE {{
      {{ SELECT (COUNT(*) AS ?data) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }} }}
      {{ SELECT (COUNT(*) AS ?derived) WHERE {{
           GRAPH ?g {{ ?s ?p ?o FILTER(STRSTARTS(STR(?s), "{project}")) }}
           FILTER(STRSTARTS(STR(?g), "{inferred}")) }} }}
      {{ SELECT (COUNT(*) AS ?union) WHERE {{ ?s ?p ?o FILTER(STRSTARTS(STR(?s), "{project}")) }} }}
      OPTIONAL {{ GRAPH <{graph}/provenance> {{
        <{graph}> cipd:tripleCount ?declared ; prov:wasDerivedFrom ?file . ?file cipd:sha256 ?sha }} }}
    }}"""


def read_state(store: ox.Store, query: str) -> dict[str, Any]:
    """The state ``state_query`` describes, as plain values."""
    (row,) = list(store.query(query))  # type: ignore[arg-type]
    return {
        "data": int(row["data"].value),
        "declared": int(row["declared"].value) if row["declared"] is not None else None,
        "sha": row["sha"].value if row["sha"] is not None else None,
        "derived": int(row["derived"].value),
        "union": int(row["union"].value),
    }


def _writer(path: Path, versions: list[Path], rounds: int, done: Path) -> None:
    from cipd_graph.graph import GraphStore

    with GraphStore.open() as store:
        for i in range(rounds):
            shutil.copyfile(versions[i % 2], path)
            result = store.load([path])
            assert result.ok, result.to_text()
    done.write_text("done\n", encoding="utf-8")


def _reader(store_dir: Path, graph: str, project: str, out: Path, done: Path) -> None:
    from cipd_graph._errors import CipdError
    from cipd_graph._sparql import read_only

    query = state_query(graph, project, "https://w3id.org/cipd/data/graph/inferred/")
    seen: list[dict[str, Any]] = []
    errors: list[str] = []
    while not done.exists():
        try:  # the way the SPARQL endpoint reads the store for each query
            seen.append(read_only(store_dir / "oxigraph", lambda s: read_state(s, query)))
        except CipdError as exc:  # recorded: the test decides what is acceptable
            errors.append(str(exc))
    out.write_text(json.dumps({"states": seen, "errors": errors}), encoding="utf-8")


def _staged(marker: Path, stage: str, paths: list[Path], *, staged: bool = True) -> None:
    """A load (staged: in chunks of 7 files) that writes ``marker`` and sleeps when its
    progress message starts with ``stage``."""
    from cipd_graph.graph import GraphStore

    def progress(message: str) -> None:
        if message.startswith(stage):
            marker.write_text(message + "\n", encoding="utf-8")
            time.sleep(600)

    with GraphStore.open() as store:
        store.load(paths, staged=staged, chunk=7, progress=progress)


def main(argv: list[str]) -> None:
    """Dispatch on the first argument (see the module docstring)."""
    command, *rest = argv
    if command == "hang":
        marker, how, *args = rest
        install_hanging_store(Path(marker))
        if how == "cli":
            from cipd_graph.cli import main as cli_main

            sys.argv = ["cipd", *args]
            cli_main()
        else:
            from cipd_graph.graph import GraphStore

            with GraphStore.open() as store:
                store.load([Path(a) for a in args])
    elif command == "staged":
        marker, stage, *args = rest
        _staged(Path(marker), stage, [Path(a) for a in args])
    elif command == "write":
        marker, stage, *args = rest
        _staged(Path(marker), stage, [Path(a) for a in args], staged=False)
    elif command == "writer":
        path, a, b, rounds, done = rest
        _writer(Path(path), [Path(a), Path(b)], int(rounds), Path(done))
    elif command == "reader":
        store_dir, graph, project, out, done = rest
        _reader(Path(store_dir), graph, project, Path(out), Path(done))
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
