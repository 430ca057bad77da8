"""Encode line items as legacy CUR, CUR 2.0 or FOCUS and write hive-partitioned files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from finops_agent.sample_data.lines import (
    CREDIT,
    FEE,
    LINE_TYPES,
    REFUND,
    RI_FEE,
    RI_USAGE,
    SP_COVERED,
    SP_FEE,
    SP_NEGATION,
    TAX,
    Lines,
)

# Raw CUR CSV headers for each Athena column name (Athena snake-cases them on import).
RAW_CUR_HEADERS: dict[str, str] = {
    "identity_line_item_id": "identity/LineItemId",
    "identity_time_interval": "identity/TimeInterval",
    "bill_payer_account_id": "bill/PayerAccountId",
    "bill_billing_period_start_date": "bill/BillingPeriodStartDate",
    "bill_billing_period_end_date": "bill/BillingPeriodEndDate",
    "line_item_usage_account_id": "lineItem/UsageAccountId",
    "line_item_line_item_type": "lineItem/LineItemType",
    "line_item_usage_start_date": "lineItem/UsageStartDate",
    "line_item_usage_end_date": "lineItem/UsageEndDate",
    "line_item_product_code": "lineItem/ProductCode",
    "line_item_usage_type": "lineItem/UsageType",
    "line_item_operation": "lineItem/Operation",
    "line_item_availability_zone": "lineItem/AvailabilityZone",
    "line_item_resource_id": "lineItem/ResourceId",
    "line_item_usage_amount": "lineItem/UsageAmount",
    "line_item_unblended_rate": "lineItem/UnblendedRate",
    "line_item_unblended_cost": "lineItem/UnblendedCost",
    "line_item_currency_code": "lineItem/CurrencyCode",
    "line_item_line_item_description": "lineItem/LineItemDescription",
    "product_product_name": "product/ProductName",
    "product_product_family": "product/productFamily",
    "product_region": "product/region",
    "product_instance_type": "product/instanceType",
    "pricing_unit": "pricing/unit",
    "pricing_term": "pricing/term",
    "pricing_public_on_demand_cost": "pricing/publicOnDemandCost",
    "savings_plan_savings_plan_a_r_n": "savingsPlan/SavingsPlanARN",
    "savings_plan_savings_plan_effective_cost": "savingsPlan/SavingsPlanEffectiveCost",
    "savings_plan_total_commitment_to_date": "savingsPlan/TotalCommitmentToDate",
    "savings_plan_used_commitment": "savingsPlan/UsedCommitment",
    "reservation_reservation_a_r_n": "reservation/ReservationARN",
    "reservation_effective_cost": "reservation/EffectiveCost",
    "reservation_unused_amortized_upfront_fee_for_billing_period": "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
    "reservation_unused_recurring_fee": "reservation/UnusedRecurringFee",
    "resource_tags_user_owner": "resourceTags/user:owner",
    "resource_tags_user_team": "resourceTags/user:team",
    "resource_tags_user_project": "resourceTags/user:project",
    "resource_tags_user_cost_center": "resourceTags/user:CostCenter",
    "resource_tags_user_environment": "resourceTags/user:environment",
    "resource_tags_user_env": "resourceTags/user:env",
}
_TAG_SNAKE = {
    "owner": "owner",
    "Owner": "owner",
    "team": "team",
    "project": "project",
    "cost_center": "cost_center",
    "CostCenter": "cost_center",
    "environment": "environment",
    "env": "env",
}
_LOGICAL = (
    ("owner_key", "owner"),
    ("project_key", "project"),
    ("cc_key", "cost_center"),
    ("env_key", "environment"),
)


def _dict(values: pd.Series, res: np.ndarray, empty: str | None = "") -> pa.Array:
    """Per-resource strings as a dictionary-encoded per-line column (None -> `empty`)."""
    codes, uniques = pd.factorize(values.fillna(empty) if empty is not None else values)
    idx = codes[res]
    return pa.DictionaryArray.from_arrays(
        pa.array(idx, mask=idx < 0, type=pa.int32()), pa.array(uniques, pa.string())
    )


def _intervals(day: np.ndarray) -> pa.Array:
    """identity/TimeInterval per line, formatted once per distinct day."""
    unique, inverse = np.unique(day, return_inverse=True)
    text = [f"{d}T00:00:00Z/{d + 1}T00:00:00Z" for d in unique]
    return pa.DictionaryArray.from_arrays(pa.array(inverse.astype(np.int32)), pa.array(text))


def _ts(values: np.ndarray) -> pa.Array:
    return pa.array(values.astype("datetime64[ms]"))


def currency_column(rt: pd.DataFrame, res: np.ndarray) -> pa.Array:
    """Each line's billing currency: USD unless the estate holds accounts billed in another."""
    if "currency" not in rt or bool((rt["currency"] == "USD").all()):
        return pa.DictionaryArray.from_arrays(
            pa.array(np.zeros(len(res), np.int32)), pa.array(["USD"])
        )
    return _dict(rt["currency"], res)


