"""Analyse opened result files: analysis type, metrics, the charted aggregates and a report summary."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import duckdb
import pandas as pd

from finops_agent.analyze.dataset import Dataset, Workspace
from finops_agent.analyze.profile import Profile, is_numeric_type
from finops_agent.analyze.roles import tokens
from finops_agent.catalog import ChartHint
from finops_agent.execution import QueryResult
from finops_agent.result_files.load import AnalyzeError, quote_ident
from finops_agent.summarise import Metrics, QuerySummary, ReportSummary, records, top_by
from finops_agent.window import Window

AnalysisType = Literal["architecture", "tagging", "cost"]
ANALYSIS_TYPES: tuple[str, ...] = ("architecture", "tagging", "cost", "auto")
OTHER_LABEL = "Other"
NONE_LABEL = "(none)"
DATA_ROWS = 1000
_TREND_GROUPS = 5
_DAILY_MAX_DAYS = 120
_MOM_ROWS = 50

_TAGGING_TOKENS = {"tag", "tags", "untagged", "tagged", "coverage", "owner", "costcenter"}
_ARCHITECTURE_TOKENS = {
    "instance",
    "volume",
    "architecture",
    "graviton",
    "generation",
    "operation",
    "engine",
    "node",
    "cluster",
    "gp2",
    "gp3",
    "iops",
    "throughput",
    "storage",
    "snapshot",
    "nat",
    "endpoint",
}
_ARCHITECTURE_PAIRS = ({"usage", "type"},)


def detect_type(profile: Profile) -> AnalysisType:
    """Tagging when tag columns appear, architecture when resource shapes do, else cost."""
    words = set().union(*(tokens(c.name) for c in profile.columns))
    if profile.tags or words & _TAGGING_TOKENS:
        return "tagging"
    if words & _ARCHITECTURE_TOKENS or any(
        pair <= tokens(c.name) for c in profile.columns for pair in _ARCHITECTURE_PAIRS
    ):
        return "architecture"
    return "cost"


def resolve_type(requested: str, profiles: list[Profile]) -> str:
    """The analysis type: as requested, or detected from every analysed relation's columns."""
    if requested not in ANALYSIS_TYPES:
        raise AnalyzeError(f"--type must be one of {', '.join(ANALYSIS_TYPES)}, not {requested!r}")
    if requested != "auto":
        return requested
    found = list(dict.fromkeys(detect_type(p) for p in profiles))
    return " + ".join(found)


class UndatedWindow(Window):
    """The window of a file without dates: labelled as such instead of as a date range."""

    @property
    def label(self) -> str:
        """Human label saying the file has no date column."""
        return "not dated (no date column)"


@dataclass
class FileReportSummary(ReportSummary):
    """A report summary of analysed files, with their column roles for the report and chat."""

    datasets: list[Dataset] = field(default_factory=list)
    layout: str = "single"
    cost_label: str = "cost"

    def context(self, max_rows: int = 10) -> dict[str, Any]:
        """Model context: the query sections plus each file's roles and totals."""
        out = super().context(max_rows)
        out["files"] = [
            {
                "label": d.label,
                "view": d.view,
                "rows": d.profile.rows,
                "cost_column": d.profile.cost,
                "group_column": d.profile.group,
                "date_column": d.profile.date,
                "cost_basis": d.profile.cost_basis,
                "cost_is_monthly": d.profile.cost_monthly,
                "choices": [choice.text() for choice in d.profile.choices],
                "billing_export": d.billing_schema,
                "roles": {c.name: c.role for c in d.profile.columns},
                "totals": {k: v for k, v in d.totals.items() if v is not None},
            }
            for d in self.datasets
        ]
        out["layout"] = self.layout
        return out


@dataclass
class _Section:
    name: str
    title: str
    description: str
    chart: ChartHint
    sql: str
    units: dict[str, str]


