"""Synthetic AWS billing data (legacy CUR, CUR 2.0, FOCUS) with planted findings and their ground truth."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from finops_agent.errors import UserError
from finops_agent.sample_data import lines as L
from finops_agent.sample_data import mixed
from finops_agent.sample_data.estate import (
    ACCOUNTS,
    BACKGROUND,
    PAYER_ID,
    REGIONS,
    RESERVATION,
    SAVINGS_PLAN,
    TAX,
    Product,
)
from finops_agent.sample_data.inventory import background, planted, planted_frame, resource_id
from finops_agent.sample_data.tagging import owner_cluster_frame, owner_cluster_truth, tagging_truth
from finops_agent.sample_data.writer import (
    cur2_columns,
    cur_columns,
    focus_columns,
    focus_version_columns,
    write,
)

Schema = Literal["cur", "cur2", "focus"]
__all__ = ["SECOND_CURRENCIES", "SECOND_PROVIDER", "Schema", "generate"]
SECOND_CURRENCIES = mixed.SECOND_CURRENCIES
SECOND_PROVIDER = mixed.SECOND_PROVIDER
_SPIKE_FACTOR = 9.0


def _window(end: dt.date, months: int) -> pd.DatetimeIndex:
    last = end - dt.timedelta(days=1)
    first = pd.Timestamp(last.replace(day=1)) - pd.DateOffset(months=months - 1)
    return pd.date_range(first, pd.Timestamp(last), freq="D")


def _describe(
    resources: pd.DataFrame, products: list[Product], rng: np.random.Generator
) -> pd.DataFrame:
    """Add the per-resource text the writers need: ids, names, usage types, zones, ARNs."""
    rt = resources.reset_index(drop=True).copy()
    product = [products[i] for i in rt["product"]]
    rt["account_id"] = [ACCOUNTS[a][0] for a in rt["account"]]
    rt["account_name"] = [ACCOUNTS[a][1] for a in rt["account"]]
    rt["region_name"] = [REGIONS[r][0] for r in rt["region"]]
    rt["payer_id"], rt["payer_name"] = PAYER_ID, "acme-payer"
    for field in ("code", "name", "family", "focus_category", "operation", "unit", "instance_type"):
        rt[field] = [getattr(p, field) for p in product]
    rt["usage_type"] = [
        f"{REGIONS[r][1]}-{p.usage}" if p.prefixed and p.usage else p.usage
        for p, r in zip(product, rt["region"], strict=True)
    ]
    rt["description"] = [
        f"${p.price:g} per {p.unit} for {p.usage}" if p.usage else "" for p in product
    ]
    zones = rng.integers(0, 3, len(rt))
    rt["az"] = [
        REGIONS[r][2][(int(z) if pd.isna(i) else int(i)) % len(REGIONS[r][2])] if p.zonal else ""
        for p, r, z, i in zip(
            product,
            rt["region"],
            zones,
            rt.get("az_index", pd.Series([None] * len(rt))),
            strict=True,
        )
    ]
    ids = pd.Series([""] * len(rt), dtype=object)
    # sorted, not a set: set order follows PYTHONHASHSEED and would reorder the random draws
    for style in sorted({p.id_style for p in product if p.id_style}):
        mask = np.array([p.id_style == style for p in product])
        ids[mask] = resource_id(
            style,
            rng,
            int(mask.sum()),
            rt.loc[mask, "account_id"].tolist(),
            rt.loc[mask, "region_name"].tolist(),
        )
    paired = rt.get("pair_id", pd.Series([""] * len(rt))).fillna("") != ""
    ids[paired.to_numpy()] = rt.loc[paired, "pair_id"].to_numpy()
    rt["resource_id"] = ids.to_numpy()
    rt["sp_arn"] = np.where(
        rt["purchase"] == "sp", f"arn:aws:savingsplans::{PAYER_ID}:savingsplan/sp-0a1b2c3d", ""
    )
    rt["ri_arn"] = np.where(
        rt["purchase"] == "ri",
        f"arn:aws:elasticache:us-east-1:{ACCOUNTS[0][0]}:reserved-instance:ri-cache-1",
        "",
    )
    return rt


def _pseudo(
    kind: str, product: int, account: int, resource: str = "", **extra: str
) -> dict[str, Any]:
    return {
        "product": product,
        "account": account,
        "region": 0,
        "start_day": 0,
        "end_day": 0,
        "start_hour": 0,
        "qty": 0.0,
        "purchase": kind,
        "label": f"pseudo:{kind}",
        "noise": False,
        "owner_key": "owner",
        "project_key": "project",
        "cc_key": "cost_center",
        "env_key": "environment",
        "pair_id": resource,
        **extra,
    }


def _round(value: float) -> float:
    return round(float(value), 6)


class SampleDataError(UserError, ValueError):
    """Sample data asked for with a schema, format or size that cannot be generated."""


def generate(
    schema: Schema,
    out: Path,
    *,
    rows: int = 200_000,
    months: int = 3,
    seed: int = 7,
    fmt: Literal["parquet", "csv"] = "parquet",
    end: dt.date | None = None,
    focus_version: Literal["1.0", "1.1", "1.2"] = "1.0",
    credits_cover_usage: bool = False,
    second_provider: bool = False,
    second_currency: str | None = None,
) -> dict[str, Any]:
    """Write synthetic billing data under out/data/ and out/ground_truth.json; return the ground truth.

    FOCUS is written as version `focus_version`: 1.0 and 1.2 as AWS exports them (x_UsageType in
    1.0, SkuMeter and SkuPriceDetails in 1.2; maps typed as maps in Parquet, JSON text in CSV),
    1.1 as the specification defines it (no x_ columns; SkuMeter; JSON-text SkuPriceDetails/Tags).
    `credits_cover_usage` adds a credit each month that nets the month's bill to exactly zero,
    as promotional credits do for a new or startup account.
    `second_currency` (EUR or GBP) adds two AWS accounts under their own payer billed in that
    currency at its own prices; `second_provider` (FOCUS only) adds Microsoft Azure rows in
    their own billing account. Both are off by default, and the default output never changes.
    The ground truth's `totals`, `waterfall` and `planted` describe the main (AWS, USD) estate;
    `by_currency` and `by_provider` hold every row's totals.
    """
    if schema not in ("cur", "cur2", "focus"):
        raise SampleDataError(f"schema must be cur, cur2 or focus, not {schema!r}")
    if focus_version not in ("1.0", "1.1", "1.2"):
        raise SampleDataError(f"focus version must be 1.0, 1.1 or 1.2, not {focus_version!r}")
    if fmt not in ("parquet", "csv"):
        raise SampleDataError(f"format must be parquet or csv, not {fmt!r}")
    if second_provider and schema != "focus":
        raise SampleDataError(
            f"a second provider needs schema focus: {schema} holds AWS charges only"
        )
    if second_currency is not None and second_currency not in mixed.SECOND_CURRENCIES:
        raise SampleDataError(
            f"second currency must be one of {', '.join(mixed.SECOND_CURRENCIES)}, "
            f"not {second_currency!r}"
        )
    if months < 1 or rows < 1:
        raise SampleDataError("rows and months must be positive")
    end = end or dt.datetime.now(dt.UTC).date()
    days = _window(end, months)
    n_days = len(days)
    rng = np.random.default_rng(seed)
    first_of_last_full = max(
        0, int(np.flatnonzero(days.to_period("M") == days.to_period("M")[-1])[0]) - 1
    )
    last_full_start = int(
        np.flatnonzero(days.to_period("M") == days[first_of_last_full].to_period("M"))[0]
    )
    items = planted(n_days, last_full_start)
    planted_rt, planted_products = planted_frame(rng, items, n_days)
    spike_day = min(n_days - 1, last_full_start + 18)
    planted_rt.loc[planted_rt["label"] == "spike", ["start_day", "end_day"]] = [
        spike_day,
        spike_day + 1,
    ]

    # size the background so the whole table lands near the requested row count
    probe = background(np.random.default_rng(seed + 1), 2000, n_days)
    per_resource = float(
        ((probe["end_day"] - probe["start_day"]) * np.where(probe["purchase"] == "sp", 2, 1)).mean()
    )
    fixed = float((planted_rt["end_day"] - planted_rt["start_day"]).sum()) + 2 * n_days
    n_background = max(50, int((rows - fixed) / per_resource))
    bg = background(rng, n_background, n_days)
    products = [*BACKGROUND, *planted_products, SAVINGS_PLAN, RESERVATION, TAX]
    sp_product, ri_product, tax_product = len(products) - 3, len(products) - 2, len(products) - 1
    sp_arn = f"arn:aws:savingsplans::{PAYER_ID}:savingsplan/sp-0a1b2c3d"
    pseudo = pd.DataFrame(
        [
            _pseudo("sp", sp_product, 0, sp_arn),
            _pseudo("ri", ri_product, 0),
            _pseudo("ri", ri_product, 0),
            *[_pseudo("tax", tax_product, a) for a in range(len(ACCOUNTS))],
            _pseudo("credit", tax_product, 2),
            _pseudo("refund", tax_product, 1),
        ]
    )
    resources = pd.concat([bg, planted_rt, pseudo], ignore_index=True)
    rt = _describe(resources, products, rng)
    rt, products = _plant_top_mover(rt, products, n_days, seed)
    usage = L.usage_lines(rng, rt, products, days)
    rt, products, usage = _with_owner_cluster(rt, products, usage, days, seed)
    # lambda's usual daily cost sets the size of the planted one-day spike
    spike_idx = int(rt.index[rt["label"] == "spike"][0])
    is_lambda = np.isin(usage.res, rt.index[rt["code"] == "AWSLambda"].to_numpy()) & (
        usage.res != spike_idx
    )
    baseline = (
        float(usage.values["unblended"][is_lambda].sum() / n_days) if is_lambda.any() else 1.0
    )
    spike_line = usage.res == spike_idx
    spike_price = products[int(rt.loc[spike_idx, "product"])].price
    usage.values["qty"][spike_line] = baseline * _SPIKE_FACTOR / spike_price
    for column in ("unblended", "public"):
        usage.values[column][spike_line] = baseline * _SPIKE_FACTOR

    sp_res = int(rt.index[rt["label"] == "pseudo:sp"][0])
    ri_fee_res, ri_upfront_res = (int(i) for i in rt.index[rt["label"] == "pseudo:ri"][:2])
    rt.loc[[ri_fee_res, ri_upfront_res], "ri_arn"] = rt.loc[rt["purchase"] == "ri", "ri_arn"].iloc[
        0
    ]
    rt.loc[ri_upfront_res, "operation"] = "CreateCacheCluster:0002"
    sp_fees = L.savings_plan_fees(usage, sp_res, days)
    ri_units = int((rt["label"] == "reserved_cache").sum()) + 1
    ri_fees, amortized_upfront = L.reservation_fees(
        usage, ri_fee_res, ri_upfront_res, days, ri_units
    )
    tax = [
        L.monthly_lines(int(i), L.TAX, days, np.array([round(40 + 17.5 * a, 2)]))
        for a, i in enumerate(rt.index[rt["label"] == "pseudo:tax"])
    ]
    credit = L.monthly_lines(
        int(rt.index[rt["label"] == "pseudo:credit"][0]), L.CREDIT, days, np.array([-50.0])
    )
    refund = _refund(rt, days, last_full_start)
    all_lines = L.Lines.concat([usage, sp_fees, ri_fees, *tax, credit, refund])
    if credits_cover_usage:
        all_lines = L.Lines.concat([all_lines, _covering_credits(all_lines, rt)])
    n_main = len(rt)
    rt["currency"] = "USD"
    rt["provider"] = rt["publisher"] = rt["invoice_issuer"] = "AWS"
    # the extras draw from their own generator, so the main estate is the same with them on
    extras_rng = np.random.default_rng(seed + 1_000)
    if second_currency is not None:
        extra_rt, extra_lines = mixed.second_currency_estate(
            extras_rng, second_currency, days, len(rt)
        )
        rt, all_lines = pd.concat([rt, extra_rt]), L.Lines.concat([all_lines, extra_lines])
    if second_provider:
        extra_rt, extra_lines = mixed.second_provider_estate(extras_rng, days, len(rt))
        rt, all_lines = pd.concat([rt, extra_rt]), L.Lines.concat([all_lines, extra_lines])
    order = np.argsort(all_lines.start, kind="stable")
    all_lines = L.Lines(
        all_lines.res[order],
        all_lines.ltype[order],
        all_lines.start[order],
        {k: a[order] for k, a in all_lines.values.items()},
    )

    if out.exists():
        shutil.rmtree(out / "data", ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    if schema == "focus":
        columns = focus_version_columns(
            focus_columns(all_lines, rt), focus_version, as_json=fmt == "csv"
        )
        month_key = np.datetime_as_string(
            columns["ChargePeriodStart"].to_numpy(zero_copy_only=False).astype("datetime64[M]")
        )
    else:
        columns = (
            cur_columns(all_lines, rt)
            if schema == "cur"
            else cur2_columns(all_lines, rt, as_json=fmt == "csv")
        )
        month_key = np.datetime_as_string(all_lines.start.astype("datetime64[M]"))
    rows_by_month = write(schema, columns, month_key, out, fmt)
    money = mixed.money_truth(all_lines, rt, schema)
    line_currency = rt["currency"].to_numpy()[all_lines.res]
    for currency, part in money["by_currency"].items():
        part["waterfall"] = waterfall_truth(all_lines.subset(line_currency == currency))
    main_lines = all_lines.subset(all_lines.res < n_main)
    rt = rt.iloc[:n_main]
    truth = _ground_truth(
        schema,
        seed,
        rows_by_month,
        days,
        end,
        main_lines,
        rt,
        amortized_upfront,
        spike_day,
        baseline,
    )
    truth["waterfall"] = waterfall_truth(main_lines)
    truth["planted"]["refund"] = {
        "date": str(refund.start[0].astype("datetime64[D]")),
        "amount": _round(refund.values["unblended"][0]),
    }
    truth["planted"]["movers"] = _movers_truth(main_lines, rt, days)
    truth["planted"]["top_mover"] = _top_mover_truth(main_lines, rt, days)
    _add_reserved_cache_truth(truth["planted"]["reserved_cache"], main_lines, rt)
    truth["planted"]["owner_by_service"] = owner_cluster_truth(main_lines, rt)
    truth["planted"]["tagging"] = tagging_truth(main_lines, rt)
    truth["planted"]["usage_by_account"] = _usage_by_account(main_lines, rt)
    truth["credits_cover_usage"] = credits_cover_usage
    truth["second_provider"] = second_provider
    truth["second_currency"] = second_currency
    truth.update(money)
    if schema == "focus":
        truth["focus_version"] = focus_version
    (out / "ground_truth.json").write_text(json.dumps(truth, indent=1, sort_keys=True))
    return truth


def _usage_by_account(lines: L.Lines, rt: pd.DataFrame) -> dict[str, dict[str, dict[str, float]]]:
    """Amortised cost of usage lines (also those without a resource id) by account, region, service."""
    usage = np.isin(lines.ltype, [L.USAGE, L.SP_COVERED, L.RI_USAGE])
    frame = pd.DataFrame(
        {
            column: rt[field].to_numpy()[lines.res[usage]]
            for column, field in (
                ("account", "account_id"),
                ("region", "region_name"),
                ("service", "code"),
            )
        }
    )
    frame["amortized"] = lines.amortized()[usage]
    out: dict[str, dict[str, dict[str, float]]] = {}
    totals = frame.groupby(["account", "region", "service"])["amortized"].sum()
    for (account, region, service), cost in totals.items():
        out.setdefault(str(account), {}).setdefault(str(region), {})[str(service)] = _round(cost)
    return out


def _with_owner_cluster(
    rt: pd.DataFrame, products: list[Product], usage: L.Lines, days: pd.DatetimeIndex, seed: int
) -> tuple[pd.DataFrame, list[Product], L.Lines]:
    """Append the planted notebooks (resources, product, usage lines) to the estate.

    They draw from their own random generator and come after everything else, so the rest of
    the estate is the same as without them.
    """
    frame, extra = owner_cluster_frame(len(products))
    frame["end_day"] = len(days)
    rng = np.random.default_rng(seed + 2)
    described = _describe(frame, [*products, *extra], rng)
    lines = L.usage_lines(rng, described, [*products, *extra], days)
    lines.res = lines.res + len(rt)
    return (
        pd.concat([rt, described], ignore_index=True),
        [*products, *extra],
        L.Lines.concat([usage, lines]),
    )


_REFUND_USD = -123.45
_REFUND_DAY = 10  # day of the last full month the refund lands on


def _refund(rt: pd.DataFrame, days: pd.DatetimeIndex, last_full_start: int) -> L.Lines:
    """One refund in the last full month, as AWS issues for a billing error."""
    res = int(rt.index[rt["label"] == "pseudo:refund"][0])
    day = days.values[min(len(days) - 1, last_full_start + _REFUND_DAY)]
    return L.single_line(res, L.REFUND, day, _REFUND_USD)


# the top_movers query's default settle_days: the mover is resized on the later settled day
_MOVER_SETTLE_DAYS = 2
# a Graviton instance resized in place: no detector flags m6g, and its id stays the same
_MOVER_SIZES = (("m6g.xlarge", 0.154), ("m6g.4xlarge", 0.616))


def _plant_top_mover(
    rt: pd.DataFrame, products: list[Product], n_days: int, seed: int
) -> tuple[pd.DataFrame, list[Product]]:
    """Append one instance resized on the later settled day, so its daily cost moves by a known step.

    The rows are added after every other resource and described with their own random stream,
    so the rest of the data (ids, zones, noise) is what it was without them.
    """
    later = n_days - 1 - _MOVER_SETTLE_DAYS
    if later < 1:
        return rt, products
    sized = [
        Product(
            "AmazonEC2",
            "Amazon Elastic Compute Cloud",
            "Compute Instance",
            "Compute",
            f"BoxUsage:{itype}",
            "RunInstances",
            "Hrs",
            price,
            "hours",
            24,
            24,
            "instance",
            itype,
            zonal=True,
        )
        for itype, price in _MOVER_SIZES
    ]
    rng = np.random.default_rng([seed, 2])
    (mover_id,) = resource_id("instance", rng, 1, [""], [""])
    rows = pd.DataFrame(
        [
            {
                "product": len(products) + size,
                "account": 0,
                "region": 0,
                "start_day": start,
                "end_day": end,
                "start_hour": 0,
                "qty": 24.0,
                "purchase": "od",
                "label": "top_mover",
                "noise": False,
                "owner_key": "owner",
                "owner": "team-payments",
                "project_key": "project",
                "project": "checkout",
                "cc_key": "cost_center",
                "cost_center": "cc-104",
                "env_key": "environment",
                "environment": "prod",
                "pair_id": mover_id,
                "az_index": 0,
            }
            for size, (start, end) in enumerate(((0, later), (later, n_days)))
        ]
    )
    grown = [*products, *sized]
    described = _describe(rows, grown, rng)
    return pd.concat([rt, described], ignore_index=True), grown


def _top_mover_truth(lines: L.Lines, rt: pd.DataFrame, days: pd.DatetimeIndex) -> dict[str, Any]:
    """The planted mover's cost on the two settled days the top_movers query compares."""
    mine = rt.index[rt["label"] == "top_mover"].to_numpy()
    if len(mine) == 0:
        return {}
    later = len(days) - 1 - _MOVER_SETTLE_DAYS
    day = lines.start.astype("datetime64[D]")
    of_mover = np.isin(lines.res, mine)

    def cost_on(index: int) -> float:
        on_day = of_mover & (day == days.values[index].astype("datetime64[D]"))
        return float(lines.values["unblended"][on_day].sum())

    earlier_cost, later_cost = cost_on(later - 1), cost_on(later)
    first = rt.loc[mine[0]]
    return {
        "resource_id": first["resource_id"],
        "service_code": first["code"],
        "account_id": first["account_id"],
        "instance_types": [str(rt.loc[i, "instance_type"]) for i in mine],
        "earlier_day": days[later - 1].date().isoformat(),
        "later_day": days[later].date().isoformat(),
        "settle_days": _MOVER_SETTLE_DAYS,
        "earlier_cost": _round(earlier_cost),
        "later_cost": _round(later_cost),
        "change_usd": _round(later_cost - earlier_cost),
        "change_pct": _round((later_cost - earlier_cost) / earlier_cost * 100),
    }