def _tags_per_resource(rt: pd.DataFrame) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    columns = [(rt[k].to_numpy(), rt[v].to_numpy()) for k, v in _LOGICAL]
    for i in range(len(rt)):
        tags = {}
        for keys, values in columns:
            if values[i] is not None and values[i] == values[i]:
                tags[str(keys[i])] = str(values[i])
        out.append(tags)
    return out


def _common(lines: Lines, rt: pd.DataFrame) -> dict[str, pa.Array]:
    res, n = lines.res, len(lines)
    start = lines.start
    day = start.astype("datetime64[D]")
    month = start.astype("datetime64[M]")
    v = lines.values
    ltype = pa.DictionaryArray.from_arrays(
        pa.array(lines.ltype.astype(np.int32)), pa.array(LINE_TYPES)
    )
    rate = np.divide(v["public"], v["qty"], out=np.zeros(n), where=v["qty"] > 0)
    return {
        "identity_line_item_id": pc.binary_join_element_wise(
            "li", pc.cast(pa.array(np.arange(n)), pa.string()), "-"
        ),
        "identity_time_interval": _intervals(day),
        "bill_payer_account_id": _dict(rt["payer_id"], res),
        "bill_billing_period_start_date": _ts(month.astype("datetime64[s]")),
        "bill_billing_period_end_date": _ts((month + 1).astype("datetime64[s]")),
        "line_item_usage_account_id": _dict(rt["account_id"], res),
        "line_item_line_item_type": ltype,
        "line_item_usage_start_date": _ts(start),
        "line_item_usage_end_date": _ts((day + 1).astype("datetime64[s]")),
        "line_item_product_code": _dict(rt["code"], res),
        "line_item_usage_type": _dict(rt["usage_type"], res),
        "line_item_operation": _dict(rt["operation"], res),
        "line_item_availability_zone": _dict(rt["az"], res),
        "line_item_resource_id": _dict(rt["resource_id"], res),
        "line_item_usage_amount": pa.array(v["qty"]),
        "line_item_unblended_rate": pa.array(np.where(lines.ltype == RI_USAGE, 0.0, rate)),
        "line_item_unblended_cost": pa.array(v["unblended"]),
        "line_item_currency_code": currency_column(rt, res),
        "line_item_line_item_description": _dict(rt["description"], res),
        "pricing_unit": _dict(rt["unit"], res),
        "pricing_term": pa.DictionaryArray.from_arrays(
            pa.array(
                np.where(np.isin(lines.ltype, [RI_USAGE, RI_FEE, FEE]), 1, 0).astype(np.int32)
            ),
            pa.array(["OnDemand", "Reserved"]),
        ),
        "pricing_public_on_demand_cost": pa.array(v["public"]),
        "savings_plan_savings_plan_a_r_n": _dict(rt["sp_arn"], res),
        "savings_plan_savings_plan_effective_cost": pa.array(v["sp_eff"]),
        "savings_plan_total_commitment_to_date": pa.array(v["sp_commit"]),
        "savings_plan_used_commitment": pa.array(v["sp_used"]),
        "reservation_reservation_a_r_n": _dict(rt["ri_arn"], res),
        "reservation_effective_cost": pa.array(v["ri_eff"]),
        "reservation_unused_amortized_upfront_fee_for_billing_period": pa.array(v["ri_unused_up"]),
        "reservation_unused_recurring_fee": pa.array(v["ri_unused_rec"]),
    }


