"""Where an Athena run's scanned bytes go: the source columns each statement reads, and a model.

Athena reports what each statement scanned (`DataScannedInBytes`), but not why. The model here
explains it from the statement text alone: Trino plans a CTE inline at every reference, so each
reference to the source table is a scan, and each scan reads the compressed column chunks of the
source columns it needs (a map column whole). Weighing every column by its compressed bytes per
row, as `benchmarks/athena_scan.py` measured them on a generated sample of the schema, gives each
statement's expected share of the run, and the share one pass over the same columns would take.
At report time the customer's Parquet footers are out of reach, so absolute sizes come only from
Athena; the model only divides them.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.pushdown_projections import pushdown_projections
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import traverse_scope

from finops_agent.engines.base import MATERIALISE_TABLE_PREFIX

__all__ = [
    "PROFILE_PATH",
    "RunScans",
    "ScanModelError",
    "Sent",
    "StatementScan",
    "load_profile",
    "load_window_profile",
    "run_scans",
    "statement_scans",
    "window_profile_key",
]

PROFILE_PATH = Path(__file__).with_name("athena_scan_profile.json")
# inlining stops here: a CTE chain deeper than this is a cycle, not a query
_MAX_INLINE_ROUNDS = 64
# Athena's UNLOAD wraps one SELECT; sqlglot has no UNLOAD, and what it scans is that SELECT's
_UNLOAD = re.compile(
    r"^\s*unload\s*\((?P<select>.*)\)\s*to\s*'[^']*'\s*with\s*\(.*\)\s*$", re.I | re.S
)
# materialise mode's CTAS: only its SELECT scans; the table it creates is written, not read
_CTAS = re.compile(
    r"^\s*create\s+table\s+[^(]*?\s*(?:with\s*\((?:[^()']|'[^']*')*\)\s*)?as\s+(?P<select>.*)$",
    re.I | re.S,
)


class ScanModelError(ValueError):
    """A statement or a profile the scan model cannot read."""


def _inline_ctes(tree: exp.Expr) -> exp.Expr:
    """`tree` with every reference to a CTE replaced by a copy of its body, as Trino plans it."""
    bodies: dict[str, exp.Expr] = {}
    for cte in tree.find_all(exp.CTE):
        bodies[cte.alias_or_name.lower()] = cte.this.copy()
    for with_ in list(tree.find_all(exp.With)):
        with_.pop()
    for _ in range(_MAX_INLINE_ROUNDS):
        refs = [t for t in tree.find_all(exp.Table) if not t.db and t.name.lower() in bodies]
        if not refs:
            return tree
        for ref in refs:
            alias = ref.alias_or_name
            ref.replace(
                exp.Subquery(
                    this=bodies[ref.name.lower()].copy(),
                    alias=exp.TableAlias(this=exp.to_identifier(alias)),
                )
            )
    raise ScanModelError("CTEs reference each other in a cycle")


def _is_source(table: exp.Table, database: str | None, name: str | None) -> bool:
    # the stored SQL names one real table, always database-qualified: any such table is it
    if database is None or name is None:
        return bool(table.db)
    return table.name.lower() == name and table.db.lower() == database


def statement_scans(
    text: str,
    types: Mapping[str, str] | None = None,
    *,
    database: str | None = None,
    table: str | None = None,
) -> list[frozenset[str]]:
    """Per scan of the source table in one statement, the (top-level) source columns it reads.

    Without `types` the adapter's `src.`-qualified columns are enough; the table's column list
    is needed only to expand a `select *` from the source.
    """
    return [columns for _, columns in _table_scans(text, types, database=database, table=table)]


def _table_scans(
    text: str,
    types: Mapping[str, str] | None = None,
    *,
    database: str | None = None,
    table: str | None = None,
) -> list[tuple[str, frozenset[str]]]:
    """Per scan of a table in one statement, the table's (lower-case) name and its columns read."""
    for wrapper in (_UNLOAD, _CTAS):
        wrapped = wrapper.match(text)
        if wrapped:
            text = wrapped.group("select")
            break
    # `?` is where Athena binds a value; any literal parses the same for scoping
    try:
        parsed = sqlglot.parse_one(text.replace("?", "NULL"), read="athena")
    except sqlglot.errors.SqlglotError as exc:
        raise ScanModelError(f"cannot parse the statement: {exc}") from None
    tree = _inline_ctes(parsed)
    schema: dict[str, object] | None = (
        {database: {table: dict(types)}} if types and database and table else None
    )
    try:
        tree = qualify(tree, schema=schema, dialect="athena", validate_qualify_columns=False)
        tree = pushdown_projections(tree)
    except sqlglot.errors.SqlglotError as exc:
        raise ScanModelError(f"cannot resolve the statement's columns: {exc}") from None
    scans: list[tuple[str, frozenset[str]]] = []
    for scope in traverse_scope(tree):
        for alias, (_, source) in scope.selected_sources.items():
            if not isinstance(source, exp.Table) or not _is_source(source, database, table):
                continue
            # without the table's columns sqlglot leaves a lone table's bare columns unqualified
            # (the window table's relation names them so): they can only be that table's
            lone = len(scope.selected_sources) == 1
            named = {
                c.name.lower()
                for c in scope.columns
                if c.table.lower() == alias.lower() or (lone and not c.table)
            }
            selects = getattr(scope.expression, "selects", [])
            if types and any(isinstance(s, exp.Star) for s in selects):
                named = set(types)
            scans.append((source.name.lower(), frozenset(named)))
    return scans


