"""Real local DynamoDB stand-ins for the store tests: dynalite (npm) and a moto server, on loopback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
DYNALITE = ROOT / "node_modules" / ".bin" / "dynalite"


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


class Dynalite:
    """A dynalite process on a fixed port and data folder, so it can be stopped and restarted."""

    def __init__(self, path: Path) -> None:
        if not DYNALITE.exists():
            pytest.fail("dynalite is not installed: run `make test` (it runs `npm ci`)")
        self.port = free_port()
        self.path = path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Endpoint URL for boto3."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start (or restart) the server and wait until it accepts connections."""
        self.process = subprocess.Popen(
            [
                str(DYNALITE),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--path",
                str(self.path),
                "--createTableMs",
                "0",
                "--deleteTableMs",
                "0",
                "--updateTableMs",
                "0",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        _wait_listening(self.port)

    def stop(self) -> None:
        """Stop the server and its children."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def dynalite(tmp_path: Path) -> Iterator[Dynalite]:
    """A running dynalite with its data under tmp_path; stopped after the test."""
    server = Dynalite(tmp_path / "dynalite")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def client(url: str) -> Any:
    """A DynamoDB client for a local endpoint with fake credentials and short timeouts."""
    from botocore.config import Config

    return boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(
            connect_timeout=1, read_timeout=3, retries={"max_attempts": 1, "mode": "standard"}
        ),
    )
