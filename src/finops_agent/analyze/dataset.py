"""Turn result files into DuckDB views (`results`, cleaned and typed) with their column profiles."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb

from finops_agent.analyze.profile import (
    ColumnStats,
    Profile,
    assign_roles,
    column_stats,
)
from finops_agent.result_files.load import (
    AnalyzeError,
    ReadOptions,
    describe,
    fallbacks,
    inspect_file,
    quote_ident,
)
from finops_agent.result_files.views import (
    Conversion,
    Layout,
    combine_views,
    file_view_sql,
)
from finops_agent.sources import Schema, SourceError, detect_schema, normalise_headers

_SEPARATORS = (",", ";", "\t", "|")
# Rows at the head of a file whose text decides money and date conversions.
DETECT_ROWS = 100_000


@dataclass
class Overrides:
    """Column roles the user chose (--cost-col, --group-col, --date-col)."""

    cost_col: str | None = None
    group_col: str | None = None
    date_col: str | None = None


@dataclass
class Dataset:
    """One analysed relation: a single file, the merged files, or one file side by side."""

    view: str
    label: str
    files: list[str]
    profile: Profile
    totals: dict[str, float | None] = field(default_factory=dict)
    date_range: tuple[Any, Any] | None = None
    signals: dict[str, Any] = field(default_factory=dict)
    # every date is the first of a month at midnight: each value stands for its whole month
    monthly_dates: bool = False
    # cur, cur2 or focus when the file is a raw billing export (sources.detect_schema)
    billing_schema: str | None = None
    # what analyze says about a billing export: which `finops report` to run instead
    export_note: str = ""

    @property
    def coverage(self) -> tuple[dt.date, dt.date] | None:
        """First and last day the data covers, both included (None when undated).

        Monthly dates (`2026-10`, billing periods) cover their whole last month.
        """
        if self.date_range is None:
            return None
        first, last = (dt.date.fromisoformat(str(v)[:10]) for v in self.date_range)
        if self.monthly_dates:
            last = _month_end(last)
        return first, last

    @property
    def days(self) -> int | None:
        """Days the data covers, both ends included (None when undated)."""
        if self.coverage is None:
            return None
        first, last = self.coverage
        return (last - first).days + 1

    def days_in(self, month: dt.date) -> int:
        """Days of the calendar month starting at `month` that the data covers."""
        if self.coverage is None:
            return 0
        first, last = self.coverage
        start, end = max(first, month), min(last, _month_end(month))
        return max(0, (end - start).days + 1)


def _month_end(day: dt.date) -> dt.date:
    following = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)


@dataclass
class Workspace:
    """An open DuckDB connection holding the views, and how they were built."""

    con: duckdb.DuckDBPyConnection
    layout: Layout
    files: list[ReadOptions]
    datasets: list[Dataset]
    conversions: list[dict[str, Conversion]]

    def close(self) -> None:
        """Close the DuckDB connection."""
        self.con.close()


@dataclass
class _File:
    options: ReadOptions
    view: str
    columns: dict[str, str]
    conversions: dict[str, Conversion]
    rows: int
    stats: list[ColumnStats]

    @property
    def billing_schema(self) -> str | None:
        """The billing export schema the file's columns match, if any."""
        return billing_schema(list(self.columns))


def billing_schema(columns: list[str]) -> Schema | None:
    """cur, cur2 or focus when the columns are a raw billing export's (raw CUR headers too)."""
    try:
        renames = normalise_headers(columns)
        return detect_schema([renames.get(c, c) for c in columns])
    except SourceError:
        return None


