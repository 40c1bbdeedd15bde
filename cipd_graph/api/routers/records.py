"""Record files uploaded over HTTP: load them (all or nothing) or validate them (dry run).

Uploads are saved under the store's ``uploads/`` folder by their base name, so a file's
batch graph (which depends on its path) is the same each time that name is uploaded: an
upload replaces the earlier upload of the same file name, as reloading a file does.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, HTTPException, UploadFile, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from cipd_graph._errors import RecordProblem
from cipd_graph.api.deps import StoreDep, WriterDep
from cipd_graph.graph import GraphStore
from cipd_graph.load import BatchSummary, LoadResult
from cipd_graph.records.parse import PROJECT_SUFFIXES, TABLES
from cipd_graph.validation.report import Finding

router = APIRouter(prefix="/records", tags=["records"])
validate_router = APIRouter(prefix="/validate", tags=["records"])

MAX_BYTES = 20 * 1024 * 1024
_lock = threading.Lock()  # one upload at a time: they share the uploads folder
_memory_dirs: dict[int, Path] = {}


class LoadReport(BaseModel):
    """The outcome, as ``cipd load --format json`` gives it."""

    ok: bool
    written: bool
    conforms: bool
    errors: int
    problems: list[RecordProblem]
    warnings: list[RecordProblem] = []
    findings: list[Finding]
    batches: list[BatchSummary]


Uploads = Annotated[
    list[UploadFile],
    File(
        description="Project files (.yaml, .yml, .json) or reference tables named like people.csv."
    ),
]


def _check_name(name: str | None) -> str:
    if not name:
        raise _bad("every uploaded file needs a file name")
    if "/" in name or "\\" in name or name in (".", "..") or name.startswith(".") or "\x00" in name:
        raise _bad(f"file name {name!r}: give a plain file name, without folders")
    path = Path(name)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        if path.stem not in TABLES:
            raise _bad(
                f"file name {name!r}: a reference table is named one of {sorted(TABLES)} + '.csv'"
            )
    elif suffix not in PROJECT_SUFFIXES:
        raise _bad(f"file name {name!r}: upload .yaml, .yml or .json project files or .csv tables")
    return name


def _bad(message: str) -> HTTPException:
    return HTTPException(422, message)


def _upload_dir(store: GraphStore, *parts: str) -> Path:
    if store.location is not None:
        folder = store.location / "uploads"
    else:
        folder = _memory_dirs.setdefault(id(store), Path(tempfile.mkdtemp(prefix="cipd-uploads-")))
    folder = folder.joinpath(*parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _read(
    files: list[UploadFile], check_name: Callable[[str | None], str] = _check_name
) -> dict[str, bytes]:
    if not files:
        raise _bad("upload at least one file (multipart field 'files')")
    contents: dict[str, bytes] = {}
    for upload in files:
        name = check_name(upload.filename)
        if name in contents:
            raise _bad(f"file name {name!r} is uploaded twice")
        data = upload.file.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise HTTPException(
                status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, f"{name}: larger than {MAX_BYTES} bytes"
            )
        contents[name] = data
    return contents


def _run(store: GraphStore, files: list[UploadFile], *, write: bool) -> LoadReport:
    """Save the uploads, then load or validate them; put back the earlier files unless loaded."""
    # Uploads never take the staged path: a swap under a serving process's readers is not
    # worth it for what one request can carry (MAX_BYTES per file).
    action = (lambda paths: store.load(paths, staged=False)) if write else store.validate
    return run_uploads(store, _read(files), action, folder=())


def run_uploads(
    store: GraphStore,
    contents: dict[str, bytes],
    action: Callable[[list[Path]], LoadResult],
    *,
    folder: Sequence[str],
) -> LoadReport:
    """Save uploaded files under ``uploads/<folder>``, run ``action`` on them, put back the
    earlier files unless the action wrote them, and report as ``cipd load --format json`` does."""
    with _lock:
        folder_path = _upload_dir(store, *folder)
        result = _save_and_run(folder_path, contents, action)
    return _report(result, folder_path)


def _save_and_run(
    folder: Path, contents: dict[str, bytes], action: Callable[[list[Path]], LoadResult]
) -> LoadResult:
    earlier = {n: (folder / n).read_bytes() if (folder / n).exists() else None for n in contents}
    loaded = False
    try:
        paths = []
        for name, data in contents.items():
            (folder / name).write_bytes(data)
            paths.append(folder / name)
        result = action(paths)
        loaded = result.written
    finally:
        if not loaded:
            for name, old in earlier.items():
                if old is None:
                    (folder / name).unlink(missing_ok=True)
                else:
                    (folder / name).write_bytes(old)
    return result


def _report(result: LoadResult, folder: Path) -> LoadReport:
    def short(path: str | None) -> str | None:
        if path is None:
            return None
        p = Path(path)
        return p.name if p.parent.resolve() == folder.resolve() else path

    findings = [replace(f, file=short(f.file)) for f in result.report.findings]
    problems = [replace(p, file=short(p.file) or p.file) for p in result.problems]
    warnings = [replace(w, file=short(w.file) or w.file) for w in result.warnings]
    batches = [replace(b, path=short(b.path) or b.path) for b in result.batches]
    return LoadReport(
        ok=result.ok,
        written=result.written,
        conforms=result.report.conforms,
        errors=len(result.report.errors),
        problems=problems,
        warnings=warnings,
        findings=findings,
        batches=batches,
    )


@router.post(
    "",
    response_model=LoadReport,
    responses={
        422: {"model": LoadReport, "description": "Problems or SHACL errors; nothing written"}
    },
)
def create_records(
    store: StoreDep, _writer: WriterDep, files: Uploads
) -> LoadReport | JSONResponse:
    """Load uploaded record files, all or nothing; a file name uploaded again replaces its earlier upload."""
    report = _run(store, files, write=True)
    if not report.ok:
        return JSONResponse(report.model_dump(mode="json"), status_code=422)
    return report


@validate_router.post("", response_model=LoadReport)
def validate_records(store: StoreDep, files: Uploads) -> LoadReport:
    """Dry run: parse, map and validate uploaded record files against the store; write nothing."""
    return _run(store, files, write=False)
