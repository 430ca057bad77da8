"""A ranking that cuts at top_n gives the same rows on every engine: ties go to the lower key."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from finops_agent.catalog import load_catalog
from finops_agent.engines.duckdb import DuckDBEngine
from finops_agent.execution import bound_params

RESOURCES = 60
TOP_N = 5


def _tied_cost(path: Path) -> None:
    """Sixty untagged resources that cost exactly the same and send the same bytes to the
    internet, in shuffled order."""
    ids = [f"i-{n:04d}" for n in range(RESOURCES)]
    order = sorted(range(RESOURCES), key=lambda n: (n * 37) % RESOURCES)
    rows = len(order)
    table = pa.table(
        {
            "resource_id": [ids[n] for n in order],
            "account_id": ["111111111111"] * rows,
            "account_name": ["prod"] * rows,
            "service_code": ["AmazonEC2"] * rows,
            "region": ["us-east-1"] * rows,
            "usage_date": [dt.date(2026, 10, 1)] * rows,
            "charge_type": ["Usage"] * rows,
            "provider": ["AWS"] * rows,
            "usage_type": ["USE1-DataTransfer-Out-Bytes"] * rows,
            "usage_amount": [100.0] * rows,
            "unblended_cost": [9.0] * rows,
            "amortized_cost": [10.0] * rows,
            "tags": pa.array([[("team", "web")]] * rows, type=pa.map_(pa.string(), pa.string())),
        }
    )
    pq.write_table(table, path, row_group_size=7)


@pytest.mark.parametrize("query", ["untagged_top_resources", "top_resources", "data_transfer_out"])
def test_a_top_n_cut_through_tied_costs_keeps_the_lowest_resource_ids(
    tmp_path: Path, query: str
) -> None:
    path = tmp_path / "cost.parquet"
    _tied_cost(path)
    spec = load_catalog().queries[query]
    engine = DuckDBEngine(str(path), threads=2)
    try:
        engine.bind_cost(f"select * from read_parquet('{path}')", {})
        params = {"start_date": dt.date(2026, 10, 1), "end_date": dt.date(2026, 11, 1)}
        values = bound_params(spec, {**params, "tag_key": "owner", "top_n": TOP_N})
        frame = engine.execute(spec.name, spec.sql, values).frame
    finally:
        engine.close()
    assert frame["resource_id"].tolist() == [f"i-{n:04d}" for n in range(TOP_N)]
