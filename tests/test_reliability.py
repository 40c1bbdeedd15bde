"""Reliability, black-box (the ``cipd`` command and HTTP only): SIGKILL at random points of
every load path, and a real full disk (issue 23).

Each load path runs once to the end (its duration T and the store it leaves: *after*), then
is killed with SIGKILL at random moments within T, each time on a fresh copy of the store it
started from (*before*). The store must then be *before* or *after*, compared by a hash of
its sorted N-Quads export (:func:`tests.processes.state`), every process the killed one had
started must be gone, and the same load run again must leave *after*. The kill times come
from a seed printed with each result (``CIPD_TEST_SEED=N`` repeats a run).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from cipd_graph import Settings
from cipd_graph._generate import generate
from cipd_graph.graph import GraphStore

from .conftest import ROOT, SAMPLES
from .processes import (
    KEY,
    TOKEN,
    cipd,
    cipd_env,
    descendants,
    kill_all,
    served,
    state,
    wait_gone,
)

SEED = int(os.environ.get("CIPD_TEST_SEED", str(time.time_ns() % 1_000_000)))
KILLS = 3  # per load path
XAPI = ROOT / "tests" / "fixtures" / "interop" / "xapi-statements.json"
#: Kills made and stores found intact over the module (printed at its end).
TALLY = {"kills": 0, "intact": 0}

Start = Callable[[Path], subprocess.Popen[bytes]]


@pytest.fixture(scope="module", autouse=True)
def _report_tally() -> object:
    yield
    print(f"\nreliability: {TALLY['kills']} kills, {TALLY['intact']} stores intact (seed {SEED})")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("reliability-records")
    generate(folder, projects=60, seed=7)
    return folder


def make_store(folder: Path, *paths: Path) -> Path:
    """A store holding ``paths`` (loaded once through the library)."""
    settings = Settings(store=str(folder), pseudonym_key=KEY, user="abuse")
    with GraphStore(folder, settings) as store:
        assert store.load(list(paths), staged=False).written
    return folder


def fresh_copy(pristine: Path, work: Path) -> Path:
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(pristine, work, symlinks=True)
    return work


def run_to_end(start: Start, store: Path) -> float:
    began = time.monotonic()
    process = start(store)
    _out, errors = process.communicate(timeout=300)
    assert process.returncode == 0, errors.decode()[-3000:]
    return time.monotonic() - began


def kill_and_check(process: subprocess.Popen[bytes], what: str) -> None:
    """SIGKILL ``process``; every process it had started must be gone within 10 s."""
    family = descendants(process.pid)
    process.kill()
    process.wait()  # not communicate(): a process left behind would hold its pipes open
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()
    left = wait_gone(family)
    kill_all(left)
    assert not left, f"{what}: processes left running after the kill: {sorted(left)}"


def check_kills(name: str, pristine: Path, start: Start, tmp_path: Path) -> None:
    """Run ``start`` to the end, then kill it at random points; see the module docstring."""
    rng = random.Random(f"{SEED}-{name}")
    before = state(pristine)
    work = tmp_path / f"{name}-work"  # one place: a batch's graph depends on where it is
    duration = run_to_end(start, fresh_copy(pristine, work))
    after = state(work)
    assert after != before
    made = 0
    for _attempt in range(2 * KILLS):  # a run that ends before its kill is tried again
        if made == KILLS:
            break
        fresh_copy(pristine, work)
        delay = rng.uniform(0.15 * duration, 0.85 * duration)
        process = start(work)
        time.sleep(delay)
        if process.poll() is not None:  # finished before its kill: nothing to count
            process.communicate()
            continue
        kill_and_check(process, f"{name} killed after {delay:.2f} s (seed {SEED})")
        found = state(work)
        made += 1
        TALLY["kills"] += 1
        assert found in (before, after), (
            f"{name}: killed after {delay:.2f} s of {duration:.2f} s (kill {made}, seed {SEED}), "
            "the store is neither as before nor as after"
        )
        TALLY["intact"] += 1
    assert made, f"{name}: every run ended before its kill (seed {SEED})"
    run_to_end(start, work)  # and the same load, run again over the last killed one
    assert state(work) == after


def test_cipd_load_killed_at_random(tmp_path: Path):
    """``cipd load``, one transaction: the 26 sample projects into a store of the tables."""
    pristine = make_store(tmp_path / "pristine", SAMPLES / "reference")

    def start(store: Path) -> subprocess.Popen[bytes]:
        return cipd(
            "load",
            str(SAMPLES / "projects"),
            env=cipd_env(store),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    check_kills("one-transaction", pristine, start, tmp_path)


def test_staged_load_with_workers_killed_at_random(tmp_path: Path, generated: Path):
    """A staged load in chunks of 10 files, two worker processes."""
    pristine = make_store(tmp_path / "pristine", generated / "reference")
    staged = {"CIPD_BULK_FILES": "1", "CIPD_BULK_CHUNK": "10", "CIPD_LOAD_WORKERS": "2"}

    def start(store: Path) -> subprocess.Popen[bytes]:
        return cipd(
            "load",
            str(generated / "projects"),
            env=cipd_env(store, **staged),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    check_kills("staged", pristine, start, tmp_path)


def test_cipd_import_killed_at_random(tmp_path: Path):
    """``cipd import xapi`` into a store holding the samples."""
    pristine = make_store(tmp_path / "pristine", SAMPLES)

    def start(store: Path) -> subprocess.Popen[bytes]:
        return cipd(
            "import",
            "xapi",
            str(XAPI),
            env=cipd_env(store),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    check_kills("import", pristine, start, tmp_path)


def test_server_killed_during_an_upload_at_random(tmp_path: Path, generated: Path):
    """``cipd serve`` killed while it writes ``POST /records`` (30 generated projects)."""
    pristine = make_store(tmp_path / "pristine", generated / "reference")
    projects = sorted(generated.glob("projects/*"))[:30]
    files = [("files", (p.name, p.read_bytes())) for p in projects]
    headers = {"Authorization": f"Bearer {TOKEN}"}
    rng = random.Random(f"{SEED}-api")
    before = state(pristine)

    # One place for every run: uploads are saved in the store, and a batch's graph depends
    # on where its file was.
    work = fresh_copy(pristine, tmp_path / "api-work")
    with served(work) as (_process, url):
        began = time.monotonic()
        response = httpx.post(url + "/records", files=files, headers=headers, timeout=300)
        duration = time.monotonic() - began
        assert response.status_code == 200, response.text
    after = state(work)
    made = 0
    for _attempt in range(2 * KILLS):  # an upload that ends before its kill is tried again
        if made == KILLS:
            break
        fresh_copy(pristine, work)
        with served(work) as (process, url):
            outcome: list[object] = []

            def post(target: str = url, outcome: list[object] = outcome) -> None:
                try:
                    outcome.append(
                        httpx.post(target + "/records", files=files, headers=headers, timeout=300)
                    )
                except httpx.HTTPError as exc:
                    outcome.append(exc)

            delay = rng.uniform(0.1 * duration, 0.7 * duration)
            writer = threading.Thread(target=post)
            writer.start()
            time.sleep(delay)
            if process.poll() is None and not outcome:
                kill_and_check(process, f"the server killed after {delay:.2f} s (seed {SEED})")
                TALLY["kills"] += 1
                made += 1
                killed = True
            else:
                killed = False
            writer.join(60)
        if not killed:
            continue
        assert isinstance(outcome[0], httpx.HTTPError), outcome  # the answer never came
        assert state(work) in (before, after), (
            f"upload: the server killed after {delay:.2f} s of {duration:.2f} s (kill {made}, "
            f"seed {SEED}): the store is neither as before nor as after"
        )
        TALLY["intact"] += 1
    assert made, f"upload: every upload ended before its kill (seed {SEED})"
    with served(work) as (_process, url):  # and the upload again, once the server is back
        response = httpx.post(url + "/records", files=files, headers=headers, timeout=300)
        assert response.status_code == 200, response.text
    assert state(work) == after


def _can_mount() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    probe = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "mount", "-t", "tmpfs", "tmpfs", "/mnt"],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


def test_a_full_disk_changes_nothing_and_says_so(tmp_path: Path, generated: Path):
    """A real full disk (a 100 MB tmpfs filled to its last megabyte, in a mount namespace of
    its own): ``cipd load`` exits 4 saying the disk is full, ``POST /records`` answers 507,
    the store is unchanged by either, and once space is freed the same load succeeds."""
    if not _can_mount():
        if os.environ.get("CI"):
            pytest.fail("CI runs as root and must be able to mount a tmpfs (unshare -m)")
        pytest.skip("needs root and unshare to mount a tmpfs (CI has both)")
    pristine = make_store(tmp_path / "pristine", generated / "reference")
    out = tmp_path / "disk-full.json"
    subprocess.run(
        [
            "unshare",
            "-m",
            "--propagation",
            "private",
            sys.executable,
            "-m",
            "tests.disk_full_child",
            str(pristine),
            str(generated / "projects"),
            str(out),
        ],
        cwd=ROOT,
        check=True,
        timeout=600,
    )
    seen = json.loads(out.read_text(encoding="utf-8"))
    assert seen["cli"]["code"] == 4, seen["cli"]
    assert "error: the disk is full" in seen["cli"]["stderr"]
    assert "Traceback" not in seen["cli"]["stderr"]
    assert seen["after_cli"] == seen["before"]
    assert seen["api"]["status"] == 507, seen["api"]
    assert seen["api"]["type"] == "application/problem+json"
    body = json.loads(seen["api"]["body"])
    assert body["type"].endswith("disk-full") and "disk is full" in body["detail"]
    assert seen["after_api"] == seen["before"]
    assert seen["freed"]["code"] == 0, seen["freed"]


def test_a_killed_server_leaves_no_query_process(tmp_path: Path):
    """SIGKILL of ``cipd serve`` while a SPARQL query runs in its child process: the
    forkserver and the query child end with it (they would otherwise run on, adopted)."""
    store = make_store(tmp_path / "store", SAMPLES)
    costly = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    with served(store, CIPD_QUERY_TIMEOUT="60") as (process, url):
        asking = threading.Thread(
            target=lambda: _quietly(
                lambda: httpx.get(url + "/sparql", params={"query": costly}, timeout=90)
            )
        )
        asking.start()
        deadline = time.monotonic() + 30
        while len(descendants(process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)  # the forkserver, then the query's child
        assert len(descendants(process.pid)) >= 2, "the query never started its child process"
        kill_and_check(process, "the server killed during a query")
        asking.join(30)


def _quietly(call: Callable[[], object]) -> None:
    with contextlib.suppress(httpx.HTTPError):
        call()


def test_the_server_brings_derived_facts_up_to_date_before_serving(tmp_path: Path):
    """After an upgrade that changed the rules (the store keeps another digest of them), the
    server derives every fact again at start-up, not in the first write request."""
    import pyoxigraph as ox

    store = make_store(tmp_path / "store", SAMPLES)
    settings = Settings(store=str(store), pseudonym_key=KEY, user="abuse")
    with GraphStore(store, settings) as s:
        meta = ox.NamedNode(s.layout.meta)
        for q in list(s.oxigraph.quads_for_pattern(None, None, None, meta)):
            if q.predicate.value.endswith("#derivation"):
                s.oxigraph.remove(q)
        assert not s.derived_facts_current()
    with served(store) as (process, url):
        stats = httpx.get(url + "/stats", timeout=30).json()
        assert stats["derived_facts_current"] is True
        assert stats["counts"]["derived_triples"] > 0
        assert process.stderr is not None
        os.set_blocking(process.stderr.fileno(), False)  # what it wrote before serving
        assert b"deriving them all again before serving" in (process.stderr.read() or b"")
