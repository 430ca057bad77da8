"""SMTP delivery: plain, STARTTLS or implicit TLS, optional login with a SecretStr password."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from typing import Literal

from pydantic import SecretStr

from finops_agent.delivery.base import MailerError

Security = Literal["none", "starttls", "ssl"]


class PartialDelivery(MailerError):
    """The server accepted the message for some recipients and refused others."""

    def __init__(self, message: str, refused: list[str]) -> None:
        super().__init__(message, transient=False)
        self.refused = refused


class SmtpMailer:
    """Sends through one SMTP server; every failure becomes a MailerError naming host and cause."""

    name = "smtp"

    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: Security = "none",
        user: str | None = None,
        password: SecretStr | None = None,
        timeout_s: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host, self.port, self.security = host, port, security
        self._user, self._password, self._timeout = user, password, timeout_s
        self._context = ssl_context or ssl.create_default_context()

    @property
    def server(self) -> str:
        """host:port, for messages."""
        return f"{self.host}:{self.port}"

    def _connect(self) -> smtplib.SMTP:
        if self.security == "ssl":
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self._timeout, context=self._context
            )
        smtp = smtplib.SMTP(self.host, self.port, timeout=self._timeout)
        if self.security == "starttls":
            smtp.starttls(context=self._context)
        return smtp

    def send(self, message: EmailMessage, recipients: list[str]) -> str:
        """Send one message; raise MailerError (transient or not) naming the server and reason."""
        try:
            with self._connect() as smtp:
                if self._user:
                    password = self._password.get_secret_value() if self._password else ""
                    smtp.login(self._user, password)
                refused = smtp.send_message(message, to_addrs=recipients)
        except smtplib.SMTPAuthenticationError as exc:
            raise MailerError(
                f"SMTP login as {self._user!r} refused by {self.server}: {_reply(exc)}",
                transient=False,
            ) from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise MailerError(
                f"SMTP server {self.server} refused every recipient: {sorted(exc.recipients)}",
                transient=False,
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise MailerError(
                f"SMTP server {self.server} does not support {exc}", transient=False
            ) from None
        except smtplib.SMTPResponseException as exc:
            # 4xx replies are temporary by definition (RFC 5321 4.2.1); 5xx are final
            raise MailerError(
                f"SMTP server {self.server} replied {_reply(exc)}",
                transient=400 <= exc.smtp_code < 500,
            ) from None
        except ssl.SSLError as exc:
            raise MailerError(
                f"TLS with SMTP server {self.server} failed ({self.security}): {exc}",
                transient=False,
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise MailerError(
                f"SMTP server {self.server} unreachable or dropped the connection: "
                f"{type(exc).__name__}: {exc}",
                transient=True,
            ) from None
        if refused:
            raise PartialDelivery(
                f"SMTP server {self.server} refused {sorted(refused)}", sorted(refused)
            )
        return str(message["Message-ID"] or "")


def _reply(exc: smtplib.SMTPResponseException) -> str:
    text = (
        exc.smtp_error.decode(errors="replace")
        if isinstance(exc.smtp_error, bytes)
        else str(exc.smtp_error)
    )
    return f"{exc.smtp_code} {text}"
