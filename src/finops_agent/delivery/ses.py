"""Amazon SES delivery with send_raw_email, so the MIME message (cid images, attachment) is kept."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

import botocore.exceptions

from finops_agent.delivery.base import MailerError

# Error codes SES documents as worth retrying; everything else is a configuration or content problem.
_TRANSIENT_CODES = frozenset(
    {"Throttling", "ThrottlingException", "ServiceUnavailable", "InternalFailure", "RequestTimeout"}
)


class SesMailer:
    """Sends through Amazon SES (v1 API), optionally tagged with a configuration set."""

    name = "ses"

    def __init__(self, client: Any, *, configuration_set: str | None = None) -> None:
        self._client = client
        self._configuration_set = configuration_set

    @classmethod
    def create(
        cls,
        region: str,
        *,
        profile: str | None = None,
        configuration_set: str | None = None,
        endpoint_url: str | None = None,
    ) -> SesMailer:
        """An SES mailer with its own boto3 session."""
        import boto3

        session = boto3.Session(profile_name=profile, region_name=region)
        return cls(
            session.client("ses", endpoint_url=endpoint_url),
            configuration_set=configuration_set,
        )

    def send(self, message: EmailMessage, recipients: list[str]) -> str:
        """Send the raw message; return the SES message id; raise MailerError on failure."""
        request: dict[str, Any] = {
            "Source": str(message["From"]),
            "Destinations": recipients,
            "RawMessage": {"Data": message.as_bytes()},
        }
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        try:
            response = self._client.send_raw_email(**request)
        except botocore.exceptions.ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "Unknown"))
            raise MailerError(
                f"SES send_raw_email failed: {code}: {error.get('Message', exc)}",
                transient=code in _TRANSIENT_CODES,
            ) from None
        except botocore.exceptions.NoCredentialsError as exc:
            raise MailerError(f"SES send_raw_email failed: {exc}", transient=False) from None
        except (botocore.exceptions.BotoCoreError, OSError) as exc:
            raise MailerError(
                f"SES endpoint unreachable: {type(exc).__name__}: {exc}", transient=True
            ) from None
        return str(response["MessageId"])
