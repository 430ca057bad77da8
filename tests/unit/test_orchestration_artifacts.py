"""What a reader of the Prefect UI sees about a run: the summary, findings table and alert."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from finops_agent.catalog import ChartHint
from finops_agent.insights.base import Finding, Insights
from finops_agent.orchestration.alerts import alert_markdown, failure_alert
from finops_agent.orchestration.artifacts import findings_table, report_link, summary_markdown
from finops_agent.summarise import Metrics, QuerySummary, ReportSummary
from finops_agent.window import Window


def _finding(title: str, savings: float) -> Finding:
    return Finding(
        id=title.lower(),
        family="architecture",
        query="gp2_volumes",
        title=title,
        evidence="from the data",
        monthly_savings_usd=savings,
        action="Migrate | online",
    )


def _query(name: str, status: str, error: str | None = None) -> QuerySummary:
    return QuerySummary(
        name, "cost", name, "", "", status, error, 0, [], ChartHint("table"), {}, None, None, []
    )


@pytest.fixture
def summary() -> ReportSummary:
    """October at $1,234.50 against $1,000.00 the month before, one failed query."""
    metrics = Metrics(
        rows=1200,
        unblended_cost=1234.5,
        amortized_cost=1200.0,
        columns=24,
        analysis_type="architecture + cost",
        previous_unblended_cost=1000.0,
    )
    return ReportSummary(
        report_id="20261124T093000Z-abc123",
        generated_at="2026-11-24T09:30:00+00:00",
        window=Window(dt.date(2026, 10, 1), dt.date(2026, 11, 1)),
        schema="cur2",
        engine="duckdb",
        source="/data/cur2",
        families=["architecture", "cost"],
        metrics=metrics,
        queries={
            "window_totals": _query("window_totals", "ok"),
            "gp2_volumes": _query("gp2_volumes", "failed", "query 'gp2_volumes' failed: timeout"),
        },
    )


def test_summary_has_total_change_top_findings_and_failures(
    summary: ReportSummary, tmp_path: Path
) -> None:
    insights = Insights(
        provider="rules",
        markdown="",
        findings=[_finding(f"Finding {i}", i * 10.0) for i in range(1, 8)],
        warnings=["interaction log unavailable"],
    )
    text = summary_markdown(summary, insights, tmp_path / "r" / "report.html")
    assert "$1,234.50" in text and "$1,200.00" in text
    # daily run rate: October (31 days) vs the same-length previous period
    assert "+23.4%" in text
    assert "7 worth $280.00/month" in text
    top = [line for line in text.splitlines() if line.startswith("- **Finding")]
    # five largest, largest first
    assert [line.split("**")[1] for line in top] == [f"Finding {i}" for i in (7, 6, 5, 4, 3)]
    # model text cannot break out of the markdown table or inject HTML
    assert "Migrate \\| online" in text
    assert "`gp2_volumes`: query 'gp2_volumes' failed: timeout" in text
    assert "> interaction log unavailable" in text
    assert report_link(tmp_path / "r" / "report.html") in text


def test_summary_without_previous_period_or_findings(
    summary: ReportSummary, tmp_path: Path
) -> None:
    summary.metrics.previous_unblended_cost = None
    text = summary_markdown(summary, Insights(provider="rules", markdown=""), tmp_path / "x.html")
    assert "n/a (no previous period in the data)" in text
    assert "Top findings" not in text


def test_summary_links_the_served_report_when_a_portal_is_configured(
    summary: ReportSummary, tmp_path: Path
) -> None:
    served = "http://127.0.0.1:4201/r/20261101T000000Z-abc123/"
    text = summary_markdown(
        summary, Insights(provider="rules", markdown=""), tmp_path / "x.html", served
    )
    assert text.endswith(f"[Open the report]({served})\n")
    assert "file://" not in text


def test_findings_table_is_sorted_by_savings() -> None:
    insights = Insights(
        provider="rules", markdown="", findings=[_finding("small", 5), _finding("big", 500)]
    )
    rows = findings_table(insights)
    assert [r["finding"] for r in rows] == ["big", "small"]
    assert rows[0]["monthly_savings_usd"] == 500.0 and rows[0]["query"] == "gp2_volumes"


def test_failure_alert_leads_with_the_reason() -> None:
    alert = failure_alert(
        flow_name="finops-report",
        run_name="cost-2026-10",
        reason="Flow run encountered an exception: SourceError: source /data/x does not exist",
        parameters={"source": "/data/x", "families": ["cost"], "model": None},
        run_url="http://127.0.0.1:4200/runs/flow-run/123",
        recipients=["finops@example.com"],
    )
    assert alert.subject.startswith("[finops] cost-2026-10 failed: Flow run encountered")
    lines = alert.body.splitlines()
    assert (
        lines[2]
        == "Why: Flow run encountered an exception: SourceError: source /data/x does not exist"
    )
    assert "  source = '/data/x'" in lines and "  families = ['cost']" in lines
    # unset parameters are noise
    assert not any("model" in line for line in lines)
    assert lines[-1] == "Run: http://127.0.0.1:4200/runs/flow-run/123"
    assert alert.recipients == ("finops@example.com",)
    assert alert_markdown(alert).startswith(f"# {alert.subject}\n")


def test_failure_alert_without_message_still_says_something() -> None:
    alert = failure_alert(
        flow_name="finops-report",
        run_name="r",
        reason="",
        parameters={},
        run_url=None,
        recipients=[],
    )
    assert "Why: the run failed without a message" in alert.body
    assert "(all defaults)" in alert.body


@pytest.mark.hostile
def test_hostile_titles_actions_and_file_names_stay_text_in_the_artifact(
    summary: ReportSummary, tmp_path: Path
) -> None:
    """Links, images and HTML from model output or file names render as their own text."""
    from markdown_it import MarkdownIt

    summary.source = '/data/<img src=x onerror="alert(1)">.csv'
    hostile = Finding(
        id="x",
        family="architecture",
        query="gp2_volumes",
        title="[Open](javascript:alert(1)) <script>alert(2)</script>",
        evidence="e",
        monthly_savings_usd=5.0,
        action="![pixel](https://tracker.example/p.png) `code` **bold** | pipe",
    )
    markdown = summary_markdown(
        summary, Insights(provider="bedrock", markdown="", findings=[hostile]), tmp_path / "r.html"
    )
    html = MarkdownIt("commonmark").enable("table").render(markdown)
    for live in ("<script", "<img", "<a href", "<code>code", "<strong>bold"):
        assert live not in html.split("Open the report")[0]
    # the words survive as text
    assert "[Open](javascript:alert(1))" in html and "&lt;script&gt;" in html
