"""The /analytics routes over HTTP on a real server: JSON, figures, errors and the dashboard page."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from cipd_graph import load_model


def test_scopes_and_coverage(server):
    with server.client() as client:
        scopes = client.get("/analytics/scopes").json()
        assert scopes[0]["kind"] == "all"
        assert {"kind": "programme", "id": "nsu-msc-qi"}.items() <= next(
            s for s in scopes if s["id"] == "nsu-msc-qi"
        ).items()
        cov = client.get(
            "/analytics/coverage", params={"scope": "project:xray-repeat-rates"}
        ).json()
        assert [s["notation"] for s in cov["strands"]] == ["IPW", "IPL", "WBL", "SI"]
        assert "IPW" in cov["missing_strands"]
        assert cov["scope"]["label"]


def test_matrix_collaboration_timeline_and_paths(server):
    with server.client() as client:
        matrix = client.get("/analytics/matrix", params={"scope": "nsu-msc-qi"}).json()
        assert len(matrix["elements"]) == len(load_model())  # a column per model element
        assert len(matrix["weights"]) == len(matrix["modules"])
        col = client.get("/analytics/collaboration", params={"scope": "ward7-falls"}).json()
        assert col["people"] == 6 and col["teams"][0]["blau"] > 0.8
        tl = client.get("/analytics/timeline", params={"scope": "ward7-falls"}).json()
        assert [c["number"] for c in tl["cycles"]] == [1, 2, 3]
        assert tl["measures"][0]["points"][0] == ["2024-05-31", 7.6]
        paths = client.get(
            "/analytics/paths", params={"source": "cycle:ward7-falls/1", "target": "SI"}
        ).json()
        assert paths["length"] == 2
        assert paths["paths"][0][0]["predicates"] == ["^cipd:hasCycle"]


def test_unknown_scopes_are_404_and_bad_ones_400(server):
    with server.client() as client:
        missing = client.get("/analytics/coverage", params={"scope": "no-such-scope"})
        assert missing.status_code == 404 and "no-such-scope" in missing.json()["detail"]
        bad = client.get("/analytics/coverage", params={"scope": "project:not an id"})
        assert bad.status_code == 400
        assert client.get("/analytics/timeline", params={"scope": "all"}).status_code == 400
        assert (
            client.get("/analytics/figures/timeline.svg", params={"scope": "all"}).status_code
            == 400
        )
        assert client.get("/analytics/figures/pie.svg").status_code == 422
        assert (
            client.get("/analytics/figures/tapestry.svg", params={"scope": "nope"}).status_code
            == 404
        )
        no_path = client.get("/analytics/paths", params={"source": "project:nope", "target": "SI"})
        assert no_path.status_code == 404


def test_figures_as_svg_and_png(server):
    with server.client() as client:
        svg = client.get("/analytics/figures/tapestry.svg", params={"scope": "nsu-msc-qi"})
        assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
        root = ET.fromstring(svg.text)
        assert {"strand-IPW", "dimension-becoming"} <= {e.get("id") for e in root.iter()}
        png = client.get("/analytics/figures/network.png", params={"scope": "northshire-trust"})
        assert png.headers["content-type"] == "image/png" and png.content[:4] == b"\x89PNG"


def test_dashboard_page_is_served(server):
    with server.client() as client:
        page = client.get("/analytics/dashboard")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert 'id="scope"' in page.text and "http" not in page.text.split("<script>")[1]
