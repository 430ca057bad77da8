"""Change against the previous period is a per-day comparison over the window just before."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from finops_agent.comparison import apply_previous_period, previous_period_totals
from finops_agent.engines.duckdb import DuckDBEngine
from finops_agent.report.email import period_label
from finops_agent.settings import DEFAULT_TAG_ALIASES
from finops_agent.summarise import Metrics
from finops_agent.window import Window
from tests import tiny
from tests.reportkit import rich_report


def test_previous_window_totals_read_the_source_not_the_bound_window(tmp_path: Path) -> None:
    # the tiny line items all sit on 2026-10-03: the window after it sees them as "previous"
    engine = DuckDBEngine(str(tiny.write("cur2", tmp_path / "cur2")))
    try:
        result = previous_period_totals(
            engine, "cur2", Window(dt.date(2026, 10, 4), dt.date(2026, 10, 5)), DEFAULT_TAG_ALIASES
        )
    finally:
        engine.close()
    assert result.ok, result.error
    row = result.frame.iloc[0]
    assert row["unblended_cost"] == pytest.approx(34.0) and row["days"] == 1


def test_change_compares_cost_per_day_and_failure_is_a_warning() -> None:
    summary, _ = rich_report()
    summary.metrics = Metrics(10, 300.0, 300.0, 24, "cost", days=30)
    ok = rich_report()[0].results["window_totals"]
    previous = ok.__class__(**{**ok.__dict__, "name": "previous_period_totals"})
    previous.frame = previous.frame.assign(unblended_cost=[100.0], days=[20])
    assert apply_previous_period(summary, previous) is None
    # $10/day now against $5/day before, although the totals differ threefold
    assert summary.metrics.change_pct == pytest.approx(100.0)
    previous.status, previous.error = "failed", "boom"
    assert "boom" in (apply_previous_period(summary, previous) or "")


def test_a_previous_period_with_less_than_a_week_of_data_gives_no_change() -> None:
    # one day of data (the 1st, with the month's fees) against a whole month is no run rate
    summary, _ = rich_report()
    summary.metrics = Metrics(10, 3100.0, 3100.0, 24, "cost", days=31)
    ok = rich_report()[0].results["window_totals"]
    previous = ok.__class__(**{**ok.__dict__, "name": "previous_period_totals"})
    previous.frame = previous.frame.assign(unblended_cost=[250.0], days=[1])
    assert apply_previous_period(summary, previous) == (
        "change against the previous period not shown: it has data on 1 day(s) against 31 "
        "in this window"
    )
    assert summary.metrics.change_pct is None
    # a week of data is a fair run rate
    previous.frame = previous.frame.assign(unblended_cost=[700.0], days=[7])
    assert apply_previous_period(summary, previous) is None
    assert summary.metrics.change_pct == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("start", "end", "label"),
    [
        (dt.date(2026, 10, 1), dt.date(2026, 11, 1), "2026-10"),
        (dt.date(2026, 9, 1), dt.date(2026, 11, 1), "2026-09 to 2026-10"),
        (dt.date(2026, 10, 1), dt.date(2026, 11, 24), "2026-10-01 to 2026-11-23"),
    ],
)
def test_period_label_names_whole_months(start: dt.date, end: dt.date, label: str) -> None:
    assert period_label(start, end) == label


@pytest.mark.parametrize("flavour", ["cur", "cur2", "focus_1_2"])
def test_athena_sends_the_previous_period_statement_without_the_report_adapter(
    flavour: str,
) -> None:
    import boto3
    import sqlglot
    from sqlglot import exp

    from finops_agent.comparison import PREVIOUS_TOTALS, previous_totals_sql
    from finops_agent.engines.athena import AthenaEngine
    from finops_agent.sources import cost_sql, detect_schema
    from tests.support.conformance import DATABASE, check_statement, glue_table

    table = glue_table(flavour)
    types = table.types()
    schema = detect_schema(list(types))
    session = boto3.Session(
        region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    engine = AthenaEngine(DATABASE, table.table, session=session)
    report = Window(dt.date(2026, 10, 1), dt.date(2026, 11, 1))
    adapter = cost_sql(schema, engine.source_relation(), types, report, DEFAULT_TAG_ALIASES)
    engine.bind_cost(adapter.sql, adapter.params)
    before = cost_sql(
        schema, engine.source_relation(), types, report.previous(), DEFAULT_TAG_ALIASES
    )
    text, values = engine.prepare(PREVIOUS_TOTALS, previous_totals_sql(before.sql), before.params)
    tree = sqlglot.parse_one(text, read="athena")
    assert list(tree.find_all(exp.CTE)) == []
    # September (the month before October), bound once: no second copy for an adapter CTE
    assert [v for v in values if v.startswith("DATE")] == ["DATE '2026-09-01'", "DATE '2026-10-01'"]
    assert check_statement(text, values, table) == []
