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


ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "examples" / "records"


@pytest.fixture
def settings():
    from cipd_graph import Settings

    return Settings(pseudonym_key="test-key-0123456789abcdef", user="tester")


@pytest.fixture
def records(tmp_path: Path) -> Path:
    """A writable copy of the sample records."""
    target = tmp_path / "records"
    shutil.copytree(SAMPLES, target)
    return target


@pytest.fixture(scope="session")
def loaded_sample_store(tmp_path_factory: pytest.TempPathFactory):
    """An on-disk store holding every sample record (read it, do not write)."""
    from cipd_graph import Settings
    from cipd_graph.graph import GraphStore

    location = tmp_path_factory.mktemp("sample-store")
    store = GraphStore(location, Settings(pseudonym_key="test-key-0123456789abcdef", user="tester"))
    result = store.load([SAMPLES])
    assert result.ok, result.to_text()
    yield store
    store.close()


@pytest.fixture(scope="session")
def declared_sample_store(tmp_path_factory: pytest.TempPathFactory):
    """An on-disk store of every sample record, whose record graphs say of interprofessional
    learning what the record format says: the recorder's flag as cipd:declaredInterprofessional
    and no asserted class (see ``sample_reading.declared_as_recorded``). Read it, do not write."""
    from cipd_graph import Settings
    from cipd_graph.graph import GraphStore

    from .sample_reading import declared_as_recorded, read_records

    location = tmp_path_factory.mktemp("declared-sample-store")
    store = GraphStore(location, Settings(pseudonym_key="test-key-0123456789abcdef", user="tester"))
    result = store.load([SAMPLES])
    assert result.ok, result.to_text()
    declared_as_recorded(store, read_records(SAMPLES), SAMPLES)
    yield store
    store.close()


@pytest.fixture(scope="session")
def virtuoso(tmp_path_factory: pytest.TempPathFactory):
    """A private Virtuoso Open Source server on loopback for this test session.

    CI installs it (.ci/run) and a missing server fails there; on a developer machine
    without the package the remote-backend tests are skipped.
    """
    import os

    from .virtuoso import Virtuoso, available

    if not available():
        if os.environ.get("CI"):
            pytest.fail("virtuoso-opensource is not installed; .ci/run installs it with apt")
        pytest.skip("virtuoso-opensource is not installed (apt-get install virtuoso-opensource)")
    server = Virtuoso(tmp_path_factory.mktemp("virtuoso"))
    server.start()
    yield server
    server.stop()
