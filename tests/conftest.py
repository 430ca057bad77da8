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


SAMPLE_END = __import__("datetime").date(2026, 11, 24)


@pytest.fixture(scope="session")
def sample_dataset(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Factory: (schema, fmt) -> (folder, ground truth) of a small generated dataset, made once per session."""
    from finops_agent.sample_data import generate

    made: dict[tuple[str, str], tuple[Path, dict]] = {}  # type: ignore[type-arg]

    def make(schema: str, fmt: str = "parquet") -> tuple[Path, dict]:  # type: ignore[type-arg]
        if (schema, fmt) not in made:
            folder = tmp_path_factory.mktemp(f"sample-{schema}-{fmt}")
            truth = generate(schema, folder, rows=40_000, months=3, seed=7, fmt=fmt, end=SAMPLE_END)  # type: ignore[arg-type]
            made[(schema, fmt)] = (folder, truth)
        return made[(schema, fmt)]

    return make
