"""`finops analyze FILE [FILE...]`: the upload flow of the original app, from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from finops_agent.cli.errors import friendly_errors
from finops_agent.settings import Settings, load_settings

if TYPE_CHECKING:
    from finops_agent.analyze.dataset import Overrides

PREFLIGHT_ROWS = 1000


def preflight(
    files: list[str],
    analysis_type: str,
    overrides: Overrides,
    settings: Settings | None = None,
    *,
    read_heads: bool = True,
) -> None:
    """Reject a bad type, file, column choice, output folder or missing AWS credentials early.

    All of it takes about a second and runs before Prefect starts or any file is analysed.
    `read_heads=False` skips reading the files' first rows: an in-process run reads the files
    next anyway and fails on a bad one just as early, without profiling them twice.
    """
    from finops_agent.analyze.analysis import ANALYSIS_TYPES
    from finops_agent.analyze.dataset import open_workspace
    from finops_agent.analyze.fetch import is_s3, split_s3
    from finops_agent.checks import aws_backends, check_aws_credentials, check_output_folder
    from finops_agent.result_files.load import AnalyzeError

    if analysis_type not in ANALYSIS_TYPES:
        raise AnalyzeError(
            f"--type must be one of {', '.join(ANALYSIS_TYPES)}, not {analysis_type!r}"
        )
    for path in files:
        if is_s3(path):
            split_s3(path)
    if settings is not None:
        check_output_folder(Path(settings.output_dir))
        needed = aws_backends(settings)
        if any(is_s3(path) for path in files):
            needed.insert(0, "an s3:// file")
        check_aws_credentials(settings, needed)
    local = [path for path in files if not is_s3(path)]
    if local and read_heads:
        # the head of each file is enough to find a bad file, an empty one or a wrong column
        open_workspace(local, overrides, head_rows=PREFLIGHT_ROWS).close()


@friendly_errors
def analyze_command(
    ctx: typer.Context,
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
    prefect: Annotated[
        bool, typer.Option("--prefect", help="Run as a Prefect flow run even with no server")
    ] = False,
) -> None:
    """Analyse Athena result files and write DIR/<report_id>/report.html; print its path last."""
    from finops_agent.analyze.dataset import Overrides
    from finops_agent.analyze.fetch import is_s3
    from finops_agent.prefect_env import prefect_server_url

    overrides = Overrides(cost_col, group_col, date_col)
    settings = load_settings(output_dir=out)
    server = prefect_server_url(settings.serve_port)
    in_process = server is None and not prefect
    preflight(
        files,
        type,
        overrides if all(not is_s3(f) for f in files) else Overrides(),
        settings,
        read_heads=not in_process,
    )
    path = run_analysis(
        ctx,
        files,
        analysis_type=type,
        output_dir=str(out) if out else None,
        overrides=overrides,
        server=server,
        in_process=in_process,
    )
    for note in export_notes(Path(path).parent / "report.json"):
        typer.echo(note, err=True)  # plain: Rich would wrap a long command
    typer.echo(path)


def export_notes(report_json: Path) -> list[str]:
    """What to say on stderr about billing exports: the schema and the `finops report` to run."""
    from finops_agent.reports.document import ReportDocumentError, load

    try:
        document = load(report_json)
    except (OSError, ReportDocumentError):
        return []
    notes = []
    for dataset in document.file.datasets if document.file else []:
        export = dataset.billing_export
        if export is None:
            continue
        notes.append(
            f"{dataset.label} is a {export.export_schema} billing export; for the full report run:"
        )
        notes += [f"  {command}" for command in export.commands]
    return notes


def run_analysis(
    ctx: typer.Context,
    files: list[str],
    *,
    analysis_type: str,
    output_dir: str | None,
    overrides: Overrides,
    server: str | None,
    in_process: bool,
) -> str:
    """Analyse in-process, or as a Prefect flow run on `server` (Prefect's temporary one if None)."""
    if in_process:
        from finops_agent.runs.analyze import analyze_files

        return str(analyze_files(files, analysis_type, output_dir, overrides))
    return str(
        ctx.obj.run_flow(
            "analyze-file",
            server,
            paths=files,
            type=analysis_type,
            output_dir=output_dir,
            cost_col=overrides.cost_col,
            group_col=overrides.group_col,
            date_col=overrides.date_col,
        )
    )
