"""The reports folder on disk: report ids, atomic writes, the index, the transcript and the ledger.

Layout: `<output_dir>/<report_id>/` holds report.json (a ReportDocument), charts.json,
report.html, once someone chatted transcript.json, and once an email was tried delivery.json;
`<output_dir>/index.html` lists them. A chat never rewrites report.html: the page that is
emailed and served stays the report as rendered.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import re
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, TypeAdapter, ValidationError

from finops_agent.errors import UserError
from finops_agent.formatting import money, signed_pct
from finops_agent.reports.document import (
    ChatTurnRecord,
    ReportDocument,
    ReportDocumentError,
    load,
)

__all__ = [
    "CHARTS_JSON",
    "INDEX_HTML",
    "LEDGER",
    "LISTING_COLUMNS",
    "REPORT_HTML",
    "REPORT_JSON",
    "TRANSCRIPT_JSON",
    "DeliveryLedger",
    "DeliveryStatus",
    "InvalidReportIdError",
    "ListingRow",
    "ReportEntry",
    "ReportFolder",
    "ReportNotFoundError",
    "atomic_write",
    "check_report_id",
    "list_reports",
    "new_report_id",
    "read_ledger",
    "remove_stale_temp_files",
    "report_folder",
    "write_index",
    "write_ledger",
]

REPORT_JSON = "report.json"
REPORT_HTML = "report.html"
CHARTS_JSON = "charts.json"
TRANSCRIPT_JSON = "transcript.json"
LEDGER = "delivery.json"
INDEX_HTML = "index.html"
_INDEX_LOCK = ".index.lock"
_CHAT_LOCK = ".chat.lock"
_REPORT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_ID_TIME = re.compile(r"^(\d{8}T\d{6}Z)")
# what atomic_write's mkstemp names look like (.report.html.k3j_9x2a), and when one is abandoned:
# a live write takes seconds, so an older one belongs to a run that was killed mid-write
_TEMP_NAME = re.compile(r"^\.[^/]+\.[a-z0-9_]{8}$")
_STALE_TEMP_S: float = 3600.0

DeliveryStatus = Literal["sent", "pending", "failed", "expired"]
_TRANSCRIPT = TypeAdapter(list[ChatTurnRecord])


class InvalidReportIdError(UserError, ValueError):
    """A report id that could name something outside the reports folder."""


class ReportNotFoundError(UserError, FileNotFoundError):
    """No report with that id under the reports folder."""


def new_report_id(now: dt.datetime | None = None) -> str:
    """Sortable, unique, path-safe report id: 20261124T093000Z-a1b2c3."""
    now = now or dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def check_report_id(report_id: str) -> str:
    """Return `report_id` if it is one plain path segment, else raise InvalidReportIdError."""
    if (
        not isinstance(report_id, str)
        or not report_id
        or "\x00" in report_id
        or ".." in report_id
        or Path(report_id).is_absolute()
        or not _REPORT_ID.match(report_id)
    ):
        raise InvalidReportIdError(
            f"invalid report id {report_id!r}: use the id printed by `finops report` "
            "(letters, digits, '-', '_' and '.', no path)"
        )
    return report_id


def atomic_write(path: Path, text: str) -> None:
    """Write text to a temporary file beside `path`, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_stale_temp_files(output_dir: Path, max_age_s: float = _STALE_TEMP_S) -> list[Path]:
    """Delete temporary files that runs killed mid-write left in output_dir and its report folders."""
    cutoff = time.time() - max_age_s
    removed = []
    for path in [*output_dir.glob(".*"), *output_dir.glob("*/.*")]:
        try:
            if _TEMP_NAME.match(path.name) and path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path)
        except OSError:  # removed by a concurrent run meanwhile
            continue
    return removed


class DeliveryLedger(BaseModel):
    """delivery.json: what happened to a report's email, so a pending one is sent once later."""

    status: DeliveryStatus
    recipients: list[str]
    report_url: str | None = None
    message_id: str | None = None
    mailer: str | None = None
    attempts: int = 0
    last_error: str | None = None
    # retries count their age from the first try, not the latest
    first_tried_at: str
    updated_at: str


def read_ledger(report_dir: Path) -> DeliveryLedger | None:
    """The report's delivery record, or None when no email was tried (or the file is unreadable)."""
    try:
        return DeliveryLedger.model_validate_json((report_dir / LEDGER).read_bytes())
    except (OSError, ValidationError):
        return None


