"""Architecture and tagging queries against what the generator planted, over all of its data.

Each query runs over the whole generated window (so amounts compare with the ground truth's
totals as they are) and every row it returns for a planted resource, tag value or account is
held to the cent against `ground_truth.json`, on every schema.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest

from finops_agent.catalog import load_catalog
from finops_agent.execution import QueryResult, run_query
from finops_agent.pipeline import prepare_run
from finops_agent.settings import load_settings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]
# tighter than a cent, so a planted amount shifted by one cent fails
HALF_CENT = 0.005
MONTH_DAYS = 30.4375
# the catalog's defaults for the parameters these checks depend on
TOP_N = 25
SAVING_SHARES = {"gp2_volumes": 0.2, "previous_generation_instances": 0.1}
GRAVITON_SAVING_SHARE = 0.2
ENDPOINT_SHARE = 0.5
TIERING_SAVING_SHARE = 0.3
# the planted start-time clusters: m5.large instances in "a", c5.xlarge in "b", at public prices
CLUSTER_HOURLY_USD = {"a": 0.096, "b": 0.17}


@pytest.fixture(scope="module", params=["cur", "cur2", "focus"])
def whole(
    request: pytest.FixtureRequest, sample_dataset: Any
) -> tuple[dict[str, QueryResult], dict[str, Any]]:
    """The architecture and tagging queries run once over one schema's whole sample, with its truth."""
    folder, truth = sample_dataset(request.param)
    run = prepare_run(
        load_settings(),
        source=str(folder / "data"),
        start=truth["start"],
        end=truth["end"],
        families=["architecture", "tagging"],
    )
    try:
        results = {spec.name: run_query(run.engine, spec, run.params) for spec in run.specs}
    finally:
        run.engine.close()
    failed = {name: r.error for name, r in results.items() if not r.ok}
    assert failed == {}
    return results, truth


def _days(truth: dict[str, Any]) -> int:
    # every day of the sample has usage, so the queries' count of usage dates is the window's length
    return (dt.date.fromisoformat(truth["end"]) - dt.date.fromisoformat(truth["start"])).days


def _total(item: dict[str, Any], field: str = "cost_by_month") -> float:
    return float(sum(item[field].values()))


def test_catalog_defaults_are_the_ones_these_checks_assume() -> None:
    queries = load_catalog().queries
    defaults = {
        name: {p.name: p.default for p in queries[name].params}
        for name in (
            "gp2_volumes",
            "previous_generation_instances",
            "graviton_candidates",
            "nat_gateway_without_endpoints",
            "s3_storage_class_mix",
        )
    }
    assert defaults["gp2_volumes"]["gp3_saving_share"] == SAVING_SHARES["gp2_volumes"]
    assert (
        defaults["previous_generation_instances"]["saving_share"]
        == SAVING_SHARES["previous_generation_instances"]
    )
    assert defaults["graviton_candidates"]["saving_share"] == GRAVITON_SAVING_SHARE
    assert defaults["nat_gateway_without_endpoints"]["endpoint_share"] == ENDPOINT_SHARE
    assert defaults["s3_storage_class_mix"]["tiering_saving_share"] == TIERING_SAVING_SHARE
    assert {p.name: p.default for p in queries["untagged_top_resources"].params}["top_n"] == TOP_N


# --- architecture ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "planted", "quantity"),
    [
        ("gp2_volumes", "gp2_volumes", "gb_months"),
        ("previous_generation_instances", "previous_generation", "hours"),
    ],
)
def test_saving_detectors_price_each_planted_resource(
    whole: Any, query: str, planted: str, quantity: str
) -> None:
    results, truth = whole
    frame = results[query].frame.set_index("resource_id")
    items = truth["planted"][planted]
    assert sorted(frame.index) == sorted(i["resource_id"] for i in items)
    days = _days(truth)
    for item in items:
        row = frame.loc[item["resource_id"]]
        cost = _total(item)
        assert (row["account_id"], row["region"]) == (item["account_id"], item["region"])
        assert row[quantity] == pytest.approx(_total(item, "quantity_by_month"), abs=0.001, rel=0)
        assert row["unblended_cost"] == pytest.approx(cost, abs=HALF_CENT, rel=0)
        assert row["monthly_cost"] == pytest.approx(cost * MONTH_DAYS / days, abs=HALF_CENT, rel=0)
        assert row["monthly_savings"] == pytest.approx(
            cost * MONTH_DAYS / days * SAVING_SHARES[query], abs=HALF_CENT, rel=0
        )


