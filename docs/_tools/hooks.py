"""MkDocs hooks: the reference pages that are generated from the code, so they cannot drift.

* ``reference/cli.md`` from the typer app (every command, argument and option);
* ``reference/api.md`` from the app's OpenAPI document (every operation and schema);
* ``reference/record-formats.md`` from ``schemas/*.schema.json``;
* ``reference/configuration.md`` from ``Settings.describe()``;
* ``reference/rules.md`` ("How the graph reasons") from the headers of ``rules/*.rq`` and the
  ontology's link kinds, strengths and profession families;
* ``reference/queries.md`` from the named queries of ``queries/*.rq``.

The ontology's HTML documentation (``cipd docs``: pyLODE) goes under ``ontology/`` in the
site: taken from the directory ``CIPD_ONTOLOGY_DOCS`` names (``make docs`` has just written
it to ``build/docs``), rendered for the build otherwise. Nothing is fetched from the
network.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from rdflib import URIRef

ROOT = Path(__file__).resolve().parents[2]
GENERATED_NOTE = (
    '!!! note "Generated"\n    This page is generated from {source} when the site is built '
    "(`make docs`); edit the source, not this page.\n"
)


def _cell(text: Any) -> str:
    """Text for a Markdown table cell: one line, pipes escaped."""
    return re.sub(r"\s+", " ", str(text)).replace("|", "\\|").strip()


def _code(text: str) -> str:
    return f"`{text}`" if "`" not in text else f"``{text}``"


def _table(headers: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    headers = list(headers)
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- CLI


def cli_reference() -> str:
    """Every `cipd` command with its help, arguments and options, from the typer app."""
    import typer

    from cipd_graph.cli import app

    group: Any = typer.main.get_command(app)
    out = [
        "# Command line reference\n",
        GENERATED_NOTE.format(source="the `cipd` typer app (`cipd_graph/cli.py`)"),
        "Every command reads its configuration from the `CIPD_*` variables "
        "([configuration](configuration.md)). Exit codes: 0 success; 1 findings (a refused "
        "load, an invalid record, quality-check violations); 2 an error, with a message that "
        "names the file, record or setting at fault; 3 the store is in use; 4 a file that "
        "cannot be read or written, or a full disk; 70 a bug ([exit codes](exit-codes.md), "
        "command by command).\n",
        "| command | what it does |",
        "|---|---|",
    ]
    commands = list(group.commands.items())
    for name, command in commands:
        summary = (command.help or "").strip().split("\n\n")[0]
        out.append(f"| [`cipd {name}`](#cipd-{name}) | {_cell(summary)} |")
    out.append("")
    for name, command in commands:
        out.append(f"## `cipd {name}` {{#cipd-{name}}}\n")
        usage = [f"cipd {name}"]
        arguments, options = [], []
        for param in command.params:
            if "Argument" in type(param).__name__:
                shown = str(param.name).upper()
                usage.append(f"{shown}..." if param.nargs == -1 else shown)
                arguments.append(param)
            elif param.name != "help":
                options.append(param)
        if options:
            usage.insert(1, "[OPTIONS]")
        out.append("```\n" + " ".join(usage) + "\n```\n")
        help_text = (command.help or "").strip()
        if help_text:
            out.append(help_text + "\n")
        if arguments:
            rows = [
                [
                    _code(str(p.name).upper()),
                    "yes" if p.required else "no",
                    getattr(p, "help", "") or "",
                ]
                for p in arguments
            ]
            out.append(_table(["argument", "required", "meaning"], rows))
        if options:
            rows = []
            for p in options:
                names = ", ".join(_code(o) for o in [*p.opts, *p.secondary_opts])
                default = p.default
                shown = (
                    ""
                    if default is None or p.is_flag or default in ((), [])
                    else _code(str(default))
                )
                rows.append([names, shown, getattr(p, "help", "") or ""])
            out.append(_table(["option", "default", "meaning"], rows))
    return "\n".join(out)


# --------------------------------------------------------------------------- API


def _schema_type(schema: dict[str, Any]) -> str:
    """A short readable type of an OpenAPI schema, with links to named schemas."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#schema-{name.lower()})"
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return " or ".join(_schema_type(s) for s in schema[key])
    kind = schema.get("type", "")
    if kind == "array":
        return "list of " + _schema_type(schema.get("items", {}))
    if "enum" in schema:
        return " / ".join(_code(str(v)) for v in schema["enum"])
    if kind == "object" and "additionalProperties" in schema:
        inner = schema["additionalProperties"]
        return "map of " + (_schema_type(inner) if isinstance(inner, dict) else "values")
    return (kind or "any") + (f" ({schema['format']})" if "format" in schema else "")


