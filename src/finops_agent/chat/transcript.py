"""A report on disk for chat: safe look-up by id, and its transcript in a file beside the report.

report.html is never rewritten by a chat: the page that `finops send` emails stays the
report as rendered, and the transcript is shown from transcript.json (the portal, or
`finops send --with-chat`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from finops_agent.report.render import atomic_write, environment
from finops_agent.summarise import json_value

__all__ = [
    "TRANSCRIPT_FILE",
    "InvalidReportIdError",
    "ReportNotFoundError",
    "append_turn",
    "chat_html",
    "load_report",
    "load_transcript",
    "report_folder",
    "update_turn",
]

_REPORT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
TRANSCRIPT_FILE = "transcript.json"


class InvalidReportIdError(ValueError):
    """A report id that could name something outside the reports folder."""


class ReportNotFoundError(FileNotFoundError):
    """No report with that id under the reports folder."""


def report_folder(output_dir: Path, report_id: str) -> Path:
    """The folder of a report; the id must be one plain path segment inside `output_dir`."""
    if (
        not report_id
        or "\x00" in report_id
        or ".." in report_id
        or Path(report_id).is_absolute()
        or not _REPORT_ID.match(report_id)
    ):
        raise InvalidReportIdError(
            f"invalid report id {report_id!r}: use the id printed by `finops report` "
            "(letters, digits, '-', '_' and '.', no path)"
        )
    root = output_dir.resolve()
    folder = (root / report_id).resolve()
    # a symlinked report folder must not lead outside the reports folder either
    if folder.parent != root:
        raise InvalidReportIdError(f"report {report_id!r} resolves outside {root}")
    if not (folder / "report.json").is_file():
        raise ReportNotFoundError(f"no report {report_id!r} in {root} (report.json missing)")
    return folder


def load_report(output_dir: Path, report_id: str) -> dict[str, Any]:
    """The report.json of a report, checked to be the report it claims to be."""
    path = report_folder(output_dir, report_id) / "report.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ReportNotFoundError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("report_id") != report_id:
        raise ReportNotFoundError(f"{path} does not hold report {report_id!r}")
    return data


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    # one writer at a time per report: two chats must not lose each other's turns
    with (folder / ".chat.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def chat_html(turns: list[dict[str, Any]]) -> str:
    """The transcript section (HTML) for these turns, for an email that asks for the chat."""
    return environment().get_template("partials/chat.html.j2").render(chat=turns)


def load_transcript(output_dir: Path, report_id: str) -> list[dict[str, Any]]:
    """Every saved exchange on a report, oldest first (turns kept in report.json by older runs too)."""
    folder = report_folder(output_dir, report_id)
    legacy = load_report(output_dir, report_id).get("chat", [])
    return [t for t in [*legacy, *_read_turns(folder)] if isinstance(t, dict)]


def _read_turns(folder: Path) -> list[dict[str, Any]]:
    path = folder / TRANSCRIPT_FILE
    if not path.is_file():
        return []
    try:
        turns = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read the transcript {path}: {exc}") from None
    if not isinstance(turns, list):
        raise ValueError(f"{path} holds no list of chat turns")
    return turns


def _write_turns(folder: Path, turns: list[dict[str, Any]]) -> None:
    atomic_write(folder / TRANSCRIPT_FILE, json.dumps(turns, indent=1, default=json_value))


def append_turn(output_dir: Path, report_id: str, turn: dict[str, Any]) -> int:
    """Add one exchange to the report's transcript file; return its index there."""
    folder = report_folder(output_dir, report_id)
    with _locked(folder):
        turns = _read_turns(folder)
        turns.append(turn)
        _write_turns(folder, turns)
        return len(turns) - 1


def update_turn(output_dir: Path, report_id: str, interaction_id: str, **changes: Any) -> bool:
    """Change fields of the turn logged as `interaction_id` (e.g. its rating); False if absent."""
    folder = report_folder(output_dir, report_id)
    with _locked(folder):
        turns = _read_turns(folder)
        for turn in turns:
            if turn.get("interaction_id") == interaction_id:
                turn.update(changes)
                _write_turns(folder, turns)
                return True
    return False
