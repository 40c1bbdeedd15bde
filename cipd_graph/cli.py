"""The ``cipd`` command line: a thin layer over the library functions."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import os
import secrets
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import pyoxigraph as ox
import typer
from typer.core import TyperGroup

from cipd_graph._config import Settings
from cipd_graph._docs import render_docs
from cipd_graph._errors import CipdError, StoreInUseError, is_disk_full
from cipd_graph._generate import generate
from cipd_graph._model import Model, load_model
from cipd_graph._ontology import PREFIXES, curie, load_ontology, ontology_dir, write_merged
from cipd_graph._pages import MAX_PAGE
from cipd_graph._qc import run_quality_checks
from cipd_graph._queries import QueryResult, named_queries, run_query
from cipd_graph._reasoner import check_with_hermit
from cipd_graph._serve import serve
from cipd_graph.graph import GraphStore
from cipd_graph.interop import export_format, formats, import_files
from cipd_graph.load import LoadResult
from cipd_graph.records.parse import json_schemas
from cipd_graph.store import MEMORY, StoreNotFoundError

#: Exit codes scripts can rely on (the table in docs/reference/exit-codes.md): done; findings (records refused,
#: validation errors, quality-check violations); a usage or input error; the store is in use
#: by another process; an I/O error (a file that cannot be read or written, a full disk);
#: an internal error, which is a bug.
EXIT_OK, EXIT_FINDINGS, EXIT_ERROR, EXIT_BUSY, EXIT_IO, EXIT_INTERNAL = 0, 1, 2, 3, 4, 70


def failure(exc: BaseException) -> tuple[int, str]:
    """The exit code and the one-line message for an exception a command did not expect.

    >>> failure(FileNotFoundError(2, "No such file or directory", "/nonexistent/x.nq"))
    (4, '/nonexistent/x.nq: No such file or directory')
    """
    if is_disk_full(exc):
        return EXIT_IO, (
            f"the disk is full ({exc}); free some space and run the command again "
            "(a load or import that fails this way writes nothing)"
        )
    if isinstance(exc, StoreInUseError):
        return EXIT_BUSY, str(exc)
    if isinstance(exc, CipdError):
        return EXIT_ERROR, str(exc)
    if isinstance(exc, OSError):
        reason = exc.strerror or str(exc) or type(exc).__name__
        return EXIT_IO, f"{exc.filename}: {reason}" if exc.filename else f"I/O error: {reason}"
    if isinstance(exc, MemoryError):
        return EXIT_INTERNAL, "out of memory: give the command fewer or smaller files at a time"
    text = str(exc)
    text = text if len(text) <= 300 else text[:300] + "..."
    return EXIT_INTERNAL, (
        f"internal error ({type(exc).__name__}: {text}); this is a bug in cipd-graph: "
        "please report it with the command you ran (CIPD_DEBUG=1 shows the traceback)"
    )


class _Boundary(TyperGroup):
    """Every command runs inside one error boundary: whatever it raises becomes a message
    and an exit code from :data:`EXIT_OK`... (never a traceback, unless CIPD_DEBUG=1)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:  # the reader of our output went away (`cipd export | head`)
            with contextlib.suppress(OSError):
                sys.stdout = open(os.devnull, "w")  # noqa: PTH123, SIM115 - no flush at exit
            raise typer.Exit(EXIT_IO) from None
        except Exception as exc:
            # click's own exits and usage errors (typer.Exit, Abort, UsageError...) carry an
            # exit code and are shown by click; the rest is ours to explain.
            if isinstance(exc, typer.Abort) or hasattr(exc, "exit_code"):
                raise
            if os.environ.get("CIPD_DEBUG", "").strip().lower() in ("1", "true", "yes"):
                raise
            code, message = failure(exc)
            typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
            raise typer.Exit(code) from None


