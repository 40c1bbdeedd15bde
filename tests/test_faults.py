"""Faults: a load killed inside its transaction, and readers that run while a writer writes.

The kill tests are deterministic: the child's store hangs inside the load's one transaction
(see tests/fault_children.py) and says so through a marker file; the test kills it with
SIGKILL only then, so the kill lands after every operation of the transaction has run and
before it commits.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from cipd_graph import Settings
from cipd_graph.graph import GraphStore

from .conftest import ROOT, SAMPLES
from .fault_children import read_state, state_query

KEY = "fault-test-key-0123456789"
REFERENCE = SAMPLES / "reference"
PROJECTS = SAMPLES / "projects"
WARD7 = PROJECTS / "ward7-falls.yaml"
PROJECT_IRI = "https://w3id.org/cipd/data/project/ward7-falls"
INFERRED = "https://w3id.org/cipd/data/graph/inferred/"


def env_for(store: Path) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CIPD_")}
    environ.update({"CIPD_STORE": str(store), "CIPD_PSEUDONYM_KEY": KEY, "CIPD_USER": "faults"})
    # A staged load killed by these tests writes its chunks to disk every two or three
    # (2,500 quads), so that it is killed with pending files and disk writes under way.
    environ["CIPD_STAGE_QUADS"] = "2500"
    return environ


def settings_for(store: Path) -> Settings:
    return Settings(store=str(store), pseudonym_key=KEY, user="faults")


def child(*args: str, store: Path, **kwargs: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.fault_children", *args],
        cwd=ROOT,
        env=env_for(store),
        text=True,
        **kwargs,
    )


def quads(store: Path) -> set[str]:
    with GraphStore(store, settings_for(store)) as s:
        return {str(q) for q in s.oxigraph}


def records_and_derived(s: GraphStore) -> set[str]:
    """Records and derived facts: not provenance (its load times differ from load to load),
    the ontology (its blank nodes differ) nor the store's version (new with every write)."""
    return {
        str(q)
        for q in s.oxigraph
        if str(q.graph_name).startswith("<https://w3id.org/cipd/data/")
        and "/provenance>" not in str(q.graph_name)
        and str(q.graph_name) != f"<{s.layout.meta}>"
    }


def kill_when_marked(process: subprocess.Popen[str], marker: Path, what: str) -> None:
    """SIGKILL ``process`` as soon as it writes ``marker`` (it then waits there for the kill)."""
    deadline = time.monotonic() + 240
    try:
        while not marker.exists():
            if process.poll() is not None:
                out, err = process.communicate()
                pytest.fail(f"the load ended before {what}:\n{out}\n{err}")
            assert time.monotonic() < deadline, f"the load never reached {what}"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL


