"""The pandas baseline's first step: a CUR 2.0 billing window read into one canonical DataFrame.

Written the way a competent notebook user would: read only the columns the aggregates need,
let pyarrow skip the months outside the window (hive `billing_period=` folders), pull the tag
and product values out of the map columns in one vectorised pass, then derive the
canonical columns with vectorised pyarrow/pandas/NumPy operations (no per-row Python).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from finops_agent.sources import athena_name

# raw CUR 2.0 columns the canonical ones are derived from
_TEXT = [
    "line_item_usage_account_id",
    "line_item_usage_account_name",
    "line_item_line_item_type",
    "line_item_product_code",
    "line_item_usage_type",
    "line_item_resource_id",
    "product_region_code",
    "line_item_availability_zone",
    "product_instance_type",
    "reservation_reservation_a_r_n",
    "line_item_currency_code",
]
_NUMBERS = [
    "line_item_usage_amount",
    "line_item_unblended_cost",
    "pricing_public_on_demand_cost",
    "savings_plan_savings_plan_effective_cost",
    "savings_plan_total_commitment_to_date",
    "savings_plan_used_commitment",
    "reservation_effective_cost",
    "reservation_unused_amortized_upfront_fee_for_billing_period",
    "reservation_unused_recurring_fee",
]
_TIMES = ["bill_billing_period_start_date", "line_item_usage_start_date"]
LOGICAL_TAGS = ("owner", "project", "cost_center", "environment")
# canonical columns kept as they are; every other text column becomes an ordered categorical
# (tag values stay strings: the aggregates compare them with '' after filling missing ones)
_PLAIN = {"billing_period", "usage_start", *(f"tag_{k}" for k in LOGICAL_TAGS)}


def _months(start: dt.date, end: dt.date) -> list[str]:
    return [
        p.strftime("%Y-%m") for p in pd.period_range(start, end - dt.timedelta(days=1), freq="M")
    ]


def _string(column: pa.ChunkedArray) -> pa.ChunkedArray:
    # dictionary-encoded in the files; plain strings so that max()/sorting are lexical
    return pc.cast(column, pa.string())


def _null_if_empty(values: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)


def _categorical(values: pa.ChunkedArray) -> pd.Series:
    """Repeated strings as an ordered categorical: fast group-bys, and max() is lexical as in SQL."""
    series = pd.Series(pc.dictionary_encode(values).to_pandas())
    return series.cat.reorder_categories(sorted(series.cat.categories), ordered=True)


def _first_present(candidates: list[pa.Array]) -> pa.Array:
    """First non-empty value among the aliases, else the first empty one, else missing."""
    return pc.coalesce(*[_null_if_empty(c) for c in candidates], *candidates)


def _tag_keys(aliases: list[str]) -> list[str]:
    """CUR 2.0 resource_tags keys of the aliases: user_<as written> and user_<Athena's name>."""
    return list(dict.fromkeys(k for a in aliases for k in (f"user_{a}", f"user_{athena_name(a)}")))


def _map_values(column: pa.ChunkedArray, keys: list[str]) -> dict[str, pa.Array]:
    """Per key, each row's value under that key in a map column (null where absent).

    The map entries are read once as flat (row, key, value) arrays: one pass over the data
    for all keys instead of a `map_lookup` scan per key.
    """
    maps = column.combine_chunks()
    offsets = maps.offsets.to_numpy()
    rows = np.repeat(np.arange(len(maps)), np.diff(offsets))
    first, count = int(offsets[0]), int(offsets[-1] - offsets[0])
    entry_keys, entry_values = maps.keys.slice(first, count), maps.items.slice(first, count)
    valid = maps.is_valid().to_numpy(zero_copy_only=False)[rows]
    out = {}
    for key in keys:
        hits = np.flatnonzero(pc.equal(entry_keys, key).to_numpy(zero_copy_only=False) & valid)
        # position of each row's entry for this key; reversed so a repeated key keeps its first
        position = np.full(len(maps), -1)
        position[rows[hits[::-1]]] = hits[::-1]
        out[key] = entry_values.take(pa.array(position, mask=position < 0))
    return out


def _read(source: str, start: dt.date, end: dt.date, columns: list[str]) -> pa.Table:
    """The window's line items: months outside it are never opened, the rest filtered on read."""
    data = ds.dataset(source, format="parquet", partitioning="hive")
    started = ds.field("line_item_usage_start_date")
    kind = data.schema.field("line_item_usage_start_date").type
    window = (
        ds.field("billing_period").isin(_months(start, end))
        & (started >= pa.scalar(dt.datetime.combine(start, dt.time()), kind))
        & (started < pa.scalar(dt.datetime.combine(end, dt.time()), kind))
    )
    return data.to_table(columns=columns, filter=window)


