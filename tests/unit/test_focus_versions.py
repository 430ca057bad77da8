"""The generator's FOCUS columns per version against the published column lists and AWS's tables.

The lists below are transcribed from the specification and AWS's table dictionary, not taken from
the generator, so a column the generator adds, drops or mistypes fails here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from finops_agent.sample_data import SampleDataError, generate
from tests.conftest import SAMPLE_END

# https://focus.finops.org/focus-specification/v1-0/ (43 columns)
FOCUS_1_0 = frozenset(
    {
        "AvailabilityZone",
        "BilledCost",
        "BillingAccountId",
        "BillingAccountName",
        "BillingCurrency",
        "BillingPeriodEnd",
        "BillingPeriodStart",
        "ChargeCategory",
        "ChargeClass",
        "ChargeDescription",
        "ChargeFrequency",
        "ChargePeriodEnd",
        "ChargePeriodStart",
        "CommitmentDiscountCategory",
        "CommitmentDiscountId",
        "CommitmentDiscountName",
        "CommitmentDiscountStatus",
        "CommitmentDiscountType",
        "ConsumedQuantity",
        "ConsumedUnit",
        "ContractedCost",
        "ContractedUnitPrice",
        "EffectiveCost",
        "InvoiceIssuerName",
        "ListCost",
        "ListUnitPrice",
        "PricingCategory",
        "PricingQuantity",
        "PricingUnit",
        "ProviderName",
        "PublisherName",
        "RegionId",
        "RegionName",
        "ResourceId",
        "ResourceName",
        "ResourceType",
        "ServiceCategory",
        "ServiceName",
        "SkuId",
        "SkuPriceId",
        "SubAccountId",
        "SubAccountName",
        "Tags",
    }
)
# https://focus.finops.org/focus-specification/changelog/ (Version 1.1, "Added")
FOCUS_1_1 = FOCUS_1_0 | {
    "CapacityReservationId",
    "CapacityReservationStatus",
    "CommitmentDiscountQuantity",
    "CommitmentDiscountUnit",
    "ServiceSubcategory",
    "SkuMeter",
    "SkuPriceDetails",
}
# https://focus.finops.org/focus-specification/v1-2 and AWS's FOCUS 1.2 table:
# https://docs.aws.amazon.com/cur/latest/userguide/table-dictionary-focus-1-2-aws-columns.html
FOCUS_1_2 = FOCUS_1_1 | {
    "BillingAccountType",
    "SubAccountType",
    "InvoiceId",
    "PricingCurrency",
    "PricingCurrencyContractedUnitPrice",
    "PricingCurrencyEffectiveCost",
    "PricingCurrencyListUnitPrice",
}
# AWS's own columns per export table:
# https://docs.aws.amazon.com/cur/latest/userguide/table-dictionary-focus-1-0-aws-columns.html
# https://docs.aws.amazon.com/cur/latest/userguide/table-dictionary-focus-1-2-migrating.html
AWS_1_0 = frozenset(
    {"x_CostCategories", "x_Discounts", "x_Operation", "x_ServiceCode", "x_UsageType"}
)
AWS_1_2 = frozenset({"x_Discounts", "x_Operation", "x_ServiceCode"})
EXPECTED = {"1.0": FOCUS_1_0 | AWS_1_0, "1.1": FOCUS_1_1, "1.2": FOCUS_1_2 | AWS_1_2}

# allowed values, the same in 1.0, 1.1 and 1.2 for these columns (None: the column may be null)
ALLOWED = {
    "ChargeCategory": {"Usage", "Purchase", "Tax", "Credit", "Adjustment"},
    "ChargeClass": {"Correction", None},
    "ChargeFrequency": {"One-Time", "Recurring", "Usage-Based"},
    "CommitmentDiscountCategory": {"Spend", "Usage", None},
    "CommitmentDiscountStatus": {"Used", "Unused", None},
    "PricingCategory": {"Standard", "Dynamic", "Committed", "Other", None},
    "ServiceCategory": {
        "AI and Machine Learning",
        "Analytics",
        "Business Applications",
        "Compute",
        "Databases",
        "Developer Tools",
        "Multicloud",
        "Identity",
        "Integration",
        "Internet of Things",
        "Management and Governance",
        "Media",
        "Migration",
        "Mobile",
        "Networking",
        "Security",
        "Storage",
        "Web",
        "Other",
    },
}
GLUE = Path(__file__).resolve().parents[1] / "data" / "glue"


@pytest.fixture(scope="module", params=["1.0", "1.1", "1.2"])
def parquet(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> pa.Table:
    """One small generated FOCUS Parquet export of each version, read whole."""
    folder = tmp_path_factory.mktemp(f"focus-{request.param}")
    generate("focus", folder, rows=3_000, end=SAMPLE_END, focus_version=request.param)
    table = pa.concat_tables(pq.read_table(p) for p in sorted(folder.rglob("*.parquet")))
    return table.replace_schema_metadata({"version": request.param})


def _version(table: pa.Table) -> str:
    return table.schema.metadata[b"version"].decode()


def _glue_type(kind: pa.DataType) -> str:
    """The Glue type name AWS's table gives a column of this Arrow type."""
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_map(kind):
        return f"map<{_glue_type(kind.key_type)},{_glue_type(kind.item_type)}>"
    names = {pa.string(): "string", pa.float64(): "double"}
    if pa.types.is_timestamp(kind):
        return "timestamp"
    return names[kind]