def test_previous_generation_instances_name_the_current_family(whole: Any) -> None:
    results, truth = whole
    frame = results["previous_generation_instances"].frame
    found = dict(zip(frame["instance_type"], frame["current_family"], strict=True))
    # m4 and c4 move to the 7th generation, t2 to t3
    assert found == {"m4.xlarge": "m7i", "c4.2xlarge": "c7i", "t2.medium": "t3"}
    planted = {i["instance_type"] for i in truth["planted"]["previous_generation"]}
    assert set(found) == planted


def test_idle_addresses_cost_their_planted_hours(whole: Any) -> None:
    results, truth = whole
    frame = results["idle_elastic_ips"].frame.set_index("resource_id")
    items = truth["planted"]["idle_eips"]
    assert sorted(frame.index) == sorted(i["resource_id"] for i in items)
    for item in items:
        row = frame.loc[item["resource_id"]]
        assert row["idle_hours"] == pytest.approx(_total(item, "quantity_by_month"), abs=0.001)
        assert row["unblended_cost"] == pytest.approx(_total(item), abs=HALF_CENT, rel=0)
        # releasing the address saves all of it
        assert row["monthly_savings"] == pytest.approx(
            _total(item) * MONTH_DAYS / _days(truth), abs=HALF_CENT, rel=0
        )


def test_public_ipv4_idle_charges_are_the_planted_addresses(whole: Any) -> None:
    results, truth = whole
    frame = results["public_ipv4_charges"].frame
    # only the planted addresses are idle: in-use addresses are background
    idle = frame[frame["idle_cost"] != 0].set_index(["account_id", "region"])["idle_cost"]
    expected = {(i["account_id"], i["region"]): _total(i) for i in truth["planted"]["idle_eips"]}
    assert sorted(idle.index) == sorted(expected)
    for key, cost in expected.items():
        assert idle[key] == pytest.approx(cost, abs=HALF_CENT, rel=0)


def test_cross_az_transfer_counts_both_directions_of_each_instance(whole: Any) -> None:
    results, truth = whole
    frame = results["cross_az_data_transfer"].frame.set_index("resource_id")
    items = truth["planted"]["cross_az"]
    assert sorted(frame.index) == sorted(i["resource_id"] for i in items)
    for item in items:
        row = frame.loc[item["resource_id"]]
        assert row["availability_zone"] == item["availability_zone"]
        assert row["gb"] == pytest.approx(_total(item, "quantity_by_month"), abs=0.001, rel=0)
        assert row["unblended_cost"] == pytest.approx(_total(item), abs=HALF_CENT, rel=0)


def test_nat_gateways_report_their_bytes_and_the_spend_an_endpoint_would_serve(
    whole: Any,
) -> None:
    results, truth = whole
    frame = results["nat_gateway_without_endpoints"].frame.set_index("resource_id")
    planted = truth["planted"]["nat_gateway"]
    assert sorted(frame.index) == sorted(g["resource_id"] for g in planted["gateways"])
    # the account and region's S3 and DynamoDB usage, the planted bucket and table among it
    beside = truth["planted"]["usage_by_account"][planted["account_id"]][planted["region"]]
    days = _days(truth)
    for gateway in planted["gateways"]:
        row = frame.loc[gateway["resource_id"]]
        # the gateway's quantity is its hours (24 a day, every day) plus the GB it processed
        hours = 24 * days
        assert row["processed_gb"] == pytest.approx(
            _total(gateway, "quantity_by_month") - hours, abs=0.001, rel=0
        )
        assert row["processing_cost"] + row["hourly_cost"] == pytest.approx(
            _total(gateway), abs=HALF_CENT, rel=0
        )
        # $0.045 an hour
        assert row["hourly_cost"] == pytest.approx(hours * 0.045, abs=HALF_CENT, rel=0)
        assert row["monthly_savings"] == pytest.approx(
            row["processing_cost"] * MONTH_DAYS / days * ENDPOINT_SHARE, abs=HALF_CENT, rel=0
        )
        assert row["s3_cost"] == pytest.approx(beside["AmazonS3"], abs=HALF_CENT, rel=0)
        assert row["dynamodb_cost"] == pytest.approx(beside["AmazonDynamoDB"], abs=HALF_CENT, rel=0)


