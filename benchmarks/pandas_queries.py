"""The pandas baseline's aggregates: every stored query of the report, re-done in vectorised pandas.

One function per stored query (same name), each taking the canonical frame from
`pandas_frame.load_window` and the query's parameters (the catalog defaults), returning the
rows the SQL returns. Group keys keep missing values (`dropna=False`) because SQL groups
NULL too; `count(distinct x)` is `nunique()` (which, like SQL, ignores missing values).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

Frame = pd.DataFrame
_MONTH_DAYS = 30.4375
_USAGE = ["Usage", "DiscountedUsage", "SavingsPlanCoveredUsage"]


def _days(c: Frame) -> int:
    return int(c["usage_date"].nunique())


def _group(frame: Frame, keys: list[str]) -> Any:
    return frame.groupby(keys, dropna=False, sort=False)


def _tag(c: Frame, key: str) -> pd.Series:
    return c[f"tag_{key}"]


def _blank(values: pd.Series) -> pd.Series:
    """SQL's coalesce(value, '')."""
    return values.fillna("")


def _has(c: Frame, text: str) -> pd.Series:
    return c["usage_type"].str.contains(text, regex=False)


def _taggable(c: Frame) -> Frame:
    return c[c["resource_id"].notna() & c["charge_type"].isin(_USAGE)]


def window_totals(c: Frame, p: dict[str, Any]) -> Frame:
    return Frame(
        {
            "rows": [len(c)],
            "days": _days(c),
            "first_day": c["usage_date"].min(),
            "last_day": c["usage_date"].max(),
            "unblended_cost": c["unblended_cost"].sum(),
            "amortized_cost": c["amortized_cost"].sum(),
            "public_cost": c["public_cost"].sum(),
            "accounts": c["account_id"].nunique(),
            "services": c["service_code"].nunique(),
            "resources": c["resource_id"].nunique(),
        }
    )


def _usage_cost(c: Frame) -> pd.Series:
    """Usage before credits per line: on-demand usage as billed, covered usage at on-demand rates."""
    covered = c["charge_type"].isin(["SavingsPlanCoveredUsage", "DiscountedUsage"])
    return (
        c["unblended_cost"]
        .where(c["charge_type"] == "Usage", 0.0)
        .where(~covered, c["public_cost"])
    )


def bill_waterfall(c: Frame, p: dict[str, Any]) -> Frame:
    out = (
        _group(c, ["currency", "charge_type"])
        .agg(
            line_items=("unblended_cost", "size"),
            unblended_cost=("unblended_cost", "sum"),
            amortized_cost=("amortized_cost", "sum"),
            public_cost=("public_cost", "sum"),
        )
        .reset_index()
    )
    return out.sort_values(["currency", "unblended_cost"], ascending=[True, False])


def spend_by_service_daily(c: Frame, p: dict[str, Any]) -> Frame:
    keys = ["usage_date", "service_code", "service_name"]
    rows = c.assign(usage_cost=_usage_cost(c))
    out = _group(rows, keys)[["usage_cost", "unblended_cost", "amortized_cost"]].sum().reset_index()
    return out.sort_values(["usage_date", "usage_cost"], ascending=[True, False])


def spend_by_account_monthly(c: Frame, p: dict[str, Any]) -> Frame:
    keys = ["billing_period", "account_id", "account_name"]
    out = _group(c, keys)[["unblended_cost", "amortized_cost"]].sum().reset_index()
    return out.sort_values(["billing_period", "unblended_cost"], ascending=[True, False])


def month_over_month_by_service(c: Frame, p: dict[str, Any]) -> Frame:
    start, end = pd.Timestamp(p["start_date"]), pd.Timestamp(p["end_date"])
    period = pd.to_datetime(c["billing_period"])
    complete = (period >= start) & (period + pd.offsets.MonthBegin(1) <= end)
    rows = c[complete].assign(usage_cost=_usage_cost(c[complete]))
    columns = [
        "billing_period",
        "previous_period",
        "service_code",
        "service_name",
        "usage_cost",
        "previous_usage_cost",
        "change_usd",
        "change_pct",
    ]
    money = ["usage_cost", "previous_usage_cost", "change_usd", "change_pct"]
    empty = Frame(columns=columns).astype(dict.fromkeys(money, float))
    if rows.empty:
        return empty
    last = pd.to_datetime(rows["billing_period"]).max()
    previous = last - pd.offsets.MonthBegin(1)
    if pd.to_datetime(rows["billing_period"]).min() > previous:
        return empty
    month = pd.to_datetime(rows["billing_period"])
    out = (
        rows.assign(
            now=rows["usage_cost"].where(month == last, 0.0),
            before=rows["usage_cost"].where(month == previous, 0.0),
        )
        .groupby("service_code")
        .agg(
            service_name=("service_name", "max"),
            usage_cost=("now", "sum"),
            previous_usage_cost=("before", "sum"),
        )
        .reset_index()
    )
    out["billing_period"], out["previous_period"] = last, previous
    out["change_usd"] = out["usage_cost"] - out["previous_usage_cost"]
    out["change_pct"] = (out["change_usd"] / out["previous_usage_cost"] * 100).where(
        out["previous_usage_cost"] >= 0.005
    )
    big = out[["usage_cost", "previous_usage_cost"]].abs().max(axis=1) >= p["min_cost"]
    out = out[big].assign(_abs=out["change_usd"].abs())
    return out.sort_values(["_abs", "service_code"], ascending=[False, True])[columns]


