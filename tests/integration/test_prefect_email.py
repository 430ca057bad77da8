"""A scheduled report reaches its recipients; a failed one sends them an alert saying why.

Runs the `finops-report` flow in-process against a real SMTP server (aiosmtpd) on 127.0.0.1.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from finops_agent.delivery.outbox import read_ledger
from finops_agent.orchestration.launcher import free_port
from finops_agent.reports.folder import DeliveryLedger
from tests import tiny

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]
TEAM = "finops-team@example.com"


def _ledger(folder: Path) -> DeliveryLedger:
    ledger = read_ledger(folder)
    assert ledger is not None, f"no readable delivery.json in {folder}"
    return ledger


class Inbox:
    """aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[list[str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(parsed)  # type: ignore[arg-type]
        self.envelopes.append(list(envelope.rcpt_tos))
        return "250 OK"


@pytest.fixture
def smtp_port(monkeypatch: pytest.MonkeyPatch) -> int:
    """A free loopback port configured as the SMTP mailer (nothing listens there yet)."""
    port = free_port()
    monkeypatch.setenv("FINOPS_MAILER", "smtp")
    monkeypatch.setenv("FINOPS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("FINOPS_SMTP_PORT", str(port))
    # the default sender (finops-agent@localhost) fails the email module's address check
    monkeypatch.setenv("FINOPS_MAIL_FROM", "finops-agent@example.com")
    # HTML bars instead of Chromium images keep this test about delivery, and fast
    monkeypatch.setenv("FINOPS_EMAIL_IMAGES", "false")
    monkeypatch.setenv("FINOPS_EMAIL_RETRY_DELAYS_S", "[]")
    return port


@pytest.fixture
def inbox(smtp_port: int) -> Iterator[Inbox]:
    """An SMTP server on that port that keeps every message."""
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()


def _weekly_report(data: Path, out: Path) -> Path:
    from flows.report import finops_report

    return Path(
        finops_report(
            source=str(data),
            families=["cost"],
            start="2026-10-01",
            end="2026-11-01",
            output_dir=str(out),
            recipients=[TEAM],
        )
    )


def test_report_is_emailed_to_the_run_recipients(inbox: Inbox, tmp_path: Path) -> None:
    from flows.report import finops_report

    data = tiny.write("cur2", tmp_path / "data")
    path = finops_report(
        source=str(data),
        families=["tagging"],
        start="2026-10-01",
        end="2026-11-01",
        output_dir=str(tmp_path / "reports"),
        recipients=[TEAM],
    )
    assert Path(path).is_file()
    assert inbox.envelopes == [[TEAM]]
    body = inbox.messages[0].get_body(("html",))
    assert body is not None and "$34.00" in body.get_content()


def test_failed_run_emails_an_alert_that_says_why(inbox: Inbox, tmp_path: Path) -> None:
    from flows.report import finops_report

    missing = tmp_path / "no-such-export"
    with pytest.raises(Exception, match="does not exist"):
        finops_report(source=str(missing), families=["cost"], recipients=[TEAM])
    assert inbox.envelopes == [[TEAM]]
    alert = inbox.messages[0]
    assert alert["Subject"].startswith("[finops] cost-") and "failed" in alert["Subject"]
    text = alert.get_content()
    assert f"source {missing} does not exist" in text
    assert f"source = '{missing}'" in text and "families = ['cost']" in text


@pytest.mark.fault
def test_an_email_an_smtp_outage_stopped_goes_out_with_the_next_run_and_only_once(
    smtp_port: int, tmp_path: Path
) -> None:
    """SMTP down: the report is kept and recorded as pending; the next run sends it and its own
    report; the run after that sends only its own."""
    data, out = tiny.write("cur2", tmp_path / "data"), tmp_path / "reports"
    first = _weekly_report(data, out)  # nothing listens on the SMTP port
    assert first.is_file()
    ledger = _ledger(first.parent)
    assert ledger.status == "pending" and "127.0.0.1" in (ledger.last_error or "")

    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        second = _weekly_report(data, out)
        assert len(handler.messages) == 2
        assert _ledger(first.parent).status == "sent"
        assert _ledger(second.parent).status == "sent"
        third = _weekly_report(data, out)
    finally:
        controller.stop()
    assert len(handler.messages) == 3 and handler.envelopes == [[TEAM]] * 3
    assert _ledger(third.parent).status == "sent"
    # the old report was sent by one attempt that failed and one that succeeded, nothing more
    assert _ledger(first.parent).attempts == 2