def cur_columns(lines: Lines, rt: pd.DataFrame) -> dict[str, pa.Array]:
    """Legacy CUR: Athena column names, one column per (snake-cased) tag key."""
    cols = _common(lines, rt)
    cols["product_product_name"] = _dict(rt["name"], lines.res)
    cols["product_product_family"] = _dict(rt["family"], lines.res)
    cols["product_region"] = _dict(rt["region_name"], lines.res)
    cols["product_instance_type"] = _dict(rt["instance_type"], lines.res)
    for column in ("owner", "team", "project", "cost_center", "environment", "env"):
        per_resource = pd.Series([""] * len(rt), dtype=object)
        for key_col, value_col in _LOGICAL:
            mask = (rt[key_col].map(_TAG_SNAKE) == column) & rt[value_col].notna()
            per_resource[mask.to_numpy()] = rt.loc[mask, value_col].to_numpy()
        cols[f"resource_tags_user_{column}"] = _dict(per_resource, lines.res)
    return cols


def cur2_columns(lines: Lines, rt: pd.DataFrame, *, as_json: bool) -> dict[str, pa.Array]:
    """CUR 2.0: product and resource_tags maps (JSON strings in CSV), account names, region codes."""
    cols = _common(lines, rt)
    res = lines.res
    cols["bill_payer_account_name"] = _dict(rt["payer_name"], res)
    cols["line_item_usage_account_name"] = _dict(rt["account_name"], res)
    cols["product_region_code"] = _dict(rt["region_name"], res)
    cols["product_product_family"] = _dict(rt["family"], res)
    cols["product_instance_type"] = _dict(rt["instance_type"], res)
    cols["product_servicecode"] = _dict(rt["code"], res)
    cols["product_usagetype"] = _dict(rt["usage_type"], res)
    products = [
        {"product_name": n, "region": r, "servicecode": c}
        for n, r, c in zip(rt["name"], rt["region_name"], rt["code"], strict=True)
    ]
    tags = [{f"user_{k}": v for k, v in t.items()} for t in _tags_per_resource(rt)]
    for name, maps in (("product", products), ("resource_tags", tags)):
        if as_json:
            cols[name] = _dict(pd.Series([json.dumps(m, sort_keys=True) for m in maps]), res)
        else:
            per_resource = pa.array(
                [list(m.items()) for m in maps], type=pa.map_(pa.string(), pa.string())
            )
            cols[name] = per_resource.take(pa.array(res))
    return cols


