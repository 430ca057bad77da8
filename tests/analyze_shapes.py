"""Athena result files of the shapes users download, written by the tests with known answers."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Shape:
    """A result file plus what analysing it must find."""

    name: str
    header: list[str]
    rows: list[list[object]]
    cost: str
    group: str | None
    date: str | None
    analysis_type: str
    charts: tuple[str, ...]
    roles: dict[str, str] = field(default_factory=dict)
    # ids of the file-rule findings it must produce, when the test states them
    findings: frozenset[str] | None = None

    def total(self, column: str | None = None) -> float:
        """Sum of a numeric column computed in Python, independent of DuckDB."""
        index = self.header.index(column or self.cost)
        return sum(float(str(row[index]).replace("$", "").replace(",", "")) for row in self.rows)

    def by_group(self) -> dict[str, float]:
        """Cost per value of the main grouping column, computed in Python."""
        assert self.group is not None
        g, c = self.header.index(self.group), self.header.index(self.cost)
        out: dict[str, float] = {}
        for row in self.rows:
            out[str(row[g])] = out.get(str(row[g]), 0.0) + float(row[c])
        return out

    def write(self, folder: Path, **csv_options: str) -> Path:
        """Write the shape as an Athena-style CSV (every value quoted) and return its path."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.name}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, quoting=csv.QUOTE_ALL, **csv_options)  # type: ignore[arg-type]
            writer.writerow(self.header)
            writer.writerows(self.rows)
        return path


_SERVICES = {"AmazonEC2": 40.0, "AmazonRDS": 12.5, "AmazonS3": 3.25, "AWSLambda": 0.75}


def cost_by_service_and_date() -> Shape:
    """Daily cost per service and account over two months (cost family output)."""
    rows: list[list[object]] = []
    start = dt.date(2026, 9, 1)
    for day in range(61):
        date = start + dt.timedelta(days=day)
        for i, (service, base) in enumerate(_SERVICES.items()):
            # EC2 grows in October so month-over-month has something to say
            grow = 1.5 if service == "AmazonEC2" and date.month == 10 else 1.0
            account = "111122223333" if i % 2 == 0 else "444455556666"
            rows.append([date.isoformat(), service, account, "us-east-1", round(base * grow, 4)])
    return Shape(
        "cost_by_service_and_date",
        ["usage_date", "service", "account_id", "region", "unblended_cost"],
        rows,
        cost="unblended_cost",
        group="service",
        date="usage_date",
        analysis_type="cost",
        charts=("bar", "pie", "line", "table", "table"),
        roles={"account_id": "group", "region": "group", "usage_date": "date"},
    )


def tagging_correlation() -> Shape:
    """Untagged against total cost per account and service with the owner tag's coverage."""
    rows: list[list[object]] = [
        ["prod", "AmazonEC2", "team-a", 120.0, 900.0, 86.7],
        ["prod", "AmazonRDS", "", 300.0, 300.0, 0.0],
        ["dev", "AmazonEC2", "team-b", 10.0, 200.0, 95.0],
        ["dev", "AmazonS3", "", 45.5, 45.5, 0.0],
        ["shared", "AWSLambda", "team-a", 0.0, 12.25, 100.0],
    ]
    return Shape(
        "tagging_correlation",
        ["account_name", "service", "tag_owner", "untagged_cost", "total_cost", "coverage_pct"],
        rows,
        cost="total_cost",
        group="service",
        date=None,
        analysis_type="tagging",
        charts=("bar", "pie", "table"),
        roles={"tag_owner": "tag", "coverage_pct": "metric", "untagged_cost": "cost"},
    )


