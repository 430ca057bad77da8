"""The same handful of line items written as legacy CUR, CUR 2.0 and FOCUS files.

Totals by construction: unblended 34.00, amortised 34.00 (an SP covering $20 of on-demand
usage at $14 effective, $16 commitment of which $2 unused, $5 tax).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

PAYER = "999999999999"
ACCOUNT = "111111111111"
SP_ARN = "arn:aws:savingsplans::999999999999:savingsplan/sp-1"
DAY = dt.datetime(2026, 10, 3)
MONTH = dt.datetime(2026, 10, 1)

# line item type, product, usage type, resource, unblended, amortised, public, tags (raw keys), extra
LINES: list[dict[str, Any]] = [
    {
        "type": "Usage",
        "code": "AmazonEC2",
        "name": "Amazon Elastic Compute Cloud",
        "usage": "USE1-BoxUsage:m5.large",
        "op": "RunInstances",
        "res": "i-0000000000000001",
        "cost": 10.0,
        "instance": "m5.large",
        "tags": {"Owner": "alice", "project": "checkout"},
    },
    {
        "type": "SavingsPlanCoveredUsage",
        "code": "AmazonEC2",
        "name": "Amazon Elastic Compute Cloud",
        "usage": "USE1-BoxUsage:c5.xlarge",
        "op": "RunInstances",
        "res": "i-0000000000000002",
        "cost": 20.0,
        "sp_effective": 14.0,
        "instance": "c5.xlarge",
        "tags": {"team": "data"},
    },
    {
        "type": "SavingsPlanNegation",
        "code": "AmazonEC2",
        "name": "Amazon Elastic Compute Cloud",
        "usage": "USE1-BoxUsage:c5.xlarge",
        "op": "RunInstances",
        "res": "i-0000000000000002",
        "cost": -20.0,
        "instance": "c5.xlarge",
        "tags": {"team": "data"},
    },
    {
        "type": "SavingsPlanRecurringFee",
        "code": "ComputeSavingsPlans",
        "name": "Savings Plans for AWS Compute usage",
        "usage": "ComputeSP:1yrNoUpfront",
        "op": "",
        "res": SP_ARN,
        "cost": 16.0,
        "sp_total": 16.0,
        "sp_used": 14.0,
        "tags": {},
    },
    {
        "type": "Tax",
        "code": "AmazonEC2",
        "name": "Amazon Elastic Compute Cloud",
        "usage": "",
        "op": "",
        "res": "",
        "cost": 5.0,
        "tags": {},
    },
    {
        "type": "Usage",
        "code": "AmazonEC2",
        "name": "Amazon Elastic Compute Cloud",
        "usage": "USE1-EBS:VolumeUsage.gp2",
        "op": "CreateVolume-Gp2",
        "res": "vol-0000000000000001",
        "cost": 3.0,
        "tags": {"CostCenter": "cc-1", "env": ""},
    },
]
UNBLENDED_TOTAL = 34.0
AMORTIZED_TOTAL = 34.0


def _snake(key: str) -> str:
    from finops_agent.sources import athena_name

    return athena_name(key)


def _cur_rows(schema: str) -> list[dict[str, Any]]:
    rows = []
    for line in LINES:
        row: dict[str, Any] = {
            "bill_payer_account_id": PAYER,
            "bill_billing_period_start_date": MONTH,
            "line_item_usage_account_id": ACCOUNT,
            "line_item_line_item_type": line["type"],
            "line_item_usage_start_date": DAY,
            "line_item_product_code": line["code"],
            "line_item_usage_type": line["usage"],
            "line_item_operation": line["op"],
            "line_item_resource_id": line["res"],
            "line_item_availability_zone": "us-east-1a"
            if line["res"].startswith(("i-", "vol-"))
            else "",
            "line_item_usage_amount": 1.0,
            "line_item_unblended_cost": line["cost"],
            "line_item_currency_code": "USD",
            "pricing_unit": "Hrs",
            "pricing_public_on_demand_cost": max(line["cost"], 0.0),
            "product_instance_type": line.get("instance", ""),
            "savings_plan_savings_plan_effective_cost": line.get("sp_effective", 0.0),
            "savings_plan_total_commitment_to_date": line.get("sp_total", 0.0),
            "savings_plan_used_commitment": line.get("sp_used", 0.0),
        }
        if schema == "cur":
            row["product_product_name"] = line["name"]
            row["product_region"] = "us-east-1"
            for key in ("owner", "team", "project", "cost_center", "env"):
                row[f"resource_tags_user_{key}"] = ""
            for key, value in line["tags"].items():
                row[f"resource_tags_user_{_snake(key)}"] = value
        else:
            row["line_item_usage_account_name"] = "prod-platform"
            row["product_region_code"] = "us-east-1"
            row["product"] = [("product_name", line["name"])]
            row["resource_tags"] = [(f"user_{k}", v) for k, v in line["tags"].items()]
        rows.append(row)
    return rows


def _focus_rows() -> list[dict[str, Any]]:
    rows = []
    for line in LINES:
        base: dict[str, Any] = {
            "BillingAccountId": PAYER,
            "BillingPeriodStart": MONTH,
            "ChargePeriodStart": DAY,
            "SubAccountId": ACCOUNT,
            "SubAccountName": "prod-platform",
            "ServiceName": line["name"],
            "x_ServiceCode": line["code"],
            "x_UsageType": line["usage"],
            "x_Operation": line["op"],
            "RegionId": "us-east-1",
            "AvailabilityZone": "us-east-1a" if line["res"].startswith(("i-", "vol-")) else None,
            "ResourceId": line["res"] or None,
            "ConsumedQuantity": 1.0,
            "ConsumedUnit": "Hrs",
            "BillingCurrency": "USD",
            "ChargeCategory": "Usage",
            "ChargeFrequency": "Usage-Based",
            "CommitmentDiscountStatus": None,
            "CommitmentDiscountType": None,
            "PricingCategory": "Standard",
            "SkuPriceDetails": json.dumps({"InstanceType": line["instance"]})
            if "instance" in line
            else None,
            "Tags": json.dumps({f"user:{k}": v for k, v in line["tags"].items()}),
            "BilledCost": line["cost"],
            "EffectiveCost": line["cost"],
            "ListCost": max(line["cost"], 0.0),
        }
        kind = line["type"]
        if kind == "SavingsPlanNegation":
            continue
        if kind == "SavingsPlanCoveredUsage":
            base.update(
                BilledCost=0.0,
                EffectiveCost=line["sp_effective"],
                CommitmentDiscountStatus="Used",
                CommitmentDiscountType="Savings Plan",
                PricingCategory="Committed",
            )
        if kind == "SavingsPlanRecurringFee":
            base.update(
                ChargeCategory="Purchase",
                ChargeFrequency="Recurring",
                EffectiveCost=0.0,
                CommitmentDiscountType="Savings Plan",
            )
            unused = dict(
                base,
                ChargeCategory="Usage",
                BilledCost=0.0,
                ChargeFrequency="Usage-Based",
                EffectiveCost=line["sp_total"] - line["sp_used"],
                CommitmentDiscountStatus="Unused",
            )
            rows.append(unused)
        if kind == "Tax":
            base.update(ChargeCategory="Tax", ChargeFrequency="Recurring")
        rows.append(base)
    return rows


def write(schema: str, folder: Path) -> Path:
    """Write the tiny dataset for `schema` hive-partitioned under folder; return folder."""
    rows = _focus_rows() if schema == "focus" else _cur_rows(schema)
    columns = {key: [row.get(key) for row in rows] for key in rows[0]}
    arrays = {}
    for key, values in columns.items():
        if key in ("product", "resource_tags"):
            arrays[key] = pa.array(values, type=pa.map_(pa.string(), pa.string()))
        else:
            arrays[key] = pa.array(values)
    part = folder / ("year=2026/month=10" if schema == "cur" else "billing_period=2026-10")
    part.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(arrays), part / "part-00000.parquet")
    return folder
