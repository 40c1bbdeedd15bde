"""The curriculum designer's workbench in headless Chromium against a real server, offline.

A designer signs in (a wrong token and an unknown id are refused beside their fields), maps a
module onto an element and sees the matrix and its gap count change, is refused a mapping
whose justification SHACL rejects (the shape's message beside the field, nothing written),
and undoes the edit (the matrix is as before). Every request to anything but 127.0.0.1 is
blocked and recorded; none may be attempted. Debian's Chromium is driven by Python
playwright; the test fails, not skips, when it is missing (CI installs it).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .browsers import Browser, offline_browser
from .conftest import Server, start_server

#: Chromium's console lines for the refusals the test provokes on purpose.
EXPECTED = (
    "Failed to load resource: the server responded with a status of 401",
    "Failed to load resource: the server responded with a status of 422",
)
IPL = "https://w3id.org/cipd#InterprofessionalLearning"
BELONGING = "https://w3id.org/cipd#LearningAsBelonging"
MODULE = "ncu-measurement"


@pytest.fixture(scope="module")
def wb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from start_server(tmp_path_factory.mktemp("workbench-browser"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with offline_browser() as state:
        yield state


def matrix_version(page) -> int:
    return int(page.locator("#matrix").get_attribute("data-version") or "0")


def wait_for_matrix_after(page, version: int) -> None:
    page.wait_for_function(
        f"() => Number(document.querySelector('#matrix').dataset.version) > {version} "
        "&& document.body.dataset.state === 'ready'",
        timeout=30_000,
    )


def cell(page, element: str):
    return page.locator(f"tr[data-element='{element}'] td[data-module='{MODULE}'] button")


def gaps(page) -> int:
    return int(page.locator("#matrix").get_attribute("data-gaps") or "-1")


def module_mappings(server: Server) -> list[dict]:
    return httpx.get(f"{server.url}/modules/{MODULE}/mappings", timeout=30).json()


def test_sign_in_map_refuse_and_undo(wb_server: Server, browser: Browser) -> None:
    page = browser.page
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{wb_server.url}/workbench#programme=nsu-msc-qi&module={MODULE}")
    page.wait_for_selector("body[data-state='ready']", state="attached", timeout=60_000)
    assert page.input_value("#programme") == "nsu-msc-qi" and page.input_value("#module") == MODULE
    assert page.locator("#matrix tbody tr[data-element]").count() == 77
    before_gaps = gaps(page)
    assert before_gaps > 0 and str(before_gaps) == page.locator("#gap-count").inner_text()
    assert cell(page, IPL).inner_text() == "·"  # not mapped: a gap of the programme
    assert page.locator(f"tr[data-element='{IPL}'] .gap-badge").count() == 1
    assert page.locator("#save").is_disabled()  # nothing can be written before signing in

    # sign in: a wrong token, then an unknown id, each refused beside its field
    page.fill("#token", "wrong-token")
    page.fill("#person", "nsu-0401")
    page.click("#sign-in")
    page.wait_for_selector("#error-token:not(:empty)")
    assert "Bearer" in page.locator("#error-token").inner_text()
    page.fill("#token", wb_server.token)
    page.fill("#person", "nobody-here")
    page.click("#sign-in")
    page.wait_for_selector("#error-person:not(:empty)")
    assert "no person 'nobody-here'" in page.locator("#error-person").inner_text()
    page.fill("#person", "nsu-0401")
    page.click("#sign-in")
    page.wait_for_selector("#who:not([hidden])")
    assert page.locator("#who-id").inner_text() == "nsu-0401"
    # kept for the session (this tab), not in the page
    page.reload()
    page.wait_for_selector("body[data-state='ready']", state="attached", timeout=60_000)
    assert page.locator("#who").is_visible() and page.locator("#signin-section").is_hidden()
    assert wb_server.token not in page.content()

    # the element's definition and sources, and which partner projects evidence it
    cell(page, IPL).click()
    assert page.locator("#element-title").inner_text() == "Interprofessional learning"
    assert "professions" in page.locator("#element-definition").inner_text()
    assert page.locator("#element-sources li").count() >= 2
    assert page.locator("#element-evidence li strong").count() >= 1
    assert page.locator("#save").inner_text() == "Add mapping"

    # create a mapping: the matrix and its gaps update at once
    version = matrix_version(page)
    page.check("input[name=strength][value=strong]")
    page.fill("#justification", "Nurses, doctors and pharmacists read run charts together.")
    page.click("#save")
    wait_for_matrix_after(page, version)
    assert cell(page, IPL).inner_text() == "strong"
    assert gaps(page) == before_gaps - 1
    assert page.locator("#gap-count").inner_text() == str(before_gaps - 1)
    assert page.locator("#history li").first.inner_text().startswith("added IPL (strong)")
    assert int(page.locator("body").get_attribute("data-last-edit-ms") or "0") > 0
    mapped = module_mappings(wb_server)
    assert IPL in {m["element"]["iri"] for m in mapped}

    # a refused mapping: SHACL's message beside the field, nothing written
    version = matrix_version(page)
    page.locator(f"tr[data-element='{BELONGING}'] .element-name").click()
    page.check("input[name=strength][value=weak]")
    page.fill("#justification", "too short")
    page.click("#save")
    page.wait_for_selector("body[data-state='refused']", state="attached")
    message = page.locator("#error-justification")
    assert message.inner_text() == (
        "a mapping carries a justification of at least 15 characters saying why the module "
        "addresses the element"
    )
    assert "invalid" in (page.locator("#justification").get_attribute("class") or "")
    box = message.bounding_box()
    field_box = page.locator("#justification").bounding_box()
    assert box and field_box and 0 <= box["y"] - (field_box["y"] + field_box["height"]) < 40
    assert matrix_version(page) == version and cell(page, BELONGING).inner_text() == "·"
    assert module_mappings(wb_server) == mapped

    # undo: the matrix returns to what it was before the mapping
    version = matrix_version(page)
    page.click("#undo")
    wait_for_matrix_after(page, version)
    assert cell(page, IPL).inner_text() == "·"
    assert gaps(page) == before_gaps
    assert page.locator("#history li").first.inner_text().startswith("undid edit 1")
    assert "undone" in (page.locator("#history li").nth(1).get_attribute("class") or "")
    assert IPL not in {m["element"]["iri"] for m in module_mappings(wb_server)}

    assert browser.outside == []
    assert [p for p in browser.problems if not p.startswith(EXPECTED)] == []


def test_a_narrow_window_keeps_every_label_whole(wb_server: Server, browser: Browser) -> None:
    page = browser.page
    page.set_viewport_size({"width": 800, "height": 900})
    page.goto(f"{wb_server.url}/workbench#programme=nsu-msc-qi&module={MODULE}")
    page.wait_for_selector("body[data-state='ready']", state="attached", timeout=60_000)
    # element labels wrap rather than being cut, and the page itself never scrolls sideways
    cut = page.evaluate(
        "() => [...document.querySelectorAll('.element-name')]"
        ".filter(b => b.scrollWidth > b.clientWidth + 1).length"
    )
    assert cut == 0
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 800
    assert browser.outside == []


FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "interop" / "curriculum-inventory.xml"


def test_import_a_programme_then_export_its_map(wb_server: Server, browser: Browser) -> None:
    page = browser.page
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{wb_server.url}/workbench#programme=nsu-msc-qi")
    page.wait_for_selector("body[data-state='ready']", state="attached", timeout=60_000)
    if page.locator("#who").is_hidden():  # signed in by the first test in this tab
        page.fill("#token", wb_server.token)
        page.fill("#person", "nsu-0401")
        page.click("#sign-in")
        page.wait_for_selector("#who:not([hidden])")
    before = page.locator("#institution option").all_inner_texts()
    assert "Southmoor University Faculty of Health" not in before
    page.click("#import summary")
    page.select_option("#import-format", "curriculum-inventory")
    page.set_input_files("#import-file", str(FIXTURE))
    page.click("#import-button")
    page.wait_for_function(
        "() => document.querySelector('#import-result').textContent.startsWith('Imported')",
        timeout=60_000,
    )
    page.wait_for_selector("body[data-state='ready']", state="attached")
    assert (
        "Southmoor University Faculty of Health"
        in page.locator("#institution option").all_inner_texts()
    )
    page.select_option("#institution", label="Southmoor University Faculty of Health")
    page.wait_for_function(
        "() => document.querySelector('#programme').selectedOptions[0]?.textContent"
        ".startsWith('BSc Interprofessional')",
        timeout=30_000,
    )
    page.wait_for_selector("body[data-state='ready']", state="attached")
    assert page.locator("#matrix thead th.module-col").count() >= 1
    # the export link hands out the programme's map as a CASE package
    href = page.locator("#export-case").get_attribute("href") or ""
    assert href.startswith("/export/case?programme=")
    package = httpx.get(wb_server.url + href, timeout=60).json()
    assert package["CFDocument"]["title"].startswith("BSc Interprofessional")
    assert browser.outside == []
