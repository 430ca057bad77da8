"""A bill with a second currency and (FOCUS) a second provider: totals per currency and provider
reconcile with the files to the cent in every flavour and format, and the planted findings hold."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

from finops_agent.catalog import load_catalog
from finops_agent.execution import run_query
from finops_agent.pipeline import PreparedRun, prepare_run
from finops_agent.sample_data import SampleDataError, generate
from finops_agent.settings import load_settings
from finops_agent.waterfall import LINES, waterfall_from_frame
from tests.conftest import SAMPLE_END

# tighter than a cent (and no relative slack), so an amount off by one cent fails
HALF_CENT = 0.005
WINDOW_DAYS = 84  # 2026-09-01 to 2026-11-23
# (schema, FOCUS version): legacy CUR and CUR 2.0 hold one provider, FOCUS two
FLAVOURS = [("cur", "1.0"), ("cur2", "1.0"), ("focus", "1.0"), ("focus", "1.1"), ("focus", "1.2")]
CASES = [(s, v, f) for s, v in FLAVOURS for f in ("parquet", "csv")]
IDS = [f"{s}{'' if s != 'focus' else '-' + v}-{f}" for s, v, f in CASES]

# the columns the oracle reads, as each flavour and format names them
_CUR_CSV = {
    "lineItem/CurrencyCode": "currency",
    "lineItem/LineItemType": "type",
    "lineItem/UnblendedCost": "unblended",
    "savingsPlan/SavingsPlanEffectiveCost": "sp_effective",
    "savingsPlan/TotalCommitmentToDate": "sp_commitment",
    "savingsPlan/UsedCommitment": "sp_used",
    "reservation/EffectiveCost": "ri_effective",
    "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod": "ri_unused_upfront",
    "reservation/UnusedRecurringFee": "ri_unused_recurring",
}
_CUR_ATHENA = {
    "line_item_currency_code": "currency",
    "line_item_line_item_type": "type",
    "line_item_unblended_cost": "unblended",
    "savings_plan_savings_plan_effective_cost": "sp_effective",
    "savings_plan_total_commitment_to_date": "sp_commitment",
    "savings_plan_used_commitment": "sp_used",
    "reservation_effective_cost": "ri_effective",
    "reservation_unused_amortized_upfront_fee_for_billing_period": "ri_unused_upfront",
    "reservation_unused_recurring_fee": "ri_unused_recurring",
}
_FOCUS = {
    "BillingCurrency": "currency",
    "ProviderName": "provider",
    "BilledCost": "unblended",
    "EffectiveCost": "amortized",
}


def _oracle(folder: Path, schema: str, fmt: str) -> pd.DataFrame:
    """Currency, provider, unblended and amortised cost of every line, read straight from the files."""
    names = (
        _FOCUS
        if schema == "focus"
        else _CUR_CSV
        if (schema, fmt) == ("cur", "csv")
        else _CUR_ATHENA
    )
    files = sorted((folder / "data").rglob(f"*.{fmt}"))
    assert len(files) == 3  # one file per billing month
    if fmt == "parquet":
        parts = [pq.read_table(f, columns=list(names)).to_pandas() for f in files]
    else:
        parts = [
            pd.read_csv(f, usecols=list(names), dtype=str, keep_default_na=False) for f in files
        ]
    frame = pd.concat(parts, ignore_index=True).rename(columns=names)
    for column in frame.columns:
        if column not in ("currency", "provider", "type"):
            frame[column] = pd.to_numeric(frame[column].replace({"": "0", "NULL": "0"}))
        else:
            frame[column] = frame[column].astype(str)
    if schema != "focus":
        frame["provider"] = "AWS"
        # the standard amortised-cost CASE of the CUR data dictionary, written out here
        t = frame["type"]
        frame["amortized"] = frame["unblended"].where(
            t != "SavingsPlanCoveredUsage", frame["sp_effective"]
        )
        frame.loc[t == "SavingsPlanRecurringFee", "amortized"] = (
            frame["sp_commitment"] - frame["sp_used"]
        )
        frame.loc[t == "DiscountedUsage", "amortized"] = frame["ri_effective"]
        frame.loc[t == "RIFee", "amortized"] = (
            frame["ri_unused_upfront"] + frame["ri_unused_recurring"]
        )
        frame.loc[t.isin(["SavingsPlanNegation", "Fee"]), "amortized"] = 0.0
    return frame[["currency", "provider", "unblended", "amortized"]]


class Mixed:
    """One generated mixed bill, its ground truth, the oracle's frame and an open run over it."""

    def __init__(self, folder: Path, truth: dict[str, Any], oracle: pd.DataFrame, run: PreparedRun):
        self.folder, self.truth, self.oracle, self.run = folder, truth, oracle, run

    def query(self, name: str) -> pd.DataFrame:
        """One stored query's rows through the project's DuckDB engine."""
        result = run_query(self.run.engine, load_catalog().queries[name], self.run.params)
        assert result.ok, result.error
        return result.frame


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[tuple[str, str, str], Mixed]]:
    """Every flavour x format with a EUR estate and (FOCUS) Microsoft rows, generated once."""
    made: dict[tuple[str, str, str], Mixed] = {}
    try:
        for schema, version, fmt in CASES:
            folder = tmp_path_factory.mktemp(f"mixed-{schema}-{version}-{fmt}")
            truth = generate(
                schema,  # type: ignore[arg-type]
                folder,
                rows=3_000,
                fmt=fmt,  # type: ignore[arg-type]
                end=SAMPLE_END,
                focus_version=version,  # type: ignore[arg-type]
                second_currency="EUR",
                second_provider=schema == "focus",
            )
            run = prepare_run(
                load_settings(), source=str(folder / "data"), start=truth["start"], end=truth["end"]
            )
            made[(schema, version, fmt)] = Mixed(folder, truth, _oracle(folder, schema, fmt), run)
        yield made
    finally:
        for item in made.values():
            item.run.engine.close()


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_totals_per_currency_equal_the_files_to_the_cent(
    mixed: dict[tuple[str, str, str], Mixed], case: tuple[str, str, str]
) -> None:
    bill = mixed[case]
    waterfall = bill.query("bill_waterfall")
    engine = waterfall.groupby("currency")[["unblended_cost", "amortized_cost"]].sum()
    files = bill.oracle.groupby("currency")[["unblended", "amortized"]].sum()
    assert sorted(engine.index) == sorted(files.index) == ["EUR", "USD"]
    for currency in ("EUR", "USD"):
        truth = bill.truth["by_currency"][currency]
        for column, oracle_column in (
            ("unblended_cost", "unblended"),
            ("amortized_cost", "amortized"),
        ):
            expected = files.loc[currency, oracle_column]
            assert engine.loc[currency, column] == pytest.approx(expected, abs=HALF_CENT, rel=0)
            assert truth[column] == pytest.approx(expected, abs=HALF_CENT, rel=0)
    # the EUR estate's VAT and credit are fixed amounts: 38.00 + 21.50 and -15.00 a month
    eur = waterfall[waterfall["currency"] == "EUR"].set_index("charge_type")["unblended_cost"]
    assert eur["Tax"] == pytest.approx(3 * (38.0 + 21.5), abs=HALF_CENT, rel=0)
    assert eur["Credit"] == pytest.approx(3 * -15.0, abs=HALF_CENT, rel=0)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_charge_types_per_currency_equal_the_ground_truth(
    mixed: dict[tuple[str, str, str], Mixed], case: tuple[str, str, str]
) -> None:
    bill = mixed[case]
    rows = bill.query("bill_waterfall")
    for currency, truth in bill.truth["by_currency"].items():
        mine = rows[rows["currency"] == currency].set_index("charge_type")
        assert sorted(mine.index) == sorted(truth["by_charge_type"])
        for charge_type, amounts in truth["by_charge_type"].items():
            for column in ("unblended_cost", "amortized_cost"):
                assert mine.loc[charge_type, column] == pytest.approx(
                    amounts[column], abs=HALF_CENT, rel=0
                ), (currency, charge_type, column)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_each_currency_has_its_own_waterfall(
    mixed: dict[tuple[str, str, str], Mixed], case: tuple[str, str, str]
) -> None:
    bill = mixed[case]
    rows = bill.query("bill_waterfall")
    for currency, truth in bill.truth["by_currency"].items():
        waterfall = waterfall_from_frame(rows[rows["currency"] == currency])
        assert waterfall is not None and waterfall.currency == currency
        assert waterfall.other_currencies == []
        for key, _label in LINES:
            assert waterfall.amount(key) == pytest.approx(
                truth["waterfall"][key], abs=HALF_CENT, rel=0
            ), (currency, key)
        assert waterfall.net_total == pytest.approx(
            truth["waterfall"]["net_total"], abs=HALF_CENT, rel=0
        )
    # the EUR bill is usage, VAT and a credit: no commitments, refunds or upfront fees
    eur = bill.truth["by_currency"]["EUR"]["waterfall"]
    assert eur["tax"] == pytest.approx(178.5) and eur["credits"] == pytest.approx(-45.0)
    assert eur["commitment_fees"] == eur["refunds"] == eur["upfront_purchases"] == 0.0


