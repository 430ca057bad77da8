"""The resources of the simulated estate: random background plus planted findings."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from finops_agent.sample_data.estate import (
    ACCOUNTS,
    BACKGROUND,
    ELASTICACHE_NODE,
    REGIONS,
    Product,
)

_HEX = np.array(list("0123456789abcdef"))
_PROJECTS = ["checkout", "search", "catalog", "analytics", "platform", "ml-training"]
_OWNERS = ["team-payments", "team-discovery", "team-data", "team-infra", "team-ml"]
_ENVS = ["prod", "Prod", "production", " prod ", "dev", "Dev", "staging"]


def hex_ids(rng: np.random.Generator, n: int, prefix: str, width: int = 17) -> list[str]:
    """AWS-style ids: prefix + '0' + hex digits (i-0abc…)."""
    digits = _HEX[rng.integers(0, 16, size=(n, width - 1))]
    return [prefix + "0" + "".join(row) for row in digits]


def resource_id(
    style: str, rng: np.random.Generator, n: int, account: list[str], region: list[str]
) -> list[str]:
    """Resource ids in the form AWS writes them for each kind of resource."""
    tail = hex_ids(rng, n, "")
    names = [
        f"{w}-{t[1:7]}"
        for w, t in zip(
            rng.choice(["orders", "users", "events", "media", "logs"], n), tail, strict=True
        )
    ]
    match style:
        case "instance":
            return ["i-" + t for t in tail]
        case "volume":
            return ["vol-" + t for t in tail]
        case "snapshot":
            return ["snap-" + t for t in tail]
        case "eip":
            return ["eipalloc-" + t for t in tail]
        case "nat":
            return ["nat-" + t for t in tail]
        case "bucket":
            return [f"{n_}-{a[-4:]}-{r}" for n_, a, r in zip(names, account, region, strict=True)]
        case "rds":
            return [
                f"arn:aws:rds:{r}:{a}:db:{n_}"
                for n_, a, r in zip(names, account, region, strict=True)
            ]
        case "table":
            return [
                f"arn:aws:dynamodb:{r}:{a}:table/{n_}"
                for n_, a, r in zip(names, account, region, strict=True)
            ]
        case "function":
            return [
                f"arn:aws:lambda:{r}:{a}:function:{n_}"
                for n_, a, r in zip(names, account, region, strict=True)
            ]
        case "cache":
            return [
                f"arn:aws:elasticache:{r}:{a}:cluster:{n_}"
                for n_, a, r in zip(names, account, region, strict=True)
            ]
        case "task":
            return [
                f"arn:aws:ecs:{r}:{a}:task/{n_}"
                for n_, a, r in zip(names, account, region, strict=True)
            ]
        case "cluster":
            return [
                f"arn:aws:eks:{r}:{a}:cluster/{n_}"
                for n_, a, r in zip(names, account, region, strict=True)
            ]
        case "alb":
            return [
                f"arn:aws:elasticloadbalancing:{r}:{a}:loadbalancer/app/{n_}/{t[:16]}"
                for n_, a, r, t in zip(names, account, region, tail, strict=True)
            ]
        case "key":
            return [
                f"arn:aws:kms:{r}:{a}:key/{t}"
                for a, r, t in zip(account, region, tail, strict=True)
            ]
        case "workgroup":
            return [
                f"arn:aws:athena:{r}:{a}:workgroup/primary"
                for a, r in zip(account, region, strict=True)
            ]
    return [""] * n


@dataclass
class Planted:
    """A planted resource: what it is, where, and its exact daily usage."""

    label: str
    product: Product
    account: int
    region: int
    qty: float
    id_style: str
    start_day: int = 0
    start_hour: int = 0
    tags: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def _tags(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Tag values and key spellings: ~30% untagged, some partial, '' values and value variants."""
    untagged = rng.random(n) < 0.30
    partial = rng.random(n) < 0.15
    frame = pd.DataFrame(
        {
            "owner_key": rng.choice(["owner", "Owner", "team"], n, p=[0.6, 0.25, 0.15]),
            "owner": rng.choice(_OWNERS, n),
            "project_key": "project",
            "project": rng.choice(_PROJECTS, n),
            "cc_key": rng.choice(["cost_center", "CostCenter"], n, p=[0.7, 0.3]),
            "cost_center": [f"cc-{v}" for v in rng.integers(100, 110, n)],
            "env_key": rng.choice(["environment", "env"], n, p=[0.8, 0.2]),
            "environment": rng.choice(_ENVS, n),
        }
    )
    for column in ("owner", "project", "cost_center", "environment"):
        frame.loc[untagged, column] = None
        frame.loc[partial & (rng.random(n) < 0.5), column] = None
    # tags present with an empty value, which count as untagged
    frame.loc[(rng.random(n) < 0.03) & ~untagged, "environment"] = ""
    return frame


