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