def _per_month(cost: pd.Series, days: int) -> pd.Series:
    return cost * _MONTH_DAYS / days


def gp2_volumes(c: Frame, p: dict[str, Any]) -> Frame:
    rows = c[c["usage_type"].str.endswith("EBS:VolumeUsage.gp2") & (c["charge_type"] == "Usage")]
    v = (
        _group(rows, ["account_id", "region", "resource_id"])
        .agg(gb_months=("usage_amount", "sum"), unblended_cost=("unblended_cost", "sum"))
        .reset_index()
    )
    v["monthly_cost"] = _per_month(v["unblended_cost"], _days(c))
    v["monthly_savings"] = v["monthly_cost"] * p["gp3_saving_share"]
    return v.sort_values("monthly_savings", ascending=False)


def untagged_spend(c: Frame, p: dict[str, Any]) -> Frame:
    t = _taggable(c)
    untagged = _blank(_tag(t, p["tag_key"])) == ""
    t = t.assign(
        untagged_cost=t["amortized_cost"].where(untagged, 0.0),
        untagged_id=t["resource_id"].where(untagged),
    )
    s = (
        _group(t, ["account_id", "account_name", "service_code"])
        .agg(
            total_cost=("amortized_cost", "sum"),
            untagged_cost=("untagged_cost", "sum"),
            untagged_resources=("untagged_id", "nunique"),
            resources=("resource_id", "nunique"),
        )
        .reset_index()
    )
    s["untagged_pct"] = (s["untagged_cost"] / s["total_cost"] * 100).where(s["total_cost"] != 0)
    return s[s["untagged_cost"] > 0].sort_values("untagged_cost", ascending=False)


_BUCKETS = (
    "vms",
    "containers",
    "serverless",
    "managed_db",
    "storage",
    "data_transfer",
    "analytics",
)


def workload_fingerprint(c: Frame, p: dict[str, Any]) -> Frame:
    u = c[c["charge_type"].isin(_USAGE)]
    code = u["service_code"]
    bucket = np.select(
        [
            _has(u, "DataTransfer") | _has(u, "NatGateway"),
            code.isin(["AmazonECS", "AmazonEKS"]) | _has(u, "Fargate"),
            code.isin(["AWSLambda", "AmazonApiGateway", "AWSStepFunctions"]),
            (code == "AmazonEC2") & (_has(u, "BoxUsage") | _has(u, "SpotUsage")),
            code.isin(
                [
                    "AmazonRDS",
                    "AmazonDynamoDB",
                    "AmazonElastiCache",
                    "AmazonRedshift",
                    "AmazonDocDB",
                ]
            ),
            (code == "AmazonS3") | _has(u, "EBS:"),
            code.isin(["AmazonAthena", "AWSGlue", "ElasticMapReduce", "AmazonKinesis"]),
        ],
        # in the order of the conditions: the first that holds names the bucket
        ["data_transfer", "containers", "serverless", "vms", "managed_db", "storage", "analytics"],
        "other",
    )
    spend = pd.crosstab(
        [u["account_id"], u["account_name"]], bucket, values=u["amortized_cost"], aggfunc="sum"
    ).fillna(0.0)
    s = Frame({"total_cost": spend.sum(axis=1)})
    for name in _BUCKETS:
        share = spend.get(name, 0.0)
        s[f"pct_{name}"] = share / s["total_cost"] * 100
    s = s[s["total_cost"] > 0].reset_index()
    s["architecture"] = pd.Series(
        np.select(
            [
                s["pct_containers"] >= 30,
                s["pct_serverless"] >= 30,
                s["pct_managed_db"] >= 35,
                s["pct_vms"] >= 40,
                s["pct_storage"] >= 40,
                s["pct_analytics"] >= 30,
            ],
            [
                "container platform",
                "serverless application",
                "database-centred workload",
                "VM-based workload",
                "storage-heavy workload",
                "analytics platform",
            ],
            "mixed workload",
        ),
        index=s.index,
    ) + np.where(s["pct_data_transfer"] >= 15, " with heavy data transfer", "")
    return s.sort_values("total_cost", ascending=False)


