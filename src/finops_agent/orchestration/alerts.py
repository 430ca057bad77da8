"""The alert for a failed report run: what failed, why, with which parameters, and where to look."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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
    first_line = reason.splitlines()[0][:120]
    return Alert(f"[finops] {run_name} failed: {first_line}", "\n".join(lines), tuple(recipients))


def alert_markdown(alert: Alert) -> str:
    """The alert as a markdown artifact body."""
    return f"# {alert.subject}\n\n```\n{alert.body}\n```\n"


def run_url(flow_run_id: object) -> str | None:
    """The UI address of a flow run when the Prefect UI URL is known."""
    from prefect.settings import PREFECT_UI_URL

    base = PREFECT_UI_URL.value()
    return f"{base.rstrip('/')}/runs/flow-run/{flow_run_id}" if base else None


def alert_on_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """Prefect `on_failure` hook: log the alert and attach it to the run as an artifact."""
    from prefect.artifacts import create_markdown_artifact
    from prefect.logging import get_run_logger

    from finops_agent.settings import load_settings

    parameters = dict(flow_run.parameters or {})
    recipients = parameters.get("recipients") or load_settings().mail_to
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
        # Email delivery lands with finops_agent.delivery (branch report-email); until then the
        # alert lives in the run log, the failure artifact and the state message.
        logger.warning(
            "alert email to %s not sent: no mailer is wired for alerts yet",
            ", ".join(alert.recipients),
        )