def _costs(table: pa.Table, kind: pd.Series) -> dict[str, pd.Series | np.ndarray]:
    """Usage, unblended, amortised (the adapter's CASE on the line item type) and on-demand cost,
    plus whether a line is a reservation fee (purchase option needs it)."""
    num = {name: table[name].to_pandas() for name in _NUMBERS}
    unblended = num["line_item_unblended_cost"]
    arn = pd.Series(_string(table["reservation_reservation_a_r_n"]).to_pandas())
    reserved_fee = (kind == "Fee") & (arn.fillna("") != "")
    amortized = np.select(
        [
            kind == "SavingsPlanCoveredUsage",
            kind == "SavingsPlanRecurringFee",
            kind.isin(["SavingsPlanNegation", "SavingsPlanUpfrontFee"]),
            kind == "DiscountedUsage",
            kind == "RIFee",
            reserved_fee,
        ],
        [
            num["savings_plan_savings_plan_effective_cost"].fillna(0),
            num["savings_plan_total_commitment_to_date"].fillna(0)
            - num["savings_plan_used_commitment"].fillna(0),
            0.0,
            num["reservation_effective_cost"].fillna(0),
            num["reservation_unused_amortized_upfront_fee_for_billing_period"].fillna(0)
            + num["reservation_unused_recurring_fee"].fillna(0),
            0.0,
        ],
        unblended,
    )
    return {
        "usage_amount": num["line_item_usage_amount"],
        "unblended_cost": unblended,
        "amortized_cost": amortized,
        "public_cost": num["pricing_public_on_demand_cost"].fillna(unblended),
        "reserved_fee": reserved_fee,
    }


def load_window(
    source: str, start: dt.date, end: dt.date, tag_aliases: Mapping[str, list[str]]
) -> pd.DataFrame:
    """Every line item with start <= usage start < end, as the canonical columns (tags flattened)."""
    table = _read(source, start, end, [*_TEXT, *_NUMBERS, *_TIMES, "product", "resource_tags"])
    text = {name: _string(table[name]) for name in _TEXT}
    account = text["line_item_usage_account_id"]
    code = text["line_item_product_code"]
    product_name = _map_values(table["product"], ["product_name"])["product_name"]
    keys = {logical: _tag_keys(tag_aliases[logical]) for logical in LOGICAL_TAGS}
    tags = _map_values(table["resource_tags"], [k for ks in keys.values() for k in ks])
    canonical = {
        "billing_period": table["bill_billing_period_start_date"],
        "usage_start": table["line_item_usage_start_date"],
        "account_id": account,
        "account_name": pc.coalesce(_null_if_empty(text["line_item_usage_account_name"]), account),
        "charge_type": text["line_item_line_item_type"],
        "service_code": code,
        "service_name": pc.coalesce(_null_if_empty(product_name), code),
        "usage_type": text["line_item_usage_type"],
        "resource_id": _null_if_empty(text["line_item_resource_id"]),
        "currency": text["line_item_currency_code"],
        "region": _null_if_empty(text["product_region_code"]),
        "availability_zone": _null_if_empty(text["line_item_availability_zone"]),
        "instance_type": _null_if_empty(text["product_instance_type"]),
        **{f"tag_{k}": _first_present([tags[key] for key in keys[k]]) for k in LOGICAL_TAGS},
    }
    frame = pd.DataFrame(
        {
            name: values.to_pandas() if name in _PLAIN else _categorical(values)
            for name, values in canonical.items()
        }
    )
    frame["billing_period"] = frame["billing_period"].dt.normalize()
    frame["usage_date"] = frame["usage_start"].dt.normalize()
    kind = frame["charge_type"]
    costs = _costs(table, kind)
    reserved_fee = costs.pop("reserved_fee")
    frame = frame.assign(**costs)
    frame["purchase_option"] = pd.Categorical(
        np.select(
            [
                kind.str.startswith("SavingsPlan"),
                kind.isin(["DiscountedUsage", "RIFee"]) | reserved_fee,
                frame["usage_type"].str.contains("SpotUsage", regex=False),
                kind.isin(["Tax", "Credit", "Refund", "Fee", "Discount", "BundledDiscount"]),
            ],
            ["SavingsPlan", "Reserved", "Spot", "Other"],
            "OnDemand",
        ),
        ordered=True,
    )
    return frame


def load_totals_window(source: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Only what the previous-period totals need: usage day, unblended and amortised cost."""
    table = _read(
        source,
        start,
        end,
        [
            *_NUMBERS,
            "line_item_usage_start_date",
            "line_item_line_item_type",
            "reservation_reservation_a_r_n",
        ],
    )
    kind = pd.Series(_string(table["line_item_line_item_type"]).to_pandas())
    costs = _costs(table, kind)
    return pd.DataFrame(
        {
            "usage_date": table["line_item_usage_start_date"].to_pandas().dt.normalize(),
            "unblended_cost": costs["unblended_cost"],
            "amortized_cost": costs["amortized_cost"],
        }
    )