def _anchor(method: str, path: str) -> str:
    return method + "-" + re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")


def api_reference() -> str:
    """Every operation and schema of the API, from the app's OpenAPI document."""
    from cipd_graph import Settings
    from cipd_graph.api import create_app

    spec = create_app(Settings(store="unused-docs-build")).openapi()
    out = [
        "# HTTP API reference\n",
        GENERATED_NOTE.format(source="the API's OpenAPI document (`/openapi.json`)"),
        f"{spec['info'].get('summary', '')} Version {spec['info']['version']}. The same "
        "document is served at `/openapi.json`; writes need `Authorization: Bearer "
        "<CIPD_API_TOKEN>`.\n",
    ]
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            tag = (op.get("tags") or ["other"])[0]
            by_tag.setdefault(tag, []).append((method.upper(), path, op))
    out.append(
        _table(
            ["operation", "what it does"],
            [
                [
                    f"[{m} `{p}`](#{_anchor(m.lower(), p)})",
                    (op.get("description") or op.get("summary", "")).strip().split("\n")[0],
                ]
                for tag in sorted(by_tag)
                for m, p, op in by_tag[tag]
            ],
        )
    )
    for tag in sorted(by_tag):
        out.append(f"## {tag}\n")
        for method, path, op in by_tag[tag]:
            out.append(f"### {method} `{path}` {{#{_anchor(method.lower(), path)}}}\n")
            description = op.get("description") or op.get("summary", "")
            if description:
                out.append(description.strip() + "\n")
            params = op.get("parameters", [])
            if params:
                out.append(
                    _table(
                        ["parameter", "in", "type", "required", "meaning"],
                        [
                            [
                                _code(p["name"]),
                                p["in"],
                                _schema_type(p.get("schema", {})),
                                "yes" if p.get("required") else "no",
                                p.get("description", "")
                                or p.get("schema", {}).get("description", ""),
                            ]
                            for p in params
                        ],
                    )
                )
            body = op.get("requestBody")
            if body:
                kinds = [
                    f"{_code(media)}: {_schema_type(content.get('schema', {}))}"
                    for media, content in body.get("content", {}).items()
                ]
                out.append("Request body: " + "; ".join(kinds) + "\n")
            responses = [
                [
                    code,
                    answer.get("description", ""),
                    ", ".join(
                        f"{_code(media)}"
                        + (f" {_schema_type(c['schema'])}" if c.get("schema") else "")
                        for media, c in answer.get("content", {}).items()
                    ),
                ]
                for code, answer in op.get("responses", {}).items()
            ]
            out.append(_table(["status", "meaning", "content"], responses))
    out.append("## Schemas\n")
    for name, schema in sorted(spec.get("components", {}).get("schemas", {}).items()):
        out.append(f"### {name} {{#schema-{name.lower()}}}\n")
        if schema.get("description"):
            out.append(schema["description"].strip() + "\n")
        properties = schema.get("properties", {})
        if properties:
            required = set(schema.get("required", []))
            out.append(
                _table(
                    ["field", "type", "required", "meaning"],
                    [
                        [
                            _code(field),
                            _schema_type(sub),
                            "yes" if field in required else "no",
                            sub.get("description", ""),
                        ]
                        for field, sub in properties.items()
                    ],
                )
            )
        elif "enum" in schema:
            out.append("One of " + ", ".join(_code(str(v)) for v in schema["enum"]) + ".\n")
    return "\n".join(out)