def cross_az_data_transfer(c: Frame, p: dict[str, Any]) -> Frame:
    rows = c[
        _has(c, "DataTransfer-Regional-Bytes")
        & (c["charge_type"] == "Usage")
        & c["resource_id"].notna()
    ]
    x = (
        _group(rows, ["account_id", "region", "resource_id"])
        .agg(
            availability_zone=("availability_zone", "max"),
            gb=("usage_amount", "sum"),
            unblended_cost=("unblended_cost", "sum"),
        )
        .reset_index()
    )
    x["monthly_cost"] = _per_month(x["unblended_cost"], _days(c))
    x["monthly_savings"] = x["monthly_cost"] * p["avoidable_share"]
    x = x[x["monthly_cost"] >= p["min_monthly_cost"]]
    return x.sort_values("monthly_cost", ascending=False)


def nat_gateway_without_endpoints(c: Frame, p: dict[str, Any]) -> Frame:
    usage = c[c["charge_type"] == "Usage"]
    nat = usage[_has(usage, "NatGateway-")]
    is_bytes = nat["usage_type"].str.endswith("NatGateway-Bytes")
    is_hours = nat["usage_type"].str.endswith("NatGateway-Hours")
    nat = nat.assign(
        processed_gb=nat["usage_amount"].where(is_bytes, 0.0),
        processing_cost=nat["unblended_cost"].where(is_bytes, 0.0),
        hourly_cost=nat["unblended_cost"].where(is_hours, 0.0),
    )
    gateways = (
        _group(nat, ["account_id", "region", "resource_id"])[
            ["processed_gb", "processing_cost", "hourly_cost"]
        ]
        .sum()
        .reset_index()
    )
    endpoint = usage[usage["service_code"].isin(["AmazonS3", "AmazonDynamoDB"])]
    endpoint = endpoint.assign(
        s3_cost=endpoint["unblended_cost"].where(endpoint["service_code"] == "AmazonS3", 0.0),
        dynamodb_cost=endpoint["unblended_cost"].where(
            endpoint["service_code"] == "AmazonDynamoDB", 0.0
        ),
    )
    services = _group(endpoint, ["account_id", "region"])[["s3_cost", "dynamodb_cost"]].sum()
    # an inner join on equal keys: a NULL region matches nothing, as in SQL
    g = gateways.dropna(subset=["account_id", "region"]).merge(
        services.reset_index().dropna(subset=["account_id", "region"]), on=["account_id", "region"]
    )
    g = g[g["s3_cost"] + g["dynamodb_cost"] > 0]
    g["monthly_processing_cost"] = _per_month(g["processing_cost"], _days(c))
    g["monthly_savings"] = g["monthly_processing_cost"] * p["endpoint_share"]
    return g.sort_values("monthly_savings", ascending=False)


_PREVIOUS = {
    "t1": "t3", "t2": "t3", "m1": "m7i", "m2": "r7i", "m3": "m7i", "m4": "m7i", "c1": "c7i",
    "c3": "c7i", "c4": "c7i", "r3": "r7i", "r4": "r7i", "cr1": "r7i", "x1": "x2idn",
    "i2": "i4i", "hs1": "d3", "d2": "d3", "g2": "g5", "g3": "g5", "p2": "p3",
}  # fmt: skip
_OLD_TYPES = r"^(?:m1|m2|m3|m4|c1|c3|c4|r3|r4|t1|t2|i2|d2|g2|g3|p2|x1|cr1|hs1)\."
_X86_TYPES = r"^(?:m5|m5a|m5n|m6i|m6a|m7i|c5|c5a|c5n|c6i|c6a|c7i|r5|r5a|r5n|r6i|r6a|r7i|t3|t3a)\."


def previous_generation_instances(c: Frame, p: dict[str, Any]) -> Frame:
    rows = c[
        c["instance_type"].str.contains(_OLD_TYPES).fillna(False).astype(bool)
        & (c["charge_type"] == "Usage")
        & c["resource_id"].notna()
    ]
    i = (
        _group(rows, ["account_id", "region", "resource_id", "instance_type"])
        .agg(hours=("usage_amount", "sum"), unblended_cost=("unblended_cost", "sum"))
        .reset_index()
    )
    i["current_family"] = i["instance_type"].str.extract(r"^([a-z0-9]+)\.")[0].map(_PREVIOUS)
    i["monthly_cost"] = _per_month(i["unblended_cost"], _days(c))
    i["monthly_savings"] = i["monthly_cost"] * p["saving_share"]
    return i.sort_values("monthly_savings", ascending=False)


