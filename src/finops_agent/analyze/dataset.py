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
)
from finops_agent.analyze.profile import (
    ColumnStats,
    Conversion,
    Profile,
    assign_roles,
    clean_expr,
    column_stats,
)

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

    @property
    def days(self) -> int | None:
        """Days from the first to the last date in the data, both included (None when undated)."""
        if self.date_range is None:
            return None
        first, last = (dt.date.fromisoformat(str(v)[:10]) for v in self.date_range)
        return (last - first).days + 1


@dataclass
class Workspace:
    """An open DuckDB connection holding the views, and how they were built."""

    con: duckdb.DuckDBPyConnection
    layout: Layout
    files: list[ReadOptions]
    datasets: list[Dataset]
    statements: list[str]

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


def _view_columns(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    rows = con.execute(f"describe select * from {relation}").fetchall()
    return {str(row[0]): str(row[1]) for row in rows}


def _try_read(
    con: duckdb.DuckDBPyConnection, options: ReadOptions, view: str, head_rows: int | None
) -> tuple[str, _File]:
    columns = describe(con, options)
    # money and date patterns are decided on the head of the file (regular expressions are
    # the costly part); the one full pass below then reads the cleaned, typed view
    head = f"(select * from {options.relation()} limit {DETECT_ROWS})"
    _, raw = column_stats(con, head, columns, options.path)
    conversions: dict[str, Conversion] = {s.name: s.conversion for s in raw if s.conversion}
    select = ", ".join(clean_expr(name, conversions.get(name, "")) for name in columns)
    source = (
        options.relation()
        if head_rows is None
        else f"(select * from {options.relation()} limit {head_rows})"
    )
    sql = f"create or replace view {view} as select {select} from {source}"
    con.execute(sql)
    rows, stats = column_stats(con, view, _view_columns(con, view), options.path, detect=False)
    return sql, _File(options, view, columns, conversions, rows, stats)


def _open_file(
    con: duckdb.DuckDBPyConnection,
    path: str,
    index: int,
    statements: list[str],
    head_rows: int | None,
) -> _File:
    found = inspect_file(path)
    # absolute, so chat can reopen the views from any working folder
    options = replace(found, path=str(Path(found.path).resolve()))
    error: AnalyzeError | None = None
    for attempt in fallbacks(options):
        try:
            sql, file = _try_read(con, attempt, f"file_{index}", head_rows)
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
    statements.append(sql)
    return file


def _same_columns(files: list[_File]) -> bool:
    first = {c.lower() for c in files[0].columns}
    return all({c.lower() for c in f.columns} == first for f in files[1:])


def _union_sql(files: list[_File]) -> str:
    return " union all by name ".join(
        f"select *, {_label_literal(f.options.path)} as {SOURCE_FILE_COLUMN} from {f.view}"
        for f in files
    )


def _label_literal(path: str) -> str:
    return "'" + Path(path).name.replace("'", "''") + "'"


def _dataset(
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
        c.name: by_name[c.name].total for c in profile.columns if c.role in ("cost", "metric")
    }
    dataset = Dataset(view, label, [f.options.path for f in files], profile, totals)
    if profile.date and by_name[profile.date].last is not None:
        dataset.date_range = (by_name[profile.date].first, by_name[profile.date].last)
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
    # DuckDB spills to disk beyond this; the setting is shared with the report engine
    if memory_limit:
        con.execute("set memory_limit = $limit", {"limit": memory_limit})
    if threads:
        con.execute(f"set threads = {int(threads)}")
    statements: list[str] = []
    try:
        files = [
            _open_file(con, path, i + 1, statements, head_rows) for i, path in enumerate(paths)
        ]
        if len(files) == 1:
            layout: Layout = "single"
            sql = f"create or replace view {RESULTS_VIEW} as select * from {files[0].view}"
            plan = [(RESULTS_VIEW, Path(files[0].options.path).name, files)]
        else:
            layout = "merged" if _same_columns(files) else "side_by_side"
            # `results` always holds every row, so chat can ask across files
            sql = f"create or replace view {RESULTS_VIEW} as {_union_sql(files)}"
            if layout == "merged":
                names = ", ".join(Path(f.options.path).name for f in files)
                plan = [(RESULTS_VIEW, names, files)]
            else:
                plan = []
                for i, f in enumerate(files, start=1):
                    view = f"{RESULTS_VIEW}_{i}"
                    side = f"create or replace view {view} as select * from {f.view}"
                    con.execute(side)
                    statements.append(side)
                    plan.append((view, Path(f.options.path).name, [f]))
        con.execute(sql)
        statements.append(sql)
        datasets = []
        for view, label, members in plan:
            if len(members) == 1:
                rows, stats = members[0].rows, members[0].stats
            else:
                rows, stats = column_stats(con, view, _view_columns(con, view), label, detect=False)
            datasets.append(_dataset(view, label, members, rows, stats, overrides))
    except BaseException:
        con.close()
        raise
    return Workspace(con, layout, [f.options for f in files], datasets, statements)


def reopen(statements: list[str]) -> duckdb.DuckDBPyConnection:
    """A new DuckDB connection with the `results` views of an analysed report (for chat)."""
    con = duckdb.connect()
    try:
        for sql in statements:
            con.execute(sql)
    except duckdb.Error as exc:
        con.close()
        raise AnalyzeError(
            f"cannot reopen the analysed files: {str(exc).splitlines()[0]}"
        ) from None
    return con
