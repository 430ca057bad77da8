"""Build a real report on the tiny dataset through the pipeline functions (no Prefect)."""

from __future__ import annotations

from pathlib import Path

from finops_agent.execution import run_query
from finops_agent.insights.base import InsightProvider
from finops_agent.insights.generate import generate_insights
from finops_agent.insights.query_rules import RuleInsights
from finops_agent.pipeline import prepare_run, render_report, summarise_run
from finops_agent.settings import Settings

WINDOW = ("2026-10-01", "2026-11-01")


def make_report(
    settings: Settings,
    source: Path,
    provider: InsightProvider | None = None,
    window: tuple[str, str] = WINDOW,
    families: list[str] | None = None,
) -> str:
    """Run the stored queries (default: all families) on `source` for `window`, render, return the id."""
    run = prepare_run(
        settings, source=str(source), start=window[0], end=window[1], families=families
    )
    try:
        results = [run_query(run.engine, spec, run.params) for spec in run.specs]
    finally:
        run.engine.close()
    summary = summarise_run(run, results)
    insights = generate_insights(provider or RuleInsights(), summary)
    render_report(run, summary, insights)
    return run.report_id