def _run(
    con: duckdb.DuckDBPyConnection,
    family: str,
    section: _Section,
    cost: str | None,
    done: dict[str, pd.DataFrame],
) -> tuple[QuerySummary, QueryResult]:
    started = time.perf_counter()
    cursor = con.cursor()
    try:
        # the bar and the pie draw the same aggregate: scan the file once for both
        frame = done[section.sql] if section.sql in done else cursor.execute(section.sql).df()
        done[section.sql] = frame
        result = QueryResult(
            section.name,
            family,
            section.title,
            "ok",
            section.sql,
            {},
            frame=frame,
            runtime_s=time.perf_counter() - started,
        )
    except duckdb.Error as exc:  # one failed aggregate must not cost the others
        message = str(exc).strip().splitlines()[0]
        result = QueryResult(
            section.name,
            family,
            section.title,
            "failed",
            section.sql,
            {},
            error=f"{section.title}: {message}",
            runtime_s=time.perf_counter() - started,
        )
    finally:
        cursor.close()
    frame = result.frame
    cost_column = cost if cost in frame.columns else None
    total = float(pd.to_numeric(frame[cost_column]).sum()) if cost_column and result.ok else None
    summary = QuerySummary(
        name=section.name,
        family=family,
        title=section.title,
        description=section.description,
        why="",
        status=result.status,
        error=result.error,
        rows=result.rows,
        columns=list(frame.columns),
        chart=section.chart,
        units=section.units,
        cost_column=cost_column,
        total=total,
        top_rows=records(top_by(frame, cost_column, 10)),
    )
    return summary, result


def _label_expr(column: str) -> str:
    return f"coalesce(nullif(cast({quote_ident(column)} as varchar), ''), '{NONE_LABEL}')"


def _top_sql(view: str, group: str, cost: str, top_n: int) -> str:
    g, c = quote_ident(group), quote_ident(cost)
    return (
        f"with grouped as (select {_label_expr(group)} as {g}, sum(cast({c} as double)) as {c}, "
        f"count(*) as line_count from {view} group by 1), "
        f"ranked as (select *, row_number() over (order by {c} desc nulls last, {g}) as rank_ "
        f"from grouped) "
        f"select {g}, {c}, line_count from ranked where rank_ <= {top_n} "
        f"union all select '{OTHER_LABEL}', sum({c}), cast(sum(line_count) as bigint) from ranked "
        f"where rank_ > {top_n} having count(*) > 0 "
        f"order by 2 desc nulls last"
    )


def trend_grain(dataset: Dataset) -> str:
    """`day`, or `month` for monthly dates and spans over 120 days."""
    if dataset.date_range is None:
        return "day"
    if dataset.monthly_dates:
        return "month"
    first, last = (pd.Timestamp(v) for v in dataset.date_range)
    return "day" if (last - first).days <= _DAILY_MAX_DAYS else "month"


def _trend_sql(view: str, date: str, cost: str, group: str | None, grain: str) -> str:
    d, c = quote_ident(date), quote_ident(cost)
    period = f"date_trunc('{grain}', cast({d} as timestamp))"
    if group is None:
        return (
            f"select {period} as period, sum(cast({c} as double)) as {c} from {view} "
            f"where {d} is not null group by 1 order by 1"
        )
    g = quote_ident(group)
    # one scan of the file: group by (period, label) first, then fold all but the top labels
    return (
        f"with grouped as materialized (select {period} as period, {_label_expr(group)} as label, "
        f"sum(cast({c} as double)) as cost from {view} where {d} is not null group by 1, 2), "
        f"top as (select label from grouped group by 1 order by sum(cost) desc nulls last "
        f"limit {_TREND_GROUPS}) "
        f"select period, case when label in (select label from top) then label "
        f"else '{OTHER_LABEL}' end as {g}, sum(cost) as {c} "
        f"from grouped group by 1, 2 order by 1, 2"
    )


def mom_months(dataset: Dataset) -> tuple[dt.date, dt.date] | None:
    """The previous and latest calendar months of a dataset dated by billing, when it has both."""
    if not dataset.profile.billing_dated or dataset.coverage is None:
        return None
    latest = dataset.coverage[1].replace(day=1)
    previous = (latest - dt.timedelta(days=1)).replace(day=1)
    if dataset.days_in(previous) == 0:
        return None
    return previous, latest


def _timestamp(day: dt.date) -> str:
    return f"timestamp '{day.isoformat()}'"


