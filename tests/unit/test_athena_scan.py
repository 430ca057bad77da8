"""The Athena scan estimator on a tiny hive-partitioned sample whose chunk sizes the tests add up."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from benchmarks.athena_scan import (
    KINDS,
    MIN_BILLED_BYTES,
    Statement,
    WindowTable,
    column_table,
    estimate,
    file_chunks,
    materialise_statement,
    report_statements,
    statement_scans,
    table_types,
    window_table_scan,
)

from finops_agent.engines.athena_extract import extract_location
from finops_agent.engines.athena_materialise import ctas_statement, window_table
from finops_agent.engines.base import MATERIALISE_FOLDER, MATERIALISE_QUERY
from finops_agent.sample_data import generate
from finops_agent.window import Window

USAGE_START = "line_item_usage_start_date"
# the first half of October: the sample's last October row group (days 16-20) lies outside
HALF_OCTOBER = Window(dt.date(2026, 10, 1), dt.date(2026, 10, 16))
# column order in the files written below
START, COST, RESOURCE, NOTE = 0, 1, 2, 3

ADAPTER = (
    "select src.line_item_unblended_cost as unblended_cost, "
    "src.line_item_resource_id as resource_id, src.note as note "
    'from "cur"."cost_and_usage" as src '
    "where src.billing_period = ? and src.line_item_usage_start_date >= ? "
    "and src.line_item_usage_start_date < ?"
)
ONE_SCAN = f"with cost as ({ADAPTER}) select sum(unblended_cost) as total from cost"
TWO_SCANS = (
    f"with cost as ({ADAPTER}), "
    "per_resource as (select resource_id, sum(unblended_cost) as c from cost group by 1) "
    "select a.resource_id, a.c, b.unblended_cost "
    "from per_resource as a join cost as b on a.resource_id = b.resource_id"
)


def _write_month(folder: Path, month: int, days: list[list[int]]) -> Path:
    """One file per month, one row group per list of days (five rows a day)."""
    folder.mkdir(parents=True)
    path = folder / "part-00000.parquet"
    schema = pa.schema(
        [
            (USAGE_START, pa.timestamp("ms")),
            ("line_item_unblended_cost", pa.float64()),
            ("line_item_resource_id", pa.string()),
            ("note", pa.string()),
        ]
    )
    with pq.ParquetWriter(path, schema) as writer:
        for group in days:
            starts = [dt.datetime(2026, month, d, h) for d in group for h in range(5)]
            n = len(starts)
            writer.write_table(
                pa.table(
                    {
                        USAGE_START: starts,
                        "line_item_unblended_cost": [0.25 * i for i in range(n)],
                        "line_item_resource_id": [f"i-{month}{i:04d}" for i in range(n)],
                        "note": [f"note number {i} of month {month}" for i in range(n)],
                    },
                    schema=schema,
                )
            )
    return path


@pytest.fixture
def sample(tmp_path: Path) -> tuple[Path, Path, Path]:
    """billing_period=2026-09 (one row group) and =2026-10 (four row groups of five days)."""
    root = tmp_path / "data"
    september = _write_month(root / "billing_period=2026-09", 9, [[1, 2, 3]])
    october = _write_month(
        root / "billing_period=2026-10",
        10,
        [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10], [11, 12, 13, 14, 15], [16, 17, 18, 19, 20]],
    )
    return root, september, october


def _chunk(path: Path, group: int, column: int) -> int:
    return int(pq.ParquetFile(path).metadata.row_group(group).column(column).total_compressed_size)


def _run(root: Path, text: str) -> int:
    statement = Statement("q", text, [], HALF_OCTOBER)
    (result,) = estimate(root, [statement], table_types(root), USAGE_START)
    return result.scanned_bytes


def test_a_statement_reading_cost_once_scans_the_kept_chunks_of_its_columns(
    sample: tuple[Path, Path, Path],
) -> None:
    root, _, october = sample
    # cost for the sum, usage start for the window filter; the note and resource id unread
    expected = sum(_chunk(october, g, c) for g in (0, 1, 2) for c in (START, COST))
    assert _run(root, ONE_SCAN) == expected


def test_a_statement_referencing_cost_twice_counts_two_scans(
    sample: tuple[Path, Path, Path],
) -> None:
    root, _, october = sample
    assert len(statement_scans(TWO_SCANS, table_types(root))) == 2
    # both scans read start, cost and resource id (the aggregate and the join key)
    expected = 2 * sum(_chunk(october, g, c) for g in (0, 1, 2) for c in (START, COST, RESOURCE))
    assert _run(root, TWO_SCANS) == expected


def test_a_column_no_query_uses_is_not_counted(sample: tuple[Path, Path, Path]) -> None:
    root, _, _ = sample
    (scan,) = statement_scans(ONE_SCAN, table_types(root))
    assert scan == frozenset({USAGE_START, "line_item_unblended_cost", "billing_period"})


def test_a_partition_outside_the_window_is_not_counted(sample: tuple[Path, Path, Path]) -> None:
    root, september, october = sample
    both = Window(dt.date(2026, 9, 1), dt.date(2026, 10, 16))
    statement = Statement("q", ONE_SCAN, [], both)
    (result,) = estimate(root, [statement], table_types(root), USAGE_START)
    in_october = sum(_chunk(october, g, c) for g in (0, 1, 2) for c in (START, COST))
    in_september = sum(_chunk(september, 0, c) for c in (START, COST))
    assert result.scanned_bytes == in_october + in_september
    # the report window alone leaves September's partition unread
    assert _run(root, ONE_SCAN) == in_october


def test_the_ten_megabyte_minimum_applies(sample: tuple[Path, Path, Path]) -> None:
    root, _, _ = sample
    (result,) = estimate(
        root, [Statement("q", ONE_SCAN, [], HALF_OCTOBER)], table_types(root), USAGE_START
    )
    assert result.scanned_bytes < 10 * 1024 * 1024
    assert result.billed_bytes == 10 * 1024 * 1024 == MIN_BILLED_BYTES


@pytest.fixture(scope="module")
def cur2_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated CUR 2.0 export, partitioned by billing period, September-October 2026."""
    out = tmp_path_factory.mktemp("cur2")
    generate("cur2", out, rows=3_000, months=2, end=dt.date(2026, 10, 31))
    return out / "data"