def test_s3_storage_class_mix_finds_the_all_standard_buckets(whole: Any) -> None:
    results, truth = whole
    frame = results["s3_storage_class_mix"].frame.set_index("resource_id")
    days = _days(truth)
    # the bucket beside the NAT gateways is as large and as all-Standard as the planted ones;
    # the mostly Intelligent-Tiering bucket and the smaller background ones stay out
    buckets = [*truth["planted"]["s3_standard_heavy"], *truth["planted"]["nat_gateway"]["s3"]]
    assert sorted(frame.index) == sorted(b["resource_id"] for b in buckets)
    for bucket in buckets:
        row = frame.loc[bucket["resource_id"]]
        cost, gb_months = _total(bucket), _total(bucket, "quantity_by_month")
        assert (row["account_id"], row["region"], row["classes"]) == (
            bucket["account_id"],
            bucket["region"],
            1,
        )
        assert row["gb_months"] == pytest.approx(gb_months, abs=0.001, rel=0)
        assert (
            row["storage_cost"] == row["standard_cost"] == pytest.approx(cost, abs=HALF_CENT, rel=0)
        )
        assert row["standard_pct"] == 100.0
        assert row["avg_gb"] == pytest.approx(gb_months * MONTH_DAYS / days, abs=0.001, rel=0)
        assert row["monthly_savings"] == pytest.approx(
            cost * MONTH_DAYS / days * TIERING_SAVING_SHARE, abs=HALF_CENT, rel=0
        )


def test_the_planted_egress_leads_data_transfer_out(whole: Any) -> None:
    results, truth = whole
    frame = results["data_transfer_out"].frame
    (egress,) = truth["planted"]["egress"]
    top = frame.iloc[0]
    assert (top["resource_id"], top["region"], top["service_code"]) == (
        egress["resource_id"],
        egress["region"],
        "AmazonEC2",
    )
    assert top["gb"] == pytest.approx(_total(egress, "quantity_by_month"), abs=0.001, rel=0)
    assert top["unblended_cost"] == pytest.approx(_total(egress), abs=HALF_CENT, rel=0)
    assert top["monthly_cost"] == pytest.approx(
        _total(egress) * MONTH_DAYS / _days(truth), abs=HALF_CENT, rel=0
    )


def test_graviton_candidates_hold_the_planted_x86_instances(whole: Any) -> None:
    results, truth = whole
    frame = results["graviton_candidates"].frame.set_index(
        ["account_id", "region", "instance_type"]
    )
    days = _days(truth)
    # the planted large untagged instances are the only ones of their size in the estate
    planted = [i for i in truth["planted"]["untagged_top"] if i["resource_id"].startswith("i-")]
    assert {i["instance_type"] for i in planted} == {"m5.4xlarge", "r5.4xlarge"}
    for item in planted:
        row = frame.loc[(item["account_id"], item["region"], item["instance_type"])]
        cost = _total(item)  # on demand: amortised cost is what was billed
        assert (row["instances"], row["resource_ids"]) == (1, item["resource_id"])
        assert row["graviton_family"] == {"m5": "m7g", "r5": "r7g"}[item["instance_type"][:2]]
        assert row["hours"] == pytest.approx(_total(item, "quantity_by_month"), abs=0.001, rel=0)
        assert row["amortized_cost"] == pytest.approx(cost, abs=HALF_CENT, rel=0)
        assert row["monthly_savings"] == pytest.approx(
            cost * MONTH_DAYS / days * GRAVITON_SAVING_SHARE, abs=HALF_CENT, rel=0
        )
    # already on Graviton, or a previous generation: never a candidate
    assert not {"m6g.large", "m4.xlarge", "c4.2xlarge", "t2.medium"} & set(
        frame.index.get_level_values("instance_type")
    )


