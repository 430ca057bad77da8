"""Summaries are pure pandas; the rule engine prices findings from them."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from finops_agent.catalog import load_catalog
from finops_agent.execution import QueryResult
from finops_agent.insights.query_rules import RuleInsights
from finops_agent.summarise import (
    Metrics,
    ReportSummary,
    json_value,
    shares,
    summarise_query,
    top_by,
)
from finops_agent.window import Window


def test_shares_add_to_100_and_survive_zero_totals() -> None:
    assert shares(pd.Series([1.0, 3.0])).tolist() == [25.0, 75.0]
    assert shares(pd.Series([0.0, 0.0])).tolist() == [0.0, 0.0]


def test_top_by_ranks_on_absolute_value() -> None:
    frame = pd.DataFrame({"name": ["a", "b", "c"], "change": [5.0, -50.0, 10.0]})
    assert top_by(frame, "change", 2)["name"].tolist() == ["b", "c"]


def test_json_values_are_plain() -> None:
    assert json_value(float("nan")) is None
    assert json_value(pd.Timestamp("2026-10-01")) == "2026-10-01"
    assert json_value(pd.Timestamp("2026-10-01 14:00")) == "2026-10-01 14:00:00"
    assert json_value(dt.date(2026, 10, 1)) == "2026-10-01"


def _result(name: str, frame: pd.DataFrame, status: str = "ok") -> QueryResult:
    spec = load_catalog().queries[name]
    return QueryResult(
        name,
        spec.family,
        spec.title,
        status,
        "select 1",
        {},
        frame=frame,  # type: ignore[arg-type]
        error=None if status == "ok" else "boom",
    )


def _summary(results: list[QueryResult]) -> ReportSummary:
    catalog = load_catalog()
    return ReportSummary(
        report_id="r1",
        generated_at="2026-11-24T00:00:00+00:00",
        window=Window(dt.date(2026, 10, 1), dt.date(2026, 11, 1)),
        schema="cur2",
        engine="duckdb",
        source="x",
        families=["architecture", "tagging", "cost"],
        metrics=Metrics(
            rows=10, unblended_cost=1000.0, amortized_cost=900.0, columns=24, analysis_type="all"
        ),
        queries={r.name: summarise_query(catalog.queries[r.name], r, 10) for r in results},
        results={r.name: r for r in results},
    )


GP2 = pd.DataFrame(
    {
        "account_id": ["1", "1", "2"],
        "region": ["us-east-1"] * 3,
        "resource_id": ["vol-a", "vol-b", "vol-c"],
        "gb_months": [100.0, 50.0, 10.0],
        "unblended_cost": [10.0, 5.0, 1.0],
        "monthly_cost": [10.0, 5.0, 1.0],
        "monthly_savings": [2.0, 1.0, 0.2],
    }
)


def test_gp2_finding_sums_savings_and_lists_volumes_largest_first() -> None:
    insights = RuleInsights().generate(_summary([_result("gp2_volumes", GP2)]))
    (finding,) = insights.findings
    assert finding.monthly_savings_usd == pytest.approx(3.2)
    assert finding.resource_ids == ["vol-a", "vol-b", "vol-c"]
    assert finding.title == "Migrate 3 gp2 EBS volumes to gp3"
    assert "$3.20" in insights.markdown


def test_savings_below_a_dollar_are_not_findings() -> None:
    tiny = GP2.assign(monthly_savings=[0.1, 0.1, 0.1])
    assert RuleInsights().generate(_summary([_result("gp2_volumes", tiny)])).findings == []


def test_untagged_spend_is_an_allocation_finding_without_savings() -> None:
    frame = pd.DataFrame(
        {
            "account_id": ["1"],
            "account_name": ["prod"],
            "service_code": ["AmazonEC2"],
            "total_cost": [100.0],
            "untagged_cost": [40.0],
            "untagged_pct": [40.0],
            "untagged_resources": [3],
            "resources": [9],
        }
    )
    (finding,) = RuleInsights().generate(_summary([_result("untagged_spend", frame)])).findings
    assert finding.monthly_savings_usd == 0 and "40.0%" in finding.evidence


def test_failed_sections_are_named_in_the_narrative_and_prompts_avoid_them() -> None:
    summary = _summary(
        [_result("gp2_volumes", GP2), _result("spend_by_account_monthly", pd.DataFrame(), "failed")]
    )
    insights = RuleInsights().generate(summary)
    assert "Monthly spend by account" in insights.markdown
    assert all(p.query != "spend_by_account_monthly" for p in insights.suggested_prompts)
    assert [(p.text, p.query) for p in insights.suggested_prompts] == [
        ("Which resources are behind 'Migrate 3 gp2 EBS volumes to gp3'?", "gp2_volumes"),
        ("Which ten resources cost the most?", None),
        ("How is spend split by purchase option?", None),
        ("Which regions cost the most?", None),
        ("Which usage types drive the most spend?", None),
    ]
