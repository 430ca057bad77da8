"""Change against the previous period: one small totals query over the window just before.

The engine's `cost` relation holds only the report window, so this runs the source
adapter for the previous window of equal length as a subquery. It binds nothing on
the engine and reads only what the adapter's partition filter lets through.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import pandas as pd
import sqlglot
from sqlglot import exp

from finops_agent.catalog import QuerySpec
from finops_agent.engines.base import QueryEngine, QueryError
from finops_agent.execution import QueryResult
from finops_agent.sources import Schema, cost_sql
from finops_agent.summarise import ReportSummary, summarise_query
from finops_agent.window import Window, shift_months

PREVIOUS_TOTALS = "previous_period_totals"
_TITLE = "Previous period totals"
MONTH_OVER_MONTH = "month_over_month_by_service"
_COMPARED = "compared_cost"


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


def complete_months(window: Window) -> Window:
    """The last complete calendar month on or before the window's end, and the month before it."""
    last_end = window.end.replace(day=1)
    return Window(shift_months(last_end, -2), last_end)


def over_relation(query_sql: str, adapter_sql: str, name: str = _COMPARED) -> str:
    """A stored query reading `adapter_sql` as the CTE `name` instead of the engine's `cost`.

    The engine binds `cost` to the report window; a comparison over other months must not
    shadow it (Athena would see two CTEs named `cost`), so the query's `cost` is renamed.
    """
    query = sqlglot.parse_one(query_sql, read="athena")
    for table in query.find_all(exp.Table):
        if table.name == "cost" and not table.db:
            table.set("this", exp.to_identifier(name))
    cte = exp.CTE(
        this=sqlglot.parse_one(adapter_sql, read="athena"),
        alias=exp.TableAlias(this=exp.to_identifier(name)),
    )
    existing = query.args.get("with_")
    if existing is not None:
        existing.set("expressions", [cte, *existing.expressions])
    else:
        query.set("with_", exp.With(expressions=[cte]))
    return query.sql(dialect="athena", pretty=True)


def month_over_month(
    engine: QueryEngine,
    schema: Schema,
    window: Window,
    tag_keys: Mapping[str, list[str]],
    spec: QuerySpec,
    params: Mapping[str, object] | None = None,
) -> QueryResult:
    """The month-over-month query over the last two complete months, wherever the window ends.

    The default window holds one complete month and the month to date; comparing the month to
    date with a whole month is unfair, so this reads the two complete months on its own.
    """
    months = complete_months(window)
    started = time.perf_counter()
    bound: dict[str, object] = {**spec.bind(dict(params or {}))}
    try:
        adapter = cost_sql(
            schema, engine.source_relation(), engine.source_columns(), months, tag_keys
        )
        bound.update(adapter.params)
        sql = over_relation(spec.sql, adapter.sql)
        result = engine.execute(spec.name, sql, bound)
    except (QueryError, ValueError, KeyError) as exc:
        return QueryResult(
            spec.name,
            spec.family,
            spec.title,
            "failed",
            spec.sql,
            bound,
            error=f"{spec.name} ({months.label}): {exc}",
            runtime_s=time.perf_counter() - started,
        )
    return QueryResult(
        spec.name,
        spec.family,
        spec.title,
        "ok",
        sql,
        bound,
        frame=result.frame,
        runtime_s=time.perf_counter() - started,
        query_id=result.query_id,
        bytes_scanned=result.bytes_scanned,
        scan_cost_usd=result.scan_cost_usd,
        engine_time_s=result.engine_time_s,
    )


def apply_month_over_month(
    summary: ReportSummary, result: QueryResult, spec: QuerySpec, top_n: int
) -> None:
    """Put the complete-months comparison in place of the in-window month-over-month section."""
    summary.results[result.name] = result
    summary.queries[result.name] = summarise_query(spec, result, top_n)
