"""The import/export framework every standard plugs into, with a small format of its own.

The test format reads a JSON list of organisations (``{"id", "name", "kind"}``) through the
native mapper and writes them back as JSON, so the framework's guarantees are checked apart
from any one standard: all-or-nothing imports, located errors, warnings for what a reader
leaves out, re-import replacing the earlier batch, drop, and the same through CLI and HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path

import pyoxigraph as ox
import pytest
from typer.testing import CliRunner

from cipd_graph import GraphStore, RecordError, RecordProblem, Settings
from cipd_graph.cli import app
from cipd_graph.interop import (
    FORMATS,
    Format,
    FormatError,
    Option,
    export_format,
    get_format,
    import_files,
    register,
)
from cipd_graph.mapping.mapper import MappedFile, Mapper
from cipd_graph.records.parse import Located, OrganisationRow, RecordFile

from .api.conftest import Server, start_server

KEY = "interop-key-0123456789abcdef"
KINDS = ("service-provider", "educational-institution", "commissioner")


def read_orgs(path: Path, mapper: Mapper) -> MappedFile:
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RecordError([RecordProblem(str(path), None, "file", "", f"not JSON: {exc}")]) from exc
    if not isinstance(items, list):
        raise RecordError([RecordProblem(str(path), None, "file", "", "expected a JSON list")])
    rows: list[Located[OrganisationRow]] = []
    skipped: list[RecordProblem] = []
    for i, item in enumerate(items, 1):
        if item.get("kind") not in KINDS:
            skipped.append(
                RecordProblem(str(path), None, f"item {i}", "kind", "unknown kind; left out")
            )
            continue
        rows.append(Located(OrganisationRow(**item), i, f"organisation {item['id']}"))
    out = mapper.map(RecordFile(path, "organisations", tuple(rows)))
    out.warnings.extend(skipped)
    return out


def write_orgs(store: GraphStore, options: Mapping[str, str]) -> bytes:
    rows = store.oxigraph.query(
        "PREFIX cipd: <https://w3id.org/cipd#> SELECT ?name WHERE { "
        "VALUES ?c { cipd:ServiceProvider cipd:EducationalInstitution cipd:Commissioner } "
        "?o a ?c ; <http://www.w3.org/2000/01/rdf-schema#label> ?name } ORDER BY ?name"
    )
    assert isinstance(rows, ox.QuerySolutions)
    names = [r["name"].value for r in rows]
    if options.get("prefix"):
        names = [n for n in names if n.startswith(options["prefix"])]
    return json.dumps(names).encode()


@pytest.fixture
def toy() -> Iterator[Format]:
    fmt = register(
        Format(
            name="toy-orgs",
            title="Organisations as a JSON list (test format)",
            media_type="application/json",
            suffix=".json",
            reader=read_orgs,
            writer=write_orgs,
            read_suffixes=(".json",),
            options=(Option("prefix", "only names starting with this"),),
            limits="everything but id, name and kind",
        )
    )
    yield fmt
    del FORMATS[fmt.name]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[GraphStore]:
    with GraphStore(tmp_path / "store", Settings(pseudonym_key=KEY, user="tester")) as s:
        yield s


def write_json(path: Path, items: object) -> Path:
    path.write_text(json.dumps(items), encoding="utf-8")
    return path


ORGS = [
    {"id": "east-trust", "name": "East Trust", "kind": "service-provider"},
    {"id": "east-uni", "name": "East University", "kind": "educational-institution"},
]


def snapshot(store: GraphStore) -> set[str]:
    return {str(q) for q in store.oxigraph}


def test_import_writes_a_batch_with_provenance_and_reimport_replaces_it(
    toy: Format, store: GraphStore, tmp_path: Path
) -> None:
    path = write_json(tmp_path / "orgs.json", ORGS)
    result = import_files(store, "toy-orgs", [path])
    assert result.ok and result.written, result.to_text()
    assert [s.kind for s in store.sources()] == ["organisations"]
    assert json.loads(export_format(store, "toy-orgs")) == ["East Trust", "East University"]
    assert json.loads(export_format(store, "toy-orgs", {"prefix": "East U"})) == ["East University"]
    write_json(path, ORGS[:1])
    again = import_files(store, "toy-orgs", [path])
    assert again.written and again.batches[0].replaces
    assert json.loads(export_format(store, "toy-orgs")) == ["East Trust"]
    store.drop(str(path))
    assert json.loads(export_format(store, "toy-orgs")) == []


def test_malformed_input_is_located_and_changes_nothing(
    toy: Format, store: GraphStore, tmp_path: Path
) -> None:
    assert import_files(store, "toy-orgs", [write_json(tmp_path / "a.json", ORGS)]).written
    before = snapshot(store)
    broken = tmp_path / "b.json"
    broken.write_text("[{", encoding="utf-8")
    good = write_json(tmp_path / "c.json", [{"id": "west", "name": "W", "kind": "commissioner"}])
    result = import_files(store, "toy-orgs", [good, broken])
    assert not result.ok and not result.written
    assert [(p.file, p.record) for p in result.problems] == [(str(broken), "file")]
    assert "not JSON" in result.problems[0].reason
    assert snapshot(store) == before


def test_an_entity_defined_twice_refuses_the_whole_import(
    toy: Format, store: GraphStore, tmp_path: Path
) -> None:
    before = snapshot(store)
    path = write_json(tmp_path / "dup.json", ORGS)
    other = write_json(tmp_path / "dup2.json", ORGS[:1])  # the same organisation twice
    result = import_files(store, "toy-orgs", [path, other])
    assert not result.ok
    assert any("also defined in" in p.reason for p in result.problems)
    assert snapshot(store) == before


def test_what_the_reader_leaves_out_is_reported(
    toy: Format, store: GraphStore, tmp_path: Path
) -> None:
    path = write_json(tmp_path / "orgs.json", [*ORGS, {"id": "x", "name": "X", "kind": "pub"}])
    result = import_files(store, "toy-orgs", [path])
    assert result.written
    assert [(w.record, w.field) for w in result.warnings] == [("item 3", "kind")]
    assert "warning: " in result.to_text() and "unknown kind; left out" in result.to_text()


def test_dry_run_writes_nothing(toy: Format, store: GraphStore, tmp_path: Path) -> None:
    before = snapshot(store)
    result = import_files(store, "toy-orgs", [write_json(tmp_path / "o.json", ORGS)], write=False)
    assert result.ok and not result.written
    assert snapshot(store) == before


def test_unknown_formats_and_options_are_clear_errors(toy: Format, store: GraphStore) -> None:
    with pytest.raises(FormatError, match=r"unknown format 'nope'; known formats: .*toy-orgs"):
        get_format("nope")
    with pytest.raises(FormatError, match=r"unknown option.*colour; it takes: prefix"):
        export_format(store, "toy-orgs", {"colour": "red"})
    register(Format("toy-write-only", "t", "text/plain", ".txt", writer=write_orgs))
    try:
        with pytest.raises(FormatError, match=r"cannot be imported; importable: .*toy-orgs"):
            import_files(store, "toy-write-only", [])
    finally:
        del FORMATS["toy-write-only"]


def test_cli_import_export_and_formats(toy: Format, tmp_path: Path) -> None:
    env = {"CIPD_STORE": str(tmp_path / "cli-store"), "CIPD_PSEUDONYM_KEY": KEY}
    runner = CliRunner()
    path = write_json(tmp_path / "orgs.json", ORGS)
    listed = runner.invoke(app, ["formats"], env=env)
    assert listed.exit_code == 0 and "toy-orgs  [import/export]" in listed.output
    assert "cannot carry: everything but id, name and kind" in listed.output
    done = runner.invoke(app, ["import", "toy-orgs", str(path), "--format", "json"], env=env)
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout[done.stdout.index("{") :])["written"] is True
    out = tmp_path / "out.json"
    exported = runner.invoke(
        app, ["export", "toy-orgs", "-o", "prefix=East T", "--out", str(out)], env=env
    )
    assert exported.exit_code == 0, exported.output
    assert json.loads(out.read_text()) == ["East Trust"]
    bad = runner.invoke(app, ["export", "toy-orgs", "-o", "colour"], env=env)
    assert bad.exit_code == 2 and "write key=value" in bad.output
    unknown = runner.invoke(app, ["import", "nope", str(path)], env=env)
    assert unknown.exit_code == 2 and "unknown format 'nope'" in unknown.output
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    refused = runner.invoke(app, ["import", "toy-orgs", str(broken)], env=env)
    assert refused.exit_code == 1 and "nothing was written" in refused.output


@pytest.fixture
def toy_server(toy: Format, tmp_path: Path) -> Iterator[Server]:
    yield from start_server(tmp_path / "api-store")


def test_http_import_export_and_formats(toy_server: Server) -> None:
    with toy_server.client() as client:
        formats = {f["name"]: f for f in client.get("/formats").json()}
        assert formats["toy-orgs"]["can_import"] and formats["toy-orgs"]["options"][0]["name"] == (
            "prefix"
        )
        files = {"files": ("new-orgs.json", json.dumps(ORGS[:1]).encode(), "application/json")}
        assert client.post("/import/toy-orgs", files=files).status_code == 401
        assert client.get("/export/nope").status_code == 404
        assert client.get("/export/toy-orgs?colour=red").status_code == 400
    with toy_server.writer() as writer:
        wrong = {"files": ("orgs.txt", b"[]", "text/plain")}
        assert writer.post("/import/toy-orgs", files=wrong).status_code == 422
        broken = {"files": ("orgs.json", b"[{", "application/json")}
        refused = writer.post("/import/toy-orgs", files=broken)
        assert refused.status_code == 422 and refused.json()["problems"][0]["file"] == "orgs.json"
        dry = writer.post("/import/toy-orgs?dry_run=true", files=files)
        assert dry.status_code == 200 and dry.json()["written"] is False
        done = writer.post("/import/toy-orgs", files=files)
        assert done.status_code == 200 and done.json()["written"] is True
        exported = writer.get("/export/toy-orgs", params={"prefix": "East"})
        assert exported.status_code == 200
        assert exported.headers["content-type"].startswith("application/json")
        assert exported.json() == ["East Trust"]
