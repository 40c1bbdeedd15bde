"""What only the remote backend does: its undo journal, recovery and the CLI over a server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cipd_graph import Settings
from cipd_graph._errors import StoreError
from cipd_graph.graph import GraphStore
from cipd_graph.store.backends import RemoteBackend

from .test_cli import run
from .test_store_backends import REFERENCE, WARD7, snapshot, virtuoso_env

pytestmark = pytest.mark.remote


@pytest.fixture
def remote(virtuoso, request):
    base = f"https://example.org/{request.node.name}/"
    with GraphStore.open(Settings.from_env(virtuoso_env(virtuoso, base))) as store:
        yield store


def journals(store: GraphStore) -> list[str]:
    assert isinstance(store.backend, RemoteBackend)
    prefix = store.layout.journal_prefix
    rows = store.backend._select(  # over the server's own dataset: journals are hidden from queries
        f'SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(STRSTARTS(STR(?g), "{prefix}")) }}'
    )
    return [r["g"].value for r in rows]


def test_a_writer_that_dies_half_way_is_rolled_back_by_the_next_open(
    virtuoso, remote: GraphStore, monkeypatch: pytest.MonkeyPatch
):
    assert remote.load([REFERENCE]).ok
    before = snapshot(remote)
    backend = remote.backend
    assert isinstance(backend, RemoteBackend)
    real_run, real_post = backend._run_update, backend._gsp_post
    sent: list[str] = []

    def dying(text: str) -> None:  # the connection is lost when the union is written
        if "/graph/union" in text and "/graph/journal/" not in text:
            raise StoreError("connection lost")
        real_run(text)

    def dying_post(graph: str, data: str) -> None:
        sent.append(graph)
        if graph.endswith("/graph/union"):
            raise StoreError("connection lost")
        real_post(graph, data)

    def failing_rollback(journal: str) -> None:
        raise StoreError("connection lost")

    monkeypatch.setattr(backend, "_run_update", dying)
    monkeypatch.setattr(backend, "_gsp_post", dying_post)
    monkeypatch.setattr(backend, "_rollback", failing_rollback)
    with pytest.raises(
        StoreError, match="the next cipd command that opens the store rolls it back"
    ):
        remote.load([WARD7])
    assert snapshot(remote) != before, "the test must leave a half-done write behind"
    assert journals(remote)
    monkeypatch.undo()
    with GraphStore.open(Settings.from_env(virtuoso_env(virtuoso, remote.base))) as again:
        assert snapshot(again) == before
        assert not journals(again)


def test_a_refused_update_names_the_server_and_leaves_no_journal(remote: GraphStore):
    assert remote.load([REFERENCE]).ok
    before = snapshot(remote)
    with pytest.raises(StoreError, match=r"nothing was written.*HTTP"):
        remote.update(
            [
                f"INSERT DATA {{ GRAPH <{remote.base}graph/x> {{ <urn:a> <urn:b> <urn:c> }} }}",
                f"DELETE WHERE {{ GRAPH <{remote.base}graph/x> {{ ?s ?p }} }}",
            ]
        )
    assert snapshot(remote) == before and not journals(remote)


def test_wrong_credentials_are_reported(virtuoso):
    env = virtuoso_env(virtuoso, "https://example.org/creds/", CIPD_STORE_PASSWORD="wrong")
    with GraphStore.open(Settings.from_env(env)) as store, pytest.raises(StoreError, match="401"):
        store.load([REFERENCE])


def test_without_the_graph_store_protocol_inserts_are_chunked(virtuoso):
    env = virtuoso_env(virtuoso, "https://example.org/no-gsp/", CIPD_STORE_GSP="")
    with GraphStore.open(Settings.from_env(env)) as store:
        assert store.backend.gsp_url is None  # type: ignore[union-attr]
        result = store.load([REFERENCE])
        assert result.ok and result.written
        people = sum(b.triples for b in result.batches if b.path.endswith("people.csv"))
        assert people > 0
        assert store.stats()["people"] > 50


def test_the_cli_loads_and_queries_a_remote_store(virtuoso, tmp_path: Path):
    env = virtuoso_env(virtuoso, "https://example.org/cli/")
    shown = run("config", env=env).stdout
    assert f"CIPD_STORE={virtuoso.sparql_url}\n" in shown
    assert "CIPD_STORE_AUTH=digest" in shown and "CIPD_STORE_PASSWORD=(set)" in shown
    assert "dba\n" not in shown.replace("CIPD_STORE_USER=dba\n", "")
    loaded = run("load", str(REFERENCE), str(WARD7), env=env)
    assert loaded.returncode == 0, loaded.stderr
    stats = run("stats", "--json", "--sources", env=env)
    assert stats.returncode == 0, stats.stderr
    counts = json.loads(stats.stdout)
    assert counts["counts"]["projects"] == 1 and len(counts["sources"]) == 8
    query = run(
        "query", "cq01-project-strands", "-p", "project=ward7-falls", "--format", "json", env=env
    )
    assert query.returncode == 0, query.stderr
    assert {r["evidenced"] for r in json.loads(query.stdout)["rows"]} <= {"true", "false"}
    out = tmp_path / "graph.nq"
    assert run("export", "--format", "nq", "--out", str(out), env=env).returncode == 0
    assert "ward7-falls" in out.read_text(encoding="utf-8")
    assert run("drop", str(WARD7), env=env).returncode == 0
    again = json.loads(run("stats", "--json", env=env).stdout)
    assert again["counts"]["projects"] == 0


def test_the_api_and_its_sparql_endpoint_work_over_a_remote_store(virtuoso):
    from fastapi.testclient import TestClient

    from cipd_graph.api import create_app

    settings = Settings.from_env(virtuoso_env(virtuoso, "https://example.org/api/"))
    with GraphStore.open(settings) as store:
        assert store.load([REFERENCE, WARD7]).ok
        with TestClient(create_app(settings, store)) as client:
            assert client.get("/health").json() == {
                "status": "ok",
                "store": "remote",
                "empty": False,
            }
            strands = client.get("/queries/cq01-project-strands", params={"project": "ward7-falls"})
            assert strands.status_code == 200, strands.text
            names = "SELECT ?n WHERE { ?p <http://xmlns.com/foaf/0.1/name> ?n }"
            answer = client.get("/sparql", params={"query": names})
            assert answer.status_code == 200 and answer.json()["results"]["bindings"] == []
            people = client.get(
                "/sparql",
                params={"query": "SELECT * WHERE { ?p a <http://xmlns.com/foaf/0.1/Person> }"},
                headers={"Accept": "text/csv"},
            )
            assert people.status_code == 200 and people.text.count("/person/") > 50
            refused = client.get(
                "/sparql",
                params={
                    "query": f"SELECT * FROM <{store.record_graphs()[0]}/names> WHERE {{ ?s ?p ?o }}"
                },
            )
            assert refused.status_code == 400
