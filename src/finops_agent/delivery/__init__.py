"""Email delivery: the Mailer protocol, SMTP and SES mailers, address checks and retries."""

from finops_agent.delivery.base import DeliveryResult, Mailer, MailerError
from finops_agent.delivery.send import deliver
from finops_agent.email_addresses import AddressError, check_header, parse_recipients

__all__ = [
    "AddressError",
    "DeliveryResult",
    "Mailer",
    "MailerError",
    "check_header",
    "deliver",
    "parse_recipients",
]
