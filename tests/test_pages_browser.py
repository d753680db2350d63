"""The reviewer's and the author's pages, used as a person would: the real
``mrs-asp serve`` on a free loopback port, driven by Debian's headless
``/usr/bin/chromium`` through Playwright's Python API (no browser is ever
downloaded). Each test saves a screenshot under ``test-output/browser/``;
with ``MRS_ASP_DOCS_SCREENSHOTS=1`` the README's screenshots in ``docs/`` are
written again too.

Without the browser these tests fail, naming what to install: CI installs
it (``.ci/run``), and a silent skip would hide that the pages went untested.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).parents[1]
CASES = ROOT / "cases"
OUT = ROOT / "test-output" / "browser"
DOCS = ROOT / "docs"
CHROMIUM = Path(os.environ.get("MRS_ASP_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
WAIT = 15_000  # ms: a decision is milliseconds; the author's reports a few seconds once


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    db = tmp_path_factory.mktemp("pages") / "decisions.sqlite3"
    process = subprocess.Popen(
        [sys.executable, "-m", "mrs_asp.cli", "serve", "--port", str(port), "--db", str(db),
         "--no-auth", "--no-access-log", "--cases", str(CASES)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise AssertionError(f"mrs-asp serve exited: {process.stderr.read().decode()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("mrs-asp serve did not become ready")
        time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(30)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.is_file():
        pytest.fail(f"no browser at {CHROMIUM}: install Debian's chromium "
                    "(apt-get install -y chromium) to run the browser tests", pytrace=False)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=server)
    page = context.new_page()
    outside: list[str] = []
    # Offline: the pages may fetch nothing but this service.
    page.on("request", lambda r: outside.append(r.url)
            if not r.url.startswith((server, "data:")) else None)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_default_timeout(WAIT)
    yield page
    context.close()
    assert not outside, f"the page fetched from elsewhere: {outside}"
    assert not errors, f"JavaScript errors: {errors}"


def shot(page, name: str, docs: str | None = None, full_page: bool = True) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    path = OUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    if docs and os.environ.get("MRS_ASP_DOCS_SCREENSHOTS") == "1":
        DOCS.mkdir(exist_ok=True)
        shutil.copyfile(path, DOCS / docs)
    return path


def status_of(page, criterion: str) -> str:
    return page.locator(f'.node[data-id="{criterion}"] > .node-head > .status').inner_text()


def test_success_open_a_library_case_and_read_the_determination(page) -> None:
    page.goto("/")
    page.select_option("#library", "45-pacemaker-conditional-approved")
    page.get_by_role("button", name="Open").click()
    determination = page.locator("#determination")
    determination.wait_for()
    assert "Approved" in determination.inner_text()
    # Met and blocked in words, with the evidence; the permalink opens it again.
    assert status_of(page, "tumor_evaluation") == "met"
    assert status_of(page, "incompatible_device") == "blocked"
    page.locator('.node[data-id="incompatible_device"] > .node-head').click()
    highlighted = page.locator("#view .hl")
    assert highlighted.count() == 1
    assert highlighted.first.get_attribute("data-ptr") == "/implants/0/mr_status"
    assert "decision=" in page.url
    decision = page.locator("#record dd code").first.inner_text()
    shot(page, "reviewer-library-case", docs="reviewer.png", full_page=False)
    page.goto(f"/?decision={decision}")
    assert "Approved" in page.locator("#determination").inner_text()
    # On a narrow screen, one column.
    page.set_viewport_size({"width": 420, "height": 860})
    assert page.evaluate("document.documentElement.scrollWidth") <= 420  # nothing overflows
    shot(page, "reviewer-narrow")


def test_success_tick_a_missing_alternative_and_see_it_approved(page, server) -> None:
    page.goto("/?library=78-no-imaging-documented-denied")
    page.locator("#determination").wait_for()
    assert "Denied" in page.locator("#determination").inner_text()
    assert page.locator("#missing .required li").count() == 1  # the inconclusive MRI
    decision = page.locator("#record dd code").first.inner_text()
    # Keyboard: focus the first way and choose it with the space bar.
    page.locator("#alt-0").focus()
    page.keyboard.press("Space")
    page.locator("#whatif").wait_for(state="visible")
    assert "Approved" in page.locator("#determination").inner_text()
    assert page.locator("#view .added").count() >= 2
    assert status_of(page, "conventional_inconclusive") == "met"
    shot(page, "reviewer-what-if", docs="reviewer-what-if.png", full_page=False)
    # The what-if changed nothing recorded.
    record = httpx.get(f"{server}/v1/decisions/{decision}").json()
    assert record["answer"]["determination"] == "denied"
    assert "imaging" not in record["case"]
    page.locator("#whatif-reset").click()
    assert "Denied" in page.locator("#determination").inner_text()


def test_success_upload_a_pas_bundle_and_see_evidence_in_the_fhir_view(page) -> None:
    bundle = CASES / "fhir" / "11-pas-pacemaker-conditional-approved.json"
    page.goto("/")
    page.set_input_files("#upload", str(bundle))
    from playwright.sync_api import expect
    expect(page.locator("#view-h")).to_contain_text("FHIR input")
    assert "Approved" in page.locator("#determination").inner_text()
    assert status_of(page, "incompatible_device") == "blocked"
    page.locator('.node[data-id="incompatible_device"] > .node-head').click()
    highlighted = page.locator("#view .hl")
    assert highlighted.count() == 1
    # A pointer into the Bundle as given: the Device's MR-safety code.
    assert highlighted.first.get_attribute("data-ptr") == "/entry/8/resource/safety/0"
    assert "C106046" in highlighted.first.inner_text()
    assert "/entry/8/resource/safety/0" in page.locator("#view-note").inner_text()
    shot(page, "reviewer-pas-bundle", docs="reviewer-fhir.png", full_page=False)


def test_success_author_page_witness_opens_in_the_reviewers_page(page) -> None:
    page.goto("/author")
    # The diagram, labelled in words by coverage.
    box = page.locator("#c-glioma_grading")
    assert "holds" in box.inner_text() and "fails" in box.inner_text()
    assert page.locator(".dbox.covered").count() >= 10
    assert page.locator("#diff table.flips a.flip").count() >= 1
    shot(page, "author", docs="author.png", full_page=False)
    witness = page.locator("#check a.witness").first
    witness.scroll_into_view_if_needed()
    witness.click()
    page.wait_for_url("**/?decision=*")
    assert page.locator("#determination").inner_text().strip() != ""
    assert page.locator("#record dd code").first.inner_text()
    shot(page, "reviewer-from-witness")
