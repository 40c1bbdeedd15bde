"""Hostile input through the real ``cipd`` command: a located message and an exit code from
the table of docs/reference/exit-codes.md, never a traceback, and memory bounded (issue 23)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cipd_graph import Settings
from cipd_graph.cli import EXIT_BUSY, EXIT_ERROR, EXIT_FINDINGS, EXIT_INTERNAL, EXIT_IO, failure
from cipd_graph.graph import GraphStore

from . import abuse
from .conftest import ROOT, SAMPLES

KEY = "abuse-cli-key-0123456789"

#: Runs a command and reports its peak memory (the wrapper's only child is the command).
_MEASURED = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print(f'PEAK-KB {peak}', file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def cipd(*args: str, store: Path, timeout: float = 120) -> tuple[int, str, int]:
    """Run ``cipd ARGS`` on ``store``: exit code, stdout+stderr, peak memory in MB."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIPD_")}
    env.update({"CIPD_STORE": str(store), "CIPD_PSEUDONYM_KEY": KEY, "CIPD_USER": "abuse"})
    done = subprocess.run(
        [sys.executable, "-c", _MEASURED, sys.executable, "-m", "cipd_graph", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )
    found = re.search(r"PEAK-KB (\d+)", done.stderr)
    assert found, done.stderr
    text = done.stdout + done.stderr.replace(found.group(0), "")
    return done.returncode, text, int(found.group(1)) // 1024


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the samples (the tests only validate and import dry: nothing written)."""
    location = tmp_path_factory.mktemp("abuse-store")
    settings = Settings(store=str(location), pseudonym_key=KEY, user="abuse")
    with GraphStore(location, settings) as store:
        assert store.load([SAMPLES]).ok
    return location


def assert_refused(text: str, bad: abuse.Bad) -> None:
    """``text`` refuses ``bad`` with its message, on its line when it has one."""
    where = f"{bad.name}:{bad.line}:" if bad.line else bad.name
    lines = [line for line in text.splitlines() if where in line]
    assert any(bad.says in line for line in lines), f"{bad.name}: no {bad.says!r} in\n{text}"


def test_bad_records_are_refused_with_located_messages(sample_store: Path, tmp_path: Path):
    bad = [b for b in abuse.records() if not b.alone]
    paths = [str(b.write(tmp_path / "bad")) for b in bad]
    code, text, peak_mb = cipd("validate", *paths, store=sample_store)
    assert code == EXIT_FINDINGS, text
    assert "Traceback" not in text
    for b in bad:
        assert_refused(text, b)
    for b in abuse.records():
        if b.alone:
            code, text, _peak = cipd(
                "validate", str(b.write(tmp_path / "alone")), store=sample_store
            )
            assert code == EXIT_FINDINGS and "Traceback" not in text, text
            assert_refused(text, b)
    # `baseline: 1e300000000` once took ~1 GB to write out; 1 validation takes ~100 MB
    assert peak_mb < 400, f"validating the bad records peaked at {peak_mb} MB"


@pytest.mark.parametrize(
    ("standard", "inputs"),
    [
        ("xapi", abuse.xapi),
        ("case", abuse.case),
        ("curriculum-inventory", abuse.curriculum_inventory),
    ],
)
def test_bad_imports_are_refused_with_located_messages(
    sample_store: Path, tmp_path: Path, standard: str, inputs: object
):
    bad = inputs()  # type: ignore[operator]
    paths = [str(b.write(tmp_path / standard)) for b in bad]
    code, text, _peak = cipd("import", standard, "--dry-run", *paths, store=sample_store)
    assert code == EXIT_FINDINGS, text
    assert "Traceback" not in text
    for b in bad:
        assert_refused(text, b)


def test_a_person_defined_in_two_tables_of_one_load_is_refused(tmp_path: Path):
    twice = abuse.Bad(
        "trust-people.csv", b"id,profession,name\nnsh-0101,Nurse,Somebody Else\n", "also defined"
    ).write(tmp_path / "tables")
    code, text, _peak = cipd(
        "load", str(SAMPLES / "reference" / "people.csv"), str(twice), store=tmp_path / "store"
    )
    assert code == EXIT_FINDINGS, text
    # one of the two tables is named as the place of the mistake, the other as the first
    assert re.search(r"people\.csv:2: row nsh-0101, field id: also defined in \S*people\.csv", text)
    assert "trust-people.csv" in text
    assert "nothing was written" in text


def test_cli_failures_are_messages_with_exit_codes(sample_store: Path, tmp_path: Path):
    code, text, _ = cipd(
        "export", "--format", "nq", "--out", "/nonexistent/x.nq", store=sample_store
    )
    assert code == EXIT_IO and "Traceback" not in text
    assert "error: /nonexistent/x.nq: No such file or directory" in text

    long_name = tmp_path / ("x" * 300 + ".nq")
    code, text, _ = cipd("export", "--format", "nq", "--out", str(long_name), store=sample_store)
    assert code == EXIT_IO and "File name too long" in text and "Traceback" not in text

    code, text, _ = cipd("load", str(tmp_path / ("y" * 300 + ".yaml")), store=sample_store)
    assert code == EXIT_IO and "File name too long" in text and "Traceback" not in text, text

    with GraphStore(sample_store, Settings(store=str(sample_store), pseudonym_key=KEY)):
        # the store's lock is held here: a reader still reads, a writer is refused
        read, _, _ = cipd("stats", store=sample_store)
        code, text, _ = cipd("drop", "x.yaml", store=sample_store)
    assert read == 0
    assert code == EXIT_BUSY and "in use by another process" in text and "Traceback" not in text


def test_an_unexpected_exception_is_a_short_message_and_exit_70():
    code, message = failure(ValueError("something went wrong inside"))
    assert code == EXIT_INTERNAL
    assert message.startswith("internal error (ValueError: something went wrong inside)")
    assert "CIPD_DEBUG=1" in message
    code, message = failure(OSError(28, "No space left on device"))
    assert code == EXIT_IO and message.startswith("the disk is full")


def test_the_docs_list_every_exit_code():
    page = (ROOT / "docs" / "reference" / "exit-codes.md").read_text(encoding="utf-8")
    table = page[page.index("## Exit codes") :]
    for code in (0, EXIT_FINDINGS, EXIT_ERROR, EXIT_BUSY, EXIT_IO, EXIT_INTERNAL):
        assert re.search(rf"^\| `{code}` \|", table, re.MULTILINE), f"exit code {code}"
