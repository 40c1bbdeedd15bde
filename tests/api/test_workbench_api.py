"""The workbench's routes and the module mapping edits over HTTP, on a real server and store:
sign-in, add / change / remove one mapping, history, undo, refusals with field-level SHACL
messages that write nothing, PROV-O of every edit readable over SPARQL, and no person's name
or local id in any answer."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from ..conftest import SAMPLES
from .conftest import Server, start_server

#: nsu-0401 in people.csv: the designer the tests sign in as, and their name.
DESIGNER, NAME = "nsu-0401", "Helen Marsh"
JUSTIFIED = "Students from four professions read run charts together in every seminar."


@pytest.fixture(scope="module")
def wb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own (the tests write); each test edits a module no other test edits."""
    yield from start_server(tmp_path_factory.mktemp("workbench-api"))


def mappings(client: httpx.Client, module: str) -> list[dict[str, object]]:
    response = client.get(f"/modules/{module}/mappings")
    assert response.status_code == 200, response.text
    return response.json()


def cell(matrix: dict, module: str, element: str) -> dict | None:
    found = [c for c in matrix["cells"] if c["module"] == module and c["element"] == element]
    return found[0] if found else None


def no_person_named(*texts: str) -> None:
    for text in texts:
        assert NAME not in text and DESIGNER not in text


IPL = "https://w3id.org/cipd#InterprofessionalLearning"
BELONGING = "https://w3id.org/cipd#LearningAsBelonging"


# --------------------------------------------------------------------------- reads


def test_institutions_programmes_and_modules(server: Server) -> None:
    with server.client() as c:
        institutions = c.get("/workbench/institutions").json()
    by_id = {i["id"]: i for i in institutions}
    assert set(by_id) == {"northshire-university", "westdale-university"}
    msc = by_id["northshire-university"]["programmes"][0]
    assert msc["id"] == "nsu-msc-qi"
    modules_csv = (SAMPLES / "reference" / "modules.csv").read_text(encoding="utf-8")
    expected = {
        line.split(",")[0] for line in modules_csv.splitlines()[1:] if ",nsu-msc-qi," in line
    }
    assert {m["id"] for m in msc["modules"]} == expected and len(expected) == 7


def test_elements_carry_definitions_and_sources(server: Server) -> None:
    with server.client() as c:
        elements = c.get("/workbench/elements").json()
        model = c.get("/model").json()
    listed = [e for k in elements["kinds"] for e in k["elements"]]
    assert sorted(e["iri"] for e in listed) == sorted(e["iri"] for e in model["elements"])
    assert elements["kinds"][0]["kind"] == "Strand"  # the paper's order: strands first
    assert [e["notation"] for e in elements["kinds"][0]["elements"]] == ["IPW", "IPL", "WBL", "SI"]
    ipl = next(e for e in listed if e["iri"] == IPL)
    assert ipl["definition"] and ipl["sources"]
    caipe = next(s for s in ipl["sources"] if s["curie"] == "src:caipe-2002")
    assert caipe["label"].startswith("CAIPE 2002") and "CAIPE" in caipe["citation"]
    assert all(e["definition"] for e in listed)


def test_programme_matrix_agrees_with_the_analytics_matrix(server: Server) -> None:
    with server.client() as c:
        matrix = c.get("/workbench/programmes/nsu-msc-qi/matrix").json()
        analytics = c.get("/analytics/matrix", params={"scope": "programme:nsu-msc-qi"}).json()
        unknown = c.get("/workbench/programmes/nope/matrix")
        bad = c.get("/workbench/programmes/no%20pe/matrix")
    assert sorted(matrix["gaps"]) == sorted(analytics["gaps"])
    assert [m["id"] for m in matrix["modules"]] == [m["id"] for m in analytics["modules"]]
    for i, module in enumerate(analytics["modules"]):
        for j, element in enumerate(analytics["elements"]):
            found = cell(matrix, module["id"], element["iri"])
            assert (found["weight"] if found else 0) == analytics["weights"][i][j]
    qi = cell(matrix, "ncu-qi-practice", "https://w3id.org/cipd#ServiceImprovement")
    assert qi["strength"] == "strong" and "PDSA" in qi["justification"]
    assert matrix["elements"] == 77 and unknown.status_code == 404 and bad.status_code == 422