def test_the_report_sends_month_over_month_over_the_complete_months_only(
    cur2_sample: Path,
) -> None:
    plan = KINDS["report"]
    names = [s.name for s in report_statements(cur2_sample, plan.window, plan.families)]
    # runs.report drops the in-window month over month: it would scan the source for nothing
    assert "month_over_month_by_service" not in names
    assert names.count("month_over_month_by_service (complete months)") == 1
    assert {"gp2_volumes", "untagged_spend", "window_totals", "month_to_date"} <= set(names)


def test_the_digest_sends_the_cost_family_over_the_last_thirty_days(cur2_sample: Path) -> None:
    plan = KINDS["digest"]
    assert plan.window == Window(dt.date(2026, 10, 2), dt.date(2026, 11, 1))
    statements = report_statements(cur2_sample, plan.window, plan.families)
    names = {s.name for s in statements}
    # no architecture or tagging query; the totals, the bill and the comparisons still run
    assert not names & {"gp2_volumes", "idle_elastic_ips", "untagged_spend", "tag_coverage"}
    assert {"window_totals", "bill_waterfall", "daily_anomalies", "previous_period_totals"} <= names
    assert {"month_to_date", "month_over_month_by_service (complete months)"} <= names
    stored = next(s for s in statements if s.name == "daily_anomalies")
    assert stored.window == plan.window


