"""The HTML report in a real headless Chromium, and the PDF rendered to pages.

Chromium is Debian's package (CI installs it); Playwright drives it through
``executable_path`` and never downloads a browser of its own. Screenshots and
page images are kept under ``$CXAUDIT_TEST_ARTIFACTS`` (default
``test-artifacts/``) for people to look at.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from cxaudit.demo import build_demo
from cxaudit.render import render, write_reports
from cxaudit.result import AuditResult
from cxaudit.runner import AuditInputs, audit

ARTIFACTS = Path(os.environ.get("CXAUDIT_TEST_ARTIFACTS", "test-artifacts"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
IN_CI = os.environ.get("CI") == "true"
WIDTH, HEIGHT = 1280, 900
MAX_HEIGHT_PX = 12_000
MAX_BYTES = 1_000_000
CONCERNS = ("Data quality", "Consent & privacy", "Fairness", "Explainability", "Governance")


def _need(tool: str | None, name: str) -> None:
    if tool is None:
        if IN_CI:
            pytest.fail(f"{name} is missing in CI: .ci/run installs it")
        pytest.skip(f"{name} is not installed (apt-get install {name})")


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    files = build_demo(out)
    result = audit(AuditInputs(policy=str(files.policy), data=str(files.data),
                               model=str(files.model), consent=str(files.consent),
                               reference=str(files.reference), trust_model=True))
    write_reports(result, out, ["json", "html", "md", "pdf"])
    return out, result


@pytest.fixture(scope="module")
def browser():
    _need(CHROMIUM, "chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            yield chromium
        finally:
            chromium.close()


def _open(browser, path: Path, requested: list[str] | None = None):
    page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    if requested is not None:
        page.on("request", lambda request: requested.append(request.url))
    page.goto(path.resolve().as_uri())
    page.wait_for_load_state("load")
    return page


def _in_first_viewport(page, selector: str) -> bool:
    box = page.locator(selector).first.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= HEIGHT


def test_first_viewport_holds_verdict_counts_and_every_concern(report_dir, browser):
    out, result = report_dir
    requested: list[str] = []
    page = _open(browser, out / "audit.html", requested)
    try:
        verdict = page.locator("#verdict h1").inner_text()
        expected = {"fail": "Blocked", "error": "Error", "warn": "Pass with", "pass": "Pass"}
        assert expected[result.verdict.value] in verdict
        assert _in_first_viewport(page, "#verdict")
        assert _in_first_viewport(page, "#counts")
        counts = page.locator("#counts").inner_text()
        for label in ("Checks", "Passed", "Blocking failures", "Warnings", "Inconclusive",
                      "Errors", "Not applicable", "Waived"):
            assert label in counts
        cards = page.locator("#scorecard .card")
        assert cards.count() == len(CONCERNS)
        for i, concern in enumerate(CONCERNS):
            card = cards.nth(i)
            box = card.bounding_box()
            assert box and box["y"] + box["height"] <= HEIGHT, concern
            text = card.inner_text()
            assert concern in text
            # Status in a word and a glyph, never colour alone.
            assert any(g in text for g in "✔✖▲?⁈ℹ⊘–•"), text
            target = card.get_attribute("href")
            assert target and page.locator(target).count() == 1
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "audit-first-screen.png"))
    finally:
        page.close()
    assert requested == [(out / "audit.html").resolve().as_uri()], requested


def test_page_height_and_size_within_budget(report_dir, browser):
    out, _ = report_dir
    size = (out / "audit.html").stat().st_size
    assert size <= MAX_BYTES, size
    page = _open(browser, out / "audit.html")
    try:
        height = page.evaluate("document.documentElement.scrollHeight")
        assert height <= MAX_HEIGHT_PX, height
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "audit-html.png"), full_page=True)
        (ARTIFACTS / "audit-html-measure.json").write_text(
            json.dumps({"height_px": height, "bytes": size, "width_px": WIDTH}) + "\n")
    finally:
        page.close()


def test_no_chart_is_drawn_twice(report_dir, browser):
    out, result = report_dir
    page = _open(browser, out / "audit.html")
    try:
        charts = page.locator("svg.chart")
        keys = [charts.nth(i).get_attribute("data-chart") for i in range(charts.count())]
        bodies = [charts.nth(i).evaluate("e => e.outerHTML") for i in range(charts.count())]
        assert len(keys) == len(set(keys)), keys
        assert len(bodies) == len(set(bodies))
        attribute_sets = {tuple(r["attributes"]) for c in result.checks
                          for r in c.details.get("comparisons") or []}
        assert page.locator("svg.ratio-chart").count() == len(attribute_sets)
        assert page.locator("svg.importance-chart").count() == 1
        for i in range(charts.count()):
            chart = charts.nth(i)
            assert chart.locator("title").count() >= 1  # a text alternative
            box = chart.bounding_box()
            assert box and box["width"] > 300 and box["height"] > 40
        # Every bias check links to the cells of the shared block instead of redrawing it.
        bias = [c for c in result.checks if c.details.get("comparisons")
                and c.status.value == "fail"]
        for check in bias:
            links = page.locator(f"#check-{check.id} a[href^='#cell-']")
            assert links.count() >= 1, check.id
            assert page.locator(links.first.get_attribute("href")).count() == 1
    finally:
        page.close()


def _with_small_group(result: AuditResult) -> AuditResult:
    """The demo's audit with one group too small to judge in every bias check."""
    data = json.loads(result.to_json())
    for check in data["checks"]:
        for row in check["details"].get("comparisons") or []:
            if row["label"] == "gender=Female, SeniorCitizen=1":
                row.update(state="insufficient", status="insufficient_data", n=7,
                           why="fewer than 30 rows", comparison=None, comparison_ci=None)
    return AuditResult.model_validate(data)


