"""Billing schema detection (legacy CUR, CUR 2.0, FOCUS) and the canonical `cost` adapter SQL."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, cast

import sqlglot
from sqlglot import exp

from finops_agent.catalog import fill_slots
from finops_agent.errors import UserError
from finops_agent.identifiers import check_tag_key
from finops_agent.resources import queries_dir
from finops_agent.window import Window

Schema = Literal["cur", "cur2", "focus"]
SCHEMAS: tuple[Schema, ...] = ("cur", "cur2", "focus")

CANONICAL_COLUMNS: tuple[str, ...] = (
    "billing_period",
    "usage_start",
    "usage_date",
    "payer_account_id",
    "account_id",
    "account_name",
    "charge_type",
    "service_code",
    "service_name",
    "service_category",
    "usage_type",
    "operation",
    "resource_id",
    "region",
    "availability_zone",
    "instance_type",
    "usage_amount",
    "pricing_unit",
    "unblended_cost",
    "amortized_cost",
    "public_cost",
    "purchase_option",
    "tags",
    "currency",
    "provider",
)

_CORE_CUR = {
    "bill_payer_account_id",
    "bill_billing_period_start_date",
    "line_item_usage_account_id",
    "line_item_line_item_type",
    "line_item_usage_start_date",
    "line_item_product_code",
    "line_item_usage_type",
    "line_item_operation",
    "line_item_resource_id",
    "line_item_availability_zone",
    "line_item_usage_amount",
    "line_item_unblended_cost",
    "line_item_currency_code",
    "pricing_unit",
}
# Columns an adapter cannot do without, per schema (lower-case).
REQUIRED_COLUMNS: dict[Schema, frozenset[str]] = {
    "cur": frozenset(_CORE_CUR | {"product_product_name", "product_region"}),
    "cur2": frozenset(_CORE_CUR | {"product", "product_region_code", "resource_tags"}),
    "focus": frozenset(
        {
            "billingaccountid",
            "billingperiodstart",
            "chargeperiodstart",
            "chargecategory",
            "subaccountid",
            "servicename",
            "regionid",
            "resourceid",
            "consumedquantity",
            "consumedunit",
            "billedcost",
            "effectivecost",
            "billingcurrency",
        }
    ),
}
# Columns an adapter reads when present and treats as NULL when the export lacks them.
_OPTIONAL_NUMERIC = {
    "savings_plan_savings_plan_effective_cost",
    "savings_plan_total_commitment_to_date",
    "savings_plan_used_commitment",
    "reservation_effective_cost",
    "reservation_unused_amortized_upfront_fee_for_billing_period",
    "reservation_unused_recurring_fee",
    "pricing_public_on_demand_cost",
    "listcost",
}
_OPTIONAL_TEXT = {
    "reservation_reservation_a_r_n",
    "product_instance_type",
    "product_product_family",
    "line_item_usage_account_name",
    "skupricedetails",
    "x_servicecode",
    "x_usagetype",
    "x_operation",
    "skumeter",
    "chargedescription",
    "providername",
    "serviceprovidername",
    "product_from_region_code",
    "product_to_region_code",
    "servicecategory",
    "subaccountname",
    "availabilityzone",
    "commitmentdiscountstatus",
    "commitmentdiscounttype",
    "chargefrequency",
    "chargeclass",
    "pricingcategory",
    "tags",
}
_TAG_COLUMN_PREFIX = "resource_tags_user_"
# The column an adapter filters the window on, and the money columns it adds up (lower-case).
_USAGE_START: dict[Schema, str] = {
    "cur": "line_item_usage_start_date",
    "cur2": "line_item_usage_start_date",
    "focus": "chargeperiodstart",
}
_AMOUNTS: dict[Schema, tuple[str, ...]] = {
    "cur": ("line_item_unblended_cost", "line_item_usage_amount"),
    "cur2": ("line_item_unblended_cost", "line_item_usage_amount"),
    "focus": ("billedcost", "effectivecost", "consumedquantity"),
}
# The billing currency column a report's rows are selected on (see `currencies`).
_CURRENCY: dict[Schema, str] = {
    "cur": "line_item_currency_code",
    "cur2": "line_item_currency_code",
    "focus": "BillingCurrency",
}
# DuckDB also says TIMESTAMP_MS, TIMESTAMP WITH TIME ZONE; Glue says timestamp
_TEMPORAL_TYPE = re.compile(r"^(timestamp|date)", re.IGNORECASE)
_NUMERIC_TYPE = re.compile(
    r"^(double|float|real|decimal|numeric|bigint|int|integer|smallint|tinyint|hugeint)\b",
    re.IGNORECASE,
)
_INTEGER_TYPE = re.compile(r"^(bigint|int|integer|smallint|tinyint|hugeint)\b", re.IGNORECASE)
# SkuPriceDetails keys that hold the instance type: FOCUS names provider keys with an x_ prefix
_SKU_INSTANCE_KEYS = ("InstanceType", "x_InstanceType")


# The canonical `cost` relation: column, Athena type, meaning (what chat shows the model).
COST_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("billing_period", "date", "first day of the billing month"),
    ("usage_start", "timestamp", "start of the usage hour"),
    ("usage_date", "date", "day of usage"),
    ("payer_account_id", "varchar", "management (payer) account"),
    ("account_id", "varchar", "usage account id"),
    ("account_name", "varchar", "usage account name (the id when unknown)"),
    ("charge_type", "varchar", "line item type: Usage, Tax, SavingsPlanCoveredUsage, RIFee, ..."),
    ("service_code", "varchar", "e.g. AmazonEC2, AmazonS3"),
    ("service_name", "varchar", "e.g. Amazon Elastic Compute Cloud"),
    ("service_category", "varchar", "product family, e.g. Compute Instance, Storage"),
    ("usage_type", "varchar", "e.g. USE1-BoxUsage:m5.large, EBS:VolumeUsage.gp2"),
    ("operation", "varchar", "e.g. RunInstances, CreateVolume-Gp2"),
    ("resource_id", "varchar", "instance, volume, bucket or ARN; NULL when not resource-level"),
    ("region", "varchar", "e.g. us-east-1"),
    ("availability_zone", "varchar", "e.g. us-east-1a"),
    ("instance_type", "varchar", "e.g. m5.large"),
    ("usage_amount", "double", "usage quantity in pricing_unit"),
    ("pricing_unit", "varchar", "e.g. Hrs, GB-Mo"),
    ("unblended_cost", "double", "as billed, in the row's currency"),
    ("amortized_cost", "double", "with Savings Plans / RIs spread over usage, in currency"),
    ("public_cost", "double", "at public on-demand prices, in currency"),
    ("purchase_option", "varchar", "OnDemand, Spot, SavingsPlan, Reserved or Other"),
    ("tags", "map(varchar, varchar)", "logical tags: owner, project, cost_center, environment"),
    (
        "currency",
        "varchar",
        "billing currency (ISO code): one per report, never add amounts across currencies",
    ),
    ("provider", "varchar", "who provided the service: AWS, or a FOCUS file's provider name"),
)


class SourceError(UserError, ValueError):
    """The billing source cannot be read as any supported schema."""


@dataclass(frozen=True)
class CostSql:
    """Adapter SQL (Athena dialect) for one source plus the values it binds."""

    sql: str
    params: dict[str, object]
    schema: Schema
    # what the user should know before the queries run (e.g. no partitions to prune)
    warnings: tuple[str, ...] = ()


def athena_name(raw: str) -> str:
    """Athena's column name for a raw CUR header: `lineItem/UnblendedCost` -> `line_item_unblended_cost`."""
    spaced = re.sub(r"([A-Z])", r"_\1", raw)
    return re.sub(r"_+", "_", re.sub(r"[^a-z0-9]", "_", spaced.lower())).strip("_")


