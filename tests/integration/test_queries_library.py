"""The stored query library on generated data of every schema: it runs, and it finds what was planted."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from finops_agent.execution import QueryResult, run_query
from finops_agent.pipeline import prepare_run
from finops_agent.settings import load_settings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]
WINDOW = ("2026-10-01", "2026-11-24")  # last full month + month to date of the sample data
MONTHS = ("2026-10", "2026-11")
# tighter than a cent, so a planted amount shifted by one cent fails
HALF_CENT = 0.005
WINDOW_DAYS = 54  # 2026-10-01 to 2026-11-23


@pytest.fixture(scope="module", params=["cur", "cur2", "focus"])
def library(
    request: pytest.FixtureRequest, sample_dataset: Any
) -> tuple[dict[str, QueryResult], dict[str, Any], Path]:
    """Every stored query run once over one schema's sample data, with its ground truth."""
    folder, truth = sample_dataset(request.param)
    run = prepare_run(load_settings(), source=str(folder / "data"), start=WINDOW[0], end=WINDOW[1])
    try:
        return (
            {spec.name: run_query(run.engine, spec, run.params) for spec in run.specs},
            truth,
            folder,
        )
    finally:
        run.engine.close()


def _window_cost(item: dict[str, Any]) -> float:
    return sum(item["cost_by_month"].get(m, 0.0) for m in MONTHS)


def test_every_query_runs_on_every_schema(library: Any) -> None:
    results, _, _ = library
    failed = {name: r.error for name, r in results.items() if not r.ok}
    assert failed == {}
    assert len(results) >= 29


@pytest.mark.parametrize(
    ("query", "planted"),
    [
        ("gp2_volumes", "gp2_volumes"),
        ("previous_generation_instances", "previous_generation"),
        ("idle_elastic_ips", "idle_eips"),
        ("cross_az_data_transfer", "cross_az"),
    ],
)
def test_precise_detectors_report_exactly_the_planted_resources(
    library: Any, query: str, planted: str
) -> None:
    results, truth, _ = library
    frame = results[query].frame
    expected = {item["resource_id"]: _window_cost(item) for item in truth["planted"][planted]}
    assert set(frame["resource_id"]) == set(expected)
    found = frame.groupby("resource_id")["unblended_cost"].sum()
    for resource, cost in expected.items():
        assert found[resource] == pytest.approx(cost, abs=HALF_CENT, rel=0)


def test_nat_gateways_are_joined_on_account_and_region(library: Any) -> None:
    results, truth, _ = library
    frame = results["nat_gateway_without_endpoints"].frame
    gateways = truth["planted"]["nat_gateway"]["gateways"]
    assert set(frame["resource_id"]) == {g["resource_id"] for g in gateways}
    # the decoy has S3/DynamoDB only in another region of its account: no endpoint would help it
    decoy = {g["resource_id"] for g in truth["planted"]["nat_decoy"]["gateways"]}
    assert not decoy & set(frame["resource_id"])
    total = frame["processing_cost"].sum() + frame["hourly_cost"].sum()
    assert total == pytest.approx(sum(_window_cost(g) for g in gateways), abs=HALF_CENT, rel=0)
    # half the processing charge, scaled to a 30.4375-day month
    assert frame["monthly_savings"].tolist() == pytest.approx(
        (frame["processing_cost"] * 30.4375 / WINDOW_DAYS * 0.5).tolist(), abs=HALF_CENT, rel=0
    )


def test_untagged_resources_get_their_neighbours_project(library: Any) -> None:
    results, truth, _ = library
    frame = results["owner_by_start_time"].frame.set_index("resource_id")
    for cluster in truth["planted"]["owner_by_start_time"]:
        for resource in cluster["untagged_resource_ids"]:
            row = frame.loc[resource]
            assert row["likely_value"] == cluster["expected_tags"]["project"]
            assert row["confidence"] == 1.0 and row["neighbour_count"] == len(
                cluster["neighbour_resource_ids"]
            )
    # the planted clusters rank first: full confidence and the most neighbours
    top = set(results["owner_by_start_time"].frame["resource_id"].head(3))
    assert top == {
        r for c in truth["planted"]["owner_by_start_time"] for r in c["untagged_resource_ids"]
    }


def test_the_planted_untagged_instances_cost_what_was_planted(library: Any) -> None:
    results, truth, _ = library
    # on-demand usage, so the amortised cost the query ranks by is the planted unblended cost
    frame = results["untagged_top_resources"].frame.set_index("resource_id")
    for item in truth["planted"]["untagged_top"]:
        assert frame.loc[item["resource_id"], "amortized_cost"] == pytest.approx(
            _window_cost(item), abs=HALF_CENT, rel=0
        )


