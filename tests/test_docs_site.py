"""The documentation site: `mkdocs build --strict` builds it with nothing fetched, every
internal link and anchor resolves, the pages generated from the code cover all of it, the
field -> RDF table agrees with what the mapper writes, and in Chromium the site opened from
the file system loads nothing from outside and its search answers."""

from __future__ import annotations

import copy
import csv
import html
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import types
from html.parser import HTMLParser
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin
from urllib.parse import unquote, urlparse

import pytest
from pydantic import BaseModel
from rdflib import URIRef
from rdflib.namespace import RDF

import cipd_graph
from cipd_graph import Model, Settings, curie, load_ontology
from cipd_graph._config import VARIABLES
from cipd_graph.mapping import mapper as mapping
from cipd_graph.mapping.pseudonym import Pseudonymiser
from cipd_graph.records.parse import TABLES, Methodology, Project, parse_project, parse_table

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


# ---------------------------------------------------------------------------------------
#    The field -> RDF page, field by field, against the mapper
# ---------------------------------------------------------------------------------------

_FIELD = re.compile(r"`([^`]+)`")
_STAGES = ("plan", "do", "study", "act")


def _rows() -> dict[str, list[tuple[set[str], set[str]]]]:
    """Per record kind: each table row's fields (full paths; ``.x`` continues the previous
    one's parent) and the terms its RDF cell names."""
    text = (ROOT / "docs" / "reference" / "field-to-rdf.md").read_text("utf-8")
    parts = _KIND.split(text)
    out: dict[str, list[tuple[set[str], set[str]]]] = {}
    for kind, body in zip(parts[1::2], parts[2::2], strict=True):
        rows = out.setdefault(kind, [])
        for line in body.splitlines():
            if not line.startswith("| ") or "---" in line:
                continue
            cells = line.split("|")
            fields: set[str] = set()
            previous = ""
            for written in _FIELD.findall(cells[1]):
                field = written
                if written.startswith(".") and previous:
                    field = previous.rsplit(".", 1)[0] + written
                fields.add(field)
                previous = field
            rows.append((fields, set(_TERM.findall(cells[2]))))
    return out


def _inner(annotation: Any) -> tuple[Any, str]:
    """The type inside optional, list and annotated wrappers; "[]" when a list."""
    suffix = ""
    while True:
        origin = get_origin(annotation)
        if origin is list:
            annotation, suffix = get_args(annotation)[0], "[]"
        elif origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation, suffix
            annotation = args[0]
        else:
            return annotation, suffix


def _leaves(model: type[BaseModel], prefix: str = "") -> dict[str, bool]:
    """Every field path of a record format that holds a value (path -> required)."""
    out: dict[str, bool] = {}
    for name, info in model.model_fields.items():
        path = prefix + name
        inner, suffix = _inner(info.annotation)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            key = "<stage>" if name in _STAGES and inner.__name__ == "Stage" else name
            out.update(_leaves(inner, prefix + key + suffix + "."))
        else:
            out[path] = info.is_required()
    return out


