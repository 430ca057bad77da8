"""The HTML report is self-contained, shows failures, and renders hostile data inert."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from finops_agent.insights.query_rules import RuleInsights
from finops_agent.report.email import compose_email
from finops_agent.report.render import markdown_html, write_report
from tests.unit.test_summarise_rules import GP2, _result, _summary

HOSTILE = "<script>alert(1)</script>"


@pytest.mark.hostile
def test_markdown_is_sanitised() -> None:
    html = str(
        markdown_html(f"**bold** {HOSTILE} <img src=x onerror=alert(1)> [x](javascript:alert(1))")
    )
    assert "<strong>bold</strong>" in html
    # hostile markup survives only as text: no live tag, no live link
    assert "<script>" not in html and "<img" not in html and 'href="javascript' not in html
    assert "&lt;script&gt;" in html


@pytest.mark.hostile
def test_report_is_written_with_json_sidecar_index_and_inert_hostile_values(tmp_path: Path) -> None:
    hostile = GP2.assign(resource_id=[HOSTILE, "vol-b", "vol-c"])
    daily = pd.DataFrame(
        {
            "usage_date": pd.to_datetime(["2026-10-01", "2026-10-02"]),
            "service_code": ["AmazonEC2"] * 2,
            "service_name": [HOSTILE, HOSTILE],
            "usage_cost": [1.0, 2.0],
            "unblended_cost": [1.0, 2.0],
            "amortized_cost": [1.0, 2.0],
        }
    )
    summary = _summary(
        [
            _result("gp2_volumes", hostile),
            _result("spend_by_service_daily", daily),
            _result("spend_by_account_monthly", pd.DataFrame(), "failed"),
        ]
    )
    insights = RuleInsights().generate(summary)
    path = write_report(tmp_path, summary, insights)
    html = path.read_text()
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # plotly.js is inlined exactly once, one chart div per charted query
    assert html.count("* plotly.js v") == 1
    assert html.count('id="chart-') == 2
    assert "This section failed: boom" in html
    assert "$1,000.00" in html
    data = json.loads((path.parent / "report.json").read_text())
    assert data["report_id"] == "r1" and data["totals"]["unblended_cost"] == 1000.0
    assert data["queries"]["spend_by_account_monthly"] == {
        **data["queries"]["spend_by_account_monthly"],
        "status": "failed",
        "error": "boom",
    }
    assert data["findings"][0]["resource_ids"][0] == HOSTILE
    index = (tmp_path / "index.html").read_text()
    assert "r1/report.html" in index
    assert not list(tmp_path.rglob(".report*"))  # no temporary files left behind


def test_a_bill_netted_to_zero_by_credits_prints_no_negative_zero_or_wild_percentages(
    tmp_path: Path,
) -> None:
    # usage of $12.30 on load balancers, offset by a credit of $12.304: the net rounds to zero
    daily = pd.DataFrame(
        {
            "usage_date": pd.to_datetime(["2026-10-01", "2026-10-01"]),
            "service_code": ["AWSELB", "Credits"],
            "service_name": ["Elastic Load Balancing", "Credits"],
            # usage before credits: the credit line carries no usage
            "usage_cost": [12.30, 0.0],
            "unblended_cost": [12.30, -12.304],
            "amortized_cost": [12.30, -12.304],
        }
    )
    summary = _summary([_result("spend_by_service_daily", daily), _result("gp2_volumes", GP2)])
    summary.metrics.unblended_cost = -0.004
    summary.metrics.amortized_cost = -0.004
    summary.metrics.previous_unblended_cost = 0.0  # nothing the period before
    insights = RuleInsights().generate(summary)
    path = write_report(tmp_path, summary, insights)
    html = path.read_text()
    email = compose_email(
        path.parent,
        sender="finops@example.com",
        recipients=["team@example.com"],
        max_bytes=20_000_000,
        with_images=False,
    ).message
    text_part = email.get_body(("plain",))
    html_part = email.get_body(("html",))
    assert text_part is not None and html_part is not None
    text, email_html = text_part.get_content(), html_part.get_content()
    for page in (html, text, email_html, insights.markdown):
        assert "-$0.00" not in page
    # the headline is the net in dollars; no share of a total that rounds to zero
    assert "were billed **$0.00** net (**$0.00** amortised)" in insights.markdown
    # shares and rankings on usage before credits: positive, and where the usage went
    assert (
        "The largest services by usage before credits were Elastic Load Balancing $12.30 (100.0%)."
        in insights.markdown
    )
    assert str(email["Subject"]) == "AWS cost report 2026-10: $0.00"
    assert "Change vs previous period:  n/a" in text
    # the report reads the finding's savings assumption from the catalog
    assert (
        "<strong>How savings are estimated:</strong> gp2 storage cost scaled to a month x "
        "gp3_saving_share"
    ) in html


def test_the_email_shows_the_month_to_date_section_in_both_parts(tmp_path: Path) -> None:
    import datetime as dt

    from finops_agent.comparison import MONTH_TO_DATE_SPEC, apply_month_to_date
    from finops_agent.execution import QueryResult

    # the month-to-date statement's rows as the comparison shapes them (values chosen by hand)
    mtd = pd.DataFrame(
        {
            "period": [
                "Month to date",
                "Same days of the month before",
                "Month at this run rate (10 of 31 days)",
            ],
            "first_day": [dt.date(2026, 10, 1), dt.date(2026, 9, 1), dt.date(2026, 10, 1)],
            "last_day": [dt.date(2026, 10, 10), dt.date(2026, 9, 10), dt.date(2026, 10, 31)],
            "days": [10, 10, 31],
            "usage_cost": [1200.0, 1000.0, 3720.0],
            "unblended_cost": [1100.0, 1000.0, 3410.0],
            "change_pct": [10.0, None, None],
        }
    )
    summary = _summary([_result("gp2_volumes", GP2)])
    apply_month_to_date(
        summary,
        QueryResult(
            MONTH_TO_DATE_SPEC.name,
            MONTH_TO_DATE_SPEC.family,
            MONTH_TO_DATE_SPEC.title,
            "ok",
            "select 1",
            {},
            frame=mtd,
        ),
        10,
    )
    path = write_report(tmp_path, summary, RuleInsights().generate(summary))
    email = compose_email(
        path.parent,
        sender="finops@example.com",
        recipients=["team@example.com"],
        max_bytes=20_000_000,
        with_images=False,
    ).message
    text_part, html_part = email.get_body(("plain",)), email.get_body(("html",))
    assert text_part is not None and html_part is not None
    text, html = text_part.get_content(), html_part.get_content()
    lines = [line.split() for line in text.splitlines()]
    assert [
        "Month",
        "to",
        "date",
        "2026-10-01",
        "to",
        "2026-10-10",
        "$1,200.00",
        "$1,100.00",
        "+10.0%",
    ] in lines
    assert [
        "Same",
        "days",
        "of",
        "the",
        "month",
        "before",
        "2026-09-01",
        "to",
        "2026-09-10",
        "$1,000.00",
        "$1,000.00",
    ] in lines
    assert "MONTH TO DATE (USD;" in text
    section = html.split('id="month-to-date"', 1)[1].split("</table>", 1)[0]
    assert "Month at this run rate (10 of 31 days)" in section
    assert ">$3,720.00<" in section and ">$3,410.00<" in section and ">+10.0%<" in section