def _hosted_by(providers: set[str]) -> dict[str, str]:
    """Project id -> title of the sample projects those providers host, read from the YAML."""
    found = {}
    for path in (SAMPLES / "projects").glob("*.yaml"):
        record = yaml.safe_load(path.read_text(encoding="utf-8"))
        if record["organisation"] in providers:
            found[record["id"]] = record["title"]
    return found


def test_partner_evidence(server: Server) -> None:
    with server.client() as c:
        evidence = c.get("/workbench/programmes/nsu-msc-qi/evidence").json()
    # partnerships.csv: the Northshire Improvement Alliance joins the university with two
    # providers (and the ICB, a commissioner); Westdale's partnership is not this one.
    assert {p["id"] for p in evidence["partners"]} == {"northshire-trust", "northshire-community"}
    hosted = _hosted_by({"northshire-trust", "northshire-community"})
    assert {p["id"] for p in evidence["projects"]} == set(hosted)
    by_iri = {p["iri"]: p for p in evidence["projects"]}
    ward7 = next(p for p in evidence["projects"] if p["id"] == "ward7-falls")
    assert ward7["provider"]["id"] == "northshire-trust"
    assert "ncu-qi-practice" in ward7["linked_modules"]  # modules.csv links them
    si = {
        by_iri[link["project"]]["id"]
        for link in evidence["evidence"]["https://w3id.org/cipd#ServiceImprovement"]
    }
    assert "ward7-falls" in si
    assert all(
        how in {"evidences the strand", "evidences the dimension", "claims it", "addresses it"}
        for links in evidence["evidence"].values()
        for link in links
        for how in link["how"]
    )


def test_the_page_is_served_with_nothing_from_outside(server: Server) -> None:
    with server.client() as c:
        page = c.get("/workbench")
        script = c.get("/static/workbench.js")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "/static/workbench.js" in page.text and "{{" not in page.text
    assert not re.search(r"(src|href)=\"https?://", page.text)
    assert script.status_code == 200 and "sessionStorage" in script.text


# --------------------------------------------------------------------------- writes


def test_sign_in_checks_the_token_and_the_person(wb: Server) -> None:
    with wb.client() as c, wb.writer() as w:
        none = c.post("/workbench/session", json={"mapped_by": DESIGNER})
        wrong = c.post(
            "/workbench/session",
            json={"mapped_by": DESIGNER},
            headers={"Authorization": "Bearer nope"},
        )
        nobody = w.post("/workbench/session", json={"mapped_by": "nobody-here"})
        bad = w.post("/workbench/session", json={"mapped_by": "../x"})
        ok = w.post("/workbench/session", json={"mapped_by": DESIGNER})
    assert none.status_code == 401 and wrong.status_code == 401
    assert nobody.status_code == 422
    assert nobody.json()["errors"] == [
        {
            "where": "body.mapped_by",
            "detail": "no person 'nobody-here' is loaded (people.csv lists them)",
        }
    ]
    assert bad.status_code == 422
    assert ok.status_code == 200
    person = ok.json()["person"]
    assert person.startswith(wb.settings.base_iri + "person/") and DESIGNER not in person


