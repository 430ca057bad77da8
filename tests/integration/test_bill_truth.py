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
        assert bill.amount(key) == pytest.approx(expected[key], abs=CENT, rel=0), key
    assert bill.net_total == pytest.approx(expected["net_total"], abs=CENT, rel=0)
    assert bill.amortized_total == pytest.approx(expected["amortized_total"], abs=CENT, rel=0)
    # the lines add up to the net total, and the planted charges are all there
    assert sum(x.amount for x in bill.lines) == pytest.approx(bill.net_total, abs=CENT, rel=0)
    assert bill.amount("refunds") == pytest.approx(-123.45, abs=CENT, rel=0)
    assert truth["planted"]["refund"]["amount"] == pytest.approx(
        bill.amount("refunds"), abs=CENT, rel=0
    )
    assert bill.amount("credits") == pytest.approx(
        -150.0, abs=CENT, rel=0
    )  # -$50 in each of 3 months
    assert bill.amount("tax") == pytest.approx(3 * (40 + 57.5 + 75), abs=CENT, rel=0)
    assert bill.amount("upfront_purchases") == pytest.approx(1314.0, abs=CENT, rel=0)
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
    assert truth["waterfall"]["net_total"] == pytest.approx(0.0, abs=CENT, rel=0)
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

    assert report["bill"]["net_total"] == pytest.approx(0.0, abs=CENT, rel=0)
    assert report["bill"]["usage_total"] == pytest.approx(usage_total, abs=CENT, rel=0)
    assert "-$0.00" not in html and "-$0.00" not in report["insights"]["markdown"]
    sentence = re.search(
        r"The largest services by usage before credits were (.+?)\.\n",
        report["insights"]["markdown"] + "\n",
    )
    assert sentence is not None
    named = re.findall(r"([A-Za-z][A-Za-z ]+?) \$([\d,]+\.\d\d) \((\d+\.\d)%\)", sentence.group(1))
    assert [n.strip() for n, _, _ in named] == [s for s, _ in expected[:3]]
    for (_, amount, pct), (_, usage) in zip(named, expected[:3], strict=True):
        assert float(amount.replace(",", "")) == pytest.approx(usage, abs=CENT, rel=0)
        assert float(pct) == pytest.approx(usage / usage_total * 100, abs=0.05)
        assert float(pct) > 0


def test_month_over_month_compares_the_two_complete_months_and_finds_the_planted_movers(
    sample_dataset: Any,
) -> None:
    from finops_agent.comparison import complete_months, month_over_month

    folder, truth = sample_dataset("cur2")
    # the default window on the sample data: October and November to date
    run = prepare_run(
        load_settings(), source=str(folder / "data"), start="2026-10-01", end="2026-11-24"
    )
    try:
        spec = load_catalog().queries["month_over_month_by_service"]
        assert complete_months(run.window).label == "2026-09-01 to 2026-10-31"
        result = month_over_month(run.engine, "cur2", run.window, {}, spec)
        in_window = run_query(run.engine, spec, run.params)
    finally:
        run.engine.close()
    assert result.ok, result.error
    # inside the window there is one complete month only: nothing to compare there
    assert in_window.ok and in_window.frame.empty
    frame = result.frame
    assert {str(d)[:10] for d in frame["billing_period"]} == {"2026-10-01"}
    assert {str(d)[:10] for d in frame["previous_period"]} == {"2026-09-01"}
    by_code = frame.set_index("service_code")
    for role in ("grows", "shrinks"):
        mover = truth["planted"]["movers"][role]
        months = mover["usage_cost_by_month"]
        row = by_code.loc[mover["service_code"]]
        assert row["usage_cost"] == pytest.approx(months["2026-10"], abs=CENT, rel=0)
        assert row["previous_usage_cost"] == pytest.approx(months["2026-09"], abs=CENT, rel=0)
        assert row["change_usd"] == pytest.approx(
            months["2026-10"] - months["2026-09"], abs=CENT, rel=0
        )
    assert by_code.loc["AmazonRDS", "change_usd"] > 0 > by_code.loc["AmazonAthena", "change_usd"]
    # largest change first, whatever its sign
    changes = frame["change_usd"].abs().tolist()
    assert changes == sorted(changes, reverse=True)


def test_the_forecast_counts_upfront_purchases_and_monthly_fees_once(sample_dataset: Any) -> None:
    folder, _ = sample_dataset("cur")
    fortnight = _forecast(folder, "2026-09-01", "2026-09-15")
    assert fortnight["days_with_data"] == 14 and fortnight["days_in_month"] == 30
    # the planted reservation upfront lands on the 1st; tax is 40 + 57.5 + 75 a month
    assert fortnight["one_time_cost"] == pytest.approx(1314.0, abs=CENT, rel=0)
    # September's reservation fee (3 units x 720 h x $0.08 recurring) and its tax
    assert fortnight["monthly_fee_cost"] == pytest.approx(3 * 720 * 0.08 + 172.5, abs=CENT, rel=0)
    run_rate = (
        fortnight["cost_to_date"] - fortnight["one_time_cost"] - fortnight["monthly_fee_cost"]
    )
    assert fortnight["avg_daily_cost"] == pytest.approx(run_rate / 14, abs=CENT, rel=0)
    assert fortnight["forecast_cost"] == pytest.approx(
        fortnight["cost_to_date"] + fortnight["avg_daily_cost"] * 16, abs=CENT
    )
    assert fortnight["forecast_low"] < fortnight["forecast_cost"] < fortnight["forecast_high"]
    three_days = _forecast(folder, "2026-09-01", "2026-09-04")
    assert three_days["forecast_low"] is None and three_days["forecast_high"] is None
    assert three_days["note"] == "too few days of data for a range: 3 of 7 needed"


