"""Rebuild an analysed report's views: `file_N` per file, typed by its conversions, and `results`.

The analysis and chat both build the views with this code, from read options that are validated
here, so chat never runs SQL text stored in report.json.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import duckdb

from finops_agent.result_files.load import AnalyzeError, ReadOptions, describe, quote_ident

__all__ = [
    "RESULTS_VIEW",
    "SOURCE_FILE_COLUMN",
    "Conversion",
    "Layout",
    "clean_expr",
    "combine_views",
    "file_view_sql",
    "label_of",
    "reopen",
]

RESULTS_VIEW = "results"
SOURCE_FILE_COLUMN = "source_file"
Layout = Literal["single", "merged", "side_by_side"]
Conversion = Literal["", "money", "money_eu", "date", "month"]


def clean_expr(name: str, conversion: Conversion) -> str:
    """SQL that turns a text column into a number or a timestamp (or leaves it as it is)."""
    col = quote_ident(name)
    value = f"nullif(trim({col}), '')"
    if conversion == "money":
        # (12.50) is accounting notation for a negative amount
        sign = f"case when {value} like '(%)' or {value} like '%-%' then -1 else 1 end"
        digits = f"regexp_replace({value}, '[^0-9.]', '', 'g')"
        return f"{sign} * try_cast({digits} as double) as {col}"
    if conversion == "money_eu":
        sign = f"case when {value} like '%-%' then -1 else 1 end"
        digits = f"replace(regexp_replace({value}, '[^0-9,]', '', 'g'), ',', '.')"
        return f"{sign} * try_cast({digits} as double) as {col}"
    if conversion == "date":
        return f"try_cast({value} as timestamp) as {col}"
    if conversion == "month":
        return f"try_strptime({value}, '%Y-%m') as {col}"
    return col


def file_view_sql(
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


def label_of(path: str) -> str:
    return Path(path).name


def combine_views(
    con: duckdb.DuckDBPyConnection, files: list[tuple[str, str, list[str]]]
) -> tuple[Layout, list[tuple[str, str, list[int]]]]:
    """Create `results` (and `results_N` side by side) over the file views `(view, path, columns)`.

    Returns the layout and, per analysed relation, its view, label and file indexes.
    """
    if len(files) == 1:
        view, path, _ = files[0]
        con.execute(f"create or replace view {RESULTS_VIEW} as select * from {view}")
        return "single", [(RESULTS_VIEW, label_of(path), [0])]
    first = {c.lower() for c in files[0][2]}
    same = all({c.lower() for c in columns} == first for _, _, columns in files[1:])
    # `results` always holds every row, so chat can ask across files
    union = " union all by name ".join(
        f"select *, '{label_of(path).replace(chr(39), chr(39) * 2)}' as {SOURCE_FILE_COLUMN} "
        f"from {view}"
        for view, path, _ in files
    )
    con.execute(f"create or replace view {RESULTS_VIEW} as {union}")
    if same:
        return "merged", [
            (RESULTS_VIEW, ", ".join(label_of(p) for _, p, _ in files), list(range(len(files))))
        ]
    plan = []
    for i, (view, path, _) in enumerate(files):
        side = f"{RESULTS_VIEW}_{i + 1}"
        con.execute(f"create or replace view {side} as select * from {view}")
        plan.append((side, label_of(path), [i]))
    return "side_by_side", plan


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
            con.execute(file_view_sql(view, options, columns, conversions))
            files.append((view, options.path, columns))
        combine_views(con, files)
    except (AnalyzeError, duckdb.Error) as exc:
        con.close()
        message = str(exc).strip().splitlines()[0]
        raise AnalyzeError(f"cannot reopen the analysed files: {message}") from None
    return con
