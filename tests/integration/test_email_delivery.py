"""The emailed report, captured by a real SMTP server (aiosmtpd) and by SES under moto, parsed back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from aiosmtpd.controller import Controller
from moto import mock_aws

from finops_agent.delivery.report_mail import email_report
from finops_agent.delivery.ses import SesMailer
from finops_agent.settings import Settings, load_settings
from tests import tiny
from tests.integration.cdp import require_chromium
from tests.integration.dynamo_servers import free_port
from tests.integration.test_prefect_email import Inbox
from tests.support.reports import make_report

pytestmark = pytest.mark.integration
TEAM = "finops-team@example.com"
HOSTILE = "<script>alert(1)</script>"


@pytest.fixture
def smtp() -> Any:
    """An SMTP server on a free loopback port that keeps what it receives."""
    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def _settings(tmp_path: Path, port: int, **overrides: Any) -> Settings:
    return load_settings(
        output_dir=tmp_path / "reports",
        home=tmp_path / "home",
        mailer="smtp",
        smtp_host="127.0.0.1",
        smtp_port=port,
        mail_from="finops-agent@example.com",
        email_retry_delays_s=[],
        **overrides,
    )


def _report(settings: Settings, tmp_path: Path) -> Path:
    source = tiny.write("cur2", tmp_path / "data")
    return Path(settings.output_dir) / make_report(settings, source)


def test_smtp_email_carries_cid_png_charts_text_totals_and_the_report(
    smtp: Any, tmp_path: Path
) -> None:
    require_chromium()  # kaleido draws the PNG charts with it
    inbox, port = smtp
    # attaching the interactive report is an option; by default it is linked
    settings = _settings(tmp_path, port, email_attach_report=True, email_max_bytes=10 * 1024 * 1024)
    folder = _report(settings, tmp_path)
    result = email_report(settings, folder, TEAM)
    assert result.sent, result.warnings
    (message,) = inbox.messages
    assert inbox.envelopes == [[TEAM]]
    assert message["Subject"] == "AWS cost report 2026-10: $34.00"
    html = message.get_body(preferencelist=("html",)).get_content()
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "$34.00" in text and "<script" not in html
    # every image the HTML references is a real PNG part with that Content-ID
    cids = {part["Content-ID"].strip("<>"): part for part in message.walk() if part["Content-ID"]}
    referenced = [cid for cid in cids if f"cid:{cid}" in html]
    assert referenced and len(referenced) == result.images
    for cid in referenced:
        assert cids[cid].get_content_type() == "image/png"
        assert cids[cid].get_payload(decode=True)[:8] == b"\x89PNG\r\n\x1a\n"
    report_id = folder.name
    attachments = [
        p.get_filename() for p in message.iter_attachments() if p.get_content_type() == "text/html"
    ]
    assert attachments == [f"aws-cost-report-{report_id}.html"] and result.attached
    assert len(message.as_bytes()) <= settings.email_max_bytes


def test_over_the_size_limit_the_report_is_linked_not_attached(smtp: Any, tmp_path: Path) -> None:
    inbox, port = smtp
    settings = _settings(tmp_path, port, email_max_bytes=400_000, email_images=False)
    folder = _report(settings, tmp_path)
    link = "https://reports.example.com/presigned/report.html?X-Amz-Signature=abc"
    result = email_report(settings, folder, TEAM, report_url=link)
    assert result.sent and result.linked and not result.attached
    (message,) = inbox.messages
    assert len(message.as_bytes()) <= 400_000
    assert f'href="{link}"' in message.get_body(preferencelist=("html",)).get_content()
    assert not [p for p in message.iter_attachments() if p.get_content_type() == "text/html"]
    # no Chromium asked for: the charts are HTML bars, never a broken image
    assert "cid:" not in message.get_body(preferencelist=("html",)).get_content()


@pytest.mark.hostile
@pytest.mark.parametrize(
    "recipient", ["a@example.com\r\nBcc: evil@example.net", "not-an-address", "a@b"]
)
def test_header_injection_and_bad_addresses_are_refused(
    smtp: Any, tmp_path: Path, recipient: str
) -> None:
    inbox, port = smtp
    settings = _settings(tmp_path, port)
    folder = _report(settings, tmp_path)
    result = email_report(settings, folder, recipient)
    assert not result.sent and result.warnings and inbox.messages == []


@pytest.mark.hostile
def test_hostile_tag_values_are_inert_in_the_email(smtp: Any, tmp_path: Path) -> None:
    inbox, port = smtp
    settings = _settings(tmp_path, port, email_images=False)
    folder = _report(settings, tmp_path)
    data = json.loads((folder / "report.json").read_text())
    data["insights"]["markdown"] += f"\n\nOwner {HOSTILE} [x](javascript:alert(1))"
    (folder / "report.json").write_text(json.dumps(data))
    assert email_report(settings, folder, TEAM).sent
    html = inbox.messages[0].get_body(preferencelist=("html",)).get_content()
    assert "<script" not in html and 'href="javascript' not in html and "&lt;script&gt;" in html


@pytest.mark.fault
def test_smtp_down_keeps_the_report_and_says_why(tmp_path: Path) -> None:
    settings = _settings(tmp_path, free_port())  # nothing listens there
    folder = _report(settings, tmp_path)
    result = email_report(settings, folder, TEAM)
    assert not result.sent
    assert any("127.0.0.1" in w for w in result.warnings)
    assert (folder / "report.html").is_file()


def test_ses_sends_the_raw_message_from_a_verified_identity(tmp_path: Path) -> None:
    with mock_aws():
        ses = boto3.client("ses", region_name="us-east-1")
        ses.verify_email_identity(EmailAddress="finops-agent@example.com")
        settings = load_settings(
            output_dir=tmp_path / "reports",
            home=tmp_path / "home",
            mailer="ses",
            mail_from="finops-agent@example.com",
            email_images=False,
            email_retry_delays_s=[],
        )
        folder = _report(settings, tmp_path)
        result = email_report(settings, folder, TEAM, mailer=SesMailer(ses))
        assert result.sent, result.warnings
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.ses.models import ses_backends

        sent = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
        # moto lists the Destinations and the To header's addresses: one recipient, one message
        assert len(sent) == 1 and set(sent[0].destinations) == {TEAM}
        assert "AWS cost report 2026-10" in sent[0].raw_data