#: A project file that fills every field (two of some, so each can be taken out alone).
FULL_PROJECT: dict[str, Any] = {
    "id": "p",
    "title": "Falls",
    "aim": "Halve falls on the ward.",
    "start": "2024-01-01",
    "end": "2024-12-31",
    "organisation": "trust",
    "team": {
        "id": "ward",
        "name": "Ward team",
        "kind": "clinical-microsystem",
        "members": [
            {
                "person": "n1",
                "profession": "Nurse",
                "role": "lead",
                "identifies_as_improver": True,
                "identifies_as_improver_since": "2023-06-01",
                "start": "2024-01-01",
                "end": "2024-10-01",
            },
            {"person": "d1", "profession": "GeneralPractitioner", "identifies_as_improver": True},
        ],
    },
    "quality_dimensions": ["safe", "personal", "effective"],
    "methodologies": [m.value for m in Methodology],
    "measures": [
        {
            "id": "m",
            "name": "Falls",
            "dimension": "safe",
            "unit": "falls",
            "baseline": 8,
            "target": 4,
            "values": [{"date": "2024-02-01", "value": 7}],
        }
    ],
    "change_ideas": [{"id": "rounds", "description": "Hourly rounds."}],
    "pdsa_cycles": [
        {
            "number": 1,
            "change_idea": "rounds",
            "prediction": "Fewer falls.",
            "start": "2024-02-01",
            "end": "2024-02-28",
            "plan": {
                "notes": "Plan it.",
                "start": "2024-02-01",
                "end": "2024-02-02",
                "participants": ["n1", "d1"],
            },
            "do": "Did it.",
            "study": "Studied it.",
            "act": "Adopted it.",
            "involvement": [{"group": "carers", "kind": "co-designing", "count": 2}],
        }
    ],
    "learning_activities": [
        {
            "id": "huddle",
            "title": "Huddle",
            "kind": "huddle",
            "date": "2024-02-05",
            "modes": ["with", "from", "about"],
            "at_work": False,
            "interprofessional": True,
            "participants": ["n1", "d1"],
            "module": "qi",
            "cycle": 1,
            "team": "ward",
        }
    ],
    "reflections": [
        {
            "id": "r1",
            "mode": "through",
            "by": "n1",
            "date": "2024-03-01",
            "cycle": 1,
            "text": "Learned a lot.",
        },
        {
            "id": "r2",
            "mode": "on",
            "by": "d1",
            "date": "2024-03-02",
            "activity": "huddle",
            "text": "Learned more.",
        },
    ],
    "co_design": [
        {
            "id": "cd",
            "title": "Stories",
            "date": "2024-04-01",
            "touch_points": ["night"],
            "co_designers": {"patients": 2, "carers": 1},
        }
    ],
    "partners": [{"organisation": "icb"}],
    "claims": ["SI"],
    "addresses": ["OPP-i"],
}
#: A row of each table that fills every column.
FULL_ROWS: dict[str, dict[str, str]] = {
    "organisations": {"id": "trust", "name": "Trust", "kind": "service-provider"},
    "people": {
        "id": "n1",
        "profession": "Nurse",
        "name": "Ann Example",
        "identifies_as_improver": "true",
        "identifies_as_improver_since": "2023-01-01",
    },
    "teams": {
        "id": "t",
        "name": "Team",
        "kind": "community-of-practice",
        "organisation": "trust",
        "members": "n1; n2",
    },
    "programmes": {"id": "prog", "title": "MSc", "institution": "uni", "commissioned_by": "icb"},
    "modules": {
        "id": "qi",
        "code": "QI1",
        "title": "QI",
        "institution": "uni",
        "programmes": "prog",
        "credits": "15",
        "linked_projects": "p",
        "co_delivered_by": "trust",
        "commissioned_by": "icb",
    },
    "mappings": {
        "module": "qi",
        "element": "SI",
        "strength": "strong",
        "justification": "Students run PDSA cycles at work.",
        "mapped_by": "n1",
    },
    "partnerships": {
        "id": "ps",
        "name": "Alliance",
        "members": "trust; uni",
        "supports_projects": "p",
        "supports_modules": "qi",
    },
}
#: Optional fields whose value names IRIs of other things, so taking it out changes them.
RENAMING = {"project": {"team.id"}}
#: Fields that a filled-in other field implies (a date since when implies "true").
IMPLIED = {"people": {"identifies_as_improver"}}


def _leaves_of(kind: str) -> dict[str, bool]:
    return _leaves(Project if kind == "project" else TABLES[kind])


def test_every_record_field_has_a_row_on_the_field_to_rdf_page():
    rows = _rows()
    assert set(rows) == {"project", *TABLES}
    for kind, kind_rows in rows.items():
        named = set().union(*(fields for fields, _ in kind_rows))
        missing = set(_leaves_of(kind)) - named
        assert not missing, (kind, sorted(missing))
        unknown = {f for f in named if not f.endswith("[]") and f != "team"} - set(_leaves_of(kind))
        unknown -= {"pdsa_cycles[].<stage>"}
        assert not unknown, (kind, sorted(unknown))


