"""The record commands as real subprocesses against a real on-disk store (CIPD_STORE)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyoxigraph as ox
import pytest

from .conftest import SAMPLES
from .synthetic import copy_samples

KEY = "cli-test-key-0123456789"


def env_for(store: Path, **extra: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CIPD_")}
    environ.update(
        {"CIPD_STORE": str(store), "CIPD_PSEUDONYM_KEY": KEY, "CIPD_USER": "cli-tester", **extra}
    )
    return environ


def cipd(store: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cipd_graph", *args],
        capture_output=True,
        text=True,
        env=env_for(store, **extra),
        timeout=300,
        check=False,
    )


def quads(store: Path) -> set[str]:
    s = ox.Store.read_only(str(store / "oxigraph"))
    return {str(q) for q in s}


def test_load_stats_export_drop(tmp_path: Path):
    store = tmp_path / "store"
    loaded = cipd(store, "load", str(SAMPLES))
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert "loaded:" in loaded.stdout and "writing them in one transaction" in loaded.stderr
    # The last line on stderr says where the time went (the first load derives everything).
    took = loaded.stderr.splitlines()[-1]
    assert re.fullmatch(
        r"took [\d.]+ s: read and map [\d.]+ s, checks [\d.]+ s, validation [\d.]+ s, "
        r"plan [\d.]+ s, write, with every derived fact again [\d.]+ s",
        took,
    ), loaded.stderr
    ward7 = SAMPLES / "projects" / "ward7-falls.yaml"
    reloaded = cipd(store, "load", str(ward7), "--format", "json")
    assert reloaded.returncode == 0, reloaded.stderr
    assert [s["name"] for s in json.loads(reloaded.stdout)["stages"]] == [
        "read and map",
        "checks",
        "validation",
        "plan",
        "derived facts",
        "write",
    ]
    stats = json.loads(cipd(store, "stats", "--json", "--sources").stdout)
    assert stats["counts"]["projects"] >= 25
    assert {s["loaded_by"] for s in stats["sources"]} == {"cli-tester"}
    out = tmp_path / "export.nq"
    assert cipd(store, "export", "--format", "nq", "--out", str(out)).returncode == 0
    assert len(list(ox.parse(path=str(out), format=ox.RdfFormat.N_QUADS))) > 1000
    assert cipd(store, "drop", str(ward7)).returncode == 0
    again = cipd(store, "drop", str(ward7))
    assert again.returncode == 2 and "nothing is loaded from" in again.stderr


def test_validate_is_a_dry_run_with_json_and_shacl_reports(tmp_path: Path):
    store = tmp_path / "store"
    ward7 = SAMPLES / "projects" / "ward7-falls.yaml"
    result = cipd(store, "validate", str(ward7), "--format", "json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["written"] is False and report["errors"] >= 1
    assert {f["file"] for f in report["findings"] if f["severity"] == "error"} == {str(ward7)}
    assert [s["name"] for s in report["stages"]] == ["read and map", "checks", "validation"]
    assert result.stderr.splitlines()[-1].startswith("took ")
    shacl = cipd(store, "validate", str(ward7), "--format", "shacl")
    assert "sh:ValidationReport" in shacl.stdout
    assert not (store / "oxigraph").exists() or not quads(store)


def test_format_errors_exit_1_with_located_messages(tmp_path: Path):
    bad = tmp_path / "people.csv"
    bad.write_text("id,profession\np-1,Nurse\np 2,Nurse\n", encoding="utf-8")
    result = cipd(tmp_path / "store", "load", str(bad))
    assert result.returncode == 1
    assert f"{bad}:3: row p 2, field id:" in result.stdout
    assert "nothing was written" in result.stdout
    assert "Traceback" not in result.stderr


def test_bad_configuration_exits_2(tmp_path: Path):
    result = cipd(tmp_path / "store", "stats", CIPD_BASE_IRI="not an iri")
    assert result.returncode == 2 and "CIPD_BASE_IRI='not an iri'" in result.stderr
    missing = cipd(tmp_path / "store", "load", str(tmp_path / "nowhere.yaml"))
    assert missing.returncode == 1 and "no such file or folder" in missing.stdout


@pytest.mark.slow
def test_a_load_killed_while_writing_leaves_the_store_as_before(tmp_path: Path):
    store = tmp_path / "store"
    assert cipd(store, "load", str(SAMPLES / "reference")).returncode == 0
    before = quads(store)
    many = copy_samples(tmp_path / "many", copies=3)
    process = subprocess.Popen(
        [sys.executable, "-m", "cipd_graph", "load", str(many / "projects")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env_for(store),
    )
    assert process.stderr is not None
    line = process.stderr.readline()  # printed just before the one write transaction starts
    assert "writing them in one transaction" in line, line
    time.sleep(0.3)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, "the load finished before it could be killed"
    assert quads(store) == before
    # and the store still works: the same load now succeeds
    assert cipd(store, "load", str(many / "projects")).returncode == 0
    assert len(quads(store)) > len(before)


def test_query_command(tmp_path: Path):
    store = tmp_path / "store"
    assert cipd(store, "load", str(SAMPLES)).returncode == 0
    table = cipd(store, "query", "cq01-project-strands", "--param", "project=xray-repeat-rates")
    assert table.returncode == 0, table.stderr
    assert "cipd:WorkBasedLearning" in table.stdout and "(4 rows)" in table.stdout
    as_json = json.loads(cipd(store, "query", "cq02-weaving-levels", "--format", "json").stdout)
    assert as_json["rows"] and {r["level"] for r in as_json["rows"]} <= {
        "interwoven",
        "all strands evidenced",
    }
    assert "https://w3id.org/cipd/data/project/ward7-falls" in {
        r["project"] for r in as_json["rows"]
    }
    as_csv = cipd(
        store, "query", "cq12-module-elements", "-p", "module=ncu-qi-practice", "--format", "csv"
    )
    assert as_csv.stdout.splitlines()[0] == "element,label,strength,justification"
    skos = cipd(store, "query", "cq16-module-map-skos", "-p", "programme=nsu-msc-qi")
    assert "skos:closeMatch" in skos.stdout
    bad = cipd(store, "query", "cq01-project-strands", "-p", "project=http://x> } DROP ALL {")
    assert bad.returncode == 2 and "not a valid IRI" in bad.stderr
    listing = cipd(store, "query", "--list")
    assert listing.stdout.count("\n    ") == 16
