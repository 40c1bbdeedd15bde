"""Every GET route of the API with hostile parameters: no 5xx, every error a problem document.

The routes and their parameters come from the app's own OpenAPI spec (plus the export
options, which the spec leaves open); the values are the kinds of text that once gave 500s
(issue 23): IRI-breaking characters, IRIs with spaces, non-ASCII, numbers past Python's
4,300-digit limit, very long text, path tricks. A seeded sample of the combinations runs by
default (``CIPD_FUZZ_GETS=N`` runs N, ``all`` every one).
"""

from __future__ import annotations

import os
import random
from urllib.parse import quote

from cipd_graph import Settings
from cipd_graph.api import create_app

from .conftest import Server

HOSTILE = [
    "",
    " ",
    "+",
    '"',
    "<",
    ">",
    "\\",
    "%",
    "{",
    "`",
    "\n",
    "\x7f",
    "ö",
    "🙂",
    "tökén",
    "http://x y",
    "http://x%20y",
    "https://w3id.org/cipd/data/project/ward7 falls",
    "<https://x>",
    "../../etc/passwd",
    "'; DROP ALL; --",
    "${jndi:ldap://x}",
    "1e300000000",
    "9" * 5000,
    "-1",
    "x" * 3000,
    "project:",
    "project:ward7 falls",
    "cycle:ward7-falls/99999999999999999999999",
    "module:a b",
    "all",
    "SI",
    "ward7-falls",
    "nsu-msc-qi",
]
EXPORT_OPTIONS = ("programme", "project", "module", "x")


def _requests() -> list[tuple[str, dict[str, str]]]:
    spec = create_app(Settings(store="unused")).openapi()
    formats = ["case", "xapi", "skos", "jsonld-project", "jsonld-module", "badges"]
    formats += ["curriculum-inventory", "no-such-format"]
    out: list[tuple[str, dict[str, str]]] = []
    for path, operations in spec["paths"].items():
        operation = operations.get("get")
        if operation is None:
            continue
        params = operation.get("parameters", [])
        in_path = [p["name"] for p in params if p["in"] == "path"]
        in_query = [p["name"] for p in params if p["in"] == "query"] or ["unexpected"]
        for value in HOSTILE:
            url = path
            for name in in_path:
                given = value
                if name == "name" and path.startswith("/export"):
                    continue
                if name == "fmt":
                    given = "svg"
                if name == "name" and path.startswith("/analytics/figures"):
                    given = "tapestry"
                url = url.replace("{" + name + "}", quote(given, safe="") or "%20")
            if path.startswith("/export"):
                for fmt in formats:
                    for option in EXPORT_OPTIONS:
                        out.append((url.replace("{name}", fmt), {option: value}))
                continue
            for name in in_query:
                out.append((url, {name: value}))
    return out


def test_no_get_with_hostile_parameters_gets_a_server_error(server: Server):
    requests = _requests()
    wanted = os.environ.get("CIPD_FUZZ_GETS", "400")
    if wanted != "all":
        requests = random.Random(23).sample(requests, min(int(wanted), len(requests)))
    failures: list[str] = []
    with server.client() as client:
        for path, params in requests:
            response = client.get(path, params=params)
            if response.status_code >= 500:
                failures.append(
                    f"{response.status_code} GET {path} {params}: {response.text[:200]}"
                )
            elif response.status_code >= 400 and path != "/sparql":
                assert response.headers["content-type"] == "application/problem+json", (
                    f"GET {path} {params}: {response.status_code} {response.headers}"
                )
    print(f"\nfuzzed GETs: {len(requests)} requests, {len(failures)} 5xx")
    assert not failures, "\n".join(failures[:20])


def test_every_get_route_is_fuzzed():
    routes = {path for path, _ in _requests()}
    spec = create_app(Settings(store="unused")).openapi()
    gets = [p for p, ops in spec["paths"].items() if "get" in ops]
    assert len(gets) >= 30 and len(routes) >= len(gets)