# --------------------------------------------------------------------------- records


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return _resolve(root["$defs"][schema["$ref"].rsplit("/", 1)[-1]], root)
    options = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
    if len(options) == 1:
        return {**_resolve(options[0], root), **{k: v for k, v in schema.items() if k != "anyOf"}}
    return schema


def _describe_type(schema: dict[str, Any], root: dict[str, Any]) -> str:
    schema = _resolve(schema, root)
    if "enum" in schema:
        return "one of " + ", ".join(_code(str(v)) for v in schema["enum"])
    if "anyOf" in schema:
        return " or ".join(
            _describe_type(s, root) for s in schema["anyOf"] if s.get("type") != "null"
        )
    kind = schema.get("type", "any")
    if kind == "array":
        return "list of " + _describe_type(schema.get("items", {}), root)
    if "format" in schema:
        return f"{kind} ({schema['format']})"
    return str(kind)


def _fields(schema: dict[str, Any], root: dict[str, Any], prefix: str = "") -> Iterable[list[str]]:
    schema = _resolve(schema, root)
    required = set(schema.get("required", []))
    for name, sub in schema.get("properties", {}).items():
        resolved = _resolve(sub, root)
        path = prefix + name
        notes = [resolved.get("description") or sub.get("description") or ""]
        if "default" in sub and sub["default"] not in (None, [], False):
            notes.append(f"default {_code(json.dumps(sub['default']))}")
        yield [
            _code(path),
            _describe_type(sub, root),
            "yes" if name in required else "no",
            "; ".join(n for n in notes if n),
        ]
        if resolved.get("type") == "object" and "properties" in resolved:
            yield from _fields(resolved, root, path + ".")
        items = resolved.get("items")
        if resolved.get("type") == "array" and items is not None:
            inner = _resolve(items, root)
            if inner.get("type") == "object" and "properties" in inner:
                yield from _fields(inner, root, path + "[].")
        options = [_resolve(s, root) for s in resolved.get("anyOf", [])]
        for option in options:
            if option.get("type") == "object" and "properties" in option:
                yield from _fields(option, root, path + ".")


def records_reference() -> str:
    """Every record format (project files and reference tables), from the JSON Schemas."""
    out = [
        "# Record formats\n",
        GENERATED_NOTE.format(
            source="`schemas/*.schema.json` (themselves generated from the record model by `make schemas`)"
        ),
        "Records are files; each file is one *batch* in the store. A project is a YAML or "
        "JSON file; reference data are CSV tables recognised by their file name "
        "(`people.csv`, `trust-people.csv`, ...), with lists in a cell separated by `;` and "
        "an empty cell meaning *not given*. What each field becomes in RDF is in "
        "[Fields to RDF](field-to-rdf.md); how files are read (YAML 1.2, malformed CSV, the "
        "limits on numbers and nesting) is in [how a load works](loading.md#reading-records).\n",
    ]
    for path in sorted((ROOT / "schemas").glob("*.schema.json")):
        schema = json.loads(path.read_text("utf-8"))
        name = path.name.removesuffix(".schema.json")
        kind = "project file (YAML or JSON)" if name == "project" else f"`{name}.csv`"
        out.append(f"## {name} {{#{name}}}\n")
        out.append(f"A {kind}. Schema: `schemas/{path.name}` (`{schema.get('$id', '')}`).\n")
        if schema.get("description"):
            out.append(schema["description"].strip() + "\n")
        out.append(_table(["field", "type", "required", "meaning"], _fields(schema, schema)))
    return "\n".join(out)


# --------------------------------------------------------------------------- configuration


def configuration_reference() -> str:
    """Every CIPD_* variable with its default and meaning, from Settings.describe()."""
    from cipd_graph import Settings

    rows = [
        [_code(name), _code(value) if value else "", meaning]
        for name, value, meaning in Settings().describe()
    ]
    return "\n".join(
        [
            "# Configuration\n",
            GENERATED_NOTE.format(source="`Settings.describe()` in `cipd_graph/_config.py`"),
            "cipd-graph reads its configuration from `CIPD_*` environment variables only; "
            "`cipd config` prints the values in effect (secrets masked). The defaults:\n",
            _table(["variable", "default", "meaning"], rows),
        ]
    )


