"""Reports opened in a real headless Chromium: every chart drawn, no console error, nothing fetched."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import tiny
from tests.integration.cdp import Chromium, require_chromium
from tests.reportkit import RICH_CHARTS, pipeline_report, write_rich_report

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "browser"
# plotly charts that have drawn their SVG
# the tiny data's charts, in report order (legacy CUR, CUR 2.0 and FOCUS alike)
TINY_CHARTS = [
    "gp2 volumes to migrate to gp3",
    "Workload fingerprint by account",
    "Graviton candidates",
    "Untagged spend by account and service",
    "Tag coverage by key, account and service",
    "Costliest untagged resources",
    "Orphan candidates",
    "Spend by tag value",
    "Daily spend by service",
    "Monthly spend by account",
    "Spend by region",
    "Amortised vs unblended by purchase option",
    "Most expensive resources",
]
_DRAWN = "document.querySelectorAll('.js-plotly-plot .main-svg').length"
_CHARTS = "document.querySelectorAll('.js-plotly-plot').length"


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    """One headless Chromium with a fresh profile for the whole module."""
    chromium = Chromium(require_chromium())
    yield chromium
    chromium.close()


def _drawn_charts(browser: Chromium) -> int:
    # Plotly draws one or more svg.main-svg per chart; count charts with at least one
    return int(
        browser.evaluate(
            "[...document.querySelectorAll('.js-plotly-plot')]"
            ".filter(el => el.querySelector('svg.main-svg')).length"
        )
    )


def test_rich_report_draws_every_chart_without_errors_or_network(
    browser: Chromium, tmp_path: Path
) -> None:
    html = write_rich_report(tmp_path)
    page = browser.load(html.as_uri())
    assert page.errors == []
    assert page.dialogs == []
    # self-contained: the only request is the file itself
    assert [u for u in page.requests if not u.startswith(("file:", "data:", "about:"))] == []
    assert browser.evaluate(_CHARTS) == RICH_CHARTS
    assert _drawn_charts(browser) == RICH_CHARTS
    # every chart has a title a reader (and a screen reader, via the figure label) can find
    titles = browser.evaluate(
        "[...document.querySelectorAll('.js-plotly-plot .gtitle')].map(t => t.textContent)"
    )
    assert len(titles) == RICH_CHARTS and all(titles)
    browser.screenshot(OUTPUT / "rich-report.png")


@pytest.mark.parametrize("schema", ["cur", "cur2", "focus"])
def test_pipeline_report_for_each_schema_renders_cleanly(
    browser: Chromium, tmp_path: Path, schema: str
) -> None:
    source = tiny.write(schema, tmp_path / "data")
    html = pipeline_report(schema, source, tmp_path / "reports")
    # the same charts from every schema: each charted query the tiny data gives rows
    assert re.findall(r'<figure[^>]*aria-label="Chart: ([^"]*)"', html.read_text()) == TINY_CHARTS
    page = browser.load(html.as_uri())
    assert page.errors == []
    assert _drawn_charts(browser) == len(TINY_CHARTS)
    assert browser.evaluate("document.getElementById('metric-total-cost').textContent") == "$34.00"
    browser.screenshot(OUTPUT / f"pipeline-{schema}.png")


@pytest.mark.hostile
def test_hostile_values_stay_inert_in_the_browser(browser: Chromium, tmp_path: Path) -> None:
    html = write_rich_report(tmp_path, hostile=True)
    page = browser.load(html.as_uri())
    # no alert fired, no script broke out of Plotly's JSON, every chart still drew
    assert page.dialogs == []
    assert page.errors == []
    assert _drawn_charts(browser) == RICH_CHARTS
    # the only scripts are plotly.js and one per chart
    assert browser.evaluate("document.scripts.length") == 1 + RICH_CHARTS
    assert browser.evaluate("document.querySelectorAll('img').length") == 0
    body = browser.evaluate("document.body.innerText")
    assert "<script>alert(1)</script>" in body  # shown as text
    index = browser.load((tmp_path / "index.html").as_uri())
    assert index.dialogs == [] and index.errors == []
    browser.screenshot(OUTPUT / "hostile-report-index.png")