def test_the_column_set_is_exactly_the_versions(parquet: pa.Table) -> None:
    version = _version(parquet)
    names = set(parquet.column_names)
    assert sorted(names - EXPECTED[version]) == []
    assert sorted(EXPECTED[version] - names) == []


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2"])
def test_the_glue_fixture_holds_the_same_columns(version: str) -> None:
    fixture = json.loads((GLUE / f"focus_{version.replace('.', '_')}.json").read_text())
    assert {name for name, _ in fixture["columns"]} == {c.lower() for c in EXPECTED[version]}


def test_column_types_are_the_glue_tables(parquet: pa.Table) -> None:
    version = _version(parquet)
    found = {f.name.lower(): _glue_type(f.type) for f in parquet.schema}
    if version == "1.1":
        # AWS exports no FOCUS 1.1: the spec's key-value columns are JSON objects in text
        for column in ("SkuPriceDetails", "Tags"):
            texts = [v for v in parquet[column].cast(pa.string()).unique().to_pylist() if v]
            assert texts and all(isinstance(json.loads(v), dict) for v in texts), column
    fixture = json.loads((GLUE / f"focus_{version.replace('.', '_')}.json").read_text())
    wanted = dict(fixture["columns"])
    assert {c: (found[c], t) for c, t in wanted.items() if found[c] != t} == {}


def test_every_value_is_one_the_spec_allows(parquet: pa.Table) -> None:
    for column, allowed in ALLOWED.items():
        values = set(parquet[column].cast(pa.string()).unique().to_pylist())
        assert values - allowed == set(), column


def test_commitment_categories_follow_the_discount_kind(parquet: pa.Table) -> None:
    kinds = pa.table(
        {
            "type": parquet["CommitmentDiscountType"].cast(pa.string()),
            "category": parquet["CommitmentDiscountCategory"].cast(pa.string()),
        }
    )
    pairs = set(zip(*(kinds[c].to_pylist() for c in ("type", "category")), strict=True))
    assert pairs == {(None, None), ("Savings Plan", "Spend"), ("Reservation", "Usage")}


def test_a_commitment_purchase_is_not_priced_as_committed(parquet: pa.Table) -> None:
    purchases = pc.equal(parquet["ChargeCategory"].cast(pa.string()), "Purchase")
    pricing = set(pc.filter(parquet["PricingCategory"].cast(pa.string()), purchases).to_pylist())
    assert pc.sum(purchases).as_py() > 0
    assert "Committed" not in pricing


def test_an_unknown_focus_version_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(
        SampleDataError, match=r"^focus version must be 1\.0, 1\.1 or 1\.2, not '1\.3'$"
    ):
        generate("focus", tmp_path, rows=100, end=SAMPLE_END, focus_version="1.3")  # type: ignore[arg-type]


def test_the_cli_writes_focus_1_1(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from finops_agent.cli import app

    out = tmp_path / "focus-1.1"
    result = CliRunner().invoke(
        app,
        [
            "sample-data", "--out", str(out), "--schema", "focus", "--rows", "1000",
            "--end", "2026-11-24", "--focus-version", "1.1",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads((out / "ground_truth.json").read_text())["focus_version"] == "1.1"
    names = set(pq.read_schema(next(out.rglob("*.parquet"))).names)
    assert names == FOCUS_1_1


def test_from_1_1_on_an_unused_commitment_consumes_nothing(parquet: pa.Table) -> None:
    status = pc.fill_null(
        pc.equal(parquet["CommitmentDiscountStatus"].cast(pa.string()), "Unused"), False
    )
    usage = pc.equal(parquet["ChargeCategory"].cast(pa.string()), "Usage")
    unused_qty = pc.filter(parquet["ConsumedQuantity"], status)
    other_units = pc.filter(parquet["ConsumedUnit"].cast(pa.string()), pc.invert(usage))
    assert len(unused_qty) > 0 and len(other_units) > 0
    if _version(parquet) == "1.0":
        # 1.0 set no such rule: the unused rows carry a zero quantity and every row a unit
        assert set(unused_qty.to_pylist()) == {0.0}
        assert other_units.null_count == 0
    else:
        assert unused_qty.null_count == len(unused_qty)
        assert other_units.null_count == len(other_units)


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2"])
def test_the_csv_header_is_the_same_column_set(tmp_path: Path, version: str) -> None:
    generate("focus", tmp_path, rows=500, end=SAMPLE_END, fmt="csv", focus_version=version)  # type: ignore[arg-type]
    header = next(tmp_path.rglob("*.csv")).read_text(encoding="utf-8").splitlines()[0]
    assert set(header.split(",")) == EXPECTED[version]
