"""Record files uploaded over HTTP: load them (all or nothing) or validate them (dry run).

Both need the bearer token: a dry run costs the server as much as a load, and its report
says what the store holds. Limits are checked before the work: the request's size
(``CIPD_MAX_REQUEST_BYTES``, from its Content-Length), the number of files
(``CIPD_MAX_UPLOAD_FILES``), each file's size (``CIPD_MAX_UPLOAD_BYTES``) and its name.

Uploads are saved under the store's ``uploads/`` folder (0700; each file 0600) by their base
name, so a file's batch graph (which depends on its path) is the same each time that name is
uploaded: an upload replaces the earlier upload of the same file name, as reloading a file
does. The saved files are deleted once the load or validation is over: records with names
and mailboxes (an xAPI upload) stay on the server only while they are read.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, HTTPException, UploadFile, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from cipd_graph._errors import RecordProblem
from cipd_graph.api.deps import SettingsDep, StoreDep, WriterDep
from cipd_graph.api.problems import INVALID_RECORDS, MEDIA_TYPE, problem
from cipd_graph.graph import GraphStore
from cipd_graph.limits import Limits, strip_paths
from cipd_graph.load import BatchSummary, LoadResult, Stage
from cipd_graph.records.parse import PROJECT_SUFFIXES, TABLES
from cipd_graph.validation.report import Finding

router = APIRouter(prefix="/records", tags=["records"])
validate_router = APIRouter(prefix="/validate", tags=["records"])

#: Longest uploaded file name (characters; and at most 255 bytes in UTF-8, a file system's limit).
MAX_NAME = 200
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
    #: The stages the files went through (a dry run stops after validation) and their seconds.
    stages: list[Stage] = []


Uploads = Annotated[
    list[UploadFile],
    File(
        description="Project files (.yaml, .yml, .json) or reference tables named like people.csv."
    ),
]


def check_plain_name(name: str | None) -> str:
    """``name`` if it is a plain file name of sensible length (422 otherwise)."""
    if not name:
        raise _bad("every uploaded file needs a file name")
    shown = name if len(name) <= 60 else name[:60] + "..."
    if (
        "/" in name
        or "\\" in name
        or name in (".", "..")
        or name.startswith(".")
        or any(ord(c) < 32 or ord(c) == 127 for c in name)
    ):
        raise _bad(f"file name {shown!r}: give a plain file name, without folders")
    if len(name) > MAX_NAME or len(name.encode("utf-8", "surrogatepass")) > 255:
        raise _bad(
            f"file name {shown!r} is {len(name)} characters long: give a name of at most "
            f"{MAX_NAME} characters"
        )
    return name


def _check_name(name: str | None) -> str:
    name = check_plain_name(name)
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


def _private_dir(folder: Path) -> Path:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    return folder


def _upload_dir(store: GraphStore, *parts: str) -> Path:
    if store.location is not None:
        folder = _private_dir(store.location / "uploads")
    else:
        folder = _memory_dirs.setdefault(id(store), Path(tempfile.mkdtemp(prefix="cipd-uploads-")))
    for part in parts:
        folder = _private_dir(folder / part)
    return folder


def _read(
    files: list[UploadFile],
    limits: Limits,
    check_name: Callable[[str | None], str] = _check_name,
) -> dict[str, bytes]:
    if not files:
        raise _bad("upload at least one file (multipart field 'files')")
    if len(files) > limits.upload_files:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"{len(files)} files in one request; upload at most {limits.upload_files} at a time "
            "(CIPD_MAX_UPLOAD_FILES)",
        )
    names = [check_name(upload.filename) for upload in files]  # all names before any data
    contents: dict[str, bytes] = {}
    total = 0
    for name, upload in zip(names, files, strict=True):
        if name in contents:
            raise _bad(f"file name {name!r} is uploaded twice")
        data = upload.file.read(limits.upload_bytes + 1)
        if len(data) > limits.upload_bytes:
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE,
                f"{name}: larger than {limits.upload_bytes:,} bytes (CIPD_MAX_UPLOAD_BYTES)",
            )
        total += len(data)
        if total > limits.request_bytes:
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE,
                f"the files add up to more than {limits.request_bytes:,} bytes "
                "(CIPD_MAX_REQUEST_BYTES)",
            )
        contents[name] = data
    return contents


def _run(store: GraphStore, files: list[UploadFile], limits: Limits, *, write: bool) -> LoadReport:
    """Save the uploads, then load or validate them; the saved files are deleted after."""
    # Uploads never take the staged path: a swap under a serving process's readers is not
    # worth it for what one request can carry (CIPD_MAX_REQUEST_BYTES).
    action = (lambda paths: store.load(paths, staged=False)) if write else store.validate
    return run_uploads(store, _read(files, limits), action, folder=())


def run_uploads(
    store: GraphStore,
    contents: dict[str, bytes],
    action: Callable[[list[Path]], LoadResult],
    *,
    folder: Sequence[str],
) -> LoadReport:
    """Save uploaded files under ``uploads/<folder>`` (0600 files in 0700 folders), run
    ``action`` on them, delete them, and report as ``cipd load --format json`` does."""
    with _lock:
        folder_path = _upload_dir(store, *folder)
        result = _save_and_run(folder_path, contents, action)
    return _report(result, folder_path)


def _save_and_run(
    folder: Path, contents: dict[str, bytes], action: Callable[[list[Path]], LoadResult]
) -> LoadResult:
    paths = [folder / name for name in contents]
    try:
        for path, data in zip(paths, contents.values(), strict=True):
            path.unlink(missing_ok=True)  # a file left by a server killed mid-upload
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        return action(paths)
    finally:
        for path in paths:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)


def _report(result: LoadResult, folder: Path) -> LoadReport:
    def short(path: str | None) -> str | None:
        if path is None:
            return None
        p = Path(path)
        return p.name if p.parent.resolve() == folder.resolve() else strip_paths(path)

    findings = [
        replace(f, file=short(f.file), message=strip_paths(f.message))
        for f in result.report.findings
    ]
    problems = [
        replace(p, file=short(p.file) or p.file, reason=strip_paths(p.reason))
        for p in result.problems
    ]
    warnings = [
        replace(w, file=short(w.file) or w.file, reason=strip_paths(w.reason))
        for w in result.warnings
    ]
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
        stages=result.stages,
    )


class RecordsRefused(BaseModel):
    """An RFC 9457 problem (``application/problem+json``) that carries the load report: its
    ``errors`` list every error (file problems, then SHACL errors); ``error_count`` is the
    report's count of SHACL errors."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]]
    ok: bool
    written: bool
    conforms: bool
    error_count: int
    problems: list[RecordProblem]
    warnings: list[RecordProblem] = []
    findings: list[Finding]
    batches: list[BatchSummary]
    #: The stages the files went through (a dry run stops after validation) and their seconds.
    stages: list[Stage] = []


