"""The ``cipd`` command line: a thin layer over the library functions."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from cipd_graph._config import Settings
from cipd_graph._docs import render_docs
from cipd_graph._errors import CipdError
from cipd_graph._model import Model, load_model
from cipd_graph._ontology import load_ontology, ontology_dir, write_merged
from cipd_graph._qc import run_quality_checks
from cipd_graph._reasoner import check_with_hermit

app = typer.Typer(
    help="cipd-graph: the CIPD tapestry ontology and knowledge graph.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

#: Exit codes scripts can rely on.
EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _settings() -> Settings:
    return Settings.from_env()


def _ontology_directory() -> Path:
    return ontology_dir(_settings())


def _fail(exc: CipdError) -> typer.Exit:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    return typer.Exit(EXIT_ERROR)


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


def main() -> None:
    """Entry point of the ``cipd`` console script."""
    app()
