"""Pages over HTTP (issue 20): page_size and cursor on the listings and named queries,
the next page in Link and X-Next-Cursor, the count in X-Total-Count."""

from __future__ import annotations


def test_the_api_pages_with_link_and_cursor_headers(server) -> None:
    with server.client() as http:
        first = http.get("/projects", params={"page_size": 10})
        assert first.status_code == 200, first.text
        assert len(first.json()) == 10 and first.headers["X-Total-Count"] == "26"
        assert 'rel="next"' in first.headers["Link"]
        seen = [p["id"] for p in first.json()]
        cursor = first.headers.get("X-Next-Cursor")
        while cursor:
            page = http.get("/projects", params={"page_size": 10, "cursor": cursor})
            assert page.status_code == 200, page.text
            seen += [p["id"] for p in page.json()]
            cursor = page.headers.get("X-Next-Cursor")
        assert sorted(seen) == sorted(p["id"] for p in http.get("/projects").json())
        assert len(set(seen)) == 26
        bad = http.get("/queries/cq06-improvers", params={"cursor": "garbage"})
        assert bad.status_code == 400, bad.text