# --------------------------------------------------------------------------- rules, queries


def _header(path: Path, key: str) -> str:
    for line in path.read_text("utf-8").splitlines():
        if line.startswith(f"#+ {key}:"):
            return line.split(":", 1)[1].strip()
    return ""


def _sources() -> dict[str, tuple[str, str]]:
    """Each source a rule may cite (``paper:...``, ``src:...``): its label and citation, from
    ``ontology/modules/sources.ttl``."""
    from rdflib import DCTERMS, RDFS

    from cipd_graph import load_ontology

    graph = load_ontology()
    paper = "https://w3id.org/cipd/paper"
    found: dict[str, tuple[str, str]] = {}
    for subject, label in graph.subject_objects(RDFS.label):
        iri = str(subject)
        if iri.startswith(paper + "#"):
            curie = "paper:" + iri.split("#", 1)[1]
        elif iri.startswith("https://w3id.org/cipd/sources#"):
            curie = "src:" + iri.split("#", 1)[1]
        else:
            continue
        citation = graph.value(subject, DCTERMS.bibliographicCitation)
        if citation is None and curie.startswith("paper:"):
            citation = graph.value(URIRef(paper), DCTERMS.bibliographicCitation)
        found[curie] = (str(label), str(citation or ""))
    return found


def _scheme(scheme: str) -> list[dict[str, str]]:
    """The concepts of a scheme of the ontology: notation, label, definition and the social
    learning dimension a link kind shows, in the scheme's order."""
    from rdflib import RDFS, SKOS

    from cipd_graph import load_ontology

    graph = load_ontology()
    cipd = "https://w3id.org/cipd#"
    rows = []
    for concept in graph.objects(URIRef(cipd + scheme), SKOS.hasTopConcept):
        shows = graph.value(concept, URIRef(cipd + "showsDimension"))
        weight = graph.value(concept, URIRef(cipd + "strengthWeight"))
        rows.append(
            {
                "notation": str(graph.value(concept, SKOS.notation) or ""),
                "label": str(graph.value(concept, RDFS.label) or ""),
                "definition": str(graph.value(concept, SKOS.definition) or ""),
                "dimension": str(graph.value(shows, RDFS.label) or "") if shows else "",
                "weight": str(weight or ""),
            }
        )
    return sorted(rows, key=lambda r: (-int(r["weight"] or 0), r["notation"]))


def _families() -> list[list[str]]:
    from rdflib import RDF, RDFS, SKOS

    from cipd_graph import load_ontology

    graph = load_ontology()
    cipd = "https://w3id.org/cipd#"
    rows = []
    for family in graph.subjects(RDF.type, URIRef(cipd + "ProfessionFamily")):
        members = sorted(
            str(graph.value(p, RDFS.label))
            for p in graph.subjects(URIRef(cipd + "inProfessionFamily"), family)
        )
        counts = graph.value(family, URIRef(cipd + "countsForCaipe"))
        rows.append(
            [
                str(graph.value(family, SKOS.prefLabel) or graph.value(family, RDFS.label)),
                "yes" if counts is not None and counts.toPython() else "no",
                ", ".join(members),
            ]
        )
    return sorted(rows)


