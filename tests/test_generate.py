"""`cipd generate`: synthetic records in the real formats, deterministic, loading cleanly."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import yaml

from cipd_graph._generate import PROFESSIONS, generate
from cipd_graph.graph import GraphStore
from cipd_graph.records.parse import parse_file

from .test_cli import run


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_the_same_seed_gives_the_same_files_and_another_seed_does_not(tmp_path: Path):
    generate(tmp_path / "a", projects=12, seed=7)
    generate(tmp_path / "b", projects=12, seed=7)
    generate(tmp_path / "c", projects=12, seed=8)
    a, b, c = (_digests(tmp_path / x) for x in "abc")
    assert len(a) == 12 + 7  # one file per project and the seven reference tables
    assert a == b
    assert a != c


def test_generated_records_load_into_an_on_disk_store_with_no_error(tmp_path: Path, settings):
    generate(tmp_path / "records", projects=30, seed=3)
    store = GraphStore(tmp_path / "store", settings)
    try:
        result = store.load([tmp_path / "records"])
        assert result.ok, result.to_text()
        assert result.written
        assert not result.report.errors
        stats = store.stats()
        assert stats["projects"] == 30
        assert stats["modules"] >= 2
        assert stats["module_mappings"] >= 4
        # ~300 triples a project, like the samples: the benchmarks' scale rests on it
        assert 100 * 30 < stats["triples"] - 2724 < 600 * 30
        assert stats["derived_triples"] > 0
    finally:
        store.close()


def test_distributions_follow_the_samples(tmp_path: Path):
    generate(tmp_path, projects=60, seed=11)
    sizes, cycles, professions = [], [], set()
    for path in sorted((tmp_path / "projects").glob("*.yaml")):
        parsed = parse_file(path)  # the real record model accepts every file
        project = parsed.records[0].record
        sizes.append(len(project.team.members))
        cycles.append(len(project.pdsa_cycles))
        professions |= {m.profession for m in project.team.members if m.profession}
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert data["organisation"].startswith("provider-")
    assert min(sizes) >= 3 and max(sizes) <= 12
    assert len(set(sizes)) >= 3  # team sizes vary
    assert min(cycles) >= 1 and max(cycles) <= 6 and len(set(cycles)) >= 3
    assert professions <= set(PROFESSIONS) and len(professions) >= 8
    with (tmp_path / "reference" / "people.csv").open(encoding="utf-8") as f:
        people = {row["id"] for row in csv.DictReader(f)}
    for path in (tmp_path / "projects").glob("*.yaml"):
        for member in parse_file(path).records[0].record.team.members:
            assert member.person in people  # every member is listed in people.csv


def test_cli_generate_writes_files_that_cipd_load_accepts(tmp_path: Path):
    out = tmp_path / "synthetic"
    result = run("generate", "--projects", "5", "--seed", "2", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "wrote 5 projects" in result.stdout
    env = {"CIPD_STORE": str(tmp_path / "store"), "CIPD_PSEUDONYM_KEY": "test-key-0123456789"}
    loaded = run("load", str(out), env=env)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert "error" not in loaded.stdout


def test_generate_refuses_zero_projects(tmp_path: Path):
    result = run("generate", "--projects", "0", "--out", str(tmp_path))
    assert result.returncode == 2