def graviton_candidates(c: Frame, p: dict[str, Any]) -> Frame:
    rows = c[
        (c["service_code"] == "AmazonEC2")
        & (_has(c, "BoxUsage") | _has(c, "SpotUsage"))
        & c["instance_type"].str.contains(_X86_TYPES).fillna(False).astype(bool)
    ]
    x = (
        _group(rows, ["account_id", "region", "instance_type"])
        .agg(
            instances=("resource_id", "nunique"),
            resource_ids=("resource_id", lambda v: ", ".join(sorted(set(v.dropna())))),
            hours=("usage_amount", "sum"),
            amortized_cost=("amortized_cost", "sum"),
        )
        .reset_index()
    )
    first = x["instance_type"].str[0]
    x["graviton_family"] = first.map({"m": "m7g", "c": "c7g", "r": "r7g", "t": "t4g"})
    x["monthly_cost"] = _per_month(x["amortized_cost"], _days(c))
    x["monthly_savings"] = x["monthly_cost"] * p["saving_share"]
    return x.sort_values("monthly_savings", ascending=False)


def idle_elastic_ips(c: Frame, p: dict[str, Any]) -> Frame:
    rows = c[_has(c, "IdleAddress") & (c["charge_type"] == "Usage")]
    i = (
        _group(rows, ["account_id", "region", "resource_id"])
        .agg(idle_hours=("usage_amount", "sum"), unblended_cost=("unblended_cost", "sum"))
        .reset_index()
    )
    i["monthly_savings"] = _per_month(i["unblended_cost"], _days(c))
    return i.sort_values("monthly_savings", ascending=False)


def public_ipv4_charges(c: Frame, p: dict[str, Any]) -> Frame:
    rows = c[(_has(c, "PublicIPv4") | _has(c, "ElasticIP")) & (c["charge_type"] == "Usage")]
    rows = rows.assign(
        in_use_cost=rows["unblended_cost"].where(_has(rows, "InUseAddress"), 0.0),
        idle_cost=rows["unblended_cost"].where(_has(rows, "IdleAddress"), 0.0),
    )
    out = (
        _group(rows, ["account_id", "account_name", "region"])
        .agg(
            in_use_cost=("in_use_cost", "sum"),
            idle_cost=("idle_cost", "sum"),
            addresses=("resource_id", "nunique"),
            unblended_cost=("unblended_cost", "sum"),
        )
        .reset_index()
    )
    return out.sort_values("unblended_cost", ascending=False)


def s3_storage_class_mix(c: Frame, p: dict[str, Any]) -> Frame:
    s = c[
        (c["service_code"] == "AmazonS3") & _has(c, "TimedStorage") & (c["charge_type"] == "Usage")
    ]
    storage_class = np.select(
        [
            _has(s, "TimedStorage-INT"),
            _has(s, "TimedStorage-SIA"),
            _has(s, "TimedStorage-ZIA"),
            _has(s, "TimedStorage-GDA"),
            _has(s, "TimedStorage-Glacier") | _has(s, "TimedStorage-GIR"),
            s["usage_type"].str.endswith("TimedStorage-ByteHrs"),
        ],
        ["INTELLIGENT_TIERING", "STANDARD_IA", "ONEZONE_IA", "DEEP_ARCHIVE", "GLACIER", "STANDARD"],
        "OTHER",
    )
    standard = storage_class == "STANDARD"
    s = s.assign(
        storage_class=storage_class,
        standard_gb=s["usage_amount"].where(standard, 0.0),
        standard_cost=s["unblended_cost"].where(standard, 0.0),
    )
    b = (
        _group(s, ["account_id", "region", "resource_id"])
        .agg(
            gb_months=("usage_amount", "sum"),
            storage_cost=("unblended_cost", "sum"),
            standard_gb_months=("standard_gb", "sum"),
            standard_cost=("standard_cost", "sum"),
            classes=("storage_class", "nunique"),
        )
        .reset_index()
    )
    days = _days(c)
    b["standard_pct"] = b["standard_gb_months"] / b["gb_months"] * 100
    b["avg_gb"] = _per_month(b["gb_months"], days)
    b["monthly_savings"] = _per_month(b["standard_cost"], days) * p["tiering_saving_share"]
    b = b[
        (b["gb_months"] > 0)
        & (b["standard_pct"] >= p["standard_pct_floor"])
        & (b["avg_gb"] >= p["min_avg_gb"])
    ]
    return b.drop(columns="standard_gb_months").sort_values("monthly_savings", ascending=False)


