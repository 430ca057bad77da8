"""The bill waterfall, stated bases, anomaly findings and money text on small hand-made results."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from finops_agent.formatting import money, percent_change, share
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
    ("value", "text"),
    [
        (-0.001, "$0.00"),
        (-0.004999, "$0.00"),
        (0.0, "$0.00"),
        (-12.0, "-$12.00"),
        (1234567.891, "$1,234,567.89"),
        (None, "n/a"),
    ],
)
def test_money_never_prints_minus_zero(value: float | None, text: str) -> None:
    assert money(value) == text


def test_percentages_are_never_taken_of_a_total_near_zero() -> None:
    assert percent_change(110.0, 100.0) == "+10.0%"
    assert percent_change(90.0, -100.0) == "+190.0%"
    assert percent_change(5.0, 0.001) == "n/a"
    assert percent_change(5.0, None) == "n/a"
    assert share(25.0, 200.0) == "12.5%"
    assert share(25.0, 0.0) == "n/a"
    assert share(25.0, -10.0) == "n/a"


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