def focus_columns(lines: Lines, rt: pd.DataFrame) -> dict[str, pa.Array]:
    """Every FOCUS column of the lines (versions pick theirs in `focus_version_columns`).

    No negation rows; commitments are Purchase rows plus Unused usage rows; maps are JSON text.
    """
    keep = lines.ltype != SP_NEGATION
    v = {k: a[keep] for k, a in lines.values.items()}
    res, ltype, start = lines.res[keep], lines.ltype[keep], lines.start[keep]
    unused_amount = np.where(
        ltype == SP_FEE,
        v["sp_commit"] - v["sp_used"],
        np.where(ltype == RI_FEE, v["ri_unused_rec"] + v["ri_unused_up"], 0.0),
    )
    extra = unused_amount > 1e-12
    n_base, n_extra = len(res), int(extra.sum())
    res_all = np.concatenate([res, res[extra]])
    start_all = np.concatenate([start, start[extra]])
    is_unused = np.concatenate([np.zeros(n_base, bool), np.ones(n_extra, bool)])
    lt = np.concatenate([ltype, ltype[extra]])
    unblended = np.concatenate([v["unblended"], np.zeros(n_extra)])
    committed_use = np.isin(lt, [SP_COVERED, RI_USAGE]) & ~is_unused
    effective = np.concatenate(
        [
            np.select(
                [ltype == SP_COVERED, ltype == RI_USAGE, np.isin(ltype, [SP_FEE, RI_FEE, FEE])],
                [v["sp_eff"], v["ri_eff"], 0.0],
                v["unblended"],
            ),
            unused_amount[extra],
        ]
    )
    billed = np.where(committed_use, 0.0, unblended)
    sp_kind = np.isin(lt, [SP_COVERED, SP_FEE])
    ri_kind = np.isin(lt, [RI_USAGE, RI_FEE, FEE])
    # FOCUS has no refund category: a refund is a credit that corrects an earlier charge
    category = np.select(
        [is_unused, np.isin(lt, [SP_FEE, RI_FEE, FEE]), lt == TAX, np.isin(lt, [CREDIT, REFUND])],
        ["Usage", "Purchase", "Tax", "Credit"],
        "Usage",
    )
    charge_class = np.where(lt == REFUND, "Correction", "")
    frequency = np.select(
        [is_unused, np.isin(lt, [FEE, CREDIT, REFUND]), np.isin(lt, [SP_FEE, RI_FEE, TAX])],
        ["Usage-Based", "One-Time", "Recurring"],
        "Usage-Based",
    )
    status = np.select([is_unused, committed_use], ["Unused", "Used"], "")
    ctype = np.select([sp_kind, ri_kind], ["Savings Plan", "Reservation"], "")
    usage_type = rt["usage_type"].to_numpy()[res_all]
    # FOCUS 1.1 on: a commitment purchase is not itself priced as Committed
    pricing = np.select(
        [
            (sp_kind | ri_kind) & (category != "Purchase"),
            pd.Series(usage_type).str.contains("SpotUsage").to_numpy(),
            np.isin(lt, [TAX, CREDIT, REFUND]),
        ],
        ["Committed", "Dynamic", ""],
        "Standard",
    )
    commit_id = np.where(
        sp_kind,
        rt["sp_arn"].to_numpy()[res_all],
        np.where(ri_kind, rt["ri_arn"].to_numpy()[res_all], ""),
    )
    qty = np.concatenate([v["qty"], np.zeros(n_extra)])
    public = np.concatenate([v["public"], np.zeros(n_extra)])
    day = start_all.astype("datetime64[D]")
    month = start_all.astype("datetime64[M]")

    def text(values: np.ndarray) -> pa.Array:
        # few distinct values: encode by code, '' becomes NULL as FOCUS leaves such cells empty
        uniques, codes = np.unique(values, return_inverse=True)
        mask = uniques[codes] == ""
        return pa.DictionaryArray.from_arrays(
            pa.array(codes.astype(np.int32), mask=mask), pa.array(uniques.astype(str))
        )

    # AWS writes user tags as user:<key>; other providers' exports carry the bare key
    prefixes = (
        np.where(rt["provider"] == "AWS", "user:", "") if "provider" in rt else ["user:"] * len(rt)
    )
    tags = pd.Series(
        [
            json.dumps({f"{prefix}{k}": val for k, val in t.items()}, sort_keys=True)
            for prefix, t in zip(prefixes, _tags_per_resource(rt), strict=True)
        ]
    )

    def seller(column: str) -> np.ndarray:
        if column not in rt:
            return np.full(len(res_all), "AWS")
        return np.asarray(rt[column].to_numpy().astype(str)[res_all])

    aws = rt["provider"] == "AWS" if "provider" in rt else pd.Series(True, index=rt.index)

    def aws_only(column: str) -> pa.Array:
        # the x_ columns are AWS's own: another provider's rows leave them empty (NULL)
        if bool(aws.all()):
            return _dict(rt[column], res_all)
        return _dict(rt[column].where(aws, None), res_all, empty=None)

    list_unit_price = pa.array(np.divide(public, qty, out=np.zeros(len(qty)), where=qty > 0))
    sku_details = rt["instance_type"].map(lambda t: json.dumps({"InstanceType": t}) if t else None)
    return {
        "BillingAccountId": _dict(rt["payer_id"], res_all),
        "BillingAccountName": _dict(rt["payer_name"], res_all),
        "BillingCurrency": currency_column(rt, res_all),
        "BillingPeriodStart": _ts(month.astype("datetime64[s]")),
        "BillingPeriodEnd": _ts((month + 1).astype("datetime64[s]")),
        "ChargePeriodStart": _ts(start_all),
        "ChargePeriodEnd": _ts((day + 1).astype("datetime64[s]")),
        "ChargeCategory": text(category),
        "ChargeClass": text(charge_class),
        "ChargeDescription": _dict(rt["description"], res_all),
        "ChargeFrequency": text(frequency),
        # a Savings Plan commits to spend, a reservation to usage
        "CommitmentDiscountCategory": text(np.select([sp_kind, ri_kind], ["Spend", "Usage"], "")),
        "CommitmentDiscountId": text(commit_id),
        "CommitmentDiscountName": text(commit_id),
        "CommitmentDiscountStatus": text(status),
        "CommitmentDiscountType": text(ctype),
        "ConsumedQuantity": pa.array(qty),
        "ConsumedUnit": _dict(rt["unit"], res_all),
        "BilledCost": pa.array(billed),
        "EffectiveCost": pa.array(effective),
        "ListCost": pa.array(public),
        "ListUnitPrice": list_unit_price,
        # no negotiated rates in the sample: the contracted price is the list price
        "ContractedCost": pa.array(public),
        "ContractedUnitPrice": list_unit_price,
        "PricingCategory": text(pricing),
        "PricingQuantity": pa.array(qty),
        "PricingUnit": _dict(rt["unit"], res_all),
        "ProviderName": text(seller("provider")),
        "PublisherName": text(seller("publisher")),
        "InvoiceIssuerName": text(seller("invoice_issuer")),
        "RegionId": _dict(rt["region_name"], res_all),
        "RegionName": _dict(rt["region_name"], res_all),
        "AvailabilityZone": _dict(rt["az"].replace("", None), res_all, empty=None),
        "ResourceId": _dict(rt["resource_id"].replace("", None), res_all, empty=None),
        "ResourceName": _dict(rt["resource_id"].replace("", None), res_all, empty=None),
        "ResourceType": _dict(rt["family"], res_all),
        "ServiceCategory": _dict(rt["focus_category"], res_all),
        "ServiceName": _dict(rt["name"], res_all),
        "SkuId": _dict(rt["usage_type"], res_all),
        "SkuPriceId": _dict(rt["usage_type"], res_all),
        "SkuPriceDetails": _dict(sku_details, res_all, empty=None),
        "SubAccountId": _dict(rt["account_id"], res_all),
        "SubAccountName": _dict(rt["account_name"], res_all),
        "Tags": _dict(tags, res_all),
        "x_ServiceCode": aws_only("code"),
        "x_UsageType": aws_only("usage_type"),
        "x_Operation": aws_only("operation"),
    }