def test_the_planted_spike_is_the_only_anomaly(library: Any) -> None:
    results, truth, _ = library
    frame = results["daily_anomalies"].frame
    anomalies = frame[frame["is_anomaly"].astype(bool)]
    spike = truth["planted"]["spike"]
    assert len(anomalies) == 1
    (row,) = anomalies.itertuples()
    assert (str(pd.Timestamp(row.usage_date).date()), row.service_code) == (
        spike["date"],
        "AWSLambda",
    )
    assert row.usage_cost == pytest.approx(spike["cost"], abs=HALF_CENT, rel=0)
    assert row.severity == "high"


def test_growth_and_storage_findings(library: Any) -> None:
    results, truth, _ = library
    # one complete month in this window: month over month compares nothing inside it (the
    # report compares the two complete months on its own; see test_bill_truth)
    assert results["month_over_month_by_service"].frame.empty
    # the planted all-Standard buckets, at their planted cost
    buckets = results["s3_storage_class_mix"].frame.set_index("resource_id")
    for bucket in truth["planted"]["s3_standard_heavy"]:
        row = buckets.loc[bucket["resource_id"]]
        assert row["storage_cost"] == pytest.approx(_window_cost(bucket), abs=HALF_CENT, rel=0)
        assert row["standard_cost"] == pytest.approx(_window_cost(bucket), abs=HALF_CENT, rel=0)
        assert row["standard_pct"] == pytest.approx(100.0)
    # the planted egress leads, with its gigabytes, its cost and that cost per month
    (planted,) = truth["planted"]["egress"]
    top = results["data_transfer_out"].frame.iloc[0]
    assert top["resource_id"] == planted["resource_id"]
    assert top["unblended_cost"] == pytest.approx(_window_cost(planted), abs=HALF_CENT, rel=0)
    assert top["gb"] == pytest.approx(
        sum(planted["quantity_by_month"].get(m, 0.0) for m in MONTHS), abs=0.001
    )
    assert top["monthly_cost"] == pytest.approx(
        _window_cost(planted) * 30.4375 / WINDOW_DAYS, abs=HALF_CENT, rel=0
    )


def _raw_canonical(folder: Path, schema: str) -> pd.DataFrame:
    """The window's line items straight from the files with pandas, for independent sums."""
    frame = pd.read_parquet(folder / "data")
    if schema == "focus":
        out = pd.DataFrame(
            {
                "start": frame["ChargePeriodStart"],
                "account": frame["SubAccountId"],
                "service": frame["x_ServiceCode"],
                "usage_type": frame["x_UsageType"],
                "resource": frame["ResourceId"],
                "region": frame["RegionId"],
                "unblended": frame["BilledCost"],
                "amortized": frame["EffectiveCost"],
                # usage that was consumed: FOCUS marks a commitment's unused share "Unused"
                "usage": (frame["ChargeCategory"] == "Usage")
                & (frame["CommitmentDiscountStatus"].astype(object) != "Unused"),
            }
        )
    else:
        region = frame["product_region"] if schema == "cur" else frame["product_region_code"]
        out = pd.DataFrame(
            {
                "start": frame["line_item_usage_start_date"],
                "account": frame["line_item_usage_account_id"],
                "service": frame["line_item_product_code"],
                "usage_type": frame["line_item_usage_type"],
                "resource": frame["line_item_resource_id"].replace("", None),
                "region": region,
                "unblended": frame["line_item_unblended_cost"],
                "amortized": None,
                "usage": frame["line_item_line_item_type"].isin(
                    ["Usage", "DiscountedUsage", "SavingsPlanCoveredUsage"]
                ),
            }
        )
    start = pd.Timestamp(WINDOW[0])
    end = pd.Timestamp(WINDOW[1])
    out["start"] = pd.to_datetime(out["start"])
    return out[(out["start"] >= start) & (out["start"] < end)]