def background(rng: np.random.Generator, n: int, days: int) -> pd.DataFrame:
    """n random resources of the background mix."""
    weights = np.array([p.weight for p in BACKGROUND])
    product_idx = rng.choice(len(BACKGROUND), n, p=weights / weights.sum())
    account = rng.choice(len(ACCOUNTS), n, p=[0.5, 0.3, 0.2])
    region = rng.choice(len(REGIONS), n, p=[0.5, 0.2, 0.2, 0.1])
    # the NAT decoy (dev-sandbox, us-west-2) must have no S3/DynamoDB traffic in its own region
    s3_or_dynamodb = np.array(
        [BACKGROUND[i].code in ("AmazonS3", "AmazonDynamoDB") for i in product_idx]
    )
    region = np.where(s3_or_dynamodb & (account == 2) & (region == 1), 2, region)
    late = rng.random(n) < 0.25
    start = np.where(late, rng.integers(1, max(days - 1, 2), n), 0)
    ends_early = rng.random(n) < 0.10
    end = np.where(ends_early, np.minimum(days, start + rng.integers(3, max(days, 4), n)), days)
    frame = pd.DataFrame(
        {
            "product": product_idx,
            "account": account,
            "region": region,
            "start_day": start,
            "end_day": np.maximum(end, start + 1),
            "start_hour": 0,
        }
    )
    frame["low"] = [BACKGROUND[i].low for i in product_idx]
    frame["high"] = [BACKGROUND[i].high for i in product_idx]
    frame["qty"] = frame["low"] + (frame["high"] - frame["low"]) * rng.random(n)
    frame["purchase"] = "od"
    instance = np.array(
        [
            BACKGROUND[i].id_style == "instance"
            and BACKGROUND[i].unit == "Hrs"
            and "Spot" not in BACKGROUND[i].usage
            for i in product_idx
        ]
    )
    frame.loc[instance & (account == 0) & (rng.random(n) < 0.4), "purchase"] = "sp"
    frame["label"] = ""
    frame["noise"] = True
    return pd.concat([frame.drop(columns=["low", "high"]), _tags(rng, n)], axis=1)