def _terms(triples: set[tuple[Any, Any, Any]]) -> set[str]:
    """The properties and the classes of ``triples`` as the page writes them."""
    found = set()
    for _s, p, o in triples:
        found.add("rdf:type" if p == RDF.type else curie(str(p)))
        if p == RDF.type:
            found.add(curie(str(o)))
    return found


def _map(model: Model, kind: str, record: Any, folder: Path) -> set[tuple[Any, Any, Any]]:
    mapper = mapping.Mapper(
        "https://w3id.org/cipd/data/", Pseudonymiser(b"docs-key-0123456789"), model
    )
    if kind == "project":
        path = folder / "p.json"
        path.write_text(json.dumps(record), encoding="utf-8")
        parsed = parse_project(path)
    else:
        path = folder / f"{kind}.csv"
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(record), lineterminator="\n")
        writer.writeheader()
        writer.writerow(record)
        path.write_text(out.getvalue(), encoding="utf-8")
        parsed = parse_table(path)
    mapped = mapper.map(parsed)
    assert not mapped.problems, mapped.problems
    return set(mapped.graph) | set(mapped.names)


def _without(record: dict[str, Any], path: str) -> dict[str, Any]:
    """``record`` with the field at ``path`` taken out (from every item of a list)."""
    record = copy.deepcopy(record)
    parts = path.replace("[]", "").split(".")
    nodes = [record]
    for part in parts[:-1]:
        found = []
        for node in nodes:
            keys = _STAGES if part == "<stage>" else (part,)
            for key in keys:
                value = node.get(key) if isinstance(node, dict) else None
                found.extend(value if isinstance(value, list) else [value])
        nodes = [n for n in found if isinstance(n, dict)]
    for node in nodes:
        node.pop(parts[-1], None)
    return record


def test_each_field_writes_only_what_its_row_names(model: Model, tmp_path: Path):
    """Taking one optional field out of a record that fills them all takes away (or
    changes) only triples whose properties and classes that field's row on the page names."""
    rows = _rows()
    checked = 0
    for kind, kind_rows in rows.items():
        full = FULL_PROJECT if kind == "project" else FULL_ROWS[kind]
        everything = _map(model, kind, full, tmp_path)
        for path, required in sorted(_leaves_of(kind).items()):
            if required or path in RENAMING.get(kind, ()):
                continue
            reduced = _without(full, path) if kind == "project" else {**full, path: ""}
            assert reduced != full, (kind, path, "the full record does not fill this field")
            changed = everything ^ _map(model, kind, reduced, tmp_path)
            assert changed or path in IMPLIED.get(kind, ()), (kind, path, "nothing changed")
            named = set().union(*(terms for fields, terms in kind_rows if path in fields))
            assert _terms(changed) <= named, (kind, path, _terms(changed) - named)
            checked += 1
    assert checked >= 45  # the optional fields of all record formats


def test_every_term_the_mapper_chooses_from_a_list_is_on_the_page():
    text = (ROOT / "docs" / "reference" / "field-to-rdf.md").read_text("utf-8")
    tables = [
        mapping.ORGANISATION_CLASS,
        mapping.TEAM_CLASS,
        mapping.ROLE,
        mapping.QUALITY,
        mapping.MODE,
        mapping.REFLECTION,
        mapping.STRENGTH,
        mapping.METHODOLOGY,
        mapping.ACTIVITY_KIND,
        mapping.INVOLVED_GROUP,
        mapping.INVOLVEMENT_KIND,
    ]
    for table in tables:
        for term in table.values():
            written = curie(str(URIRef(term)))
            assert re.search(re.escape(written) + "(?![A-Za-z])", text), written


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
