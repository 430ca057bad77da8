"""`finops list`: the reports under the output folder, newest first, one line each."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from finops_agent.cli.errors import friendly_errors
from finops_agent.reports.folder import LISTING_COLUMNS, ListingRow, list_reports
from finops_agent.settings import load_settings

__all__ = ["list_command", "listing_text"]

_GAP = "  "


def listing_text(rows: list[ListingRow]) -> str:
    """The rows as aligned plain-text columns under a header; unreadable folders say why."""
    table = [LISTING_COLUMNS, *(row.cells for row in rows)]
    widths = [max(len(cells[i]) for cells in table) for i in range(len(LISTING_COLUMNS))]
    lines = [_GAP.join(c.ljust(w) for c, w in zip(LISTING_COLUMNS, widths, strict=True)).rstrip()]
    for row in rows:
        if row.kind == "unreadable":
            # the window and figures are unknown: the reason takes their place
            lines.append(f"{row.report_id.ljust(widths[0])}{_GAP}unreadable: {row.problem}")
            continue
        line = _GAP.join(c.ljust(w) for c, w in zip(row.cells, widths, strict=True)).rstrip()
        lines.append(f"{line}{_GAP}({row.problem})" if row.problem else line)
    return "\n".join(lines)


@friendly_errors
def list_command(
    out: Annotated[Path | None, typer.Option(help="Output folder holding the reports")] = None,
) -> None:
    """List the reports newest first: id, window, kind, total, change, findings, savings/month."""
    folder = Path(load_settings(output_dir=out).output_dir)
    reports = list_reports(folder)
    if not reports:
        typer.echo(f"no reports in {folder}", err=True)
        return
    typer.echo(listing_text([r.row() for r in reports]))
