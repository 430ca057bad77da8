"""The rule engine finds and prices what the sample data generator planted, with no AWS at all."""

from __future__ import annotations

import json
from typing import Any

import pytest

from finops_agent.catalog import load_catalog
from finops_agent.settings import load_settings
from tests.support.reports import make_report

# October 2026: the last full month of the conftest sample (which ends 2026-11-24)
MONTH, START, END, DAYS = "2026-10", "2026-10-01", "2026-11-01", 31
GP3_SAVING_SHARE = 0.2
MONTH_DAYS = 30.4375

# finding query -> where the generator records what it planted for it (resource-level findings)
PLANTED_RESOURCES: dict[str, tuple[str, ...]] = {
    "gp2_volumes": ("gp2_volumes",),
    "previous_generation_instances": ("previous_generation",),
    "idle_elastic_ips": ("idle_eips",),
    "cross_az_data_transfer": ("cross_az",),
    "nat_gateway_without_endpoints": ("nat_gateway", "gateways"),
    "s3_storage_class_mix": ("s3_standard_heavy",),
}
_IN_LIBRARY = sorted(set(PLANTED_RESOURCES) & set(load_catalog().queries))


@pytest.fixture(scope="module")
def october(sample_dataset: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder, truth = sample_dataset("cur2")
    out = tmp_path_factory.mktemp("planted")
    settings = load_settings(output_dir=out, home=out / "home")
    report_id = make_report(settings, folder / "data", window=(START, END))
    report = json.loads((out / report_id / "report.json").read_text())
    return {"truth": truth, "report": report}


def _planted(truth: dict[str, Any], path: tuple[str, ...]) -> list[dict[str, Any]]:
    node: Any = truth["planted"]
    for key in path:
        node = node[key]
    return list(node)


# the catalog's default share of a month's cost each finding claims as saving
SAVING_SHARES = {
    "gp2_volumes": GP3_SAVING_SHARE,
    "previous_generation_instances": 0.1,
    "idle_elastic_ips": 1.0,
    "cross_az_data_transfer": 0.5,
    "nat_gateway_without_endpoints": 0.5,
    "s3_storage_class_mix": 0.3,
}
NAT_HOURLY_USD = 0.045


def _priced(truth: dict[str, Any], query: str) -> list[dict[str, Any]]:
    """The planted resources a finding is about: its rows are these and nothing else."""
    items = _planted(truth, PLANTED_RESOURCES[query])
    if query == "s3_storage_class_mix":
        # the bucket beside the NAT gateways is as large and as all-Standard as the planted ones
        items += truth["planted"]["nat_gateway"]["s3"]
    return items


def _month_cost(truth: dict[str, Any], query: str) -> float:
    """What the month cost of the planted resources a finding prices (the part it can save)."""
    if query == "nat_gateway_without_endpoints":
        # processing only: the hourly charge stays behind an endpoint; gateways run all month
        return sum(
            (g["quantity_by_month"][MONTH] - 24 * DAYS) * NAT_HOURLY_USD
            for g in _priced(truth, query)
        )
    return sum(i["cost_by_month"][MONTH] for i in _priced(truth, query))


@pytest.mark.parametrize("query", _IN_LIBRARY)
def test_every_planted_resource_is_in_its_finding(october: dict[str, Any], query: str) -> None:
    priced = _priced(october["truth"], query)
    finding = next(f for f in october["report"]["findings"] if f["query"] == query)
    assert sorted(finding["resource_ids"]) == sorted(r["resource_id"] for r in priced)
    assert finding["reasoning"].startswith(f"Sum of monthly_savings over {len(priced)} row(s)")


@pytest.mark.parametrize("query", _IN_LIBRARY)
def test_each_finding_saves_its_share_of_the_planted_cost(
    october: dict[str, Any], query: str
) -> None:
    finding = next(f for f in october["report"]["findings"] if f["query"] == query)
    expected = _month_cost(october["truth"], query) * MONTH_DAYS / DAYS * SAVING_SHARES[query]
    # the finding rounds its sum to the cent
    assert finding["monthly_savings_usd"] == pytest.approx(round(expected, 2), abs=1e-6)


def test_gp2_savings_are_priced_from_the_planted_volumes(october: dict[str, Any]) -> None:
    volumes = october["truth"]["planted"]["gp2_volumes"]
    # the query scales the window's cost to a 30.4375-day month and saves 20% of it on gp3
    expected = sum(v["cost_by_month"][MONTH] for v in volumes) * MONTH_DAYS / DAYS
    expected *= GP3_SAVING_SHARE
    finding = next(f for f in october["report"]["findings"] if f["query"] == "gp2_volumes")
    assert finding["monthly_savings_usd"] == pytest.approx(expected, abs=0.005)  # to the cent
    assert f"${expected:,.2f}" in october["report"]["insights"]["markdown"]


def test_untagged_planted_spend_is_an_allocation_finding(october: dict[str, Any]) -> None:
    planted = october["truth"]["planted"]["untagged_top"]
    finding = next(f for f in october["report"]["findings"] if f["query"] == "untagged_spend")
    assert finding["monthly_savings_usd"] == 0
    rows = october["report"]["results"]["untagged_spend"]["rows"]
    account = planted[0]["account_id"]
    untagged_in_account = sum(r["untagged_cost"] for r in rows if r["account_id"] == account)
    # all of the account's untagged spend in the month, the planted untagged resources among it
    groups = october["truth"]["planted"]["tagging"]["keys"]["owner"]["by_account_service"]
    expected = sum(
        g["untagged_cost_by_month"].get(MONTH, 0.0) for g in groups if g["account_id"] == account
    )
    assert untagged_in_account == pytest.approx(expected, abs=0.005, rel=0)


def test_rule_report_is_complete_without_bedrock(october: dict[str, Any]) -> None:
    report = october["report"]
    assert report["insights"]["provider"] == "rules" and report["insights"]["warnings"] == []
    assert report["insights"]["markdown"].startswith("## Executive summary")
    assert len(report["suggested_prompts"]) == 5
    # to the cent: a relative tolerance would let a $50k month drift by several cents
    assert report["totals"]["unblended_cost"] == pytest.approx(
        october["truth"]["totals"]["by_month"][MONTH]["unblended_cost"], abs=0.005, rel=0
    )


def test_nat_gateways_that_have_endpoints_are_not_flagged(october: dict[str, Any]) -> None:
    decoys = {g["resource_id"] for g in october["truth"]["planted"]["nat_decoy"]["gateways"]}
    finding = next(
        f for f in october["report"]["findings"] if f["query"] == "nat_gateway_without_endpoints"
    )
    assert decoys and not decoys & set(finding["resource_ids"])