def test_the_column_table_counts_a_column_once_per_scan_that_reads_it(
    sample: tuple[Path, Path, Path],
) -> None:
    root, _, october = sample
    one = Statement("one", ONE_SCAN, [], HALF_OCTOBER)
    two = Statement("two", TWO_SCANS, [], HALF_OCTOBER)
    results = estimate(root, [one, two], table_types(root), USAGE_START)
    cost = sum(_chunk(october, g, COST) for g in (0, 1, 2))
    start = sum(_chunk(october, g, START) for g in (0, 1, 2))
    resource = sum(_chunk(october, g, RESOURCE) for g in (0, 1, 2))
    total = 3 * (cost + start) + 2 * resource
    lines = column_table(results).splitlines()
    # three scans read the cost and the usage start; the two of the self-join the resource id
    rows = {line.split(" | ")[0].strip("| `"): line for line in lines[2:]}
    assert set(rows) == {"line_item_unblended_cost", USAGE_START, "line_item_resource_id"}
    assert rows["line_item_unblended_cost"] == (
        f"| `line_item_unblended_cost` | 3 | {3 * cost / 1e6:,.1f} | {3 * cost / total:.0%} |"
    )
    assert rows["line_item_resource_id"].startswith("| `line_item_resource_id` | 2 |")


def test_extract_mode_sends_two_unloads_reading_the_columns_per_query_mode_reads(
    cur2_sample: Path,
) -> None:
    plan = KINDS["report"]
    extract = report_statements(cur2_sample, plan.window, plan.families, "extract")
    # the stored queries and the comparisons run locally on the two copies
    assert [s.name for s in extract] == ["athena_extract", "athena_extract_comparisons"]
    assert extract[1].window == Window(dt.date(2026, 9, 1), dt.date(2026, 10, 1))
    types = table_types(cur2_sample)
    (unload,) = statement_scans(extract[0].text, types)
    (earlier,) = statement_scans(extract[1].text, types)
    per_query = report_statements(cur2_sample, plan.window, plan.families)

    def read(statements: list[Statement]) -> frozenset[str]:
        return frozenset().union(*(c for s in statements for c in statement_scans(s.text, types)))

    in_window = read([s for s in per_query if s.window == plan.window])
    comparisons = read([s for s in per_query if s.window != plan.window])
    # the second copy reads exactly what the comparisons read on Athena in per-query mode
    assert earlier == comparisons
    # the window's copy: what the window's statements read, and the comparisons' columns
    assert unload == in_window | comparisons


# the same adapter with the named parameters the engine's CTAS turns into `?` markers
NAMED_ADAPTER = (
    "select src.line_item_unblended_cost as unblended_cost, "
    "src.line_item_resource_id as resource_id, src.note as note "
    'from "cur"."cost_and_usage" as src '
    "where src.billing_period = :period and src.line_item_usage_start_date >= :start_date "
    "and src.line_item_usage_start_date < :end_date"
)
BENCH_TABLE = "finops_window_bench"


def _ctas(query_sqls: list[str]) -> Statement:
    made = ctas_statement(
        NAMED_ADAPTER,
        {"period": "2026-10", "start_date": HALF_OCTOBER.start, "end_date": HALF_OCTOBER.end},
        query_sqls,
        "cur",
        window_table("bench"),
        extract_location("s3://results/", "bench", MATERIALISE_FOLDER),
    )
    return Statement(MATERIALISE_QUERY, made.sql, made.params, HALF_OCTOBER)


def test_the_ctas_is_one_scan_of_the_source_reading_the_kept_chunks_of_its_select(
    sample: tuple[Path, Path, Path],
) -> None:
    root, _, october = sample
    ctas = _ctas(["select sum(unblended_cost) as total from cost"])
    assert ctas.text.startswith(f'CREATE TABLE "cur"."{BENCH_TABLE}" WITH (')
    # the table it creates is in the same database: it must not count as a second scan
    assert statement_scans(ctas.text, table_types(root)) == [
        frozenset({USAGE_START, "line_item_unblended_cost", "billing_period"})
    ]
    (result,) = estimate(root, [ctas], table_types(root), USAGE_START)
    # the SELECT is cut to the cost the query sums, plus the usage start it filters on
    assert result.scanned_bytes == sum(
        _chunk(october, g, c) for g in (0, 1, 2) for c in (START, COST)
    )