@pytest.mark.parametrize(
    "case", [c for c in CASES if c[0] == "focus"], ids=[i for i in IDS if i.startswith("focus")]
)
def test_totals_per_provider_equal_the_files_to_the_cent(
    mixed: dict[tuple[str, str, str], Mixed], case: tuple[str, str, str]
) -> None:
    bill = mixed[case]
    result = bill.run.engine.execute(
        "per_provider",
        "select provider, currency, sum(unblended_cost) as unblended, "
        "sum(amortized_cost) as amortized from cost group by provider, currency",
        {},
    ).frame
    engine = result.set_index(["provider", "currency"])
    files = bill.oracle.groupby(["provider", "currency"])[["unblended", "amortized"]].sum()
    assert (
        sorted(engine.index)
        == sorted(files.index)
        == [
            ("AWS", "EUR"),
            ("AWS", "USD"),
            ("Microsoft", "USD"),
        ]
    )
    for key in files.index:
        truth = bill.truth["by_provider"][key[0]][key[1]]
        for column in ("unblended", "amortized"):
            expected = files.loc[key, column]
            assert engine.loc[key, column] == pytest.approx(expected, abs=HALF_CENT, rel=0)
            assert truth[f"{column}_cost"] == pytest.approx(expected, abs=HALF_CENT, rel=0)
    # Microsoft's rows by hand: three D4s v5 VMs (0.192/h) and a 48-vCore-hour SQL database
    # (0.2511/h) every day, plus 2,000 GB of hot storage at 0.0208 a GB-month (23 of November's 30 days)
    by_hand = 84 * (3 * 24 * 0.192 + 48 * 0.2511) + 2000 * 0.0208 * (2 + 23 / 30)
    assert engine.loc[("Microsoft", "USD"), "unblended"] == pytest.approx(
        by_hand, abs=HALF_CENT, rel=0
    )