def _json_to_map(column: pa.DictionaryArray) -> pa.Array:
    """Per-row maps from dictionary-encoded JSON objects (decoded once per distinct object)."""
    maps = pa.array(
        [
            None if v is None else sorted(json.loads(v).items())
            for v in column.dictionary.to_pylist()
        ],
        type=pa.map_(pa.string(), pa.string()),
    )
    return maps.take(column.indices)


def _constant(rows: int, value: str | None) -> pa.Array:
    return pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(rows, np.int32), mask=np.full(rows, value is None)),
        pa.array([value or ""]),
    )


def _empty_maps(rows: int, item: pa.DataType, *, as_json: bool) -> pa.Array:
    """A map column holding no entries on any row (JSON `{}` in CSV)."""
    if as_json:
        return _constant(rows, "{}")
    return pa.array([[]], type=pa.map_(pa.string(), item)).take(pa.array(np.zeros(rows, np.int32)))


# The columns FOCUS 1.1 added to 1.0 (focus.finops.org/focus-specification/changelog) and the
# x_ columns of AWS's FOCUS_1_0_AWS table (its Data Exports table dictionary).
_FOCUS_1_1_ADDED = (
    "CapacityReservationId",
    "CapacityReservationStatus",
    "CommitmentDiscountQuantity",
    "CommitmentDiscountUnit",
    "ServiceSubcategory",
    "SkuMeter",
    "SkuPriceDetails",
)
_AWS_1_0 = ("x_CostCategories", "x_Discounts", "x_Operation", "x_ServiceCode", "x_UsageType")


