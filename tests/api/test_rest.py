"""The REST routes over HTTP, against a real uvicorn server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import Graph

from cipd_graph._queries import named_queries

from ..conftest import SAMPLES
from .conftest import Server, start_server

WARD7 = (SAMPLES / "projects" / "ward7-falls.yaml").read_text(encoding="utf-8")
INJECTION = "x> } DROP ALL {"


def _new_project(pid: str = "ward9-falls", *, organisation: str = "northshire-trust") -> bytes:
    text = WARD7.replace("id: ward7-falls", f"id: {pid}").replace(
        "id: ward7-microsystem", f"id: {pid}-microsystem"
    )
    text = text.replace("organisation: northshire-trust", f"organisation: {organisation}", 1)
    return text.encode("utf-8")


# --------------------------------------------------------------------------- health, stats


def test_health_and_stats(server: Server) -> None:
    with server.client() as c:
        health = c.get("/health").json()
        stats = c.get("/stats").json()
    assert health == {"status": "ok", "store": "embedded", "empty": False}
    assert stats["counts"]["projects"] == 26 and stats["derived_facts_current"] is True
    assert stats["counts"]["triples"] > 1000
    assert len(stats["sources"]) == stats["counts"]["batches"] > 0


# --------------------------------------------------------------------------- queries


def test_queries_list(server: Server) -> None:
    with server.client() as c:
        listed = c.get("/queries").json()
    assert len(listed) == 16
    cq01 = next(q for q in listed if q["name"] == "cq01-project-strands")
    assert cq01["parameters"] == [
        {
            "name": "project",
            "kind": "iri",
            "required": True,
            "description": "The project: its id or IRI.",
        }
    ]


def test_query_route_with_parameter(server: Server) -> None:
    with server.client() as c:
        r = c.get("/queries/cq01-project-strands", params={"project": "xray-repeat-rates"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["query"] == "cq01-project-strands"
    assert body["variables"] == ["strand", "label", "evidenced", "linkedWith"]
    evidenced = {row["strand"].rsplit("#", 1)[-1]: row["evidenced"] for row in body["rows"]}
    assert evidenced == {
        "InterprofessionalWorking": "false",
        "InterprofessionalLearning": "false",
        "WorkBasedLearning": "true",
        "ServiceImprovement": "true",
    }


def test_an_unknown_id_in_a_query_is_not_found(server: Server) -> None:
    """Rows of false for a project nobody loaded would read as an answer: it is a 404."""
    with server.client() as c:
        r = c.get("/queries/cq01-project-strands", params={"project": "nope-project"})
    assert r.status_code == 404, r.text
    assert "nope-project" in r.text


def test_construct_query_gives_turtle(server: Server) -> None:
    with server.client() as c:
        r = c.get("/queries/cq16-module-map-skos", params={"programme": "nsu-msc-qi"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/turtle")
    assert len(Graph().parse(data=r.text, format="turtle")) > 0


def test_openapi_lists_typed_parameters(server: Server) -> None:
    with server.client() as c:
        schema = c.get("/openapi.json").json()
    operation = schema["paths"]["/queries/cq01-project-strands"]["get"]
    # the query's own parameter, and the page's (issue 20): page_size and cursor
    params = {p["name"]: p for p in operation["parameters"]}
    assert sorted(params) == ["cursor", "page_size", "project"]
    param = params["project"]
    assert param["in"] == "query" and param["required"] is True
    assert param["schema"]["type"] == "string"
    assert not params["page_size"]["required"] and not params["cursor"]["required"]
    optional = schema["paths"]["/queries/cq10-quality-targets"]["get"]["parameters"]
    assert [p["required"] for p in optional] == [False, False, False]
    for path in (
        "/health",
        "/stats",
        "/model",
        "/projects",
        "/modules/{module_id}/mappings",
        "/records",
    ):
        assert path in schema["paths"], path


def test_missing_required_parameter_is_422(server: Server) -> None:
    with server.client() as c:
        r = c.get("/queries/cq01-project-strands")
    assert r.status_code == 422
    assert "project" in r.text


def test_unknown_parameter_and_unknown_query(server: Server) -> None:
    with server.client() as c:
        extra = c.get("/queries/cq02-weaving-levels", params={"project": "x"})
        unknown = c.get("/queries/cq99-nothing")
    assert extra.status_code == 400 and "no parameter" in extra.json()["detail"]
    assert unknown.status_code == 404 and "cq99-nothing" in unknown.json()["detail"]


def test_injection_through_every_parameter_is_refused(server: Server) -> None:
    with server.client() as c:
        before = c.get("/stats").json()["counts"]
        tried = 0
        for query in named_queries().values():
            for p in query.parameters:
                values = {q.name: "ward7-falls" for q in query.parameters if q.required}
                values[p.name] = INJECTION
                r = c.get(f"/queries/{query.name}", params=values)
                assert r.status_code in (400, 422), (query.name, p.name, r.text)
                assert "detail" in r.json()
                tried += 1
        after = c.get("/stats").json()["counts"]
    assert tried >= 9
    assert after == before


# --------------------------------------------------------------------------- model


def test_model_json(server: Server) -> None:
    with server.client() as c:
        model = c.get("/model").json()
        element = c.get("/model/elements/IPL")
        by_curie = c.get("/model/elements/cipd:LearningAsDoing")
        unknown = c.get("/model/elements/NOPE")
    assert [s["notation"] for s in model["strands"]] == ["IPW", "IPL", "WBL", "SI"]
    assert len(model["table1"]) == 4
    assert all(row["practice"]["label"] for row in model["table1"])
    assert len(model["elements"]) > 20
    assert element.json()["curie"] == "cipd:InterprofessionalLearning"
    assert by_curie.json()["label"] == "Learning as doing"
    assert unknown.status_code == 404


def test_model_jsonld(server: Server) -> None:
    with server.client() as c:
        by_accept = c.get("/model", headers={"Accept": "application/ld+json"})
        by_param = c.get("/model", params={"format": "jsonld"})
    assert by_accept.headers["content-type"].startswith("application/ld+json")
    graph = Graph().parse(data=by_accept.text, format="json-ld")
    assert len(graph) > 100
    assert len(Graph().parse(data=by_param.text, format="json-ld")) == len(graph)


# --------------------------------------------------------------------------- projects


def test_projects(server: Server) -> None:
    with server.client() as c:
        listed = c.get("/projects").json()
        one = c.get("/projects/ward7-falls").json()
        unknown = c.get("/projects/no-such-project")
        bad = c.get("/projects/bad%20id")
        bad_injection = c.get("/projects/x%3E%20%7D%20DROP")
    assert len(listed) == 26
    ward7 = next(p for p in listed if p["id"] == "ward7-falls")
    assert ward7["host"]["id"] == "northshire-trust" and ward7["start"] == "2024-04-01"
    assert {s["notation"] for s in one["strands"]} == {"IPW", "IPL", "WBL", "SI"}
    assert one["aim"].startswith("Reduce falls") and one["cycles"] > 0 and one["team_members"] == 6
    assert one["dimensions"]
    assert unknown.status_code == 404
    assert bad.status_code == 422 and bad_injection.status_code == 422


# --------------------------------------------------------------------------- modules


def test_modules_and_mappings(server: Server) -> None:
    with server.client() as c:
        listed = c.get("/modules").json()
        one = c.get("/modules/ncu-qi-practice").json()
        mappings = c.get("/modules/ncu-qi-practice/mappings").json()
        unknown = c.get("/modules/nope/mappings")
        co_delivered = c.get("/modules/wdu-simulation").json()
    assert any(m["id"] == "ncu-qi-practice" for m in listed)
    # a module co-delivered by a trust is still offered by its university
    assert co_delivered["institution"]["id"] == "westdale-university"
    assert [m["institution"]["id"] for m in listed if m["id"] == "wdu-simulation"] == [
        "westdale-university"
    ]
    assert one["code"] == "QI7001" and one["mappings"] == 6
    assert len(mappings) == 6
    assert {m["strength"] for m in mappings} == {"strong", "moderate", "weak"}
    assert all(
        m["mapped_by"].startswith("https://") and "nsu-0401" not in m["mapped_by"] for m in mappings
    )
    assert unknown.status_code == 404


NEW_MAPPINGS = [
    {
        "element": "IPL",
        "strength": "strong",
        "justification": "Students from four professions learn together in every session.",
        "mapped_by": "nsu-0401",
    },
    {
        "element": "cipd:LearningAsDoing",
        "strength": "weak",
        "justification": "A short practical exercise in the final week of the module.",
        "mapped_by": "nsu-0401",
    },
]


def test_put_mappings_needs_the_token(server: Server) -> None:
    with server.client() as c:
        none = c.put("/modules/ncu-qi-practice/mappings", json=NEW_MAPPINGS)
        wrong = c.put(
            "/modules/ncu-qi-practice/mappings",
            json=NEW_MAPPINGS,
            headers={"Authorization": "Bearer wrong"},
        )
        assert len(c.get("/modules/ncu-qi-practice/mappings").json()) == 6
    assert none.status_code == 401 and wrong.status_code == 401


@pytest.fixture
def tokenless_server(tmp_path: Path) -> Iterator[Server]:
    yield from start_server(tmp_path / "s", api_token=None)


def test_writes_are_off_without_a_configured_token(tokenless_server: Server) -> None:
    with tokenless_server.writer() as w:
        put = w.put("/modules/ncu-qi-practice/mappings", json=NEW_MAPPINGS)
        post = w.post("/records", files={"files": ("x.yaml", _new_project())})
    assert put.status_code == 403 and post.status_code == 403


def test_put_mappings(fresh_server: Server) -> None:
    url = "/modules/ncu-qi-practice/mappings"
    with fresh_server.writer() as w:
        before = w.get(url).json()
        mappings_before = w.get("/stats").json()["counts"]["module_mappings"]
        bad_element = w.put(url, json=[NEW_MAPPINGS[0], {**NEW_MAPPINGS[1], "element": "NOPE"}])
        short = w.put(url, json=[{**NEW_MAPPINGS[0], "justification": "too short"}])
        strength = w.put(url, json=[{**NEW_MAPPINGS[0], "strength": "huge"}])
        person = w.put(url, json=[{**NEW_MAPPINGS[0], "mapped_by": "nobody-here"}])
        unknown = w.put("/modules/nope/mappings", json=NEW_MAPPINGS)
        assert w.get(url).json() == before
        good = w.put(url, json=NEW_MAPPINGS)
        after = w.get(url).json()
        other = w.get("/modules/ncu-measurement/mappings").json()
        mappings_after = w.get("/stats").json()["counts"]["module_mappings"]
    assert mappings_after == mappings_before - len(before) + len(NEW_MAPPINGS)
    assert bad_element.status_code == 422
    assert bad_element.headers["content-type"] == "application/problem+json"
    assert bad_element.json()["errors"][0]["where"] == "body.1.element"
    assert "NOPE" in bad_element.json()["errors"][0]["detail"]
    assert short.status_code == 422 and short.json()["errors"][0]["where"] == "body.0.justification"
    assert strength.status_code == 422 and person.status_code == 422
    assert unknown.status_code == 404
    assert good.status_code == 200, good.text
    assert good.json() == after
    assert sorted((m["element"]["curie"], m["strength"]) for m in after) == [
        ("cipd:InterprofessionalLearning", "strong"),
        ("cipd:LearningAsDoing", "weak"),
    ]
    assert len(other) == 5


# --------------------------------------------------------------------------- records


def test_upload_a_new_project(fresh_server: Server) -> None:
    with fresh_server.writer() as w:
        r = w.post("/records", files={"files": ("ward9-falls.yaml", _new_project())})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["ok"] and body["written"]
        assert body["batches"][0]["path"] == "ward9-falls.yaml"
        # Where the upload's time went, stage by stage, as `cipd load --format json` says.
        stages = [(s["name"], s["aside"]) for s in body["stages"]]
        assert stages == [
            (name, False)
            for name in ("read and map", "checks", "validation", "plan", "derived facts", "write")
        ]
        assert all(isinstance(s["seconds"], float) and s["seconds"] >= 0 for s in body["stages"])
        ids = {p["id"] for p in w.get("/projects").json()}
        again = w.post("/records", files={"files": ("ward9-falls.yaml", _new_project())})
        projects = w.get("/projects").json()
    assert "ward9-falls" in ids
    assert again.status_code == 200 and again.json()["batches"][0]["replaces"] is True
    assert len(projects) == 27


def test_upload_an_invalid_project_writes_nothing(fresh_server: Server) -> None:
    with fresh_server.writer() as w:
        before = w.get("/stats").json()["counts"]
        r = w.post(
            "/records",
            files={
                "files": ("ward9-falls.yaml", _new_project(organisation="northshire-university"))
            },
        )
        after = w.get("/stats").json()["counts"]
    assert r.status_code == 422
    body = r.json()
    assert body["ok"] is False and body["written"] is False
    errors = [f for f in body["findings"] if f["severity"] == "error"]
    assert errors and all(f["file"] == "ward9-falls.yaml" for f in errors)
    assert any("organisation" in f["message"] or "provider" in f["message"] for f in errors), errors
    assert after == before


@pytest.mark.parametrize(
    "name", ["../ward9-falls.yaml", "sub/ward9-falls.yaml", "ward9-falls.txt", "nonsense.csv"]
)
def test_upload_bad_file_names(server: Server, name: str) -> None:
    with server.writer() as w:
        r = w.post("/records", files={"files": (name, _new_project())})
        v = w.post("/validate", files={"files": (name, _new_project())})
    assert r.status_code == 422, r.text
    assert v.status_code == 422, v.text
    assert "detail" in r.json()


def test_validate_is_a_dry_run(server: Server) -> None:
    with server.client() as anyone:
        refused = anyone.post("/validate", files={"files": ("ward9-falls.yaml", _new_project())})
    assert refused.status_code == 401  # a dry run costs as much as a load: it needs the token
    with server.writer() as c:
        before = c.get("/stats").json()
        ok = c.post("/validate", files={"files": ("ward9-falls.yaml", _new_project())})
        bad = c.post(
            "/validate",
            files={
                "files": ("ward9-falls.yaml", _new_project(organisation="northshire-university"))
            },
        )
        after = c.get("/stats").json()
    assert ok.status_code == 200 and ok.json()["ok"] is True and ok.json()["written"] is False
    assert bad.status_code == 200 and bad.json()["ok"] is False
    assert after == before


def test_garbage_upload_is_a_4xx(server: Server) -> None:
    with server.writer() as w:
        r = w.post("/validate", files={"files": ("people.csv", b"\xff\xfe not a table")})
        empty = w.post("/validate")
    assert r.status_code == 200 and r.json()["ok"] is False and r.json()["problems"]
    assert empty.status_code == 422
