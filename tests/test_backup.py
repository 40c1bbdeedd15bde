"""`cipd backup` and `cipd restore`: a copy of the store taken while a real `cipd serve` writes
is consistent and restores; restore refuses a store in use, a damaged backup, a remote store
and (without --force) a store holding data, and changes nothing when it refuses."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from cipd_graph import Settings, StoreError
from cipd_graph._backup import restore_store
from cipd_graph.cli import app
from cipd_graph.graph import GraphStore

from .api.conftest import _free_port
from .conftest import ROOT, SAMPLES

KEY = "backup-test-key-0123456789"
TOKEN = "backup-test-token-0123456789"
WARD7 = SAMPLES / "projects" / "ward7-falls.yaml"
PROJECT = "https://w3id.org/cipd/data/project/ward7-falls"
runner = CliRunner()


def env_for(store: Path, **extra: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CIPD_")}
    environ.update({"CIPD_STORE": str(store), "CIPD_USER": "backup-test", **extra})
    return environ


def cipd(*args: str, store: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cipd_graph", *args],
        capture_output=True,
        text=True,
        env=env_for(store, **extra),
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def invoke(*args: str, store: Path | str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"CIPD_STORE": str(store), "CIPD_USER": "t"})
    return result.exit_code, result.output


def quads(store: Path) -> set[str]:
    with GraphStore(store, Settings(store=str(store))) as s:
        return {str(q) for q in s.oxigraph}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of the reference tables and one project, with its own key file."""
    store = tmp_path_factory.mktemp("backup") / "store"
    with GraphStore(store, Settings(store=str(store))) as s:
        assert s.load([SAMPLES / "reference", WARD7]).ok
    # an upload still on disk, as a server stopped while loading it leaves one
    (store / "uploads").mkdir(mode=0o700)
    (store / "uploads" / "ward7-falls.yaml").write_bytes(WARD7.read_bytes())
    return store


def test_backup_then_restore_gives_the_same_store_and_key(loaded: Path, tmp_path: Path):
    code, out = invoke("backup", str(tmp_path / "b"), store=loaded)
    assert code == 0, out
    assert "the store was not in use" in out and "keep the backup as secret as the key" in out
    backup = tmp_path / "b"
    manifest = json.loads((backup / "cipd-backup.json").read_text("utf-8"))
    assert manifest["quads"] == len(quads(loaded)) > 1000
    assert (backup / "pseudonym.key").read_bytes() == (loaded / "pseudonym.key").read_bytes()
    assert (backup / "pseudonym.key").stat().st_mode & 0o077 == 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no partial left

    target = tmp_path / "restored"
    code, out = invoke("restore", str(backup), store=target)
    assert code == 0, out
    assert (target / "oxigraph").is_symlink()
    assert quads(target) == quads(loaded)
    assert (target / "pseudonym.key").read_bytes() == (loaded / "pseudonym.key").read_bytes()
    upload = Path("uploads", "ward7-falls.yaml")
    assert (backup / upload).read_bytes() == (target / upload).read_bytes() == WARD7.read_bytes()

    # A store holding data is replaced only with --force; then it is the backup again.
    with GraphStore(target, Settings(store=str(target))) as s:
        assert s.drop(s.batch_graph(WARD7))
    before = quads(target)
    code, out = invoke("restore", str(backup), store=target)
    assert code == 2 and "--force" in out
    assert quads(target) == before
    code, out = invoke("restore", "--force", str(backup), store=target)
    assert code == 0, out
    assert quads(target) == quads(loaded)
    assert [p.name for p in target.iterdir() if p.name.startswith("oxigraph")].__len__() == 2


def test_refusals_change_nothing(loaded: Path, tmp_path: Path):
    code, out = invoke("backup", str(tmp_path / "b"), store=loaded)
    assert code == 0, out
    backup = tmp_path / "b"
    # the destination exists: never overwritten
    code, out = invoke("backup", str(backup), store=loaded)
    assert code == 2 and "already exists" in out
    # no store at CIPD_STORE (a mistyped path): nothing to back up, nothing created
    code, out = invoke("backup", str(tmp_path / "c"), store=tmp_path / "typo")
    assert code == 2 and "no store there" in out
    assert not (tmp_path / "typo").exists() and not (tmp_path / "c").exists()
    # remote stores: refused, with what to use instead
    for verb, arg in (("backup", str(tmp_path / "d")), ("restore", str(backup))):
        code, out = invoke(verb, arg, store="http://127.0.0.1:9/sparql")
        assert code == 2 and "remote SPARQL server" in out and "cipd export" in out
    # not a backup
    code, out = invoke("restore", str(SAMPLES), store=tmp_path / "t")
    assert code == 2 and "not a backup" in out
    # damaged: a data file of the checkpoint is gone
    damaged = tmp_path / "damaged"
    code, _ = invoke("backup", str(damaged), store=loaded)
    for sst in (damaged / "oxigraph").glob("*.sst"):
        sst.unlink()
    code, out = invoke("restore", str(damaged), store=tmp_path / "t")
    assert code == 2 and str(damaged) in out
    # a manifest that disagrees with the store
    manifest = backup / "cipd-backup.json"
    data = json.loads(manifest.read_text("utf-8"))
    manifest.write_text(json.dumps({**data, "quads": data["quads"] + 1}), "utf-8")
    code, out = invoke("restore", str(backup), store=tmp_path / "t")
    assert code == 2 and "damaged" in out
    assert not (tmp_path / "t" / "oxigraph").exists() or not quads(tmp_path / "t")


