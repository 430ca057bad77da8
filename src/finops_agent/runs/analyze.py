"""Analysing result files as one plain function: the CLI calls it in-process, the flow wraps its steps."""

from __future__ import annotations

from pathlib import Path

from finops_agent.analyze.analysis import FileReportSummary
from finops_agent.analyze.dataset import Overrides
from finops_agent.analyze.fetch import localise, s3_client
from finops_agent.analyze.run import (
    analyse_workspace,
    file_insights,
    insight_provider,
    open_files,
    render,
)
from finops_agent.insights.base import Insights
from finops_agent.pipeline import insight_interaction
from finops_agent.settings import Settings, load_settings
from finops_agent.store.recording import log_interaction, open_store
from finops_agent.wiring import build_insights


def fetch(paths: list[str], settings: Settings) -> list[str]:
    """Download s3:// files to local disk; local paths pass through."""
    return localise(
        paths, settings.home / "downloads", s3_client(settings.aws_region, settings.aws_profile)
    )


def ask(summary: FileReportSummary, settings: Settings) -> Insights:
    """Findings, narrative and prompts from the configured provider."""
    return file_insights(insight_provider(build_insights(settings)), summary)


def record(summary: FileReportSummary, insights: Insights, settings: Settings) -> None:
    """Record the insight call in the interaction log; a failure becomes a report warning."""
    store, store_warning = open_store(settings)
    log_warning = log_interaction(store, insight_interaction(summary, insights))
    insights.warnings.extend(w for w in (store_warning, log_warning) if w)


def analyze_files(
    paths: list[str],
    analysis_type: str = "auto",
    output_dir: str | None = None,
    overrides: Overrides | None = None,
) -> Path:
    """Analyse result files (local or s3://) and return the path of their report.html."""
    settings = load_settings(output_dir=output_dir)
    workspace = open_files(fetch(paths, settings), overrides or Overrides(), settings)
    try:
        summary = analyse_workspace(workspace, analysis_type, settings)
        insights = ask(summary, settings)
        record(summary, insights, settings)
        return render(Path(settings.output_dir), workspace, summary, insights)
    finally:
        workspace.close()
