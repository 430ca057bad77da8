"""The steps of one file analysis as plain functions: the Prefect flow and the CLI only order them."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from finops_agent.analyze import signals
from finops_agent.analyze.analysis import (
    FileReportSummary,
    analyse,
    build_summary,
    resolve_type,
)
from finops_agent.analyze.dataset import Overrides, Workspace, open_workspace
from finops_agent.analyze.exports import export_note, report_commands
from finops_agent.analyze.file_rules import FileRuleInsights
from finops_agent.insights.base import InsightProvider, Insights
from finops_agent.insights.generate import generate_insights
from finops_agent.insights.query_rules import RuleInsights
from finops_agent.report.render import report_document, write_report
from finops_agent.reports.document import BillingExport, DatasetRecord, FileMeta, ReadOption
from finops_agent.reports.folder import new_report_id
from finops_agent.settings import Settings

log = logging.getLogger(__name__)


def open_files(paths: list[str], overrides: Overrides | None, settings: Settings) -> Workspace:
    """Read and profile the files; raise AnalyzeError naming the file when one is unusable."""
    return open_workspace(
        [str(p) for p in paths],
        overrides,
        memory_limit=settings.duckdb_memory_limit,
        threads=settings.duckdb_threads,
    )


def analyse_workspace(
    workspace: Workspace, analysis_type: str, settings: Settings
) -> FileReportSummary:
    """Aggregate every dataset in DuckDB and build the report summary."""
    chosen = resolve_type(analysis_type, [d.profile for d in workspace.datasets])
    for dataset in workspace.datasets:
        dataset.export_note = export_note(dataset) or ""
        try:
            dataset.signals = signals.compute(workspace.con, dataset)
        except Exception as exc:  # a hint that cannot be computed must not cost the report
            log.warning("signals of %s failed: %s", dataset.label, exc)
    summaries, results, families = analyse(workspace, chosen, settings.top_n)
    now = dt.datetime.now(dt.UTC)
    return build_summary(
        workspace,
        report_id=new_report_id(now),
        generated_at=now.isoformat(timespec="seconds"),
        analysis_type=chosen,
        summaries=summaries,
        results=results,
        families=families,
    )


def insight_provider(configured: InsightProvider) -> InsightProvider:
    """The configured provider, with the rule engine swapped for its file-aware rules."""
    return FileRuleInsights() if isinstance(configured, RuleInsights) else configured


def file_insights(provider: InsightProvider, summary: FileReportSummary) -> Insights:
    """Ask the provider; if it fails, use the file rules with a banner saying why."""
    return generate_insights(provider, summary, fallback=FileRuleInsights())


def file_metadata(workspace: Workspace, summary: FileReportSummary) -> FileMeta:
    """What report.json keeps so chat can reopen the files as the `results` view."""
    return FileMeta(
        layout=workspace.layout,
        analysis_type=summary.metrics.analysis_type,
        read_options=[
            ReadOption.model_validate({**o.to_json(), "conversions": c})
            for o, c in zip(workspace.files, workspace.conversions, strict=True)
        ],
        views=["results", *[d.view for d in workspace.datasets if d.view != "results"]],
        datasets=[
            DatasetRecord(
                view=d.view,
                label=d.label,
                files=d.files,
                rows=d.profile.rows,
                cost=d.profile.cost,
                group=d.profile.group,
                date=d.profile.date,
                roles={c.name: c.role for c in d.profile.columns},
                profile=d.profile.to_json(),
                totals=d.totals,
                date_range=[str(v) for v in d.date_range] if d.date_range else None,
                signals=d.signals,
                billing_export=(
                    BillingExport(schema=d.billing_schema, commands=report_commands(d))
                    if d.billing_schema
                    else None
                ),
            )
            for d in workspace.datasets
        ],
    )


def render(
    output_dir: Path, workspace: Workspace, summary: FileReportSummary, insights: Insights
) -> Path:
    """Write report.html and report.json under output_dir/<report_id>/; return the HTML path."""
    document = report_document(
        summary, insights, kind="analysis", file=file_metadata(workspace, summary)
    )
    return write_report(output_dir, summary, insights, document)