def test_independent_pandas_sums_agree(library: Any, request: pytest.FixtureRequest) -> None:
    results, truth, folder = library
    schema = truth["schema"]
    raw = _raw_canonical(folder, schema)
    totals = results["window_totals"].frame.iloc[0]
    assert totals["unblended_cost"] == pytest.approx(raw["unblended"].sum(), abs=HALF_CENT, rel=0)
    assert totals["rows"] == len(raw)
    # the window's amortised cost is the planted months' (it ends where the data ends)
    assert totals["amortized_cost"] == pytest.approx(
        sum(truth["totals"]["by_month"][m]["amortized_cost"] for m in MONTHS),
        abs=HALF_CENT,
        rel=0,
    )
    first_day, last_day = (str(pd.Timestamp(totals[c]).date()) for c in ("first_day", "last_day"))
    assert (first_day, last_day, totals["days"]) == ("2026-10-01", "2026-11-23", WINDOW_DAYS)
    assert (totals["accounts"], totals["services"], totals["resources"]) == (
        len(truth["accounts"]),
        raw["service"].replace("", None).nunique(),
        raw["resource"].replace("", None).nunique(),
    )
    # every service, account and region: the whole split, not one sample of it
    by_service = (
        results["spend_by_service_daily"].frame.groupby("service_code")["unblended_cost"].sum()
    )
    assert by_service.to_dict() == pytest.approx(
        raw.groupby("service")["unblended"].sum().to_dict(), abs=HALF_CENT, rel=0
    )
    monthly = results["spend_by_account_monthly"].frame
    by_account = monthly.groupby("account_id")["unblended_cost"].sum()
    assert by_account.to_dict() == pytest.approx(
        raw.groupby("account")["unblended"].sum().to_dict(), abs=HALF_CENT, rel=0
    )
    # each month's accounts add up to the month the generator planted
    by_month = monthly.groupby(monthly["billing_period"].astype(str).str[:7])["unblended_cost"]
    assert by_month.sum().to_dict() == pytest.approx(
        {m: truth["totals"]["by_month"][m]["unblended_cost"] for m in MONTHS},
        abs=HALF_CENT,
        rel=0,
    )
    by_region = results["spend_by_region"].frame.set_index("region")["unblended_cost"]
    # lines without a region (tax, credits, fees) are the 'global' region
    raw_region = raw["region"].astype(object).replace("", None).fillna("global")
    assert by_region.to_dict() == pytest.approx(
        raw.groupby(raw_region)["unblended"].sum().to_dict(), abs=HALF_CENT, rel=0
    )
    egress = raw[raw["usage_type"].str.contains("DataTransfer-Out-Bytes", na=False)]
    egress_by_resource = egress.groupby("resource")["unblended"].sum().sort_values(ascending=False)
    shown = results["data_transfer_out"].frame
    # every row, in order: the top resources by egress cost and what each cost
    assert list(shown["resource_id"]) == list(egress_by_resource.index[: len(shown)])
    assert shown["unblended_cost"].tolist() == pytest.approx(
        egress_by_resource.iloc[: len(shown)].tolist(), abs=HALF_CENT, rel=0
    )
    assert len(shown) == min(len(egress_by_resource), 25)  # the catalog's default top_n
    ipv4 = raw[raw["usage_type"].str.contains("PublicIPv4", na=False)]
    assert results["public_ipv4_charges"].frame["unblended_cost"].sum() == pytest.approx(
        ipv4["unblended"].sum(), abs=HALF_CENT, rel=0
    )
    latest = raw[raw["start"] >= pd.Timestamp("2026-11-01")]
    assert results["month_end_forecast"].frame["cost_to_date"].iloc[0] == pytest.approx(
        latest["unblended"].sum(), abs=HALF_CENT, rel=0
    )
    with_resource = raw.dropna(subset=["resource"])
    shown_top = results["top_resources"].frame
    assert len(shown_top) == 10  # the catalog's default top_n: far more resources have cost
    # each resource shown costs what its lines add up to
    assert shown_top["unblended_cost"].tolist() == pytest.approx(
        with_resource.groupby("resource")["unblended"]
        .sum()
        .reindex(shown_top["resource_id"])
        .tolist(),
        abs=HALF_CENT,
        rel=0,
    )
    if schema == "focus":  # only FOCUS carries amortised cost (EffectiveCost) in this raw view
        ranked = with_resource.groupby("resource")["amortized"].sum().sort_values(ascending=False)
        assert list(shown_top["resource_id"]) == list(ranked.index[: len(shown_top)])
    purchase = results["amortized_vs_unblended"].frame["unblended_cost"].sum()
    assert purchase == pytest.approx(raw["unblended"].sum(), abs=HALF_CENT, rel=0)
    # cost_by_tag splits the consumed usage over tag values: together they are all of it
    assert results["cost_by_tag"].frame["unblended_cost"].sum() == pytest.approx(
        raw[raw["usage"]]["unblended"].sum(), abs=HALF_CENT, rel=0
    )
    assert dt.date.fromisoformat(truth["end"]) == dt.date(2026, 11, 24)


