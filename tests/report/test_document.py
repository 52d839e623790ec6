"""The HTML report in a real headless Chromium, and the PDF rendered to pages.

Chromium is Debian's package (CI installs it); Playwright drives it through
``executable_path`` and never downloads a browser of its own. Screenshots and
page images are kept under ``$CXAUDIT_TEST_ARTIFACTS`` (default
``test-artifacts/``) for people to look at.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from cxaudit.demo import build_demo
from cxaudit.render import write_reports
from cxaudit.runner import AuditInputs, audit

ARTIFACTS = Path(os.environ.get("CXAUDIT_TEST_ARTIFACTS", "test-artifacts"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
IN_CI = os.environ.get("CI") == "true"


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
    write_reports(result, out, ["json", "html", "pdf"])
    return out, result


def test_html_renders_verdict_checks_and_charts_offline(report_dir):
    _need(CHROMIUM, "chromium")
    from playwright.sync_api import sync_playwright

    out, result = report_dir
    page_url = (out / "audit.html").resolve().as_uri()
    requested: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.on("request", lambda request: requested.append(request.url))
            page.goto(page_url)
            page.wait_for_load_state("load")
            verdict = page.locator("#verdict h1")
            assert verdict.inner_text().strip() == f"Verdict: {result.verdict.value.upper()}"
            assert verdict.is_visible()
            box = verdict.bounding_box()
            assert box is not None and box["y"] < 200  # the verdict comes first
            for check in result.checks:
                section = page.locator(f"section#check-{check.id}")
                assert section.is_visible(), check.id
                assert check.status.value.replace("_", " ") in section.inner_text().lower()
            charts = page.locator("svg.chart")
            assert charts.count() >= 2
            for index in range(charts.count()):
                chart = charts.nth(index)
                size = chart.bounding_box()
                assert size and size["width"] > 300 and size["height"] > 40
                assert chart.locator("rect.bar").count() >= 2
            assert page.locator("svg.chart line.threshold").count() >= 1
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "audit-html.png"), full_page=True)
        finally:
            browser.close()
    assert requested == [page_url], f"the report requested {requested}"


def test_pdf_pages_render_with_content(report_dir):
    pdftoppm = shutil.which("pdftoppm")
    _need(pdftoppm, "poppler-utils")
    out, result = report_dir
    pdf = out / "audit.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    prefix = ARTIFACTS / "audit-pdf"
    subprocess.run([pdftoppm, "-r", "40", "-png", str(pdf), str(prefix)], check=True)
    pages = sorted(ARTIFACTS.glob("audit-pdf-*.png"))
    assert len(pages) >= 2
    from PIL import Image

    for page in pages:
        with Image.open(page) as image:
            grey = image.convert("L")
            dark = sum(grey.histogram()[:200])
            assert dark > 0.01 * grey.width * grey.height, f"{page.name} is blank"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert f"Verdict: {result.verdict.value.upper()}" in text
    for check in result.checks:
        assert check.id in text