def normalise_headers(columns: Sequence[str]) -> dict[str, str]:
    """Renames that turn raw CUR CSV headers into Athena names (only headers with '/')."""
    renames = {c: athena_name(c) for c in columns if "/" in c}
    clashes = sorted({v for v in renames.values() if list(renames.values()).count(v) > 1})
    if clashes:
        raise SourceError(f"raw headers collide after normalisation: {clashes}")
    return renames


def detect_schema(columns: Sequence[str], *, source: str = "source") -> Schema:
    """The schema whose required columns are all present; else an error naming the closest."""
    present = {c.lower() for c in columns}
    matches = [s for s in SCHEMAS if REQUIRED_COLUMNS[s] <= present]
    if matches:
        return matches[0]
    closest = max(
        SCHEMAS, key=lambda s: len(REQUIRED_COLUMNS[s] & present) / len(REQUIRED_COLUMNS[s])
    )
    missing = sorted(REQUIRED_COLUMNS[closest] - present)
    raise SourceError(
        f"{source} matches no billing schema (legacy CUR, CUR 2.0, FOCUS); closest is "
        f"{closest}, which lacks {len(missing)} column(s): {', '.join(missing)}"
    )


def check_schema(schema: Schema, columns: Sequence[str], *, source: str = "source") -> None:
    """Raise naming the missing columns when `columns` cannot be read as `schema`."""
    missing = sorted(REQUIRED_COLUMNS[schema] - {c.lower() for c in columns})
    if missing:
        raise SourceError(f"{source} is not {schema}: it lacks column(s) {', '.join(missing)}")


