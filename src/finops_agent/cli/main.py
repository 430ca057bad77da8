"""`finops`: reports, demo data, settings and (mounted from their modules) history and AWS tools."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

from finops_agent.catalog import FAMILIES
from finops_agent.cli.errors import _state, err, friendly_errors, warn
from finops_agent.formatting import money
from finops_agent.settings import load_settings

app = typer.Typer(
    help="FinOps analysis of AWS cost data: stored SQL, insights, HTML reports.",
    no_args_is_help=True,
)


@dataclass(frozen=True)
class CliContext:
    """What `finops` hands its sub-commands (typer's ctx.obj), so they never import upward."""

    run_flow: Callable[..., str]


@app.callback()
def main(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks")] = False,
) -> None:
    """FinOps analysis of AWS cost data."""
    _state["debug"] = debug
    ctx.obj = CliContext(run_flow=run_flow)


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


@contextlib.contextmanager
def _query_progress() -> Iterator[None]:
    """Show each stored query as it finishes, on stderr."""
    from finops_agent.pipeline import query_listener

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task("Running stored queries", total=None)

        def done(result: Any) -> None:
            mark = "[green]ok[/]" if result.ok else "[red]failed[/]"
            progress.console.print(
                f"  {mark} {escape(result.name)} ({result.rows} rows, {result.runtime_s:.2f} s)"
            )
            progress.advance(task)

        with query_listener(done):
            yield


def _say_other_currencies(report_html: Path) -> None:
    """Warn on stderr of each currency the report left out, with the command that reports it."""
    from finops_agent.reports.document import ReportDocumentError, load

    try:
        document = load(report_html.parent / "report.json")
    except ReportDocumentError:
        return  # the report itself says what went wrong; this is only a reminder
    for other in document.other_currencies:
        warn(
            f"also billed in {other.name}: {money(other.unblended_cost, other.name)} over "
            f"{other.rows:,} line items, not added to this {document.currency} report; "
            f"report it with: {document.currency_command(other.name)}"
        )


def _run_report(*, prefect: bool = False, email: str | None = None, **kwargs: Any) -> str:
    """Run one report: in-process, or as a Prefect flow run when a server records it."""
    from finops_agent.pipeline import preflight
    from finops_agent.prefect_env import prefect_server_url

    settings = load_settings(
        output_dir=kwargs.get("output_dir"),
        engine=kwargs.get("engine"),
        currency=kwargs.get("currency"),
    )
    # fail on bad input in a second, before any query runs or a Prefect server starts
    preflight(
        settings,
        source=kwargs.get("source"),
        schema=kwargs.get("schema", "auto"),
        families=kwargs.get("families"),
        start=kwargs.get("start"),
        end=kwargs.get("end"),
        recipients=email,
    )
    server = prefect_server_url(settings.serve_port)
    if server is None and not prefect:
        from finops_agent.runs.report import ReportRequest, build_report

        with _query_progress():
            return str(build_report(ReportRequest(**kwargs)))
    with _query_progress():
        return run_flow("finops-report", server, **kwargs)


def run_flow(flow_name: str, server: str | None, **params: Any) -> str:
    """Run a served flow by name on `server`, or on Prefect's temporary server when None."""
    import os

    from finops_agent.prefect_env import configure_prefect

    if not _state["debug"]:
        # errors reach the user as one line from friendly_errors, not as Prefect's traceback
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")
    configure_prefect()
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from finops_agent.orchestration.deployments import load_flow

    flow = load_flow(flow_name)
    # with no server, Prefect's own ephemeral mode starts a temporary one (and passes the
    # profile's settings to it)
    updates = {PREFECT_API_URL: server} if server else {}
    with temporary_settings(updates=updates):
        return str(flow(**params))


@app.command()
@friendly_errors
def report(
    source: Annotated[
        str | None, typer.Option(help="Billing file, folder or glob (DuckDB engine)")
    ] = None,
    schema: Annotated[str, typer.Option(help="auto, cur, cur2 or focus")] = "auto",
    families: Annotated[
        list[str] | None,
        typer.Option(help=f"Any of {', '.join(FAMILIES)} (repeat or comma-separate)"),
    ] = None,
    start: Annotated[
        str | None, typer.Option(help="First day YYYY-MM-DD (default: first of last month)")
    ] = None,
    end: Annotated[
        str | None, typer.Option(help="Day after the last YYYY-MM-DD (default: today)")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder for reports")] = None,
    engine: Annotated[str | None, typer.Option(help="duckdb or athena")] = None,
    email: Annotated[
        str | None, typer.Option(help="Comma-separated recipients to email the report to")
    ] = None,
    prefect: Annotated[
        bool,
        typer.Option(
            "--prefect",
            help="Run as a Prefect flow run even when no Prefect server is configured or running",
        ),
    ] = False,
    currency: Annotated[
        str | None,
        typer.Option(
            help="Billing currency to report: auto (the window's largest) or a code such as EUR "
            "(default: FINOPS_CURRENCY); other currencies are named, never added"
        ),
    ] = None,
) -> None:
    """Run the stored queries and write DIR/<report_id>/report.html; print its path last."""
    path = _run_report(
        prefect=prefect,
        currency=currency,
        source=source,
        schema=schema,
        families=_split(families),
        start=start,
        end=end,
        output_dir=str(out) if out else None,
        engine=engine,
        email=email,
    )
    _say_other_currencies(Path(path))
    if email:
        from finops_agent.delivery.report_mail import email_report

        sent = email_report(load_settings(output_dir=out), Path(path).parent, email)
        for warning in sent.warnings:
            warn(warning)
        if sent.sent:
            err.print(
                f"emailed to {', '.join(sent.recipients)}",
                markup=False,
                emoji=False,
                highlight=False,
            )
    typer.echo(path)


@app.command("sample-data")
@friendly_errors
def sample_data(
    out: Annotated[Path, typer.Option(help="Folder to write data/ and ground_truth.json into")],
    schema: Annotated[str, typer.Option(help="cur, cur2 or focus")] = "cur2",
    rows: Annotated[int, typer.Option(help="Approximate number of line items")] = 200_000,
    months: Annotated[int, typer.Option(help="Billing months ending with the current one")] = 3,
    seed: Annotated[
        int, typer.Option(help="Random seed (same seed and --end, byte-identical files)")
    ] = 7,
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv")] = "parquet",
    end: Annotated[
        str | None, typer.Option(help="Day after the last day of data (default: today)")
    ] = None,
    focus_version: Annotated[
        str,
        typer.Option(
            help="FOCUS shape for --schema focus: 1.0 or 1.2 (AWS exports) or 1.1 (the spec)"
        ),
    ] = "1.0",
    second_provider: Annotated[
        bool,
        typer.Option(
            "--second-provider",
            help="Add Microsoft Azure rows in their own billing account (--schema focus only)",
        ),
    ] = False,
    second_currency: Annotated[
        str | None,
        typer.Option(help="Add two AWS accounts billed in this currency: EUR or GBP"),
    ] = None,
) -> None:
    """Generate synthetic billing data with planted findings and their ground truth."""
    from finops_agent.checks import check_output_folder
    from finops_agent.errors import UserError
    from finops_agent.sample_data import generate

    try:
        last = dt.date.fromisoformat(end) if end else None
    except ValueError:
        raise UserError(f"--end must be YYYY-MM-DD, not {end!r}") from None
    check_output_folder(out, setting="--out")
    truth = generate(
        schema,  # type: ignore[arg-type]  # generate() validates and names a bad value
        out,
        rows=rows,
        months=months,
        seed=seed,
        fmt=fmt,  # type: ignore[arg-type]
        end=last,
        focus_version=focus_version,  # type: ignore[arg-type]
        second_provider=second_provider,
        second_currency=second_currency,
    )
    err.print(
        f"wrote {truth['rows']:,} {schema} rows ({truth['start']} to {truth['end']}, end exclusive)",
        markup=False,
        emoji=False,
    )
    typer.echo(str(out))


@app.command()
@friendly_errors
def demo(
    rows: Annotated[int, typer.Option(help="Approximate number of line items")] = 200_000,
    schema: Annotated[str, typer.Option(help="cur, cur2 or focus")] = "cur2",
    out: Annotated[Path | None, typer.Option(help="Output folder for reports")] = None,
) -> None:
    """Generate sample data once (CUR 2.0 by default), run the report and print its path."""
    from finops_agent.checks import check_output_folder
    from finops_agent.sample_data.demo import demo_folder, demo_source

    settings = load_settings(output_dir=out)
    # generating the data takes a while: a folder the report cannot be written to fails first
    check_output_folder(Path(settings.output_dir))
    folder = demo_folder(settings, rows, schema)
    if not (folder / "ground_truth.json").is_file():
        err.print(f"generating {rows:,} rows of {schema} sample data in {escape(str(folder))}")
    data, _ = demo_source(settings, rows, schema)
    path = _run_report(source=str(data), schema=schema, output_dir=str(out) if out else None)
    typer.echo(path)


@app.command()
@friendly_errors
def config() -> None:
    """Print the effective settings with secrets masked."""
    typer.echo(json.dumps(load_settings().masked(), indent=2, default=str))


def _mount() -> None:
    """Commands that live beside the code they drive."""
    from finops_agent.cli.analyze import analyze_command
    from finops_agent.cli.aws import doctor_command, iam_policy_command
    from finops_agent.cli.chat import ask_command, chat_command
    from finops_agent.cli.history import history_app, log_app, setup_app
    from finops_agent.cli.reports import list_command
    from finops_agent.cli.send import send_command

    app.command("chat")(chat_command)
    app.command("ask")(ask_command)
    app.command("analyze")(analyze_command)
    app.command("send")(send_command)
    app.command("list")(list_command)
    app.command("doctor")(doctor_command)
    app.command("iam-policy")(iam_policy_command)
    app.add_typer(history_app, name="history")
    app.add_typer(log_app, name="log")
    app.add_typer(setup_app, name="setup")


_mount()


# --- orchestration (issue 8): local Prefect server + UI serving every deployment ---
@app.command()
@friendly_errors
def serve(
    port: Annotated[
        int | None, typer.Option(help="UI/API port (default FINOPS_SERVE_PORT)")
    ] = None,
    portal_port: Annotated[
        int | None, typer.Option(help="Reports portal port (default FINOPS_PORTAL_PORT)")
    ] = None,
    home: Annotated[Path, typer.Option(help="PREFECT_HOME for the server and runs")] = Path(
        ".prefect"
    ),
) -> None:
    """Start the Prefect server and UI, the reports portal, and serve the deployments."""
    from finops_agent.orchestration.launcher import run_launcher

    settings = load_settings(portal_port=portal_port)
    raise typer.Exit(run_launcher(home, port or settings.serve_port, settings=settings))


def run() -> None:
    """Entry point used by `python -m finops_agent`."""
    app(prog_name="finops")


if __name__ == "__main__":  # pragma: no cover
    run()
