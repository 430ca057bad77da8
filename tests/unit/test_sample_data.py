"""The generator writes realistic, deterministic billing data whose ground truth the files agree with."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from finops_agent.sample_data import generate
from tests.conftest import SAMPLE_END

# tighter than a cent (and no relative slack), so an amount off by one cent fails
HALF_CENT = 0.005
PREVIOUS_GENERATION = ("m4.", "c4.", "r4.", "t2.", "m3.", "c3.", "r3.", "i2.", "i3.", "d2.")


def _files(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*.*"))
    }


def _raw(folder: Path, sql: str) -> list[tuple[object, ...]]:
    glob = str(folder / "data" / "**" / "*.parquet")
    return duckdb.sql(
        sql.replace("FILES", f"read_parquet('{glob}', hive_partitioning=true)")
    ).fetchall()


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    a = generate("cur2", tmp_path / "a", rows=5_000, end=SAMPLE_END)
    b = generate("cur2", tmp_path / "b", rows=5_000, end=SAMPLE_END)
    assert a == b
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    c = generate("cur2", tmp_path / "c", rows=5_000, end=SAMPLE_END, seed=8)
    assert c["totals"]["unblended_cost"] != a["totals"]["unblended_cost"]


# one process writes every schema and format; the test compares two such processes
_GENERATE_ALL = """
import datetime as dt, sys
from pathlib import Path
from finops_agent.sample_data import generate
out = Path(sys.argv[1])
for schema in ("cur", "cur2", "focus"):
    for fmt in ("parquet", "csv"):
        generate(schema, out / f"{schema}-{fmt}", rows=3_000, seed=7, fmt=fmt, end=dt.date(2026, 11, 24))