def focus_version_columns(
    columns: dict[str, pa.Array], version: str, *, as_json: bool
) -> dict[str, pa.Array]:
    """One FOCUS version's columns, as exported, from `focus_columns` of the same lines.

    1.0 and 1.2 are AWS's Data Exports tables (FOCUS_1_0_AWS, FOCUS_1_2_AWS): the spec columns
    plus that table's x_ columns, maps typed as maps in Parquet and JSON text in CSV. AWS exports
    no FOCUS 1.1, so 1.1 is the specification's columns alone, its key-value columns
    (SkuPriceDetails, Tags) JSON text in either format as the spec defines them.
    """
    rows = len(columns["BilledCost"])
    base = {k: v for k, v in columns.items() if k not in _FOCUS_1_1_ADDED and k not in _AWS_1_0}
    to_map = not as_json and version != "1.1"
    if version == "1.0":
        out = dict(base)
        for name in ("x_Operation", "x_ServiceCode", "x_UsageType"):
            out[name] = columns[name]
        out["x_CostCategories"] = _empty_maps(rows, pa.string(), as_json=as_json)
        out["x_Discounts"] = _empty_maps(rows, pa.float64(), as_json=as_json)
        if to_map:
            out["Tags"] = _json_to_map(columns["Tags"])
        return out
    out = dict(base)
    # the generator's SKU id is the meter name, for every provider (x_UsageType is AWS's only)
    out["SkuMeter"] = columns["SkuId"]
    out["SkuPriceDetails"] = columns["SkuPriceDetails"]
    out["ServiceSubcategory"] = _constant(rows, None)
    out["CapacityReservationId"] = _constant(rows, None)
    out["CapacityReservationStatus"] = _constant(rows, None)
    out["CommitmentDiscountQuantity"] = pa.nulls(rows, pa.float64())
    out["CommitmentDiscountUnit"] = _constant(rows, None)
    # from 1.1 on, an unused commitment consumes nothing (ConsumedQuantity null) and only
    # usage rows name a consumed unit
    unused = pc.fill_null(
        pc.equal(columns["CommitmentDiscountStatus"].cast(pa.string()), "Unused"), False
    )
    consuming = pc.and_(
        pc.equal(columns["ChargeCategory"].cast(pa.string()), "Usage"), pc.invert(unused)
    )
    out["ConsumedQuantity"] = pc.if_else(
        unused, pa.scalar(None, pa.float64()), columns["ConsumedQuantity"]
    )
    out["ConsumedUnit"] = pc.if_else(
        consuming, columns["ConsumedUnit"].cast(pa.string()), pa.scalar(None, pa.string())
    ).dictionary_encode()
    if version == "1.1":
        return out
    if to_map:
        out["SkuPriceDetails"] = _json_to_map(columns["SkuPriceDetails"])
        out["Tags"] = _json_to_map(columns["Tags"])
    out["BillingAccountType"] = _constant(rows, "Billing Account")
    out["SubAccountType"] = _constant(rows, "Linked Account")
    aws = pc.equal(columns["ProviderName"].cast(pa.string()), "AWS")
    if not pc.all(aws).as_py():
        # Microsoft's export names its billing profile and subscriptions
        for name, other in (
            ("BillingAccountType", "Billing Profile"),
            ("SubAccountType", "Subscription"),
        ):
            out[name] = pc.if_else(aws, out[name].cast(pa.string()), other).dictionary_encode()
    out["InvoiceId"] = _constant(rows, None)
    out["PricingCurrency"] = columns["BillingCurrency"]
    out["PricingCurrencyContractedUnitPrice"] = columns["ContractedUnitPrice"]
    out["PricingCurrencyEffectiveCost"] = columns["EffectiveCost"]
    out["PricingCurrencyListUnitPrice"] = columns["ListUnitPrice"]
    # x_UsageType is gone from AWS's 1.2 table (its values are SkuMeter now) and the cost
    # categories moved into Tags
    out["x_Discounts"] = _empty_maps(rows, pa.float64(), as_json=as_json)
    out["x_Operation"] = columns["x_Operation"]
    out["x_ServiceCode"] = columns["x_ServiceCode"]
    return out


