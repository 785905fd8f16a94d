"""The daily report in a real headless Chromium: every chart renders, offline, no errors."""

import os
from pathlib import Path

import pytest

from flows.report import write_report
from tests.flows.demo_lake import DAY, demo_lake

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason=f"{CHROMIUM} absent (Debian packages chromium, "
                                       "chromium-driver)")


@pytest.fixture(scope="module")
def report_file(tmp_path_factory):
    return Path(write_report(demo_lake(tmp_path_factory), DAY))


def test_every_chart_renders_offline_without_console_errors(report_file, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    problems, requests = [], []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, args=ARGS, headless=True,
            viewport={"width": 1280, "height": 900})
        try:
            page = browser.new_page()
            page.on("console", lambda m: m.type == "error" and problems.append(m.text))
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(report_file.as_uri(), wait_until="load")
            page.wait_for_function(
                "[...document.querySelectorAll('div.chart')].every("
                "c => c.querySelector('.plot-container svg.main-svg'))", timeout=60_000)
            charts = page.eval_on_selector_all(
                "div.chart", "els => els.map(e => [e.id, e.querySelectorAll("
                "'svg.main-svg .scatterlayer .trace, svg.main-svg .barlayer .trace').length])")
            card = page.inner_text("#recommendation")
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        finally:
            browser.close()
    assert [c for c, _ in charts] == ["term-structure", "vix-regime", "vvix-macd", "spx-rsi",
                                      "ad-line", "second-engine"]
    assert all(n > 0 for _, n in charts), charts  # every chart drew its traces
    assert "Iron condor" in card and "VIX call ladder" in card
    assert problems == []
    assert all(u.startswith(("file:", "data:", "blob:")) for u in requests), requests
    assert (tmp_path / "report.png").stat().st_size > 50_000