app = typer.Typer(
    cls=_Boundary,
    help="cipd-graph: the CIPD tapestry ontology and knowledge graph.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _settings() -> Settings:
    return Settings.from_env()


def _ontology_directory() -> Path:
    return ontology_dir(_settings())


def _fail(exc: CipdError) -> typer.Exit:
    code, message = failure(exc)
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def format_model(model: Model, source: Path) -> str:
    """The human-readable summary of the model that ``cipd model`` prints."""
    lines: list[str] = []
    add = lines.append
    counts = model.counts()
    add(f"The CIPD tapestry ontology, version {model.version} (read from {source})")
    add(
        f"{counts.classes} classes, {counts.object_properties} object properties, "
        f"{counts.datatype_properties} data properties, {counts.concepts} concepts "
        f"in {counts.concept_schemes} concept schemes; {len(model)} model elements."
    )
    centre = model.centre
    add("")
    add(f"At the centre: {centre.label} ({centre.curie})")
    add(f"  {centre.definition}")
    for ground in model.grounding():
        add(f"  grounded in: {ground.label} ({ground.curie})")
    add("")
    add("The four strands woven into it:")
    for strand in model.strands:
        add(f"  {strand.sequence}. {strand.label} [{strand.notation}] ({strand.curie})")
        for child in model.narrower(strand):
            if child.kind != "CAIPEMode":
                add(f"       includes {child.label} ({child.curie})")
    medium = model.integrating_medium
    across = ", ".join(e.label.lower() for e in model.integrates_across())
    add(f"  integrated by {medium.label.lower()} ({medium.curie}) across {across}")
    ipl = model.element("cipd:InterprofessionalLearning")
    modes = ", ".join(e.notation or e.label for e in model.of_kind("CAIPEMode"))
    aims = ", ".join(e.label.lower() for e in model.outcomes_of(ipl))
    add(f"  interprofessional learning: learning {modes} each other; aims: {aims}")
    add("")
    add("Social learning dimensions and the improvement learning that realises them (Table 1):")
    width = max(len(row.dimension.label) for row in model.table1)
    for row in model.table1:
        add(f"  {row.dimension.label:<{width}}  ->  {row.practice.label}")
    for kind, title in (
        ("QualityDimension", "Quality of care is judged as"),
        ("EducationForQualityImprovementAim", "Education for quality improvement aims at"),
        ("EducationArea", "Three areas of education and learning"),
        ("Outcome", "Outcomes"),
    ):
        add("")
        add(f"{title}:")
        for element in model.of_kind(kind):
            note = f" [{element.notation}]" if element.notation else ""
            add(f"  - {element.label}{note}")
    return "\n".join(lines)


@app.command("model")
def model_command(
    as_json: Annotated[bool, typer.Option("--json", help="Every model element as JSON.")] = False,
) -> None:
    """Print the model read from the ontology: strands, dimensions and their links."""
    try:
        directory = _ontology_directory()
        model = load_model(directory)
    except CipdError as exc:
        raise _fail(exc) from exc
    if as_json:
        typer.echo(json.dumps([asdict(e) for e in model], indent=2, ensure_ascii=False))
    else:
        typer.echo(format_model(model, directory / "cipd.ttl"))


@app.command("element")
def element_command(
    key: Annotated[str, typer.Argument(help="IRI, CURIE (cipd:X), local name or notation.")],
) -> None:
    """Show one model element."""
    try:
        element = load_model(_ontology_directory()).element(key)
    except CipdError as exc:
        raise _fail(exc) from exc
    typer.echo(json.dumps(asdict(element), indent=2, ensure_ascii=False))


@app.command("qc")
def qc_command() -> None:
    """Run the ontology quality checks (queries/qc); exit 1 if any returns a row."""
    try:
        results = run_quality_checks(load_ontology(_ontology_directory()))
    except CipdError as exc:
        raise _fail(exc) from exc
    failed = 0
    for name, violations in results.items():
        status = "ok" if not violations else f"{len(violations)} violation(s)"
        typer.echo(f"{name:<34} {status}")
        for v in violations:
            typer.echo(f"    {v.term} {v.detail}".rstrip())
        failed += bool(violations)
    raise typer.Exit(EXIT_FINDINGS if failed else EXIT_OK)


@app.command("reason")
def reason_command() -> None:
    """Classify the ontology with HermiT; exit 1 if inconsistent or a class is unsatisfiable."""
    try:
        report = check_with_hermit(load_ontology(_ontology_directory()))
    except CipdError as exc:
        raise _fail(exc) from exc
    if not report.consistent:
        typer.echo(f"inconsistent: {report.message}")
    for iri in report.unsatisfiable:
        typer.echo(f"unsatisfiable: {iri}")
    if report.ok:
        typer.echo(
            f"consistent: {report.classes} classes, {report.individuals} individuals, "
            "no unsatisfiable class"
        )
    raise typer.Exit(EXIT_OK if report.ok else EXIT_FINDINGS)


@app.command("ontology")
def ontology_command(
    out: Annotated[Path, typer.Option(help="Directory for the merged files.")] = Path(
        "build/ontology"
    ),
) -> None:
    """Write the merged ontology (Turtle, N-Triples, RDF/XML) for tools without imports."""
    try:
        for path in write_merged(out, _ontology_directory()):
            typer.echo(str(path))
    except CipdError as exc:
        raise _fail(exc) from exc


@app.command("docs")
def docs_command(
    out: Annotated[Path, typer.Option(help="Directory for the HTML page.")] = Path("build/docs"),
) -> None:
    """Render HTML documentation of the ontology with pyLODE."""
    try:
        for page in render_docs(out, _ontology_directory()):
            typer.echo(str(page))
    except CipdError as exc:
        raise _fail(exc) from exc


@app.command("config")
def config_command() -> None:
    """Show the effective CIPD_* configuration (secrets masked)."""
    try:
        settings = _settings()
    except CipdError as exc:
        raise _fail(exc) from exc
    for name, value, meaning in settings.describe():
        typer.echo(f"{name}={value}\n    {meaning}")


# --------------------------------------------------------------------------- records


def _open_store(*, write: bool = False, create: bool = True) -> GraphStore:
    """The store ``CIPD_STORE`` names: a reader opens it read-only (so it works beside a
    running ``cipd serve``) and never creates one; a writer excludes other writers."""
    if write:
        return GraphStore.open(_settings(), create=create)
    return GraphStore.open(_settings(), read_only=True)


def _open_for_checking() -> GraphStore:
    """The store to validate records against; an empty one in memory when none exists yet
    (validating files before the first load is a dry run of that load)."""
    try:
        return _open_store()
    except StoreNotFoundError:
        settings = _settings()
        typer.echo(
            f"note: no store at {settings.store}; validating against an empty store", err=True
        )
        memory = dataclasses.replace(
            settings, store=MEMORY, pseudonym_key=settings.pseudonym_key or secrets.token_hex(16)
        )
        return GraphStore.open(memory)


Paths = Annotated[
    list[Path], typer.Argument(help="Record files or folders (searched for .yaml/.json/.csv).")
]
ReportFormat = Annotated[
    str, typer.Option("--format", help="text, json, or shacl (the SHACL results graph, Turtle).")
]


def _emit(result: LoadResult, fmt: str) -> None:
    if fmt == "json":
        payload = json.loads(result.report.to_json())
        payload["problems"] = [asdict(p) for p in result.problems]
        payload["warnings"] = [asdict(w) for w in result.warnings]
        payload["ok"] = result.ok
        payload["written"] = result.written
        payload["batches"] = [asdict(b) for b in result.batches]
        payload["stages"] = [asdict(s) for s in result.stages]
        typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))
    elif fmt == "shacl":
        typer.echo(result.report.results.serialize(format="turtle"))
        for problem in result.problems:
            typer.echo(f"# {problem}", err=True)
    else:
        typer.echo(result.to_text())
    if result.stages:  # a write: where its time went, last, beside the progress lines
        typer.echo(result.timing_text(), err=True)


