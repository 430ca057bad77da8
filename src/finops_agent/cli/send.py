"""`finops send REPORT_ID --to ...`: email an existing report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from finops_agent.cli.errors import friendly_errors
from finops_agent.settings import load_settings


@friendly_errors
def send_command(
    report_id: Annotated[str, typer.Argument(help="Report id (folder name under the output dir)")],
    to: Annotated[
        str | None,
        typer.Option("--to", help="Comma-separated recipients (default: FINOPS_MAIL_TO)"),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder holding the report")] = None,
    link: Annotated[
        str | None, typer.Option(help="URL of the report to link when it is too big to attach")
    ] = None,
    with_chat: Annotated[
        bool, typer.Option("--with-chat", help="Include the report's chat transcript")
    ] = False,
) -> None:
    """Email an existing report; exit 2 for bad recipients or mail settings, 1 when sending failed."""
    from finops_agent.delivery.report_mail import email_report
    from finops_agent.pipeline import check_mail_settings
    from finops_agent.reports.folder import ReportFolder, report_folder

    settings = load_settings(output_dir=out)
    # the same look-up as chat: one plain id, no path, no symlink out of the reports folder
    folder = report_folder(Path(settings.output_dir), report_id)
    # recipients, mailer and sender are the user's to fix: say so before composing anything
    check_mail_settings(settings, to or settings.mail_to, option="--to")
    # the chat goes out only when asked: it may hold questions nobody meant to send on
    chat = ReportFolder(folder).read_transcript() if with_chat else None
    result = email_report(settings, folder, to, report_url=link, chat=chat)
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if not result.sent:
        raise typer.Exit(1)
    typer.echo(
        f"sent {report_id} to {', '.join(result.recipients)} via {result.mailer} "
        f"({result.size_bytes:,} bytes, {result.images} chart image(s), "
        f"{'attached' if result.attached else 'linked' if result.linked else 'not attached'})"
    )
