"""An installed wheel carries the ontology and queries and works without the repository."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import cipd_graph

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = out.glob("cipd_graph-*.whl")
    return built


def test_wheel_contains_every_ontology_and_query_file(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in (ROOT / "ontology").rglob("*"):
        if path.is_file():
            assert f"cipd_graph/_data/ontology/{path.relative_to(ROOT / 'ontology')}" in names
    for folder in ("queries", "rules", "shapes"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file():
                assert f"cipd_graph/_data/{folder}/{path.relative_to(ROOT / folder)}" in names


def test_wheel_contains_the_pages_static_files(wheel: Path):
    """The query page, its editor and everything under api/static ship in the wheel."""
    names = set(zipfile.ZipFile(wheel).namelist())
    static = ROOT / "cipd_graph" / "api" / "static"
    files = [p for p in static.rglob("*") if p.is_file()]
    assert len(files) >= 10
    for path in files:
        assert f"cipd_graph/api/static/{path.relative_to(static)}" in names


def test_wheel_contains_the_workbench(wheel: Path):
    """The curriculum designer's workbench: its page, script and style, and its routes."""
    names = set(zipfile.ZipFile(wheel).namelist())
    for suffix in ("html", "js", "css"):
        assert f"cipd_graph/api/static/workbench.{suffix}" in names
    assert "cipd_graph/api/routers/workbench.py" in names
    assert "cipd_graph/edits.py" in names


def test_unpacked_wheel_loads_the_model_outside_the_repository(wheel: Path, tmp_path: Path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    script = (
        "import cipd_graph, pathlib;"
        "from cipd_graph._resources import data_dir;"
        "print(pathlib.Path(cipd_graph.__file__).parent);"
        "print(data_dir('ontology'));"
        "print(len(cipd_graph.load_model().strands));"
        "print(len(cipd_graph.quality_checks()));"
        "from cipd_graph.derive.rules import rules; from cipd_graph.validation.report import shapes_graph;"
        "assert rules() and len(shapes_graph()) > 100"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        timeout=120,
        check=True,
    )
    package, ontology, strands, checks = result.stdout.split()
    assert Path(package) == site / "cipd_graph"
    assert Path(ontology) == site / "cipd_graph" / "_data" / "ontology"
    assert strands == "4"
    assert int(checks) == len(cipd_graph.quality_checks())