def planted(days: int, last_month_day: int) -> list[Planted]:
    """The findings the queries must discover, with exact quantities."""
    from finops_agent.sample_data.estate import EC2
    from finops_agent.sample_data.estate import Product as P

    def ec2(usage: str, op: str, unit: str, price: float, family: str, itype: str = "") -> P:
        return P(
            EC2[0],
            EC2[1],
            family,
            "Compute" if family == "Compute Instance" else "Networking",
            usage,
            op,
            unit,
            price,
            "hours" if unit == "Hrs" else "amount",
            0,
            0,
            "",
            itype,
            True,
        )

    gp2 = P(
        EC2[0],
        EC2[1],
        "Storage",
        "Storage",
        "EBS:VolumeUsage.gp2",
        "CreateVolume-Gp2",
        "GB-Mo",
        0.10,
        "gbmonth",
        0,
        0,
        "volume",
        zonal=True,
    )
    idle = P(
        "AmazonVPC",
        "Amazon Virtual Private Cloud",
        "IP Address",
        "Networking",
        "PublicIPv4:IdleAddress",
        "AllocateAddressVPC",
        "Hrs",
        0.005,
        "hours",
        0,
        0,
        "eip",
    )
    nat_hours = ec2("NatGateway-Hours", "NatGateway", "Hrs", 0.045, "NAT Gateway")
    nat_bytes = ec2("NatGateway-Bytes", "NatGateway", "GB", 0.045, "NAT Gateway")
    inter_out = ec2("DataTransfer-Regional-Bytes", "InterZone-Out", "GB", 0.01, "Data Transfer")
    inter_in = ec2("DataTransfer-Regional-Bytes", "InterZone-In", "GB", 0.01, "Data Transfer")
    egress = ec2("DataTransfer-Out-Bytes", "RunInstances", "GB", 0.09, "Data Transfer")
    s3_std = next(
        p for p in BACKGROUND if p.usage == "TimedStorage-ByteHrs" and p.code == "AmazonS3"
    )
    s3_int = next(p for p in BACKGROUND if p.usage == "TimedStorage-INT-FA-ByteHrs")
    ddb = next(p for p in BACKGROUND if p.usage == "ReadRequestUnits")
    rds = next(p for p in BACKGROUND if p.usage.startswith("InstanceUsage"))
    lam = next(p for p in BACKGROUND if p.code == "AWSLambda")
    checkout = {
        "owner": "team-payments",
        "project": "checkout",
        "cost_center": "cc-104",
        "environment": "prod",
    }
    search = {
        "owner": "team-discovery",
        "project": "search",
        "cost_center": "cc-107",
        "environment": "prod",
    }
    hour_a, day_a = 14, last_month_day + 9
    hour_b, day_b = 9, last_month_day + 4
    items = [
        Planted("gp2_volumes", gp2, 0, 0, 500, "volume", tags=checkout),
        Planted("gp2_volumes", gp2, 0, 2, 1000, "volume"),
        Planted("gp2_volumes", gp2, 1, 0, 200, "volume", tags=search),
        Planted("gp2_volumes", gp2, 1, 1, 2000, "volume"),
        Planted("gp2_volumes", gp2, 2, 0, 750, "volume"),
        Planted("nat_gateway", nat_hours, 0, 0, 24, "nat", extra={"pair": 0}),
        Planted("nat_gateway", nat_bytes, 0, 0, 900, "nat", extra={"pair": 0}),
        Planted("nat_gateway", nat_hours, 0, 0, 24, "nat", extra={"pair": 1}),
        Planted("nat_gateway", nat_bytes, 0, 0, 650, "nat", extra={"pair": 1}),
        Planted("nat_s3", s3_std, 0, 0, 40_000, "bucket"),
        Planted("nat_dynamodb", ddb, 0, 0, 4e7, "table"),
        Planted("nat_decoy", nat_hours, 2, 1, 24, "nat", extra={"pair": 2}),
        Planted("nat_decoy", nat_bytes, 2, 1, 40, "nat", extra={"pair": 2}),
        Planted("cross_az", inter_out, 1, 0, 2500, "instance", extra={"pair": 3, "az": 0}),
        Planted("cross_az", inter_in, 1, 0, 2500, "instance", extra={"pair": 3, "az": 0}),
        Planted("cross_az", inter_out, 1, 0, 2200, "instance", extra={"pair": 4, "az": 1}),
        Planted("cross_az", inter_in, 1, 0, 2200, "instance", extra={"pair": 4, "az": 1}),
        Planted(
            "previous_generation",
            ec2("BoxUsage:m4.xlarge", "RunInstances", "Hrs", 0.20, "Compute Instance", "m4.xlarge"),
            0,
            0,
            24,
            "instance",
        ),
        Planted(
            "previous_generation",
            ec2(
                "BoxUsage:c4.2xlarge",
                "RunInstances",
                "Hrs",
                0.398,
                "Compute Instance",
                "c4.2xlarge",
            ),
            1,
            2,
            24,
            "instance",
        ),
        Planted(
            "previous_generation",
            ec2(
                "BoxUsage:t2.medium", "RunInstances", "Hrs", 0.0464, "Compute Instance", "t2.medium"
            ),
            2,
            1,
            24,
            "instance",
        ),
        Planted("idle_eips", idle, 1, 0, 24, "eip"),
        Planted("idle_eips", idle, 2, 2, 24, "eip"),
        Planted(
            "untagged_top",
            ec2(
                "BoxUsage:m5.4xlarge",
                "RunInstances",
                "Hrs",
                0.768,
                "Compute Instance",
                "m5.4xlarge",
            ),
            2,
            0,
            24,
            "instance",
        ),
        Planted(
            "untagged_top",
            ec2(
                "BoxUsage:r5.4xlarge",
                "RunInstances",
                "Hrs",
                1.008,
                "Compute Instance",
                "r5.4xlarge",
            ),
            2,
            0,
            24,
            "instance",
        ),
        Planted("untagged_top", rds, 2, 0, 24, "rds"),
        Planted(
            "s3_standard_heavy",
            s3_std,
            1,
            0,
            120_000,
            "bucket",
            tags={"owner": "team-data", "project": "analytics"},
        ),
        Planted("s3_standard_heavy", s3_std, 0, 2, 60_000, "bucket"),
        Planted("s3_standard_heavy_int", s3_int, 1, 0, 500, "bucket"),
        Planted("egress", egress, 0, 0, 1200, "instance", tags=checkout),
        Planted("spike", lam, 0, 0, 0.0, "function", tags=search),
    ]
    for _ in range(3):
        items.append(
            Planted(
                "owner_by_start_time_tagged",
                ec2(
                    "BoxUsage:m5.large",
                    "RunInstances",
                    "Hrs",
                    0.096,
                    "Compute Instance",
                    "m5.large",
                ),
                0,
                2,
                24,
                "instance",
                day_a,
                hour_a,
                tags=checkout,
                extra={"cluster": "a"},
            )
        )
    for _ in range(2):
        items.append(
            Planted(
                "owner_by_start_time",
                ec2(
                    "BoxUsage:m5.large",
                    "RunInstances",
                    "Hrs",
                    0.096,
                    "Compute Instance",
                    "m5.large",
                ),
                0,
                2,
                24,
                "instance",
                day_a,
                hour_a,
                extra={"cluster": "a"},
            )
        )
    for _ in range(2):
        items.append(
            Planted(
                "owner_by_start_time_tagged",
                ec2(
                    "BoxUsage:c5.xlarge",
                    "RunInstances",
                    "Hrs",
                    0.17,
                    "Compute Instance",
                    "c5.xlarge",
                ),
                1,
                1,
                24,
                "instance",
                day_b,
                hour_b,
                tags=search,
                extra={"cluster": "b"},
            )
        )
    items.append(
        Planted(
            "owner_by_start_time",
            ec2("BoxUsage:c5.xlarge", "RunInstances", "Hrs", 0.17, "Compute Instance", "c5.xlarge"),
            1,
            1,
            24,
            "instance",
            day_b,
            hour_b,
            extra={"cluster": "b"},
        )
    )
    items.extend(Planted("growth", rds, 1, 0, 24, "rds", tags=search) for _ in range(3))
    items.append(Planted("reserved_cache", ELASTICACHE_NODE, 0, 0, 24, "cache", tags=checkout))
    items.append(Planted("reserved_cache", ELASTICACHE_NODE, 0, 0, 24, "cache", tags=checkout))
    return [p for p in items if p.start_day < days]


