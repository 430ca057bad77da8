"""A FOCUS export without AWS's x_ServiceCode still gives the detectors AWS's service codes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd

from finops_agent.catalog import load_catalog
from finops_agent.engines.duckdb import DuckDBEngine
from finops_agent.execution import bound_params
from finops_agent.sample_data import generate
from finops_agent.settings import DEFAULT_TAG_ALIASES
from finops_agent.sources import cost_sql, detect_schema
from finops_agent.window import Window
from tests.conftest import SAMPLE_END


def _architecture_results(folder: Path) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """The canonical service codes and every architecture query's rows over October."""
    engine = DuckDBEngine(str(folder))
    try:
        columns = engine.source_columns()
        window = Window(dt.date(2026, 10, 1), dt.date(2026, 11, 1))
        adapter = cost_sql(
            detect_schema(list(columns)),
            engine.source_relation(),
            columns,
            window,
            DEFAULT_TAG_ALIASES,
        )
        engine.bind_cost(adapter.sql, adapter.params)
        codes = engine.execute(
            "codes", "select service_name, service_code from cost group by 1, 2 order by 1", {}
        ).frame
        window_params = {"start_date": window.start, "end_date": window.end}
        results = {
            spec.name: engine.execute(spec.name, spec.sql, bound_params(spec, window_params)).frame
            for spec in load_catalog().queries.values()
            if spec.family == "architecture"
        }
    finally:
        engine.close()
    return codes, results


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def test_focus_1_1_without_service_codes_finds_what_focus_1_0_finds(tmp_path: Path) -> None:
    """FOCUS 1.1 has no x_ServiceCode: the adapter maps AWS's service names to the codes the
    detectors match, so the same estate yields the same findings as its FOCUS 1.0 export."""
    for version in ("1.0", "1.1"):
        generate("focus", tmp_path / version, rows=6_000, end=SAMPLE_END, focus_version=version)
    exported = duckdb.sql(
        "select distinct ServiceName as service_name, x_ServiceCode as service_code from "
        f"read_parquet('{tmp_path / '1.0'}/**/*.parquet') order by 1"
    ).df()
    codes, mapped = _architecture_results(tmp_path / "1.1")
    _, found = _architecture_results(tmp_path / "1.0")
    assert codes.to_dict("records") == exported.to_dict("records")
    assert sum(len(f) for f in found.values()) > 0
    for name, frame in found.items():
        # rows tied on the query's cost order come in any order: compare them sorted
        pd.testing.assert_frame_equal(
            _sorted(mapped[name]), _sorted(frame), check_dtype=False, obj=name
        )
