"""Real result files: billing exports, inventories and bare Athena results get the right columns."""

from __future__ import annotations

import datetime as dt
import shlex
from pathlib import Path

import pandas as pd
import pytest

from finops_agent.analyze.analysis import FileReportSummary
from finops_agent.analyze.dataset import Dataset, Overrides, billing_schema, open_workspace
from finops_agent.analyze.exports import report_commands
from finops_agent.analyze.file_rules import FileRuleInsights, daily_zscores
from finops_agent.analyze.roles import date_kind, is_monthly, number_role
from finops_agent.analyze.run import analyse_workspace, file_insights, render
from finops_agent.chat.session import ChatSession
from finops_agent.cli.analyze import export_notes
from finops_agent.insights.base import Insights
from finops_agent.pipeline import preflight
from finops_agent.result_files.load import AnalyzeError
from finops_agent.settings import load_settings
from tests.analyze_shapes import REAL_SHAPES

REAL_NAMES = list(REAL_SHAPES)


def _analyse(
    path: Path, overrides: Overrides | None = None, out: Path | None = None
) -> tuple[Dataset, FileReportSummary, Insights]:
    workspace = open_workspace([str(path)], overrides)
    try:
        summary = analyse_workspace(workspace, "auto", load_settings())
        insights = file_insights(FileRuleInsights(), summary)
        if out is not None:
            render(out, workspace, summary, insights)
    finally:
        workspace.close()
    return workspace.datasets[0], summary, insights


def _finding(insights: Insights, finding_id: str) -> tuple[str, str, float]:
    found = next(f for f in insights.findings if f.id == finding_id)
    return found.title, found.evidence, found.monthly_savings_usd


@pytest.mark.parametrize(
    ("name", "role"),
    [
        # a CUR rate beside its cost: summing it adds up prices, not spend
        ("line_item_unblended_rate", "rate"),
        ("pricing_public_on_demand_rate", "rate"),
        # FOCUS unit prices
        ("ListUnitPrice", "rate"),
        ("ContractedUnitPrice", "rate"),
        # hand-written aliases for prices
        ("unit_cost", "rate"),
        ("cost_per_gb", "rate"),
        ("hourly_cost", "rate"),
        # usage amounts are quantities, whatever unit they are in
        ("line_item_usage_amount", "quantity"),
        ("ConsumedQuantity", "quantity"),
        ("usage_hours", "quantity"),
        # money
        ("BilledCost", "cost"),
        ("EffectiveCost", "cost"),
        ("line_item_net_unblended_cost", "cost"),
        ("monthly_cost", "cost"),
        ("total_spend", "cost"),
        # not money
        ("coverage_pct", "metric"),
        ("resource_count", "metric"),
    ],
)
def test_numbers_are_costs_rates_or_quantities_by_name(name: str, role: str) -> None:
    assert number_role(name)[0] == role


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("line_item_usage_start_date", "usage"),
        ("ChargePeriodStart", "usage"),
        ("usage_date", "usage"),
        ("day", "date"),
        ("bill_billing_period_start_date", "billing"),
        ("BillingPeriodStart", "billing"),
        ("month", "billing"),
        # an end date only dates a file when nothing else does
        ("bill_billing_period_end_date", "period_end"),
        ("ChargePeriodEnd", "period_end"),
        # when a resource was made or changed is not when it cost money
        ("create_date", "lifecycle"),
        ("launch_time", "lifecycle"),
        ("last_modified", "lifecycle"),
        # a commitment's term dates are not when usage cost money
        ("reservation_start_time", "lifecycle"),
        ("purchase_date", "lifecycle"),
    ],
)
def test_dates_are_usage_billing_end_or_lifecycle_by_name(name: str, kind: str) -> None:
    assert date_kind(name)[0] == kind