def data_transfer_out(c: Frame, p: dict[str, Any]) -> Frame:
    rows = c[_has(c, "DataTransfer-Out-Bytes") & (c["charge_type"] == "Usage")]
    e = (
        _group(rows, ["service_code", "region", "resource_id"])
        .agg(gb=("usage_amount", "sum"), unblended_cost=("unblended_cost", "sum"))
        .reset_index()
        .nlargest(p["top_n"], "unblended_cost")
    )
    e["monthly_cost"] = _per_month(e["unblended_cost"], _days(c))
    return e


def tag_coverage(c: Frame, p: dict[str, Any]) -> Frame:
    t = _taggable(c)
    keys = ["account_id", "account_name", "service_code", "resource_id"]
    tag_columns = [name for name in c.columns if name.startswith("tag_")]
    # one row per resource and tag set, as the SQL groups by the tags map
    per_resource = _group(t, [*keys, *tag_columns])["amortized_cost"].sum()
    long = per_resource.reset_index().melt(
        id_vars=[*keys, "amortized_cost"], value_vars=tag_columns, var_name="tag_key"
    )
    tagged = _blank(long["value"]) != ""
    long = long.assign(
        tag_key=long["tag_key"].str.removeprefix("tag_"),
        tagged_cost=long["amortized_cost"].where(tagged, 0.0),
        tagged_id=long["resource_id"].where(tagged),
    )
    out = (
        _group(long, ["tag_key", "account_id", "account_name", "service_code"])
        .agg(
            total_cost=("amortized_cost", "sum"),
            tagged_cost=("tagged_cost", "sum"),
            resources=("resource_id", "nunique"),
            tagged_resources=("tagged_id", "nunique"),
        )
        .reset_index()
    )
    out["cost_coverage_pct"] = (out["tagged_cost"] / out["total_cost"] * 100).where(
        out["total_cost"] != 0
    )
    out["resource_coverage_pct"] = out["tagged_resources"] / out["resources"] * 100
    return out.sort_values(["tag_key", "total_cost"], ascending=[True, False])


def untagged_top_resources(c: Frame, p: dict[str, Any]) -> Frame:
    t = _taggable(c)
    t = t[_blank(_tag(t, p["tag_key"])) == ""]
    u = (
        t.groupby("resource_id")
        .agg(
            account_id=("account_id", "max"),
            account_name=("account_name", "max"),
            service_code=("service_code", "max"),
            region=("region", "max"),
            first_seen=("usage_date", "min"),
            last_seen=("usage_date", "max"),
            amortized_cost=("amortized_cost", "sum"),
        )
        .nlargest(p["top_n"], "amortized_cost")
        .reset_index()
    )
    u["monthly_cost"] = _per_month(u["amortized_cost"], _days(c))
    return u


def _resources(rows: Frame, key: str, **extra: tuple[str, str]) -> Frame:
    """Per resource: its account, service, region, the tag's value ('' if none) and its cost."""
    return (
        rows.assign(tag_value=_blank(_tag(rows, key)))
        .groupby("resource_id")
        .agg(
            account_id=("account_id", "max"),
            tag_value=("tag_value", "max"),
            amortized_cost=("amortized_cost", "sum"),
            **extra,
        )
        .reset_index()
    )


def owner_by_start_time(c: Frame, p: dict[str, Any]) -> Frame:
    r = _resources(
        _taggable(c), p["tag_key"], region=("region", "max"), started=("usage_start", "min")
    )
    r["first_hour"] = r["started"].dt.floor("h")
    untagged = r[(r["tag_value"] == "") & (r["first_hour"] > r["first_hour"].min())]
    tagged = r.loc[r["tag_value"] != "", ["account_id", "region", "first_hour", "tag_value"]]
    keys = ["resource_id", "account_id", "region", "first_hour", "amortized_cost"]
    # equal keys: a NULL region pairs with nothing, as in the SQL join
    pairs = untagged.drop(columns="tag_value").dropna(subset=["region"])
    pairs = pairs.merge(tagged.dropna(subset=["region"]), on=["account_id", "region", "first_hour"])
    votes = pairs.groupby([*keys, "tag_value"]).size().rename("votes").reset_index()
    votes["neighbour_count"] = votes.groupby("resource_id")["votes"].transform("sum")
    votes = votes.sort_values(["resource_id", "votes", "tag_value"], ascending=[True, False, True])
    best = votes.drop_duplicates("resource_id").rename(columns={"tag_value": "likely_value"})
    best["confidence"] = best["votes"] / best["neighbour_count"]
    return best.sort_values(["confidence", "neighbour_count", "amortized_cost"], ascending=False)