def _add_reserved_cache_truth(
    planted: list[dict[str, Any]], lines: L.Lines, rt: pd.DataFrame
) -> None:
    """Record each reserved node's effective (amortised) and on-demand cost per month.

    Covered usage bills nothing itself (its unblended cost is 0): what the reservation costs
    and what it saves only show in these two amounts.
    """
    month = np.datetime_as_string(lines.start.astype("datetime64[M]"))
    ids = rt["resource_id"].to_numpy()[lines.res]
    covered = lines.ltype == L.RI_USAGE
    for item in planted:
        mine = covered & (ids == item["resource_id"])
        for key, column in (
            ("effective_cost_by_month", "ri_eff"),
            ("on_demand_cost_by_month", "public"),
        ):
            by_month = pd.Series(lines.values[column][mine]).groupby(month[mine]).sum()
            item[key] = {str(m): _round(c) for m, c in by_month.items()}


def _covering_credits(lines: L.Lines, rt: pd.DataFrame) -> L.Lines:
    """A credit on each month's first line day equal to minus that month's net bill."""
    res = int(rt.index[rt["label"] == "pseudo:credit"][0])
    month = lines.start.astype("datetime64[M]")
    parts = []
    for m in np.unique(month):
        mine = month == m
        net = float(lines.values["unblended"][mine].sum())
        parts.append(L.single_line(res, L.CREDIT, lines.start[mine].min(), -net))
    return L.Lines.concat(parts)


