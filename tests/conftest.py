"""Shared fixtures: quiet local Prefect, tiny datasets per schema."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from finops_agent.prefect_env import configure_prefect

configure_prefect(Path(__file__).resolve().parents[1] / ".prefect")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
# Cached query results would let one test's data answer another's (e.g. the same Athena table
# name under moto); tests that exercise the cache turn it on themselves.
os.environ.setdefault("FINOPS_QUERY_CACHE_HOURS", "0")


@pytest.fixture(params=["cur", "cur2", "focus"])
def tiny_source(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path]:
    """(schema, folder) of the tiny dataset written in that schema."""
    from tests import tiny

    return request.param, tiny.write(request.param, tmp_path / request.param)