def rules_reference() -> str:
    """How the graph reasons: every derivation rule with the claim it encodes, its source, what
    it needs in the records and how a recorder can contradict it, from the headers of
    rules/*.rq, and the vocabulary the rules count by, from the ontology."""
    import cipd_graph
    from cipd_graph.derive import rule_levels

    sources = _sources()
    loaded = cipd_graph.rules()
    level = {r.name: i for i, rules in enumerate(rule_levels(loaded)) for r in rules}
    out = [
        "# How the graph reasons\n",
        GENERATED_NOTE.format(
            source="the headers of `rules/*.rq` and the ontology (`ontology/modules/*.ttl`)"
        ),
        "Some facts in the graph are not in any record: the rules derive them from what the "
        "records say. Every derived fact sits in a graph named after the rule that derived "
        "it (`<CIPD_BASE_IRI>graph/inferred/<rule>`), so a query can always tell a recorded "
        "fact from a derived one. Each load, drop or edit re-derives what it touches; "
        "`cipd derive --all` recomputes everything.\n",
        "## What every rule keeps to\n",
        "- **A declared fact is never overridden.** A rule never derives what a record "
        "contradicts: an activity recorded with `interprofessional: false` "
        "(`cipd:declaredInterprofessional false`) is never an interprofessional learning "
        "activity, whatever its participants. A declaration of `true` is kept as the "
        "recorder's statement but does not make the activity one by itself: the class is the "
        "CAIPE test's answer, and validation warns where the declaration and the test "
        "disagree.\n"
        "- **Professions are counted as families.** The CAIPE test and the interprofessional "
        "team test count profession families (below), and only families that count for CAIPE: "
        "a nurse, a specialist nurse and a nursing associate are one profession, and support "
        "workers take part without counting towards two.\n"
        "- **Evidence is a record, links are records naming records.** A strand is evidenced "
        "by a record of its own kind; two strands are woven where one record of the project "
        "names another and the kind of that link shows social learning; practice is linked "
        "to learning where one record names the other. Paths through shared model concepts "
        "(two records that target the same quality dimension, map to the same element or "
        "evidence the same strand) never count.\n",
        "## The weaving levels\n",
        _table(
            ["level", "class", "what is measured"],
            [
                [
                    "strands evidenced",
                    "`cipd:evidencesStrand`",
                    "each strand for which the project's records give evidence (rule strands)",
                ],
                [
                    "all strands evidenced",
                    "`cipd:AllStrandsEvidencedProject`",
                    "the four strands side by side, linked or not (the deprecated "
                    "`cipd:FullyWovenProject` is the same class)",
                ],
                [
                    "interwoven",
                    "`cipd:InterwovenProject`",
                    "all four strands, joined into one whole by strand links, each carrying "
                    "evidence of social learning",
                ],
            ],
        ),
        "## Kinds of link and their strengths\n",
        "A strand link (`cipd:StrandLink`) is made by the kinds that show a dimension of "
        "social learning; every kind makes a practice-to-learning link "
        "(`cipd:PracticeLearningLink`) where it runs from a project or cycle to a learning "
        "activity, module or reflection.\n",
        _table(
            ["kind", "label", "what the records say", "social learning it shows"],
            [
                [_code(r["notation"]), r["label"], r["definition"], r["dimension"] or "-"]
                for r in _scheme("EvidenceLinkKindScheme")
            ],
        ),
        _table(
            ["strength", "weight", "meaning"],
            [
                [_code(r["notation"]), r["weight"], r["definition"]]
                for r in _scheme("LinkStrengthScheme")
            ],
        ),
        "## Profession families\n",
        _table(["family", "counts for CAIPE", "professions"], _families()),
        "## The rules\n",
        "In the order they run; a rule comes after every rule whose facts it reads (rules of "
        "one level run at the same time).\n",
        _table(
            ["rule", "level", "derives"],
            [[f"[{r.name}](#{r.name})", level[r.name], r.summary] for r in loaded],
        ),
    ]
    cited_anywhere: list[str] = []
    for rule in loaded:
        tokens = [t.strip() for t in rule.source.split(",") if t.strip()]
        cited_anywhere += [t for t in tokens if t not in cited_anywhere]
        cited = "; ".join(
            f"[{sources.get(t, (t, ''))[0]}](#{_anchor('source', t)})" for t in tokens
        )
        out.append(f"### {rule.name} {{#{rule.name}}}\n")
        out.append(f"{rule.summary}\n")
        out.append(f"**Claim.** {rule.claim}\n")
        out.append(f"**Source.** {cited}\n")
        out.append(f"**Needs in the records.** {rule.needs}\n")
        out.append(f"**Contradicted by.** {rule.contradicted_by}\n")
        out.append(f"**Derives.** {rule.derives}\n")
        out.append("```sparql\nCONSTRUCT { " + rule.template.strip() + " }\n```\n")
    out.append("## Sources cited\n")
    out.append(
        "The paper's sections and the primary sources the rules cite, as "
        "`ontology/modules/sources.ttl` records them.\n"
    )
    papers = [t for t in sorted(cited_anywhere) if t.startswith("paper:")]
    if papers:
        out.append(f"- **The paper.** {sources[papers[0]][1]} Its parts cited:")
        for token in papers:
            label = sources.get(token, (token, ""))[0]
            out.append(f'    - <a id="{_anchor("source", token)}"></a>{label} (`{token}`)')
    for token in sorted(t for t in cited_anywhere if not t.startswith("paper:")):
        label, citation = sources.get(token, (token, ""))
        out.append(f'- <a id="{_anchor("source", token)}"></a>**{label}** (`{token}`). {citation}')
    out.append("")
    return "\n".join(out)


