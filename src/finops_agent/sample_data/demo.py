"""The demo's sample data: generated once a day under FINOPS_HOME, shared by `finops demo` and served runs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from finops_agent.sample_data import generate
from finops_agent.settings import Settings

DEMO_ROWS = 200_000
DEMO_SCHEMA = "cur2"


def demo_folder(settings: Settings, rows: int | None = None, schema: str = DEMO_SCHEMA) -> Path:
    """Where today's demo data lives (generated or not)."""
    rows = rows or DEMO_ROWS
    today = dt.datetime.now(dt.UTC).date()
    return settings.home / "sample-data" / f"{schema}-{rows}-{today.isoformat()}"


def demo_source(
    settings: Settings, rows: int | None = None, schema: str = DEMO_SCHEMA
) -> tuple[Path, bool]:
    """The demo's billing files, generated first when missing; and whether they were generated now."""
    rows = rows or DEMO_ROWS
    folder = demo_folder(settings, rows, schema)
    generated = not (folder / "ground_truth.json").is_file()
    if generated:
        today = dt.datetime.now(dt.UTC).date()
        generate(schema, folder, rows=rows, months=3, seed=7, end=today)  # type: ignore[arg-type]
    return folder / "data", generated
