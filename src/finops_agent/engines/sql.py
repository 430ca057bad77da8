"""Athena-dialect SQL carried to other engines, with only the parameters it uses."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import sqlglot
from sqlglot import exp


@lru_cache(maxsize=512)
def to_duckdb(sql: str) -> tuple[str, frozenset[str]]:
    """Transpile Athena SQL to DuckDB; return it with the names of its `:name` placeholders."""
    tree = sqlglot.parse_one(sql, read="athena")
    names = frozenset(p.name for p in tree.find_all(exp.Placeholder) if p.name)
    return tree.sql(dialect="duckdb"), names


def used_params(
    names: frozenset[str], params: Mapping[str, object], *, query: str
) -> dict[str, object]:
    """The subset of `params` a statement uses; raise naming any the statement lacks a value for."""
    missing = sorted(names - params.keys())
    if missing:
        raise KeyError(f"query {query!r} needs parameter(s) {missing} that were not given")
    return {name: params[name] for name in names}


def reads_cost(query_sql: str) -> bool:
    """True when the statement reads a relation named `cost` that it does not define itself."""
    query = sqlglot.parse_one(query_sql, read="athena")
    own = {cte.alias_or_name.lower() for cte in query.find_all(exp.CTE)}
    return any(
        not t.db and t.name.lower() == "cost" and "cost" not in own
        for t in query.find_all(exp.Table)
    )


def with_cost(cost_sql: str, query_sql: str) -> str:
    """Athena SQL of `query_sql` with the adapter as its first CTE, named `cost` (merged into any WITH)."""
    query = sqlglot.parse_one(query_sql, read="athena")
    cte = exp.CTE(
        this=sqlglot.parse_one(cost_sql, read="athena"),
        alias=exp.TableAlias(this=exp.to_identifier("cost")),
    )
    existing = query.args.get("with_")
    if existing is not None:
        existing.set("expressions", [cte, *existing.expressions])
    else:
        query.set("with_", exp.With(expressions=[cte]))
    return query.sql(dialect="athena", pretty=True)