def test_small_groups_are_never_drawn_as_bars(report_dir, browser, tmp_path):
    out, result = report_dir
    small = _with_small_group(result)
    path = tmp_path / "small.html"
    path.write_text(render(small, "html"))
    page = _open(browser, path)
    try:
        chart = page.locator("#fair-gender-seniorcitizen svg.ratio-chart")
        text = chart.inner_html()
        assert "insufficient data (n=7)" in text
        marks = chart.locator("circle.mark")
        titles = [marks.nth(i).locator("title").text_content() or "" for i in range(marks.count())]
        assert titles and not any("gender=Female, SeniorCitizen=1" in t for t in titles)
        assert chart.locator("rect.bar").count() == 0
        cell = page.locator("#fair-gender-seniorcitizen table.nyc td.ins")
        assert cell.count() >= 1 and "insufficient data (n=7)" in cell.first.inner_text()
    finally:
        page.close()


def test_failures_only_toggle_hides_passing_checks(report_dir, browser):
    out, result = report_dir
    page = _open(browser, out / "audit.html")
    try:
        passed = [c for c in result.checks if c.status.value == "pass"]
        failed = [c for c in result.checks if c.status.value == "fail"]
        assert page.locator(f"#check-{passed[0].id}").is_visible()
        page.locator("label[for=only-failures]").click()
        assert page.locator("#only-failures").is_checked()
        for check in passed:
            assert not page.locator(f"#check-{check.id}").is_visible(), check.id
        for check in failed:
            assert page.locator(f"#check-{check.id}").is_visible(), check.id
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "audit-failures-only.png"), full_page=True)
        page.locator("label[for=only-failures]").click()
        assert page.locator(f"#check-{passed[0].id}").is_visible()
    finally:
        page.close()


def test_pdf_first_page_shows_verdict_and_scorecard(report_dir):
    pdftoppm = shutil.which("pdftoppm")
    _need(pdftoppm, "poppler-utils")
    out, result = report_dir
    pdf = out / "audit.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("audit-pdf-*.png"):
        old.unlink()
    prefix = ARTIFACTS / "audit-pdf"
    subprocess.run([pdftoppm, "-r", "60", "-png", str(pdf), str(prefix)], check=True)
    pages = sorted(ARTIFACTS.glob("audit-pdf-*.png"))
    assert len(pages) >= 2
    from PIL import Image

    with Image.open(pages[0]) as image:
        grey = image.convert("L")
        dark = sum(grey.histogram()[:200])
        assert dark > 0.01 * grey.width * grey.height, "page 1 is blank"
    first = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"],
                           capture_output=True, text=True, check=True).stdout
    first = " ".join(first.split())  # card titles wrap in print
    words = {"fail": "Blocked", "error": "Error", "warn": "Pass with", "pass": "Pass"}
    assert words[result.verdict.value] in first
    for concern in CONCERNS:
        assert concern in first, concern
    assert "Blocking failures" in first
    everything = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                                check=True).stdout
    for check in result.checks:
        assert check.id in everything  # print expands every folded check


def test_markdown_is_first_screen_and_findings_table(report_dir):
    out, result = report_dir
    text = (out / "audit.md").read_text()
    assert len(text) < 65_536  # fits a pull-request comment
    for concern in CONCERNS:
        assert concern in text
    assert "| Status | Check | Concern | Observed vs threshold | Summary |" in text
    for check in result.checks:
        if check.status.value != "pass":
            assert f"`{check.id}`" in text