def test_commitments_are_partly_used_and_cover_part_of_eligible_usage(library: Any) -> None:
    results, truth, _ = library
    frame = results["commitment_coverage_utilization"].frame.set_index("commitment_type")
    plan = truth["savings_plan"]
    committed = sum(plan["commitment_by_month"][m] for m in MONTHS)
    used = sum(plan["used_by_month"][m] for m in MONTHS)
    assert frame.loc["Savings Plan", "used_cost"] == pytest.approx(used, abs=HALF_CENT, rel=0)
    assert frame.loc["Savings Plan", "unused_cost"] == pytest.approx(
        committed - used, abs=HALF_CENT, rel=0
    )
    assert frame.loc["Savings Plan", "utilization_pct"] == pytest.approx(
        used / committed * 100, abs=0.0001
    )
    for kind in ("Savings Plan", "Reserved"):
        assert 0 < frame.loc[kind, "utilization_pct"] < 100
        assert 0 < frame.loc[kind, "coverage_pct"] < 100
    # with two reserved cache nodes and three units bought, two thirds of the reservation is used
    assert frame.loc["Reserved", "utilization_pct"] == pytest.approx(200 / 3, abs=HALF_CENT, rel=0)


def test_tag_hygiene_finds_the_environment_variants(library: Any) -> None:
    results, _, _ = library
    frame = results["tag_value_hygiene"].frame.set_index("canonical_value")
    assert frame.loc["prod", "variant_count"] == 4  # prod, Prod, production, " prod "
    assert frame.loc["", "problem"] == "empty value"
    # each key's coverage, to the cent, is checked in test_architecture_tagging_truth
    coverage = results["tag_coverage"].frame
    assert set(coverage["tag_key"]) == {"owner", "project", "cost_center", "environment"}


def _raw_cur(folder: Path) -> pd.DataFrame:
    """Legacy CUR line items of the window with pandas' own amortised cost and owner tag."""
    frame = pd.read_parquet(folder / "data")
    # dictionary-encoded text arrives as categoricals; plain strings compare and aggregate simply
    frame = frame.astype(
        {c: str for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)}
    )
    frame = frame[
        (frame["line_item_usage_start_date"] >= pd.Timestamp(WINDOW[0]))
        & (frame["line_item_usage_start_date"] < pd.Timestamp(WINDOW[1]))
    ].copy()
    kind = frame["line_item_line_item_type"]
    amortized = frame["line_item_unblended_cost"].copy()
    amortized[kind == "SavingsPlanCoveredUsage"] = frame["savings_plan_savings_plan_effective_cost"]
    amortized[kind == "SavingsPlanRecurringFee"] = (
        frame["savings_plan_total_commitment_to_date"] - frame["savings_plan_used_commitment"]
    )
    amortized[kind.isin(["SavingsPlanNegation", "Fee"])] = 0.0
    amortized[kind == "DiscountedUsage"] = frame["reservation_effective_cost"]
    amortized[kind == "RIFee"] = (
        frame["reservation_unused_amortized_upfront_fee_for_billing_period"]
        + frame["reservation_unused_recurring_fee"]
    )
    frame["amortized"] = amortized
    # owner resolves through its aliases: owner/Owner share a column, team is the fallback
    owner = frame["resource_tags_user_owner"].where(
        frame["resource_tags_user_owner"] != "", frame["resource_tags_user_team"]
    )
    frame["owner"] = owner.fillna("")
    frame["taggable"] = (frame["line_item_resource_id"] != "") & kind.isin(
        ["Usage", "DiscountedUsage", "SavingsPlanCoveredUsage"]
    )
    return frame