def _check_format(fmt: str) -> None:
    if fmt not in ("text", "json", "shacl"):
        typer.secho(
            f"error: --format {fmt!r}: use text, json or shacl", fg=typer.colors.RED, err=True
        )
        raise typer.Exit(EXIT_ERROR)


@app.command("load")
def load_command(paths: Paths, fmt: ReportFormat = "text") -> None:
    """Validate record files and load them, each into its own named graph, all or nothing."""
    _check_format(fmt)
    try:
        with _open_store(write=True) as store:
            result = store.load(paths, progress=lambda msg: typer.echo(msg, err=True))
    except CipdError as exc:
        raise _fail(exc) from exc
    _emit(result, fmt)
    raise typer.Exit(EXIT_OK if result.ok else EXIT_FINDINGS)


@app.command("validate")
def validate_command(paths: Paths, fmt: ReportFormat = "text") -> None:
    """Dry run: parse, map and validate record files against the store; write nothing."""
    _check_format(fmt)
    try:
        with _open_for_checking() as store:
            result = store.validate(paths)
    except CipdError as exc:
        raise _fail(exc) from exc
    _emit(result, fmt)
    raise typer.Exit(EXIT_OK if result.ok else EXIT_FINDINGS)


@app.command("validate-store")
def validate_store_command(fmt: ReportFormat = "text") -> None:
    """Validate everything in the store together (catches problems loads cannot see alone)."""
    _check_format(fmt)
    try:
        with _open_store() as store:
            report = store.validate_store()
    except CipdError as exc:
        raise _fail(exc) from exc
    _emit(LoadResult(report=report), fmt)
    raise typer.Exit(EXIT_OK if report.conforms else EXIT_FINDINGS)


