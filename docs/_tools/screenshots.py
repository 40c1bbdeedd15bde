"""Screenshots of the dashboard, the query page and the API docs for the docs (`make screenshots`):
docs/screenshots/*.png.

Serves the sample records from a throwaway store with a fixed pseudonym key (so the network
is laid out the same way each time), drives Debian's Chromium with playwright at 1400 and
800 pixels wide, and writes small palette PNGs.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from PIL import Image
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.api.browsers import ARGS, CHROMIUM  # noqa: E402
from tests.api.conftest import start_server  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
#: (file name, scope, viewport width, what to capture: "screen", "page" or a CSS selector)
SHOTS = [
    ("dashboard-all-1400.png", "all", 1400, "screen"),
    ("dashboard-matrix-1400.png", "all", 1400, "#heatmap-section"),
    ("dashboard-network-1400.png", "all", 1400, "#network-section"),
    ("dashboard-project-1400.png", "project:ward7-falls", 1400, "page"),
    ("dashboard-project-800.png", "project:ward7-falls", 800, "page"),
    ("dashboard-programme-800.png", "programme:nsu-msc-qi", 800, "#heatmap-section"),
]


def small_png(source: Path, target: Path, colours: int = 128) -> None:
    """Write ``source`` as a palette PNG (a tenth of the size, no visible loss for a UI)."""
    image = Image.open(source).convert("RGB")
    image.quantize(colors=colours, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)


def shoot(page: Any, work: str, name: str, what: str) -> None:
    """Capture the screen, the whole page or one element (a CSS selector) into OUT/name."""
    raw = Path(work) / name
    if what in ("screen", "page"):
        page.screenshot(path=str(raw), full_page=what == "page")
    else:
        page.locator(what).screenshot(path=str(raw))
    small_png(raw, OUT / name)
    print(f"{OUT / name}: {(OUT / name).stat().st_size // 1024} KiB")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        server_run = start_server(Path(work) / "store", pseudonym_key="sample-pictures-key")
        server = next(server_run)
        try:
            with sync_playwright() as pw:
                context = pw.chromium.launch_persistent_context(
                    str(Path(work) / "profile"), executable_path=CHROMIUM, headless=True, args=ARGS
                )
                page = context.new_page()
                for name, scope, width, what in SHOTS:
                    page.set_viewport_size({"width": width, "height": 900})
                    page.goto("about:blank")
                    page.goto(f"{server.url}/analytics/dashboard#{scope}")
                    page.wait_for_function(
                        "document.body.dataset.state === 'ready' && "
                        f"document.body.dataset.scope === '{scope}'",
                        timeout=120_000,
                    )
                    # the sticky header would be pictured over the middle of a section
                    page.add_style_tag(content="header { position: static !important; }")
                    shoot(page, work, name, what)
                # the query page, an example run (the editor, its prefixes and the results table)
                page.set_viewport_size({"width": 1400, "height": 900})
                page.goto(f"{server.url}/sparql")
                page.wait_for_selector("body[data-state='ready']", state="attached")
                page.select_option("#examples", "cq03-professions-learning-together")
                page.click("#run")
                page.wait_for_selector("body[data-state='done']", state="attached")
                shoot(page, work, "sparql-page-1400.png", "page")
                # the API's docs, served from the package (no CDN)
                page.goto(f"{server.url}/docs")
                page.wait_for_selector(".opblock", timeout=30_000)
                shoot(page, work, "api-docs-1400.png", "screen")
                context.close()
        finally:
            server_run.close()


if __name__ == "__main__":
    main()