def refused(report: LoadReport) -> JSONResponse:
    """The 422 problem response of a refused upload: the report plus an ``errors`` list."""
    errors: list[dict[str, Any]] = [
        {
            "file": p.file,
            "line": p.line,
            "record": p.record,
            "field": p.field,
            "detail": p.reason,
        }
        for p in report.problems
    ]
    errors += [
        {
            "file": f.file,
            "line": f.line,
            "record": f.record,
            "field": f.path,
            "detail": f.message,
        }
        for f in report.findings
        if f.severity == "error"
    ]
    n = len(errors)
    return problem(
        422,
        f"{n} error{'s' if n != 1 else ''} in the uploaded files; nothing was written",
        type_=INVALID_RECORDS,
        errors=errors,
        extra={"error_count": report.errors, **report.model_dump(mode="json", exclude={"errors"})},
    )


REFUSED_RESPONSE: dict[int | str, dict[str, Any]] = {
    422: {
        "model": RecordsRefused,
        "description": "Problems or SHACL errors; nothing written (application/problem+json)",
        "content": {MEDIA_TYPE: {}},
    }
}


@router.post("", response_model=LoadReport, responses=REFUSED_RESPONSE)
def create_records(
    store: StoreDep, settings: SettingsDep, _writer: WriterDep, files: Uploads
) -> LoadReport | JSONResponse:
    """Load uploaded record files, all or nothing; a file name uploaded again replaces its earlier upload."""
    report = _run(store, files, settings.limits, write=True)
    if not report.ok:
        return refused(report)
    return report


@validate_router.post("", response_model=LoadReport)
def validate_records(
    store: StoreDep, settings: SettingsDep, _writer: WriterDep, files: Uploads
) -> LoadReport:
    """Dry run (needs the token): parse, map and validate uploaded record files against the store; write nothing."""
    return _run(store, files, settings.limits, write=False)