def _write_window_table(path: Path) -> None:
    """A window table of two canonical columns in two row groups, as a CTAS would leave it."""
    schema = pa.schema([("unblended_cost", pa.float64()), ("resource_id", pa.string())])
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for group in range(2):
            writer.write_table(
                pa.table(
                    {
                        "unblended_cost": [0.5 * i + group for i in range(40)],
                        "resource_id": [f"i-{group}{i:04d}" for i in range(40)],
                    },
                    schema=schema,
                )
            )


def test_a_query_over_the_window_table_reads_that_tables_chunks_once_per_scan(
    sample: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    root, _, _ = sample
    path = tmp_path / "window.parquet"
    _write_window_table(path)
    meta = pq.ParquetFile(path).metadata
    cost = sum(meta.row_group(g).column(0).total_compressed_size for g in range(2))
    resource = sum(meta.row_group(g).column(1).total_compressed_size for g in range(2))
    table = WindowTable(
        BENCH_TABLE, {"unblended_cost": "double", "resource_id": "string"}, file_chunks(path)
    )
    relation = f'select "unblended_cost", "resource_id" from "cur"."{BENCH_TABLE}"'
    one = Statement(
        "one",
        f"with cost as ({relation}) select sum(unblended_cost) as total from cost",
        [],
        HALF_OCTOBER,
        BENCH_TABLE,
    )
    self_join = Statement(
        "two",
        f"with cost as ({relation}) select a.resource_id from cost as a "
        "join cost as b on a.resource_id = b.resource_id where b.unblended_cost > 0",
        [],
        HALF_OCTOBER,
        BENCH_TABLE,
    )
    results = estimate(root, [one, self_join], table_types(root), USAGE_START, table)
    # no partition or usage-start filter: the table holds only the window, all of it is read
    assert [(r.name, len(r.scans), r.scanned_bytes) for r in results] == [
        ("one", 1, cost),
        ("two", 2, 2 * resource + cost),
    ]
    assert results[0].billed_bytes == MIN_BILLED_BYTES


def test_materialise_mode_sends_the_ctas_then_the_queries_over_its_table_and_the_comparisons(
    cur2_sample: Path,
) -> None:
    plan = KINDS["report"]
    per_query = report_statements(cur2_sample, plan.window, plan.families)
    materialise = report_statements(cur2_sample, plan.window, plan.families, "materialise")
    ctas, *rest = materialise
    assert ctas.name == MATERIALISE_QUERY
    assert ctas.table == "cost_and_usage" and ctas.window == plan.window
    assert len(statement_scans(ctas.text, table_types(cur2_sample))) == 1
    assert [s.name for s in rest] == [s.name for s in per_query]
    relation = f'from "cur"."{BENCH_TABLE}"'
    for before, after in zip(per_query, rest, strict=True):
        if before.window == plan.window:
            # a stored query: the same statement, reading the window table instead
            assert after.table == BENCH_TABLE and relation in after.text.lower(), after.name
            assert "cost_and_usage" not in after.text, after.name
        else:
            # a comparison reads months outside the window: on the source, as in per-query mode
            assert (after.text, after.values, after.table) == (
                before.text,
                before.values,
                "cost_and_usage",
            )
    # the benchmark's CTAS is the one its statements start with
    assert materialise_statement(cur2_sample, plan.window, plan.families).sql == ctas.text


def test_the_window_table_is_the_ctas_columns_written_with_zstd(cur2_sample: Path) -> None:
    plan = KINDS["digest"]
    statement = materialise_statement(cur2_sample, plan.window, plan.families)
    table = window_table_scan(cur2_sample, plan.window, statement)
    assert table.table == BENCH_TABLE
    assert list(table.types) == list(statement.columns)
    assert set(table.chunks.bytes_by_column) == set(statement.columns)
    assert table.chunks.rows > 0
    results = estimate(
        cur2_sample,
        report_statements(cur2_sample, plan.window, plan.families, "materialise"),
        table_types(cur2_sample),
        USAGE_START,
        table,
    )
    by_name = {r.name: r for r in results}
    totals = by_name["window_totals"]
    assert totals.table == BENCH_TABLE
    assert totals.scanned_bytes == sum(table.chunks.bytes_by_column[c] for c in totals.columns)
