"""Turn result files into DuckDB views (`results`, cleaned and typed) with their column profiles."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import duckdb

from finops_agent.analyze.load import (
    AnalyzeError,
    ReadOptions,
    describe,
    fallbacks,
    inspect_file,
    quote_ident,
)
from finops_agent.analyze.profile import (
    ColumnStats,
    Conversion,
    Profile,
    assign_roles,
    clean_expr,
    column_stats,
)
from finops_agent.sources import Schema, SourceError, detect_schema, normalise_headers

Layout = Literal["single", "merged", "side_by_side"]
RESULTS_VIEW = "results"
SOURCE_FILE_COLUMN = "source_file"
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


def _file_view_sql(
    view: str,
    options: ReadOptions,
    columns: list[str],
    conversions: dict[str, Conversion],
    head_rows: int | None = None,
) -> str:
    select = ", ".join(clean_expr(name, conversions.get(name, "")) for name in columns)
    source = options.relation()
    if head_rows is not None:
        source = f"(select * from {source} limit {int(head_rows)})"
    return f"create or replace view {view} as select {select} from {source}"


def _try_read(
    con: duckdb.DuckDBPyConnection, options: ReadOptions, view: str, head_rows: int | None
) -> _File:
    columns = describe(con, options)
    # money and date patterns are decided on the head of the file (regular expressions are
    # the costly part); the one full pass below then reads the cleaned, typed view
    head = f"(select * from {options.relation()} limit {DETECT_ROWS})"
    _, raw = column_stats(con, head, columns, options.path)
    conversions: dict[str, Conversion] = {s.name: s.conversion for s in raw if s.conversion}
    sql = _file_view_sql(view, options, list(columns), conversions, head_rows)
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


def _label(path: str) -> str:
    return Path(path).name


def _combine(
    con: duckdb.DuckDBPyConnection, files: list[tuple[str, str, list[str]]]
) -> tuple[Layout, list[tuple[str, str, list[int]]]]:
    """Create `results` (and `results_N` side by side) over the file views `(view, path, columns)`.

    Returns the layout and, per analysed relation, its view, label and file indexes.
    """
    if len(files) == 1:
        view, path, _ = files[0]
        con.execute(f"create or replace view {RESULTS_VIEW} as select * from {view}")
        return "single", [(RESULTS_VIEW, _label(path), [0])]
    first = {c.lower() for c in files[0][2]}
    same = all({c.lower() for c in columns} == first for _, _, columns in files[1:])
    # `results` always holds every row, so chat can ask across files
    union = " union all by name ".join(
        f"select *, '{_label(path).replace(chr(39), chr(39) * 2)}' as {SOURCE_FILE_COLUMN} "
        f"from {view}"
        for view, path, _ in files
    )
    con.execute(f"create or replace view {RESULTS_VIEW} as {union}")
    if same:
        return "merged", [
            (RESULTS_VIEW, ", ".join(_label(p) for _, p, _ in files), list(range(len(files))))
        ]
    plan = []
    for i, (view, path, _) in enumerate(files):
        side = f"{RESULTS_VIEW}_{i + 1}"
        con.execute(f"create or replace view {side} as select * from {view}")
        plan.append((side, _label(path), [i]))
    return "side_by_side", plan


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
        layout, plan = _combine(con, [(f.view, f.options.path, list(f.columns)) for f in files])
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


_CONVERSIONS: frozenset[str] = frozenset({"money", "money_eu", "date", "month"})
_ENCODINGS: frozenset[str] = frozenset({"utf-8", "latin-1"})
_FORMATS: frozenset[str] = frozenset({"csv", "parquet"})


def _read_options(entry: Any) -> tuple[ReadOptions, dict[str, Conversion]]:
    # report.json may have been edited: accept only the values this module writes
    if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
        raise AnalyzeError(f"read option {entry!r} has no file path")
    fmt, encoding = entry.get("format", "csv"), entry.get("encoding", "utf-8")
    if fmt not in _FORMATS or encoding not in _ENCODINGS:
        raise AnalyzeError(f"{entry['path']}: unknown format {fmt!r} or encoding {encoding!r}")
    conversions = entry.get("conversions") or {}
    if not isinstance(conversions, dict) or not set(conversions.values()) <= _CONVERSIONS:
        raise AnalyzeError(f"{entry['path']}: unknown conversions {conversions!r}")
    options = ReadOptions(entry["path"], fmt, encoding, bool(entry.get("full_sample", False)))
    return options, {str(k): v for k, v in conversions.items()}


def reopen(read_options: list[dict[str, Any]]) -> duckdb.DuckDBPyConnection:
    """A new DuckDB connection with the `results` views of an analysed report (for chat).

    `read_options` is report.json's `file.read_options`: the views are rebuilt from it
    the same way the analysis built them, never run from SQL text stored in the file.
    """
    if not read_options:
        raise AnalyzeError("the report names no analysed files")
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        files = []
        for index, entry in enumerate(read_options, start=1):
            options, conversions = _read_options(entry)
            if not Path(options.path).is_file():
                raise AnalyzeError(f"{options.path}: the analysed file is no longer there")
            columns = list(describe(con, options))
            view = f"file_{index}"
            con.execute(_file_view_sql(view, options, columns, conversions))
            files.append((view, options.path, columns))
        _combine(con, files)
    except (AnalyzeError, duckdb.Error) as exc:
        con.close()
        message = str(exc).strip().splitlines()[0]
        raise AnalyzeError(f"cannot reopen the analysed files: {message}") from None
    return con
