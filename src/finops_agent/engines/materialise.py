"""How the DuckDB engine builds the canonical `cost` table: the tag map resolved once per tag set.

The adapter (Athena SQL, shared with Athena) computes the canonical `tags` map on every line
item: a dozen map or JSON look-ups through the alias lists, then a new map. A billing window
holds millions of line items but only thousands of distinct raw tag sets, so DuckDB resolves
each distinct set once and joins the result back. The rows of `cost` are the same either way.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlglot
from sqlglot import exp

__all__ = ["TAG_SETS", "Statement", "cost_statements"]

TAG_SETS = "__tag_sets"  # a helper table: dropped once `cost` is built
_TAGS = "tags"
_SOURCE_ALIAS = "src"
_INPUT = "__tag_input_{}"
_RESOLVED = "__tags"


@dataclass(frozen=True)
class Statement:
    """One `create table <target> as <select>` step; `select` is Athena SQL."""

    target: str
    select: str


def _tag_inputs(projection: exp.Expression) -> list[exp.Column]:
    """The source columns the tag expression reads, once each, in the order they appear."""
    seen: dict[str, exp.Column] = {}
    for column in projection.find_all(exp.Column):
        seen.setdefault(column.sql(dialect="athena"), column)
    return list(seen.values())


def _plain_select(tree: exp.Select) -> bool:
    """A single SELECT over one aliased source, as every adapter in queries/sources is."""
    source = tree.args.get("from_")
    return (
        isinstance(source, exp.From)
        and isinstance(source.this, exp.Table)
        and source.this.alias == _SOURCE_ALIAS
        and not any(tree.args.get(k) for k in ("joins", "group", "having", "with_", "distinct"))
    )


def cost_statements(adapter_sql: str) -> list[Statement]:
    """Steps that build `cost` from the adapter: distinct tag sets resolved first, then joined back.

    Falls back to one plain `create table cost as <adapter>` when the adapter has no `tags`
    column that reads source columns (nothing to share) or is not a plain SELECT.
    """
    tree = sqlglot.parse_one(adapter_sql, read="athena")
    plain = [Statement("cost", adapter_sql)]
    if not isinstance(tree, exp.Select) or not _plain_select(tree):
        return plain
    projections = list(tree.expressions)
    position = next((i for i, p in enumerate(projections) if p.alias_or_name == _TAGS), None)
    if position is None:
        return plain
    tag_expression = projections[position].unalias()
    inputs = _tag_inputs(tag_expression)
    if not inputs or any(c.table != _SOURCE_ALIAS for c in inputs):
        return plain

    # 1. each distinct combination of the raw tag columns in the window, with its canonical map
    distinct = exp.select(*[c.copy() for c in inputs]).distinct()
    distinct.set("from_", tree.args["from_"].copy())
    distinct.set("where", tree.args["where"].copy() if tree.args.get("where") else None)
    resolved = exp.select(
        *[exp.alias_(c.copy(), _INPUT.format(i)) for i, c in enumerate(inputs)],
        exp.alias_(tag_expression.copy(), _RESOLVED),
    ).from_(distinct.subquery(_SOURCE_ALIAS))

    # 2. the adapter with its tag expression replaced by the resolved map of the row's set;
    # NULL-safe equality, because a line without tags has NULL raw columns
    lines = tree.copy()
    lines.set(
        "expressions",
        [
            exp.alias_(exp.column(_RESOLVED, table=TAG_SETS), _TAGS) if i == position else p
            for i, p in enumerate(lines.expressions)
        ],
    )
    condition = exp.and_(
        *[
            exp.NullSafeEQ(this=c.copy(), expression=exp.column(_INPUT.format(i), table=TAG_SETS))
            for i, c in enumerate(inputs)
        ]
    )
    lines = lines.join(exp.to_table(TAG_SETS), on=condition, join_type="left")
    return [
        Statement(TAG_SETS, resolved.sql(dialect="athena", pretty=True)),
        Statement("cost", lines.sql(dialect="athena", pretty=True)),
    ]