def write_ledger(report_dir: Path, ledger: DeliveryLedger) -> None:
    """Replace the report's delivery record atomically."""
    atomic_write(report_dir / LEDGER, json.dumps(ledger.model_dump(), indent=1))


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass(frozen=True)
class ReportFolder:
    """One report's folder: its document, files, chat transcript and delivery ledger."""

    path: Path

    @classmethod
    def open(cls, output_dir: Path, report_id: str) -> ReportFolder:
        """The existing report `report_id`; the id must be one plain path segment inside output_dir."""
        check_report_id(report_id)
        root = output_dir.resolve()
        folder = (root / report_id).resolve()
        # a symlinked report folder must not lead outside the reports folder either
        if folder.parent != root:
            raise InvalidReportIdError(f"report {report_id!r} resolves outside {root}")
        if not (folder / REPORT_JSON).is_file():
            raise ReportNotFoundError(f"no report {report_id!r} in {root} (report.json missing)")
        return cls(folder)

    @classmethod
    def create(cls, output_dir: Path, report_id: str) -> ReportFolder:
        """The folder a new report is written to (created if missing)."""
        folder = cls(output_dir / check_report_id(report_id))
        folder.path.mkdir(parents=True, exist_ok=True)
        return folder

    @property
    def report_id(self) -> str:
        """The folder name, which is the report id."""
        return self.path.name

    def read(self) -> ReportDocument:
        """report.json, checked to be the report it claims to be; ReportDocumentError if not."""
        document = load(self.path / REPORT_JSON)
        if document.report_id != self.report_id:
            raise ReportDocumentError(
                f"{self.path / REPORT_JSON} holds report {document.report_id!r}, "
                f"not {self.report_id!r}"
            )
        return document

    def write(self, document: ReportDocument) -> None:
        """Write report.json atomically."""
        atomic_write(self.path / REPORT_JSON, document.to_json())

    def write_text(self, name: str, text: str) -> Path:
        """Write one file of the report atomically; return its path."""
        atomic_write(self.path / name, text)
        return self.path / name

    def read_transcript(self) -> list[ChatTurnRecord]:
        """Every chat exchange on this report, oldest first (older reports kept some in report.json)."""
        return [*self.read().chat, *self._turns()]

    def append_turn(self, turn: ChatTurnRecord) -> int:
        """Add one exchange to transcript.json; return its index there."""
        # one writer at a time per report: two chats must not lose each other's turns
        with _exclusive(self.path / _CHAT_LOCK):
            turns = self._turns()
            turns.append(turn)
            self._write_turns(turns)
            return len(turns) - 1

    def update_turn(self, interaction_id: str, **changes: Any) -> bool:
        """Change fields of the turn logged as `interaction_id` (e.g. its rating); False if absent."""
        with _exclusive(self.path / _CHAT_LOCK):
            turns = self._turns()
            for index, turn in enumerate(turns):
                if turn.interaction_id == interaction_id:
                    turns[index] = ChatTurnRecord.model_validate({**turn.model_dump(), **changes})
                    self._write_turns(turns)
                    return True
        return False

    def _turns(self) -> list[ChatTurnRecord]:
        path = self.path / TRANSCRIPT_JSON
        if not path.is_file():
            return []
        try:
            return _TRANSCRIPT.validate_json(path.read_bytes())
        except (OSError, ValidationError) as exc:
            raise ReportDocumentError(f"{path}: not a chat transcript ({exc})") from None

    def _write_turns(self, turns: list[ChatTurnRecord]) -> None:
        atomic_write(self.path / TRANSCRIPT_JSON, _TRANSCRIPT.dump_json(turns, indent=1).decode())

    def read_ledger(self) -> DeliveryLedger | None:
        """This report's delivery record, or None."""
        return read_ledger(self.path)

    def write_ledger(self, ledger: DeliveryLedger) -> None:
        """Replace this report's delivery record."""
        write_ledger(self.path, ledger)


def report_folder(output_dir: Path, report_id: str) -> Path:
    """The folder of an existing report, validated as in ReportFolder.open."""
    return ReportFolder.open(output_dir, report_id).path