def _forecast(folder: Path, start: str, end: str) -> dict[str, Any]:
    run = prepare_run(load_settings(), source=str(folder / "data"), start=start, end=end)
    try:
        result = run_query(run.engine, load_catalog().queries["month_end_forecast"], run.params)
    finally:
        run.engine.close()
    assert result.ok, result.error
    row = result.frame.iloc[0].to_dict()
    return {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}


@pytest.mark.parametrize("start", ["2026-10-01", "2026-11-01"])
def test_month_to_date_is_compared_with_the_same_days_of_the_month_before(
    sample_dataset: Any, start: str
) -> None:
    import duckdb

    from finops_agent.comparison import month_to_date

    folder, _ = sample_dataset("cur")
    run = prepare_run(load_settings(), source=str(folder / "data"), start=start, end="2026-11-24")
    try:
        result = month_to_date(run.engine, "cur", run.window, {})
    finally:
        run.engine.close()
    assert result.ok, result.error
    glob = str(folder / "data" / "**" / "*.parquet")

    def net(first: str, end: str) -> float:
        ((value,),) = duckdb.sql(
            f"select sum(line_item_unblended_cost) from read_parquet('{glob}', "
            f"hive_partitioning=true) where line_item_usage_start_date >= '{first}' "
            f"and line_item_usage_start_date < '{end}'"
        ).fetchall()
        return float(value)

    now, before, projected = result.frame.to_dict(orient="records")
    assert (now["period"], str(now["first_day"]), str(now["last_day"]), now["days"]) == (
        "Month to date",
        "2026-11-01",
        "2026-11-23",
        23,
    )
    assert (str(before["first_day"]), str(before["last_day"])) == ("2026-10-01", "2026-10-23")
    assert now["unblended_cost"] == pytest.approx(net("2026-11-01", "2026-11-24"), abs=CENT, rel=0)
    # the month before is read even when the window starts on November 1
    assert before["unblended_cost"] == pytest.approx(
        net("2026-10-01", "2026-10-24"), abs=CENT, rel=0
    )
    assert now["change_pct"] == pytest.approx(
        (now["unblended_cost"] - before["unblended_cost"]) / before["unblended_cost"] * 100
    )
    assert projected["period"] == "Month at this run rate (23 of 30 days)"
    assert projected["unblended_cost"] == pytest.approx(
        net("2026-11-01", "2026-11-24") / 23 * 30, abs=CENT, rel=0
    )


@pytest.mark.parametrize("schema", ["cur", "cur2", "focus"])
def test_the_previous_period_of_october_is_the_planted_september(
    sample_dataset: Any, schema: str
) -> None:
    from finops_agent.comparison import previous_period_totals

    folder, truth = sample_dataset(schema)
    run = prepare_run(
        load_settings(), source=str(folder / "data"), start="2026-10-01", end="2026-11-01"
    )
    try:
        result = previous_period_totals(run.engine, run.schema, run.window, {})
    finally:
        run.engine.close()
    assert result.ok, result.error
    row = result.frame.iloc[0]
    september = truth["totals"]["by_month"]["2026-09"]
    assert (row["rows"], row["days"]) == (september["rows"], 30)
    assert row["unblended_cost"] == pytest.approx(september["unblended_cost"], abs=CENT, rel=0)
    # net cost and days only: the report compares net cost per day
    assert list(result.frame.columns) == ["rows", "days", "unblended_cost"]


def test_month_to_date_usage_before_credits_is_read_from_the_files(sample_dataset: Any) -> None:
    import duckdb

    from finops_agent.comparison import month_to_date

    folder, _ = sample_dataset("cur")
    run = prepare_run(
        load_settings(), source=str(folder / "data"), start="2026-10-01", end="2026-11-24"
    )
    try:
        result = month_to_date(run.engine, "cur", run.window, {})
    finally:
        run.engine.close()
    assert result.ok, result.error
    glob = str(folder / "data" / "**" / "*.parquet")

    def usage(first: str, end: str) -> float:
        # covered usage counts at its on-demand price, so commitments do not hide usage
        ((value,),) = duckdb.sql(
            "select sum(case when line_item_line_item_type = 'Usage' then line_item_unblended_cost"
            " else pricing_public_on_demand_cost end)"
            f" from read_parquet('{glob}', hive_partitioning=true)"
            " where line_item_line_item_type in"
            " ('Usage', 'SavingsPlanCoveredUsage', 'DiscountedUsage')"
            f" and line_item_usage_start_date >= '{first}' and line_item_usage_start_date < '{end}'"
        ).fetchall()
        return float(value)

    now, before, projected = result.frame.to_dict(orient="records")
    assert now["usage_cost"] == pytest.approx(usage("2026-11-01", "2026-11-24"), abs=CENT, rel=0)
    assert before["usage_cost"] == pytest.approx(usage("2026-10-01", "2026-10-24"), abs=CENT, rel=0)
    assert projected["usage_cost"] == pytest.approx(
        usage("2026-11-01", "2026-11-24") / 23 * 30, abs=CENT, rel=0
    )
