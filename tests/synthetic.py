"""Test helper: more project files made from the samples, with fresh ids."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from .conftest import SAMPLES


def copy_samples(target: Path, copies: int) -> Path:
    """Reference tables, the sample projects and ``copies`` renamed copies of each."""
    shutil.copytree(SAMPLES / "reference", target / "reference")
    projects = target / "projects"
    shutil.copytree(SAMPLES / "projects", projects)
    for source in sorted((SAMPLES / "projects").glob("*.yaml")):
        text = source.read_text(encoding="utf-8")
        for k in range(copies):
            suffix = f"-copy{k}"
            renamed = re.sub(r"^id: (\S+)", rf"id: \1{suffix}", text, count=1, flags=re.MULTILINE)
            renamed = re.sub(
                r"^  id: (\S+)", rf"  id: \1{suffix}", renamed, count=1, flags=re.MULTILINE
            )
            (projects / f"{source.stem}{suffix}.yaml").write_text(renamed, encoding="utf-8")
    return target