def test_add_change_remove_then_undo_each(wb: Server) -> None:
    module = "ncu-measurement"
    base = f"/modules/{module}/mappings"
    matrix_url = "/workbench/programmes/nsu-msc-qi/matrix"
    with wb.writer() as w:
        original = mappings(w, module)
        gaps_before = w.get(matrix_url).json()["gaps"]
        assert IPL in gaps_before

        added = w.post(
            base,
            json={
                "element": "IPL",
                "strength": "strong",
                "justification": JUSTIFIED,
                "mapped_by": DESIGNER,
            },
        )
        assert added.status_code == 201, added.text
        matrix = w.get(matrix_url).json()
        assert cell(matrix, module, IPL)["strength"] == "strong"
        assert IPL not in matrix["gaps"] and len(matrix["gaps"]) == len(gaps_before) - 1

        changed = w.patch(
            f"{base}/cipd:InterprofessionalLearning",
            json={"strength": "weak", "mapped_by": DESIGNER},
        )
        assert changed.status_code == 200, changed.text
        assert cell(w.get(matrix_url).json(), module, IPL)["weight"] == 1
        edit = changed.json()["edit"]
        assert edit["action"] == "change" and "strong -> weak" in edit["summary"]
        assert [m["strength"] for m in edit["before"] if m["element"]["iri"] == IPL] == ["strong"]
        assert [m["strength"] for m in edit["after"] if m["element"]["iri"] == IPL] == ["weak"]

        study = w.patch(
            f"{base}/study",
            json={"justification": "Rewritten: " + JUSTIFIED, "mapped_by": DESIGNER},
        )
        assert study.status_code == 200, study.text
        removed = w.delete(f"{base}/IPL", params={"mapped_by": DESIGNER})
        assert removed.status_code == 200, removed.text
        assert IPL not in {m["element"]["iri"] for m in removed.json()["mappings"]}

        history = w.get(f"{base}/history").json()
        assert [(e["number"], e["action"]) for e in history] == [
            (4, "remove"),
            (3, "change"),
            (2, "change"),
            (1, "add"),
        ]
        assert (
            history[0]["by"]
            == w.post("/workbench/session", json={"mapped_by": DESIGNER}).json()["person"]
        )

        states = []
        for _ in range(4):
            undone = w.post(f"{base}/undo", json={"mapped_by": DESIGNER})
            assert undone.status_code == 200, undone.text
            states.append(
                sorted((m["element"]["curie"], m["strength"]) for m in undone.json()["mappings"])
            )
        assert ("cipd:InterprofessionalLearning", "weak") in states[0]  # the removal undone
        assert ("cipd:InterprofessionalLearning", "strong") in states[2]  # the change undone
        assert mappings(w, module) == original  # every edit undone: as loaded, byte for byte
        assert w.get(matrix_url).json()["gaps"] == gaps_before
        nothing = w.post(f"{base}/undo", json={"mapped_by": DESIGNER})
        history = w.get(f"{base}/history").json()
    assert nothing.status_code == 409 and "nothing to undo" in nothing.json()["detail"]
    assert [e["action"] for e in history[:4]] == ["undo"] * 4
    assert {e["number"]: e["undone_by"] for e in history[4:]} == {4: 5, 3: 6, 2: 7, 1: 8}
    assert history[0]["undoes"] == 1