def _serve(store: Path, port: int) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "cipd_graph", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env_for(store, CIPD_API_TOKEN=TOKEN, CIPD_PSEUDONYM_KEY=KEY),
        cwd=ROOT,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise AssertionError("server did not start: " + (process.communicate()[0] or ""))
        time.sleep(0.2)


@pytest.mark.slow
def test_backup_of_a_served_store_under_writes_is_consistent(tmp_path: Path):
    """`cipd serve` holds the store and reloads one project in two versions in turn over HTTP;
    backups taken meanwhile must each hold one version whole (data and provenance agree)."""
    versions = [WARD7.read_bytes(), WARD7.read_bytes().replace(b"Ward 7\n", b"Ward 7 (v2)\n", 1)]
    titles = {
        hashlib.sha256(versions[0]).hexdigest(): "Reducing inpatient falls on Ward 7",
        hashlib.sha256(versions[1]).hexdigest(): "Reducing inpatient falls on Ward 7 (v2)",
    }
    store = tmp_path / "store"
    with GraphStore(store, Settings(store=str(store), pseudonym_key=KEY)) as s:
        assert s.load([SAMPLES / "reference"]).ok
    port = _free_port()
    server = _serve(store, port)
    stop = threading.Event()
    writes: list[int] = []

    def writer() -> None:
        with httpx.Client(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as client:
            while not stop.is_set():
                body = versions[len(writes) % 2]
                answer = client.post(
                    f"http://127.0.0.1:{port}/records",
                    files={"files": ("ward7-falls.yaml", body)},
                )
                assert answer.status_code == 200, answer.text
                writes.append(answer.status_code)

    thread = threading.Thread(target=writer, daemon=True)
    try:
        thread.start()
        while not writes:
            time.sleep(0.05)
        backups = []
        for i in range(3):
            before = len(writes)
            done = cipd("backup", str(tmp_path / f"b{i}"), store=store)
            assert done.returncode == 0, done.stdout + done.stderr
            assert "a consistent copy of a store in use" in done.stdout
            backups.append(tmp_path / f"b{i}")
            assert len(writes) > before, "no write happened during the backup"
        # while the server runs, restore refuses its store and leaves it serving
        refused = cipd("restore", "--force", str(backups[0]), store=store)
        assert refused.returncode == 2 and "in use" in refused.stderr, refused.stderr
        # ... and refuses to take the served store itself as a backup (it is being written)
        with pytest.raises(StoreError, match="in use by another process"):
            restore_store(Settings(store=str(tmp_path / "other")), store)
    finally:
        stop.set()
        thread.join(60)
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=30)
    assert len(writes) >= 3
    for backup in backups:
        target = tmp_path / f"from-{backup.name}"
        restore_store(Settings(store=str(target)), backup)
        with GraphStore(target, Settings(store=str(target), pseudonym_key=KEY)) as s:
            shas = {src.sha256 for src in s.sources() if src.path.endswith("ward7-falls.yaml")}
            rows = s.oxigraph.query(
                f"SELECT ?t WHERE {{ GRAPH ?g {{ <{PROJECT}> <http://purl.org/dc/terms/title> ?t }} }}"
            )
            found = {row["t"].value for row in rows}
        assert len(shas) == 1 and found == {titles[shas.pop()]}, (found, backup)
    # The server deletes an upload once it is loaded, so a backup holds the uploads folder
    # with the upload in flight when it was copied, or none; a restore gives back just that.
    for backup in backups:
        held = sorted(p.name for p in (backup / "uploads").iterdir())
        assert held in ([], ["ward7-falls.yaml"])
        restored = tmp_path / f"from-{backup.name}" / "uploads"
        assert sorted(p.name for p in restored.iterdir()) == held
