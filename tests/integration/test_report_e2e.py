"""The finops-report flow end to end on generated data of each schema (Prefect, DuckDB, rules, SQLite log)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest

from finops_agent.catalog import load_catalog
from finops_agent.store.sqlite import SQLiteStore

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]
START, END = "2026-10-01", "2026-11-24"
COST_COLUMN = {
    "cur": "line_item_unblended_cost",
    "cur2": "line_item_unblended_cost",
    "focus": "BilledCost",
}
TIME_COLUMN = {
    "cur": "line_item_usage_start_date",
    "cur2": "line_item_usage_start_date",
    "focus": "ChargePeriodStart",
}
# planted finding -> (the stored query that must report it, its catalog saving share)
PRECISE = {
    "gp2_volumes": ("gp2_volumes", 0.2),
    "previous_generation": ("previous_generation_instances", 0.1),
    "idle_eips": ("idle_elastic_ips", 1.0),
    "cross_az": ("cross_az_data_transfer", 0.5),
}
# October's 31 days and November's 23 (the data ends the day before END), as a 30.4375-day month
MONTH_OF_WINDOW = 30.4375 / 54


@pytest.mark.parametrize("schema", ["cur", "cur2", "focus"])
def test_report_flow_on_generated_data(
    schema: str, sample_dataset: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.report import finops_report

    folder, truth = sample_dataset(schema)
    monkeypatch.setenv("FINOPS_HOME", str(tmp_path / "home"))
    path = Path(
        finops_report(
            source=str(folder / "data"), start=START, end=END, output_dir=str(tmp_path / "out")
        )
    )
    data = json.loads((path.parent / "report.json").read_text())

    # the total equals an independent DuckDB sum over the raw files, to the cent
    glob = str(folder / "data" / "**" / "*.parquet")
    ((independent,),) = duckdb.sql(
        f"select sum({COST_COLUMN[schema]}) from read_parquet('{glob}', hive_partitioning=true) "
        f"where {TIME_COLUMN[schema]} >= '{START}' and {TIME_COLUMN[schema]} < '{END}'"
    ).fetchall()
    assert round(data["totals"]["unblended_cost"], 2) == round(independent, 2)
    html = path.read_text()
    assert f"${independent:,.2f}" in html

    # every planted finding the precise detectors see is reported with its resources
    findings = {f["query"]: f for f in data["findings"]}
    for planted, (query, share) in PRECISE.items():
        items = truth["planted"][planted]
        expected = {item["resource_id"] for item in items}
        assert set(findings[query]["resource_ids"]) == expected, query
        # the planted resources' window cost from the ground truth, month-scaled, times the share
        window_cost = sum(
            i["cost_by_month"]["2026-10"] + i["cost_by_month"]["2026-11"] for i in items
        )
        assert findings[query]["monthly_savings_usd"] == pytest.approx(
            window_cost * MONTH_OF_WINDOW * share, abs=0.005
        ), query
    nat = {g["resource_id"] for g in truth["planted"]["nat_gateway"]["gateways"]}
    assert set(findings["nat_gateway_without_endpoints"]["resource_ids"]) == nat

    # one chart per charted query that returned rows, plotly.js inlined once
    catalog = load_catalog()
    charted = [
        name
        for name, q in data["queries"].items()
        if q["status"] == "ok"
        and q["rows"]
        and name in catalog.queries
        and catalog.queries[name].chart.kind != "table"
        and name != "window_totals"
    ]
    assert len(re.findall(r'id="chart-', html)) == len(charted)
    # the change against the previous period (August 1 to September 24; the data starts on
    # September 1): net cost per day with data, each side summed from the raw files
    assert data["queries"]["previous_period_totals"]["status"] == "ok"

    def per_day(start: str, end: str) -> float:
        ((cost, days),) = duckdb.sql(
            f"select sum({COST_COLUMN[schema]}), count(distinct cast({TIME_COLUMN[schema]} as date)) "
            f"from read_parquet('{glob}', hive_partitioning=true) "
            f"where {TIME_COLUMN[schema]} >= '{start}' and {TIME_COLUMN[schema]} < '{end}'"
        ).fetchall()
        return float(cost) / int(days)

    now, before = per_day(START, END), per_day("2026-08-01", "2026-09-24")
    assert data["metrics"]["change_pct"] == pytest.approx((now - before) / before * 100, abs=1e-6)
    assert html.count("* plotly.js v") == 1
    for family in ("architecture", "tagging", "cost"):
        assert f'id="section-{family}"' in html

    # the insight generation was logged in the SQLite store
    logged = SQLiteStore(tmp_path / "home" / "interactions.sqlite").by_report(data["report_id"])
    assert [i.kind for i in logged] == ["insight"]