def queries_reference() -> str:
    """The named queries (one per competency question), from queries/*.rq."""
    import cipd_graph

    out = [
        "# Named queries\n",
        GENERATED_NOTE.format(source="the headers of `queries/*.rq`"),
        "Run one with `cipd query NAME -p key=value` or `GET /queries/NAME?key=value`; "
        "`cipd query --list` lists them. Parameter values are checked and bound as RDF "
        "terms, never pasted into the query.\n",
        _table(
            ["query", "answers"],
            [[f"[`{q.name}`](#{q.name})", q.summary] for q in cipd_graph.named_queries().values()],
        ),
    ]
    for query in cipd_graph.named_queries().values():
        out.append(f"## {query.name} {{#{query.name}}}\n")
        out.append(query.summary + "\n")
        if query.tags:
            out.append("Tags: " + ", ".join(query.tags) + "\n")
        if query.parameters:
            out.append(
                _table(
                    ["parameter", "kind", "required", "meaning"],
                    [
                        [_code(p.name), p.kind, "yes" if p.required else "no", p.description]
                        for p in query.parameters
                    ],
                )
            )
        example = " ".join(f"-p {p.name}=..." for p in query.parameters if p.required)
        out.append(f"```sh\ncipd query {query.name} {example}\n```\n".replace(" \n", "\n"))
    return "\n".join(out)


GENERATED: dict[str, Callable[[], str]] = {
    "reference/cli.md": cli_reference,
    "reference/api.md": api_reference,
    "reference/record-formats.md": records_reference,
    "reference/configuration.md": configuration_reference,
    "reference/rules.md": rules_reference,
    "reference/queries.md": queries_reference,
}


# --------------------------------------------------------------------------- MkDocs events


_rendered: list[Path] = []


def _ontology_docs() -> Path:
    """The directory of the ontology's HTML documentation: the one ``CIPD_ONTOLOGY_DOCS``
    names (``make docs`` has just written it), or one rendered now."""
    made = os.environ.get("CIPD_ONTOLOGY_DOCS")
    if made:
        if not (Path(made) / "index.html").is_file():
            raise FileNotFoundError(
                f"CIPD_ONTOLOGY_DOCS={made}: no index.html there (run cipd docs)"
            )
        return Path(made)
    from cipd_graph import ontology_dir
    from cipd_graph._docs import render_docs

    directory = Path(tempfile.mkdtemp(prefix="cipd-ontology-docs-"))
    _rendered.append(directory)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        render_docs(directory, ontology_dir())
    finally:  # pyLODE configures the root logger, which would print MkDocs' debug messages
        root.handlers[:] = handlers
        root.setLevel(level)
    return directory


def on_files(files: Any, config: Any) -> Any:
    """Add the generated pages, and the ontology's HTML documentation under ``ontology/``."""
    from mkdocs.structure.files import File

    for path, make in GENERATED.items():
        files.append(File.generated(config, path, content=make()))
    docs = _ontology_docs()
    for page in sorted(docs.rglob("*")):
        if page.is_file():
            files.append(
                File.generated(
                    config, "ontology/" + page.relative_to(docs).as_posix(), abs_src_path=str(page)
                )
            )
    return files


def on_post_build(config: Any) -> None:
    """Remove the ontology documentation rendered for this build."""
    while _rendered:
        shutil.rmtree(_rendered.pop(), ignore_errors=True)