# stored query -> where the ground truth lists the resources planted for it
PLANTED: dict[str, tuple[str, ...]] = {
    "gp2_volumes": ("gp2_volumes",),
    "previous_generation_instances": ("previous_generation",),
    "idle_elastic_ips": ("idle_eips",),
    "cross_az_data_transfer": ("cross_az",),
    "nat_gateway_without_endpoints": ("nat_gateway", "gateways"),
    "s3_storage_class_mix": ("s3_standard_heavy",),
    "data_transfer_out": ("egress",),
    "untagged_top_resources": ("untagged_top",),
}


def _planted_ids(truth: dict[str, Any], path: tuple[str, ...]) -> set[str]:
    node: Any = truth["planted"]
    for key in path:
        node = node[key]
    return {r["resource_id"] for r in node}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_planted_findings_are_found_with_the_extra_rows(
    mixed: dict[tuple[str, str, str], Mixed], case: tuple[str, str, str]
) -> None:
    bill = mixed[case]
    # FOCUS 1.1 has no x_ServiceCode: the adapter maps AWS's service names to the codes, so what
    # matches AWS service codes (NAT gateways beside AmazonS3 spend, the AWSLambda spike) finds
    # the same on every schema and version
    for query, path in PLANTED.items():
        planted = _planted_ids(bill.truth, path)
        assert planted, query
        found = set(bill.query(query)["resource_id"])
        assert planted <= found, (query, sorted(planted - found))
    # the NAT gateway with endpoints in its region is still not flagged
    decoys = _planted_ids(bill.truth, ("nat_decoy", "gateways"))
    assert not decoys & set(bill.query("nat_gateway_without_endpoints")["resource_id"])
    # the untagged resources of each planted cluster get their neighbours' project (the default key)
    owners = bill.query("owner_by_start_time").set_index("resource_id")["likely_value"]
    for cluster in bill.truth["planted"]["owner_by_start_time"]:
        for resource in cluster["untagged_resource_ids"]:
            assert owners[resource] == cluster["expected_tags"]["project"]
    # the one-day Lambda spike is still the anomaly it was planted as
    daily = bill.query("daily_anomalies")
    spike = daily[
        (daily["service_code"] == "AWSLambda")
        & (daily["usage_date"].astype(str).str[:10] == bill.truth["planted"]["spike"]["date"])
    ]
    assert spike["is_anomaly"].tolist() == [True]


