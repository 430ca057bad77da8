"""Values for Athena: bound as `?` where Athena allows it (WHERE clauses), typed literals elsewhere.

Athena accepts `?` execution parameters only in a WHERE clause ("Syntax like SELECT ? FROM
table is not supported"), while the stored queries also use `:name` in SELECT lists, CASE
expressions, HAVING and LIMIT. Those become sqlglot literal nodes, so sqlglot does the quoting
and escaping; no value is ever pasted into SQL text.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import secrets
from collections.abc import Mapping

import sqlglot
from sqlglot import exp

__all__ = ["athena_literal", "sql_literal", "to_qmark"]


def sql_literal(value: object) -> exp.Expression:
    """A value as a typed sqlglot literal: escaped text, DATE/TIMESTAMP, a number, a boolean, NULL."""
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, dt.datetime):
        return exp.cast(
            exp.Literal.string(value.isoformat(sep=" ")), exp.DataType.build("timestamp")
        )
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.build("date"))
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} has no SQL literal")
        return exp.Literal.number(value)
    if isinstance(value, str):
        return exp.Literal.string(value)
    raise TypeError(f"a {type(value).__name__} value has no SQL literal")


def athena_literal(value: object) -> str:
    """A value as the Athena literal an ExecutionParameter carries: DATE '…', quoted text, a number."""
    # ExecutionParameters are literals, not expressions: keep the DATE '…' form, not CAST(…)
    if isinstance(value, dt.datetime):
        return "TIMESTAMP " + exp.Literal.string(value.isoformat(sep=" ")).sql(dialect="athena")
    if isinstance(value, dt.date):
        return "DATE " + exp.Literal.string(value.isoformat()).sql(dialect="athena")
    return sql_literal(value).sql(dialect="athena")


def _in_where_clause(node: exp.Expression) -> bool:
    """True when the nearest clause around `node` is a query's WHERE (not SELECT, HAVING, FILTER, ON)."""
    parent = node.parent
    while parent is not None:
        if isinstance(parent, exp.Where):
            # FILTER (WHERE …) of an aggregate sits in a select list
            return isinstance(parent.parent, exp.Query)
        if isinstance(parent, exp.Query):
            return False
        parent = parent.parent
    return False


def to_qmark(sql: str, params: Mapping[str, object]) -> tuple[str, list[str]]:
    """Athena SQL with WHERE-clause `:name`s as `?` (values in `?` order), every other one a literal."""
    tree = sqlglot.parse_one(sql, read="athena")
    placeholders = [p for p in tree.find_all(exp.Placeholder) if p.name]
    missing = sorted({p.name for p in placeholders} - params.keys())
    if missing:
        raise KeyError(f"parameter(s) {missing} were not given")
    # a fresh nonce per statement, so no text inside the SQL (a pasted-looking value) can pass
    # for one of the markers that locate the `?`s after sqlglot has generated the text
    nonce = secrets.token_hex(8)
    marker = re.compile(rf":finops{nonce}p(\d+)x")
    bound: list[object] = []
    for node in placeholders:
        value = params[node.name]
        if _in_where_clause(node):
            node.replace(exp.Placeholder(this=f"finops{nonce}p{len(bound)}x"))
            bound.append(value)
        else:
            node.replace(sql_literal(value))
    text = tree.sql(dialect="athena")
    order = [int(m.group(1)) for m in marker.finditer(text)]
    if sorted(order) != list(range(len(bound))):
        raise ValueError("the bound parameters could not be located in the generated SQL")
    return marker.sub("?", text), [athena_literal(bound[i]) for i in order]