def architecture_inference() -> Shape:
    """Resources per usage and instance type, with previous-generation families in it."""
    rows: list[list[object]] = [
        ["AmazonEC2", "BoxUsage:m4.large", "m4.large", 12, 876.0],
        ["AmazonEC2", "BoxUsage:m7g.large", "m7g.large", 30, 1752.0],
        ["AmazonEC2", "BoxUsage:t2.micro", "t2.micro", 8, 67.2],
        ["AmazonRDS", "InstanceUsage:db.r6g.large", "db.r6g.large", 2, 420.0],
        ["AmazonEC2", "EBS:VolumeUsage.gp3", "", 40, 320.0],
    ]
    return Shape(
        "architecture_inference",
        ["service", "usage_type", "instance_type", "resource_count", "cost"],
        rows,
        cost="cost",
        group="service",
        date=None,
        analysis_type="architecture",
        charts=("bar", "pie", "table"),
        roles={"resource_count": "metric", "usage_type": "group", "instance_type": "group"},
    )


def monthly_trends() -> Shape:
    """Cost per month and service with the previous month's cost (Athena month strings)."""
    rows: list[list[object]] = []
    for month, factor in (("2026-07", 1.0), ("2026-08", 1.1), ("2026-09", 1.3), ("2026-10", 1.6)):
        for service, base in _SERVICES.items():
            cost = round(base * 30 * factor, 2)
            rows.append([month, service, cost, round(cost / 1.2, 2), 20.0])
    return Shape(
        "monthly_trends",
        ["month", "service", "cost", "previous_cost", "change_pct"],
        rows,
        cost="cost",
        group="service",
        date="month",
        analysis_type="cost",
        charts=("bar", "pie", "line", "table", "table"),
        roles={"month": "date", "previous_cost": "cost", "change_pct": "metric"},
    )


def ebs_volume_inventory() -> Shape:
    """One row per EBS volume with its type, size and monthly cost (gp2 among them)."""
    rows: list[list[object]] = []
    for i in range(30):
        kind = "gp2" if i % 3 == 0 else "gp3"
        size = 100 + 10 * i
        price = 0.10 if kind == "gp2" else 0.08
        region = "us-east-1" if i % 2 else "eu-west-1"
        rows.append([f"vol-{i:017x}", kind, region, size, round(size * price, 2)])
    return Shape(
        "ebs_volume_inventory",
        ["volume_id", "volume_type", "region", "size_gb", "monthly_cost"],
        rows,
        cost="monthly_cost",
        group="volume_type",
        date=None,
        analysis_type="architecture",
        charts=("bar", "pie", "table"),
        roles={"volume_id": "id", "size_gb": "metric", "region": "group"},
    )


SHAPES: dict[str, Callable[[], Shape]] = {
    "cost by service and date": cost_by_service_and_date,
    "tagging correlation": tagging_correlation,
    "architecture inference": architecture_inference,
    "monthly trends": monthly_trends,
    "EBS volume inventory": ebs_volume_inventory,
}


# Real result files: raw billing exports and inventories, with the columns that misled the
# profile before (rates beside costs, period end dates, creation dates, monthly columns).

CUR2_HEADER = [
    "bill_bill_type",
    "bill_billing_entity",
    "bill_billing_period_end_date",
    "bill_billing_period_start_date",
    "bill_invoice_id",
    "bill_payer_account_id",
    "identity_line_item_id",
    "identity_time_interval",
    "line_item_availability_zone",
    "line_item_blended_cost",
    "line_item_blended_rate",
    "line_item_currency_code",
    "line_item_line_item_description",
    "line_item_line_item_type",
    "line_item_operation",
    "line_item_product_code",
    "line_item_resource_id",
    "line_item_unblended_cost",
    "line_item_unblended_rate",
    "line_item_usage_account_id",
    "line_item_usage_amount",
    "line_item_usage_end_date",
    "line_item_usage_start_date",
    "line_item_usage_type",
    "pricing_public_on_demand_cost",
    "pricing_public_on_demand_rate",
    "pricing_unit",
    "product",
    "product_region_code",
    "resource_tags",
]
# (product, usage type, operation, resource, usage per day, unit, rate, public rate)
_CUR2_ITEMS = (
    ("AmazonEC2", "BoxUsage:m5.large", "RunInstances", "i-0a1", 24.0, "Hrs", 0.096, 0.096),
    ("AmazonEC2", "EBS:VolumeUsage.gp2", "CreateVolume-Gp2", "vol-0b2", 3.0, "GB-Mo", 0.10, 0.10),
    ("AmazonS3", "TimedStorage-ByteHrs", "StandardStorage", "logs", 10.0, "GB-Mo", 0.023, 0.023),
)
CUR2_CREDIT = -5.0