def test_pandas_reproduces_the_tagging_and_architecture_numbers(library: Any) -> None:
    results, truth, folder = library
    if truth["schema"] != "cur":
        pytest.skip("checked once, on legacy CUR's flat tag columns")
    raw = _raw_cur(folder)
    taggable = raw[raw["taggable"]]
    untagged = taggable[taggable["owner"] == ""]
    assert results["untagged_spend"].frame["untagged_cost"].sum() == pytest.approx(
        untagged["amortized"].sum(), abs=HALF_CENT, rel=0
    )
    usage_lines_all = raw[
        raw["line_item_line_item_type"].isin(
            ["Usage", "DiscountedUsage", "SavingsPlanCoveredUsage"]
        )
    ]
    by_owner = results["cost_by_tag"].frame.set_index("tag_value")["amortized_cost"]
    assert by_owner["(untagged)"] == pytest.approx(
        usage_lines_all[usage_lines_all["owner"] == ""]["amortized"].sum(), abs=HALF_CENT, rel=0
    )
    assert by_owner.drop("(untagged)").to_dict() == pytest.approx(
        usage_lines_all[usage_lines_all["owner"] != ""]
        .groupby("owner")["amortized"]
        .sum()
        .to_dict(),
        abs=HALF_CENT,
        rel=0,
    )
    coverage = results["tag_coverage"].frame
    owner_tagged = coverage[coverage["tag_key"] == "owner"]["tagged_cost"].sum()
    assert owner_tagged == pytest.approx(
        taggable[taggable["owner"] != ""]["amortized"].sum(), abs=HALF_CENT, rel=0
    )
    # every row of the untagged top: the costs in rank order, and each resource at its own cost
    # (resources of equal cost may come in either order)
    untagged_ranked = (
        untagged.groupby("line_item_resource_id")["amortized"].sum().sort_values(ascending=False)
    )
    shown_untagged = results["untagged_top_resources"].frame
    assert len(shown_untagged) == 25  # the catalog's default top_n
    assert shown_untagged["amortized_cost"].tolist() == pytest.approx(
        untagged_ranked.iloc[:25].tolist(), abs=HALF_CENT, rel=0
    )
    assert shown_untagged["amortized_cost"].tolist() == pytest.approx(
        untagged_ranked.reindex(shown_untagged["resource_id"]).tolist(), abs=HALF_CENT, rel=0
    )
    # the ten resources with the most amortised cost, in order
    by_resource = raw[raw["line_item_resource_id"] != ""].groupby("line_item_resource_id")
    ranked = by_resource["amortized"].sum().sort_values(ascending=False)
    assert list(results["top_resources"].frame["resource_id"]) == list(ranked.index[:10])
    fingerprint = results["workload_fingerprint"].frame.set_index("account_id")["total_cost"]
    usage = raw[
        raw["line_item_line_item_type"].isin(
            ["Usage", "DiscountedUsage", "SavingsPlanCoveredUsage"]
        )
    ]
    assert fingerprint.to_dict() == pytest.approx(
        usage.groupby("line_item_usage_account_id")["amortized"].sum().to_dict(),
        abs=HALF_CENT,
        rel=0,
    )
    graviton = results["graviton_candidates"].frame.groupby("instance_type")["hours"].sum()
    boxes = raw[
        raw["line_item_usage_type"].str.contains("BoxUsage|SpotUsage")
        & (raw["product_instance_type"] == "m5.large")
    ]
    assert graviton["m5.large"] == pytest.approx(
        boxes["line_item_usage_amount"].sum(), abs=HALF_CENT, rel=0
    )
    # orphans: untagged resources whose every usage line is storage or an idle address
    usage_lines = raw[
        (raw["line_item_resource_id"] != "") & (raw["line_item_line_item_type"] == "Usage")
    ]
    storage = usage_lines["line_item_usage_type"].str.contains(
        "VolumeUsage|SnapshotUsage|TimedStorage|IdleAddress"
    )
    per_resource = (
        usage_lines.assign(active=~storage)
        .groupby("line_item_resource_id")
        .agg(active=("active", "sum"), owner=("owner", "max"))
    )
    orphans = per_resource[(per_resource["active"] == 0) & (per_resource["owner"] == "")]
    assert set(results["orphan_candidates"].frame["resource_id"]) == set(orphans.index)
    # owner guesses by cluster: every untagged resource whose account+service has tagged resources
    groups = taggable.groupby(["line_item_resource_id"]).agg(
        account=("line_item_usage_account_id", "max"),
        service=("line_item_product_code", "max"),
        owner=("owner", "max"),
    )
    tagged_groups = set(
        map(
            tuple,
            groups[groups["owner"] != ""][["account", "service"]].drop_duplicates().to_numpy(),
        )
    )
    guessable = groups[
        (groups["owner"] == "")
        & groups[["account", "service"]].apply(tuple, axis=1).isin(tagged_groups)
    ]
    assert sorted(results["owner_by_service_cluster"].frame["resource_id"]) == sorted(
        guessable.index
    )
    # top movers: the resources whose cost moved $10 or more between the two settled days
    last = raw["line_item_usage_start_date"].dt.normalize().max()
    days = [last - pd.Timedelta(days=3), last - pd.Timedelta(days=2)]
    daily = raw[
        raw["line_item_usage_start_date"].dt.normalize().isin(days)
        & (raw["line_item_resource_id"] != "")
    ]
    pivot = daily.pivot_table(
        index="line_item_resource_id",
        columns=daily["line_item_usage_start_date"].dt.normalize(),
        values="line_item_unblended_cost",
        aggfunc="sum",
        fill_value=0.0,
    )
    moved = (pivot.get(days[1], 0.0) - pivot.get(days[0], 0.0)).abs()
    assert len(results["top_movers"].frame) == int((moved >= 10).sum())


