"""Change against the previous period: one small totals query over the window just before.

The engine's `cost` relation holds only the report window, so this runs the source
adapter for the previous window of equal length as a subquery. It binds nothing on
the engine and reads only what the adapter's partition filter lets through. An engine
that copied those days (Athena extract mode) gives a local SELECT of them instead of the
adapter; the statement around it is the same text either way.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd
import sqlglot
from sqlglot import exp

from finops_agent.catalog import QuerySpec
from finops_agent.engines.base import ComparisonExtract, ExtractsWindow, QueryEngine, QueryError
from finops_agent.execution import QueryResult, engine_result
from finops_agent.formatting import change_pct
from finops_agent.sources import CostSql, Schema, cost_sql
from finops_agent.summarise import ReportSummary, summarise_query
from finops_agent.window import Window, shift_months

PREVIOUS_TOTALS = "previous_period_totals"
_TITLE = "Previous period totals"
# days of data the previous period needs for its daily run rate to be compared (a week)
_MIN_PREVIOUS_DAYS = 7
PREVIOUS_TOTALS_SPEC = QuerySpec(
    name=PREVIOUS_TOTALS,
    family="cost",
    title=_TITLE,
    description="Net total and days with data of the period before the window.",
    path=Path(PREVIOUS_TOTALS),
)
MONTH_OVER_MONTH = "month_over_month_by_service"
_COMPARED = "compared_cost"


def previous_totals_sql(adapter_sql: str) -> str:
    """Totals over the adapter's rows for a window: line items, days with data and net cost.

    The change against the previous period compares net cost per day; an amortised total here
    would read every amortisation input column of the previous window for a figure no part of
    the report shows.
    """
    return (
        "-- What did the window of equal length before this report cost?\n"
        "select\n"
        "    count(*) as rows,\n"
        "    count(distinct usage_date) as days,\n"
        "    sum(unblended_cost) as unblended_cost\n"
        f"from (\n{adapter_sql}\n) as previous_cost"
    )


def _over_own_window(
    engine: QueryEngine,
    schema: Schema,
    tag_keys: Mapping[str, list[str]],
    spec: QuerySpec,
    reach: Window,
    build_sql: Callable[[str], str],
    params: dict[str, object],
    shape: Callable[[pd.DataFrame], pd.DataFrame] = lambda frame: frame,
    currency: str | None = None,
) -> QueryResult:
    """Run a statement over the adapter bound to `reach` (not the report window's `cost`).

    A failure comes back as a failed result naming the statement and its window.
    """
    started = time.perf_counter()
    bound = dict(params)
    try:
        local = (
            engine.comparison_source(reach.start, reach.end)
            if isinstance(engine, ExtractsWindow)
            else None
        )
        if local is not None:
            bound.update(start_date=reach.start, end_date=reach.end)
            sql = build_sql(local)
        else:
            adapter = cost_sql(
                schema,
                engine.source_relation(),
                engine.source_columns(),
                reach,
                tag_keys,
                currency=currency,
            )
            bound.update(adapter.params)
            sql = build_sql(adapter.sql)
        result = engine.execute(spec.name, sql, bound)
    except (QueryError, ValueError, KeyError) as exc:
        # the built-in statements have no file of their own; a stored query shows its SQL
        text = spec.sql if spec.path.is_file() else ""
        failed = QueryResult(spec.name, spec.family, spec.title, "failed", text, params)
        failed.error = f"{spec.name} ({reach.label}): {exc}"
        failed.runtime_s = time.perf_counter() - started
        return failed
    done = engine_result(spec, sql, bound, result, time.perf_counter() - started)
    done.frame = shape(result.frame)
    return done


def previous_period_totals(
    engine: QueryEngine,
    schema: Schema,
    window: Window,
    tag_keys: Mapping[str, list[str]],
    currency: str | None = None,
) -> QueryResult:
    """Run the totals of `window.previous()` (in `currency` when given); a failure comes back failed."""
    previous = window.previous()
    return _over_own_window(
        engine,
        schema,
        tag_keys,
        PREVIOUS_TOTALS_SPEC,
        previous,
        previous_totals_sql,
        {"start_date": previous.start, "end_date": previous.end},
        currency=currency,
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
    current_days = summary.metrics.days
    if current_days and int(days) < min(_MIN_PREVIOUS_DAYS, current_days):
        # a run rate over a day or two (often the 1st, when monthly fees post) is no comparison
        return (
            f"change against the previous period not shown: it has data on {int(days)} "
            f"day(s) against {current_days} in this window"
        )
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
    currency: str | None = None,
) -> QueryResult:
    """The month-over-month query over the last two complete months, wherever the window ends.

    The default window holds one complete month and the month to date; comparing the month to
    date with a whole month is unfair, so this reads the two complete months on its own.
    """
    months = complete_months(window)
    return _over_own_window(
        engine,
        schema,
        tag_keys,
        spec,
        months,
        lambda adapter: over_relation(spec.sql, adapter),
        spec.bind(dict(params or {})),
        currency=currency,
    )


def apply_month_over_month(
    summary: ReportSummary, result: QueryResult, spec: QuerySpec, top_n: int
) -> None:
    """Put the complete-months comparison in place of the in-window month-over-month section."""
    summary.results[result.name] = result
    summary.queries[result.name] = summarise_query(spec, result, top_n, summary.currency)


MONTH_TO_DATE = "month_to_date"
MONTH_TO_DATE_SPEC = QuerySpec(
    name=MONTH_TO_DATE,
    family="cost",
    title="Month to date",
    description=(
        "The latest month's days with data against the same days of the month before, and the "
        "month at this run rate (net cost per day so far x days in the month)."
    ),
    path=Path("month_to_date"),
    units={"usage_cost": "USD", "unblended_cost": "USD", "change_pct": "%"},
    cost_column="unblended_cost",
    why="A partial month compared with a whole one always looks like a drop; like days compare fairly.",
)
_MTD_COLUMNS = [
    "period",
    "first_day",
    "last_day",
    "days",
    "usage_cost",
    "unblended_cost",
    "change_pct",
]


def month_to_date_sql(adapter_sql: str) -> str:
    """Net cost and usage before credits per day over the adapter's rows."""
    return (
        "-- What did each day of this month and the month before cost?\n"
        "select\n"
        "    usage_date,\n"
        "    sum(case\n"
        "        when charge_type = 'Usage' then unblended_cost\n"
        "        when charge_type in ('SavingsPlanCoveredUsage', 'DiscountedUsage') then public_cost\n"
        "        else 0\n"
        "    end) as usage_cost,\n"
        "    sum(unblended_cost) as unblended_cost\n"
        f"from (\n{adapter_sql}\n) as month_cost\n"
        "group by usage_date"
    )


def month_to_date_frame(daily: pd.DataFrame, window: Window) -> pd.DataFrame:
    """Month to date, the same days of the month before, and the month at this run rate."""
    if daily.empty:
        return pd.DataFrame(columns=_MTD_COLUMNS)
    days = daily.assign(usage_date=pd.to_datetime(daily["usage_date"]).dt.date)
    last = min(max(days["usage_date"]), window.end - dt.timedelta(days=1))
    first = last.replace(day=1)
    before_first = shift_months(first, -1)
    before_last = shift_months(last, -1)
    now = days[(days["usage_date"] >= first) & (days["usage_date"] <= last)]
    before = days[(days["usage_date"] >= before_first) & (days["usage_date"] <= before_last)]
    month_days = (shift_months(first, 1) - first).days
    n = (last - first).days + 1

    def total(part: pd.DataFrame, column: str) -> float:
        return float(pd.to_numeric(part[column], errors="coerce").fillna(0.0).sum())

    now_net, before_net = total(now, "unblended_cost"), total(before, "unblended_cost")
    rows = [
        [
            "Month to date",
            first,
            last,
            n,
            total(now, "usage_cost"),
            now_net,
            change_pct(now_net, before_net),
        ],
        [
            "Same days of the month before",
            before_first,
            before_last,
            (before_last - before_first).days + 1,
            total(before, "usage_cost"),
            before_net,
            None,
        ],
        [
            f"Month at this run rate ({n} of {month_days} days)",
            first,
            shift_months(first, 1) - dt.timedelta(days=1),
            month_days,
            total(now, "usage_cost") / n * month_days,
            now_net / n * month_days,
            None,
        ],
    ]
    return pd.DataFrame(rows, columns=_MTD_COLUMNS)


def month_to_date_reach(window: Window) -> Window:
    """The days the month-to-date comparison reads: the month before the last day's, to the end."""
    last = window.end - dt.timedelta(days=1)
    return Window(shift_months(last.replace(day=1), -1), window.end)


def month_to_date(
    engine: QueryEngine,
    schema: Schema,
    window: Window,
    tag_keys: Mapping[str, list[str]],
    currency: str | None = None,
) -> QueryResult:
    """The month-to-date comparison; it reads the month before even when the window does not."""
    reach = month_to_date_reach(window)
    return _over_own_window(
        engine,
        schema,
        tag_keys,
        MONTH_TO_DATE_SPEC,
        reach,
        month_to_date_sql,
        {"start_date": reach.start, "end_date": reach.end},
        shape=lambda daily: month_to_date_frame(daily, window),
        currency=currency,
    )


def apply_month_to_date(summary: ReportSummary, result: QueryResult, top_n: int) -> None:
    """Add the month-to-date section to the report."""
    summary.results[result.name] = result
    summary.queries[result.name] = summarise_query(
        MONTH_TO_DATE_SPEC, result, top_n, summary.currency
    )


# what a comparison's statement is written around when only its columns are wanted
_STAND_IN = "select * from cost"


def comparison_extract(
    schema: Schema,
    relation: str,
    columns: Mapping[str, str],
    window: Window,
    tag_keys: Mapping[str, list[str]],
    *,
    month_over_month_sql: str | None,
    with_month_to_date: bool,
    currency: str | None = None,
) -> ComparisonExtract:
    """What a report's comparisons read: their statements, and the adapter over the days before the window.

    The reaches are those `previous_period_totals`, `month_over_month` (when its stored SQL is
    given) and `month_to_date` (when asked) read. Their days in the window's first month widen
    the window's copy (same partitions); their earlier months get an adapter of their own.
    Both keep only `currency`'s rows when given, as the comparisons do.
    """
    sqls = [previous_totals_sql(_STAND_IN)]
    reaches = [window.previous()]
    if month_over_month_sql is not None:
        sqls.append(over_relation(month_over_month_sql, _STAND_IN))
        reaches.append(complete_months(window))
    if with_month_to_date:
        sqls.append(month_to_date_sql(_STAND_IN))
        reaches.append(month_to_date_reach(window))
    start = min(r.start for r in reaches)
    month_start = window.start.replace(day=1)
    widened: CostSql | None = None
    if start < window.start and window.start > month_start:
        # the window's partitions are read anyway: their earlier days come with the first copy
        reach = Window(max(start, month_start), window.end)
        widened = cost_sql(schema, relation, columns, reach, tag_keys, currency=currency)
    before: CostSql | None = None
    if start < month_start:
        before = cost_sql(
            schema, relation, columns, Window(start, month_start), tag_keys, currency=currency
        )
    return ComparisonExtract(
        sqls=tuple(sqls),
        start=start,
        window_sql=widened.sql if widened else None,
        window_params=dict(widened.params) if widened else {},
        adapter_sql=before.sql if before else None,
        adapter_params=dict(before.params) if before else {},
    )
