"""The documentation site: `mkdocs build --strict` builds it with nothing fetched, every
internal link and anchor resolves, the pages generated from the code cover all of it, the
field -> RDF table agrees with what the mapper writes, and in Chromium the site opened from
the file system loads nothing from outside and its search answers."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

import cipd_graph
from cipd_graph import Settings, curie, load_ontology
from cipd_graph._config import VARIABLES

from .conftest import ROOT


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built once into a temporary directory with the network made unreachable."""
    out = tmp_path_factory.mktemp("site") / "site"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIPD_")}
    dead = "http://127.0.0.1:9"  # a proxy nobody listens on: any HTTP fetch would fail
    env.update(
        HTTP_PROXY=dead,
        HTTPS_PROXY=dead,
        http_proxy=dead,
        https_proxy=dead,
        NO_PROXY="",
        no_proxy="",
        NO_MKDOCS_2_WARNING="1",
    )
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if values.get(key):
                self.ids.add(str(values[key]))
        for key in ("href", "src"):
            if values.get(key):
                self.links.append(str(values[key]))


def _parse(page: Path) -> _Links:
    parser = _Links()
    parser.feed(page.read_text("utf-8", errors="replace"))
    return parser


def test_every_internal_link_and_anchor_resolves(site: Path):
    # 404.html is served by a web server at any path, so its links are absolute; the ontology
    # pages are pyLODE's own.
    pages = [
        p
        for p in site.rglob("*.html")
        if p.name != "404.html" and "ontology" not in p.relative_to(site).parts
    ]
    assert len(pages) >= 18
    parsed: dict[Path, _Links] = {}
    broken: list[str] = []
    checked = 0
    for page in pages:
        for link in _parse(page).links:
            url = urlparse(link)
            if url.scheme or link.startswith(("//", "mailto:", "data:")):
                continue
            target = page if not url.path else (page.parent / unquote(url.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            checked += 1
            if not target.is_file():
                broken.append(f"{page.relative_to(site)}: {link} (no {target})")
                continue
            if url.fragment and target.suffix == ".html":
                if target not in parsed:
                    parsed[target] = _parse(target)
                ids = parsed[target].ids
                if unquote(url.fragment) not in ids:
                    broken.append(f"{page.relative_to(site)}: {link} (no anchor)")
    assert checked > 500
    assert broken == []


def test_the_site_loads_nothing_from_outside(site: Path):
    """No page of ours names a script, style, font or image on another host."""
    outside = []
    for page in site.rglob("*.html"):
        html = page.read_text("utf-8", errors="replace")
        for tag in re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", html):
            if re.search(r'(?:src|href)="(?:https?:)?//', tag) and 'rel="canonical"' not in tag:
                outside.append(f"{page.relative_to(site)}: {tag[:120]}")
    assert outside == []
    css = " ".join(p.read_text("utf-8") for p in (site / "assets").rglob("*.css"))
    assert "fonts.googleapis" not in css and "@import url(http" not in css


def test_generated_reference_covers_the_code(site: Path):
    import typer

    from cipd_graph.api import create_app
    from cipd_graph.cli import app

    cli = (site / "reference" / "cli.html").read_text("utf-8")
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    assert {"backup", "restore", "load", "serve"} <= set(commands)
    for name in commands:
        assert f'id="cipd-{name}"' in cli, name
    api = (site / "reference" / "api.html").read_text("utf-8")
    spec = create_app(Settings(store="unused")).openapi()
    for path, item in spec["paths"].items():
        for method in item:
            assert f"<code>{path}</code>" in api, (method, path)
    records = (site / "reference" / "record-formats.html").read_text("utf-8")
    for schema in (ROOT / "schemas").glob("*.schema.json"):
        name = schema.name.removesuffix(".schema.json")
        assert f'id="{name}"' in records
        for field in json.loads(schema.read_text("utf-8")).get("properties", {}):
            assert f"<code>{field}</code>" in records, (name, field)
    config = (site / "reference" / "configuration.html").read_text("utf-8")
    for variable in VARIABLES:
        assert f"<code>{variable}</code>" in config, variable
    rules = (site / "reference" / "rules.html").read_text("utf-8")
    assert "How the graph reasons" in rules
    shipped = cipd_graph.rules()
    for rule in shipped:  # each rule with its claim, what it needs and what contradicts it
        assert f'id="{rule.name}"' in rules, rule.name
        assert html.escape(rule.claim, quote=False) in rules, rule.name
        assert html.escape(rule.contradicted_by, quote=False) in rules, rule.name
    assert rules.count("Contradicted by.") == len(shipped)
    for kind in ("activity-informed-by-cycle", "team-learning-together", "strong", "weak"):
        assert f"<code>{kind}</code>" in rules
    assert (site / "ontology" / "index.html").is_file()
    assert (site / "ontology" / "concepts.html").is_file()


_KIND = re.compile(r"<!-- kind: (\w+) -->")
_TERM = re.compile(r"\b(?:cipd|dcterms|rdfs|rdf|schema|org|prov|foaf):[A-Za-z]+\b")


def _documented() -> dict[str, tuple[set[str], set[str]]]:
    """Per record kind: the properties and the classes the field -> RDF page names."""
    text = (ROOT / "docs" / "reference" / "field-to-rdf.md").read_text("utf-8")
    out: dict[str, tuple[set[str], set[str]]] = {}
    parts = _KIND.split(text)
    for kind, body in zip(parts[1::2], parts[2::2], strict=True):
        rdf = " ".join(
            line.split("|")[2]
            for line in body.splitlines()
            if line.startswith("| ") and "---" not in line
        )
        terms = set(_TERM.findall(rdf))
        out[kind] = (
            {t for t in terms if t.split(":")[1][0].islower()},
            {t for t in terms if t.split(":")[1][0].isupper()},
        )
    return out


def test_field_to_rdf_page_matches_the_mapper(loaded_sample_store):
    documented = _documented()
    store = loaded_sample_store
    written: dict[str, tuple[set[str], set[str]]] = {}
    rdf_type = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
    for source in store.sources():
        properties, classes = written.setdefault(source.kind, (set(), set()))
        for graph in (source.graph, source.graph + "/names"):
            for row in store.oxigraph.query(
                f"SELECT DISTINCT ?p ?t WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o "
                f"OPTIONAL {{ ?s a ?t }} }} }}"
            ):
                p = row["p"].value
                properties.add("rdf:type" if p == rdf_type else curie(p))
                if row["t"] is not None:
                    classes.add(curie(row["t"].value))
    assert set(documented) == set(written)
    ontology_terms = {curie(str(s)) for s in load_ontology().subjects()}
    for kind, (properties, classes) in written.items():
        doc_properties, doc_classes = documented[kind]
        assert doc_properties == properties, (kind, doc_properties ^ properties)
        assert classes <= doc_classes, (kind, classes - doc_classes)
        unknown = {
            t for t in doc_classes | doc_properties if t.startswith("cipd:")
        } - ontology_terms
        assert not unknown, (kind, unknown)


def test_offline_site_in_chromium_searches_without_the_network(site: Path):
    from playwright.sync_api import sync_playwright

    from .api.test_dashboard_browser import ARGS, CHROMIUM

    requests: list[str] = []
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=[*ARGS, "--allow-file-access-from-files"],
        )
        try:
            page = context.new_page()

            def only_files(route):
                requests.append(route.request.url)
                if route.request.url.startswith("file://"):
                    route.continue_()
                else:
                    route.abort()

            page.route("**/*", only_files)
            page.goto((site / "index.html").as_uri())
            page.locator("label.md-search__icon, .md-search__input").first.click()
            page.locator("input.md-search__input").press_sequentially("restore", delay=30)
            results = page.locator(".md-search-result__item")
            results.first.wait_for(timeout=30_000)
            assert "Backups" in page.locator(".md-search-result").inner_text()
        finally:
            context.close()
    assert requests and [u for u in requests if not u.startswith("file://")] == []
