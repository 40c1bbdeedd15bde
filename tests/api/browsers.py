"""Debian's Chromium, headless, for the browser tests: every request that leaves 127.0.0.1 is
refused and recorded, and the page's console errors are kept for the test to check.

Driven by Python playwright (never `playwright install`); a test fails, not skips, when
Chromium is missing (CI installs it).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

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


@dataclass
class Browser:
    """A page, the addresses outside 127.0.0.1 it tried, and its console errors."""

    page: object
    outside: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@contextmanager
def offline_browser(*, accept_downloads: bool = False) -> Iterator[Browser]:
    """A fresh profile and page whose every request outside 127.0.0.1 is aborted."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "chromium is not installed: apt-get install -y chromium"
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=ARGS,
            accept_downloads=accept_downloads,
        )
        state = Browser(context.new_page())

        def guard(route) -> None:
            if urlsplit(route.request.url).hostname == "127.0.0.1":
                route.continue_()
            else:
                state.outside.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        page = state.page
        page.on("console", lambda m: state.problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: state.problems.append(str(e)))
        try:
            yield state
        finally:
            context.close()
