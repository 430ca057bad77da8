"""The delivery ledger: what is pending, what is sent once, what expires."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest

from finops_agent.delivery.base import DeliveryResult
from finops_agent.delivery.outbox import read_ledger, record_delivery, send_pending
from finops_agent.reports.folder import DeliveryLedger
from tests.support.bounded import join_all

TEAM = ["finops-team@example.com"]


def _ledger(folder: Path) -> DeliveryLedger:
    ledger = read_ledger(folder)
    assert ledger is not None, f"no readable delivery.json in {folder}"
    return ledger


def _pending(output_dir: Path, name: str) -> Path:
    folder = output_dir / name
    folder.mkdir(parents=True)
    record_delivery(
        folder,
        DeliveryResult(sent=False, recipients=TEAM, attempts=4, retryable=True, warnings=["down"]),
        "https://example.com/r",
    )
    return folder


@pytest.mark.parametrize(
    ("result", "status"),
    [
        # server down after every retry: a later run tries again
        (DeliveryResult(sent=False, retryable=True, warnings=["connection refused"]), "pending"),
        # a refused address will be refused tomorrow too
        (DeliveryResult(sent=False, retryable=False, warnings=["550 no such user"]), "failed"),
        (DeliveryResult(sent=True, message_id="<m@x>"), "sent"),
    ],
)
def test_the_outcome_decides_the_status(
    tmp_path: Path, result: DeliveryResult, status: str
) -> None:
    assert record_delivery(tmp_path, result, None) == status
    assert _ledger(tmp_path).status == status


def test_two_runs_starting_together_send_a_pending_report_once(tmp_path: Path) -> None:
    folder = _pending(tmp_path, "r1")
    sends: list[tuple[Path, list[str], str | None]] = []
    start = threading.Barrier(2, timeout=30)
    # set when either run has finished its whole pass
    one_run_done = threading.Event()
    overlapped: list[bool] = []
    outcomes: list[list[str]] = []

    def send(report: Path, to: list[str], url: str | None) -> DeliveryResult:
        sends.append((report, to, url))
        # hold the claim until the other run has been through the folder: it must skip it,
        # not wait for it or send it too (two sends would both time out here and fail below)
        overlapped.append(one_run_done.wait(timeout=20))
        result = DeliveryResult(sent=True, recipients=to, attempts=1)
        record_delivery(report, result, url)
        return result

    def run() -> None:
        start.wait()
        outcomes.append(send_pending(tmp_path, send, max_age_days=7))
        one_run_done.set()

    runs = [threading.Thread(target=run, name=f"run-{i}") for i in range(2)]
    for thread in runs:
        thread.start()
    join_all(runs, 60, "delivery runs")
    assert sends == [(folder, TEAM, "https://example.com/r")]
    assert overlapped == [True], "the second run did not pass the folder while the first sent"
    assert sorted(outcomes) == [[], ["emailed report r1 that an earlier run could not send"]]
    assert _ledger(folder).status == "sent"
    assert send_pending(tmp_path, send, max_age_days=7) == [] and len(sends) == 1


def test_a_server_still_down_ends_the_pass(tmp_path: Path) -> None:
    _pending(tmp_path, "r1")
    _pending(tmp_path, "r2")
    tried: list[str] = []

    def send(report: Path, to: list[str], url: str | None) -> DeliveryResult:
        tried.append(report.name)
        return DeliveryResult(sent=False, retryable=True, warnings=["still down"])

    notes = send_pending(tmp_path, send, max_age_days=7)
    assert tried == ["r1"] and notes == ["email of report r1 still not sent: still down"]


def test_a_pending_email_expires_after_the_resend_window(tmp_path: Path) -> None:
    folder = _pending(tmp_path, "r1")

    def send(report: Path, to: list[str], url: str | None) -> DeliveryResult:
        raise AssertionError("an expired email must not be sent")

    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=8)
    assert send_pending(tmp_path, send, max_age_days=7, now=later) == [
        "email of report r1 expired unsent after 7 days"
    ]
    assert _ledger(folder).status == "expired"
