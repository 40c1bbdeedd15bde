"""Shared fixtures: the ontology and model as shipped, read once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from rdflib import Graph

from cipd_graph import Model, load_ontology, ontology_dir


@pytest.fixture(scope="session")
def ontology() -> Graph:
    """The merged ontology (do not mutate: copy it first)."""
    return load_ontology()


@pytest.fixture(scope="session")
def model(ontology: Graph) -> Model:
    return Model(ontology)


@pytest.fixture
def ontology_copy(tmp_path: Path) -> Path:
    """A writable copy of the ontology directory, for tests that edit or break it."""
    target = tmp_path / "ontology"
    shutil.copytree(ontology_dir(), target)
    return target