def owner_by_service_cluster(c: Frame, p: dict[str, Any]) -> Frame:
    r = _resources(_taggable(c), p["tag_key"], service_code=("service_code", "max"))
    scope = ["account_id", "service_code"]
    d = (
        r[r["tag_value"] != ""]
        .groupby([*scope, "tag_value"])["amortized_cost"]
        .sum()
        .rename("value_cost")
        .reset_index()
    )
    d["tagged_cost"] = d.groupby(scope)["value_cost"].transform("sum")
    d = d.sort_values([*scope, "value_cost", "tag_value"], ascending=[True, True, False, True])
    choice = d.drop_duplicates(scope).rename(columns={"tag_value": "likely_value"})
    out = r[r["tag_value"] == ""].merge(choice, on=scope)
    out["probability"] = (out["value_cost"] / out["tagged_cost"]).where(out["tagged_cost"] > 0)
    columns = ["resource_id", *scope, "likely_value", "probability", "amortized_cost"]
    return out[columns].sort_values("amortized_cost", ascending=False)


def orphan_candidates(c: Frame, p: dict[str, Any]) -> Frame:
    rows = c[c["resource_id"].notna() & (c["charge_type"] == "Usage")]
    volume, snapshot = _has(rows, "VolumeUsage"), _has(rows, "SnapshotUsage")
    idle, stored = _has(rows, "IdleAddress"), _has(rows, "TimedStorage")
    rows = rows.assign(
        active=(~(volume | snapshot | stored | idle)).astype(int),
        kind=np.select([idle, snapshot, volume], ["idle address", "snapshot", "volume"], "storage"),
    )
    r = _resources(
        rows,
        p["tag_key"],
        service_code=("service_code", "max"),
        region=("region", "max"),
        active_lines=("active", "sum"),
        kind=("kind", "max"),
    )
    r = r[(r["active_lines"] == 0) & (r["tag_value"] == "")]
    r["monthly_cost"] = _per_month(r["amortized_cost"], _days(c))
    return r.sort_values("amortized_cost", ascending=False)


_SYNONYMS = {
    "production": "prod",
    "prd": "prod",
    "development": "dev",
    "stage": "staging",
    "stg": "staging",
}


def tag_value_hygiene(c: Frame, p: dict[str, Any]) -> Frame:
    raw = _tag(c, p["tag_key"])
    t = c.loc[c["resource_id"].notna() & raw.notna(), ["resource_id", "amortized_cost"]]
    t["raw_value"] = raw
    # SQL trim() removes spaces only
    folded = t["raw_value"].str.strip(" ").str.lower()
    t["canonical_value"] = folded.replace(_SYNONYMS)
    h = (
        t.groupby("canonical_value")
        .agg(
            variants=("raw_value", lambda v: ", ".join(f'"{x}"' for x in sorted(v.unique()))),
            variant_count=("raw_value", "nunique"),
            resources=("resource_id", "nunique"),
            amortized_cost=("amortized_cost", "sum"),
        )
        .reset_index()
    )
    h = h[(h["variant_count"] > 1) | (h["canonical_value"] == "")]
    h["problem"] = np.where(h["canonical_value"] == "", "empty value", "variants")
    return h.sort_values("amortized_cost", ascending=False)


def cost_by_tag(c: Frame, p: dict[str, Any]) -> Frame:
    u = c[c["charge_type"].isin(_USAGE)]
    value = _blank(_tag(u, p["tag_key"]))
    u = u.assign(tag_value=value.where(value != "", "(untagged)"))
    out = (
        u.groupby("tag_value")
        .agg(
            resources=("resource_id", "nunique"),
            unblended_cost=("unblended_cost", "sum"),
            amortized_cost=("amortized_cost", "sum"),
        )
        .reset_index()
    )
    return out.sort_values("amortized_cost", ascending=False)


def spend_by_region(c: Frame, p: dict[str, Any]) -> Frame:
    r = (
        c.assign(region=c["region"].fillna("global"))
        .groupby("region")[["unblended_cost", "amortized_cost"]]
        .sum()
        .reset_index()
    )
    r["share_pct"] = r["unblended_cost"] / r["unblended_cost"].sum() * 100
    return r.sort_values("unblended_cost", ascending=False)