def kill_inside_the_transaction(store: Path, marker: Path, *args: str) -> None:
    process = child(
        "hang", str(marker), *args, store=store, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    kill_when_marked(process, marker, "its transaction hung")


@pytest.mark.parametrize("how", ["load", "cli"])
def test_a_load_killed_inside_its_transaction_leaves_the_store_as_before(tmp_path: Path, how: str):
    store = tmp_path / "store"
    with GraphStore(store, settings_for(store)) as s:
        assert s.load([REFERENCE]).ok
    before = quads(store)
    batch = [WARD7, PROJECTS / "xray-repeat-rates.yaml"]
    args = [str(p) for p in batch] if how == "load" else ["load", *map(str, batch)]
    kill_inside_the_transaction(store, tmp_path / "inside", how, *args)

    # Reopened, the store holds exactly what it held before: nothing of the killed load.
    assert quads(store) == before
    # And it still works: the same load now succeeds and gives what a clean load gives.
    with GraphStore(store, settings_for(store)) as s:
        assert s.load(batch).ok
        after = records_and_derived(s)
        assert len(s.record_graphs()) == len(list(REFERENCE.glob("*.csv"))) + 2
    clean = tmp_path / "clean"
    with GraphStore(clean, settings_for(clean)) as s:
        assert s.load([REFERENCE]).ok and s.load(batch).ok
        assert records_and_derived(s) == after


def test_a_reload_killed_inside_its_transaction_keeps_the_earlier_version(tmp_path: Path):
    """Killing the replacement of a loaded file keeps the old version whole: data, provenance, derived facts."""
    store = tmp_path / "store"
    project = tmp_path / "records" / "ward7-falls.yaml"
    project.parent.mkdir()
    shutil.copyfile(WARD7, project)
    with GraphStore(store, settings_for(store)) as s:
        assert s.load([REFERENCE, project]).ok
    before = quads(store)
    project.write_text(without_learning_activities(WARD7.read_text(encoding="utf-8")), "utf-8")
    kill_inside_the_transaction(store, tmp_path / "inside", "load", str(project))
    assert quads(store) == before


# --------------------------------------------------------------------------- concurrent readers


def without_learning_activities(text: str) -> str:
    """Version B of ward7-falls: no learning activities (fewer triples, fewer derived facts)."""
    start, end = text.index("learning_activities:\n"), text.index("reflections:\n")
    return text[:start] + text[end:]


def expected_states(tmp_path: Path, versions: list[Path]) -> dict[str, dict[str, Any]]:
    """The state of the batch after loading each version, measured on a scratch store."""
    scratch = tmp_path / "scratch"
    path = tmp_path / "work" / "ward7-falls.yaml"
    states: dict[str, dict[str, Any]] = {}
    with GraphStore(scratch, settings_for(scratch)) as s:
        assert s.load([REFERENCE]).ok
        for version in versions:
            shutil.copyfile(version, path)
            assert s.load([path]).ok
            query = state_query(s.batch_graph(path), PROJECT_IRI, INFERRED)
            state = read_state(s.oxigraph, query)
            states[state["sha"]] = state
    return states


@pytest.mark.slow
def test_readers_see_the_old_or_the_new_batch_never_half(tmp_path: Path):
    """A writer process reloads a file with two versions in turn; reader processes open the
    store read-only over and over (as the SPARQL endpoint does for each query) and must find
    each batch whole: its data, its provenance and its derived facts from the same version."""
    versions = [tmp_path / "a.yaml", tmp_path / "b.yaml"]
    shutil.copyfile(WARD7, versions[0])
    versions[1].write_text(without_learning_activities(WARD7.read_text("utf-8")), "utf-8")
    (tmp_path / "work").mkdir()
    states = expected_states(tmp_path, versions)
    assert len(states) == 2
    a, b = states.values()
    assert a["data"] != b["data"] and a["derived"] != b["derived"]

    store = tmp_path / "store"
    path = tmp_path / "work" / "ward7-falls.yaml"
    shutil.copyfile(versions[0], path)
    with GraphStore(store, settings_for(store)) as s:
        assert s.load([REFERENCE, path]).ok
        graph = s.batch_graph(path)
    done = tmp_path / "done"
    outs = [tmp_path / f"reader-{i}.json" for i in range(2)]
    readers = [
        child("reader", str(store), graph, PROJECT_IRI, str(out), str(done), store=store)
        for out in outs
    ]
    writer = child(
        "writer",
        str(path),
        *map(str, versions),
        "12",
        str(done),
        store=store,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        out, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, out + err
    finally:
        done.touch()
        for reader in readers:
            reader.wait(timeout=60)
    seen: list[dict[str, Any]] = []
    for out_file in outs:
        report = json.loads(out_file.read_text("utf-8"))
        assert report["errors"] == [], report["errors"][:3]
        seen.extend(report["states"])
    assert len(seen) >= 10, "the readers hardly read"
    for state in seen:
        assert state["sha"] in states, state
        assert state == states[state["sha"]], "a half-written batch was visible"
    assert {s["sha"] for s in seen} == set(states), "the readers never saw the writes happen"