def waterfall_truth(lines: L.Lines) -> dict[str, float]:
    """The bill from usage to net by charge type, as the generator wrote it (the test oracle)."""
    t, v = lines.ltype, lines.values
    covered = np.isin(t, [L.SP_COVERED, L.RI_USAGE])

    def billed(*types: int) -> float:
        return float(v["unblended"][np.isin(t, types)].sum())

    # covered usage is shown at on-demand rates, then taken back by what commitments paid
    covered_on_demand = float(v["public"][covered].sum())
    out = {
        "usage_on_demand": billed(L.USAGE),
        "usage_covered": covered_on_demand,
        "commitment_offset": billed(L.SP_COVERED, L.RI_USAGE, L.SP_NEGATION) - covered_on_demand,
        "commitment_fees": billed(L.SP_FEE, L.RI_FEE),
        "upfront_purchases": billed(L.FEE),
        "credits": billed(L.CREDIT),
        "refunds": billed(L.REFUND),
        "discounts": 0.0,
        "tax": billed(L.TAX),
        "other": 0.0,
        "net_total": float(v["unblended"].sum()),
        "amortized_total": float(lines.amortized().sum()),
    }
    return {k: _round(x) for k, x in out.items()}


def _movers_truth(lines: L.Lines, rt: pd.DataFrame, days: pd.DatetimeIndex) -> dict[str, Any]:
    """Usage cost by month of the planted growing and shrinking services."""
    month = np.datetime_as_string(lines.start.astype("datetime64[M]"))
    code = rt["code"].to_numpy()[lines.res]
    usage = np.isin(lines.ltype, [L.USAGE, L.SP_COVERED, L.RI_USAGE])
    out: dict[str, Any] = {}
    for role, service in (("grows", "AmazonRDS"), ("shrinks", "AmazonAthena")):
        mine = usage & (code == service)
        by_month = pd.Series(lines.values["public"][mine]).groupby(month[mine]).sum()
        out[role] = {
            "service_code": service,
            "monthly_factor": L.MONTHLY_TRENDS[service],
            "usage_cost_by_month": {str(m): _round(c) for m, c in by_month.items()},
        }
    return out


