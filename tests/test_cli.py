"""The ``cipd`` command, run as a real subprocess, honours CIPD_* and uses its exit codes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

CIPD = [sys.executable, "-m", "cipd_graph"]


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CIPD_")}
    environ.update(env or {})
    return subprocess.run(
        [*CIPD, *args],
        capture_output=True,
        text=True,
        env=environ,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def test_model_prints_the_strands_and_table_1():
    result = run("model")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for text in ("1. Interprofessional working [IPW]", "3. Work-based learning [WBL]", "Safe care"):
        assert text in out
    assert re.search(r"Learning as becoming +->  Identifying oneself as an improver", out)


def test_model_json_lists_every_element():
    result = run("model", "--json")
    elements = json.loads(result.stdout)
    assert {e["kind"] for e in elements} >= {"Strand", "SocialLearningDimension"}
    assert len({e["iri"] for e in elements}) == len(elements)


def test_model_is_read_from_cipd_ontology(ontology_copy: Path):
    core = ontology_copy / "modules" / "core.ttl"
    core.write_text(
        core.read_text(encoding="utf-8").replace(
            '"Service improvement"@en', '"Quality improvement"@en'
        ),
        encoding="utf-8",
    )
    result = run("model", env={"CIPD_ONTOLOGY": str(ontology_copy)})
    assert result.returncode == 0, result.stderr
    assert "4. Quality improvement [SI]" in result.stdout
    assert str(ontology_copy) in result.stdout


def test_a_bad_cipd_ontology_is_a_clear_error(tmp_path: Path):
    result = run("model", env={"CIPD_ONTOLOGY": str(tmp_path)})
    assert result.returncode == 2
    assert f"CIPD_ONTOLOGY={str(tmp_path)!r}: no cipd.ttl" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_broken_module_is_a_clear_error(ontology_copy: Path):
    (ontology_copy / "modules" / "actors.ttl").write_text("this is not turtle", encoding="utf-8")
    result = run("qc", env={"CIPD_ONTOLOGY": str(ontology_copy)})
    assert result.returncode == 2
    assert "actors.ttl: not valid Turtle" in result.stderr
    assert "Traceback" not in result.stderr


def test_qc_passes_and_fails_with_exit_codes(ontology_copy: Path):
    assert run("qc").returncode == 0
    practice = ontology_copy / "modules" / "practice.ttl"
    practice.write_text(
        practice.read_text(encoding="utf-8") + "\ncipd:Team rdfs:seeAlso cipd:Ghost .\n",
        encoding="utf-8",
    )
    result = run("qc", env={"CIPD_ONTOLOGY": str(ontology_copy)})
    assert result.returncode == 1
    assert "https://w3id.org/cipd#Ghost" in result.stdout


def test_element_lookup_and_unknown_element():
    found = run("element", "IPL")
    assert found.returncode == 0
    assert json.loads(found.stdout)["iri"] == "https://w3id.org/cipd#InterprofessionalLearning"
    missing = run("element", "cipd:Nothing")
    assert missing.returncode == 2
    assert "no model element" in missing.stderr


@pytest.mark.slow
def test_reason_reports_consistency():
    result = run("reason")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "consistent" in result.stdout


def test_config_shows_defaults_and_masks_the_token():
    result = run("config", env={"CIPD_API_TOKEN": "s3cret", "CIPD_STORE": "/tmp/elsewhere"})
    assert result.returncode == 0
    assert "CIPD_STORE=/tmp/elsewhere" in result.stdout
    assert "s3cret" not in result.stdout
    assert "CIPD_API_TOKEN=(set)" in result.stdout
    default = run("config")
    assert "CIPD_STORE=var/store" in default.stdout


def test_ontology_writes_merged_files(tmp_path: Path):
    result = run("ontology", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "cipd-merged.nt",
        "cipd-merged.owl",
        "cipd-merged.ttl",
    ]


def test_docs_renders_classes_and_concepts(tmp_path: Path):
    result = run("docs", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    concepts = (tmp_path / "concepts.html").read_text(encoding="utf-8")
    assert "Improvement project" in index and "PDSA cycle" in index
    for label in ("Learning as doing", "Safe care", "Physiotherapist", "Lessons for practice"):
        assert label in concepts


def test_read_commands_name_a_store_that_does_not_exist(tmp_path: Path):
    """A mistyped CIPD_STORE is an error naming the path, never an empty answer; reading
    creates nothing."""
    missing = tmp_path / "no-such-store"
    env = {"CIPD_STORE": str(missing), "CIPD_PSEUDONYM_KEY": "cli-key-0123456789"}
    for args in (
        ("stats",),
        ("query", "cq02-fully-woven-projects"),
        ("export", "--format", "nt"),
        ("report", "--scope", "all", "--out", str(tmp_path / "r")),
        ("validate-store",),
        ("drop", "x.yaml"),
    ):
        result = run(*args, env=env)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert str(missing) in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert not missing.exists()
    # A dry run before the first load checks the files against an empty store instead.
    samples = Path(__file__).resolve().parents[1] / "examples" / "records"
    checked = run("validate", str(samples), env=env)
    assert checked.returncode == 0, checked.stderr
    assert "validating against an empty store" in checked.stderr and not missing.exists()


def test_an_unknown_id_in_a_named_query_is_an_error(tmp_path: Path):
    store = tmp_path / "store"
    env = {"CIPD_STORE": str(store), "CIPD_PSEUDONYM_KEY": "cli-key-0123456789"}
    samples = Path(__file__).resolve().parents[1] / "examples" / "records"
    assert run("load", str(samples / "reference"), env=env).returncode == 0
    result = run("query", "cq01-project-strands", "-p", "project=nope-project", env=env)
    assert result.returncode == 2
    assert "nope-project" in result.stderr and "holds nothing" in result.stderr


def test_stats_says_when_the_derived_facts_come_from_other_rules(tmp_path: Path):
    """After an upgrade that changed the rules (the store keeps another digest of them),
    `cipd stats` says the derived counts are the old rules', until `cipd derive --all`."""
    import pyoxigraph as ox

    from cipd_graph import Settings
    from cipd_graph.graph import GraphStore

    store = tmp_path / "store"
    env = {"CIPD_STORE": str(store), "CIPD_PSEUDONYM_KEY": "cli-key-0123456789"}
    samples = Path(__file__).resolve().parents[1] / "examples" / "records"
    assert run("load", str(samples / "reference"), env=env).returncode == 0
    fresh = run("stats", "--json", env=env)
    assert json.loads(fresh.stdout)["derived_facts_current"] is True and "note:" not in fresh.stderr
    with GraphStore(store, Settings(store=str(store), pseudonym_key="cli-key-0123456789")) as s:
        meta = ox.NamedNode(s.layout.meta)
        for q in list(s.oxigraph.quads_for_pattern(None, None, None, meta)):
            if q.predicate.value.endswith("#derivation"):
                s.oxigraph.remove(q)
                s.oxigraph.add(ox.Quad(q.subject, q.predicate, ox.Literal("0" * 32), meta))
    stale = run("stats", env=env)
    assert stale.returncode == 0 and "cipd derive --all" in stale.stderr
    assert json.loads(run("stats", "--json", env=env).stdout)["derived_facts_current"] is False
    assert run("derive", "--all", env=env).returncode == 0
    assert json.loads(run("stats", "--json", env=env).stdout)["derived_facts_current"] is True