def test_refused_edits_say_which_field_and_write_nothing(wb: Server) -> None:
    module = "ncu-human-factors"
    base = f"/modules/{module}/mappings"
    good = {
        "element": "IPL",
        "strength": "strong",
        "justification": JUSTIFIED,
        "mapped_by": DESIGNER,
    }
    with wb.writer() as w:
        before = mappings(w, module)
        quads = w.get("/stats").json()["counts"]["quads"]
        mapped = before[0]["element"]["curie"]
        answers = {
            "short": w.post(base, json={**good, "justification": "too short"}),
            "unknown element": w.post(base, json={**good, "element": "NOPE"}),
            "not an element": w.post(base, json={**good, "element": "cipd:ImprovementProject"}),
            "not an IRI": w.post(base, json={**good, "element": "cipd:a b<>"}),
            "unknown person": w.post(base, json={**good, "mapped_by": "nobody-here"}),
            "bad strength": w.post(base, json={**good, "strength": "huge"}),
            "extra field": w.post(base, json={**good, "weight": 3}),
            "mapped already": w.post(base, json={**good, "element": mapped}),
            "nothing to change": w.patch(f"{base}/{mapped}", json={"mapped_by": DESIGNER}),
            "short change": w.patch(
                f"{base}/{mapped}", json={"justification": "no", "mapped_by": DESIGNER}
            ),
            "change unmapped": w.patch(
                f"{base}/IPL", json={"strength": "weak", "mapped_by": DESIGNER}
            ),
            "remove unmapped": w.delete(f"{base}/IPL", params={"mapped_by": DESIGNER}),
            "remove by nobody": w.delete(f"{base}/{mapped}", params={"mapped_by": "nobody-here"}),
            "remove by whom": w.delete(f"{base}/{mapped}"),
            "unknown module": w.post("/modules/nope/mappings", json=good),
            "undo nothing": w.post(f"{base}/undo", json={"mapped_by": DESIGNER}),
            "undo by nobody": w.post(f"{base}/undo", json={"mapped_by": "nobody-here"}),
        }
        after = mappings(w, module)
        history = w.get(f"{base}/history").json()
        quads_after = w.get("/stats").json()["counts"]["quads"]
    with wb.client() as c:
        no_token = c.post(base, json=good)
        no_token_undo = c.post(f"{base}/undo", json={"mapped_by": DESIGNER})
    status = {k: v.status_code for k, v in answers.items()}
    assert status == {
        "short": 422,
        "unknown element": 422,
        "not an element": 422,
        "not an IRI": 422,
        "unknown person": 422,
        "bad strength": 422,
        "extra field": 422,
        "mapped already": 409,
        "nothing to change": 422,
        "short change": 422,
        "change unmapped": 404,
        "remove unmapped": 404,
        "remove by nobody": 422,
        "remove by whom": 422,
        "unknown module": 404,
        "undo nothing": 409,
        "undo by nobody": 422,
    }
    assert no_token.status_code == 401 and no_token_undo.status_code == 401

    def problem(name: str) -> tuple[str, str]:
        first = answers[name].json()["errors"][0]
        return first["where"], first["detail"]

    # SHACL's messages (shapes/reference.ttl), each beside its field
    assert problem("short") == (
        "body.justification",
        "a mapping carries a justification of at least 15 characters saying why the module "
        "addresses the element",
    )
    assert problem("short change")[0] == "body.justification"
    assert problem("not an element")[0] == "body.element"
    assert problem("not an element")[1].startswith(
        "a mapping must point at an element of the CIPD model"
    )
    assert (
        problem("unknown element")[0] == "body.element" and "NOPE" in problem("unknown element")[1]
    )
    assert problem("unknown person") == (
        "body.mapped_by",
        "who made the mapping must be a person listed in people.csv",
    )
    assert problem("not an IRI") == ("body.element", "'cipd:a b<>' is not a valid IRI or CURIE")
    assert problem("remove by nobody")[0] == "query.mapped_by"
    assert problem("bad strength")[0] == "body.strength"
    assert after == before and history == [] and quads_after == quads


SPARQL_EDITS = """
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX cipd: <https://w3id.org/cipd#>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?g ?edit ?type ?who ?at ?strengthBefore WHERE {
  GRAPH ?g {
    ?edit a prov:Activity ; dcterms:type ?type ; prov:startedAtTime ?at ;
          prov:wasAssociatedWith ?who ; prov:used ?before ; dcterms:subject ?module .
    ?who a prov:Person .
    ?before a prov:Collection .
    OPTIONAL { ?before prov:hadMember ?m . ?m prov:specializationOf ?mapping ;
               cipd:mapsToElement cipd:LearningAsDoing ; cipd:mappingStrength ?strengthBefore }
    ?after prov:wasGeneratedBy ?edit ; prov:wasRevisionOf ?before .
  }
  VALUES ?module { <https://w3id.org/cipd/data/module/ncu-coproduction> }
}
"""


