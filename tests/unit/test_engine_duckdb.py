"""The DuckDB engine reads every local layout and names the file when input is bad."""

from __future__ import annotations

import datetime as dt
import gzip
import shutil
from pathlib import Path

import duckdb
import pytest

from finops_agent.engines.base import QueryError
from finops_agent.engines.duckdb import DuckDBEngine
from finops_agent.sources import SourceError, detect_schema
from tests import tiny


def _as_csv(parquet_folder: Path, target: Path, *, gz: bool = False) -> Path:
    """Re-write the tiny legacy CUR with raw CUR CSV headers (lineItem/UnblendedCost...)."""
    from finops_agent.sources import athena_name

    raw_names = {
        "bill_payer_account_id": "bill/PayerAccountId",
        "bill_billing_period_start_date": "bill/BillingPeriodStartDate",
        "line_item_usage_account_id": "lineItem/UsageAccountId",
        "line_item_line_item_type": "lineItem/LineItemType",
        "line_item_usage_start_date": "lineItem/UsageStartDate",
        "line_item_product_code": "lineItem/ProductCode",
        "line_item_usage_type": "lineItem/UsageType",
        "line_item_operation": "lineItem/Operation",
        "line_item_resource_id": "lineItem/ResourceId",
        "line_item_availability_zone": "lineItem/AvailabilityZone",
        "line_item_usage_amount": "lineItem/UsageAmount",
        "line_item_unblended_cost": "lineItem/UnblendedCost",
        "line_item_currency_code": "lineItem/CurrencyCode",
        "pricing_unit": "pricing/unit",
        "product_product_name": "product/ProductName",
        "product_region": "product/region",
        "resource_tags_user_owner": "resourceTags/user:owner",
    }
    assert all(athena_name(raw) == name for name, raw in raw_names.items())
    target.mkdir(parents=True)
    out = target / ("cur.csv.gz" if gz else "cur.csv")
    select = ", ".join(f'{name} as "{raw}"' for name, raw in raw_names.items())
    plain = target / "plain.csv"
    duckdb.sql(
        f"copy (select {select} from read_parquet('{parquet_folder}/**/*.parquet')) to '{plain}' (header)"
    )
    if gz:
        with plain.open("rb") as src, gzip.open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
        plain.unlink()
    else:
        plain.rename(out)
    return out


@pytest.mark.parametrize("gz", [False, True], ids=["csv", "csv.gz"])
def test_raw_cur_csv_headers_are_normalised(tmp_path: Path, gz: bool) -> None:
    folder = tiny.write("cur", tmp_path / "parquet")
    path = _as_csv(folder, tmp_path / "csv", gz=gz)
    engine = DuckDBEngine(str(path))
    columns = engine.source_columns()
    assert "line_item_unblended_cost" in columns and "lineItem/UnblendedCost" not in columns
    assert detect_schema(list(columns)) == "cur"
    assert engine.raw_sql("select round(sum(line_item_unblended_cost), 2) from raw_cost") == [
        (tiny.UNBLENDED_TOTAL,)
    ]


def test_globs_and_hive_folders_read_the_same_rows(tmp_path: Path) -> None:
    folder = tiny.write("cur2", tmp_path / "cur2")
    by_folder = DuckDBEngine(str(folder)).raw_sql(
        "select count(*), max(billing_period) from raw_cost"
    )
    by_glob = DuckDBEngine(str(folder / "**" / "*.parquet")).raw_sql(
        "select count(*), max(billing_period) from raw_cost"
    )
    assert by_folder == by_glob == [(len(tiny.LINES), "2026-10")]


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: p / "missing", "does not exist"),
        (lambda p: (p / "empty.csv").write_bytes(b"") or p / "empty.csv", "is empty"),
        (lambda p: (p / "none").mkdir() or p / "none", "holds no .parquet"),
        (lambda p: p / "*.parquet", "no files match"),
    ],
    ids=["missing", "empty-file", "empty-folder", "glob-without-match"],
)
@pytest.mark.hostile
def test_missing_or_empty_sources_are_named(tmp_path: Path, make: object, expected: str) -> None:
    source = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(SourceError, match=expected) as info:
        DuckDBEngine(str(source))
    assert str(source) in str(info.value)


@pytest.mark.hostile
def test_a_corrupt_parquet_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 this is not parquet at all")
    with pytest.raises(SourceError, match=r"bad\.parquet"):
        DuckDBEngine(str(bad))


def test_a_failing_query_names_itself(tmp_path: Path) -> None:
    engine = DuckDBEngine(str(tiny.write("cur2", tmp_path / "cur2")))
    engine.raw_sql("create table cost as select 1 as x")
    with pytest.raises(QueryError, match="'broken'"):
        engine.execute("broken", "select no_such_column from cost", {})
    with pytest.raises(QueryError, match="needs parameter"):
        engine.execute("unbound", "select x from cost where x > :floor", {})
    result = engine.execute(
        "fine", "select x from cost where x >= :floor", {"floor": 1, "unused": dt.date.today()}
    )
    assert result.frame["x"].tolist() == [1]
