"""analyze-file: profile Athena result files, chart them, ask for insights, log, render."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from finops_agent.analyze.analysis import FileReportSummary
from finops_agent.analyze.dataset import Overrides, Workspace
from finops_agent.analyze.run import analyse_workspace, open_files, render
from finops_agent.insights.base import Insights
from finops_agent.runs.analyze import ask, default_paths, fetch, record
from finops_agent.settings import Settings, load_settings

AnalysisType = Literal["auto", "architecture", "tagging", "cost"]


@task(name="fetch-files", retries=2, retry_delay_seconds=[2, 5], cache_policy=NO_CACHE)
def fetch_files(paths: list[str], settings: Settings) -> list[str]:
    """Download s3:// files to local disk; local paths pass through."""
    return fetch(paths, settings)


@task(name="profile-files", cache_policy=NO_CACHE)
def profile_files(paths: list[str], overrides: Overrides, settings: Settings) -> Workspace:
    """Open the files in DuckDB and detect each column's role."""
    return open_files(paths, overrides, settings)


@task(name="analyse-files", cache_policy=NO_CACHE)
def analyse_files(
    workspace: Workspace, analysis_type: str, settings: Settings
) -> FileReportSummary:
    """Aggregate the files in DuckDB into the report's sections."""
    return analyse_workspace(workspace, analysis_type, settings)


@task(name="ask-insights", cache_policy=NO_CACHE)
def ask_insights(
    summary: FileReportSummary, settings: Settings, notice: str | None = None
) -> Insights:
    """Findings, narrative and prompts from the configured provider; `notice` leads its warnings."""
    return ask(summary, settings, notice)


@task(name="log-interaction", cache_policy=NO_CACHE)
def log_insights(summary: FileReportSummary, insights: Insights, settings: Settings) -> None:
    """Record the insight call in the interaction log; a failure becomes a report warning."""
    record(summary, insights, settings)


@task(name="render-report", cache_policy=NO_CACHE)
def render_report(
    settings: Settings, workspace: Workspace, summary: FileReportSummary, insights: Insights
) -> str:
    """Write report.html and report.json; return the HTML path."""
    return str(render(Path(settings.output_dir), workspace, summary, insights))


@flow(name="analyze-file", log_prints=True)
def analyze_file(
    paths: list[str] | None = None,
    type: AnalysisType = "auto",
    output_dir: str | None = None,
    cost_col: str | None = None,
    group_col: str | None = None,
    date_col: str | None = None,
) -> str:
    """Analyse Athena result files (local or s3://) and return the path of their report.html.

    With no paths (a manual run with default parameters) it analyses FINOPS_SOURCE's files, or
    the demo's generated data when no source is configured, and the report says which.
    """
    settings = load_settings(output_dir=output_dir)
    notice = None
    if not paths:
        paths, notice = default_paths(settings)
        get_run_logger().info(notice)
    local = fetch_files(paths, settings)
    workspace = profile_files(local, Overrides(cost_col, group_col, date_col), settings)
    try:
        summary = analyse_files(workspace, type, settings)
        insights = ask_insights(summary, settings, notice)
        log_insights(summary, insights, settings)
        return render_report(settings, workspace, summary, insights)
    finally:
        workspace.close()
