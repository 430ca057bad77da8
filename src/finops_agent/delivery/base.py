"""The Mailer protocol every delivery backend implements, and the outcome of one delivery."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol


class MailerError(RuntimeError):
    """Sending failed; `transient` says whether trying again may help."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class Mailer(Protocol):
    """Sends one finished MIME message to a list of envelope recipients."""

    name: str

    def send(self, message: EmailMessage, recipients: list[str]) -> str:
        """Send the message; return the server's message id; raise MailerError on failure."""
        ...


@dataclass
class DeliveryResult:
    """What happened to one report email: sent or not, and why."""

    sent: bool
    recipients: list[str] = field(default_factory=list)
    message_id: str | None = None
    mailer: str = "none"
    attempts: int = 0
    size_bytes: int = 0
    attached: bool = False
    linked: bool = False
    images: int = 0
    # not sent for a reason that may pass (server down, 4xx): worth trying again later
    retryable: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def warning(self) -> str | None:
        """All warnings as one line (None when delivery went cleanly)."""
        return "; ".join(self.warnings) or None
