"""DuckDB engine: local Parquet / CSV / CSV.gz billing files, globs and hive-partitioned folders."""

from __future__ import annotations

import csv
import glob
import gzip
import os
import re
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import sqlglot

from finops_agent.engines.base import EngineResult, QueryError, SourceReadError
from finops_agent.engines.materialise import TAG_SETS, cost_statements
from finops_agent.engines.sql import to_duckdb, used_params
from finops_agent.sources import SourceError, normalise_headers

_WORK_DATABASE = "work.duckdb"
_NULL_STRINGS = "['', 'NULL']"
_DATA_SUFFIXES = (".parquet", ".csv", ".csv.gz", ".tsv", ".txt")
# Raw-schema columns holding JSON objects in CSV exports that the adapters read as maps.
_JSON_MAP_COLUMNS = ("product", "resource_tags")
# CSV is read as text and typed here: sniffing would turn 12-digit account ids into
# integers (dropping leading zeros) and mix types across files.
_NUMERIC_CSV_COLUMN = re.compile(
    r"(cost|amount|rate|fee|fee_for_billing_period|commitment_to_date|used_commitment|quantity|unitprice)$"
)
_TIMESTAMP_COLUMNS = {
    "bill_billing_period_start_date",
    "bill_billing_period_end_date",
    "line_item_usage_start_date",
    "line_item_usage_end_date",
    "billingperiodstart",
    "billingperiodend",
    "chargeperiodstart",
    "chargeperiodend",
}


@dataclass(frozen=True)
class _Conversion:
    """A text column of a CSV source that the raw view turns into another type."""

    name: str  # the column's name after header normalisation
    raw: str  # the quoted header as the file spells it
    target: str  # what the value must read as: 'a number', 'a timestamp' or 'a JSON object'

    def unreadable(self) -> str:
        """DuckDB predicate that is true for a value this conversion cannot read."""
        value = f"nullif(trim({self.raw}), '')"
        if self.target == "a JSON object":
            return f"{value} is not null and not coalesce(json_valid({value}), false)"
        kind = "double" if self.target == "a number" else "timestamp"
        return f"{value} is not null and try_cast({value} as {kind}) is null"


