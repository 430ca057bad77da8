"""The report tells the truth about the bill: every waterfall line equals what the generator planted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from finops_agent.catalog import load_catalog
from finops_agent.execution import run_query
from finops_agent.pipeline import prepare_run
from finops_agent.settings import load_settings
from finops_agent.waterfall import LINES, waterfall_from_frame

pytestmark = pytest.mark.integration
CENT = 0.005


def _run(folder: Path, truth: dict[str, Any], query: str) -> Any:
    run = prepare_run(
        load_settings(), source=str(folder / "data"), start=truth["start"], end=truth["end"]
    )
    try:
        result = run_query(run.engine, load_catalog().queries[query], run.params)
    finally:
        run.engine.close()
    assert result.ok, result.error
    return result.frame


@pytest.mark.parametrize("schema", ["cur", "cur2", "focus"])
def test_every_waterfall_line_equals_the_ground_truth_to_the_cent(
    sample_dataset: Any, schema: str
) -> None:
    folder, truth = sample_dataset(schema)
    bill = waterfall_from_frame(_run(folder, truth, "bill_waterfall"))
    assert bill is not None and bill.currency == "USD" and bill.other_currencies == []
    expected = truth["waterfall"]
    for key, _label in LINES:
        assert bill.amount(key) == pytest.approx(expected[key], abs=CENT), key
    assert bill.net_total == pytest.approx(expected["net_total"], abs=CENT)
    assert bill.amortized_total == pytest.approx(expected["amortized_total"], abs=CENT)
    # the lines add up to the net total, and the planted charges are all there
    assert sum(x.amount for x in bill.lines) == pytest.approx(bill.net_total, abs=CENT)
    assert bill.amount("refunds") == pytest.approx(-123.45, abs=CENT)
    assert bill.amount("credits") == pytest.approx(-150.0, abs=CENT)  # -$50 in each of 3 months
    assert bill.amount("tax") == pytest.approx(3 * (40 + 57.5 + 75), abs=CENT)
    assert bill.amount("upfront_purchases") == pytest.approx(1314.0, abs=CENT)
    assert bill.amount("commitment_fees") > 0
    assert bill.amount("commitment_offset") == pytest.approx(
        -bill.amount("usage_covered"), abs=CENT
    )


def test_a_bill_netted_to_zero_by_credits_still_shows_where_the_usage_went(
    tmp_path: Path,
) -> None:
    import json
    import re

    import duckdb

    from finops_agent.sample_data import generate
    from tests.conftest import SAMPLE_END
    from tests.reportkit import pipeline_report

    folder = tmp_path / "zero"
    truth = generate("cur2", folder, rows=20_000, end=SAMPLE_END, credits_cover_usage=True)
    assert truth["waterfall"]["net_total"] == pytest.approx(0.0, abs=CENT)
    html_path = pipeline_report("cur2", folder / "data", tmp_path / "out")
    html = html_path.read_text(encoding="utf-8")
    report = json.loads((html_path.parent / "report.json").read_text(encoding="utf-8"))

    # the oracle: October's usage before credits per product, straight from the files
    glob = str(folder / "data" / "**" / "*.parquet")
    expected = duckdb.sql(
        f"""
        select element_at(product, 'product_name')[1] as service,
               sum(case when line_item_line_item_type = 'Usage' then line_item_unblended_cost
                        else pricing_public_on_demand_cost end) as usage
        from read_parquet('{glob}', hive_partitioning=true)
        where line_item_line_item_type in ('Usage', 'SavingsPlanCoveredUsage', 'DiscountedUsage')
          and line_item_usage_start_date >= '2026-10-01' and line_item_usage_start_date < '2026-11-01'
        group by 1 order by 2 desc
        """
    ).fetchall()
    usage_total = sum(u for _, u in expected)

    assert report["bill"]["net_total"] == pytest.approx(0.0, abs=CENT)
    assert report["bill"]["usage_total"] == pytest.approx(usage_total, abs=CENT)
    assert "-$0.00" not in html and "-$0.00" not in report["insights"]["markdown"]
    sentence = re.search(
        r"The largest services by usage before credits were (.+?)\.\n",
        report["insights"]["markdown"] + "\n",
    )
    assert sentence is not None
    named = re.findall(r"([A-Za-z][A-Za-z ]+?) \$([\d,]+\.\d\d) \((\d+\.\d)%\)", sentence.group(1))
    assert [n.strip() for n, _, _ in named] == [s for s, _ in expected[:3]]
    for (_, amount, pct), (_, usage) in zip(named, expected[:3], strict=True):
        assert float(amount.replace(",", "")) == pytest.approx(usage, abs=CENT)
        assert float(pct) == pytest.approx(usage / usage_total * 100, abs=0.05)
        assert float(pct) > 0
