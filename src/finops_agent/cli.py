"""`finops`: reports, demo data, settings and (mounted from their modules) history and AWS tools."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

from finops_agent.catalog import FAMILIES
from finops_agent.cli_errors import _state, err, friendly_errors
from finops_agent.settings import load_settings

if TYPE_CHECKING:
    from finops_agent.orchestration.launcher import EarlyServer

app = typer.Typer(
    help="FinOps analysis of AWS cost data: stored SQL, insights, HTML reports.",
    no_args_is_help=True,
)


@app.callback()
def main(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks")] = False) -> None:
    """FinOps analysis of AWS cost data."""
    _state["debug"] = debug


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def _early_server() -> EarlyServer | None:
    """A Prefect server started now, unless Prefect runs in this process already or has a server."""
    import os
    import sys

    from finops_agent.orchestration.launcher import EarlyServer

    if "prefect" in sys.modules or os.environ.get("PREFECT_API_URL"):
        return None
    return EarlyServer(Path(os.environ["PREFECT_HOME"]))


def _run_report(**kwargs: Any) -> str:
    import os

    from finops_agent.pipeline import preflight
    from finops_agent.prefect_env import configure_prefect

    # fail on bad input in a second, before a Prefect server is started
    preflight(
        load_settings(output_dir=kwargs.get("output_dir"), engine=kwargs.get("engine")),
        source=kwargs.get("source"),
        schema=kwargs.get("schema", "auto"),
        families=kwargs.get("families"),
        start=kwargs.get("start"),
        end=kwargs.get("end"),
    )
    if not _state["debug"]:
        # errors reach the user as one line from friendly_errors, not as Prefect's traceback
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")
    configure_prefect()
    server = _early_server()
    from flows.report import finops_report
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    from finops_agent.pipeline import query_listener

    if server is not None and get_current_settings().api.url:
        server.stop()  # a Prefect profile names a server: use that one
        server = None
    timeout = float(os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"])
    updates = {PREFECT_API_URL: server.wait(timeout)} if server is not None else {}
    with (
        temporary_settings(updates=updates),
        Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err,
            transient=True,
        ) as progress,
    ):
        task = progress.add_task("Running stored queries", total=None)

        def done(result: Any) -> None:
            mark = "[green]ok[/]" if result.ok else "[red]failed[/]"
            progress.console.print(
                f"  {mark} {result.name} ({result.rows} rows, {result.runtime_s:.2f} s)"
            )
            progress.advance(task)

        with query_listener(done):
            return str(finops_report(**kwargs))


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
) -> None:
    """Run the stored queries and write DIR/<report_id>/report.html; print its path last."""
    path = _run_report(
        source=source,
        schema=schema,
        families=_split(families),
        start=start,
        end=end,
        output_dir=str(out) if out else None,
        engine=engine,
    )
    if email:
        from finops_agent.delivery.report_mail import email_report

        sent = email_report(load_settings(output_dir=out), Path(path).parent, email)
        for warning in sent.warnings:
            err.print(f"[yellow]warning:[/] {warning}", highlight=False)
        if sent.sent:
            err.print(f"emailed to {', '.join(sent.recipients)}")
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
) -> None:
    """Generate synthetic billing data with planted findings and their ground truth."""
    from finops_agent.sample_data import generate

    truth = generate(
        schema,  # type: ignore[arg-type]  # generate() validates and names a bad value
        out,
        rows=rows,
        months=months,
        seed=seed,
        fmt=fmt,  # type: ignore[arg-type]
        end=dt.date.fromisoformat(end) if end else None,
    )
    err.print(
        f"wrote {truth['rows']:,} {schema} rows ({truth['start']} to {truth['end']}, end exclusive)"
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
    from finops_agent.sample_data import generate

    settings = load_settings()
    today = dt.datetime.now(dt.UTC).date()
    folder = settings.home / "sample-data" / f"{schema}-{rows}-{today.isoformat()}"
    if not (folder / "ground_truth.json").is_file():
        err.print(f"generating {rows:,} rows of {schema} sample data in {folder}")
        generate(schema, folder, rows=rows, months=3, seed=7, end=today)  # type: ignore[arg-type]
    path = _run_report(
        source=str(folder / "data"), schema=schema, output_dir=str(out) if out else None
    )
    typer.echo(path)


@app.command()
@friendly_errors
def config() -> None:
    """Print the effective settings with secrets masked."""
    typer.echo(json.dumps(load_settings().masked(), indent=2, default=str))


def _mount() -> None:
    """Commands that live beside the code they drive."""
    from finops_agent.analyze.cli import analyze_command
    from finops_agent.aws.cli import doctor_command, iam_policy_command
    from finops_agent.chat.cli import ask_command, chat_command
    from finops_agent.delivery.cli import send_command
    from finops_agent.store.cli import history_app, log_app, setup_app

    app.command("chat")(chat_command)
    app.command("ask")(ask_command)
    app.command("analyze")(analyze_command)
    app.command("send")(send_command)
    app.command("doctor")(doctor_command)
    app.command("iam-policy")(iam_policy_command)
    app.add_typer(history_app, name="history")
    app.add_typer(log_app, name="log")
    app.add_typer(setup_app, name="setup")


_mount()


# --- orchestration (issue 8): local Prefect server + UI serving every deployment ---
@app.command()
def serve(
    port: Annotated[
        int | None, typer.Option(help="UI/API port (default FINOPS_SERVE_PORT)")
    ] = None,
    home: Annotated[Path, typer.Option(help="PREFECT_HOME for the server and runs")] = Path(
        ".prefect"
    ),
) -> None:
    """Start a local Prefect server with the UI and serve the scheduled and manual deployments."""
    from finops_agent.orchestration.launcher import run_launcher

    raise typer.Exit(run_launcher(home, port or load_settings().serve_port))


def run() -> None:
    """Entry point used by `python -m finops_agent`."""
    app(prog_name="finops")


if __name__ == "__main__":  # pragma: no cover
    run()
