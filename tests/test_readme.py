"""The README is a short start (issue 22): under 1,500 words, the two commands first, one
screenshot, and links that resolve; the reference lives in the docs site (docs/)."""

from __future__ import annotations

import re

from .conftest import ROOT

README = ROOT / "README.md"
#: Markdown links and images: ``[text](target)`` / ``![alt](target)``
LINK = re.compile(r"(!?)\[[^\]]*\]\(([^)\s]+)\)")


def test_the_readme_is_under_1500_words():
    words = len(README.read_text("utf-8").split())  # as `wc -w` counts, code blocks included
    assert 300 < words < 1500, words


def test_the_readme_opens_with_the_two_commands():
    text = README.read_text("utf-8")
    title, rest = text.split("\n", 1)
    assert title.startswith("# ")
    assert rest.lstrip("\n").startswith("```"), "the first thing after the title is a code block"
    block = rest.lstrip("\n").split("```")[1]
    commands = [line.split("#")[0].strip() for line in block.splitlines()[1:] if line.strip()]
    assert commands == ["make demo", "make test"]


def test_the_readme_embeds_an_existing_screenshot():
    images = [target for bang, target in LINK.findall(README.read_text("utf-8")) if bang]
    shots = [t for t in images if t.startswith("docs/screenshots/") and t.endswith(".png")]
    assert shots, "no screenshot embedded"
    for shot in shots:
        assert (ROOT / shot).is_file(), shot


def test_every_relative_link_of_the_readme_resolves():
    targets = [target for _, target in LINK.findall(README.read_text("utf-8"))]
    relative = [t for t in targets if not re.match(r"^[a-z]+:", t) and not t.startswith("#")]
    assert len(relative) >= 10
    missing = [t for t in relative if not (ROOT / t.split("#")[0]).is_file()]
    assert missing == []