@pytest.mark.parametrize(
    ("name", "monthly"),
    [
        ("monthly_cost", True),
        ("cost_per_month", True),
        ("estimated_monthly_savings", True),
        # month to date is a part of a month, not a monthly figure
        ("month_to_date_cost", False),
        ("cost", False),
    ],
)
def test_monthly_columns_are_recognised(name: str, monthly: bool) -> None:
    assert is_monthly(name) is monthly


@pytest.mark.parametrize("shape_name", REAL_NAMES)
def test_each_real_file_gets_its_cost_and_date_columns_and_exact_total(
    tmp_path: Path, shape_name: str
) -> None:
    shape = REAL_SHAPES[shape_name]()
    dataset, summary, insights = _analyse(shape.write(tmp_path))
    profile = dataset.profile
    assert (profile.cost, profile.group, profile.date) == (shape.cost, shape.group, shape.date)
    assert {f.id for f in insights.findings} == shape.findings
    roles = {c.name: c.role for c in profile.columns}
    assert {column: roles[column] for column in shape.roles} == shape.roles
    assert summary.metrics.unblended_cost == pytest.approx(shape.total(), abs=1e-9)
    assert summary.metrics.analysis_type == shape.analysis_type
    assert tuple(q.chart.kind for q in summary.queries.values()) == shape.charts
    # distinct counts are exact: never more than the rows (HyperLogLog said 244 in 240)
    assert all(c.distinct <= profile.rows for c in profile.columns)


def test_cur2_export_totals_unblended_cost_not_rates_and_is_dated_by_usage(
    tmp_path: Path,
) -> None:
    shape = REAL_SHAPES["CUR 2.0 export"]()
    path = shape.write(tmp_path)
    dataset, summary, insights = _analyse(path, out=tmp_path / "out")
    profile = dataset.profile
    assert [c.text() for c in profile.choices] == [
        "cost: line_item_unblended_cost (unblended); not used: line_item_blended_cost "
        "(blended), pricing_public_on_demand_cost (list (gross)), line_item_blended_rate "
        "(a rate), line_item_unblended_rate (a rate), line_item_usage_amount (a usage "
        "quantity), pricing_public_on_demand_rate (a rate)",
        "date: line_item_usage_start_date (usage date); not used: bill_billing_period_start_date "
        "(billing period), bill_billing_period_end_date (an end date: used only when nothing "
        "else is dated), line_item_usage_end_date (an end date: used only when nothing else is "
        "dated)",
    ]
    # 31 days of (24 h x $0.096 + 3 GB-Mo x $0.10 + 10 GB-Mo x $0.023), then a $5 credit
    assert summary.metrics.unblended_cost == pytest.approx(31 * 2.834 - 5.0)
    assert (summary.window.start, summary.window.end) == (dt.date(2026, 5, 1), dt.date(2026, 6, 1))
    assert {f.id for f in insights.findings} == {"gp2", "concentration"}
    # $9.30 of gp2 in 31 days is $9.13 per 30.44-day month; gp3 saves a fifth of it
    assert _finding(insights, "gp2")[2] == 1.83
    assert _finding(insights, "concentration")[0] == (
        "AmazonEC2 is 91% of line_item_unblended_cost in cur2_export.csv"
    )
    assert (
        "The total includes -$5.00 of credits and refunds in 1 row(s) of "
        "line_item_line_item_type; before them it is $87.85." in insights.markdown
    )
    assert "Per-day run rate: $2.67 a day over the 31 day(s)" in insights.markdown
    html = (tmp_path / "out" / summary.report_id / "report.html").read_text(encoding="utf-8")
    # the Detected columns section names the chosen columns and the ones left out
    assert '<p class="choice">cost: line_item_unblended_cost (unblended); not used:' in html
    assert "cur2_export.csv is a CUR 2.0 export: this profile reads it as a plain table." in html