def test_workload_fingerprint_splits_each_accounts_usage(whole: Any) -> None:
    results, truth = whole
    frame = results["workload_fingerprint"].frame.set_index("account_id")
    usage = truth["planted"]["usage_by_account"]
    assert sorted(frame.index) == sorted(usage)
    for account, by_region in usage.items():
        by_service: dict[str, float] = {}
        for services in by_region.values():
            for service, cost in services.items():
                by_service[service] = by_service.get(service, 0.0) + cost
        row = frame.loc[account]
        total = sum(by_service.values())
        assert row["total_cost"] == pytest.approx(total, abs=HALF_CENT, rel=0)

        def pct(*services: str, of: dict[str, float] = by_service, whole: float = total) -> float:
            return sum(of.get(s, 0.0) for s in services) / whole * 100

        # the buckets decided by service alone (EC2 splits over VMs, storage and transfer)
        assert row["pct_serverless"] == pytest.approx(pct("AWSLambda"), abs=1e-6)
        assert row["pct_containers"] == pytest.approx(pct("AmazonECS", "AmazonEKS"), abs=1e-6)
        assert row["pct_analytics"] == pytest.approx(pct("AmazonAthena"), abs=1e-6)
        assert row["pct_managed_db"] == pytest.approx(
            pct("AmazonRDS", "AmazonDynamoDB", "AmazonElastiCache"), abs=1e-6
        )


# --- tagging --------------------------------------------------------------------------------


def _keys(truth: dict[str, Any]) -> dict[str, Any]:
    return dict(truth["planted"]["tagging"]["keys"])


def test_cost_by_tag_gives_each_owner_its_planted_spend(whole: Any) -> None:
    results, truth = whole
    frame = results["cost_by_tag"].frame.set_index("tag_value")
    expected = _keys(truth)["owner"]["by_value"]
    assert sorted(frame.index) == sorted(expected)
    for value, spend in expected.items():
        row = frame.loc[value]
        assert row["amortized_cost"] == pytest.approx(spend["amortized_cost"], abs=HALF_CENT, rel=0)
        assert row["resources"] == spend["resources"]


@pytest.mark.parametrize("key", ["owner", "project", "cost_center", "environment"])
def test_tag_coverage_per_account_and_service(whole: Any, key: str) -> None:
    results, truth = whole
    frame = results["tag_coverage"].frame
    mine = frame[frame["tag_key"] == key].set_index(["account_id", "service_code"])
    expected = {
        (g["account_id"], g["service_code"]): g for g in _keys(truth)[key]["by_account_service"]
    }
    assert sorted(mine.index) == sorted(expected)
    for group, planted in expected.items():
        row = mine.loc[group]
        assert row["total_cost"] == pytest.approx(planted["total_cost"], abs=HALF_CENT, rel=0)
        assert row["tagged_cost"] == pytest.approx(planted["tagged_cost"], abs=HALF_CENT, rel=0)
        assert (row["resources"], row["tagged_resources"]) == (
            planted["resources"],
            planted["tagged_resources"],
        )
        # the truth's amounts are rounded to 1e-6 dollars: their ratio holds to about 1e-5 %
        assert row["cost_coverage_pct"] == pytest.approx(
            planted["tagged_cost"] / planted["total_cost"] * 100, abs=1e-4
        )
        assert row["resource_coverage_pct"] == pytest.approx(
            planted["tagged_resources"] / planted["resources"] * 100, abs=1e-9
        )