@pytest.mark.parametrize(
    "case", [c for c in CASES if c[0] == "focus"], ids=[i for i in IDS if i.startswith("focus")]
)
def test_aws_detectors_see_aws_rows_only(
    mixed: dict[tuple[str, str, str], Mixed], case: tuple[str, str, str]
) -> None:
    bill = mixed[case]
    azure_accounts = {"/subscriptions/0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d",
                      "/subscriptions/5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"}  # fmt: skip
    # the Azure rows are there (a VM, hours every day), so an empty result is not vacuous
    accounts = set(bill.query("spend_by_account_monthly")["account_id"])
    assert azure_accounts <= accounts
    for name, spec in load_catalog().queries.items():
        if spec.family != "architecture":
            continue
        frame = bill.query(name)
        if "account_id" in frame:
            assert not azure_accounts & set(frame["account_id"]), name
        if "resource_id" in frame:
            assert not any(str(r).startswith("/subscriptions/") for r in frame["resource_id"]), name


def test_the_extras_flag_nothing_the_main_estate_did_not(
    mixed: dict[tuple[str, str, str], Mixed], tmp_path: Path
) -> None:
    bill = mixed[("focus", "1.2", "parquet")]
    truth = generate("focus", tmp_path, rows=3_000, end=SAMPLE_END, focus_version="1.2")
    run = prepare_run(
        load_settings(), source=str(tmp_path / "data"), start=truth["start"], end=truth["end"]
    )
    try:
        for name in PLANTED:
            spec = load_catalog().queries[name]
            plain = run_query(run.engine, spec, run.params)
            assert plain.ok, plain.error
            assert set(bill.query(name)["resource_id"]) == set(plain.frame["resource_id"]), name
        # only the EUR accounts' x86 instances join the Graviton candidates
        spec = load_catalog().queries["graviton_candidates"]
        plain_accounts = set(run_query(run.engine, spec, run.params).frame["account_id"])
        mixed_accounts = set(bill.query("graviton_candidates")["account_id"])
        assert mixed_accounts - plain_accounts == {"555566667777", "666677778888"}
    finally:
        run.engine.close()


def test_the_extras_leave_the_main_estate_and_its_truth_unchanged(tmp_path: Path) -> None:
    plain = generate("focus", tmp_path / "plain", rows=3_000, end=SAMPLE_END)
    extra = generate(
        "focus",
        tmp_path / "extra",
        rows=3_000,
        end=SAMPLE_END,
        second_currency="GBP",
        second_provider=True,
    )
    for key in ("planted", "waterfall", "savings_plan", "accounts"):
        assert extra[key] == plain[key], key
    # the main estate's money is the same; its months' row counts are the files' (extras included)
    for key in ("unblended_cost", "amortized_cost", "upfront_fees", "amortized_upfront"):
        assert extra["totals"][key] == plain["totals"][key], key
    for month, totals in plain["totals"]["by_month"].items():
        more = extra["totals"]["by_month"][month]
        assert (more["unblended_cost"], more["amortized_cost"]) == (
            totals["unblended_cost"],
            totals["amortized_cost"],
        )
        assert more["rows"] > totals["rows"]
    assert extra["rows"] > plain["rows"]
    # without extras the one currency's totals are the main estate's
    assert list(plain["by_currency"]) == ["USD"] and list(plain["by_provider"]) == ["AWS"]
    assert plain["by_currency"]["USD"]["unblended_cost"] == plain["totals"]["unblended_cost"]
    assert plain["by_currency"]["USD"]["amortized_cost"] == plain["totals"]["amortized_cost"]
    assert sorted(extra["by_currency"]) == ["GBP", "USD"]
    # the USD total now holds Microsoft's rows beside AWS's
    assert extra["by_provider"]["AWS"]["USD"]["unblended_cost"] == pytest.approx(
        plain["totals"]["unblended_cost"], abs=1e-6
    )


