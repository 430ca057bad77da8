"""Athena extract mode: one UNLOAD of the canonical window to Parquet, then every query on DuckDB.

Per-query mode sends each stored query to Athena with the adapter inlined, and Trino scans
the source again for every statement (and every reference to `cost`). Extract mode scans it
once: the adapter's window, cut to the canonical columns the selected queries read, is
unloaded to Parquet under the results location, downloaded, and materialised as `cost` in
the DuckDB engine. The S3 objects are removed when the run ends, whether it succeeded or not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import traverse_scope
from sqlglot.schema import MappingSchema

from finops_agent.engines.athena_params import to_qmark

__all__ = [
    "EXTRACT_FOLDER",
    "ExtractStatement",
    "adapter_columns",
    "extract_location",
    "needed_columns",
    "unload_statement",
]

EXTRACT_FOLDER = "finops-extract"
_COST = "cost"
# an s3:// folder UNLOAD can write to, spelled so it is safe inside a quoted SQL string
_S3_FOLDER = re.compile(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/[A-Za-z0-9!\-_.*()=/]*)?/$")
_RUN_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


@dataclass(frozen=True)
class ExtractStatement:
    """The UNLOAD Athena receives: text with `?` markers, their values, and what it writes where."""

    sql: str
    params: list[str]
    columns: tuple[str, ...]
    location: str
    select: str  # the SELECT inside the UNLOAD, with the same `?` markers


def adapter_columns(adapter_sql: str) -> list[str]:
    """The canonical column names an adapter SELECT produces, in its order."""
    tree = sqlglot.parse_one(adapter_sql, read="athena")
    if not isinstance(tree, exp.Select):
        raise ValueError("the source adapter is not a single SELECT")
    return [projection.alias_or_name for projection in tree.expressions]


def needed_columns(query_sqls: Iterable[str], canonical: Sequence[str]) -> list[str]:
    """The canonical columns the statements read from `cost`, in adapter order.

    Each statement is qualified against a `cost` table holding the canonical columns, so
    unqualified names and `*` resolve as Trino resolves them; then every scope whose source
    is `cost` contributes the columns it reads. A statement that does not read `cost` adds
    nothing.
    """
    schema = MappingSchema({_COST: dict.fromkeys(canonical, "varchar")}, dialect="athena")
    needed: set[str] = set()
    for sql in query_sqls:
        tree = sqlglot.parse_one(sql, read="athena")
        qualified = qualify(
            tree,
            schema=schema,
            dialect="athena",
            validate_qualify_columns=False,
            quote_identifiers=False,
            identify=False,
        )
        for scope in traverse_scope(qualified):
            only = next(iter(scope.sources.values())) if len(scope.sources) == 1 else None
            for column in scope.columns:
                # a name qualify could not place (not a canonical column) in a scope reading
                # cost alone is a column of cost too: it must be reported, not dropped
                source = scope.sources.get(column.table) if column.table else only
                if isinstance(source, exp.Table) and source.name.lower() == _COST:
                    needed.add(column.name.lower())
    unknown = sorted(needed - {c.lower() for c in canonical})
    if unknown:
        raise ValueError(f"stored SQL reads column(s) {unknown} that the adapter does not produce")
    return [c for c in canonical if c.lower() in needed]


def extract_location(results: str, run_id: str) -> str:
    """The run's own empty folder under the results location: `<results>/finops-extract/<run-id>/`."""
    if not _RUN_ID.match(run_id):
        raise ValueError(f"extract run id {run_id!r} must be 1-64 letters, digits, - or _")
    location = f"{results.rstrip('/')}/{EXTRACT_FOLDER}/{run_id}/"
    if not _S3_FOLDER.match(location):
        raise ValueError(
            f"results location {results!r} (FINOPS_ATHENA_OUTPUT or the workgroup's) is not an "
            "s3://bucket/prefix that UNLOAD can write to"
        )
    return location


def _pruned_select(adapter_sql: str, columns: Sequence[str]) -> str:
    """The adapter with only the projections named in `columns` (its filters untouched)."""
    tree = sqlglot.parse_one(adapter_sql, read="athena")
    if not isinstance(tree, exp.Select):
        raise ValueError("the source adapter is not a single SELECT")
    wanted = {c.lower() for c in columns}
    kept = [p for p in tree.expressions if p.alias_or_name.lower() in wanted]
    if not kept:
        raise ValueError("no canonical column is needed: nothing to extract")
    tree.set("expressions", kept)
    # the adapter's comments explain its columns to a reader of the file, not to Athena
    return tree.sql(dialect="athena", comments=False)


def unload_statement(
    adapter_sql: str,
    adapter_params: Mapping[str, object],
    query_sqls: Iterable[str],
    location: str,
) -> ExtractStatement:
    """The exact UNLOAD of the adapter's window, only the columns the queries read, to `location`.

    `adapter_sql` is the windowed adapter (`sources.cost_sql`), `query_sqls` the stored SQL
    of the selected queries, `location` an `extract_location`. Values in the adapter's WHERE
    clause become Athena execution parameters (UNLOAD accepts them as a SELECT does).
    """
    if not _S3_FOLDER.match(location):
        raise ValueError(f"extract location {location!r} is not an s3://bucket/prefix/ folder")
    columns = needed_columns(query_sqls, adapter_columns(adapter_sql))
    select, values = to_qmark(_pruned_select(adapter_sql, columns), adapter_params)
    text = f"UNLOAD ({select}) TO '{location}' WITH (format = 'PARQUET', compression = 'SNAPPY')"
    return ExtractStatement(text, values, tuple(columns), location, select)
