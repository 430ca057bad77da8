"""The SQL guard for chat: one read-only SELECT over the allowed relations, with a LIMIT."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.scope import traverse_scope

__all__ = ["DEFAULT_LIMIT", "CheckedSql", "UnsafeSqlError", "check_sql"]

DEFAULT_LIMIT: int = 200
_ALLOWED_DEFAULT = frozenset({"cost"})
# Statements and clauses that change state or reach outside the query.
_FORBIDDEN_NODES: tuple[type[exp.Expression], ...] = (
    exp.Insert,
    exp.Update,
    exp.Delete,
    exp.Merge,
    exp.Create,
    exp.Drop,
    exp.Alter,
    exp.Command,
    exp.Copy,
    exp.Pragma,
    exp.Set,
    exp.Use,
    exp.Into,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.LoadData,
    exp.Placeholder,
    exp.Parameter,
)
# Functions that read files, URLs, settings or the catalog (DuckDB and Trino names).
_FORBIDDEN_FUNCTION = re.compile(
    r"^(read_\w*|\w*_scan|scan_\w*|glob|sniff_csv|query|query_table|getenv|current_setting|"
    r"duckdb_\w*|pragma_\w*|sqlite_\w*|postgres_\w*|mysql_\w*|iceberg_\w*|delta_\w*|"
    r"http\w*|s3\w*|load_\w*|install_\w*|attach|detach|copy\w*|export\w*|import\w*|system|"
    r"shell|which_secret|file\w*|parquet_\w*|json_execute_serialized_sql|"
    r"table_changes|range|generate_series)$",
    re.IGNORECASE,
)


class UnsafeSqlError(ValueError):
    """The SQL is not a single read-only SELECT over the allowed relations; says which rule."""


@dataclass(frozen=True)
class CheckedSql:
    """SQL that passed the guard, as it will run, and what the guard changed."""

    sql: str
    limit: int
    note: str = ""


def _function_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name)
    return node.sql_name()


def _check_nodes(tree: exp.Expression) -> None:
    for node in tree.walk():
        if isinstance(node, _FORBIDDEN_NODES):
            kind = type(node).__name__.upper()
            if isinstance(node, (exp.Placeholder, exp.Parameter)):
                raise UnsafeSqlError("parameters are not allowed; write literal values")
            raise UnsafeSqlError(f"{kind} is not allowed; only a read-only SELECT is")
        if isinstance(node, exp.Func) and _FORBIDDEN_FUNCTION.match(_function_name(node)):
            raise UnsafeSqlError(
                f"function {_function_name(node).lower()}() is not allowed: it can read files, "
                "settings or the catalog"
            )


def _check_relations(tree: exp.Expression, allowed: frozenset[str]) -> None:
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    # engines bind `cost` themselves (Athena prepends it as a CTE): a second one would shadow it
    shadowing = sorted(ctes & allowed)
    if shadowing:
        raise UnsafeSqlError(f"a CTE may not be named {shadowing[0]!r}: that name is the data")
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            raise UnsafeSqlError("table functions are not allowed in FROM; read from cost")
        if table.args.get("db") or table.args.get("catalog"):
            raise UnsafeSqlError(
                f"qualified name {table.sql()} is not allowed; use {sorted(allowed)[0]}"
            )
        name = table.name.lower()
        if name not in allowed and name not in ctes:
            raise UnsafeSqlError(
                f"relation {table.name!r} is not allowed; query {', '.join(sorted(allowed))} "
                "or CTEs defined in the statement"
            )
    # a CTE may not stand in for a real relation inside its own body (WITH t AS (FROM t))
    try:
        scopes = traverse_scope(tree)
    except SqlglotError as exc:
        raise UnsafeSqlError(f"cannot resolve the relations of the statement: {exc}") from None
    for scope in scopes:
        for source in scope.sources.values():
            if isinstance(source, exp.Table) and source.name.lower() not in allowed:
                raise UnsafeSqlError(
                    f"relation {source.name!r} is not allowed where it is read; only "
                    f"{', '.join(sorted(allowed))} is a real relation here"
                )


def _limit_value(tree: exp.Expression) -> int | None:
    limit = tree.args.get("limit")
    if limit is None:
        return None
    value = limit.expression if isinstance(limit, exp.Limit) else None
    if isinstance(value, exp.Literal) and not value.is_string and value.this.isdigit():
        return int(value.this)
    raise UnsafeSqlError("LIMIT must be a whole number")


def check_sql(
    sql: str,
    *,
    allowed: Iterable[str] = _ALLOWED_DEFAULT,
    max_rows: int = DEFAULT_LIMIT,
    dialect: str = "athena",
) -> CheckedSql:
    """Parse, check and limit one SELECT; raise UnsafeSqlError naming the rule it breaks."""
    relations = frozenset(a.lower() for a in allowed)
    text = sql.strip().rstrip(";").strip()
    if not text:
        raise UnsafeSqlError("empty SQL")
    if "\x00" in text:
        raise UnsafeSqlError("SQL contains a NUL character")
    try:
        statements = [s for s in sqlglot.parse(text, read=dialect) if s is not None]
    except SqlglotError as exc:
        first = str(exc).strip().splitlines()[0]
        raise UnsafeSqlError(f"SQL does not parse ({dialect} dialect): {first}") from None
    if len(statements) != 1:
        raise UnsafeSqlError(f"exactly one statement is allowed, got {len(statements)}")
    tree = statements[0]
    if not isinstance(tree, (exp.Select, exp.SetOperation)):
        raise UnsafeSqlError(f"only SELECT is allowed, not {type(tree).__name__.upper()}")
    _check_nodes(tree)
    _check_relations(tree, relations)
    if tree.args.get("fetch") is not None:
        raise UnsafeSqlError("use LIMIT instead of FETCH FIRST")
    asked = _limit_value(tree)
    note = ""
    if asked is None:
        limit, note = max_rows, f"LIMIT {max_rows} added"
    elif asked > max_rows:
        limit, note = max_rows, f"LIMIT {asked} capped at {max_rows}"
    else:
        limit = asked
    tree.set("limit", exp.Limit(expression=exp.Literal.number(limit)))
    # comments are dropped: what runs is exactly what was checked
    out = tree.sql(dialect=dialect, comments=False)
    try:
        # sqlglot accepts some fragments (a bare SELECT) it cannot print back as valid SQL
        sqlglot.parse_one(out, read=dialect)
    except SqlglotError:
        raise UnsafeSqlError(f"SQL is incomplete: {text[:80]!r}") from None
    return CheckedSql(out, limit, note)
