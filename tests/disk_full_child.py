"""A real full disk, for tests/test_reliability.py: run as root inside a private mount
namespace (``unshare -m --propagation private python -m tests.disk_full_child STORE
PROJECTS OUT``), so the tmpfs it mounts vanishes with it whatever happens.

It mounts a 100 MB tmpfs, copies STORE onto it, fills the disk to its last megabyte, then
loads PROJECTS with ``cipd load`` and uploads them to ``cipd serve`` (``POST /records``),
hashing the store's N-Quads export before and after each; then frees the disk and loads
again. Everything it saw goes to OUT as JSON.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from .processes import TOKEN, cipd, cipd_env, served, state


def _fill(folder: Path, leave_kb: int = 1024) -> Path:
    stats = os.statvfs(folder)
    free = stats.f_bavail * stats.f_frsize
    filler = folder / "filler"
    with filler.open("wb") as handle:
        os.posix_fallocate(handle.fileno(), 0, max(0, free - leave_kb * 1024))
    return filler


def main(store: Path, projects: Path, out: Path) -> None:
    """See the module docstring."""
    disk = out.parent / "full-disk"
    disk.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=100m", "tmpfs", str(disk)], check=True)
    seen: dict[str, Any] = {}
    try:
        work = disk / "store"
        shutil.copytree(store, work, symlinks=True)
        env = cipd_env(work)
        seen["before"] = state(work)
        filler = _fill(disk)
        load = cipd("load", str(projects), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _output, errors = load.communicate(timeout=300)
        seen["cli"] = {"code": load.returncode, "stderr": errors.decode()[-3000:]}
        seen["after_cli"] = state(work)
        files = [("files", (p.name, p.read_bytes())) for p in sorted(projects.glob("*.yaml"))]
        with served(work) as (_server, url):
            response = httpx.post(
                url + "/records",
                files=files,
                headers={"Authorization": f"Bearer {TOKEN}"},
                timeout=300,
            )
            seen["api"] = {
                "status": response.status_code,
                "type": response.headers.get("content-type"),
                "body": response.text[:3000],
            }
        seen["after_api"] = state(work)
        filler.unlink()
        again = cipd("load", str(projects), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _output, errors = again.communicate(timeout=300)
        seen["freed"] = {"code": again.returncode, "stderr": errors.decode()[-3000:]}
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
        out.write_text(json.dumps(seen), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