def _iso(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def cur2_export() -> Shape:
    """A CUR 2.0 export saved as CSV: May 2026, rates beside costs, one credit row."""
    rows: list[list[object]] = []
    period_start, period_end = dt.date(2026, 5, 1), dt.date(2026, 6, 1)
    line = 0
    for offset in range(31):
        day = period_start + dt.timedelta(days=offset)
        following = day + dt.timedelta(days=1)
        for product, usage_type, operation, resource, amount, unit, rate, public in _CUR2_ITEMS:
            line += 1
            cost = round(amount * rate, 6)
            rows.append(
                [
                    "Anniversary",
                    "AWS",
                    _iso(period_end),
                    _iso(period_start),
                    "EUINIE26-1",
                    "111122223333",
                    f"line-{line:05d}",
                    f"{_iso(day)}/{_iso(following)}",
                    "us-east-1a",
                    cost,
                    rate,
                    "USD",
                    f"${rate} per {unit} for {usage_type}",
                    "Usage",
                    operation,
                    product,
                    resource,
                    cost,
                    rate,
                    "444455556666",
                    amount,
                    _iso(following),
                    _iso(day),
                    usage_type,
                    round(amount * public, 6),
                    public,
                    unit,
                    '{"product_name": "' + product + '"}',
                    "us-east-1",
                    '{"user_team": "web"}',
                ]
            )
    last = period_end - dt.timedelta(days=1)
    credit = [
        "Anniversary",
        "AWS",
        _iso(period_end),
        _iso(period_start),
        "EUINIE26-1",
        "111122223333",
        "line-credit",
        f"{_iso(last)}/{_iso(period_end)}",
        "",
        CUR2_CREDIT,
        "",
        "USD",
        "AWS Activate credit",
        "Credit",
        "",
        "AmazonEC2",
        "",
        CUR2_CREDIT,
        "",
        "444455556666",
        0,
        _iso(period_end),
        _iso(last),
        "",
        0,
        "",
        "",
        '{"product_name": "Amazon Elastic Compute Cloud"}',
        "us-east-1",
        "{}",
    ]
    rows.append(credit)
    return Shape(
        "cur2_export",
        CUR2_HEADER,
        rows,
        cost="line_item_unblended_cost",
        group="line_item_product_code",
        date="line_item_usage_start_date",
        analysis_type="tagging",
        charts=("bar", "pie", "line", "table"),
        roles={
            "line_item_unblended_cost": "cost",
            "line_item_blended_cost": "cost",
            "pricing_public_on_demand_cost": "cost",
            "line_item_unblended_rate": "rate",
            "line_item_blended_rate": "rate",
            "pricing_public_on_demand_rate": "rate",
            "line_item_usage_amount": "quantity",
            "bill_billing_period_end_date": "date",
            "line_item_usage_start_date": "date",
        },
        findings=frozenset({"gp2", "concentration"}),
    )


def volume_inventory_with_create_date() -> Shape:
    """240 EBS volumes with their creation date and monthly cost; 80 gp2 volumes cost $589.00."""
    rows: list[list[object]] = []
    first = dt.date(2025, 1, 3)
    for i in range(240):
        gp2 = i % 3 == 0
        # 70 gp2 volumes of 70 GB and 10 of 99 GB: 5,890 GB at $0.10 = $589.00 a month
        size = (99 if i < 30 else 70) if gp2 else 100
        monthly = round(size * (0.10 if gp2 else 0.08), 2)
        created = first + dt.timedelta(days=i * 361 // 239)
        rows.append(
            [
                f"vol-{i:017x}",
                "gp2" if gp2 else "gp3",
                "us-east-1" if i % 2 else "eu-west-1",
                size,
                created.isoformat(),
                monthly,
            ]
        )
    return Shape(
        "volume_inventory",
        ["volume_id", "volume_type", "region", "size_gb", "create_date", "monthly_cost"],
        rows,
        cost="monthly_cost",
        group="volume_type",
        date=None,
        analysis_type="architecture",
        charts=("bar", "pie", "table"),
        roles={"volume_id": "id", "size_gb": "metric", "create_date": "date", "region": "group"},
        findings=frozenset({"gp2", "concentration"}),
    )


FOCUS_HEADER = [
    "AvailabilityZone",
    "BilledCost",
    "BillingAccountId",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "ListCost",
    "ListUnitPrice",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "RegionId",
    "ResourceId",
    "ServiceName",
    "SubAccountId",
    "Tags",
]


def focus_export() -> Shape:
    """A FOCUS 1.0 export for September and October 2026: EC2 under a Savings Plan, S3 on demand."""
    rows: list[list[object]] = []
    start = dt.date(2026, 9, 1)
    for offset in range(61):
        day = start + dt.timedelta(days=offset)
        following = day + dt.timedelta(days=1)
        period = day.replace(day=1)
        period_end = (period + dt.timedelta(days=32)).replace(day=1)
        october = day.month == 10
        # EC2: 100 hours a day in September, 130 in October; list $0.12/h, billed $0.10/h,
        # amortised $0.08/h. S3: 100 GB-Mo a day at $0.02, no discount.
        for service, hours, unit, list_price, billed, effective in (
            ("Amazon Elastic Compute Cloud", 130.0 if october else 100.0, "Hrs", 0.12, 0.10, 0.08),
            ("Amazon Simple Storage Service", 100.0, "GB-Mo", 0.02, 0.02, 0.02),
        ):
            rows.append(
                [
                    "us-east-1a",
                    round(hours * billed, 6),
                    "111122223333",
                    "USD",
                    _iso(period_end),
                    _iso(period),
                    "Usage",
                    _iso(following),
                    _iso(day),
                    hours,
                    unit,
                    round(hours * list_price, 6),
                    list_price,
                    round(hours * effective, 6),
                    round(hours * list_price, 6),
                    list_price,
                    hours,
                    unit,
                    "AWS",
                    "us-east-1",
                    "i-0f1" if unit == "Hrs" else "logs",
                    service,
                    "444455556666",
                    '{"team": "web"}',
                ]
            )
    return Shape(
        "focus_export",
        FOCUS_HEADER,
        rows,
        cost="BilledCost",
        group="ServiceName",
        date="ChargePeriodStart",
        analysis_type="tagging",
        charts=("bar", "pie", "line", "table", "table"),
        roles={
            "BilledCost": "cost",
            "EffectiveCost": "cost",
            "ListCost": "cost",
            "ContractedCost": "cost",
            "ListUnitPrice": "rate",
            "ContractedUnitPrice": "rate",
            "ConsumedQuantity": "quantity",
            "PricingQuantity": "quantity",
            "BillingPeriodStart": "date",
            "ChargePeriodEnd": "date",
        },
        findings=frozenset({"concentration", "month_over_month"}),
    )


def athena_daily_cost() -> Shape:
    """An Athena result with only a usage date and a cost: all of October, then 14 days of November."""
    rows: list[list[object]] = []
    start = dt.date(2026, 10, 1)
    for offset in range(45):
        day = start + dt.timedelta(days=offset)
        rows.append([day.isoformat(), 120.0 if day.month == 11 else 100.0])
    return Shape(
        "daily_cost",
        ["usage_date", "cost"],
        rows,
        cost="cost",
        group=None,
        date="usage_date",
        analysis_type="cost",
        charts=("line", "table", "table"),
        roles={"usage_date": "date", "cost": "cost"},
        findings=frozenset({"month_over_month"}),
    )


REAL_SHAPES: dict[str, Callable[[], Shape]] = {
    "CUR 2.0 export": cur2_export,
    "volume inventory with create_date": volume_inventory_with_create_date,
    "FOCUS export": focus_export,
    "Athena daily cost": athena_daily_cost,
}