def test_billing_exports_name_the_finops_report_command_that_runs(tmp_path: Path) -> None:
    for shape_name, schema, start, end in (
        ("CUR 2.0 export", "cur2", "2026-05-01", "2026-06-01"),
        ("FOCUS export", "focus", "2026-09-01", "2026-11-01"),
    ):
        path = REAL_SHAPES[shape_name]().write(tmp_path / schema)
        dataset, summary, insights = _analyse(path, out=tmp_path / "out")
        command = shlex.join(
            [
                "finops",
                "report",
                "--source",
                str(path.resolve()),
                "--schema",
                schema,
                "--start",
                start,
                "--end",
                end,
            ]
        )
        assert dataset.billing_schema == schema
        assert report_commands(dataset) == [command]
        assert command in insights.markdown
        report_json = tmp_path / "out" / summary.report_id / "report.json"
        assert export_notes(report_json) == [
            f"{path.name} is a {schema} billing export; for the full report run:",
            f"  {command}",
        ]
        # the printed command passes the report pipeline's own checks on that file
        args = shlex.split(command)
        settings = load_settings(output_dir=tmp_path / "reports")
        assert (
            preflight(
                settings,
                source=args[args.index("--source") + 1],
                schema=args[args.index("--schema") + 1],
                start=args[args.index("--start") + 1],
                end=args[args.index("--end") + 1],
            )
            == schema
        )


def test_plain_results_are_not_billing_exports(tmp_path: Path) -> None:
    dataset, _, insights = _analyse(REAL_SHAPES["Athena daily cost"]().write(tmp_path))
    assert dataset.billing_schema is None
    assert report_commands(dataset) == []
    assert "finops report" not in insights.markdown


def test_inventory_monthly_cost_is_never_rescaled_by_creation_dates(tmp_path: Path) -> None:
    shape = REAL_SHAPES["volume inventory with create_date"]()
    dataset, summary, insights = _analyse(shape.write(tmp_path))
    assert summary.metrics.unblended_cost == pytest.approx(1869.00)
    assert dataset.profile.date is None and dataset.date_range is None
    assert [c.text() for c in dataset.profile.choices][1] == (
        "date: none (no usage or billing date); not used: create_date (a creation or change "
        "date: not when the cost was incurred)"
    )
    # no time series and no month over month built on when volumes were created
    assert set(summary.queries) == {"top_by_group", "distribution", "rows"}
    assert {f.id for f in insights.findings} == {"gp2", "concentration"}
    _, evidence, saving = _finding(insights, "gp2")
    # 80 gp2 volumes: 70 x $7.00 + 10 x $9.90 = $589.00 a month; gp3 saves 20%
    assert saving == 117.80
    assert evidence == "80 row(s) mention gp2, costing $589.00 in the file."
    reasoning = next(f.reasoning for f in insights.findings if f.id == "gp2")
    assert "monthly_cost is already per month, not rescaled" in reasoning
    distinct = {c.name: c.distinct for c in dataset.profile.columns}
    assert (distinct["volume_id"], distinct["create_date"]) == (240, 240)


def test_a_creation_date_chosen_by_hand_draws_a_labelled_trend_but_no_month_over_month(
    tmp_path: Path,
) -> None:
    shape = REAL_SHAPES["volume inventory with create_date"]()
    _, summary, insights = _analyse(shape.write(tmp_path), Overrides(date_col="create_date"))
    assert set(summary.queries) == {"top_by_group", "distribution", "trend", "rows"}
    assert summary.queries["trend"].title.endswith("(create_date is not a usage or billing date)")
    assert "month_over_month" not in {f.id for f in insights.findings}
    assert _finding(insights, "gp2")[2] == 117.80


