"""`finops analyze FILE [FILE...]`: the upload flow of the original app, from the command line."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from finops_agent.analyze.analysis import ANALYSIS_TYPES
from finops_agent.analyze.fetch import is_s3, split_s3
from finops_agent.analyze.load import inspect_file
from finops_agent.cli import _state, friendly_errors

if TYPE_CHECKING:
    from flows.analyze import AnalysisType


def preflight(files: list[str], analysis_type: str) -> None:
    """Reject a bad type or an unreadable local file in milliseconds, before Prefect starts."""
    if analysis_type not in ANALYSIS_TYPES:
        raise ValueError(
            f"--type must be one of {', '.join(ANALYSIS_TYPES)}, not {analysis_type!r}"
        )
    for path in files:
        if is_s3(path):
            split_s3(path)
        else:
            inspect_file(path)


@friendly_errors
def analyze_command(
    files: Annotated[
        list[str], typer.Argument(help="Result files (CSV, CSV.gz, Parquet) or s3:// URIs")
    ],
    type: Annotated[
        str, typer.Option("--type", help="architecture, tagging, cost or auto (from the columns)")
    ] = "auto",
    out: Annotated[Path | None, typer.Option(help="Output folder for reports")] = None,
    cost_col: Annotated[str | None, typer.Option(help="Column to total as cost")] = None,
    group_col: Annotated[str | None, typer.Option(help="Column to group and chart by")] = None,
    date_col: Annotated[str | None, typer.Option(help="Column holding dates")] = None,
) -> None:
    """Analyse Athena result files and write DIR/<report_id>/report.html; print its path last."""
    preflight(files, type)
    from finops_agent.prefect_env import configure_prefect

    if not _state["debug"]:
        # errors reach the user as one line from friendly_errors, not as Prefect's traceback
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")
    configure_prefect()
    from flows.analyze import analyze_file

    path = analyze_file(
        paths=files,
        type=cast("AnalysisType", type),
        output_dir=str(out) if out else None,
        cost_col=cost_col,
        group_col=group_col,
        date_col=date_col,
    )
    typer.echo(path)