def _to_csv_table(
    table: pa.Table, headers: dict[str, str] | None, *, null: str | None = None
) -> pa.Table:
    arrays = []
    for name in table.column_names:
        column = table[name]
        if pa.types.is_dictionary(column.type):
            column = column.cast(pa.string())
        elif pa.types.is_timestamp(column.type):
            column = pc.strftime(column, format="%Y-%m-%dT%H:%M:%SZ")
        if null is not None:
            # FOCUS exports write a missing value as the word NULL, in every column type
            column = pc.fill_null(column.cast(pa.string()), null)
        arrays.append(column)
    names = [headers.get(n, n) for n in table.column_names] if headers else table.column_names
    return pa.table(arrays, names=names)


def write(
    schema: str, columns: dict[str, Any], month_key: np.ndarray, out: Path, fmt: str
) -> dict[str, int]:
    """Write one file per billing month under out/data/<partition>/; return rows per month."""
    order = np.argsort(month_key, kind="stable")
    table = pa.table(columns)
    if not np.array_equal(order, np.arange(len(order))):
        table, month_key = table.take(pa.array(order)), month_key[order]
    keys, firsts, counts = np.unique(month_key, return_index=True, return_counts=True)
    # dictionary pages only where values repeat; min/max statistics only on timestamps, which
    # readers use to skip row groups outside a window (the rest cost write time and buy nothing)
    dictionary = [f.name for f in table.schema if pa.types.is_dictionary(f.type)]
    statistics = [f.name for f in table.schema if pa.types.is_timestamp(f.type)]
    rows: dict[str, int] = {}
    for key, first, count in zip(keys.tolist(), firsts.tolist(), counts.tolist(), strict=True):
        year, month = key.split("-")
        part = (
            out
            / "data"
            / (f"year={year}/month={int(month)}" if schema == "cur" else f"billing_period={key}")
        )
        part.mkdir(parents=True, exist_ok=True)
        chunk = table.slice(first, count)
        rows[key] = count
        if fmt == "parquet":
            pq.write_table(
                chunk,
                part / "part-00000.parquet",
                compression="snappy",
                use_dictionary=dictionary,
                write_statistics=statistics,
            )
        else:
            csv_chunk = _to_csv_table(
                chunk,
                RAW_CUR_HEADERS if schema == "cur" else None,
                null="NULL" if schema == "focus" else None,
            )
            # pyarrow quotes every header name; billing exports do not
            with (part / "part-00000.csv").open("wb") as handle:
                handle.write((",".join(csv_chunk.column_names) + "\n").encode())
                pacsv.write_csv(
                    csv_chunk,
                    handle,
                    pacsv.WriteOptions(include_header=False, quoting_style="needed"),
                )
    return rows
