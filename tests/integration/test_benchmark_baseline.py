"""The benchmark's pandas baseline computes the report's numbers: every stored query, row for row."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest
from benchmarks.pandas_frame import load_totals_window, load_window
from benchmarks.pandas_queries import QUERIES, previous_period_totals

from finops_agent.comparison import previous_period_totals as sql_previous_totals
from finops_agent.execution import run_query
from finops_agent.pipeline import prepare_run
from finops_agent.settings import DEFAULT_TAG_ALIASES, load_settings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]
WINDOW = (dt.date(2026, 10, 1), dt.date(2026, 11, 24))


def _comparable(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The columns in one canonical form and row order (SQL and pandas break ties differently)."""
    out = pd.DataFrame(index=range(len(frame)))
    for name in columns:
        values = frame[name].reset_index(drop=True)
        if name.endswith(("_day", "_date", "_seen", "_hour", "billing_period")):
            out[name] = pd.to_datetime(values).astype("datetime64[ns]")
        elif pd.api.types.is_bool_dtype(values) or name == "is_anomaly":
            out[name] = values.astype(bool)
        elif pd.api.types.is_numeric_dtype(values):
            out[name] = values.astype(float)
        else:
            out[name] = values.astype(object).where(values.notna(), None)
    keys = [c for c in columns if out[c].dtype != float]
    rounded = {f"_{c}": out[c].round(6) for c in columns if out[c].dtype == float}
    ordered = out.assign(**rounded).sort_values([*keys, *rounded], na_position="last")
    return ordered.drop(columns=list(rounded)).reset_index(drop=True)


@pytest.fixture(scope="module")
def both(sample_dataset: Any) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """Every stored query's rows from the report's engine and from the pandas baseline."""
    folder, _ = sample_dataset("cur2")
    source = str(folder / "data")
    run = prepare_run(load_settings(), source=source, start=str(WINDOW[0]), end=str(WINDOW[1]))
    try:
        sql = {spec.name: run_query(run.engine, spec, run.params).frame for spec in run.specs}
        previous = sql_previous_totals(run.engine, "cur2", run.window, DEFAULT_TAG_ALIASES)
        sql["previous_period_totals"] = previous.frame
        specs = {spec.name: spec for spec in run.specs}
    finally:
        run.engine.close()
    frame = load_window(source, *WINDOW, DEFAULT_TAG_ALIASES)
    window = {"start_date": WINDOW[0], "end_date": WINDOW[1]}
    baseline = {
        name: query(frame, {**specs[name].bind(), **window}) for name, query in QUERIES.items()
    }
    before = run.window.previous()
    baseline["previous_period_totals"] = previous_period_totals(
        load_totals_window(source, before.start, before.end), {}
    )
    return sql, baseline


def test_the_baseline_reproduces_every_query_of_the_report(both: Any) -> None:
    sql, baseline = both
    assert set(baseline) == set(sql)
    for name, expected in sql.items():
        columns = list(expected.columns)
        missing = set(columns) - set(baseline[name].columns)
        assert not missing, f"{name}: the baseline lacks {sorted(missing)}"
        pd.testing.assert_frame_equal(
            _comparable(baseline[name], columns),
            _comparable(expected, columns),
            check_exact=False,
            rtol=1e-9,
            atol=1e-6,
            obj=name,
        )


def test_the_comparison_is_not_vacuous(both: Any) -> None:
    sql, _ = both
    # the planted findings make most queries return rows; an empty frame would prove nothing
    empty = sorted(name for name, frame in sql.items() if frame.empty)
    assert len(empty) <= 3, empty