def test_untagged_spend_is_what_carries_no_owner(whole: Any) -> None:
    results, truth = whole
    frame = results["untagged_spend"].frame.set_index(["account_id", "service_code"])
    groups = {
        (g["account_id"], g["service_code"]): g
        for g in _keys(truth)["owner"]["by_account_service"]
        # a group whose every resource is tagged has nothing to report
        if g["tagged_resources"] < g["resources"]
    }
    assert sorted(frame.index) == sorted(groups)
    for group, planted in groups.items():
        row = frame.loc[group]
        untagged = planted["total_cost"] - planted["tagged_cost"]
        assert row["total_cost"] == pytest.approx(planted["total_cost"], abs=HALF_CENT, rel=0)
        assert row["untagged_cost"] == pytest.approx(untagged, abs=HALF_CENT, rel=0)
        # a generated resource keeps its tags, so it is tagged or untagged for the whole window
        assert (row["untagged_resources"], row["resources"]) == (
            planted["resources"] - planted["tagged_resources"],
            planted["resources"],
        )


def test_untagged_top_resources_are_the_costliest_without_an_owner(whole: Any) -> None:
    results, truth = whole
    frame = results["untagged_top_resources"].frame
    expected = _keys(truth)["owner"]["untagged_top"][:TOP_N]
    assert len(frame) == TOP_N
    assert frame["amortized_cost"].tolist() == pytest.approx(
        [r["amortized_cost"] for r in expected], abs=HALF_CENT, rel=0
    )
    # resources of equal cost (identical RDS instances) may come in any order, and the cut at
    # top_n may fall inside such a group: each row is one of the resources costing what it costs
    ranked = _keys(truth)["owner"]["untagged_top"]
    by_id = {r["resource_id"]: r for r in ranked}
    assert frame["resource_id"].is_unique
    for row, planted in zip(frame.itertuples(), expected, strict=True):
        assert by_id[row.resource_id]["amortized_cost"] == planted["amortized_cost"]
        assert (row.account_id, row.service_code, row.region) == tuple(
            by_id[row.resource_id][k] for k in ("account_id", "service_code", "region")
        )
    assert frame["monthly_cost"].tolist() == pytest.approx(
        [r["amortized_cost"] * MONTH_DAYS / _days(truth) for r in expected], abs=HALF_CENT, rel=0
    )


def test_the_planted_untagged_resources_rank_at_their_cost(whole: Any) -> None:
    results, truth = whole
    frame = results["untagged_top_resources"].frame.set_index("resource_id")
    last = float(frame["amortized_cost"].iloc[-1])
    for item in truth["planted"]["untagged_top"]:
        # on demand, so the amortised cost the query ranks by is what was billed
        cost = _total(item)
        if item["resource_id"] not in frame.index:
            # the planted database costs what five background ones do over the whole sample:
            # the cut at top_n may leave it out, but only as one of those at the last row's cost
            assert cost == pytest.approx(last, abs=HALF_CENT, rel=0), item["resource_id"]
            continue
        row = frame.loc[item["resource_id"]]
        assert row["amortized_cost"] == pytest.approx(cost, abs=HALF_CENT, rel=0)
        assert (row["account_id"], row["region"]) == (item["account_id"], item["region"])


def test_the_untagged_notebook_belongs_to_the_team_spending_most_beside_it(whole: Any) -> None:
    results, truth = whole
    cluster = truth["planted"]["owner_by_service"]
    frame = results["owner_by_service_cluster"].frame
    notebooks = frame[frame["service_code"] == cluster["service_code"]]
    (untagged,) = cluster["untagged_resource_ids"]
    assert notebooks["resource_id"].tolist() == [untagged]
    row = notebooks.iloc[0]
    cost = next(n["amortized_cost"] for n in cluster["notebooks"] if n["resource_id"] == untagged)
    assert (row["account_id"], row["likely_value"]) == (cluster["account_id"], "team-ml")
    assert row["amortized_cost"] == pytest.approx(cost, abs=HALF_CENT, rel=0)
    # team-ml's two notebooks ($1.20 + $0.80 a day) against team-data's one ($1.20 a day)
    assert row["probability"] == pytest.approx(2.0 / 3.2, abs=1e-9)
    assert row["probability"] == pytest.approx(
        cluster["likely_owner_cost"] / cluster["tagged_cost"], abs=1e-9
    )


