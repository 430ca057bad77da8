"""What the report costs on Athena, estimated offline from Parquet footers.

For a hive-partitioned Parquet sample, take the exact statements the Athena engine sends
(`AthenaEngine.prepare`: every stored query and the previous-period totals), count the scans
of the source per statement (every reference to a CTE inlined, as Trino plans it), find the
source columns each scan needs (projections nobody reads are pruned through the adapter) and
sum the compressed column-chunk bytes of the partitions and row groups the window keeps.
Athena bills at least 10 MB per statement.

    python benchmarks/athena_scan.py [--schema cur2] [--kind report] [--mode extract] [--rows N]
        [--cur-gb 50] [--no-record]

Two kinds of run are estimated: the full report (every family, October 2026) and the daily
digest (the cost family over the last 30 days, as the `daily-anomaly-digest` deployment runs it),
each in per-query mode, in materialise mode (one CTAS of the window's canonical columns, every
stored query over that table, the comparisons on the source) and in extract mode (the window's
UNLOAD and the comparisons' narrow one). The materialised table's bytes are those of the same
window written by DuckDB's ZSTD Parquet writer; Athena's writer's sizes differ somewhat.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from finops_agent.catalog import load_catalog
from finops_agent.comparison import (
    MONTH_OVER_MONTH,
    comparison_extract,
    month_over_month,
    month_to_date,
    previous_period_totals,
)
from finops_agent.engines import athena_scan as scan_model
from finops_agent.engines.athena import AthenaEngine
from finops_agent.engines.athena_extract import extract_location, run_unloads
from finops_agent.engines.athena_materialise import (
    MaterialiseStatement,
    ctas_statement,
    window_table,
)
from finops_agent.engines.base import (
    EXTRACT_COMPARISONS_QUERY,
    EXTRACT_QUERY,
    MATERIALISE_FOLDER,
    MATERIALISE_QUERY,
    EngineResult,
)
from finops_agent.engines.duckdb import DuckDBEngine
from finops_agent.execution import bound_params
from finops_agent.period import period_window
from finops_agent.pipeline import resolve_specs
from finops_agent.settings import DEFAULT_TAG_ALIASES
from finops_agent.sources import CostSql, Schema, cost_sql, detect_schema
from finops_agent.window import Window

MIN_BILLED_BYTES = 10 * 1024 * 1024
USD_PER_TB = 5.0
_BYTES_PER_TB = 1e12
_DATABASE = "cur"
_TABLE = "cost_and_usage"
_USAGE_START = {
    "cur": "line_item_usage_start_date",
    "cur2": "line_item_usage_start_date",
    "focus": "chargeperiodstart",
}
_MARKERS = ("<!-- athena-scan -->", "<!-- /athena-scan -->")
# where the extract mode's UNLOAD would write; the text is all the estimate needs of it
_RESULTS = "s3://finops-bench-results/athena/"
_EXTRACT_LOCATION = extract_location(_RESULTS, "bench")
# the run id materialise mode's table and folder are named after; the text is all that matters
_RUN_ID = "bench"
MODES = ("per-query", "materialise", "extract")
# the sample's data ends on 2026-10-31: a run on 1 November sees every day of it
_RUN_DAY = dt.date(2026, 11, 1)


@dataclass(frozen=True)
class RunKind:
    """What one scheduled run asks for: its families (None: every family) and its window."""

    name: str
    label: str
    families: tuple[str, ...] | None
    window: Window


KINDS: dict[str, RunKind] = {
    "report": RunKind(
        "report", "full report, every family", None, period_window("last_full_month", _RUN_DAY)
    ),
    "digest": RunKind(
        "digest",
        "daily digest, cost family, last 30 days",
        ("cost",),
        period_window("last_30_days", _RUN_DAY),
    ),
}


class ScanError(ValueError):
    """A statement or a sample the estimator cannot read."""


@dataclass(frozen=True)
class Statement:
    """One statement as Athena receives it, and the window its partition filter keeps."""

    name: str
    text: str
    values: list[str]
    window: Window
    # the table it scans: the source, or materialise mode's window table
    table: str = _TABLE


@dataclass
class StatementScan:
    """The scans of its table one statement makes and the bytes they read."""

    name: str
    scans: list[frozenset[str]]
    scanned_bytes: int = 0
    columns: frozenset[str] = field(default_factory=frozenset)
    # bytes per column over all the statement's scans (a column read twice counts twice)
    by_column: dict[str, int] = field(default_factory=dict)
    table: str = _TABLE

    @property
    def billed_bytes(self) -> int:
        """Bytes Athena bills: what the statement scans, at least 10 MB."""
        return max(self.scanned_bytes, MIN_BILLED_BYTES)


def glue_type(kind: pa.DataType) -> str:
    """The Glue type name the Athena catalog would give a Parquet column of this Arrow type."""
    if pa.types.is_dictionary(kind):
        return glue_type(kind.value_type)
    if pa.types.is_map(kind):
        return f"map<{glue_type(kind.key_type)},{glue_type(kind.item_type)}>"
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "string"
    if pa.types.is_timestamp(kind):
        return "timestamp"
    if pa.types.is_date(kind):
        return "date"
    if pa.types.is_floating(kind):
        return "double"
    if pa.types.is_decimal(kind):
        return f"decimal({kind.precision},{kind.scale})"
    if pa.types.is_integer(kind):
        return "bigint"
    if pa.types.is_boolean(kind):
        return "boolean"
    raise ScanError(f"no Glue type for a Parquet column of type {kind}")


@dataclass(frozen=True)
class Partition:
    """One hive partition directory: its key values and its Parquet files."""

    keys: dict[str, str]
    files: tuple[Path, ...]


def partitions(root: Path) -> list[Partition]:
    """The hive partitions under `root` (`key=value` directories), each with its Parquet files."""
    found: dict[Path, list[Path]] = {}
    for path in sorted(root.rglob("*.parquet")):
        found.setdefault(path.parent, []).append(path)
    if not found:
        raise ScanError(f"{root}: no Parquet files")
    result = []
    for folder, files in found.items():
        keys = {}
        for part in folder.relative_to(root).parts:
            key, sep, value = part.partition("=")
            if sep:
                keys[key.lower()] = value
        result.append(Partition(keys, tuple(files)))
    return result


def table_types(root: Path) -> dict[str, str]:
    """Columns and Glue types of the sample as the Glue catalog would list them, partitions last."""
    parts = partitions(root)
    arrow = pq.ParquetFile(parts[0].files[0]).schema_arrow
    types = {f.name.lower(): glue_type(f.type) for f in arrow}
    for key in parts[0].keys:
        types[key] = "string"
    return types


def _athena_adapter(
    root: Path, window: Window
) -> tuple[AthenaEngine, dict[str, str], Schema, CostSql]:
    """An Athena engine over the sample's table (never called), its types, schema and adapter."""
    types = table_types(root)
    schema: Schema = detect_schema(list(types))
    # made-up keys: building the engine's clients sends no request, and nothing is executed
    session = boto3.Session(
        region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    engine = AthenaEngine(_DATABASE, _TABLE, session=session)
    adapter = cost_sql(schema, engine.source_relation(), types, window, DEFAULT_TAG_ALIASES)
    return engine, types, schema, adapter


def _ctas(adapter: CostSql, query_sqls: Sequence[str]) -> MaterialiseStatement:
    """Materialise mode's CTAS of the window, as the engine renders it for these queries."""
    return ctas_statement(
        adapter.sql,
        adapter.params,
        query_sqls,
        _DATABASE,
        window_table(_RUN_ID),
        extract_location(_RESULTS, _RUN_ID, MATERIALISE_FOLDER),
    )


def materialise_statement(
    root: Path, window: Window, families: Sequence[str] | None = None
) -> MaterialiseStatement:
    """The CTAS a materialise-mode run of `families` sends first (every stored query's columns)."""
    _, _, _, adapter = _athena_adapter(root, window)
    _, specs = resolve_specs(list(families) if families else None)
    # as `pipeline.prepare_run` plans it: every spec of the run's families
    return _ctas(adapter, [s.sql for s in specs])


def report_statements(
    root: Path, window: Window, families: Sequence[str] | None = None, mode: str = "per-query"
) -> list[Statement]:
    """The statements one run of `families` sends, as `AthenaEngine.prepare` renders them.

    Per-query mode, as `runs.report` runs them: the stored queries of the families except month
    over month, which runs over the two complete months only. Materialise mode: first the CTAS
    of the window cut to the columns the stored queries read, then the same stored queries with
    `cost` bound to that table, and the comparisons on the source as in per-query mode. Extract
    mode: one UNLOAD of the window cut to the columns those stored queries and the comparisons
    read, and one of the earlier months the comparisons read, their columns only (as
    `pipeline.prepare_run` plans them); every query and comparison then runs locally.
    """
    engine, types, schema, adapter = _athena_adapter(root, window)
    engine.bind_cost(adapter.sql, adapter.params)
    run_params: dict[str, object] = {"start_date": window.start, "end_date": window.end}
    statements = []
    catalog = load_catalog()
    chosen, specs = resolve_specs(list(families) if families else None)
    read_by_queries = _TABLE
    if mode == "materialise":
        ctas = _ctas(adapter, [s.sql for s in specs])
        statements.append(Statement(MATERIALISE_QUERY, ctas.sql, ctas.params, window))
        # as the engine does once the table exists: every stored query reads it by name
        engine.bind_cost(ctas.relation(), {})
        read_by_queries = ctas.table
    if mode == "extract":
        mom_spec = next((s for s in specs if s.name == MONTH_OVER_MONTH), None)
        planned = comparison_extract(
            schema,
            engine.source_relation(),
            types,
            window,
            DEFAULT_TAG_ALIASES,
            month_over_month_sql=mom_spec.sql if mom_spec is not None else None,
            with_month_to_date="cost" in chosen,
        )
        first, second = run_unloads(
            adapter.sql, adapter.params, [s.sql for s in specs], planned, _EXTRACT_LOCATION
        )
        # the comparisons' days in the window's first month come with the window's copy
        month_start = window.start.replace(day=1)
        reach = Window(max(planned.start, month_start), window.end)
        statements.append(Statement(EXTRACT_QUERY, first.sql, first.params, reach))
        if second is not None:
            earlier = Window(planned.start, month_start)
            statements.append(
                Statement(EXTRACT_COMPARISONS_QUERY, second.sql, second.params, earlier)
            )
        # the comparisons run on the local copies: nothing more reaches Athena
        return statements
    for spec in sorted(specs, key=lambda s: s.name):
        if spec.name == MONTH_OVER_MONTH or mode == "extract":
            continue
        name = spec.name
        text, values = engine.prepare(
            name, spec.sql, {**run_params, **bound_params(spec, run_params)}
        )
        statements.append(Statement(name, text, values, window, read_by_queries))
    # the statements the report runs beside the stored queries, through their own functions
    recorder = _Recorder(engine, types)
    results = [previous_period_totals(recorder, schema, window, DEFAULT_TAG_ALIASES)]
    if any(s.name == MONTH_OVER_MONTH for s in specs):
        mom = catalog.queries[MONTH_OVER_MONTH]
        results.append(
            month_over_month(recorder, schema, window, DEFAULT_TAG_ALIASES, mom, run_params)
        )
    if "cost" in chosen:
        results.append(month_to_date(recorder, schema, window, DEFAULT_TAG_ALIASES))
    for result in results:
        if not result.ok:
            raise ScanError(f"cannot render {result.name}: {result.error}")
    statements.extend(recorder.sent)
    return statements


class _Recorder:
    """Stands in for the engine: keeps what `AthenaEngine.prepare` renders for each statement."""

    name = "athena"

    def __init__(self, engine: AthenaEngine, types: Mapping[str, str]) -> None:
        self.source_label = engine.source_label
        self._engine = engine
        self._types = dict(types)
        self.sent: list[Statement] = []

    def source_columns(self) -> dict[str, str]:
        """The sample's columns as Glue would list them."""
        return dict(self._types)

    def source_relation(self) -> str:
        """The Athena engine's quoted table."""
        return self._engine.source_relation()

    def bind_cost(self, cost_sql: str, params: Mapping[str, object]) -> None:
        """Bind the adapter on the Athena engine."""
        self._engine.bind_cost(cost_sql, params)

    def execute(
        self,
        name: str,
        sql: str,
        params: Mapping[str, object],
        *,
        max_scan_bytes: int | None = None,
    ) -> EngineResult:
        """Record the statement (its window from the adapter's bound dates); return no rows."""
        text, values = self._engine.prepare(name, sql, params)
        start, end = params["start_date"], params["end_date"]
        if not isinstance(start, dt.date) or not isinstance(end, dt.date):
            raise ScanError(f"{name}: start_date/end_date are not dates: {start!r}, {end!r}")
        # the stored month-over-month query also runs in the report window under the same name
        label = f"{name} (complete months)" if name == MONTH_OVER_MONTH else name
        self.sent.append(Statement(label, text, values, Window(start, end)))
        return EngineResult(frame=pd.DataFrame(), sql=text)

    def close(self) -> None:
        """Nothing runs, so nothing to stop."""


def statement_scans(
    text: str, types: Mapping[str, str], *, database: str = _DATABASE, table: str = _TABLE
) -> list[frozenset[str]]:
    """Per scan of `database.table` in the statement, the (top-level) source columns it reads."""
    try:
        return scan_model.statement_scans(text, types, database=database, table=table)
    except scan_model.ScanModelError as exc:
        raise ScanError(str(exc)) from None


def _overlaps(stats: pq.Statistics | None, start: dt.datetime, end: dt.datetime) -> bool:
    """False only when the row group's min/max prove it holds no row in [start, end)."""
    if stats is None or not stats.has_min_max:
        return True
    low, high = stats.min, stats.max
    if isinstance(low, dt.datetime) and isinstance(high, dt.datetime):
        return not (high < start or low >= end)
    return True


@dataclass(frozen=True)
class ChunkIndex:
    """Compressed bytes per top-level column of the row groups a window keeps."""

    bytes_by_column: dict[str, int]
    rows: int


def window_chunks(root: Path, window: Window, usage_start: str) -> ChunkIndex:
    """Sum column chunks per top-level column over the partitions and row groups `window` keeps."""
    periods = {m.strftime("%Y-%m") for m in window.months()}
    start = dt.datetime.combine(window.start, dt.time())
    end = dt.datetime.combine(window.end, dt.time())
    totals: dict[str, int] = {}
    rows = 0
    for part in partitions(root):
        period = part.keys.get("billing_period")
        if period is not None and period not in periods:
            continue
        for path in part.files:
            meta = pq.ParquetFile(path).metadata
            for i in range(meta.num_row_groups):
                group = meta.row_group(i)
                index = {
                    group.column(j).path_in_schema.split(".")[0].lower(): j
                    for j in range(group.num_columns)
                }
                if usage_start in index and not _overlaps(
                    group.column(index[usage_start]).statistics, start, end
                ):
                    continue
                rows += group.num_rows
                _add_chunks(group, totals)
    return ChunkIndex(totals, rows)


def _add_chunks(group: pq.RowGroupMetaData, totals: dict[str, int]) -> None:
    """Add a row group's compressed bytes to `totals`, per top-level column."""
    for j in range(group.num_columns):
        chunk = group.column(j)
        # a map is one column group: every leaf (key, value) chunk is read
        top = chunk.path_in_schema.split(".")[0].lower()
        totals[top] = totals.get(top, 0) + chunk.total_compressed_size


@dataclass(frozen=True)
class WindowTable:
    """Materialise mode's table: its name, its columns' Glue types and its column chunks."""

    table: str
    types: dict[str, str]
    chunks: ChunkIndex


def file_chunks(path: Path) -> ChunkIndex:
    """Compressed bytes per top-level column of every row group of one Parquet file."""
    meta = pq.ParquetFile(path).metadata
    totals: dict[str, int] = {}
    for i in range(meta.num_row_groups):
        _add_chunks(meta.row_group(i), totals)
    return ChunkIndex(totals, meta.num_rows)


def write_window(root: Path, window: Window, columns: Sequence[str] | None, path: Path) -> None:
    """Write the canonical window's `columns` (None: all) as ZSTD Parquet, as the CTAS would.

    The CTAS's SELECT is the adapter over the source; DuckDB runs the same adapter (built for
    DuckDB's view of the files) and writes ZSTD at level 3, Athena's default level too.
    """
    engine = DuckDBEngine(str(root))
    try:
        schema: Schema = detect_schema(list(engine.source_columns()))
        adapter = cost_sql(
            schema, engine.source_relation(), engine.source_columns(), window, DEFAULT_TAG_ALIASES
        )
        engine.bind_cost(adapter.sql, adapter.params)
        picked = "*" if columns is None else ", ".join(f'"{c}"' for c in columns)
        target = str(path).replace("'", "''")
        engine.raw_sql(
            f"copy (select {picked} from cost) to '{target}' (format parquet, compression zstd)"
        )
    finally:
        engine.close()


def window_table_scan(root: Path, window: Window, statement: MaterialiseStatement) -> WindowTable:
    """The table `statement` creates over the sample: its types and chunk bytes (all of them)."""
    with tempfile.TemporaryDirectory(prefix="finops-bench-window-") as folder:
        path = Path(folder) / "window.parquet"
        write_window(root, window, statement.columns, path)
        arrow = pq.ParquetFile(path).schema_arrow
        types = {f.name.lower(): glue_type(f.type) for f in arrow}
        return WindowTable(statement.table, types, file_chunks(path))


def estimate(
    root: Path,
    statements: Iterable[Statement],
    types: Mapping[str, str],
    usage_start: str,
    materialised: WindowTable | None = None,
) -> list[StatementScan]:
    """Scans, columns and compressed bytes of each statement on the sample under `root`.

    A statement over materialise mode's table reads `materialised`'s chunks: all of them, as
    the table holds only the window.
    """
    cache: dict[Window, ChunkIndex] = {}
    results = []
    for statement in statements:
        if statement.table != _TABLE:
            if materialised is None or materialised.table != statement.table:
                raise ScanError(f"{statement.name}: no sizes of table {statement.table!r}")
            scans = statement_scans(statement.text, materialised.types, table=materialised.table)
            chunks = materialised.chunks.bytes_by_column
        else:
            scans = statement_scans(statement.text, types)
            if statement.window not in cache:
                cache[statement.window] = window_chunks(root, statement.window, usage_start)
            chunks = cache[statement.window].bytes_by_column
        by_column: dict[str, int] = {}
        for scan in scans:
            for c in scan:
                by_column[c] = by_column.get(c, 0) + chunks.get(c, 0)
        columns = frozenset().union(*scans) if scans else frozenset()
        results.append(
            StatementScan(
                statement.name,
                scans,
                sum(by_column.values()),
                columns,
                by_column,
                statement.table,
            )
        )
    return results


def column_table(results: list[StatementScan], top: int = 8) -> str:
    """Where the bytes go: the columns that add most to the run's scans, and how often read."""
    total = sum(r.scanned_bytes for r in results)
    bytes_in_all: dict[str, int] = {}
    reads: dict[str, int] = {}
    for r in results:
        # a canonical column of the window table is named apart from any source column
        prefix = "" if r.table == _TABLE else f"{r.table}."
        for c, n in r.by_column.items():
            bytes_in_all[prefix + c] = bytes_in_all.get(prefix + c, 0) + n
        for scan in r.scans:
            for c in scan:
                reads[prefix + c] = reads.get(prefix + c, 0) + 1
    # partition keys live in the path, not in the files: they cost nothing
    read = [c for c in bytes_in_all if bytes_in_all[c] > 0]
    ranked = sorted(read, key=lambda c: (-bytes_in_all[c], c))[:top]
    lines = [
        "| column | scans reading it | MB in all | share of the run |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| `{c}` | {reads[c]} | {_mb(bytes_in_all[c])} | {bytes_in_all[c] / total:.0%} |"
        for c in ranked
    ]
    return "\n".join(lines)


def one_pass_bytes(
    root: Path, results: Iterable[StatementScan], window: Window, usage_start: str
) -> int:
    """Bytes of reading the union of every column the report window's statements need, once."""
    needed: set[str] = set()
    for result in results:
        needed |= result.columns
    chunks = window_chunks(root, window, usage_start).bytes_by_column
    return sum(chunks.get(c, 0) for c in needed)


def _mb(n: float) -> str:
    return f"{n / 1e6:,.1f}"


def table(
    results: list[StatementScan],
    one_pass: int,
    window_bytes: int,
    rows: int,
    cur_gb: float,
    label: str = "Per-query mode",
) -> str:
    """The Markdown table: per statement scans, columns, MB scanned and billed, and the total."""
    # scaling rule: bytes grow with the window's rows, so a statement's scan at a CUR of
    # `cur_gb` per month is its sample bytes x cur_gb / (all columns of the sample's window)
    scale = cur_gb * 1e9 / window_bytes
    lines = [
        f"Sample: {rows:,} rows in the window, {_mb(window_bytes)} MB of Parquet (all columns). "
        f"Dollars at a CUR of {cur_gb:g} GB per month (${USD_PER_TB:g} per TB scanned; every byte "
        f"figure scaled by {cur_gb:g} GB / the sample window's size, then the 10 MB minimum applied).",
        "",
        "| statement | scans | columns | MB scanned | MB billed | $ at scale |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    total = billed = dollars = 0.0
    for r in results:
        at_scale = max(r.scanned_bytes * scale, MIN_BILLED_BYTES)
        usd = at_scale / _BYTES_PER_TB * USD_PER_TB
        total += r.scanned_bytes
        billed += r.billed_bytes
        dollars += usd
        lines.append(
            f"| {r.name} | {len(r.scans)} | {len(r.columns)} | {_mb(r.scanned_bytes)} | "
            f"{_mb(r.billed_bytes)} | {usd:.4f} |"
        )
    pass_usd = max(one_pass * scale, MIN_BILLED_BYTES) / _BYTES_PER_TB * USD_PER_TB
    lines += [
        f"| **total ({len(results)} statements)** | {sum(len(r.scans) for r in results)} | | "
        f"{_mb(total)} | {_mb(billed)} | {dollars:.2f} |",
        f"| **one pass** (needed columns read once) | 1 | | {_mb(one_pass)} | "
        f"{_mb(max(one_pass, MIN_BILLED_BYTES))} | {pass_usd:.2f} |",
        "",
        f"{label} scans **{total / one_pass:.1f}x** one pass "
        f"({dollars / pass_usd:.1f}x in dollars at {cur_gb:g} GB/month).",
    ]
    return "\n".join(lines)


def bytes_per_row(root: Path, schema: Schema) -> dict[str, float]:
    """Compressed bytes per row of each column in the full report's window: the report's model."""
    index = window_chunks(root, KINDS["report"].window, _USAGE_START[schema])
    if not index.rows:
        raise ScanError(f"{root}: no rows in the report window")
    return {c: round(b / index.rows, 4) for c, b in sorted(index.bytes_by_column.items())}


def window_bytes_per_row(root: Path) -> dict[str, float]:
    """ZSTD bytes per row of each canonical column of the full report's window table."""
    with tempfile.TemporaryDirectory(prefix="finops-bench-window-") as folder:
        path = Path(folder) / "window.parquet"
        # every canonical column: a chat run materialises them all, and each column's chunks
        # do not depend on which others the file holds
        write_window(root, KINDS["report"].window, None, path)
        index = file_chunks(path)
    if not index.rows:
        raise ScanError(f"{root}: no rows in the report window")
    return {c: round(b / index.rows, 4) for c, b in sorted(index.bytes_by_column.items())}


def record_profile(path: Path, profiles: Mapping[str, Mapping[str, float]]) -> None:
    """Merge the measured bytes per row of each schema into the profile the report reads."""
    current = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    merged = {**current.get("bytes_per_row", {}), **{k: dict(v) for k, v in profiles.items()}}
    body = {
        "about": "Compressed Parquet bytes per row of each source column (key: the schema), "
        "and of each canonical column of materialise mode's ZSTD window table (key: "
        "'<schema>:materialised'), measured by benchmarks/athena_scan.py on generated samples; "
        "the report's Athena appendix weighs statements by them.",
        "bytes_per_row": dict(sorted(merged.items())),
    }
    path.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")


def record(readme: Path, text: str) -> None:
    """Replace the text between the estimator's markers in benchmarks/README.md."""
    body = readme.read_text(encoding="utf-8")
    start, end = _MARKERS
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(body):
        raise ScanError(f"{readme}: markers {start} … {end} not found")
    readme.write_text(pattern.sub(lambda _: f"{start}\n{text}\n{end}", body), encoding="utf-8")


def sample_root(schema: Schema, rows: int, data: Path) -> Path:
    """The hive-partitioned Parquet sample of `schema` (generated on first use): Sep-Oct 2026."""
    from finops_agent.sample_data import generate

    out = data / f"athena_scan_{schema}_{rows}"
    if not (out / "data").exists():
        generate(schema, out, rows=rows, months=2, end=dt.date(2026, 10, 31))
    return out / "data"


def run(
    schema: Schema,
    rows: int,
    cur_gb: float,
    data: Path,
    kind: str = "report",
    mode: str = "per-query",
) -> str:
    """Estimate one kind of run (full report or daily digest) in one Athena mode; the table.

    One pass is the same in every mode: the columns the per-query statements read, once.
    """
    plan = KINDS[kind]
    root = sample_root(schema, rows, data)
    window = plan.window
    types = table_types(root)
    usage_start = _USAGE_START[schema]
    statements = report_statements(root, window, plan.families)
    results = estimate(root, statements, types, usage_start)
    in_window = {s.name for s in statements if s.window == window}
    index = window_chunks(root, window, usage_start)
    one_pass = one_pass_bytes(
        root, [r for r in results if r.name in in_window], window, usage_start
    )
    if mode == "extract":
        results = estimate(
            root, report_statements(root, window, plan.families, mode), types, usage_start
        )
    elif mode == "materialise":
        table_scan = window_table_scan(
            root, window, materialise_statement(root, window, plan.families)
        )
        results = estimate(
            root,
            report_statements(root, window, plan.families, mode),
            types,
            usage_start,
            table_scan,
        )
    window_bytes = sum(index.bytes_by_column.values())
    last = window.end - dt.timedelta(days=1)
    return (
        f"**{schema}, {plan.label}, {mode} mode**: {rows:,} rows generated over two months; window "
        f"{window.start.isoformat()} to {last.isoformat()}.\n\n"
        + table(
            results,
            one_pass,
            window_bytes,
            index.rows,
            cur_gb,
            f"{mode.capitalize()} mode",
        )
        + "\n\nWhere the bytes go (the columns that add most):\n\n"
        + column_table(results)
    )


def main(argv: list[str] | None = None) -> int:
    """Estimate each schema's report and digest scans and print (and record) the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--schema", action="append", choices=["cur", "cur2", "focus"])
    parser.add_argument("--kind", action="append", choices=sorted(KINDS))
    parser.add_argument("--mode", action="append", choices=MODES)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cur-gb", type=float, default=50.0)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args(argv)
    here = Path(__file__).resolve().parent
    tables = [
        run(s, args.rows, args.cur_gb, here / "data", k, m)
        for s in args.schema or ["cur2"]
        for k in args.kind or ["report", "digest"]
        for m in args.mode or list(MODES)
    ]
    text = "\n\n".join(tables)
    print(text)
    if not args.no_record:
        record(here / "README.md", text)
        schemas = args.schema or ["cur2"]
        profiles: dict[str, dict[str, float]] = {}
        for s in schemas:
            root = sample_root(s, args.rows, here / "data")
            profiles[s] = bytes_per_row(root, s)
            profiles[scan_model.window_profile_key(s)] = window_bytes_per_row(root)
        record_profile(scan_model.PROFILE_PATH, profiles)
    return 0


if __name__ == "__main__":
    sys.exit(main())