def _ground_truth(
    schema: str,
    seed: int,
    rows_by_month: dict[str, int],
    days: pd.DatetimeIndex,
    end: dt.date,
    lines: L.Lines,
    rt: pd.DataFrame,
    amortized_upfront: float,
    spike_day: int,
    baseline: float,
) -> dict[str, Any]:
    month = np.datetime_as_string(lines.start.astype("datetime64[M]"))
    unblended = lines.values["unblended"]
    amortized = lines.amortized()
    frame = pd.DataFrame(
        {
            "res": lines.res,
            "month": month,
            "unblended": unblended,
            "amortized": amortized,
            "qty": lines.values["qty"],
            "day": lines.start.astype("datetime64[D]"),
        }
    )
    by_month = frame.groupby("month")[["unblended", "amortized"]].sum()
    # the planted resources' lines, cut out once: every lookup below is on this small frame
    labelled = np.isin(lines.res, rt.index[rt["label"] != ""].to_numpy())
    planted_lines, planted_start = frame[labelled], lines.start[labelled]

    def resources(label: str) -> list[dict[str, Any]]:
        out = []
        for res_id, part in rt[rt["label"] == label].groupby("resource_id", sort=True):
            mine_mask = planted_lines["res"].isin(part.index).to_numpy()
            mine = planted_lines[mine_mask]
            per_month = mine.groupby("month")
            out.append(
                {
                    "resource_id": res_id,
                    "account_id": part["account_id"].iloc[0],
                    "region": part["region_name"].iloc[0],
                    "availability_zone": part["az"].iloc[0],
                    "usage_types": sorted(part["usage_type"].unique()),
                    "instance_type": part["instance_type"].iloc[0],
                    "cost_by_month": {
                        m: _round(c) for m, c in per_month["unblended"].sum().items()
                    },
                    "quantity_by_month": {m: _round(q) for m, q in per_month["qty"].sum().items()},
                    "first_usage": str(pd.Timestamp(planted_start[mine_mask].min())),
                    "tags": {
                        k: v
                        for k in ("owner", "project", "cost_center", "environment")
                        if (v := part[k].iloc[0]) is not None and v == v
                    },
                }
            )
        return out

    def service_by_month(code: str) -> dict[str, float]:
        mask = rt["code"].to_numpy()[lines.res] == code
        return {m: _round(c) for m, c in frame[mask].groupby("month")["unblended"].sum().items()}

    cluster_rows = rt[rt["label"].isin(["owner_by_start_time", "owner_by_start_time_tagged"])]
    clusters = []
    for name, part in cluster_rows.groupby("cluster"):
        untagged = part[part["label"] == "owner_by_start_time"]
        tagged = part[part["label"] == "owner_by_start_time_tagged"]
        first_hour = pd.Timestamp(days[int(part["start_day"].iloc[0])]) + pd.Timedelta(
            hours=int(part["start_hour"].iloc[0])
        )
        clusters.append(
            {
                "cluster": name,
                "account_id": part["account_id"].iloc[0],
                "region": part["region_name"].iloc[0],
                "first_usage_hour": str(first_hour),
                "untagged_resource_ids": sorted(untagged["resource_id"]),
                "neighbour_resource_ids": sorted(tagged["resource_id"]),
                "expected_tags": {
                    k: tagged[k].iloc[0] for k in ("owner", "project", "cost_center", "environment")
                },
            }
        )
    spike_date = days[spike_day].date()
    lam_mask = rt["code"].to_numpy()[lines.res] == "AWSLambda"
    lam_daily = frame[lam_mask].groupby("day")["unblended"].sum()
    fee_mask = lines.ltype == L.FEE
    sp_fee = lines.ltype == L.SP_FEE
    return {
        "schema": schema,
        "seed": seed,
        "rows": int(sum(rows_by_month.values())),
        "start": days[0].date().isoformat(),
        "end": end.isoformat(),
        "currency": "USD",
        "payer_account_id": PAYER_ID,
        "accounts": [{"id": a, "name": n} for a, n in ACCOUNTS],
        # the Savings Plan's daily commitment and the part covered usage used, per month
        "savings_plan": {
            key: {
                m: _round(v)
                for m, v in pd.Series(lines.values[column][sp_fee])
                .groupby(month[sp_fee])
                .sum()
                .items()
            }
            for key, column in (("commitment_by_month", "sp_commit"), ("used_by_month", "sp_used"))
        },
        "totals": {
            "unblended_cost": _round(unblended.sum()),
            "amortized_cost": _round(amortized.sum()),
            "upfront_fees": _round(unblended[fee_mask].sum()),
            "amortized_upfront": _round(amortized_upfront),
            "by_month": {
                m: {
                    "unblended_cost": _round(r["unblended"]),
                    "amortized_cost": _round(r["amortized"]),
                    "rows": rows_by_month.get(m, 0),
                }
                for m, r in by_month.iterrows()
            },
        },
        "planted": {
            "gp2_volumes": resources("gp2_volumes"),
            "nat_gateway": {
                "account_id": ACCOUNTS[0][0],
                "region": REGIONS[0][0],
                "gateways": resources("nat_gateway"),
                "s3": resources("nat_s3"),
                "dynamodb": resources("nat_dynamodb"),
            },
            "nat_decoy": {
                "account_id": ACCOUNTS[2][0],
                "region": REGIONS[1][0],
                "gateways": resources("nat_decoy"),
            },
            "cross_az": resources("cross_az"),
            "previous_generation": resources("previous_generation"),
            "idle_eips": resources("idle_eips"),
            "owner_by_start_time": clusters,
            "untagged_top": resources("untagged_top"),
            "s3_standard_heavy": resources("s3_standard_heavy"),
            "egress": resources("egress"),
            "reserved_cache": resources("reserved_cache"),
            "spike": {
                "service_code": "AWSLambda",
                "date": spike_date.isoformat(),
                "cost": _round(lam_daily.get(np.datetime64(spike_date), 0.0)),
                "baseline_daily_cost": _round(baseline),
                "resources": resources("spike"),
            },
            "growth": {
                "service_code": "AmazonRDS",
                "monthly_growth": L.RDS_MONTHLY_GROWTH,
                "cost_by_month": service_by_month("AmazonRDS"),
                "resources": resources("growth"),
            },
        },
    }