def test_a_second_currency_is_priced_from_its_own_price_list(tmp_path: Path) -> None:
    # October 2026 alone: three m5.large at 0.107 EUR / 0.093 GBP an hour and two c5.xlarge at
    # 0.178 / 0.155 for 31 days, 1,550 GB of gp3 at 0.0916 / 0.0798 and 1,200 GB of snapshots at
    # 0.0535 / 0.0466 a GB-month, VAT of 38.00 + 21.50 and a -15.00 credit
    def october(m5: float, c5: float, gp3: float, snapshot: float) -> float:
        return 31 * 24 * (3 * m5 + 2 * c5) + 1550 * gp3 + 1200 * snapshot + 59.5 - 15.0

    for currency, prices in (
        ("EUR", (0.107, 0.178, 0.0916, 0.0535)),
        ("GBP", (0.093, 0.155, 0.0798, 0.0466)),
    ):
        truth = generate(
            "cur2",
            tmp_path / currency,
            rows=1_000,
            months=1,
            end=dt.date(2026, 11, 1),
            second_currency=currency,
        )
        assert sorted(truth["by_currency"]) == sorted([currency, "USD"])
        assert truth["by_currency"][currency]["unblended_cost"] == pytest.approx(
            october(*prices), abs=HALF_CENT, rel=0
        )


@pytest.mark.parametrize("schema", ["cur", "cur2"])
def test_cur_refuses_a_second_provider(tmp_path: Path, schema: str) -> None:
    with pytest.raises(
        SampleDataError,
        match=f"^a second provider needs schema focus: {schema} holds AWS charges only$",
    ):
        generate(schema, tmp_path, rows=100, second_provider=True)  # type: ignore[arg-type]
    assert not (tmp_path / "data").exists()


def test_an_unknown_second_currency_is_refused(tmp_path: Path) -> None:
    with pytest.raises(
        SampleDataError, match=r"^second currency must be one of EUR, GBP, not 'USD'$"
    ):
        generate("focus", tmp_path, rows=100, second_currency="USD")


def test_the_cli_writes_a_mixed_bill(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from finops_agent.cli import app

    out = tmp_path / "mixed"
    result = CliRunner().invoke(
        app,
        [
            "sample-data", "--out", str(out), "--schema", "focus", "--rows", "1000",
            "--end", "2026-11-24", "--second-provider", "--second-currency", "GBP",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    truth = json.loads((out / "ground_truth.json").read_text())
    assert sorted(truth["by_currency"]) == ["GBP", "USD"]
    assert sorted(truth["by_provider"]) == ["AWS", "Microsoft"]
    assert (truth["second_provider"], truth["second_currency"]) == (True, "GBP")


@pytest.mark.parametrize("version", ["1.0", "1.2"])
def test_microsoft_rows_look_like_microsofts_export(tmp_path: Path, version: str) -> None:
    generate(
        "focus",
        tmp_path,
        rows=1_000,
        end=SAMPLE_END,
        focus_version=version,  # type: ignore[arg-type]
        second_provider=True,
    )
    table = pq.ParquetDataset(tmp_path / "data").read().to_pandas()
    azure = table[table["ProviderName"] == "Microsoft"]
    assert len(azure) == 5 * WINDOW_DAYS  # five resources, one line a day
    assert set(azure["PublisherName"]) == set(azure["InvoiceIssuerName"]) == {"Microsoft"}
    assert set(azure["BillingAccountId"]) == {
        "/providers/Microsoft.Billing/billingAccounts/87654321"
    }
    assert all(s.startswith("/subscriptions/") for s in azure["SubAccountId"])
    assert all(
        r.startswith(s.lower() + "/resourcegroups/")
        for r, s in zip(azure["ResourceId"], azure["SubAccountId"], strict=True)
    )
    assert set(azure["RegionId"]) == {"eastus", "westeurope"}
    assert set(azure["ServiceName"]) == {"Virtual Machines", "Storage", "SQL Database"}
    # AWS's own x_ columns stay empty on another provider's rows
    assert azure["x_ServiceCode"].isna().all() and azure["x_Operation"].isna().all()
    tags = azure["Tags"].iloc[0]
    # AWS's 1.0 and 1.2 Parquet tables type Tags as a map: (key, value) pairs per row
    keys = {k for k, _ in tags}
    assert keys == {"owner", "project", "cost_center", "environment"}  # no AWS user: prefix
    if version == "1.2":
        assert set(azure["SubAccountType"]) == {"Subscription"}
        assert set(table.loc[table["ProviderName"] == "AWS", "SubAccountType"]) == {
            "Linked Account"
        }