def test_focus_export_compares_complete_months_on_billed_cost(tmp_path: Path) -> None:
    dataset, summary, insights = _analyse(REAL_SHAPES["FOCUS export"]().write(tmp_path))
    assert dataset.profile.choices[0].text() == (
        "cost: BilledCost (billed); not used: EffectiveCost (amortised), ContractedCost "
        "(contracted), ListCost (list (gross)), ConsumedQuantity (a usage quantity), "
        "ContractedUnitPrice (a rate), ListUnitPrice (a rate), PricingQuantity (a usage quantity)"
    )
    assert dataset.profile.cost_basis.startswith("billed: the invoiced amount")
    # September 30 x $12.00, October 31 x $15.00 (EC2 130 h instead of 100 h at $0.10)
    assert summary.metrics.unblended_cost == pytest.approx(825.00)
    assert summary.queries["month_over_month"].title == "2026-10 against 2026-09 by ServiceName"
    assert _finding(insights, "month_over_month")[:2] == (
        "BilledCost rose 29% in 2026-10",
        "$360.00 -> $465.00; largest movements: Amazon Elastic Compute Cloud $103.00, "
        "Amazon Simple Storage Service $2.00.",
    )
    assert "No credit or refund rows in ChargeCategory" in insights.markdown


def test_a_partial_latest_month_is_compared_per_day_over_the_files_own_days(
    tmp_path: Path,
) -> None:
    dataset, summary, insights = _analyse(REAL_SHAPES["Athena daily cost"]().write(tmp_path))
    assert (dataset.days_in(dt.date(2026, 10, 1)), dataset.days_in(dt.date(2026, 11, 1))) == (
        31,
        14,
    )
    assert "partial months" in summary.queries["month_over_month"].title
    frame = summary.frame("month_over_month")
    assert frame[["previous_per_day", "latest_per_day"]].iloc[0].tolist() == [100.0, 120.0]
    # totals fell ($3,100 -> $1,680) but the run rate rose by a fifth
    assert _finding(insights, "month_over_month")[:2] == (
        "cost per day rose 20% in 2026-11",
        "$100.00 -> $120.00 per day (run rate over the file's 31 day(s) of 2026-10 and 14 of "
        "2026-11).",
    )
    assert "Per-day run rate: $106.22 a day over the 45 day(s)" in insights.markdown


def test_a_few_days_of_a_new_month_make_no_month_over_month_finding(tmp_path: Path) -> None:
    rows = ["usage_date,cost"]
    rows += [f"2026-10-{d:02d},100" for d in range(1, 32)]
    rows += [f"2026-11-{d:02d},300" for d in range(1, 4)]  # three days are no trend yet
    path = tmp_path / "early.csv"
    path.write_text("\n".join(rows) + "\n")
    _, _, insights = _analyse(path)
    assert "month_over_month" not in {f.id for f in insights.findings}