def test_every_edit_is_recorded_in_prov_o_and_readable_over_sparql(wb: Server) -> None:
    module = "ncu-coproduction"
    base = f"/modules/{module}/mappings"
    with wb.writer() as w:
        person = w.post("/workbench/session", json={"mapped_by": DESIGNER}).json()["person"]
        added = w.post(
            base,
            json={
                "element": "doing",
                "strength": "moderate",
                "justification": JUSTIFIED,
                "mapped_by": DESIGNER,
            },
        )
        changed = w.patch(f"{base}/doing", json={"strength": "strong", "mapped_by": DESIGNER})
        assert added.status_code == 201 and changed.status_code == 200
        rows = w.post(
            "/sparql",
            data={"query": SPARQL_EDITS},
            headers={"Accept": "application/sparql-results+json"},
        )
        assert rows.status_code == 200, rows.text
        bindings = rows.json()["results"]["bindings"]
        provenance = w.get(
            "/sparql",
            params={
                "query": f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{bindings[0]['g']['value']}> {{ ?s ?p ?o }} }}"
            },
            headers={"Accept": "application/n-triples"},
        )
        union = w.post(
            "/sparql",
            data={
                "query": "ASK { ?e a <http://www.w3.org/ns/prov#Activity> ; <http://purl.org/dc/terms/subject> ?m }"
            },
            headers={"Accept": "application/sparql-results+json"},
        )
        history = w.get(f"{base}/history")
        matrix = w.get("/workbench/programmes/nsu-msc-qi/matrix")
    edits = {b["type"]["value"]: b for b in bindings}
    assert set(edits) == {"add", "change"}
    assert {b["g"]["value"] for b in bindings} == {
        f"{wb.settings.base_iri}graph/api/module-mappings/{module}/provenance"
    }
    assert all(b["who"]["value"] == person for b in bindings)
    assert all(b["at"]["datatype"].endswith("#dateTime") for b in bindings)
    assert "strengthBefore" not in edits["add"]  # before the add, no mapping to doing
    assert edits["change"]["strengthBefore"]["value"].endswith("#ModerateMapping")
    assert union.json()["boolean"] is False  # provenance is read by name, not in the union
    no_person_named(rows.text, provenance.text, history.text, matrix.text, added.text, changed.text)


def test_put_is_recorded_and_can_be_undone(wb: Server) -> None:
    module = "ncu-microsystems"
    base = f"/modules/{module}/mappings"
    new = [
        {"element": "IPW", "strength": "strong", "justification": JUSTIFIED, "mapped_by": DESIGNER}
    ]
    with wb.writer() as w:
        before = mappings(w, module)
        put = w.put(base, json=new)
        assert put.status_code == 200, put.text
        history = w.get(f"{base}/history").json()
        undone = w.post(f"{base}/undo", json={"mapped_by": DESIGNER})
        after = mappings(w, module)
    assert [m["element"]["curie"] for m in put.json()] == ["cipd:InterprofessionalWorking"]
    assert history[0]["action"] == "replace" and len(history[0]["before"]) == len(before)
    assert undone.status_code == 200 and after == before


def test_undo_refuses_to_lose_a_change_made_outside_the_workbench(
    wb: Server, tmp_path: Path
) -> None:
    module = "ncu-dissertation"
    base = f"/modules/{module}/mappings"
    with wb.writer() as w:
        added = w.post(
            base,
            json={
                "element": "WBL",
                "strength": "weak",
                "justification": JUSTIFIED,
                "mapped_by": DESIGNER,
            },
        )
        assert added.status_code == 201, added.text
        # a mappings table loaded later maps the module onto one more element
        table = (
            "module,element,strength,justification,mapped_by\n"
            f"{module},SI,strong,{JUSTIFIED},{DESIGNER}\n"
        )
        loaded = w.post("/records", files={"files": ("mappings.csv", table.encode())})
        assert loaded.status_code == 200, loaded.text
        current = mappings(w, module)
        refused = w.post(f"{base}/undo", json={"mapped_by": DESIGNER})
        assert mappings(w, module) == current
    assert refused.status_code == 409 and "changed since its last edit" in refused.json()["detail"]