@app.command("stats")
def stats_command(
    as_json: Annotated[bool, typer.Option("--json", help="As JSON.")] = False,
    sources: Annotated[bool, typer.Option("--sources", help="Also list loaded files.")] = False,
) -> None:
    """Counts of what the store holds, and optionally the loaded source files."""
    try:
        with _open_store() as store:
            counts = store.stats()
            current = store.derived_facts_current()
            loaded = store.sources() if sources else []
    except CipdError as exc:
        raise _fail(exc) from exc
    if as_json:
        answer = {
            "counts": counts,
            "derived_facts_current": current,
            "sources": [asdict(s) for s in loaded],
        }
        typer.echo(json.dumps(answer, indent=2))
        return
    width = max(len(k) for k in counts)
    for key, value in counts.items():
        typer.echo(f"{key.replace('_', ' '):<{width}}  {value}")
    if not current:
        typer.secho(
            "note: the derived facts were computed with other rules or another ontology than "
            "this installation's; the next write, or `cipd derive --all`, computes them again",
            fg=typer.colors.YELLOW,
            err=True,
        )
    for src in loaded:
        typer.echo(
            f"{src.path}  [{src.kind}, {src.triples} triples, {src.loaded_at} by {src.loaded_by}]"
        )


def _options(items: list[str] | None, flag: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            typer.secho(f"error: {flag} {item!r}: write key=value", fg=typer.colors.RED, err=True)
            raise typer.Exit(EXIT_ERROR)
        values[key.strip()] = value
    return values


@app.command("export")
def export_command(  # noqa: PLR0917 - typer maps parameters to options
    standard: Annotated[
        str | None,
        typer.Argument(
            help="A standard to export (see `cipd formats`); without it, the graph as RDF."
        ),
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option("--option", "-o", help="An export option as key=value; repeatable."),
    ] = None,
    fmt: Annotated[
        str,
        typer.Option("--format", help="RDF syntax when no standard: ttl, nt, nq, trig, jsonld."),
    ] = "ttl",
    out: Annotated[
        Path | None, typer.Option(help="File to write; standard output if absent.")
    ] = None,
    with_names: Annotated[
        bool, typer.Option("--with-names", help="Include people's names (RDF only).")
    ] = False,
    with_ontology: Annotated[
        bool, typer.Option("--with-ontology", help="Include the ontology (RDF only).")
    ] = False,
) -> None:
    """Export the graph as RDF (names left out by default), or as a standard such as CASE or xAPI."""
    options = _options(option, "--option")
    if standard is None and options:
        typer.secho("error: --option needs a standard to export", fg=typer.colors.RED, err=True)
        raise typer.Exit(EXIT_ERROR)
    try:
        with _open_store() as store:
            if standard is None:
                data = store.export(fmt, with_names=with_names, with_ontology=with_ontology)
            else:
                data = export_format(store, standard, options)
    except CipdError as exc:
        raise _fail(exc) from exc
    if out is None:
        sys.stdout.buffer.write(data)
    else:
        out.write_bytes(data)
        typer.echo(f"wrote {out} ({len(data)} bytes)", err=True)


@app.command("import")
def import_command(
    standard: Annotated[
        str, typer.Argument(help="The standard the files are in (`cipd formats`).")
    ],
    paths: Annotated[list[Path], typer.Argument(help="Files, or folders to search.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Read, map and validate; write nothing.")
    ] = False,
    fmt: ReportFormat = "text",
) -> None:
    """Import files in another standard (CASE, xAPI, ...), validated and written all or nothing."""
    _check_format(fmt)
    try:
        with _open_store(write=True) if not dry_run else _open_for_checking() as store:
            result = import_files(
                store,
                standard,
                paths,
                write=not dry_run,
                progress=lambda msg: typer.echo(msg, err=True),
            )
    except CipdError as exc:
        raise _fail(exc) from exc
    _emit(result, fmt)
    raise typer.Exit(EXIT_OK if result.ok else EXIT_FINDINGS)


@app.command("formats")
def formats_command() -> None:
    """The standards `cipd import` and `cipd export` speak, and what each cannot carry."""
    for f in formats():
        can = "/".join(w for w, ok in (("import", f.reader), ("export", f.writer)) if ok)
        typer.echo(f"{f.name}  [{can}]  {f.title}")
        for o in f.options:
            typer.echo(f"    -o {o.name}=...{' (required)' if o.required else ''}  {o.description}")
        if f.limits:
            typer.echo(f"    cannot carry: {f.limits}")


@app.command("drop")
def drop_command(
    source: Annotated[str, typer.Argument(help="The source file's path, or its batch graph IRI.")],
) -> None:
    """Remove everything loaded from one source file, in one transaction."""
    try:
        with _open_store(write=True, create=False) as store:
            graph = store.drop(source)
    except CipdError as exc:
        raise _fail(exc) from exc
    typer.echo(f"dropped {source} (graph <{graph}>)")


@app.command("derive")
def derive_command(
    every: Annotated[
        bool, typer.Option("--all", help="Recompute every derived fact (the only mode).")
    ] = False,
) -> None:
    """Recompute the union and every derived fact from the records, as one step.

    Writes keep derived facts up to date by themselves; this rebuilds them from scratch,
    after changing the rules or to upgrade a store made by an earlier version."""
    if not every:
        typer.secho(
            "error: say --all (every derived fact is recomputed)", fg=typer.colors.RED, err=True
        )
        raise typer.Exit(EXIT_ERROR)
    try:
        with _open_store(write=True, create=False) as store:
            store.derive_all(progress=lambda msg: typer.echo(msg, err=True))
            derived = store.stats()["derived_triples"]
    except CipdError as exc:
        raise _fail(exc) from exc
    typer.echo(f"derived {derived} facts")


@app.command("schemas")
def schemas_command(
    out: Annotated[Path, typer.Option(help="Directory for the JSON Schema files.")] = Path(
        "schemas"
    ),
) -> None:
    """Write the JSON Schema of every record format (generated from the typed records)."""
    out.mkdir(parents=True, exist_ok=True)
    for name, schema in json_schemas().items():
        (out / name).write_text(
            json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        typer.echo(str(out / name))


@app.command("context")
def context_command(
    out: Annotated[Path, typer.Option(help="File to write the JSON-LD context to.")] = Path(
        "contexts/cipd.jsonld"
    ),
) -> None:
    """Write the JSON-LD context of the ontology and of record exports (generated from the ontology)."""
    from cipd_graph.interop.jsonld import build_context

    try:
        context = build_context(load_ontology(_ontology_directory()))
    except CipdError as exc:
        raise _fail(exc) from exc
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(context, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    typer.echo(str(out))


@app.command("generate")
def generate_command(
    out: Annotated[Path, typer.Option(help="Directory for reference/ and projects/.")] = Path(
        "build/synthetic"
    ),
    projects: Annotated[int, typer.Option(min=1, help="How many project files to write.")] = 100,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same files.")] = 0,
) -> None:
    """Write synthetic records (project YAML files and reference CSVs) that load cleanly."""
    summary = generate(out, projects=projects, seed=seed)
    typer.echo(
        f"wrote {summary.projects} projects, {summary.people} people, "
        f"{summary.organisations} organisations, {summary.modules} modules and "
        f"{summary.mappings} mappings under {out} (seed {seed}); load them with `cipd load {out}`"
    )


# --------------------------------------------------------------------------- named queries


def _format_rows(result: QueryResult, fmt: str) -> str:
    if result.triples is not None:
        data = ox.serialize(result.triples, format=ox.RdfFormat.TURTLE, prefixes=PREFIXES)
        return (data or b"").decode("utf-8")
    if fmt == "json":
        answer: dict[str, object] = {"variables": result.variables, "rows": result.rows}
        if result.next_cursor is not None or result.total is not None:
            answer |= {"next_cursor": result.next_cursor, "total": result.total}
        return json.dumps(answer, indent=2, ensure_ascii=False)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=result.variables, lineterminator="\n")
        writer.writeheader()
        writer.writerows(result.rows)
        return buffer.getvalue().rstrip("\n")
    shown = [
        [curie(v) if v else "" for v in (row[k] for k in result.variables)] for row in result.rows
    ]
    widths = [max([len(h)] + [len(r[i]) for r in shown]) for i, h in enumerate(result.variables)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(result.variables, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in shown]
    lines.append(f"({len(shown)} row{'s' if len(shown) != 1 else ''})")
    return "\n".join(lines)


@app.command("query")
def query_command(  # noqa: PLR0917 - typer maps parameters to options
    name: Annotated[str | None, typer.Argument(help="A named query (see --list).")] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="A parameter as key=value; repeatable."),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
    list_queries: Annotated[bool, typer.Option("--list", help="List the named queries.")] = False,
    page_size: Annotated[
        int | None,
        typer.Option(
            "--page-size",
            help=f"Rows per page (1-{MAX_PAGE}); the next page's cursor is printed on stderr "
            "(json: next_cursor).",
        ),
    ] = None,
    cursor: Annotated[
        str | None,
        typer.Option("--cursor", help="Start after the page that gave this cursor."),
    ] = None,
) -> None:
    """Run a named query (one per competency question) with typed parameters, whole or a page
    at a time."""
    if list_queries or name is None:
        for query in named_queries().values():
            params = " ".join(
                f"{p.name}={p.kind}" + ("" if p.required else "?") for p in query.parameters
            )
            typer.echo(f"{query.name}  {params}\n    {query.summary}")
        return
    if fmt not in ("table", "json", "csv"):
        typer.secho(
            f"error: --format {fmt!r}: use table, json or csv", fg=typer.colors.RED, err=True
        )
        raise typer.Exit(EXIT_ERROR)
    values = _options(param, "--param")
    try:
        with _open_store() as store:
            result = run_query(store, name, values, page_size=page_size, cursor=cursor)
    except CipdError as exc:
        raise _fail(exc) from exc
    typer.echo(_format_rows(result, fmt))
    if result.next_cursor is not None and fmt != "json":
        typer.echo(f"next page: --cursor {result.next_cursor}", err=True)


@app.command("report")
def report_command(
    scope: Annotated[
        str,
        typer.Option(
            help="all, or kind:id with kind project, team, organisation or programme "
            "(e.g. project:ward7-falls), an IRI or an id."
        ),
    ] = "all",
    out: Annotated[Path, typer.Option(help="Directory to write the report into.")] = Path(
        "build/report"
    ),
    list_scopes: Annotated[
        bool, typer.Option("--list-scopes", help="List the scopes the store holds.")
    ] = False,
) -> None:
    """Write the analytics report of a scope: index.html with the pictures and tables."""
    from cipd_graph import analytics

    try:
        with _open_store() as store:
            if list_scopes:
                for found in analytics.list_scopes(store):
                    typer.echo(f"{found.key}  {found.label}")
                return
            chosen = analytics.resolve_scope(store, scope)
            page = analytics.write_report(store, chosen, out)
    except CipdError as exc:
        raise _fail(exc) from exc
    typer.echo(f"wrote {page} (figures in {page.parent / 'figures'})")


@app.command("serve")
def serve_command(
    host: Annotated[str | None, typer.Option(help="Address to listen on (CIPD_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (CIPD_PORT).")] = None,
) -> None:
    """Serve the REST API and the SPARQL endpoint (127.0.0.1:8000 unless configured)."""
    try:
        settings = _settings()
        shown_host, shown_port = host or settings.host, port or settings.port
        base = f"http://{shown_host}:{shown_port}"
        typer.echo(
            f"cipd-graph on {base}\n"
            f"  API docs:        {base}/docs\n"
            f"  SPARQL endpoint: {base}/sparql\n"
            f"  named queries:   {base}/queries\n"
            f"  dashboard:       {base}/analytics/dashboard\n"
            f"  standards:       {base}/formats (import and export)\n"
            f"  example:         {base}/queries/cq01-project-strands?project=ward7-falls\n"
            f"  example:         {base}/sparql?query=SELECT%20*%20WHERE%20%7B%20%3Fs%20a%20%3Chttps%3A%2F%2Fw3id.org%2Fcipd%23Strand%3E%20%7D"
        )
        serve(settings, host=host, port=port)
    except CipdError as exc:
        raise _fail(exc) from exc


# --------------------------------------------------------------------------- backups


@app.command("backup")
def backup_command(
    dest: Annotated[Path, typer.Argument(help="A new directory to write the backup into.")],
) -> None:
    """Back up the store (CIPD_STORE) into DEST, also while `cipd serve` or a load runs.

    DEST gets a consistent copy of the store, its pseudonym key file (secret: whoever holds
    it can test a guessed local id against a pseudonym) and its uploads.
    """
    from cipd_graph._backup import backup_store

    try:
        info = backup_store(_settings(), dest)
    except CipdError as exc:
        raise _fail(exc) from exc
    how = "a consistent copy of a store in use" if info.live else "the store was not in use"
    typer.echo(f"backed up {info.quads:,} quads into {info.path} in {info.seconds:.1f} s ({how})")
    if info.key_included:
        typer.echo(
            f"  includes the pseudonym key ({info.path / 'pseudonym.key'}): keep the backup as "
            "secret as the key"
        )
    else:
        typer.echo(
            "  no pseudonym key file in the store: people were pseudonymised with "
            "CIPD_PSEUDONYM_KEY; keep that key with the backup"
        )


@app.command("restore")
def restore_command(
    source: Annotated[Path, typer.Argument(help="A directory `cipd backup` wrote.")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace a store that holds data.")
    ] = False,
) -> None:
    """Replace the store (CIPD_STORE) with the backup SOURCE, atomically.

    Refuses a store in use (stop `cipd serve` first), a backup that does not open or does not
    match its manifest, and, without --force, a store that already holds data.
    """
    from cipd_graph._backup import restore_store

    try:
        info = restore_store(_settings(), source, force=force)
    except CipdError as exc:
        raise _fail(exc) from exc
    replaced = f", replacing {info.replaced:,}" if info.replaced else ""
    typer.echo(f"restored {info.quads:,} quads into {info.store}{replaced} in {info.seconds:.1f} s")
    if not info.key_restored:
        typer.echo(
            "  the backup has no pseudonym key file: set CIPD_PSEUDONYM_KEY to the key its "
            "people were pseudonymised with"
        )


def main() -> None:
    """Entry point of the ``cipd`` console script."""
    app()
