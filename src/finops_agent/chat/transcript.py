"""A report on disk for chat: safe look-up by id, and its transcript kept in report.json and HTML."""

from __future__ import annotations

import contextlib
import fcntl
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from finops_agent.errors import UserError
from finops_agent.report.render import atomic_write, environment
from finops_agent.summarise import json_value

__all__ = [
    "InvalidReportIdError",
    "ReportNotFoundError",
    "append_turn",
    "load_report",
    "report_folder",
    "update_turn",
]

_REPORT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_CHAT_START = "<!-- finops:chat -->"
_CHAT_END = "<!-- /finops:chat -->"
_FALLBACK_ANCHOR = '<section aria-labelledby="appendix-h">'


class InvalidReportIdError(UserError, ValueError):
    """A report id that could name something outside the reports folder."""


class ReportNotFoundError(UserError, FileNotFoundError):
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
    """The transcript section of report.html for these turns."""
    return environment().get_template("partials/chat.html.j2").render(chat=turns)


def _splice(html: str, section: str) -> str:
    block = f"{_CHAT_START}\n{section}\n{_CHAT_END}"
    start, end = html.find(_CHAT_START), html.find(_CHAT_END)
    if start >= 0 and end > start:
        return html[:start] + block + html[end + len(_CHAT_END) :]
    anchor = html.find(_FALLBACK_ANCHOR)
    if anchor < 0:
        anchor = html.rfind("</main>")
    if anchor < 0:
        raise ValueError("report.html has no place for a chat transcript")
    return html[:anchor] + block + "\n" + html[anchor:]


def _write(folder: Path, data: dict[str, Any]) -> None:
    atomic_write(folder / "report.json", json.dumps(data, indent=1, default=json_value))
    html_path = folder / "report.html"
    if html_path.is_file():
        html = html_path.read_text(encoding="utf-8")
        atomic_write(html_path, _splice(html, chat_html(data["chat"])))


def append_turn(output_dir: Path, report_id: str, turn: dict[str, Any]) -> int:
    """Add one exchange to report.json's chat list and to report.html; return its index."""
    folder = report_folder(output_dir, report_id)
    with _locked(folder):
        data = load_report(output_dir, report_id)
        data.setdefault("chat", []).append(turn)
        _write(folder, data)
        return len(data["chat"]) - 1


def update_turn(output_dir: Path, report_id: str, interaction_id: str, **changes: Any) -> bool:
    """Change fields of the turn logged as `interaction_id` (e.g. its rating); False if absent."""
    folder = report_folder(output_dir, report_id)
    with _locked(folder):
        data = load_report(output_dir, report_id)
        for turn in data.get("chat", []):
            if turn.get("interaction_id") == interaction_id:
                turn.update(changes)
                _write(folder, data)
                return True
    return False
