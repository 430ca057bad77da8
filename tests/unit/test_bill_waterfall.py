"""The bill waterfall, stated bases, anomaly findings and money text on small hand-made results."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from finops_agent.insights.query_rules import RuleInsights
from finops_agent.orchestration.artifacts import summary_markdown
from finops_agent.waterfall import basis_of, line_for, waterfall_from_frame
from tests.unit.test_summarise_rules import _result, _summary


@pytest.mark.parametrize(
    ("charge_type", "line"),
    [
        ("Usage", "usage_on_demand"),
        ("SavingsPlanCoveredUsage", "usage_covered"),
        ("DiscountedUsage", "usage_covered"),
        ("SavingsPlanNegation", "commitment_offset"),
        ("RIFee", "commitment_fees"),
        ("SavingsPlanRecurringFee", "commitment_fees"),
        ("Fee", "upfront_purchases"),
        ("SavingsPlanUpfrontFee", "upfront_purchases"),
        ("Credit", "credits"),
        ("Refund", "refunds"),
        ("Tax", "tax"),
        ("EdpDiscount", "discounts"),
        ("BundledDiscount", "discounts"),
        ("PrivateRateDiscount", "discounts"),
        ("Discount", "discounts"),
        # a line item type AWS adds later still lands somewhere, so the lines still sum to net
        ("SomethingNew", "other"),
    ],
)
def test_each_charge_type_has_its_line(charge_type: str, line: str) -> None:
    assert line_for(charge_type) == line


def test_lines_sum_to_net_and_covered_usage_is_shown_at_on_demand_value() -> None:
    frame = pd.DataFrame(
        {
            "currency": ["USD"] * 7 + ["EUR"],
            "charge_type": [
                "Usage",
                "SavingsPlanCoveredUsage",
                "SavingsPlanNegation",
                "SavingsPlanRecurringFee",
                "Credit",
                "EdpDiscount",
                "Tax",
                "Usage",
            ],
            "unblended_cost": [100.0, 40.0, -40.0, 30.0, -20.0, -5.0, 12.5, 999.0],
            "amortized_cost": [100.0, 28.0, 0.0, 2.0, -20.0, -5.0, 12.5, 999.0],
            "public_cost": [100.0, 40.0, 0.0, 0.0, 0.0, 0.0, 12.5, 999.0],
        }
    )
    bill = waterfall_from_frame(frame)
    assert bill is not None
    # EUR is the larger currency here by absolute money: it is shown, USD is named, not added
    assert (bill.currency, bill.other_currencies) == ("EUR", ["USD"])
    usd_bill = waterfall_from_frame(frame[frame["currency"] == "USD"])
    assert usd_bill is not None
    assert {x.key: x.amount for x in usd_bill.lines} == {
        "usage_on_demand": 100.0,
        "usage_covered": 40.0,
        "commitment_offset": -40.0,
        "commitment_fees": 30.0,
        "upfront_purchases": 0.0,
        "credits": -20.0,
        "refunds": 0.0,
        "discounts": -5.0,
        "tax": 12.5,
        "other": 0.0,
    }
    assert usd_bill.net_total == 117.5
    assert usd_bill.amortized_total == 117.5
    assert usd_bill.usage_total == 140.0
    assert [x.key for x in usd_bill.shown()] == [
        "usage_on_demand",
        "usage_covered",
        "commitment_offset",
        "commitment_fees",
        "credits",
        "discounts",
        "tax",
    ]


@pytest.mark.parametrize(
    ("query", "column", "basis"),
    [
        ("spend_by_service_daily", "usage_cost", "usage"),
        ("daily_anomalies", "excess_cost", "usage"),
        ("spend_by_account_monthly", "unblended_cost", "net"),
        ("graviton_candidates", "amortized_cost", "amortized"),
        ("gp2_volumes", "monthly_savings", None),
        ("top_movers", "change_usd", "net"),
    ],
)
def test_every_money_section_states_its_basis(query: str, column: str, basis: str | None) -> None:
    assert basis_of(query, column) == basis


ANOMALIES = pd.DataFrame(
    {
        "usage_date": pd.to_datetime(["2026-10-18", "2026-10-19", "2026-10-20"]),
        "service_code": ["AWSLambda"] * 3,
        "service_name": ["AWS Lambda"] * 3,
        "usage_cost": [10_330.66, 1_000.0, 1_100.0],
        "baseline_cost": [1_033.07, 1_500.0, 1_400.0],
        "baseline_stddev": [0.0, 50.0, 60.0],
        "z_score": [None, -10.0, -5.0],
        # quiet days below baseline have negative excess: it must not shrink the total
        "excess_cost": [9_297.59, -500.0, -300.0],
        "severity": ["high", None, None],
        "is_anomaly": [True, False, False],
    }
)


def test_an_anomaly_becomes_a_finding_in_summary_artifact_and_total(tmp_path: Path) -> None:
    summary = _summary([_result("daily_anomalies", ANOMALIES)])
    insights = RuleInsights().generate(summary)
    (finding,) = [f for f in insights.findings if f.query == "daily_anomalies"]
    assert finding.title == "Cost anomaly: AWS Lambda on 2026-10-18, $9,297.59 above baseline"
    assert finding.evidence == (
        "AWS Lambda cost $10,330.66 on 2026-10-18 against a trailing 14-day baseline of "
        "$1,033.07 a day: $9,297.59 excess (a jump off a flat baseline, severity high; "
        "usage before credits)."
    )
    # the executive summary leads with it, before any savings sentence
    markdown = insights.markdown
    assert "**1 cost anomaly** in daily usage:" in markdown
    assert markdown.index("cost anomaly") < markdown.index("No savings opportunity")
    assert f"- {finding.evidence}" in markdown
    assert summary.queries["daily_anomalies"].total == pytest.approx(9_297.59)
    artifact = summary_markdown(summary, insights, tmp_path / "report.html")
    assert "## Anomalies" in artifact and "$9,297.59 excess" in artifact


@pytest.mark.parametrize(
    ("start", "end", "previous"),
    [
        # last full month + month to date: the same shape two months earlier, from the 1st
        ("2026-10-01", "2026-11-24", ("2026-08-01", "2026-09-24")),
        # one whole month: the whole month before
        ("2026-10-01", "2026-11-01", ("2026-09-01", "2026-10-01")),
        # month to date on the 2nd: the first day of the month before
        ("2026-11-01", "2026-11-02", ("2026-10-01", "2026-10-02")),
        # a window not starting on a 1st: equal length just before
        ("2026-10-15", "2026-12-02", ("2026-08-28", "2026-10-15")),
    ],
)
def test_the_previous_period_starts_on_its_first_day(
    start: str, end: str, previous: tuple[str, str]
) -> None:
    import datetime as dt

    from finops_agent.window import Window

    before = Window(dt.date.fromisoformat(start), dt.date.fromisoformat(end)).previous()
    assert (before.start.isoformat(), before.end.isoformat()) == previous


ARN = "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/checkout-frontend-prod/50dc6c495c0c9188"


def test_charts_read_right_on_real_data() -> None:
    from finops_agent.catalog import ChartHint
    from finops_agent.report.charts import ColourMap, figure_for, month_label, short_id

    assert month_label(pd.Timestamp("2026-11-01")) == "2026-11"
    assert month_label("2026-11-01 00:00:00") == "2026-11"
    assert month_label("2026-11-15") == "2026-11-15"
    assert month_label("prod") == "prod"
    assert short_id(ARN) == "50dc6c495c0c9188"
    assert short_id("i-0abc") == "i-0abc"

    # a long ARN is shortened on the axis; the hover (x) keeps the full id
    resources = pd.DataFrame({"resource_id": [ARN, "vol-1"], "amortized_cost": [2.5, 1.25]})
    hint = ChartHint("bar", x="resource_id", y="amortized_cost")
    fig = figure_for(resources, hint, "Top", {"amortized_cost": "USD"}, ColourMap())
    assert fig is not None
    assert list(fig.layout.xaxis.ticktext) == ["50dc6c495c0c9188", "vol-1"]
    assert list(fig.data[0].x) == [ARN, "vol-1"]
    # under $10 the money axis shows cents
    assert fig.layout.yaxis.tickformat == ",.2f"

    # coverage percentages per tag key side by side, months as 2026-10
    coverage = pd.DataFrame(
        {
            "service_code": ["AmazonEC2", "AmazonEC2"],
            "tag_key": ["owner", "project"],
            "cost_coverage_pct": [80.0, 60.0],
        }
    )
    hint = ChartHint("bar", x="service_code", y="cost_coverage_pct", color="tag_key")
    fig = figure_for(coverage, hint, "Coverage", {"cost_coverage_pct": "%"}, ColourMap())
    assert fig is not None and fig.layout.barmode == "group"
    monthly = pd.DataFrame(
        {
            "account_name": ["prod", "prod"],
            "billing_period": pd.to_datetime(["2026-10-01", "2026-11-01"]),
            "unblended_cost": [1200.0, 1300.0],
        }
    )
    hint = ChartHint("bar", x="account_name", y="unblended_cost", color="billing_period")
    fig = figure_for(monthly, hint, "Accounts", {"unblended_cost": "USD"}, ColourMap())
    assert fig is not None and [t.name for t in fig.data] == ["2026-10", "2026-11"]
    assert fig.layout.barmode == "stack" and fig.layout.yaxis.tickformat == ",.0f"

    # a pie of a credit-netted split is drawn as bars instead
    split = pd.DataFrame({"service_name": ["EC2", "Credits"], "unblended_cost": [50.0, -50.0]})
    hint = ChartHint("pie", x="service_name", y="unblended_cost")
    fig = figure_for(split, hint, "Split", {"unblended_cost": "USD"}, ColourMap())
    assert fig is not None and fig.data[0].type == "bar"


@pytest.mark.parametrize(
    ("start", "end", "text"),
    [
        ("2026-10-01", "2026-11-01", "2026-10"),
        ("2026-09-01", "2026-11-01", "2026-09 to 2026-10"),
        ("2026-10-01", "2026-11-24", "2026-10-01 to 2026-11-23"),
        ("2026-11-01", "2026-11-02", "2026-11-01 to 2026-11-01"),
    ],
)
def test_one_period_text_for_header_index_email_and_artifact(
    start: str, end: str, text: str
) -> None:
    import datetime as dt

    from finops_agent.report.email import period_label
    from finops_agent.reports.document import ReportWindow
    from finops_agent.window import Window

    first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    assert Window(first, last).period == text
    assert ReportWindow(start=first, end=last).period == text
    assert period_label(first, last) == text


def test_the_header_says_when_data_covers_less_than_the_window(tmp_path: Path) -> None:
    # the window asks for October; the export holds its first two days only
    short = pd.DataFrame(
        {
            "rows": [10],
            "days": [2],
            "first_day": pd.to_datetime(["2026-10-01"]),
            "last_day": pd.to_datetime(["2026-10-02"]),
            "unblended_cost": [10.0],
            "amortized_cost": [10.0],
        }
    )
    summary = _summary([_result("window_totals", short)])
    assert summary.coverage == "2026-10-01 to 2026-10-02"
    insights = RuleInsights().generate(summary)
    artifact = summary_markdown(summary, insights, tmp_path / "report.html")
    assert "**Period:** 2026-10 (data covers 2026-10-01 to 2026-10-02)" in artifact
    whole = short.assign(last_day=pd.to_datetime(["2026-10-31"]))
    assert _summary([_result("window_totals", whole)]).coverage is None


def test_the_graviton_finding_counts_and_lists_instances_not_groups() -> None:
    groups = pd.DataFrame(
        {
            "account_id": ["1", "2"],
            "region": ["us-east-1", "eu-west-1"],
            "instance_type": ["m5.large", "c5.xlarge"],
            "graviton_family": ["m7g", "c7g"],
            "instances": [2, 1],
            "resource_ids": ["i-0a, i-0b", "i-0c"],
            "hours": [1440.0, 720.0],
            "amortized_cost": [138.24, 122.4],
            "monthly_cost": [138.24, 122.4],
            "monthly_savings": [27.65, 24.48],
        }
    )
    summary = _summary([_result("graviton_candidates", groups)])
    (finding,) = RuleInsights().generate(summary).findings
    assert finding.title == "Consider Graviton for 3 x86 instances"
    assert finding.resource_ids == ["i-0a", "i-0b", "i-0c"]
