"""The alert for a failed report run: what failed, why, with which parameters, and where to look."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from finops_agent.delivery.base import DeliveryResult, Mailer
    from finops_agent.settings import Settings

log = logging.getLogger(__name__)
FAILURE_KEY = "finops-report-failure"


@dataclass(frozen=True)
class Alert:
    """A failure alert ready to log, show as an artifact or email."""

    subject: str
    body: str
    recipients: tuple[str, ...]


def failure_alert(
    *,
    flow_name: str,
    run_name: str,
    reason: str,
    parameters: Mapping[str, Any],
    run_url: str | None,
    recipients: Sequence[str],
) -> Alert:
    """The alert text: the reason first, then the parameters that reproduce the run."""
    reason = reason.strip() or "the run failed without a message"
    shown = {k: v for k, v in parameters.items() if v not in (None, [], {}, "")}
    lines = [
        f"{flow_name} run {run_name} failed.",
        "",
        f"Why: {reason}",
        "",
        "Parameters:",
        *[f"  {k} = {v!r}" for k, v in sorted(shown.items())],
    ]
    if not shown:
        lines.append("  (all defaults)")
    if run_url:
        lines += ["", f"Run: {run_url}"]
    # a subject is one header line: collapse whitespace so a multi-line reason cannot break it
    first_line = " ".join(reason.split())[:120]
    return Alert(f"[finops] {run_name} failed: {first_line}", "\n".join(lines), tuple(recipients))


def alert_markdown(alert: Alert) -> str:
    """The alert as a markdown artifact body."""
    return f"# {alert.subject}\n\n```\n{alert.body}\n```\n"


def run_url(flow_run_id: object) -> str | None:
    """The UI address of a flow run when the Prefect UI URL is known."""
    from prefect.settings import PREFECT_UI_URL

    base = PREFECT_UI_URL.value()
    return f"{base.rstrip('/')}/runs/flow-run/{flow_run_id}" if base else None


def send_alert(settings: Settings, alert: Alert, mailer: Mailer | None = None) -> DeliveryResult:
    """Email the alert as plain text through the configured mailer; never raises."""
    from finops_agent.delivery import AddressError, DeliveryResult, deliver, parse_recipients
    from finops_agent.wiring import build_mailer

    try:
        to = parse_recipients(list(alert.recipients))
    except AddressError as exc:
        return DeliveryResult(sent=False, warnings=[f"alert email not sent: {exc}"])
    if not to:
        return DeliveryResult(sent=False, warnings=["alert email not sent: no recipients"])
    try:
        mailer = mailer or build_mailer(settings)
    except Exception as exc:  # a broken mailer setting must not hide the alert itself
        return DeliveryResult(sent=False, recipients=to, warnings=[f"alert email not sent: {exc}"])
    if mailer is None:
        return DeliveryResult(
            sent=False,
            recipients=to,
            warnings=["alert email not sent: FINOPS_MAILER is none (choose smtp or ses)"],
        )
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = ", ".join(to)
    message["Subject"] = alert.subject
    message.set_content(alert.body)
    return deliver(mailer, message, to, delays=settings.email_retry_delays_s)


def alert_on_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """Prefect `on_failure` hook: log the alert, attach it as an artifact, email the recipients."""
    from prefect.artifacts import create_markdown_artifact
    from prefect.logging import get_run_logger

    from finops_agent.settings import load_settings

    parameters = dict(flow_run.parameters or {})
    settings = load_settings()
    recipients = parameters.get("recipients") or settings.mail_to
    alert = failure_alert(
        flow_name=flow.name,
        run_name=flow_run.name,
        reason=state.message or "",
        parameters=parameters,
        run_url=run_url(flow_run.id),
        recipients=recipients,
    )
    logger = get_run_logger()
    logger.error("%s\n%s", alert.subject, alert.body)
    try:
        create_markdown_artifact(alert_markdown(alert), key=FAILURE_KEY, description=alert.subject)
    except Exception as exc:  # the alert must still reach the log
        logger.warning("could not attach the failure alert artifact: %s", exc)
    if alert.recipients:
        delivery = send_alert(settings, alert)
        if delivery.sent:
            logger.info(
                "alert emailed to %s via %s", ", ".join(delivery.recipients), delivery.mailer
            )
        else:
            logger.warning("%s", delivery.warning)