@pytest.mark.parametrize("schema", ["cur", "cur2", "focus"])
def test_unblended_equals_amortised_plus_true_ups_through_cost(
    schema: str, sample_dataset: Any
) -> None:
    folder, truth = sample_dataset(schema)
    run = prepare_run(
        load_settings(),
        source=str(folder / "data"),
        start=truth["start"],
        end=truth["end"],
        queries=["window_totals"],
        families=["cost"],
    )
    try:
        totals = run_query(run.engine, run.specs[0], run.params).frame.iloc[0]
    finally:
        run.engine.close()
    t = truth["totals"]
    # the upfront fee is unblended when paid and amortised over the months it covers
    assert totals["unblended_cost"] - totals["amortized_cost"] == pytest.approx(
        t["upfront_fees"] - t["amortized_upfront"], abs=HALF_CENT, rel=0
    )
    assert totals["unblended_cost"] == pytest.approx(t["unblended_cost"], abs=HALF_CENT, rel=0)
    assert totals["amortized_cost"] == pytest.approx(t["amortized_cost"], abs=HALF_CENT, rel=0)


def _window_sum(item: dict[str, Any], key: str) -> float:
    return sum(item[key].get(m, 0.0) for m in MONTHS)


def test_the_resized_instance_is_the_only_top_mover(library: Any) -> None:
    results, truth, _ = library
    mover = truth["planted"]["top_mover"]
    # an m6g.xlarge (24 h x $0.154) resized to an m6g.4xlarge (24 h x $0.616) on the later day
    assert (mover["earlier_cost"], mover["later_cost"]) == (3.696, 14.784)
    frame = results["top_movers"].frame
    assert len(frame) == 1
    row = frame.iloc[0]
    assert (row["resource_id"], row["service_code"], row["account_id"]) == (
        mover["resource_id"],
        "AmazonEC2",
        mover["account_id"],
    )
    # the two settled days: two before the last day with data (2026-11-23)
    assert (
        str(pd.Timestamp(row["earlier_day"]).date()),
        str(pd.Timestamp(row["later_day"]).date()),
    ) == (
        "2026-11-20",
        "2026-11-21",
    )
    assert (mover["earlier_day"], mover["later_day"]) == ("2026-11-20", "2026-11-21")
    for column in ("earlier_cost", "later_cost", "change_usd"):
        assert row[column] == pytest.approx(mover[column], abs=HALF_CENT, rel=0), column
    assert row["change_pct"] == pytest.approx(mover["change_pct"], abs=0.0001)


def test_the_reserved_nodes_cost_their_planted_effective_rate(library: Any) -> None:
    results, truth, _ = library
    nodes = truth["planted"]["reserved_cache"]
    billed = sum(_window_cost(n) for n in nodes)
    effective = sum(_window_sum(n, "effective_cost_by_month") for n in nodes)
    on_demand = sum(_window_sum(n, "on_demand_cost_by_month") for n in nodes)
    # covered usage bills nothing itself; the reservation's rate is $0.13 of $0.206 an hour
    assert billed == 0.0
    hours = sum(_window_sum(n, "quantity_by_month") for n in nodes)
    assert effective == pytest.approx(hours * 0.13, abs=HALF_CENT, rel=0)
    covered = results["bill_waterfall"].frame.set_index("charge_type").loc["DiscountedUsage"]
    assert covered["unblended_cost"] == pytest.approx(billed, abs=HALF_CENT, rel=0)
    assert covered["amortized_cost"] == pytest.approx(effective, abs=HALF_CENT, rel=0)
    assert covered["public_cost"] == pytest.approx(on_demand, abs=HALF_CENT, rel=0)
    commitments = results["commitment_coverage_utilization"].frame.set_index("commitment_type")
    assert commitments.loc["Reserved", "used_cost"] == pytest.approx(
        effective, abs=HALF_CENT, rel=0
    )
    assert commitments.loc["Reserved", "covered_on_demand_cost"] == pytest.approx(
        on_demand, abs=HALF_CENT, rel=0
    )
    purchase = results["amortized_vs_unblended"].frame.set_index("purchase_option")
    assert purchase.loc["Reserved", "savings_vs_on_demand"] == pytest.approx(
        on_demand - effective, abs=HALF_CENT, rel=0
    )