def test_owner_guesses_by_cluster_cover_every_untagged_resource_beside_tagged_ones(
    whole: Any,
) -> None:
    results, truth = whole
    groups = _keys(truth)["owner"]["by_account_service"]
    # a group with tagged and untagged resources yields one guess per untagged resource
    expected = sum(g["resources"] - g["tagged_resources"] for g in groups if g["tagged_resources"])
    assert len(results["owner_by_service_cluster"].frame) == expected


def test_hygiene_finds_each_spelling_of_an_environment(whole: Any) -> None:
    results, truth = whole
    frame = results["tag_value_hygiene"].frame.set_index("canonical_value")
    values = truth["planted"]["tagging"]["environment_values"]
    expected = {
        "prod": ["prod", "Prod", "production", " prod "],
        "dev": ["dev", "Dev"],
        "qa": ["qa", "QA", " qa "],
        # legacy CUR has a column per tag key: a resource without the tag reads '' there too
        "": ["", "(absent)"] if truth["schema"] == "cur" else [""],
    }
    assert sorted(frame.index) == sorted(expected)
    for canonical, spellings in expected.items():
        row = frame.loc[canonical]
        assert row["amortized_cost"] == pytest.approx(
            sum(values[s]["amortized_cost"] for s in spellings), abs=HALF_CENT, rel=0
        )
        assert row["resources"] == sum(values[s]["resources"] for s in spellings)
        raw = [s for s in spellings if s != "(absent)"]
        assert row["variant_count"] == len(raw)
        assert sorted(row["variants"].split(", ")) == sorted(f'"{s}"' for s in raw)
        assert row["problem"] == ("empty value" if canonical == "" else "variants")


def test_orphans_include_every_planted_untagged_store_at_its_cost(whole: Any) -> None:
    results, truth = whole
    frame = results["orphan_candidates"].frame.set_index("resource_id")
    planted = truth["planted"]
    stores = [
        *(("volume", v) for v in planted["gp2_volumes"] if "owner" not in v["tags"]),
        *(("idle address", e) for e in planted["idle_eips"]),
        *(("storage", b) for b in planted["s3_standard_heavy"] if "owner" not in b["tags"]),
        *(("storage", b) for b in planted["nat_gateway"]["s3"]),
    ]
    assert len(stores) == 7
    days = _days(truth)
    for kind, item in stores:
        row = frame.loc[item["resource_id"]]
        assert (row["kind"], row["account_id"]) == (kind, item["account_id"])
        assert row["amortized_cost"] == pytest.approx(_total(item), abs=HALF_CENT, rel=0)
        assert row["monthly_cost"] == pytest.approx(
            _total(item) * MONTH_DAYS / days, abs=HALF_CENT, rel=0
        )
    # tagged stores and working resources are never orphans
    tagged = {v["resource_id"] for v in planted["gp2_volumes"] if "owner" in v["tags"]}
    working = {n["resource_id"] for n in planted["owner_by_service"]["notebooks"]}
    assert not (tagged | working) & set(frame.index)


def test_owner_by_start_time_dates_and_prices_the_planted_clusters(whole: Any) -> None:
    results, truth = whole
    frame = results["owner_by_start_time"].frame.set_index("resource_id")
    end = pd.Timestamp(truth["end"])
    for cluster in truth["planted"]["owner_by_start_time"]:
        # each runs on demand from its first hour to the end of the sample
        hours = (end - pd.Timestamp(cluster["first_usage_hour"])) / pd.Timedelta(hours=1)
        for resource in cluster["untagged_resource_ids"]:
            row = frame.loc[resource]
            assert str(pd.Timestamp(row["first_hour"])) == cluster["first_usage_hour"]
            assert row["amortized_cost"] == pytest.approx(
                hours * CLUSTER_HOURLY_USD[cluster["cluster"]], abs=HALF_CENT, rel=0
            )
            assert row["likely_value"] == cluster["expected_tags"]["project"]
            assert row["votes"] == row["neighbour_count"] == len(cluster["neighbour_resource_ids"])
