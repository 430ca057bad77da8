"""Build the configured mailer (the delivery half of wiring)."""

from __future__ import annotations

from finops_agent.delivery.base import Mailer
from finops_agent.settings import Settings


def build_mailer(settings: Settings) -> Mailer | None:
    """SMTP or SES from settings; None when FINOPS_MAILER is none."""
    if settings.mailer == "smtp":
        from finops_agent.delivery.smtp import SmtpMailer

        return SmtpMailer(
            settings.smtp_host,
            settings.smtp_port,
            security=settings.smtp_security,
            user=settings.smtp_user,
            password=settings.smtp_password,
            timeout_s=settings.smtp_timeout_s,
        )
    if settings.mailer == "ses":
        from finops_agent.delivery.ses import SesMailer

        return SesMailer.create(
            settings.aws_region,
            profile=settings.aws_profile,
            configuration_set=settings.ses_configuration_set,
            endpoint_url=settings.ses_endpoint_url,
        )
    return None