def test_the_spike_is_scored_against_its_trailing_fortnight_in_the_files(library: Any) -> None:
    results, truth, folder = library
    raw = _raw_canonical(folder, truth["schema"])
    # Lambda is never under a commitment here: its usage before credits is its billed usage
    lam = raw[(raw["service"] == "AWSLambda") & raw["usage"]]
    daily = lam.groupby(lam["start"].dt.normalize())["unblended"].sum().sort_index()
    spike_day = pd.Timestamp(truth["planted"]["spike"]["date"])
    trailing = daily[daily.index < spike_day].iloc[-14:]
    assert len(trailing) == 14
    mean, spread = float(trailing.mean()), float(trailing.std(ddof=1))
    frame = results["daily_anomalies"].frame
    row = frame[
        (pd.to_datetime(frame["usage_date"]) == spike_day) & (frame["service_code"] == "AWSLambda")
    ].iloc[0]
    assert row["usage_cost"] == pytest.approx(daily[spike_day], abs=HALF_CENT, rel=0)
    assert row["baseline_cost"] == pytest.approx(mean, abs=HALF_CENT, rel=0)
    assert row["baseline_stddev"] == pytest.approx(spread, abs=HALF_CENT, rel=0)
    assert row["excess_cost"] == pytest.approx(daily[spike_day] - mean, abs=HALF_CENT, rel=0)
    assert row["z_score"] == pytest.approx((daily[spike_day] - mean) / spread, abs=0.0001)


def _raw_cur_lines(folder: Path) -> pd.DataFrame:
    """CUR or CUR 2.0 line items of the window, straight from the files, as plain strings."""
    frame = pd.read_parquet(folder / "data")
    frame = frame.astype(
        {c: str for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)}
    )
    start = frame["line_item_usage_start_date"]
    return frame[(start >= pd.Timestamp(WINDOW[0])) & (start < pd.Timestamp(WINDOW[1]))]


def test_commitment_coverage_is_covered_over_eligible_usage_in_the_files(library: Any) -> None:
    results, truth, folder = library
    if truth["schema"] == "focus":
        pytest.skip("checked on CUR and CUR 2.0, whose line item types name each charge")
    raw = _raw_cur_lines(folder)
    kind, usage_type = raw["line_item_line_item_type"], raw["line_item_usage_type"]
    on_demand = (kind == "Usage") & ~usage_type.str.contains("SpotUsage")
    eligible = {
        "Savings Plan": on_demand
        & (
            usage_type.str.contains("BoxUsage|Fargate")
            | (raw["line_item_product_code"] == "AWSLambda")
        ),
        "Reserved": on_demand & usage_type.str.contains("NodeUsage|InstanceUsage"),
    }
    covered = {
        "Savings Plan": kind == "SavingsPlanCoveredUsage",
        "Reserved": kind == "DiscountedUsage",
    }
    frame = results["commitment_coverage_utilization"].frame.set_index("commitment_type")
    assert list(frame.index) == ["Reserved", "Savings Plan"]
    for commitment in ("Savings Plan", "Reserved"):
        open_usage = float(raw.loc[eligible[commitment], "line_item_unblended_cost"].sum())
        covered_usage = float(raw.loc[covered[commitment], "pricing_public_on_demand_cost"].sum())
        row = frame.loc[commitment]
        assert row["on_demand_eligible_cost"] == pytest.approx(open_usage, abs=HALF_CENT, rel=0)
        assert row["covered_on_demand_cost"] == pytest.approx(covered_usage, abs=HALF_CENT, rel=0)
        assert row["coverage_pct"] == pytest.approx(
            covered_usage / (covered_usage + open_usage) * 100, abs=0.0001
        )


def test_the_forecast_follows_the_run_rate_in_the_files(library: Any) -> None:
    results, truth, folder = library
    if truth["schema"] == "focus":
        pytest.skip("checked on CUR and CUR 2.0, whose line item types name each charge")
    raw = _raw_cur_lines(folder)
    november = raw[raw["line_item_usage_start_date"] >= pd.Timestamp("2026-11-01")]
    kind = november["line_item_line_item_type"]
    cost = november["line_item_unblended_cost"]
    once = kind.isin(["Fee", "SavingsPlanUpfrontFee", "Refund"])
    monthly = kind.isin(["RIFee", "Tax"])
    run_rate = cost.where(~(once | monthly), 0.0)
    daily = run_rate.groupby(november["line_item_usage_start_date"].dt.normalize()).sum()
    # 23 days of data (November 1 to 23) in a 30-day month: 7 days left to extrapolate
    assert len(daily) == 23
    mean, spread = float(daily.mean()), float(daily.std(ddof=1))
    to_date = float(cost.sum())
    forecast = to_date + mean * 7
    band = 1.96 * spread * 7**0.5
    row = results["month_end_forecast"].frame.iloc[0]
    assert str(pd.Timestamp(row["billing_period"]).date()) == "2026-11-01"
    assert (row["days_with_data"], row["days_in_month"]) == (23, 30)
    assert row["one_time_cost"] == pytest.approx(float(cost[once].sum()), abs=HALF_CENT, rel=0)
    assert row["monthly_fee_cost"] == pytest.approx(
        float(cost[monthly].sum()), abs=HALF_CENT, rel=0
    )
    assert row["avg_daily_cost"] == pytest.approx(mean, abs=HALF_CENT, rel=0)
    assert row["forecast_cost"] == pytest.approx(forecast, abs=HALF_CENT, rel=0)
    assert row["forecast_low"] == pytest.approx(forecast - band, abs=HALF_CENT, rel=0)
    assert row["forecast_high"] == pytest.approx(forecast + band, abs=HALF_CENT, rel=0)
    assert row["note"] == "range from the day-to-day spread of the run rate"


