"""Analysing result files as one plain function: the CLI calls it in-process, the flow wraps its steps."""

from __future__ import annotations

import glob
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
from finops_agent.result_files.load import AnalyzeError
from finops_agent.settings import Settings, load_settings
from finops_agent.store.recording import log_interaction, open_store
from finops_agent.wiring import build_insights

_DATA_SUFFIXES = (".parquet", ".csv", ".csv.gz")


def default_paths(settings: Settings) -> tuple[list[str], str]:
    """The files a run given no paths analyses, and the notice saying which: FINOPS_SOURCE's, else the demo's.

    A manual run from the Prefect UI with default parameters has no path to give; it analyses the
    configured billing source (a file, a folder of data files or a glob), or the demo's generated
    data when none is configured, and says so on the report.
    """
    if settings.source:
        files = _data_files(settings.source)
        if not files:
            raise AnalyzeError(
                f"FINOPS_SOURCE {settings.source!r} holds no .parquet or .csv file to analyse; "
                "give the files to analyse as paths"
            )
        return files, f"No files were given, so this analyses FINOPS_SOURCE ({settings.source})."
    from finops_agent.sample_data.demo import demo_source

    data, _ = demo_source(settings)
    return _data_files(str(data)), (
        f"No files were given and no FINOPS_SOURCE is configured, so this analyses generated "
        f"demo data in {data}, not your bill."
    )


def _data_files(source: str) -> list[str]:
    """The data files a file, folder or glob names, in a stable order."""
    path = Path(source).expanduser()
    if path.is_dir():
        found = [str(p) for p in path.rglob("*") if p.is_file()]
    elif path.is_file():
        return [str(path)]
    else:
        found = glob.glob(str(path), recursive=True)
    return sorted(f for f in found if f.endswith(_DATA_SUFFIXES))


def fetch(paths: list[str], settings: Settings) -> list[str]:
    """Download s3:// files to local disk; local paths pass through."""
    return localise(
        paths, settings.home / "downloads", s3_client(settings.aws_region, settings.aws_profile)
    )


def ask(summary: FileReportSummary, settings: Settings, notice: str | None = None) -> Insights:
    """Findings, narrative and prompts from the configured provider; `notice` leads its warnings."""
    insights = file_insights(insight_provider(build_insights(settings)), summary)
    if notice:
        insights.warnings.insert(0, notice)
    return insights


def record(summary: FileReportSummary, insights: Insights, settings: Settings) -> None:
    """Record the insight call in the interaction log; a failure becomes a report warning."""
    store, store_warning = open_store(settings)
    log_warning = log_interaction(store, insight_interaction(summary, insights))
    insights.warnings.extend(w for w in (store_warning, log_warning) if w)


def analyze_files(
    paths: list[str] | None,
    analysis_type: str = "auto",
    output_dir: str | None = None,
    overrides: Overrides | None = None,
) -> Path:
    """Analyse result files (local or s3://; none: see default_paths) and return their report.html."""
    settings = load_settings(output_dir=output_dir)
    notice = None
    if not paths:
        paths, notice = default_paths(settings)
    workspace = open_files(fetch(paths, settings), overrides or Overrides(), settings)
    try:
        summary = analyse_workspace(workspace, analysis_type, settings)
        insights = ask(summary, settings, notice)
        record(summary, insights, settings)
        return render(Path(settings.output_dir), workspace, summary, insights)
    finally:
        workspace.close()