def _mom_sql(dataset: Dataset, previous: dt.date, latest: dt.date) -> str:
    p = dataset.profile
    assert p.date is not None and p.cost is not None
    d, c = f"cast({quote_ident(p.date)} as timestamp)", quote_ident(p.cost)
    label = _label_expr(p.group) if p.group else "'all'"
    g = quote_ident(p.group) if p.group else "label"
    following = (latest + dt.timedelta(days=32)).replace(day=1)
    prev_days, latest_days = dataset.days_in(previous), dataset.days_in(latest)
    prev, cur = _timestamp(previous), _timestamp(latest)
    # per-day figures divide by the days the file covers in each month, not by the days that
    # happen to have rows for one label
    return (
        f"with monthly as materialized (select date_trunc('month', {d}) as month, "
        f"{label} as label, sum(cast({c} as double)) as cost from {dataset.view} "
        f"where {d} >= {prev} and {d} < {_timestamp(following)} group by 1, 2) "
        f"select label as {g}, "
        f"coalesce(sum(cost) filter (where month = {prev}), 0) as previous_month, "
        f"coalesce(sum(cost) filter (where month = {cur}), 0) as latest_month, "
        f"latest_month - previous_month as change, "
        f"case when previous_month <> 0 then (latest_month - previous_month) / abs(previous_month) "
        f"* 100 end as change_pct, "
        f"previous_month / {prev_days} as previous_per_day, "
        f"latest_month / {latest_days} as latest_per_day, "
        f"{prev_days} as previous_days, {latest_days} as latest_days, "
        f"cast({prev} as date) as previous_start, cast({cur} as date) as latest_start "
        f"from monthly group by 1 order by abs(change) desc, 1 limit {_MOM_ROWS}"
    )


def month_complete(dataset: Dataset, month: dt.date) -> bool:
    """True when the file covers every day of the calendar month starting at `month`."""
    following = (month + dt.timedelta(days=32)).replace(day=1)
    return dataset.days_in(month) == (following - month).days


def _row_columns(profile: Profile) -> str:
    # account and other numeric ids are labels: 111122223333, not 111,122,223,333
    return ", ".join(
        f"cast({quote_ident(c.name)} as varchar) as {quote_ident(c.name)}"
        if c.role in ("group", "id") and is_numeric_type(c.type)
        else quote_ident(c.name)
        for c in profile.columns
    )


def _sections(dataset: Dataset, top_n: int, prefix: str) -> list[_Section]:
    p = dataset.profile
    view, cost = dataset.view, p.cost
    assert cost is not None
    unit = {cost: "USD"} if p.cost_is_money else {}
    out: list[_Section] = []
    if p.group:
        top_sql = _top_sql(view, p.group, cost, top_n)
        out.append(
            _Section(
                f"{prefix}top_by_group",
                f"Top {top_n} {p.group} by {cost}",
                f"The {top_n} largest values of {p.group} by total {cost}; the rest as {OTHER_LABEL}.",
                ChartHint("bar", x=p.group, y=cost),
                top_sql,
                unit,
            )
        )
        out.append(
            _Section(
                f"{prefix}distribution",
                f"Distribution of {cost} by {p.group}",
                f"Each {p.group}'s share of the total {cost}.",
                ChartHint("pie", x=p.group, y=cost),
                top_sql,
                unit,
            )
        )
    if p.date:
        grain = trend_grain(dataset)
        # a trend on a date that is not a usage or billing date is only drawn when asked for
        caveat = "" if p.billing_dated else f" ({p.date} is not a usage or billing date)"
        out.append(
            _Section(
                f"{prefix}trend",
                f"{cost} per {grain}" + (f" by {p.group}" if p.group else "") + caveat,
                f"Total {cost} per {grain} of {p.date}"
                + (f", top {_TREND_GROUPS} {p.group} and the rest." if p.group else "."),
                ChartHint("line", x="period", y=cost, color=p.group),
                _trend_sql(view, p.date, cost, p.group, grain),
                unit,
            )
        )
    months = mom_months(dataset)
    if months is not None:
        previous, latest = months
        complete = month_complete(dataset, previous) and month_complete(dataset, latest)
        per_day = (
            ""
            if complete
            else f" (partial months: compare the per-day columns; the file covers "
            f"{dataset.days_in(previous)} day(s) of {previous:%Y-%m} and "
            f"{dataset.days_in(latest)} of {latest:%Y-%m})"
        )
        money = {
            "previous_month": "USD",
            "latest_month": "USD",
            "change": "USD",
            "previous_per_day": "USD",
            "latest_per_day": "USD",
        }
        out.append(
            _Section(
                f"{prefix}month_over_month",
                f"{latest:%Y-%m} against {previous:%Y-%m}"
                + (f" by {p.group}" if p.group else "")
                + per_day,
                f"Total {cost} in the two latest months of {p.date}, largest movements first.",
                ChartHint("table"),
                _mom_sql(dataset, previous, latest),
                {**money, "change_pct": "%"} if p.cost_is_money else {"change_pct": "%"},
            )
        )
    out.append(
        _Section(
            f"{prefix}rows",
            f"Rows by {cost}",
            f"The file's rows with the largest {cost} (up to {DATA_ROWS} kept for chat).",
            ChartHint("table"),
            f"select {_row_columns(p)} from {view} "
            f"order by {quote_ident(cost)} desc nulls last limit {DATA_ROWS}",
            unit,
        )
    )
    return out