def top_movers(c: Frame, p: dict[str, Any]) -> Frame:
    later = c["usage_date"].max() - pd.Timedelta(days=p["settle_days"])
    earlier = later - pd.Timedelta(days=1)
    rows = c[c["resource_id"].notna() & c["usage_date"].isin([earlier, later])]
    rows = rows.assign(
        earlier_cost=rows["unblended_cost"].where(rows["usage_date"] == earlier, 0.0),
        later_cost=rows["unblended_cost"].where(rows["usage_date"] == later, 0.0),
    )
    d = (
        rows.groupby("resource_id")
        .agg(
            service_code=("service_code", "max"),
            account_id=("account_id", "max"),
            earlier_cost=("earlier_cost", "sum"),
            later_cost=("later_cost", "sum"),
        )
        .reset_index()
    )
    d["earlier_day"], d["later_day"] = earlier, later
    d["change_usd"] = d["later_cost"] - d["earlier_cost"]
    d["change_pct"] = (d["change_usd"] / d["earlier_cost"] * 100).where(d["earlier_cost"] > 0)
    d = d[d["change_usd"].abs() >= p["min_change_usd"]]
    return d.sort_values("change_usd", key=lambda v: v.abs(), ascending=False)


def daily_anomalies(c: Frame, p: dict[str, Any]) -> Frame:
    u = c[c["charge_type"].isin(_USAGE)]
    u = u.assign(usage_cost=_usage_cost(u))
    d = (
        _group(u, ["usage_date", "service_code", "service_name"])["usage_cost"]
        .sum()
        .reset_index()
        .sort_values(["service_code", "usage_date"])
    )
    # the 14 days before each day, per service: shift by one, then a 14-row rolling window
    before = d.groupby("service_code")["usage_cost"].shift()
    window = before.groupby(d["service_code"]).rolling(14, min_periods=1)
    d["baseline_cost"] = window.mean().droplevel(0)
    d["baseline_stddev"] = window.std().droplevel(0)
    d["baseline_days"] = window.count().droplevel(0)
    d = d[d["baseline_days"] >= 7].copy()
    d["z_score"] = ((d["usage_cost"] - d["baseline_cost"]) / d["baseline_stddev"]).where(
        d["baseline_stddev"] > 0
    )
    d["excess_cost"] = d["usage_cost"] - d["baseline_cost"]
    material = (d["excess_cost"] >= p["min_excess_usd"]) & (
        d["excess_cost"] >= d["baseline_cost"] * p["min_excess_pct"] / 100
    )
    z, flat = d["z_score"], d["baseline_stddev"] == 0
    d["severity"] = np.select(
        [~material, z >= p["high_z"], z >= p["medium_z"], z >= p["low_z"], flat],
        [None, "high", "medium", "low", "high"],
        None,
    )
    d["is_anomaly"] = ((z >= p["low_z"]) | flat) & material
    return d.sort_values(["is_anomaly", "z_score", "usage_date"], ascending=[False, False, True])


def amortized_vs_unblended(c: Frame, p: dict[str, Any]) -> Frame:
    committed = c["purchase_option"].isin(["SavingsPlan", "Reserved", "Spot"]) & c[
        "charge_type"
    ].isin(["Usage", "SavingsPlanCoveredUsage", "DiscountedUsage"])
    rows = c.assign(
        savings=(c["public_cost"] - c["amortized_cost"]).where(committed, 0.0),
    )
    out = (
        rows.groupby("purchase_option")
        .agg(
            unblended_cost=("unblended_cost", "sum"),
            amortized_cost=("amortized_cost", "sum"),
            on_demand_equivalent=("public_cost", "sum"),
            savings_vs_on_demand=("savings", "sum"),
        )
        .reset_index()
    )
    return out.sort_values("amortized_cost", ascending=False)


def commitment_coverage_utilization(c: Frame, p: dict[str, Any]) -> Frame:
    kinds = ["SavingsPlanCoveredUsage", "SavingsPlanRecurringFee", "DiscountedUsage", "RIFee"]
    rows = c[c["charge_type"].isin(kinds)]
    used = rows["charge_type"].isin(["SavingsPlanCoveredUsage", "DiscountedUsage"])
    rows = rows.assign(
        commitment_type=np.where(rows["charge_type"].isin(kinds[:2]), "Savings Plan", "Reserved"),
        used_cost=rows["amortized_cost"].where(used, 0.0),
        unused_cost=rows["amortized_cost"].where(~used, 0.0),
        covered_on_demand_cost=rows["public_cost"].where(used, 0.0),
    )
    out = (
        rows.groupby("commitment_type")[["used_cost", "unused_cost", "covered_on_demand_cost"]]
        .sum()
        .reset_index()
    )
    on_demand = (c["purchase_option"] == "OnDemand") & (c["charge_type"] == "Usage")
    sp = on_demand & (_has(c, "BoxUsage") | _has(c, "Fargate") | (c["service_code"] == "AWSLambda"))
    ri = on_demand & (_has(c, "NodeUsage") | _has(c, "InstanceUsage"))
    eligible = {
        "Savings Plan": c.loc[sp, "unblended_cost"].sum(),
        "Reserved": c.loc[ri, "unblended_cost"].sum(),
    }
    total = out["used_cost"] + out["unused_cost"]
    out["utilization_pct"] = (out["used_cost"] / total * 100).where(total > 0)
    out["on_demand_eligible_cost"] = out["commitment_type"].map(eligible)
    covered = out["covered_on_demand_cost"] + out["on_demand_eligible_cost"]
    out["coverage_pct"] = out["covered_on_demand_cost"] / covered.replace(0, np.nan) * 100
    return out.sort_values("commitment_type")


