"""deliver(): send with retries on transient failures, and never raise."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from email.message import EmailMessage

from finops_agent.delivery.base import DeliveryResult, Mailer, MailerError
from finops_agent.delivery.smtp import PartialDelivery

log = logging.getLogger(__name__)
RETRY_DELAYS_S: tuple[float, ...] = (2.0, 5.0, 15.0)


def deliver(
    mailer: Mailer,
    message: EmailMessage,
    recipients: list[str],
    *,
    delays: Sequence[float] = RETRY_DELAYS_S,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryResult:
    """Send once plus one retry per delay while failures are transient; report, never raise."""
    result = DeliveryResult(
        sent=False,
        recipients=list(recipients),
        mailer=mailer.name,
        size_bytes=len(message.as_bytes()),
    )
    for attempt, delay in enumerate([*delays, None], start=1):
        result.attempts = attempt
        try:
            result.message_id = mailer.send(message, recipients)
        except PartialDelivery as exc:
            result.sent = True
            result.recipients = [r for r in recipients if r not in exc.refused]
            result.warnings.append(f"email partly delivered: {exc}")
            return result
        except MailerError as exc:
            if exc.transient and delay is not None:
                log.warning("email attempt %d failed, retrying in %.0f s: %s", attempt, delay, exc)
                sleep(delay)
                continue
            tries = f"after {attempt} attempt{'s' if attempt > 1 else ''}"
            result.retryable = exc.transient
            result.warnings.append(f"email not sent {tries} via {mailer.name}: {exc}")
            return result
        except Exception as exc:  # a mailer bug must not cost the report either
            result.warnings.append(
                f"email not sent via {mailer.name}: unexpected {type(exc).__name__}: {exc}"
            )
            return result
        result.sent = True
        return result
    return result
