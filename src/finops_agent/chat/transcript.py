"""A report on disk for chat: look-up by id, and its transcript in transcript.json beside it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from finops_agent.reports.document import ChatTurnRecord, ReportDocument
from finops_agent.reports.folder import ReportFolder

__all__ = ["append_turn", "chat_html", "load_report", "load_transcript", "update_turn"]


def load_report(output_dir: Path, report_id: str) -> ReportDocument:
    """The report.json of a report, checked to be the report it claims to be."""
    return ReportFolder.open(output_dir, report_id).read()


def chat_html(turns: Sequence[ChatTurnRecord]) -> str:
    """The transcript as an HTML section (for an email that asks for the chat)."""
    from finops_agent.report.render import environment  # Plotly: only when a transcript is shown

    return environment().get_template("partials/chat.html.j2").render(chat=turns)


def load_transcript(output_dir: Path, report_id: str) -> list[ChatTurnRecord]:
    """Every saved exchange on a report, oldest first."""
    return ReportFolder.open(output_dir, report_id).read_transcript()


def append_turn(output_dir: Path, report_id: str, turn: ChatTurnRecord) -> int:
    """Add one exchange to the report's transcript.json (never to report.html); return its index."""
    return ReportFolder.open(output_dir, report_id).append_turn(turn)


def update_turn(output_dir: Path, report_id: str, interaction_id: str, **changes: Any) -> bool:
    """Change fields of the turn logged as `interaction_id` (e.g. its rating); False if absent."""
    return ReportFolder.open(output_dir, report_id).update_turn(interaction_id, **changes)