def _view_columns(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    rows = con.execute(f"describe select * from {relation}").fetchall()
    return {str(row[0]): str(row[1]) for row in rows}


def _try_read(
    con: duckdb.DuckDBPyConnection, options: ReadOptions, view: str, head_rows: int | None
) -> _File:
    columns = describe(con, options)
    # money and date patterns are decided on the head of the file (regular expressions are
    # the costly part); the one full pass below then reads the cleaned, typed view
    head = f"(select * from {options.relation()} limit {DETECT_ROWS})"
    _, raw = column_stats(con, head, columns, options.path)
    conversions: dict[str, Conversion] = {s.name: s.conversion for s in raw if s.conversion}
    sql = file_view_sql(view, options, list(columns), conversions, head_rows)
    con.execute(sql)
    rows, stats = column_stats(con, view, _view_columns(con, view), options.path, detect=False)
    return _File(options, view, columns, conversions, rows, stats)


def _open_file(
    con: duckdb.DuckDBPyConnection,
    path: str,
    index: int,
    head_rows: int | None,
) -> _File:
    found = inspect_file(path)
    # absolute, so chat can reopen the views from any working folder
    options = replace(found, path=str(Path(found.path).resolve()))
    error: AnalyzeError | None = None
    for attempt in fallbacks(options):
        try:
            file = _try_read(con, attempt, f"file_{index}", head_rows)
        except AnalyzeError as exc:
            error = error or exc
            continue
        break
    else:
        assert error is not None
        raise error
    columns = file.columns
    if len(columns) == 1 and any(sep in next(iter(columns)) for sep in _SEPARATORS):
        # DuckDB fell back to one column: rows disagree on their number of fields
        raise AnalyzeError(
            f"{path}: cannot read: rows have different numbers of fields, so the delimiter "
            f"cannot be detected (header: {next(iter(columns))[:80]!r})"
        )
    if file.rows == 0:
        raise AnalyzeError(f"{path}: header only, no data rows (columns: {', '.join(columns)})")
    return file


def _monthly_dates(con: duckdb.DuckDBPyConnection, view: str, column: str) -> bool:
    d = f"cast({quote_ident(column)} as timestamp)"
    row = con.execute(
        f"select count(*) filter (where {d} <> date_trunc('month', {d})) from {view}"
    ).fetchall()[0]
    return int(row[0]) == 0


def _dataset(
    con: duckdb.DuckDBPyConnection,
    view: str,
    label: str,
    files: list[_File],
    rows: int,
    stats: list[ColumnStats],
    overrides: Overrides,
) -> Dataset:
    profile = assign_roles(
        rows,
        stats,
        label=label,
        cost_col=overrides.cost_col,
        group_col=overrides.group_col,
        date_col=overrides.date_col,
    )
    conversions = {k: v for f in files for k, v in f.conversions.items()}
    for column in profile.columns:
        column.converted = conversions.get(column.name, "")
    by_name = {s.name: s for s in stats}
    totals = {
        c.name: by_name[c.name].total
        for c in profile.columns
        if c.role in ("cost", "quantity", "metric")
    }
    dataset = Dataset(view, label, [f.options.path for f in files], profile, totals)
    dataset.billing_schema = files[0].billing_schema
    if profile.date and by_name[profile.date].last is not None:
        dataset.date_range = (by_name[profile.date].first, by_name[profile.date].last)
        dataset.monthly_dates = _monthly_dates(con, view, profile.date)
    return dataset


def open_workspace(
    paths: list[str],
    overrides: Overrides | None = None,
    *,
    head_rows: int | None = None,
    memory_limit: str | None = None,
    threads: int | None = None,
) -> Workspace:
    """Read every file, build the cleaned views and `results`, and profile what will be analysed.

    With `head_rows`, only that many rows of each file are read: a quick check of every file
    and override before the real run (the CLI does it before starting Prefect).
    """
    if not paths:
        raise AnalyzeError("no files given: pass at least one result file")
    overrides = overrides or Overrides()
    con = duckdb.connect()
    # billing timestamps are UTC: casting them to plain timestamps must not shift the day
    con.execute("set TimeZone = 'UTC'")
    # DuckDB spills to disk beyond this; the setting is shared with the report engine
    if memory_limit:
        con.execute("set memory_limit = $limit", {"limit": memory_limit})
    if threads:
        con.execute(f"set threads = {int(threads)}")
    try:
        files = [_open_file(con, path, i + 1, head_rows) for i, path in enumerate(paths)]
        layout, plan = combine_views(
            con, [(f.view, f.options.path, list(f.columns)) for f in files]
        )
        datasets = []
        for view, label, indexes in plan:
            members = [files[i] for i in indexes]
            if len(members) == 1:
                rows, stats = members[0].rows, members[0].stats
            else:
                rows, stats = column_stats(con, view, _view_columns(con, view), label, detect=False)
            datasets.append(_dataset(con, view, label, members, rows, stats, overrides))
    except BaseException:
        con.close()
        raise
    return Workspace(
        con,
        layout,
        [f.options for f in files],
        datasets,
        [f.conversions for f in files],
    )
