"""SMTP the way mail providers run it: STARTTLS or implicit TLS with a login, against aiosmtpd."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from finops_agent.delivery.report_mail import email_report
from finops_agent.settings import load_settings
from tests import tiny
from tests.integration.dynamo_servers import free_port
from tests.integration.test_prefect_email import Inbox
from tests.support.reports import make_report

pytestmark = [
    pytest.mark.integration,
    # the implicit-TLS server is TLS from the first byte; aiosmtpd cannot tell and warns
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning"),
]
USER, PASSWORD = "reports", "s3cret-app-password"
TEAM = "finops-team@example.com"


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "finops test SMTP")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp.pem", folder / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class Logins:
    """aiosmtpd authenticator that accepts one user and remembers every attempt."""

    def __init__(self) -> None:
        self.attempts: list[tuple[str, str]] = []

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:  # fmt: skip
        assert isinstance(data, LoginPassword)
        login, password = data.login.decode(), data.password.decode()
        self.attempts.append((login, password))
        # handled=False: aiosmtpd then answers a refusal with 535 itself
        return AuthResult(success=(login, password) == (USER, PASSWORD), handled=False)


@pytest.fixture(params=["starttls", "ssl"])
def tls_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """An SMTP server on 127.0.0.1 that demands TLS (STARTTLS or implicit) and a login."""
    cert, key = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox, logins, port = Inbox(), Logins(), free_port()
    tls: dict[str, Any] = (
        {"tls_context": context, "require_starttls": True}
        if request.param == "starttls"
        # aiosmtpd counts only STARTTLS as TLS for AUTH; an implicit-TLS connection is TLS too
        else {"ssl_context": context, "auth_require_tls": False}
    )
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=logins,
        auth_required=True,
        **tls,
    )
    controller.start()
    try:
        yield {"security": request.param, "port": port, "cert": cert, "inbox": inbox, "logins": logins}  # fmt: skip
    finally:
        controller.stop()


def _send(server: dict[str, Any], tmp_path: Path, password: str) -> Any:
    settings = load_settings(
        output_dir=tmp_path / "reports",
        home=tmp_path / "home",
        mailer="smtp",
        smtp_host="127.0.0.1",
        smtp_port=server["port"],
        smtp_security=server["security"],
        smtp_user=USER,
        smtp_password=password,
        mail_from="finops-agent@example.com",
        email_images=False,
        email_retry_delays_s=[],
    )
    folder = Path(settings.output_dir) / make_report(
        settings, tiny.write("cur2", tmp_path / "data")
    )
    return email_report(settings, folder, TEAM)


def test_the_report_goes_out_over_tls_after_login(
    tls_server: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the server's certificate is trusted the way a private CA would be: SSL_CERT_FILE
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_server["cert"]))
    result = _send(tls_server, tmp_path, PASSWORD)
    assert result.sent, result.warnings
    assert tls_server["logins"].attempts == [(USER, PASSWORD)]
    assert tls_server["inbox"].envelopes == [[TEAM]]


@pytest.mark.fault
def test_a_refused_login_is_named_and_not_retried(
    tls_server: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wrong password: not sent, not pending, the user named, the password nowhere."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_server["cert"]))
    result = _send(tls_server, tmp_path, "wrong-password")
    assert not result.sent and not result.retryable
    assert f"login as {USER!r} refused" in result.warning
    assert "wrong-password" not in result.warning
    assert tls_server["inbox"].messages == []


@pytest.mark.hostile
def test_an_untrusted_certificate_is_refused_before_the_password_is_sent(
    tls_server: dict[str, Any], tmp_path: Path
) -> None:
    """A server whose certificate the system does not trust never sees the login."""
    result = _send(tls_server, tmp_path, PASSWORD)
    assert not result.sent and not result.retryable
    assert "certificate verify failed" in result.warning
    assert tls_server["logins"].attempts == []
