"""The API docs (/docs, /redoc) and the SPARQL query page in headless Chromium, offline.

Every request the pages make to anything but the server on 127.0.0.1 is blocked and
recorded, and each test checks that none was attempted: the pages must work on a network
with no way out. Debian's Chromium is driven by Python playwright (never `playwright
install`); the tests fail, not skip, when it is missing (CI installs it).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest

from .browsers import Browser, offline_browser

#: Chromium's console line for an HTTP error answer (the bad query's 400 is expected).
HTTP_ERROR = "Failed to load resource: the server responded with a status of 400"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with offline_browser(accept_downloads=True) as state:
        yield state


@pytest.fixture
def fresh(browser: Browser) -> Browser:
    browser.outside.clear()
    browser.problems.clear()
    return browser


def test_swagger_ui_renders_every_operation_offline(server, fresh: Browser):
    page = fresh.page
    page.goto(server.url + "/docs")
    page.wait_for_selector(".opblock", timeout=30_000)
    operations = page.locator(".opblock-summary-path").all_inner_texts()
    paths = json.loads(page.evaluate("() => fetch('/openapi.json').then(r => r.text())"))["paths"]
    assert len(operations) == sum(len(methods) for methods in paths.values())
    assert "/sparql" in operations and "/health" in operations
    assert fresh.outside == [] and fresh.problems == []


def test_redoc_renders_the_operations_offline(server, fresh: Browser):
    page = fresh.page
    page.goto(server.url + "/redoc")
    heading = page.locator("h2", has_text="Run a SPARQL query (GET)")
    heading.first.wait_for(timeout=30_000)
    paths = json.loads(page.evaluate("() => fetch('/openapi.json').then(r => r.text())"))["paths"]
    operations = sum(len(methods) for methods in paths.values())
    assert page.locator("[data-section-id^='operation/'] h2").count() == operations
    # ReDoc would fetch its maker's logo from a CDN: the page's policy stops it in the browser
    assert fresh.outside == []
    assert all("Content Security Policy" in p and "cdn.redoc.ly" in p for p in fresh.problems)


def editor_text(page) -> str:
    return page.evaluate("() => document.querySelector('.CodeMirror').CodeMirror.getValue()")


def wait(page, state: str) -> None:
    page.wait_for_selector(f"body[data-state='{state}']", state="attached", timeout=30_000)


def test_the_query_page_runs_an_example_and_shows_rows(server, fresh: Browser):
    page = fresh.page
    page.goto(server.url + "/sparql")
    wait(page, "ready")
    starter = editor_text(page)
    assert "PREFIX cipd: <https://w3id.org/cipd#>" in starter  # the ontology's prefixes
    assert page.locator(".CodeMirror .cm-keyword").count() >= 3  # highlighted: PREFIX, SELECT...
    options = page.locator("#examples option").all_inner_texts()
    assert len(options) == 1 + len(list((Path(__file__).parents[2] / "queries").glob("cq*.rq")))
    assert any(o.startswith("cq01-project-strands: Which of the four strands") for o in options)

    page.select_option("#examples", "cq01-project-strands")
    assert page.input_value("#examples") == "cq01-project-strands"
    assert page.locator("#example-summary").inner_text().startswith("Which of the four strands")
    assert "cipd:evidencesStrand" in editor_text(page)
    assert "VALUES ?project" in editor_text(page)  # how to bind the open parameter
    page.click("#run")
    wait(page, "done")
    assert page.locator("#results thead th").all_inner_texts() == [
        "?strand",
        "?label",
        "?evidenced",
        "?linkedWith",
    ]
    rows = page.locator("#results tbody tr")
    assert rows.count() == 4
    assert "cipd:" in rows.first.inner_text()  # IRIs shown with the ontology's prefixes
    assert page.locator("#status").inner_text().startswith("4 rows in ")
    assert "query=" in page.url  # the address can be shared
    assert fresh.outside == [] and fresh.problems == []


def test_a_bad_query_shows_its_error_in_place(server, fresh: Browser):
    page = fresh.page
    page.goto(server.url + "/sparql")
    wait(page, "ready")
    page.select_option("#examples", "cq02-weaving-levels")
    page.click(".CodeMirror")
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.type("SELECT ?s WHERE {\n?s ?p\n")
    assert page.input_value("#examples") == ""  # typed over the example: no longer it
    assert page.locator("#example-summary").inner_text() == ""
    page.keyboard.press("Control+Enter")
    wait(page, "error")
    error = page.locator("#error")
    assert error.is_visible()
    assert "400: not a valid SPARQL query" in error.inner_text()
    assert page.locator(".cm-error-line").count() == 1  # the line Oxigraph names is marked
    assert page.locator("#results").is_hidden()
    # an update is refused in place too
    page.evaluate("() => document.querySelector('.CodeMirror').CodeMirror.setValue('DROP ALL')")
    page.click("#run")
    wait(page, "error")
    assert "read-only" in error.inner_text()
    assert fresh.outside == []
    assert [p for p in fresh.problems if not p.startswith(HTTP_ERROR)] == []


def test_downloads_carry_the_answer(server, fresh: Browser, tmp_path: Path):
    page = fresh.page
    query = "SELECT ?s WHERE { ?s a <https://w3id.org/cipd#Strand> } ORDER BY ?s"
    page.goto(server.url + "/sparql?" + urlencode({"query": query}))
    wait(page, "done")  # a query in the address runs at once
    assert editor_text(page) == query
    assert page.locator("#results tbody tr").count() == 4
    files = {}
    for ext in ("csv", "json", "tsv", "xml"):
        with page.expect_download() as info:
            page.click(f"#download-{ext}")
        download = info.value
        assert download.suggested_filename == f"results.{ext}"
        target = tmp_path / download.suggested_filename
        download.save_as(target)
        files[ext] = target.read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(files["csv"])))
    assert rows[0] == ["s"] and len(rows) == 5
    assert rows[1][0].startswith("https://w3id.org/cipd#")
    assert len(json.loads(files["json"])["results"]["bindings"]) == 4
    assert files["tsv"].splitlines()[0] == "?s"
    assert "<sparql xmlns=" in files["xml"]

    page.select_option("#examples", "cq16-module-map-skos")  # a CONSTRUCT
    page.click("#run")
    wait(page, "done")
    assert page.locator("#graph").is_visible()
    with page.expect_download() as info:
        page.click("#download-ttl")
    target = tmp_path / "graph.ttl"
    info.value.save_as(target)
    assert "@prefix" in target.read_text(encoding="utf-8") or "<" in target.read_text()
    assert fresh.outside == [] and fresh.problems == []
