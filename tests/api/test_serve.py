"""`cipd serve` as a real process: prints its URLs, answers, refuses a store in use."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from cipd_graph import Settings
from cipd_graph.graph import GraphStore

from ..conftest import SAMPLES
from .conftest import _free_port


def _env(store: Path) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CIPD_")}
    environ.update({"CIPD_STORE": str(store), "CIPD_PSEUDONYM_KEY": "serve-key-0123456789"})
    return environ


def test_serve_prints_urls_and_answers(tmp_path: Path):
    store = tmp_path / "store"
    with GraphStore(store, Settings(pseudonym_key="serve-key-0123456789")) as s:
        assert s.load([SAMPLES / "reference"]).ok
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "cipd_graph", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(store),
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(
                    url + "/sparql",
                    params={"query": "ASK { ?s a <https://w3id.org/cipd#Strand> }"},
                    timeout=5,
                )
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and process.poll() is None, (
                    "server did not start"
                )
                time.sleep(0.2)
        assert response.json()["boolean"] is True
    finally:
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)
    assert f"{url}/docs" in out and f"{url}/sparql" in out


def test_serve_refuses_a_store_in_use(tmp_path: Path):
    store = tmp_path / "store"
    with GraphStore(store, Settings(pseudonym_key="serve-key-0123456789")):
        result = subprocess.run(
            [sys.executable, "-m", "cipd_graph", "serve", "--port", str(_free_port())],
            capture_output=True,
            text=True,
            env=_env(store),
            timeout=60,
            check=False,
        )
    assert result.returncode == 3  # the store is in use (docs/reference/exit-codes.md)
    assert "in use by another process" in result.stderr


def _serving(store: Path) -> tuple[subprocess.Popen[str], str]:
    """`cipd serve` on ``store``, waited for until it answers."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "cipd_graph", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(store),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(url + "/health", timeout=5)
            return process, url
        except httpx.TransportError:
            assert time.monotonic() < deadline and process.poll() is None, "server did not start"
            time.sleep(0.2)


def test_read_commands_work_while_the_server_runs(tmp_path: Path):
    """Only writers exclude each other: stats, queries, reports and exports open the store
    read-only beside `cipd serve`; a load is still refused with a message."""
    store = tmp_path / "store"
    with GraphStore(store, Settings(pseudonym_key="serve-key-0123456789")) as s:
        assert s.load([SAMPLES]).ok
    process, _url = _serving(store)
    try:

        def cipd(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "cipd_graph", *args],
                capture_output=True,
                text=True,
                env=_env(store),
                timeout=120,
                check=False,
            )

        stats = cipd("stats", "--json")
        assert stats.returncode == 0, stats.stderr
        assert '"projects": 26' in stats.stdout
        query = cipd("query", "cq01-project-strands", "-p", "project=ward7-falls")
        assert query.returncode == 0, query.stderr
        out = tmp_path / "all.nq"
        exported = cipd("export", "--format", "nq", "--out", str(out))
        assert exported.returncode == 0 and out.stat().st_size > 0, exported.stderr
        report = cipd("report", "--scope", "all", "--out", str(tmp_path / "report"))
        assert report.returncode == 0, report.stderr
        load = cipd("load", str(SAMPLES / "reference"))
        assert load.returncode == 3 and "in use by another process" in load.stderr
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