def _data_row(path: str, header: str, value: str) -> int | None:
    """1-based data row (after the header) of the first cell under `header` holding `value`."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle)
        names = next(rows, [])
        if header not in names:
            return None
        at = names.index(header)
        for number, row in enumerate(rows, start=1):
            if at < len(row) and row[at].strip() == value:
                return number
    return None


def _files(source: str) -> list[str]:
    path = Path(source)
    if path.is_dir():
        found = [
            str(p)
            for p in sorted(path.rglob("*"))
            if p.is_file() and p.name.endswith(_DATA_SUFFIXES)
        ]
        if not found:
            raise SourceError(f"folder {source} holds no .parquet, .csv or .csv.gz files")
        return found
    if any(ch in source for ch in "*?["):
        found = sorted(glob.glob(source, recursive=True))
        if not found:
            raise SourceError(f"no files match {source}")
        return found
    if not path.exists():
        raise SourceError(f"source {source} does not exist")
    if path.stat().st_size == 0:
        raise SourceError(f"source {source} is empty (0 bytes)")
    return [str(path)]


def _reader(files: list[str]) -> str:
    kinds = {"parquet" if f.endswith(".parquet") else "csv" for f in files}
    if len(kinds) > 1:
        raise SourceError("source mixes Parquet and CSV files; point it at one kind")
    hive = "true" if any("=" in Path(f).parent.name for f in files) else "false"
    if kinds == {"parquet"}:
        return f"read_parquet($files, hive_partitioning={hive}, hive_types_autocast=false, union_by_name=true)"
    return (
        # billing exports are comma-separated; naming the delimiter makes a broken row an error
        # instead of a silent fall-back to one text column. Exports write a missing value as an
        # empty cell or as the literal NULL: both are NULL in every column.
        f"read_csv($files, header=true, delim=',', quote='\"', escape='\"', hive_partitioning={hive}, "
        f"hive_types_autocast=false, union_by_name=true, all_varchar=true, nullstr={_NULL_STRINGS})"
    )


class DuckDBEngine:
    """Runs the stored queries with DuckDB over local billing files."""

    name = "duckdb"

    def __init__(
        self,
        source: str,
        *,
        threads: int | None = None,
        memory_limit: str = "1GB",
        database: str | None = None,
    ) -> None:
        self.source_label = source
        self._files = _files(source)
        self._work = tempfile.TemporaryDirectory(prefix="finops-duckdb-")
        # By default the database is a file in a temporary folder: DuckDB compresses what it
        # writes to a file (dictionary/FSST strings, bit-packed numbers) and not what it keeps
        # in memory, so the windowed `cost` table takes a fraction of its in-memory size and
        # queries read it from the buffer pool instead of from spilled, uncompressed blocks.
        self._con = duckdb.connect(database or str(Path(self._work.name) / _WORK_DATABASE))
        self._con.execute(f"set threads = {int(threads or os.cpu_count() or 2)}")
        self._con.execute("set memory_limit = $limit", {"limit": memory_limit})
        self._con.execute("set preserve_insertion_order = false")
        # operators that outgrow the memory limit spill here, inside the same temporary folder
        self._con.execute(
            "set temp_directory = $dir", {"dir": str(Path(self._work.name) / "spill")}
        )
        self._lock = threading.Lock()
        self._running: set[duckdb.DuckDBPyConnection] = set()
        # Queries run one at a time, each on all threads: DuckDB already parallelises a query,
        # and callers that submit many at once (the flow's thread pool) would only make them
        # fight over the cores and the memory limit (evicting the cost table, spilling).
        self._one_at_a_time = threading.Lock()
        self._conversions: list[_Conversion] = []
        self._columns = self._create_raw_view()

    def _create_raw_view(self) -> dict[str, str]:
        reader = _reader(self._files)
        is_csv = reader.startswith("read_csv")
        try:
            described = self._con.execute(
                f"describe select * from {reader}", {"files": self._files}
            ).fetchall()
        except duckdb.Error as exc:
            reason = _first_line(exc)
            if "sniffing file" in reason:
                reason += " A row has a different number of columns than the header, or a quote is not closed."
            raise SourceError(f"cannot read {self.source_label}: {reason}") from None
        columns = {row[0]: str(row[1]) for row in described}
        renames = normalise_headers(list(columns))
        select, normalised = [], {}
        conversion: _Conversion | None = None
        for raw, kind in columns.items():
            name = renames.get(raw, raw)
            quoted = '"' + raw.replace('"', '""') + '"'
            if name.lower() in _JSON_MAP_COLUMNS and kind.upper() in ("VARCHAR", "JSON"):
                expr, kind = (
                    f"cast(cast({quoted} as json) as map(varchar, varchar))",
                    "MAP(VARCHAR, VARCHAR)",
                )
                conversion = _Conversion(name, quoted, "a JSON object")
            elif is_csv and _NUMERIC_CSV_COLUMN.search(name.lower()):
                expr, kind = f"cast(nullif(trim({quoted}), '') as double)", "DOUBLE"
                conversion = _Conversion(name, quoted, "a number")
            elif name.lower() in _TIMESTAMP_COLUMNS and not kind.upper().startswith("TIMESTAMP "):
                expr, kind = f"cast({quoted} as timestamp)", "TIMESTAMP"
                conversion = _Conversion(name, quoted, "a timestamp")
            elif name.lower() in _TIMESTAMP_COLUMNS:
                expr, kind = f"cast(timezone('UTC', {quoted}) as timestamp)", "TIMESTAMP"
            else:
                expr = quoted
            if is_csv and conversion is not None:
                self._conversions.append(conversion)
            conversion = None
            select.append(f'{expr} as "{name}"')
            normalised[name] = kind
        self._con.execute(
            f"create or replace view raw_cost as select {', '.join(select)} "
            f"from {reader.replace('$files', self._files_sql())}"
        )
        return normalised

    def _files_sql(self) -> str:
        return "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in self._files) + "]"

    def _unreadable_value(self) -> str | None:
        """'file F, column C, row R: value V is not a number', for the first value the view cannot read."""
        reader = _reader(self._files).replace("$files", self._files_sql())
        reader = reader[:-1] + ", filename=true)"
        cursor = self._con.cursor()
        try:
            for conversion in self._conversions:
                found = cursor.execute(
                    f"select filename, trim({conversion.raw}) from {reader} "
                    f"where {conversion.unreadable()} limit 1"
                ).fetchall()
                if not found:
                    continue
                path, value = str(found[0][0]), str(found[0][1])
                header = conversion.raw[1:-1].replace('""', '"')
                row = _data_row(path, header, value)
                where = f"row {row}" if row is not None else "a row"
                return (
                    f"file {path}, column {conversion.name}, {where}: value {value!r} is not "
                    f"{conversion.target}"
                )
        except duckdb.Error:
            return None
        finally:
            cursor.close()
        return None

    def source_columns(self) -> dict[str, str]:
        """Columns of the source after header normalisation."""
        return dict(self._columns)

    def source_relation(self) -> str:
        """The view over the source files."""
        return "raw_cost"

    def bind_cost(self, cost_sql: str, params: Mapping[str, object]) -> None:
        """Materialise the canonical `cost` table once, so every query reads it without rescanning."""
        try:
            with self._lock:
                for sql, bound in cost_table_statements(cost_sql, params):
                    self._con.execute(sql, bound)
        except duckdb.Error as exc:
            culprit = (
                self._unreadable_value()
                if isinstance(exc, duckdb.ConversionException | duckdb.InvalidInputException)
                else None
            )
            raise SourceReadError(
                f"reading {self.source_label} failed: {culprit or _first_line(exc)}"
            ) from None

    def execute(
        self,
        name: str,
        sql: str,
        params: Mapping[str, object],
        *,
        max_scan_bytes: int | None = None,
    ) -> EngineResult:
        """Run one stored query against the materialised `cost` table (local files: no scan cap)."""
        try:
            duck_sql, names = to_duckdb(sql)
        except sqlglot.errors.SqlglotError as exc:
            raise QueryError(
                f"query {name!r} does not parse as Athena SQL: {_first_line(exc)}"
            ) from None
        with self._one_at_a_time:
            started = time.perf_counter()
            try:
                cursor = self._con.cursor()
                with self._lock:
                    self._running.add(cursor)
                try:
                    frame = cursor.execute(duck_sql, used_params(names, params, query=name)).df()
                finally:
                    with self._lock:
                        self._running.discard(cursor)
                    cursor.close()
            except (duckdb.Error, KeyError) as exc:
                raise QueryError(f"query {name!r} failed on DuckDB: {_first_line(exc)}") from None
            return EngineResult(frame=frame, sql=sql, engine_time_s=time.perf_counter() - started)

    def interrupt(self) -> None:
        """Stop every query running now (they fail with QueryError); used for chat timeouts."""
        # the parent connection's interrupt() does not reach its cursors: interrupt each one
        with self._lock:
            running = list(self._running)
        for cursor in running:
            cursor.interrupt()

    def raw_sql(
        self, sql: str, params: Mapping[str, object] | None = None
    ) -> list[tuple[object, ...]]:
        """Run DuckDB SQL directly (used by tests and benchmarks for independent checks)."""
        cursor = self._con.cursor()
        try:
            return cursor.execute(sql, dict(params or {})).fetchall()
        finally:
            cursor.close()

    def close(self) -> None:
        """Close the DuckDB connection and remove its database file and spill folder."""
        self._con.close()
        self._work.cleanup()


def cost_table_statements(
    cost_sql: str, params: Mapping[str, object]
) -> list[tuple[str, dict[str, object]]]:
    """DuckDB statements (with their parameters) that build `cost` from the adapter SQL."""
    statements: list[tuple[str, dict[str, object]]] = []
    for step in cost_statements(cost_sql):
        sql, names = to_duckdb(step.select)
        statements.append(
            (
                f"create or replace table {step.target} as {sql}",
                used_params(names, params, query="cost"),
            )
        )
    statements.append((f"drop table if exists {TAG_SETS}", {}))
    return statements


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
