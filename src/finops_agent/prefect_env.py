"""Prefect settings this project wants before Prefect is imported: quiet, local, no telemetry."""

from __future__ import annotations

import os
from pathlib import Path


def configure_prefect(home: Path | None = None) -> None:
    """Set Prefect's environment defaults (explicit environment values win)."""
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_HOME", str((home or Path.cwd() / ".prefect").resolve()))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
    # the first ephemeral start on a cold machine can take longer than the 20 s default
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
