"""Email one finished report (the `--email` of report runs, `finops send`, pending resends)."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlparse

from finops_agent.delivery.base import DeliveryResult, Mailer
from finops_agent.delivery.factory import build_mailer
from finops_agent.delivery.outbox import record_delivery, send_pending
from finops_agent.delivery.send import deliver
from finops_agent.email_addresses import AddressError, parse_recipients
from finops_agent.settings import Settings

log = logging.getLogger(__name__)


def email_report(
    settings: Settings,
    report_dir: Path,
    recipients: str | list[str] | None = None,
    *,
    report_url: str | None = None,
    mailer: Mailer | None = None,
) -> DeliveryResult:
    """Compose and send one report's email; never raises, a failure comes back as a warning.

    Recipients default to FINOPS_MAIL_TO; `report_url` (e.g. a presigned S3 URL) is used
    when the report is too large to attach.
    """
    try:
        to = parse_recipients(recipients if recipients else settings.mail_to)
    except AddressError as exc:
        return DeliveryResult(sent=False, warnings=[f"email not sent: {exc}"])
    if not to:
        return DeliveryResult(
            sent=False, warnings=["email not sent: no recipients (pass --to or set FINOPS_MAIL_TO)"]
        )
    if report_url is not None and urlparse(report_url).scheme not in ("https", "http"):
        return DeliveryResult(
            sent=False,
            recipients=to,
            warnings=[f"email not sent: report link {report_url[:60]!r} is not an http(s) URL"],
        )
    try:
        if mailer is None:
            mailer = build_mailer(settings)
    except Exception as exc:  # a broken mailer set-up must never cost the report either
        return DeliveryResult(sent=False, recipients=to, warnings=[f"email not sent: {exc}"])
    if mailer is None:
        return DeliveryResult(
            sent=False,
            recipients=to,
            warnings=["email not sent: FINOPS_MAILER is none (choose smtp or ses)"],
        )
    result = _compose_and_deliver(settings, report_dir, to, mailer, report_url)
    try:
        record_delivery(report_dir, result, report_url)
    except OSError as exc:  # the ledger is bookkeeping: the email went (or not) regardless
        result.warnings.append(f"delivery record not written in {report_dir}: {exc}")
    return result


def _compose_and_deliver(
    settings: Settings, report_dir: Path, to: list[str], mailer: Mailer, report_url: str | None
) -> DeliveryResult:
    from finops_agent.report.email import compose_email

    try:
        composed = compose_email(
            report_dir,
            sender=settings.mail_from,
            recipients=to,
            max_bytes=settings.email_max_bytes,
            attach=settings.email_attach_report,
            charts_limit=settings.email_charts,
            with_images=settings.email_images,
            chromium=settings.chromium_path,
            report_url=report_url,
        )
    except Exception as exc:  # composing must never cost the report that is already written
        log.warning("composing the email for %s failed: %s", report_dir, exc)
        return DeliveryResult(
            sent=False, recipients=to, warnings=[f"email not composed for {report_dir}: {exc}"]
        )
    if composed.size_bytes > settings.email_max_bytes:
        return DeliveryResult(
            sent=False,
            recipients=to,
            mailer=mailer.name,
            size_bytes=composed.size_bytes,
            warnings=[*composed.warnings, "email not sent: over the size limit"],
        )
    result = deliver(mailer, composed.message, to, delays=settings.email_retry_delays_s)
    result.images, result.attached, result.linked = (
        composed.images,
        composed.attached,
        composed.linked,
    )
    result.warnings = [*composed.warnings, *result.warnings]
    return result


def resend_pending(settings: Settings) -> list[str]:
    """Send the report emails earlier runs could not (SMTP or SES down), each once."""

    def send(folder: Path, recipients: list[str], url: str | None) -> DeliveryResult:
        return email_report(settings, folder, recipients, report_url=url)

    return send_pending(Path(settings.output_dir), send, max_age_days=settings.email_resend_days)
