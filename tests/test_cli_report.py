"""`cipd report` as a real subprocess against a real on-disk store."""

from __future__ import annotations

from pathlib import Path

from .conftest import SAMPLES
from .test_cli_records import cipd


def test_report_command_writes_the_page_and_refuses_unknown_scopes(tmp_path: Path):
    store = tmp_path / "store"
    assert cipd(store, "load", str(SAMPLES)).returncode == 0
    listed = cipd(store, "report", "--list-scopes")
    assert listed.returncode == 0 and "programme:nsu-msc-qi" in listed.stdout
    out = tmp_path / "report"
    done = cipd(store, "report", "--scope", "programme:nsu-msc-qi", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "index.html" in done.stdout
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "MSc Quality Improvement in Healthcare" in html and html.count("<svg") == 3
    assert sorted(p.name for p in (out / "figures").iterdir()) == [
        f"{n}.{e}" for n in ("heatmap", "network", "tapestry") for e in ("png", "svg")
    ]
    missing = cipd(store, "report", "--scope", "no-such-programme", "--out", str(tmp_path / "x"))
    assert missing.returncode == 2
    assert "no project, team, organisation or programme 'no-such-programme'" in missing.stderr
    assert not (tmp_path / "x").exists()
