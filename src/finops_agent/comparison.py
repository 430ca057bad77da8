"""Change against the previous period: one small totals query over the window just before.

The engine's `cost` relation holds only the report window, so this runs the source
adapter for the previous window of equal length as a subquery. It binds nothing on
the engine and reads only what the adapter's partition filter lets through.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import pandas as pd

from finops_agent.engines.base import QueryEngine, QueryError
from finops_agent.execution import QueryResult
from finops_agent.sources import Schema, cost_sql
from finops_agent.summarise import ReportSummary
from finops_agent.window import Window

PREVIOUS_TOTALS = "previous_period_totals"
_TITLE = "Previous period totals"


def previous_totals_sql(adapter_sql: str) -> str:
    """Totals over the adapter's rows for a window: line items, days with data and cost."""
    return (
        "-- What did the window of equal length before this report cost?\n"
        "select\n"
        "    count(*) as rows,\n"
        "    count(distinct usage_date) as days,\n"
        "    sum(unblended_cost) as unblended_cost,\n"
        "    sum(amortized_cost) as amortized_cost\n"
        f"from (\n{adapter_sql}\n) as previous_cost"
    )


def previous_period_totals(
    engine: QueryEngine,
    schema: Schema,
    window: Window,
    tag_keys: Mapping[str, list[str]],
) -> QueryResult:
    """Run the totals of `window.previous()`; a failure comes back as a failed result."""
    previous = window.previous()
    started = time.perf_counter()
    try:
        adapter = cost_sql(
            schema, engine.source_relation(), engine.source_columns(), previous, tag_keys
        )
        sql = previous_totals_sql(adapter.sql)
        result = engine.execute(PREVIOUS_TOTALS, sql, adapter.params)
    except (QueryError, ValueError, KeyError) as exc:
        return QueryResult(
            PREVIOUS_TOTALS,
            "cost",
            _TITLE,
            "failed",
            "",
            {"start_date": previous.start, "end_date": previous.end},
            error=f"{PREVIOUS_TOTALS} ({previous.label}): {exc}",
            runtime_s=time.perf_counter() - started,
        )
    return QueryResult(
        PREVIOUS_TOTALS,
        "cost",
        _TITLE,
        "ok",
        sql,
        {"start_date": previous.start, "end_date": previous.end},
        frame=result.frame,
        runtime_s=time.perf_counter() - started,
        query_id=result.query_id,
        bytes_scanned=result.bytes_scanned,
        scan_cost_usd=result.scan_cost_usd,
        engine_time_s=result.engine_time_s,
    )


def apply_previous_period(summary: ReportSummary, result: QueryResult) -> str | None:
    """Put the previous period's cost and days on the metrics row; return a warning if it failed.

    The result joins the query appendix. No data in the previous window leaves the change
    as n/a rather than +inf %.
    """
    summary.results[result.name] = result
    if not result.ok:
        return f"change against the previous period unavailable: {result.error}"
    if result.frame.empty:
        return None
    row = result.frame.iloc[0]
    cost = pd.to_numeric(pd.Series([row.get("unblended_cost")]), errors="coerce").iloc[0]
    days = pd.to_numeric(pd.Series([row.get("days")]), errors="coerce").iloc[0]
    if pd.isna(cost) or pd.isna(days) or int(days) == 0:
        return None
    summary.metrics.previous_unblended_cost = float(cost)
    summary.metrics.previous_days = int(days)
    return None
