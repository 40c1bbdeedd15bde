"""The dashboard in headless Chromium (Debian's package, installed by .ci/run) against a real
server: the page loads, a scope is chosen, the figures render, and no console error occurs.

The test fails, not skips, when Chromium is missing: CI installs it.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser_page():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "chromium is not installed: apt-get install -y chromium"
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=ARGS
        )
        try:
            yield context.new_page()
        finally:
            context.close()


def test_dashboard_picks_a_scope_and_renders_figures(server, browser_page):
    page = browser_page
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    page.goto(server.url + "/analytics/dashboard")
    page.wait_for_function("document.body.dataset.state === 'ready'", timeout=60_000)
    assert page.locator("#scope option").count() > 60
    assert page.locator("#timeline-section").is_hidden()  # "all" has no timeline

    page.select_option("#scope", "project:ward7-falls")
    page.wait_for_function(
        "document.body.dataset.state === 'ready' && document.body.dataset.scope === 'project:ward7-falls'",
        timeout=60_000,
    )
    for name in ("tapestry", "heatmap", "network", "timeline"):
        width = page.eval_on_selector(f"#fig-{name}", "img => img.complete ? img.naturalWidth : 0")
        assert width > 300, name
        assert "scope=project%3Award7-falls" in page.get_attribute(f"#fig-{name}", "src")
    assert page.locator("#timeline-section").is_visible()
    rows = page.locator("#coverage-table tbody tr")
    assert rows.count() == 8
    assert "Interprofessional working (IPW)" in rows.first.inner_text()
    assert page.locator("#teams-table tbody tr").first.inner_text().startswith("Ward 7 microsystem")
    assert page.locator("#status").inner_text() == "ready: project:ward7-falls"

    page.select_option("#scope", "programme:nsu-msc-qi")
    page.wait_for_function("document.body.dataset.scope === 'programme:nsu-msc-qi'", timeout=60_000)
    assert page.locator("#timeline-section").is_hidden()
    assert "Interprofessional learning" in page.locator("#gaps").inner_text()
    assert problems == []
