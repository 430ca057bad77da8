"""Billing files shaped as the real exports are (not as our generator used to write them), on DuckDB.

A FOCUS 1.0 CSV with literal NULL cells and JSON-text Tags; a FOCUS 1.2 Parquet file with
map-typed SkuPriceDetails and Tags and no x_UsageType (AWS moved it to SkuMeter). Totals are
checked against sums taken straight from the files with csv / pyarrow, detectors against the
resources planted for them, and commitment types in every spelling the exports use.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from finops_agent.catalog import load_catalog
from finops_agent.engines.base import QueryError
from finops_agent.engines.duckdb import DuckDBEngine
from finops_agent.execution import run_query
from finops_agent.pipeline import PreparedRun, prepare_run
from finops_agent.settings import DEFAULT_TAG_ALIASES, load_settings
from finops_agent.sources import SourceError, check_column_types, cost_sql
from finops_agent.window import Window

START, END = "2026-10-01", "2026-11-01"
OCTOBER = Window(dt.date(2026, 10, 1), dt.date(2026, 11, 1))

# resource, usage type, service code, charge category, frequency, commitment status, commitment
# type, billed, effective, description; the usage types plant the detectors' findings
_LINES: list[tuple[Any, ...]] = [
    (
        "i-current",
        "USE1-BoxUsage:m5.large",
        "AmazonEC2",
        "Usage",
        "Usage-Based",
        None,
        None,
        "10.00",
        "10.00",
        None,
    ),
    (
        "i-prevgen",
        "USE1-BoxUsage:m4.large",
        "AmazonEC2",
        "Usage",
        "Usage-Based",
        None,
        None,
        "7.25",
        "7.25",
        None,
    ),
    (
        "vol-gp2",
        "USE1-EBS:VolumeUsage.gp2",
        "AmazonEC2",
        "Usage",
        "Usage-Based",
        None,
        None,
        "4.10",
        "4.10",
        None,
    ),
    (
        "nat-1",
        "USE1-NatGateway-Bytes",
        "AmazonEC2",
        "Usage",
        "Usage-Based",
        None,
        None,
        "3.15",
        "3.15",
        None,
    ),
    (
        "nat-1",
        "USE1-NatGateway-Hours",
        "AmazonEC2",
        "Usage",
        "Usage-Based",
        None,
        None,
        "1.08",
        "1.08",
        None,
    ),
    (
        "bucket-1",
        "USE1-TimedStorage-ByteHrs",
        "AmazonS3",
        "Usage",
        "Usage-Based",
        None,
        None,
        "2.30",
        "2.30",
        None,
    ),
    # commitments, each type spelled as some export spells it
    (
        "i-sp",
        "USE1-BoxUsage:c5.xlarge",
        "AmazonEC2",
        "Usage",
        "Usage-Based",
        "Used",
        "SavingsPlan",
        "0.00",
        "6.00",
        None,
    ),
    (
        "i-ri",
        "USE1-BoxUsage:r5.large",
        "AmazonEC2",
        "Usage",
        "Usage-Based",
        "Used",
        "Reserved Instance",
        "0.00",
        "3.00",
        None,
    ),
    (
        None,
        "USE1-HeavyUsage:r5.large",
        "AmazonEC2",
        "Purchase",
        "Recurring",
        None,
        "Reservation",
        "5.00",
        "0.00",
        None,
    ),
    (
        None,
        "ComputeSP:1yrNoUpfront",
        "ComputeSavingsPlans",
        "Usage",
        "Recurring",
        "Unused",
        "savings plan",
        "1.00",
        "1.00",
        None,
    ),
    (None, "USE1-TaxUsage", "AmazonEC2", "Tax", "Recurring", None, None, "2.00", "2.00", None),
    (None, "USE1-Credit", "AmazonEC2", "Credit", "One-Time", None, None, "-1.50", "-1.50", None),
]
BILLED = Decimal("34.38")


def _row(line: tuple[Any, ...], day: int) -> dict[str, Any]:
    resource, usage, code, category, frequency, status, kind, billed, effective, described = line
    return {
        "BillingAccountId": "999999999999",
        "BillingPeriodStart": "2026-10-01T00:00:00Z",
        "ChargePeriodStart": f"2026-10-{day:02d}T00:00:00Z",
        "ChargePeriodEnd": f"2026-10-{day + 1:02d}T00:00:00Z",
        "ChargeCategory": category,
        "ChargeFrequency": frequency,
        "ChargeDescription": described,
        "CommitmentDiscountStatus": status,
        "CommitmentDiscountType": kind,
        "SubAccountId": "111111111111",
        "SubAccountName": "prod",
        "ServiceName": code,
        "ServiceCategory": "Compute",
        "RegionId": "us-east-1",
        "AvailabilityZone": None,
        "ResourceId": resource,
        "ConsumedQuantity": "1.0" if category == "Usage" else None,
        "ConsumedUnit": "Hrs",
        "BilledCost": billed,
        "EffectiveCost": effective,
        "ListCost": None,
        "BillingCurrency": "USD",
        "PricingCategory": "Committed" if kind else "Standard",
        "ProviderName": "AWS",
        "x_ServiceCode": code,
        "x_Operation": "RunInstances",
        "UsageType": usage,
    }


def _csv_focus_1_0(folder: Path) -> Path:
    """FOCUS 1.0 CSV as exported: JSON-text Tags, missing values written as the literal NULL."""
    rows = [_row(line, 3 + i % 5) for i, line in enumerate(_LINES)]
    path = folder / "focus-1-0.csv"
    names = [*[k for k in rows[0] if k != "UsageType"], "x_UsageType", "Tags"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        for row in rows:
            row["x_UsageType"] = row.pop("UsageType")
            row["Tags"] = '{"user:Owner": "alice"}' if row["ResourceId"] == "i-current" else None
            writer.writerow(["NULL" if row[n] is None else row[n] for n in names])
    return path


def _parquet_focus_1_2(folder: Path) -> Path:
    """FOCUS 1.2 Parquet from AWS: maps for SkuPriceDetails and Tags, SkuMeter, no x_UsageType."""
    rows = [_row(line, 3 + i % 5) for i, line in enumerate(_LINES)]
    # one previous-generation instance known only from its SkuPriceDetails, one only from its
    # usage type (m4 above), one only from the charge description
    rows.append(
        {
            **_row(_LINES[0], 9),
            "ResourceId": "i-sku-only",
            "UsageType": None,
            "BilledCost": "0.80",
            "EffectiveCost": "0.80",
        }
    )
    rows.append(
        {
            **_row(_LINES[0], 9),
            "ResourceId": "i-description-only",
            "UsageType": None,
            "ChargeDescription": "$0.0116 per On Demand Linux t2.micro Instance Hour",
            "BilledCost": "0.40",
            "EffectiveCost": "0.40",
        }
    )
    sku = {
        "i-current": [("InstanceType", "m5.large")],
        "i-sku-only": [("InstanceType", "c4.xlarge")],
    }
    columns: dict[str, pa.Array] = {}
    for name in rows[0]:
        values = [row[name] for row in rows]
        if name in ("BilledCost", "EffectiveCost", "ListCost", "ConsumedQuantity"):
            columns[name] = pa.array(
                [None if v is None else float(v) for v in values], pa.float64()
            )
        elif name.startswith(("ChargePeriod", "BillingPeriod")):
            columns[name] = pa.array(
                [dt.datetime.fromisoformat(v.replace("Z", "+00:00")) for v in values],
                pa.timestamp("ms", tz="UTC"),
            )
        elif name == "UsageType":
            columns["SkuMeter"] = pa.array(values, pa.string())
        else:
            columns[name] = pa.array(values, pa.string())
    strings = pa.map_(pa.string(), pa.string())
    columns["SkuPriceDetails"] = pa.array([sku.get(r["ResourceId"], []) for r in rows], strings)
    columns["Tags"] = pa.array(
        [[("user:Owner", "alice")] if r["ResourceId"] == "i-current" else None for r in rows],
        strings,
    )
    part = folder / "billing_period=2026-10"
    part.mkdir(parents=True)
    pq.write_table(pa.table(columns), part / "part-0.parquet")
    return folder


def _independent_csv_total(path: Path) -> Decimal:
    with path.open(newline="", encoding="utf-8") as handle:
        return sum(
            (Decimal(r["BilledCost"]) for r in csv.DictReader(handle) if r["BilledCost"] != "NULL"),
            Decimal(0),
        )


def _independent_parquet_total(folder: Path) -> float:
    table = pq.read_table(next(folder.rglob("*.parquet")))
    return float(pc.sum(table["BilledCost"]).as_py())


def _run(source: Path) -> PreparedRun:
    return prepare_run(load_settings(), source=str(source), start=START, end=END)


def _ok(run: PreparedRun, name: str) -> Any:
    spec = load_catalog().queries[name]
    result = run_query(run.engine, spec, run.params)
    assert result.ok, result.error
    return result.frame


def _rows(run: PreparedRun, sql: str) -> list[tuple[object, ...]]:
    engine = run.engine
    assert isinstance(engine, DuckDBEngine)
    return engine.raw_sql(sql)


@pytest.fixture(params=["focus-1.0-csv", "focus-1.2-parquet"])
def export(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path]:
    """One export file (or folder) per flavour."""
    if request.param == "focus-1.0-csv":
        return request.param, _csv_focus_1_0(tmp_path)
    return request.param, _parquet_focus_1_2(tmp_path / "export")


def test_totals_equal_a_sum_taken_straight_from_the_file(export: tuple[str, Path]) -> None:
    flavour, source = export
    if flavour.endswith("csv"):
        independent = _independent_csv_total(source)
        assert independent == BILLED
    else:
        independent = Decimal(str(round(_independent_parquet_total(source), 2)))
        assert independent == BILLED + Decimal("1.20")
    run = _run(source)
    try:
        totals = _ok(run, "window_totals")
        assert Decimal(str(round(float(totals["unblended_cost"].iloc[0]), 2))) == independent
    finally:
        run.engine.close()


def test_detectors_fire_on_the_planted_resources(export: tuple[str, Path]) -> None:
    flavour, source = export
    run = _run(source)
    try:
        assert list(_ok(run, "gp2_volumes")["resource_id"]) == ["vol-gp2"]
        assert list(_ok(run, "nat_gateway_without_endpoints")["resource_id"]) == ["nat-1"]
        previous = _ok(run, "previous_generation_instances")
        found = dict(zip(previous["resource_id"], previous["instance_type"], strict=True))
        if flavour.endswith("csv"):
            assert found == {"i-prevgen": "m4.large"}
        else:
            assert found == {
                "i-prevgen": "m4.large",
                "i-sku-only": "c4.xlarge",
                "i-description-only": "t2.micro",
            }
        (owner,) = _rows(run, "select tags['owner'] from cost where resource_id = 'i-current'")
        assert owner == ("alice",)
    finally:
        run.engine.close()


def test_every_commitment_spelling_is_counted(export: tuple[str, Path]) -> None:
    _, source = export
    run = _run(source)
    try:
        options = dict(
            _rows(run, "select purchase_option, count(*) from cost group by 1")  # type: ignore[arg-type]
        )
        assert options["SavingsPlan"] == 2 and options["Reserved"] == 2
        types = dict(
            _rows(  # type: ignore[arg-type]
                run,
                "select charge_type, count(*) from cost where charge_type not in "
                "('Usage', 'Tax', 'Credit') group by 1",
            )
        )
        assert types == {
            "SavingsPlanCoveredUsage": 1,
            "DiscountedUsage": 1,
            "RIFee": 1,
            "SavingsPlanRecurringFee": 1,
        }
        # the usage type comes from x_UsageType (1.0) or SkuMeter (1.2) alike
        (gp2,) = _rows(run, "select usage_type from cost where resource_id = 'vol-gp2'")
        assert gp2 == ("USE1-EBS:VolumeUsage.gp2",)
    finally:
        run.engine.close()


@pytest.mark.hostile
def test_an_unreadable_value_names_file_column_row_and_value(tmp_path: Path) -> None:
    path = _csv_focus_1_0(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = lines[3].split(",")
    cells[header.index("BilledCost")] = "12x"
    lines[3] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(QueryError, match=r"column BilledCost, row 3: value '12x' is not a number"):
        _run(path)


def test_cur2_region_falls_back_for_data_transfer_lines(tmp_path: Path) -> None:
    """Data-transfer lines leave product_region_code empty: product map, then from/to region."""
    base = {
        "bill_payer_account_id": "999999999999",
        "bill_billing_period_start_date": dt.datetime(2026, 10, 1),
        "line_item_usage_account_id": "111111111111",
        "line_item_line_item_type": "Usage",
        "line_item_usage_start_date": dt.datetime(2026, 10, 3),
        "line_item_product_code": "AWSDataTransfer",
        "line_item_usage_type": "EU-USE1-AWS-Out-Bytes",
        "line_item_operation": "",
        "line_item_availability_zone": "",
        "line_item_usage_amount": 1.0,
        "line_item_unblended_cost": 1.0,
        "line_item_currency_code": "USD",
        "pricing_unit": "GB",
        "resource_tags": [],
    }
    lines = [
        ("r-code", "us-west-2", [], "", ""),
        ("r-map", "", [("region", "ap-south-1")], "", ""),
        ("r-from", "", [], "eu-west-1", "us-east-1"),
        ("r-to", "", [], "", "us-east-2"),
    ]
    rows = [
        {
            **base,
            "line_item_resource_id": resource,
            "product_region_code": code,
            "product": product,
            "product_from_region_code": origin,
            "product_to_region_code": target,
        }
        for resource, code, product, origin, target in lines
    ]
    strings = pa.map_(pa.string(), pa.string())
    table = pa.table(
        {
            name: pa.array([r[name] for r in rows], strings)
            if name in ("product", "resource_tags")
            else pa.array([r[name] for r in rows])
            for name in rows[0]
        }
    )
    pq.write_table(table, tmp_path / "cur2.parquet")
    run = _run(tmp_path / "cur2.parquet")
    try:
        assert sorted(_rows(run, "select resource_id, region from cost")) == [
            ("r-code", "us-west-2"),
            ("r-from", "eu-west-1"),
            ("r-map", "ap-south-1"),
            ("r-to", "us-east-2"),
        ]
    finally:
        run.engine.close()


@pytest.mark.hostile
def test_a_usage_start_stored_as_text_is_named_before_any_query() -> None:
    columns = {
        **{c: "string" for c in ("bill_payer_account_id", "line_item_usage_account_id")},
        "line_item_usage_start_date": "string",
        "line_item_unblended_cost": "double",
    }
    with pytest.raises(
        SourceError,
        match=r"cur\.t: column line_item_usage_start_date is string; the cur adapter needs timestamp",
    ):
        check_column_types("cur", columns, source="cur.t")
    # every timestamp spelling Glue and DuckDB use passes
    for kind in ("timestamp", "TIMESTAMP_MS", "TIMESTAMP WITH TIME ZONE", "date"):
        check_column_types("cur", {**columns, "line_item_usage_start_date": kind}, source="cur.t")
    with pytest.raises(SourceError, match=r"column line_item_unblended_cost is varchar\(20\)"):
        check_column_types(
            "cur",
            {
                **columns,
                "line_item_usage_start_date": "timestamp",
                "line_item_unblended_cost": "varchar(20)",
            },
            source="cur.t",
        )


def test_a_table_without_billing_period_partitions_warns_that_queries_scan_it_all(
    tmp_path: Path,
) -> None:
    engine = DuckDBEngine(str(_csv_focus_1_0(tmp_path)))
    try:
        cost = cost_sql(
            "focus", '"cur"."focus"', engine.source_columns(), OCTOBER, DEFAULT_TAG_ALIASES
        )
    finally:
        engine.close()
    assert cost.warnings == (
        '"cur"."focus" has no billing-period partitions (billing_period, or year and month): '
        "every query scans the whole table",
    )


# the generator's FOCUS shapes: AWS's 1.0 and 1.2 (maps in Parquet, JSON text and NULL literals
# in CSV; x_UsageType in 1.0, SkuMeter in 1.2) and the spec's 1.1 (no x_ columns, JSON text in
# both formats); October 2026 is the last full month of the sample
_GENERATED = [
    ("1.0", "csv"),
    ("1.0", "parquet"),
    ("1.1", "csv"),
    ("1.1", "parquet"),
    ("1.2", "parquet"),
    ("1.2", "csv"),
]
_PLANTED = {
    "gp2_volumes": ("gp2_volumes",),
    "previous_generation_instances": ("previous_generation",),
    "nat_gateway_without_endpoints": ("nat_gateway", "gateways"),
}
# FOCUS 1.1 carries no x_ServiceCode: a detector matching AmazonS3/AmazonDynamoDB finds nothing
_NEEDS_SERVICE_CODE = {"nat_gateway_without_endpoints"}


@pytest.fixture(scope="module", params=_GENERATED, ids=[f"focus-{v}-{f}" for v, f in _GENERATED])
def generated(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Path, dict[str, Any]]:
    """A small generated FOCUS export of one version and format, with its ground truth."""
    from finops_agent.sample_data import generate
    from tests.conftest import SAMPLE_END

    version, fmt = request.param
    folder = tmp_path_factory.mktemp(f"focus-{version}-{fmt}")
    truth = generate(
        "focus",
        folder,
        rows=40_000,
        months=3,
        seed=7,
        fmt=fmt,
        end=SAMPLE_END,
        focus_version=version,
    )
    return fmt, folder, truth


def _independent_october_total(fmt: str, folder: Path) -> Decimal:
    if fmt == "parquet":
        total = 0.0
        for path in sorted(folder.rglob("*.parquet")):
            table = pq.read_table(path, columns=["ChargePeriodStart", "BilledCost"])
            month = pc.strftime(table["ChargePeriodStart"], format="%Y-%m")
            total += (
                pc.sum(pc.filter(table["BilledCost"], pc.equal(month, "2026-10"))).as_py() or 0.0
            )
        return Decimal(str(round(total, 2)))
    exact = Decimal(0)
    for path in sorted(folder.rglob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if row["ChargePeriodStart"].startswith("2026-10") and row["BilledCost"] != "NULL":
                    exact += Decimal(row["BilledCost"])
    return round(exact, 2)


def test_generated_focus_has_the_exported_shape(
    generated: tuple[str, Path, dict[str, Any]],
) -> None:
    fmt, folder, truth = generated
    version = truth["focus_version"]
    # key-value columns each version has: maps in AWS's Parquet, JSON text in CSV and in 1.1
    kv_columns = {
        "1.0": ("Tags",),
        "1.1": ("Tags", "SkuPriceDetails"),
        "1.2": ("Tags", "SkuPriceDetails"),
    }
    if fmt == "parquet":
        schema = pq.read_schema(next(folder.rglob("*.parquet")))
        for column in kv_columns[version]:
            kind = schema.field(column).type
            if version == "1.1":
                assert kind == pa.dictionary(pa.int32(), pa.string()), (column, kind)
            else:
                assert pa.types.is_map(kind), (column, kind)
                assert (kind.key_type, kind.item_type) == (pa.string(), pa.string())
        names = set(schema.names)
    else:
        with next(folder.rglob("*.csv")).open(newline="", encoding="utf-8") as handle:
            rows = csv.DictReader(handle)
            first = [next(rows) for _ in range(200)]
        names = set(first[0])
        # missing values are the word NULL; maps are JSON text
        assert any(r["ResourceId"] == "NULL" for r in first)
        for column in kv_columns[version]:
            assert all(r[column] == "NULL" or r[column].startswith("{") for r in first), column
    assert ("x_UsageType" in names) == (version == "1.0")
    assert ("SkuMeter" in names) == (version in ("1.1", "1.2"))
    assert ("SkuPriceDetails" in names) == (version in ("1.1", "1.2"))
    assert ("x_ServiceCode" in names) == (version in ("1.0", "1.2"))


def test_generated_focus_totals_and_planted_findings(
    generated: tuple[str, Path, dict[str, Any]],
) -> None:
    fmt, folder, truth = generated
    run = _run(folder / "data")
    try:
        totals = _ok(run, "window_totals")
        assert Decimal(str(round(float(totals["unblended_cost"].iloc[0]), 2))) == (
            _independent_october_total(fmt, folder / "data")
        )
        for query, path in _PLANTED.items():
            if query in _NEEDS_SERVICE_CODE and truth["focus_version"] == "1.1":
                continue
            node: Any = truth["planted"]
            for key in path:
                node = node[key]
            planted = {r["resource_id"] for r in node}
            found = set(_ok(run, query)["resource_id"])
            assert planted and planted <= found, (query, planted - found)
    finally:
        run.engine.close()


@pytest.mark.hostile
@pytest.mark.parametrize(
    ("column", "bad", "message"),
    [
        ("product", '{product_name: "EC2"}', "is not a JSON object"),
        ("line_item_usage_start_date", "yesterday", "is not a timestamp"),
    ],
)
def test_an_unreadable_cur2_csv_cell_is_named(
    tmp_path: Path, column: str, bad: str, message: str
) -> None:
    """CUR 2.0 CSV: JSON-text maps and timestamps that cannot be read name file, column, row."""
    from tests import tiny

    table = pq.read_table(next(tiny.write("cur2", tmp_path / "pq").rglob("*.parquet")))
    rows = table.to_pylist()
    path = tmp_path / "cur2.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(table.column_names)
        for number, row in enumerate(rows, start=1):
            cells = {
                k: json.dumps(dict(v)) if k in ("product", "resource_tags") else v
                for k, v in row.items()
            }
            if number == 2:
                cells[column] = bad
            writer.writerow(["NULL" if v is None else v for v in cells.values()])
    with pytest.raises(
        QueryError, match=rf"file .*cur2\.csv, column {column}, row 2: value '.*' {message}"
    ):
        _run(path)


def test_aws_detectors_read_aws_rows_only(tmp_path: Path) -> None:
    """A second provider's line that looks like a gp2 volume is not an AWS finding."""
    path = _csv_focus_1_0(tmp_path)
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    other = {
        **rows[2],
        "ProviderName": "Microsoft",
        "ResourceId": "disk-elsewhere",
        "x_ServiceCode": "NULL",
        "x_Operation": "NULL",
    }
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows([*rows, other])
    run = _run(path)
    try:
        assert list(_ok(run, "gp2_volumes")["resource_id"]) == ["vol-gp2"]
        assert sorted(_rows(run, "select provider, count(*) from cost group by 1")) == [
            ("AWS", 12),
            ("Microsoft", 1),
        ]
    finally:
        run.engine.close()