"""


@pytest.mark.timeout(240)
def test_same_seed_gives_byte_identical_files_across_string_hash_seeds(tmp_path: Path) -> None:
    # set iteration order follows PYTHONHASHSEED, so a draw order taken from a set differs
    # between processes while looking stable inside one
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run(
            [sys.executable, "-c", _GENERATE_ALL, str(tmp_path / hash_seed)],
            env=env,
            check=True,
            timeout=200,
        )
    first, second = _files(tmp_path / "1"), _files(tmp_path / "2")
    assert len(first) == 6 * 4  # six datasets, three monthly files and ground_truth.json each
    differing = sorted(name for name in first if first[name] != second.get(name))
    assert not differing, f"files differ between PYTHONHASHSEED=1 and 2: {differing}"


@pytest.mark.parametrize("schema", ["cur", "cur2", "focus"])
def test_rows_and_totals_match_the_files(sample_dataset, schema: str) -> None:  # type: ignore[no-untyped-def]
    folder, truth = sample_dataset(schema)
    cost = "BilledCost" if schema == "focus" else "line_item_unblended_cost"
    ((rows, total),) = _raw(folder, f"select count(*), sum({cost}) from FILES")
    assert rows == truth["rows"]
    assert abs(rows - 40_000) / 40_000 < 0.10
    assert total == pytest.approx(truth["totals"]["unblended_cost"], abs=HALF_CENT, rel=0)
    # the window covers three billing months ending the day before `end`
    assert truth["start"] == "2026-09-01" and truth["end"] == "2026-11-24"
    assert sorted(truth["totals"]["by_month"]) == ["2026-09", "2026-10", "2026-11"]


def test_the_same_seed_is_the_same_money_in_every_schema(sample_dataset) -> None:  # type: ignore[no-untyped-def]
    totals = {s: sample_dataset(s)[1]["totals"] for s in ("cur", "cur2", "focus")}
    assert (
        totals["cur"]["unblended_cost"]
        == totals["cur2"]["unblended_cost"]
        == totals["focus"]["unblended_cost"]
    )
    assert totals["cur"]["amortized_cost"] == totals["focus"]["amortized_cost"]


def test_amortisation_identity_holds_in_the_files(sample_dataset) -> None:  # type: ignore[no-untyped-def]
    folder, truth = sample_dataset("cur")
    ((unblended, amortized, fees),) = _raw(
        folder,
        """
        select sum(line_item_unblended_cost),
               sum(case line_item_line_item_type
                   when 'SavingsPlanCoveredUsage' then savings_plan_savings_plan_effective_cost
                   when 'SavingsPlanRecurringFee' then savings_plan_total_commitment_to_date - savings_plan_used_commitment
                   when 'SavingsPlanNegation' then 0
                   when 'DiscountedUsage' then reservation_effective_cost
                   when 'RIFee' then reservation_unused_amortized_upfront_fee_for_billing_period + reservation_unused_recurring_fee
                   when 'Fee' then 0
                   else line_item_unblended_cost end),
               sum(case when line_item_line_item_type = 'Fee' then line_item_unblended_cost else 0 end)
        from FILES""",
    )
    t = truth["totals"]
    assert amortized == pytest.approx(t["amortized_cost"], abs=HALF_CENT, rel=0)
    assert fees == pytest.approx(t["upfront_fees"], abs=HALF_CENT, rel=0) and fees > 0
    # unblended - amortised == upfront fees - the upfront share amortised inside the window
    assert unblended - amortized == pytest.approx(
        t["upfront_fees"] - t["amortized_upfront"], abs=HALF_CENT, rel=0
    )
    # there is unused commitment, so utilisation is below 100%
    ((unused,),) = _raw(
        folder,
        "select sum(savings_plan_total_commitment_to_date - savings_plan_used_commitment) "
        "from FILES where line_item_line_item_type = 'SavingsPlanRecurringFee'",
    )
    sp = truth["savings_plan"]
    assert unused == pytest.approx(
        sum(sp["commitment_by_month"].values()) - sum(sp["used_by_month"].values()),
        abs=HALF_CENT,
        rel=0,
    )
    assert sum(sp["commitment_by_month"].values()) > sum(sp["used_by_month"].values())


@pytest.mark.parametrize("finding", ["gp2_volumes", "previous_generation", "idle_eips"])
def test_planted_resources_cost_what_the_ground_truth_says(sample_dataset, finding: str) -> None:  # type: ignore[no-untyped-def]
    folder, truth = sample_dataset("cur2")
    planted = truth["planted"][finding]
    # the generator plants five gp2 volumes, three old instances and two idle addresses
    assert len(planted) == {"gp2_volumes": 5, "previous_generation": 3, "idle_eips": 2}[finding]
    for item in planted:
        ((cost,),) = _raw(
            folder,
            f"select sum(line_item_unblended_cost) from FILES "
            f"where line_item_resource_id = '{item['resource_id']}'",
        )
        assert cost == pytest.approx(sum(item["cost_by_month"].values()), abs=HALF_CENT, rel=0)


def test_background_holds_nothing_the_precise_detectors_flag(sample_dataset) -> None:  # type: ignore[no-untyped-def]
    folder, truth = sample_dataset("cur")
    planted_ids = {
        i["resource_id"]
        for k in ("gp2_volumes", "previous_generation", "idle_eips")
        for i in truth["planted"][k]
    }
    planted_ids |= {
        g["resource_id"]
        for k in ("nat_gateway", "nat_decoy")
        for g in truth["planted"][k]["gateways"]
    }
    flagged = _raw(
        folder,
        """
        select distinct line_item_resource_id from FILES
        where line_item_usage_type like '%VolumeUsage.gp2' or line_item_usage_type like '%IdleAddress'
           or line_item_usage_type like '%NatGateway%'
           or regexp_matches(product_instance_type, '^(m4|c4|r4|t2|m3|c3|r3|i2|i3|d2)\\.')""",
    )
    assert {row[0] for row in flagged} == planted_ids


def test_untagged_resources_start_in_the_hour_of_their_tagged_neighbours(sample_dataset) -> None:  # type: ignore[no-untyped-def]
    folder, truth = sample_dataset("cur2")
    for cluster in truth["planted"]["owner_by_start_time"]:
        ids = cluster["untagged_resource_ids"] + cluster["neighbour_resource_ids"]
        in_list = ", ".join(f"'{i}'" for i in ids)
        firsts = _raw(
            folder,
            f"select line_item_resource_id, min(line_item_usage_start_date), "
            f"max(cardinality(resource_tags)) from FILES "
            f"where line_item_resource_id in ({in_list}) group by 1",
        )
        assert {str(f[1]) for f in firsts} == {cluster["first_usage_hour"]}
        tags = {f[0]: f[2] for f in firsts}
        assert all(tags[i] == 0 for i in cluster["untagged_resource_ids"])
        assert all(tags[i] == 4 for i in cluster["neighbour_resource_ids"])
        assert cluster["first_usage_hour"].endswith(("14:00:00", "09:00:00"))


def test_spike_and_growth_are_planted(sample_dataset) -> None:  # type: ignore[no-untyped-def]
    folder, truth = sample_dataset("focus")
    spike = truth["planted"]["spike"]
    # the planted function costs nine days of Lambda's usual daily cost on its one day
    (planted,) = spike["resources"]
    assert planted["cost_by_month"] == {
        "2026-10": pytest.approx(9 * spike["baseline_daily_cost"], abs=1e-5)
    }
    # the day's Lambda total, summed from the files, is the ground truth's spike cost
    ((day_cost,),) = _raw(
        folder,
        "select sum(BilledCost) from FILES where x_ServiceCode = 'AWSLambda' "
        f"and cast(ChargePeriodStart as date) = date '{spike['date']}'",
    )
    assert day_cost == pytest.approx(spike["cost"], abs=HALF_CENT, rel=0)
    # day 19 of the last full month
    assert spike["date"] == "2026-10-19"
    growth = truth["planted"]["growth"]
    # the planted databases grow exactly 15% a month in daily cost (September 30 days, October 31)
    for item in growth["resources"]:
        months = item["cost_by_month"]
        assert (months["2026-10"] / 31) / (months["2026-09"] / 30) == pytest.approx(1.15)
    # the whole service, background included, by month as summed from the files
    by_month = _raw(
        folder,
        "select strftime(ChargePeriodStart, '%Y-%m'), sum(BilledCost) from FILES "
        "where x_ServiceCode = 'AmazonRDS' group by 1 order by 1",
    )
    service = growth["cost_by_month"]
    assert list(service) == [m for m, _ in by_month]
    for month, cost in by_month:
        assert cost == pytest.approx(service[month], abs=HALF_CENT, rel=0), month
    assert service["2026-10"] / 31 > service["2026-09"] / 30


def test_cur_csv_has_raw_headers_and_cur2_csv_has_json_maps(sample_dataset) -> None:  # type: ignore[no-untyped-def]
    cur_folder, _ = sample_dataset("cur", "csv")
    header = next(cur_folder.rglob("*.csv")).read_text().splitlines()[0].split(",")
    assert "lineItem/UnblendedCost" in header and "resourceTags/user:CostCenter" in header
    cur2_folder, _ = sample_dataset("cur2", "csv")
    import csv

    with next(cur2_folder.rglob("*.csv")).open() as handle:
        row = next(csv.DictReader(handle))
    assert isinstance(json.loads(row["resource_tags"]), dict) and "product_name" in json.loads(
        row["product"]
    )


@pytest.mark.parametrize(
    ("schema", "partition"),
    [
        ("cur", "year=2026/month=10"),
        ("cur2", "billing_period=2026-10"),
        ("focus", "billing_period=2026-10"),
    ],
)
def test_partitions_are_folders_not_columns(sample_dataset, schema: str, partition: str) -> None:  # type: ignore[no-untyped-def]
    folder, _ = sample_dataset(schema)
    (file,) = (folder / "data" / partition).glob("*.parquet")
    columns = {
        c[0]
        for c in duckdb.sql(
            f"describe select * from read_parquet('{file}', hive_partitioning=false)"
        ).fetchall()
    }
    assert not columns & {"year", "month", "billing_period"}
