"""Which report emails went out: a ledger in each report folder, so an email that failed for a
passing reason is sent by a later run, once, and one that went out is never sent again."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

from finops_agent.delivery.base import DeliveryResult
from finops_agent.reports.folder import (
    LEDGER,
    DeliveryLedger,
    DeliveryStatus,
    read_ledger,
    write_ledger,
)

__all__ = ["LEDGER", "Send", "Status", "read_ledger", "record_delivery", "send_pending"]

log = logging.getLogger(__name__)
_LOCK = ".delivery.lock"
Status = DeliveryStatus
Send = Callable[[Path, list[str], str | None], DeliveryResult]


def record_delivery(report_dir: Path, result: DeliveryResult, report_url: str | None) -> Status:
    """Write what happened to the report's email; return the status recorded."""
    status: Status = "sent" if result.sent else "pending" if result.retryable else "failed"
    previous = read_ledger(report_dir)
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    write_ledger(
        report_dir,
        DeliveryLedger(
            status=status,
            recipients=result.recipients,
            report_url=report_url,
            message_id=result.message_id,
            mailer=result.mailer,
            attempts=(previous.attempts if previous else 0) + result.attempts,
            last_error=None if result.sent else result.warning,
            first_tried_at=previous.first_tried_at if previous else now,
            updated_at=now,
        ),
    )
    return status


@contextlib.contextmanager
def _claimed(report_dir: Path) -> Iterator[bool]:
    """Hold the report's delivery lock if no other run holds it; yield whether it was taken."""
    with (report_dir / _LOCK).open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _expire(report_dir: Path, ledger: DeliveryLedger, max_age_days: int) -> None:
    expired = ledger.model_copy(
        update={
            "status": "expired",
            "last_error": f"{ledger.last_error}; not retried after {max_age_days} days",
            "updated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
    )
    write_ledger(report_dir, expired)


def send_pending(
    output_dir: Path, send: Send, *, max_age_days: int, now: dt.datetime | None = None
) -> list[str]:
    """Send every pending report email under output_dir once; return one line per outcome.

    A report folder is claimed with a lock, so two runs starting together send it once. The
    first send that fails again ends the pass: the server is still down.
    """
    now = now or dt.datetime.now(dt.UTC)
    notes: list[str] = []
    for ledger_path in sorted(output_dir.glob(f"*/{LEDGER}")):
        folder = ledger_path.parent
        waiting = read_ledger(folder)
        if waiting is None or waiting.status != "pending":
            continue
        with _claimed(folder) as mine:
            ledger = read_ledger(folder)
            if not mine or ledger is None or ledger.status != "pending":
                continue  # another run has it, or sent it meanwhile
            first = dt.datetime.fromisoformat(ledger.first_tried_at)
            if now - first > dt.timedelta(days=max_age_days):
                _expire(folder, ledger, max_age_days)
                notes.append(
                    f"email of report {folder.name} expired unsent after {max_age_days} days"
                )
                continue
            result = send(folder, list(ledger.recipients), ledger.report_url)
            if result.sent:
                notes.append(f"emailed report {folder.name} that an earlier run could not send")
                continue
            notes.append(f"email of report {folder.name} still not sent: {result.warning}")
            if result.retryable:
                break
    return notes
