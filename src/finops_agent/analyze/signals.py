"""Facts the file rules need, computed in DuckDB: untagged spend, gp2 and previous-generation cost."""

from __future__ import annotations

from typing import Any

import duckdb

from finops_agent.analyze.dataset import Dataset
from finops_agent.analyze.roles import tokens
from finops_agent.result_files.load import quote_ident

# Values of a tag column that mean "not tagged".
UNTAGGED_VALUES: tuple[str, ...] = (
    "",
    "untagged",
    "none",
    "(none)",
    "no tag",
    "n/a",
    "unknown",
    "null",
    # an empty tag map as CUR 2.0 and FOCUS CSV exports write it
    "{}",
)
# Previous-generation EC2/RDS families as they appear in instance and usage types (m4.large,
# BoxUsage:t2.micro, db.r4.xlarge).
PREVIOUS_GENERATION = (
    r"(^|[^a-z0-9])((t1|t2|m1|m2|m3|m4|c1|c3|c4|r3|r4|i2|d2|g2|g3|p2|x1)"
    r"\.(nano|micro|small|medium|large|[0-9]*xlarge))"
)
_TEXT_ROLES = ("group", "id", "text")
_EXAMPLES = 10
# Columns where volume and instance types are written; scanning only these keeps a
# multi-GB file's extra pass cheap (resource ids and account names never hold them).
_TYPE_TOKENS = {
    "usage",
    "type",
    "instance",
    "volume",
    "operation",
    "description",
    "family",
    "class",
    "sku",
    "storage",
    "size",
    "node",
}


# Columns that say what kind of charge a row is (CUR line item type, FOCUS charge category).
_CHARGE_TYPE_NAMES = (
    "line_item_line_item_type",
    "chargecategory",
    "charge_category",
    "charge_type",
    "line_item_type",
    "record_type",
)
CREDIT_VALUES: tuple[str, ...] = ("credit", "refund")


def charge_type_column(dataset: Dataset) -> str | None:
    """The column naming each row's charge type (Usage, Credit, Refund …), if the file has one."""
    by_lower = {c.name.lower(): c.name for c in dataset.profile.columns}
    return next((by_lower[n] for n in _CHARGE_TYPE_NAMES if n in by_lower), None)


def _text_columns(dataset: Dataset) -> list[str]:
    return [
        c.name
        for c in dataset.profile.columns
        if c.role in _TEXT_ROLES and c.type.upper() == "VARCHAR" and tokens(c.name) & _TYPE_TOKENS
    ]


def _any(columns: list[str], template: str) -> str:
    return "(" + " or ".join(template.format(col=quote_ident(c)) for c in columns) + ")"


def compute(con: duckdb.DuckDBPyConnection, dataset: Dataset) -> dict[str, Any]:
    """Untagged cost per tag column, and cost and rows that mention gp2 or old instance families."""
    profile = dataset.profile
    assert profile.cost is not None
    cost = f"cast({quote_ident(profile.cost)} as double)"
    exprs: list[str] = []
    keys: list[str] = []
    untagged_in = ", ".join("'" + v + "'" for v in UNTAGGED_VALUES)
    for tag in profile.tags:
        value = f"lower(trim(coalesce(cast({quote_ident(tag)} as varchar), '')))"
        exprs.append(f"sum({cost}) filter (where {value} in ({untagged_in}))")
        keys.append(f"untagged:{tag}")
    charge_type = charge_type_column(dataset)
    if charge_type:
        value = f"lower(trim(cast({quote_ident(charge_type)} as varchar)))"
        credits = ", ".join("'" + v + "'" for v in CREDIT_VALUES)
        exprs += [
            f"sum({cost}) filter (where {value} in ({credits}))",
            f"count(*) filter (where {value} in ({credits}))",
        ]
        keys += ["credit_cost", "credit_rows"]
    text = _text_columns(dataset)
    if text:
        gp2 = _any(text, "lower({col}) like '%gp2%'")
        old = _any(text, "regexp_matches(lower({col}), '" + PREVIOUS_GENERATION + "')")
        exprs += [
            f"sum({cost}) filter (where {gp2})",
            f"count(*) filter (where {gp2})",
            f"sum({cost}) filter (where {old})",
            f"count(*) filter (where {old})",
        ]
        keys += ["gp2_cost", "gp2_rows", "previous_generation_cost", "previous_generation_rows"]
        for column in text:
            # the old types named, collected in the same scan
            value = f"lower({quote_ident(column)})"
            exprs.append(
                f"list(distinct regexp_extract({value}, '{PREVIOUS_GENERATION}', 2)) "
                f"filter (where regexp_matches({value}, '{PREVIOUS_GENERATION}'))"
            )
            keys.append(f"examples:{column}")
    if not exprs:
        return {}
    row = con.execute(f"select {', '.join(exprs)} from {dataset.view}").fetchall()[0]
    found: dict[str, Any] = {}
    examples: set[str] = set()
    for key, value in zip(keys, row, strict=True):
        if key.startswith("examples:"):
            examples |= {str(v) for v in value or [] if v}
        else:
            found[key] = 0.0 if value is None else float(value)
    if text:
        found["previous_generation_examples"] = sorted(examples)[:_EXAMPLES]
    if charge_type:
        found["charge_type_column"] = charge_type
    return found
