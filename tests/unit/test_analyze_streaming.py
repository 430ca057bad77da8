"""A large result file is aggregated in DuckDB: only small results ever reach pandas."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from finops_agent.analyze.dataset import open_workspace
from finops_agent.analyze.run import analyse_workspace
from finops_agent.settings import load_settings

ROWS = 300_000


def test_large_file_is_streamed_not_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.csv"
    duckdb.sql(
        "copy (select 'svc' || (i % 7) as service, date '2026-09-01' + cast(i % 60 as integer) "
        "as usage_date, (i % 100) / 10.0 as cost from range(" + str(ROWS) + ") t(i)) "
        f"to '{path}' (header)"
    )

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the file must not be read by pandas")

    monkeypatch.setattr(pd, "read_csv", refuse)
    started = time.perf_counter()
    workspace = open_workspace([str(path)])
    try:
        summary = analyse_workspace(workspace, "auto", load_settings())
    finally:
        workspace.close()
    elapsed = time.perf_counter() - started
    # (0 + 0.1 + ... + 9.9) repeats ROWS / 100 times
    assert summary.metrics.unblended_cost == pytest.approx(ROWS / 100 * 495.0)
    assert summary.metrics.rows == ROWS
    assert max(r.rows for r in summary.results.values()) <= 1000
    assert elapsed < 20
