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


def test_learning_links_come_a_page_at_a_time(server):
    """The links of the whole store (59,000 at 10,000 projects), a page at a time in the
    list's own order, each link once; the counts are the whole scope's on every page."""
    with server.client() as client:
        whole = client.get("/analytics/learning-links", params={"scope": "all"})
        assert whole.status_code == 200
        links = whole.json()["links"]
        assert int(whole.headers["X-Total-Count"]) == len(links) > 10
        keys = [
            (
                -x["weight"],
                x["project"],
                x["kind"],
                x["source"]["iri"],
                x["target"]["iri"],
                x["iri"],
            )
            for x in links
        ]
        assert keys == sorted(keys) and len(set(keys)) == len(keys)
        seen, cursor, pages = [], None, 0
        while True:
            params = {"scope": "all", "page_size": 7}
            if cursor is not None:
                params["cursor"] = cursor
            page = client.get("/analytics/learning-links", params=params)
            assert page.status_code == 200, page.text
            body = page.json()
            assert (body["by_kind"], body["by_strength"]) == (
                whole.json()["by_kind"],
                whole.json()["by_strength"],
            )
            assert page.headers["X-Total-Count"] == whole.headers["X-Total-Count"]
            seen += body["links"]
            pages += 1
            cursor = page.headers.get("X-Next-Cursor")
            if cursor is None:
                assert "Link" not in page.headers
                break
            assert page.headers["Link"].endswith('rel="next"') and len(body["links"]) == 7
        assert seen == links and pages == -(-len(links) // 7)
        # a cursor is for its own list: another scope's, or a made-up one, is a 400
        first = client.get("/analytics/learning-links", params={"scope": "all", "page_size": 2})
        other = client.get(
            "/analytics/learning-links",
            params={"scope": "project:ward7-falls", "cursor": first.headers["X-Next-Cursor"]},
        )
        assert other.status_code == 400 and "another query" in other.json()["detail"]
        for bad in ("not a cursor!", "eyJ2IjoxfQ"):
            answer = client.get("/analytics/learning-links", params={"scope": "all", "cursor": bad})
            assert answer.status_code == 400, bad


def test_scopes_come_a_page_at_a_time_and_forged_cursors_are_400(server):
    import pyoxigraph as ox

    from cipd_graph._pages import Cursor, ident

    with server.client() as client:
        whole = client.get("/analytics/scopes").json()
        seen, cursor = [], None
        while True:
            params = {"page_size": 11} | ({"cursor": cursor} if cursor else {})
            page = client.get("/analytics/scopes", params=params)
            assert page.status_code == 200 and page.headers["X-Total-Count"] == str(len(whole))
            seen += page.json()
            cursor = page.headers.get("X-Next-Cursor")
            if cursor is None:
                break
        assert seen == whole and seen[0]["kind"] == "all"
        # a cursor this server could have signed for the list, but of another shape
        for place in ((ox.Literal("x"),), (ox.NamedNode("https://example.org/x"),)):
            forged = Cursor(ident("scopes", {}), place).encode()
            answer = client.get("/analytics/scopes", params={"cursor": forged})
            assert answer.status_code == 400, answer.text


def test_a_cursor_of_any_length_a_client_may_send_is_answered(server):
    """The longest cursor the API accepts, even all characters that must be escaped in a
    URL, fits the HTTP server's request line: an error comes back, the connection is not
    dropped; one character more is a 422."""
    with server.client() as client:
        for path in ("/analytics/learning-links", "/analytics/scopes", "/projects"):
            longest = client.get(path, params={"cursor": ":" * 4096})
            assert longest.status_code == 400, (path, longest.status_code)
            over = client.get(path, params={"cursor": "A" * 4097})
            assert over.status_code == 422, (path, over.status_code)


def test_the_loaded_sources_come_a_page_at_a_time_with_the_whole_counts(server):
    with server.client() as client:
        whole = client.get("/stats").json()
        expected = sorted(whole["sources"], key=lambda s: (s["file"], s["graph"]))
        seen, cursor = [], None
        while True:
            params = {"page_size": 4} | ({"cursor": cursor} if cursor else {})
            page = client.get("/stats", params=params)
            assert page.status_code == 200, page.text
            assert page.json()["counts"] == whole["counts"]
            assert page.headers["X-Total-Count"] == str(len(expected))
            seen += page.json()["sources"]
            cursor = page.headers.get("X-Next-Cursor")
            if cursor is None:
                break
        assert seen == expected and len(seen) > 4
        scopes = client.get("/analytics/scopes", params={"page_size": 2})
        mixed = client.get("/stats", params={"cursor": scopes.headers["X-Next-Cursor"]})
        assert mixed.status_code == 400