@dataclass(frozen=True)
class ReportEntry:
    """One folder of the reports folder as listed: its document, or why it cannot be read."""

    report_id: str
    path: Path
    document: ReportDocument | None
    problem: str | None = None

    @property
    def complete(self) -> bool:
        """True when the document was read and report.html is written."""
        return self.document is not None and (self.path / REPORT_HTML).is_file()

    @property
    def created(self) -> dt.datetime:
        """When the report was generated (from report.json, else from the id), for sorting."""
        if self.document is not None and self.document.generated_at:
            with contextlib.suppress(ValueError):
                stamp = dt.datetime.fromisoformat(self.document.generated_at)
                return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)
        match = _ID_TIME.match(self.report_id)
        if match:
            with contextlib.suppress(ValueError):
                return dt.datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
        return dt.datetime.min.replace(tzinfo=dt.UTC)

    def row(self) -> ListingRow:
        """The listed columns of this report, money and change as the reports write them."""
        document = self.document
        if document is None:
            return ListingRow(self.report_id, "", "unreadable", "", "", "", "", self.problem)
        metrics = document.metrics
        return ListingRow(
            report_id=self.report_id,
            window=document.window.period if document.window else "",
            kind=document.kind,
            total=money(metrics.unblended_cost, document.currency),
            change=signed_pct(metrics.change_pct),
            findings=str(len(document.findings)),
            savings=money(metrics.monthly_savings_usd, document.currency),
            problem=self.problem,
            href=f"{self.report_id}/{REPORT_HTML}" if self.complete else None,
        )


# what `finops list` and index.html show, in this order
LISTING_COLUMNS: tuple[str, ...] = (
    "id",
    "window",
    "kind",
    "total",
    "change",
    "findings",
    "savings/month",
)


@dataclass(frozen=True)
class ListingRow:
    """One report as listed by `finops list` and index.html (cells in LISTING_COLUMNS order)."""

    report_id: str
    window: str
    kind: str
    total: str
    change: str
    findings: str
    savings: str
    problem: str | None = None
    href: str | None = None

    @property
    def cells(self) -> tuple[str, ...]:
        """The cell texts in LISTING_COLUMNS order."""
        return (
            self.report_id,
            self.window,
            self.kind,
            self.total,
            self.change,
            self.findings,
            self.savings,
        )


def _entry(folder: Path) -> ReportEntry:
    # listed, never followed: the index must not link to a folder outside the reports folder
    if folder.resolve().parent != folder.parent.resolve():
        return ReportEntry(folder.name, folder, None, f"{folder} resolves outside {folder.parent}")
    try:
        document = ReportFolder(folder).read()
    except ReportDocumentError as exc:
        return ReportEntry(folder.name, folder, None, str(exc))
    if not (folder / REPORT_HTML).is_file():
        return ReportEntry(
            folder.name,
            folder,
            document,
            "report.html missing: still being written, or its run was stopped",
        )
    return ReportEntry(folder.name, folder, document)


def latest_report_id(output_dir: Path) -> str:
    """The newest complete report's id; a UserError when there is none yet."""
    for entry in list_reports(output_dir):
        if entry.complete:
            return entry.report_id
    raise ReportNotFoundError(
        f"no report in {output_dir} yet: run a report first (finops report, or the "
        "ad-hoc-report deployment)"
    )


def list_reports(output_dir: Path) -> list[ReportEntry]:
    """Every report folder under output_dir, newest first, unreadable ones with their problem."""
    if not output_dir.is_dir():
        return []
    entries = [
        _entry(path)
        for path in output_dir.iterdir()
        if not path.name.startswith(".")
        and path.is_dir()
        and any((path / name).exists() for name in (REPORT_JSON, REPORT_HTML))
    ]
    return sorted(entries, key=lambda e: (e.created, e.report_id), reverse=True)


def write_index(output_dir: Path, render: Callable[[list[ReportEntry]], str]) -> Path:
    """Regenerate output_dir/index.html from `render(reports)`, listing every report newest first."""
    output_dir.mkdir(parents=True, exist_ok=True)
    # list and write under one lock: otherwise a run that listed before another run's report
    # landed can overwrite the newer index with its stale list
    with (output_dir / _INDEX_LOCK).open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        remove_stale_temp_files(output_dir)
        atomic_write(output_dir / INDEX_HTML, render(list_reports(output_dir)))
    return output_dir / INDEX_HTML
