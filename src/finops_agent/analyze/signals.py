"""Facts the file rules need, computed in DuckDB: untagged spend, gp2 and previous-generation cost."""

from __future__ import annotations

from typing import Any

import duckdb

from finops_agent.analyze.dataset import Dataset
from finops_agent.analyze.load import quote_ident

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
)
# Previous-generation EC2/RDS families as they appear in instance and usage types (m4.large,
# BoxUsage:t2.micro, db.r4.xlarge).
PREVIOUS_GENERATION = (
    r"(^|[^a-z0-9])(t1|t2|m1|m2|m3|m4|c1|c3|c4|r3|r4|i2|d2|g2|g3|p2|x1)"
    r"\.(nano|micro|small|medium|large|[0-9]*xlarge)"
)
_TEXT_ROLES = ("group", "id", "text")


def _text_columns(dataset: Dataset) -> list[str]:
    return [
        c.name
        for c in dataset.profile.columns
        if c.role in _TEXT_ROLES and c.type.upper() == "VARCHAR"
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
    if not exprs:
        return {}
    row = con.execute(f"select {', '.join(exprs)} from {dataset.view}").fetchall()[0]
    found: dict[str, Any] = {
        key: (0.0 if value is None else float(value)) for key, value in zip(keys, row, strict=True)
    }
    if found.get("previous_generation_rows"):
        found["previous_generation_examples"] = _examples(con, dataset, text)
    return found


def _examples(con: duckdb.DuckDBPyConnection, dataset: Dataset, columns: list[str]) -> list[str]:
    pattern = "'" + PREVIOUS_GENERATION + "'"
    parts = " union ".join(
        f"select regexp_extract(lower({quote_ident(c)}), {pattern}, 0) as found from {dataset.view} "
        f"where regexp_matches(lower({quote_ident(c)}), {pattern})"
        for c in columns
    )
    rows = con.execute(
        f"select distinct trim(found, ':.') from ({parts}) order by 1 limit 10"
    ).fetchall()
    return [str(r[0]) for r in rows]