def test_commitments_cost_what_was_bought_by_purchase_option(library: Any) -> None:
    results, truth, _ = library
    frame = results["amortized_vs_unblended"].frame.set_index("purchase_option")
    # the Savings Plan bills its commitment (covered usage and its negation cancel out) and
    # amortises to it too: the used part on covered usage, the unused part on the fee
    committed = sum(truth["savings_plan"]["commitment_by_month"][m] for m in MONTHS)
    assert frame.loc["SavingsPlan", "unblended_cost"] == pytest.approx(
        committed, abs=HALF_CENT, rel=0
    )
    assert frame.loc["SavingsPlan", "amortized_cost"] == pytest.approx(
        committed, abs=HALF_CENT, rel=0
    )
    used = sum(truth["savings_plan"]["used_by_month"][m] for m in MONTHS)
    covered = results["commitment_coverage_utilization"].frame.set_index("commitment_type")
    assert frame.loc["SavingsPlan", "savings_vs_on_demand"] == pytest.approx(
        covered.loc["Savings Plan", "covered_on_demand_cost"] - used, abs=HALF_CENT, rel=0
    )
    # three reserved units (two planted nodes and one bought spare) for every hour of the
    # window: $0.08 an hour billed as the recurring fee, $0.13 an hour amortised with the
    # upfront share (the upfront itself was paid in September, before the window)
    units = len(truth["planted"]["reserved_cache"]) + 1
    reserved_hours = units * 24 * WINDOW_DAYS
    assert frame.loc["Reserved", "unblended_cost"] == pytest.approx(
        reserved_hours * 0.08, abs=HALF_CENT, rel=0
    )
    assert frame.loc["Reserved", "amortized_cost"] == pytest.approx(
        reserved_hours * 0.13, abs=HALF_CENT, rel=0
    )


def test_the_growing_service_costs_its_planted_months(library: Any) -> None:
    results, truth, _ = library
    growth = truth["planted"]["growth"]
    frame = results["spend_by_service_daily"].frame
    rds = frame[frame["service_code"] == growth["service_code"]]
    by_month = rds.groupby(pd.to_datetime(rds["usage_date"]).dt.strftime("%Y-%m"))[
        "unblended_cost"
    ].sum()
    assert by_month.to_dict() == pytest.approx(
        {m: growth["cost_by_month"][m] for m in MONTHS}, abs=HALF_CENT, rel=0
    )


def test_usage_before_credits_per_service_and_day_is_read_from_the_files(library: Any) -> None:
    results, truth, folder = library
    if truth["schema"] == "focus":
        pytest.skip("checked on CUR and CUR 2.0, whose line item types name each charge")
    raw = _raw_cur_lines(folder)
    kind = raw["line_item_line_item_type"]
    # on-demand usage as billed, covered usage at its on-demand price; nothing else
    usage = raw["line_item_unblended_cost"].where(kind == "Usage", 0.0) + raw[
        "pricing_public_on_demand_cost"
    ].where(kind.isin(["SavingsPlanCoveredUsage", "DiscountedUsage"]), 0.0)
    day = raw["line_item_usage_start_date"].dt.strftime("%Y-%m-%d")
    expected = usage.groupby([day, raw["line_item_product_code"]]).sum()
    frame = results["spend_by_service_daily"].frame
    shown = frame.groupby(
        [pd.to_datetime(frame["usage_date"]).dt.strftime("%Y-%m-%d"), frame["service_code"]]
    )["usage_cost"].sum()
    assert shown.to_dict() == pytest.approx(expected.to_dict(), abs=HALF_CENT, rel=0)