@cache
def _profiles(path: Path) -> dict[str, dict[str, float]]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ScanModelError(f"{path}: cannot read the scan profile: {exc}") from None
    profiles = loaded.get("bytes_per_row") if isinstance(loaded, dict) else None
    if not isinstance(profiles, dict):
        raise ScanModelError(f"{path}: no 'bytes_per_row' object")
    return {str(k): {str(c): float(v) for c, v in cols.items()} for k, cols in profiles.items()}


def load_profile(schema: str, path: Path = PROFILE_PATH) -> dict[str, float]:
    """Compressed bytes per row of each source column of `schema`, measured by the benchmark."""
    profiles = _profiles(path)
    if schema not in profiles:
        raise ScanModelError(f"{path}: no profile for schema {schema!r}")
    return profiles[schema]


def window_profile_key(schema: str) -> str:
    """The profile key of `schema`'s materialised window table: `<schema>:materialised`."""
    return f"{schema}:materialised"


def load_window_profile(schema: str, path: Path = PROFILE_PATH) -> dict[str, float] | None:
    """ZSTD bytes per row of each canonical column in `schema`'s window table; None if unmeasured."""
    return _profiles(path).get(window_profile_key(schema))


@dataclass(frozen=True)
class StatementScan:
    """One statement Athena ran: its scans, what Athena billed it and what the model expects."""

    name: str
    scans: int
    columns: frozenset[str]
    actual_bytes: int
    estimated_bytes: int


@dataclass(frozen=True)
class RunScans:
    """A run's statements with Athena's bytes beside the model's, and one pass's estimate."""

    statements: list[StatementScan]
    actual_bytes: int
    one_pass_bytes: int

    @property
    def ratio(self) -> float:
        """How many times one pass over the same columns the run scanned."""
        return self.actual_bytes / self.one_pass_bytes if self.one_pass_bytes else 0.0


@dataclass(frozen=True)
class Sent:
    """What the model needs of one statement: its text, Athena's bytes and the days it reads."""

    name: str
    sql: str
    actual_bytes: int
    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        """Days of data the statement's partition and usage-start filters keep."""
        return max((self.end - self.start).days, 1)


def _weight(columns: frozenset[str], profile: Mapping[str, float], fallback: float) -> float:
    # a column the generated sample lacks (real exports carry more) weighs as a median column
    return sum(profile.get(c, fallback) for c in columns)


def run_scans(
    sent: Sequence[Sent],
    profile: Mapping[str, float],
    start: dt.date,
    end: dt.date,
    materialised: Mapping[str, float] | None = None,
) -> RunScans | None:
    """Split the run's actual bytes over its statements by the model; None when nothing scanned.

    A statement's weight is the bytes per row of the columns each of its scans reads, times the
    days it reads; one pass reads the union of the columns of the window's source scans once.
    A scan of a run's materialised window table (`finops_window_*`) reads its canonical columns
    from that ZSTD table, not the source: it weighs by `materialised` (None: by `profile`). A
    statement that names no table, or whose columns cannot be resolved, is left out: the model
    has nothing to weigh it by.
    """
    window_days = (end - start).days
    if window_days <= 0:
        return None
    fallback = statistics.median(profile.values()) if profile else 1.0
    window_profile = profile if materialised is None else materialised
    window_fallback = statistics.median(window_profile.values()) if window_profile else 1.0
    modelled: list[tuple[Sent, list[tuple[str, frozenset[str]]], float]] = []
    for statement in sent:
        try:
            scans = _table_scans(statement.sql)
        except ScanModelError:
            continue
        weight = 0.0
        for name, columns in scans:
            if name.startswith(MATERIALISE_TABLE_PREFIX):
                weight += _weight(columns, window_profile, window_fallback)
            else:
                weight += _weight(columns, profile, fallback)
        weight *= statement.days
        if scans and weight > 0:
            modelled.append((statement, scans, weight))
    actual = sum(s.actual_bytes for s, _, _ in modelled)
    total_weight = sum(w for _, _, w in modelled)
    if actual <= 0 or total_weight <= 0:
        return None
    # one pass is over the source: the window table's columns are what a pass would produce
    union: set[str] = set()
    for statement, scans, _ in modelled:
        if (statement.start, statement.end) == (start, end):
            for name, columns in scans:
                if not name.startswith(MATERIALISE_TABLE_PREFIX):
                    union.update(columns)
    per_weight = actual / total_weight
    rows = [
        StatementScan(
            s.name,
            len(scans),
            frozenset().union(*(columns for _, columns in scans)),
            s.actual_bytes,
            round(w * per_weight),
        )
        for s, scans, w in modelled
    ]
    one_pass = round(_weight(frozenset(union), profile, fallback) * window_days * per_weight)
    return RunScans(rows, actual, one_pass)