def planted_frame(
    rng: np.random.Generator, items: list[Planted], days: int
) -> tuple[pd.DataFrame, list[Product]]:
    """Planted resources in the background frame's shape, with their own products."""
    rows = []
    products: list[Product] = []
    pair_ids: dict[int, str] = {}
    for item in items:
        products.append(dataclasses.replace(item.product, id_style=item.id_style))
        rows.append(
            {
                "product": len(BACKGROUND) + len(products) - 1,
                "account": item.account,
                "region": item.region,
                "start_day": item.start_day,
                "end_day": days,
                "start_hour": item.start_hour,
                "qty": item.qty,
                "purchase": "ri" if item.label == "reserved_cache" else "od",
                "label": item.label,
                "noise": False,
                "owner_key": "owner",
                "owner": item.tags.get("owner"),
                "project_key": "project",
                "project": item.tags.get("project"),
                "cc_key": "cost_center",
                "cost_center": item.tags.get("cost_center"),
                "env_key": "environment",
                "environment": item.tags.get("environment"),
                "pair": item.extra.get("pair"),
                "cluster": item.extra.get("cluster", ""),
                "az_index": item.extra.get("az"),
            }
        )
    frame = pd.DataFrame(rows)
    # the two lines of one NAT gateway or one chatty instance share a resource id
    frame["pair_id"] = ""
    for pair in sorted({p for p in frame["pair"].dropna()}):
        style = (
            "nat"
            if frame.loc[frame["pair"] == pair, "label"].iloc[0].startswith("nat")
            else "instance"
        )
        pair_ids[int(pair)] = resource_id(style, rng, 1, [""], [""])[0]
        frame.loc[frame["pair"] == pair, "pair_id"] = pair_ids[int(pair)]
    return frame, products


def start_of(day: int, first: dt.date) -> dt.date:
    """Calendar date of day index `day`."""
    return first + dt.timedelta(days=day)