def top_resources(c: Frame, p: dict[str, Any]) -> Frame:
    rows = c[c["resource_id"].notna()]
    return (
        rows.assign(owner=_blank(rows["tag_owner"]))
        .groupby("resource_id")
        .agg(
            account_name=("account_name", "max"),
            service_code=("service_code", "max"),
            region=("region", "max"),
            owner=("owner", "max"),
            unblended_cost=("unblended_cost", "sum"),
            amortized_cost=("amortized_cost", "sum"),
        )
        .nlargest(p["top_n"], "amortized_cost")
        .reset_index()
    )


def month_end_forecast(c: Frame, p: dict[str, Any]) -> Frame:
    once = c["charge_type"].isin(["Fee", "SavingsPlanUpfrontFee", "Refund"])
    monthly = c["charge_type"].isin(["RIFee", "Tax"])
    rows = c.assign(
        run_rate_cost=c["unblended_cost"].where(~(once | monthly), 0.0),
        one_time_cost=c["unblended_cost"].where(once, 0.0),
        monthly_fee_cost=c["unblended_cost"].where(monthly, 0.0),
    )
    daily = (
        rows.groupby(["billing_period", "usage_date"])[
            ["run_rate_cost", "one_time_cost", "monthly_fee_cost"]
        ]
        .sum()
        .reset_index()
    )
    latest = daily[daily["billing_period"] == daily["billing_period"].max()]
    period = latest["billing_period"].iloc[0]
    days_in_month = (period + pd.offsets.MonthBegin(1) - period).days
    days = len(latest)
    run_rate, mean = latest["run_rate_cost"].sum(), latest["run_rate_cost"].mean()
    once_cost, monthly_cost = latest["one_time_cost"].sum(), latest["monthly_fee_cost"].sum()
    spread = 0.0 if days < 2 else latest["run_rate_cost"].std()
    to_date = run_rate + once_cost + monthly_cost
    forecast = to_date + mean * (days_in_month - days)
    band = 1.96 * spread * np.sqrt(days_in_month - days)
    enough = days >= p["min_days"]
    return Frame(
        {
            "billing_period": [period],
            "days_with_data": days,
            "days_in_month": days_in_month,
            "cost_to_date": to_date,
            "one_time_cost": once_cost,
            "monthly_fee_cost": monthly_cost,
            "avg_daily_cost": mean,
            "forecast_cost": forecast,
            "forecast_low": forecast - band if enough else None,
            "forecast_high": forecast + band if enough else None,
            "note": "range from the day-to-day spread of the run rate"
            if enough
            else f"too few days of data for a range: {days} of {p['min_days']} needed",
        }
    )


def previous_period_totals(c: Frame, p: dict[str, Any]) -> Frame:
    """The flow's comparison: totals over the window of equal length before the report's."""
    return Frame(
        {
            "rows": [len(c)],
            "days": _days(c),
            "unblended_cost": c["unblended_cost"].sum(),
        }
    )


QUERIES: dict[str, Callable[[Frame, dict[str, Any]], Frame]] = {
    f.__name__: f
    for f in (
        window_totals,
        bill_waterfall,
        spend_by_service_daily,
        spend_by_account_monthly,
        month_over_month_by_service,
        gp2_volumes,
        untagged_spend,
        workload_fingerprint,
        cross_az_data_transfer,
        nat_gateway_without_endpoints,
        previous_generation_instances,
        graviton_candidates,
        idle_elastic_ips,
        public_ipv4_charges,
        s3_storage_class_mix,
        data_transfer_out,
        tag_coverage,
        untagged_top_resources,
        owner_by_start_time,
        owner_by_service_cluster,
        orphan_candidates,
        tag_value_hygiene,
        cost_by_tag,
        spend_by_region,
        top_movers,
        daily_anomalies,
        amortized_vs_unblended,
        commitment_coverage_utilization,
        top_resources,
        month_end_forecast,
    )
}