def analyse(
    workspace: Workspace, analysis_type: str, top_n: int
) -> tuple[list[QuerySummary], list[QueryResult], list[str]]:
    """Run each dataset's aggregates in DuckDB; return summaries, results and section families."""
    summaries: list[QuerySummary] = []
    results: list[QueryResult] = []
    families: list[str] = []
    side = workspace.layout == "side_by_side"
    done: dict[str, pd.DataFrame] = {}
    for index, dataset in enumerate(workspace.datasets, start=1):
        family = dataset.label if side else analysis_type
        prefix = f"f{index}_" if side else ""
        families.append(family)
        for section in _sections(dataset, top_n, prefix):
            summary, result = _run(workspace.con, family, section, dataset.profile.cost, done)
            if section.chart.kind == "line" and result.ok and result.frame["period"].nunique() < 2:
                continue  # a single period draws no line
            if section.name.endswith("month_over_month") and result.ok and result.frame.empty:
                continue  # fewer than two months in the file
            summaries.append(summary)
            results.append(result)
    return summaries, results, families


def _window(datasets: list[Dataset], today: dt.date) -> Window:
    ranges = [d.date_range for d in datasets if d.date_range is not None]
    if not ranges:
        return UndatedWindow(today, today + dt.timedelta(days=1))
    first = min(pd.Timestamp(r[0]) for r in ranges).date()
    last = max(pd.Timestamp(r[1]) for r in ranges).date()
    return Window(first, last + dt.timedelta(days=1))


def build_summary(
    workspace: Workspace,
    *,
    report_id: str,
    generated_at: str,
    analysis_type: str,
    summaries: list[QuerySummary],
    results: list[QueryResult],
    families: list[str],
) -> FileReportSummary:
    """The ReportSummary of analysed files: metrics row, sections, roles."""
    datasets = workspace.datasets
    costs = [d.totals.get(d.profile.cost or "") or 0.0 for d in datasets]
    columns = (
        len(datasets[0].profile.columns)
        if len(datasets) == 1
        else sum(len(d.profile.columns) for d in datasets)
    )
    cost_names = list(dict.fromkeys(d.profile.cost or "" for d in datasets))
    metrics = Metrics(
        rows=sum(d.profile.rows for d in datasets),
        unblended_cost=float(sum(costs)),
        amortized_cost=float(sum(costs)),
        columns=columns,
        analysis_type=analysis_type,
    )
    now = dt.datetime.fromisoformat(generated_at)
    return FileReportSummary(
        report_id=report_id,
        generated_at=generated_at,
        window=_window(datasets, now.date()),
        schema="file",
        engine="duckdb",
        source=", ".join(d.label for d in datasets),
        families=list(dict.fromkeys(families)),
        metrics=metrics,
        queries={s.name: s for s in summaries},
        results={r.name: r for r in results},
        datasets=datasets,
        layout=workspace.layout,
        cost_label=", ".join(cost_names),
    )
