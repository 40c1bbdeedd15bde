"""The files the pages load are the registry's, unchanged, and are served by the app."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from cipd_graph.api.main import STATIC, docs_assets

VENDOR = STATIC / "vendor" / "codemirror"


def test_vendored_codemirror_matches_its_checksums():
    """`make vendor` copies CodeMirror from the npm registry and records SHA256SUMS."""
    lines = (VENDOR / "SHA256SUMS").read_text().splitlines()
    assert len(lines) == 5
    for line in lines:
        digest, name = line.split()
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    assert "codemirror 5.65.21 from the npm registry" in (VENDOR / "VERSION").read_text()
    assert "MIT" in (VENDOR / "LICENSE").read_text()


def test_the_docs_assets_come_with_the_installed_package():
    folder = docs_assets()
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png"):
        assert (folder / name).stat().st_size > 1000, name


@pytest.mark.parametrize(
    ("path", "media"),
    [
        ("/static/sparql.js", "text/javascript"),
        ("/static/vendor/codemirror/codemirror.js", "text/javascript"),
        ("/static/vendor/codemirror/codemirror.css", "text/css"),
        ("/static/docs/swagger-ui-bundle.js", "text/javascript"),
        ("/static/docs/redoc.standalone.js", "text/javascript"),
    ],
)
def test_the_app_serves_them(server, path: str, media: str):
    with server.client() as http:
        response = http.get(path)
    assert response.status_code == 200 and response.headers["content-type"].startswith(media)
    local = STATIC / path.removeprefix("/static/") if "/docs/" not in path else None
    if local is not None:
        assert response.content == Path(local).read_bytes()


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_docs_pages_name_no_other_host(server, path: str):
    with server.client() as http:
        response = http.get(path)
    assert response.status_code == 200
    assert "http://" not in response.text and "https://" not in response.text
    assert "default-src 'self'" in response.headers["content-security-policy"]
