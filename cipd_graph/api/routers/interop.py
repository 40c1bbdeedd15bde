"""Other standards over HTTP: ``/formats``, ``/export/{format}`` and ``/import/{format}``.

A thin layer over :mod:`cipd_graph.interop`. Export options are query parameters
(``/export/case?programme=nsu-msc-qi``). Imports are uploaded like record files, kept under
``uploads/import/<format>/`` by file name (so uploading a file name again replaces its
earlier import), validated, and written all or nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from cipd_graph.api.deps import SettingsDep, StoreDep, WriterDep
from cipd_graph.api.routers.records import (
    REFUSED_RESPONSE,
    LoadReport,
    Uploads,
    _bad,
    _read,
    check_plain_name,
    refused,
    run_uploads,
)
from cipd_graph.interop import FormatError, export_format, formats, get_format, import_files

router = APIRouter(tags=["interoperability"])


class OptionInfo(BaseModel):
    """An export option."""

    name: str
    description: str
    required: bool


class FormatInfo(BaseModel):
    """A standard the graph reads or writes."""

    name: str
    title: str
    media_type: str
    can_import: bool
    can_export: bool
    options: list[OptionInfo]
    limits: str
    specification: str


@router.get(
    "/contexts/cipd.jsonld",
    response_class=Response,
    responses={200: {"description": "The JSON-LD context of the ontology and of record exports"}},
)
def jsonld_context() -> Response:
    """The published JSON-LD context (https://w3id.org/cipd/contexts/cipd.jsonld)."""
    from cipd_graph.interop.jsonld import context_path

    return Response(context_path().read_bytes(), media_type="application/ld+json")


@router.get("/formats", response_model=list[FormatInfo])
def list_formats() -> list[FormatInfo]:
    """The standards this graph imports and exports, their options, and what each cannot carry."""
    return [
        FormatInfo(
            name=f.name,
            title=f.title,
            media_type=f.media_type,
            can_import=f.reader is not None,
            can_export=f.writer is not None,
            options=[
                OptionInfo(name=o.name, description=o.description, required=o.required)
                for o in f.options
            ],
            limits=f.limits,
            specification=f.specification,
        )
        for f in formats()
    ]


def _format(name: str, *, reading: bool = False, writing: bool = False) -> str:
    try:
        get_format(name, reading=reading, writing=writing)
    except FormatError as exc:
        raise HTTPException(404, str(exc)) from exc
    return name


@router.get(
    "/export/{name}",
    response_class=Response,
    responses={200: {"description": "The document, in the standard's media type"}},
)
def export(name: str, request: Request, store: StoreDep) -> Response:
    """Export the graph as a standard; options are query parameters (see ``/formats``)."""
    fmt = get_format(_format(name, writing=True))
    options = dict(request.query_params)
    try:
        data = export_format(store, name, options)
    except FormatError as exc:
        raise HTTPException(400, str(exc)) from exc
    return Response(
        data,
        media_type=fmt.media_type,
        headers={"Content-Disposition": f'inline; filename="cipd-{name}{fmt.suffix}"'},
    )


@router.post("/import/{name}", response_model=LoadReport, responses=REFUSED_RESPONSE)
def import_(
    name: str,
    store: StoreDep,
    settings: SettingsDep,
    _writer: WriterDep,
    files: Uploads,
    dry_run: Annotated[bool, Query(description="Read, map and validate; write nothing.")] = False,
) -> LoadReport | JSONResponse:
    """Import uploaded files in a standard, validated and written all or nothing."""
    fmt = get_format(_format(name, reading=True))

    def check_name(filename: str | None) -> str:
        filename = check_plain_name(filename)
        suffix = Path(filename).suffix.lower()
        if fmt.read_suffixes and suffix not in fmt.read_suffixes:
            raise _bad(
                f"file name {filename!r}: a {fmt.name} import takes {', '.join(fmt.read_suffixes)} files"
            )
        return filename

    contents = _read(files, settings.limits, check_name)
    report = run_uploads(
        store,
        contents,
        lambda paths: import_files(store, name, paths, write=not dry_run),
        folder=("import", name),
    )
    if not report.ok:
        return refused(report)
    return report
