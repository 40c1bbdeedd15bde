"""Screenshots of the curriculum designer's workbench for the docs (`make screenshots`).

Serves the sample records from a throwaway store, signs in as the sample designer, and
captures the page at 1400 and 800 pixels wide with Debian's Chromium: the programme's
matrix with an element open, a mapping refused beside its field, and the narrow layout.
Written as small palette PNGs to docs/screenshots/workbench-*.png.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from screenshots import small_png  # noqa: E402

from tests.api.browsers import ARGS, CHROMIUM  # noqa: E402
from tests.api.conftest import start_server  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
IPL = "https://w3id.org/cipd#InterprofessionalLearning"
BELONGING = "https://w3id.org/cipd#LearningAsBelonging"


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
                shots: list[tuple[str, object]] = []

                def shoot(name: str, what: str = "screen") -> None:
                    raw = Path(work) / name
                    if what == "screen":
                        page.screenshot(path=str(raw))
                    else:
                        page.locator(what).screenshot(path=str(raw))
                    small_png(raw, OUT / name)
                    shots.append((name, what))

                def open_page(width: int) -> None:
                    page.set_viewport_size({"width": width, "height": 900})
                    page.goto("about:blank")
                    page.goto(
                        f"{server.url}/workbench#programme=nsu-msc-qi&module=ncu-qi-practice"
                        f"&element={IPL.replace('#', '%23')}"
                    )
                    page.wait_for_selector("body[data-state='ready']", state="attached")

                open_page(1400)
                page.fill("#token", server.token)
                page.fill("#person", "nsu-0401")
                page.click("#sign-in")
                page.wait_for_selector("#who:not([hidden])")
                page.check("input[name=strength][value=moderate]")
                page.fill(
                    "#justification",
                    "Students plan their cycles with colleagues from other professions.",
                )
                shoot("workbench-1400.png")

                page.locator(f"tr[data-element='{BELONGING}'] .element-name").click()
                page.check("input[name=strength][value=weak]")
                page.fill("#justification", "too short")
                page.click("#save")
                page.wait_for_selector("body[data-state='refused']", state="attached")
                shoot("workbench-refused-1400.png", "#editor-section")

                open_page(800)
                shoot("workbench-800.png")
                page.locator(
                    f"tr[data-element='{IPL}'] td[data-module='ncu-qi-practice'] button"
                ).click()
                page.wait_for_timeout(300)
                shoot("workbench-editor-800.png")
                context.close()
        finally:
            next(server_run, None)
    for name, what in shots:
        print(f"wrote docs/screenshots/{name} ({what})")


if __name__ == "__main__":
    main()