def test_a_file_of_rates_only_is_not_totalled(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text("service,unit_price\nEC2,0.096\nS3,0.023\n")
    with pytest.raises(
        AnalyzeError, match=r"prices\.csv: .*rates are never totalled \(unit_price\)"
    ):
        open_workspace([str(path)])


def test_a_constant_series_has_no_z_scores(tmp_path: Path) -> None:
    assert daily_zscores(pd.Series([100.0] * 30)) is None
    rows = ["usage_date,service,cost"] + [f"2026-10-{d:02d},EC2,100" for d in range(1, 32)]
    path = tmp_path / "flat.csv"
    path.write_text("\n".join(rows) + "\n")
    _, _, insights = _analyse(path)
    assert "spike" not in {f.id for f in insights.findings}
    assert "z-score" not in insights.markdown


def test_one_spike_day_is_reported_with_its_z_score(tmp_path: Path) -> None:
    rows = ["usage_date,service,cost"]
    rows += [f"2026-10-{d:02d},EC2,{400 if d == 15 else 100}" for d in range(1, 31)]
    path = tmp_path / "spike.csv"
    path.write_text("\n".join(rows) + "\n")
    _, _, insights = _analyse(path)
    # mean (29 x 100 + 400) / 30 = 110; sample deviation sqrt(87,000 / 29) = 54.77
    assert _finding(insights, "spike")[:2] == (
        "cost spiked on 2026-10-15 in spike.csv",
        "$400.00 that day against a daily mean of $110.00 over 30 days (z-score 5.3, "
        "standard deviation $54.77).",
    )


def test_mixed_currencies_are_named_not_silently_added(tmp_path: Path) -> None:
    path = tmp_path / "currencies.csv"
    path.write_text("service,currency,cost\nEC2,USD,10\nEC2,EUR,10\nS3,USD,5\n")
    dataset, _, insights = _analyse(path)
    note = (
        "currency holds 2 currencies: totals add their amounts as they are; ask chat for one "
        "currency at a time."
    )
    assert dataset.profile.notes == [note]
    assert note in insights.markdown


_RAW_CUR_HEADERS = [
    "identity/LineItemId",
    "bill/PayerAccountId",
    "bill/BillingPeriodStartDate",
    "lineItem/UsageAccountId",
    "lineItem/LineItemType",
    "lineItem/UsageStartDate",
    "lineItem/ProductCode",
    "lineItem/UsageType",
    "lineItem/Operation",
    "lineItem/ResourceId",
    "lineItem/AvailabilityZone",
    "lineItem/UsageAmount",
    "lineItem/UnblendedRate",
    "lineItem/UnblendedCost",
    "lineItem/CurrencyCode",
    "pricing/unit",
    "product/ProductName",
    "product/region",
]


def test_raw_cur_headers_are_a_legacy_cur_export_and_a_query_result_is_not() -> None:
    assert billing_schema(_RAW_CUR_HEADERS) == "cur"
    # an Athena query over the CUR selects a few of its columns: a result, not an export
    assert billing_schema(["line_item_product_code", "line_item_unblended_cost"]) is None
    assert number_role("lineItem/UnblendedRate")[0] == "rate"
    assert date_kind("lineItem/UsageStartDate")[0] == "usage"


def test_literal_null_in_an_export_keeps_numbers_and_dates_typed(tmp_path: Path) -> None:
    path = tmp_path / "nulls.csv"
    path.write_text(
        "ServiceName,BilledCost,ChargePeriodStart\n"
        "EC2,1.5,2026-10-01T00:00:00Z\n"
        "S3,NULL,2026-10-02T00:00:00Z\n"
        "RDS,2.0,NULL\n"
    )
    dataset, summary, _ = _analyse(path)
    assert (dataset.profile.cost, dataset.profile.date) == ("BilledCost", "ChargePeriodStart")
    assert summary.metrics.unblended_cost == 3.5
    assert dataset.coverage == (dt.date(2026, 10, 1), dt.date(2026, 10, 2))


@pytest.mark.parametrize("shape_name", REAL_NAMES)
def test_chat_answers_the_five_prompts_on_each_real_file(tmp_path: Path, shape_name: str) -> None:
    shape = REAL_SHAPES[shape_name]()
    settings = load_settings(output_dir=tmp_path / "out")
    _, summary, insights = _analyse(shape.write(tmp_path), out=tmp_path / "out")
    assert len(insights.suggested_prompts) == 5
    chat = ChatSession(settings, summary.report_id, record=False)
    try:
        for number in range(1, 6):
            turn = chat.ask(str(number))
            assert turn.mode == "prompt" and turn.rows, (number, turn.error)
    finally:
        chat.close()


def test_an_empty_tag_map_counts_as_untagged(tmp_path: Path) -> None:
    path = tmp_path / "tags.csv"
    path.write_text('ServiceName,Tags,BilledCost\nEC2,"{""team"": ""web""}",60\nS3,{},40\n')
    _, _, insights = _analyse(path)
    assert _finding(insights, "untagged")[:2] == (
        "40% of BilledCost in tags.csv has no owner tag",
        "$40.00 of $100.00 (40.0%) is untagged (rows whose Tags is empty or 'untagged').",
    )