def check_column_types(
    schema: Schema, columns: Mapping[str, str], *, source: str = "source"
) -> None:
    """Raise naming column, type found and type needed when usage start or an amount is mistyped."""
    types = {name.lower(): (name, kind) for name, kind in columns.items()}
    needs = [(_USAGE_START[schema], _TEMPORAL_TYPE, "timestamp")]
    needs += [(c, _NUMERIC_TYPE, "a number (double or decimal)") for c in _AMOUNTS[schema]]
    needs += [(c, _NUMERIC_TYPE, "a number (double or decimal)") for c in _OPTIONAL_NUMERIC]
    for column, wanted, label in needs:
        if column not in types:
            continue
        name, kind = types[column]
        if not wanted.match(kind.strip()):
            raise SourceError(
                f"{source}: column {name} is {kind}; the {schema} adapter needs {label}"
            )


def _src(column: str) -> exp.Column:
    return exp.column(column, table="src")


def _first_present(candidates: Sequence[exp.Expression]) -> exp.Expression:
    """First non-empty candidate, else the first empty one, else NULL: '' stays '' (hygiene)."""
    if not candidates:
        return exp.cast(exp.null(), "varchar")
    if len(candidates) == 1:
        return candidates[0]
    non_empty = [exp.func("nullif", c, exp.Literal.string("")) for c in candidates]
    return cast(exp.Expression, exp.func("coalesce", *non_empty, *[c.copy() for c in candidates]))


def _lookup(function: str, column: str, key: str) -> exp.Expression:
    return cast(exp.Expression, exp.func(function, _src(column), exp.Literal.string(key)))


def _tag_lookups(schema: Schema, alias: str, columns: Mapping[str, str]) -> list[exp.Expression]:
    lower = {c.lower(): c for c in columns}
    if schema == "cur":
        column = _TAG_COLUMN_PREFIX + athena_name(alias)
        return [_src(lower[column])] if column in lower else []
    if schema == "cur2":
        keys = dict.fromkeys([f"user_{alias}", f"user_{athena_name(alias)}"])
        return [_lookup("element_at", "resource_tags", k) for k in keys]
    tags_type = columns.get(lower.get("tags", ""), "")
    keys = dict.fromkeys([f"user:{alias}", alias])
    if not tags_type:
        return []
    if tags_type.upper().startswith("MAP"):
        return [_lookup("element_at", "Tags", k) for k in keys]
    return [_lookup("json_extract_scalar", "Tags", f'$["{k}"]') for k in keys]


def tags_expression(
    schema: Schema, columns: Mapping[str, str], tag_keys: Mapping[str, list[str]]
) -> str:
    """SQL for the canonical `tags` map: logical key -> first non-empty value among its aliases."""
    keys, values = [], []
    for logical, aliases in tag_keys.items():
        check_tag_key(logical, what="logical tag key")
        lookups: list[exp.Expression] = []
        seen: set[str] = set()
        for alias in aliases:
            for lookup in _tag_lookups(schema, check_tag_key(alias), columns):
                if lookup.sql() not in seen:
                    seen.add(lookup.sql())
                    lookups.append(lookup)
        keys.append(exp.Literal.string(logical))
        values.append(_first_present(lookups))
    mapping = exp.func("map", exp.Array(expressions=keys), exp.Array(expressions=values))
    return mapping.sql(dialect="athena")


def sku_instance_type(columns: Mapping[str, str]) -> str:
    """SQL for the instance type held in SkuPriceDetails: a map look-up or a JSON path, by column type."""
    lower = {c.lower(): c for c in columns}
    kind = columns.get(lower.get("skupricedetails", ""), "")
    if not kind:
        return exp.cast(exp.null(), "varchar").sql(dialect="athena")
    if kind.upper().startswith("MAP"):
        lookups = [_lookup("element_at", "SkuPriceDetails", k) for k in _SKU_INSTANCE_KEYS]
    else:
        lookups = [
            _lookup("json_extract_scalar", "SkuPriceDetails", f"$.{k}") for k in _SKU_INSTANCE_KEYS
        ]
    return _first_present(lookups).sql(dialect="athena")


