"""A credit-netted, sub-dollar bill opened in real headless Chromium: cents on the axes, no -$0.00."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from finops_agent.catalog import load_catalog
from finops_agent.execution import QueryResult
from finops_agent.insights.query_rules import RuleInsights
from finops_agent.report.render import write_report
from finops_agent.summarise import Metrics, ReportSummary, summarise_query
from finops_agent.window import Window
from tests.integration.cdp import Chromium, require_chromium

pytestmark = pytest.mark.integration
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "browser"
WINDOW = Window(dt.date(2026, 10, 1), dt.date(2026, 10, 8))


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    """One headless Chromium with a fresh profile for the whole module."""
    chromium = Chromium(require_chromium())
    yield chromium
    chromium.close()


def _ok(name: str, frame: pd.DataFrame) -> QueryResult:
    spec = load_catalog().queries[name]
    return QueryResult(
        name,
        spec.family,
        spec.title,
        "ok",
        f"select 1 -- {name}",
        {"start_date": WINDOW.start, "end_date": WINDOW.end},
        frame=frame,
    )


def _sub_dollar_bill() -> tuple[ReportSummary, RuleInsights]:
    days = pd.date_range(WINDOW.start, periods=7, freq="D")
    daily = pd.DataFrame(
        {
            "usage_date": list(days) * 2,
            "service_code": ["AmazonS3"] * 7 + ["AWSLambda"] * 7,
            "service_name": ["Amazon Simple Storage Service"] * 7 + ["AWS Lambda"] * 7,
            # cents a day: a whole-dollar axis would read $0, $0, $0
            "usage_cost": [0.12, 0.18, 0.15, 0.2, 0.22, 0.19, 0.17] + [0.03] * 7,
        }
    )
    usage = float(daily["usage_cost"].sum())
    # a credit nets the bill to exactly zero
    daily["unblended_cost"] = daily["usage_cost"] - daily["usage_cost"]
    daily["amortized_cost"] = daily["unblended_cost"]
    bill = pd.DataFrame(
        {
            "currency": ["USD", "USD"],
            "charge_type": ["Usage", "Credit"],
            "line_items": [14, 1],
            "unblended_cost": [usage, -usage - 1e-9],
            "amortized_cost": [usage, -usage - 1e-9],
            "public_cost": [usage, 0.0],
        }
    )
    results = [_ok("spend_by_service_daily", daily), _ok("bill_waterfall", bill)]
    catalog = load_catalog().queries
    summary = ReportSummary(
        report_id="20261008T060000Z-c0ffee",
        generated_at="2026-10-08T06:00:00+00:00",
        window=WINDOW,
        schema="cur2",
        engine="duckdb",
        source="/data/cur2",
        families=["cost"],
        metrics=Metrics(
            rows=15,
            unblended_cost=-1e-9,
            amortized_cost=-1e-9,
            columns=24,
            analysis_type="cost",
            accounts=1,
            services=2,
            days=7,
        ),
        queries={r.name: summarise_query(catalog[r.name], r, 10) for r in results},
        results={r.name: r for r in results},
    )
    return summary, RuleInsights()


def test_a_sub_dollar_credit_netted_bill_reads_right_in_chromium(
    browser: Chromium, tmp_path: Path
) -> None:
    summary, rules = _sub_dollar_bill()
    html = write_report(tmp_path, summary, rules.generate(summary))
    page = browser.load(html.as_uri())
    assert page.errors == []
    ticks = browser.evaluate(
        "[...document.querySelectorAll('#chart-spend_by_service_daily .ytick text')]"
        ".map(t => t.textContent)"
    )
    assert len(ticks) >= 3
    # every money tick carries cents ($0.05, $0.10 …), not whole dollars ($0, $0, $0)
    assert all(re.fullmatch(r"\$\d+\.\d\d", t) for t in ticks), ticks
    assert len(set(ticks)) == len(ticks)
    text = browser.evaluate("document.body.innerText")
    assert "-$0.00" not in text and "−$0.00" not in text
    # the bill nets to zero yet still says where the usage went, with positive shares
    assert "Net total\t$0.00" in text or "Net total $0.00" in text
    assert (
        "The largest services by usage before credits were Amazon Simple Storage Service $1.23 (85.4%), AWS Lambda $0.21 (14.6%)."
        in text
    )
    browser.screenshot(OUTPUT / "sub-dollar-bill.png")