def _month_spellings(kind: str, month: int) -> list[object]:
    """`month` as the partition holds it: an int, or text written `1` or `01` (both occur)."""
    if _INTEGER_TYPE.match(kind.strip()):
        return [month]
    return list(dict.fromkeys([str(month), f"{month:02d}"]))


def partition_filter(columns: Mapping[str, str], window: Window) -> tuple[str, dict[str, object]]:
    """Predicate on partition columns (year/month or billing_period) that prunes to the window."""
    types = {c.lower(): kind for c, kind in columns.items()}
    params: dict[str, object] = {}
    terms: list[str] = []
    for i, month in enumerate(window.months()):
        if "billing_period" in types:
            params[f"partition_period_{i}"] = month.strftime("%Y-%m")
            terms.append(f"src.billing_period = :partition_period_{i}")
        elif {"year", "month"} <= types.keys():
            year_int = bool(_INTEGER_TYPE.match(types["year"].strip()))
            params[f"partition_year_{i}"] = month.year if year_int else str(month.year)
            names = []
            for j, value in enumerate(_month_spellings(types["month"], month.month)):
                params[f"partition_month_{i}_{j}"] = value
                names.append(f":partition_month_{i}_{j}")
            months = (
                f"src.month = {names[0]}"
                if len(names) == 1
                else f"src.month in ({', '.join(names)})"
            )
            terms.append(f"(src.year = :partition_year_{i} and {months})")
    if not terms:
        return "true", {}
    return "(" + " or ".join(terms) + ")", params


def _null_optional_columns(sql: str, columns: Mapping[str, str]) -> str:
    present = {c.lower() for c in columns}
    tree = sqlglot.parse_one(sql, read="athena")

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and node.table == "src":
            name = node.name.lower()
            if name not in present and name in _OPTIONAL_NUMERIC:
                return exp.cast(exp.null(), "double")
            if name not in present and name in _OPTIONAL_TEXT:
                return exp.cast(exp.null(), "varchar")
        return node

    return tree.transform(swap).sql(dialect="athena", pretty=True)


def cost_sql(
    schema: Schema,
    relation: str,
    columns: Mapping[str, str],
    window: Window,
    tag_keys: Mapping[str, list[str]],
    currency: str | None = None,
) -> CostSql:
    """The adapter SELECT for `schema` over `relation`, filtered to `window` (and `currency`).

    With `currency` the rows are that billing currency's only, bound as the `currency`
    parameter in the WHERE clause, as the window is.
    """
    check_schema(schema, list(columns), source=relation)
    check_column_types(schema, columns, source=relation)
    template = (queries_dir() / "sources" / f"{schema}.sql").read_text(encoding="utf-8")
    predicate, params = partition_filter(columns, window)
    warnings: tuple[str, ...] = ()
    if not params:
        warnings = (
            f"{relation} has no billing-period partitions (billing_period, or year and month): "
            "every query scans the whole table",
        )
    sql = fill_slots(
        template,
        {
            "relation": relation,
            "tags": tags_expression(schema, columns, tag_keys),
            "partitions": predicate,
            "sku_instance_type": sku_instance_type(columns),
        },
    )
    params.update(start_date=window.start, end_date=window.end)
    if currency is not None:
        sql = _only_currency(sql, schema)
        params["currency"] = currency
    return CostSql(_null_optional_columns(sql, columns), params, schema, warnings)


def _only_currency(sql: str, schema: Schema) -> str:
    tree = sqlglot.parse_one(sql, read="athena")
    if not isinstance(tree, exp.Select):
        raise SourceError(f"the {schema} adapter is not one SELECT; it cannot select a currency")
    # the survey reads a code trimmed and upper-cased ("usd " is USD) and an empty one as USD:
    # the rows it counted under the chosen code are the rows selected
    code = exp.Upper(this=exp.Trim(this=_src(_CURRENCY[schema])))
    column = exp.Coalesce(
        this=exp.Nullif(this=code, expression=exp.Literal.string("")),
        expressions=[exp.Literal.string("USD")],
    )
    return tree.where(exp.EQ(this=column, expression=exp.Placeholder(this="currency"))).sql(
        dialect="athena"
    )
