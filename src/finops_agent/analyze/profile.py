"""Column roles of a result file: cost, grouping, tag, date, id, metric — by name, type and values."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import duckdb

from finops_agent.analyze.roles import (
    BILLING_DATE_KINDS,
    ID_TOKENS,
    cost_basis,
    cost_rank,
    date_kind,
    date_rank,
    is_monthly,
    number_role,
    tokens,
)
from finops_agent.result_files.load import AnalyzeError, quote_ident
from finops_agent.result_files.views import Conversion

Role = Literal["cost", "rate", "quantity", "metric", "group", "tag", "date", "id", "text"]

_NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT")
_NUMERIC_PREFIXES = (*_NUMERIC_TYPES, "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL", "REAL")
_TEXT_TYPES = ("VARCHAR",)

# Money written as text: $1,234.50, -$12, (1,234.50), USD 12.00, 12.00 € …
_CURRENCY = r"(?:[$€£]|usd|eur|gbp)?"
MONEY_US = rf"^\(?-?\s*{_CURRENCY}\s*-?\s*(?:[0-9]{{1,3}}(?:,[0-9]{{3}})+|[0-9]+)(?:\.[0-9]+)?\s*{_CURRENCY}\)?$"
# … and the European style that comes with ';' delimiters: 1.234,50 €
MONEY_EU = (
    rf"^-?\s*{_CURRENCY}\s*-?\s*(?:[0-9]{{1,3}}(?:\.[0-9]{{3}})+|[0-9]+),[0-9]+\s*{_CURRENCY}$"
)

_ID_EXACT = {"resource_id", "volume_id", "instance_id", "arn", "line_item_resource_id"}
_TAG_TOKENS = {
    "tag",
    "tags",
    "owner",
    "team",
    "project",
    "environment",
    "env",
    "costcenter",
    "application",
    "app",
    "untagged",
}
_GROUP_TOKENS = {
    "service",
    "product",
    "account",
    "payer",
    "region",
    "zone",
    "az",
    "usage",
    "operation",
    "type",
    "family",
    "category",
    "purchase",
    "option",
    "pricing",
    "tier",
    "class",
    "name",
    "engine",
    "platform",
    "generation",
    "architecture",
    "storage",
    "database",
    "location",
}
# Preferred main grouping columns, best first (matched against the column's tokens).
_MAIN_GROUP_ORDER: tuple[frozenset[str], ...] = (
    frozenset({"service"}),
    frozenset({"product"}),
    frozenset({"account"}),
    frozenset({"usage", "type"}),
    frozenset({"instance", "type"}),
    frozenset({"volume", "type"}),
    frozenset({"region"}),
    frozenset({"type"}),
    frozenset({"category"}),
    frozenset({"operation"}),
)
_TEXT_GROUP_MAX_DISTINCT = 200
_PARSE_SHARE = 0.95


def is_numeric_type(kind: str) -> bool:
    """True for DuckDB integer, float and decimal types."""
    return kind.upper().startswith(_NUMERIC_PREFIXES)


def is_temporal_type(kind: str) -> bool:
    """True for DuckDB DATE and TIMESTAMP types."""
    return kind.upper().startswith(("DATE", "TIMESTAMP"))


@dataclass
class ColumnStats:
    """What one pass over a relation found out about one column."""

    name: str
    type: str
    non_null: int = 0
    distinct: int = 0
    money_us: int = 0
    money_eu: int = 0
    dates: int = 0
    months: int = 0
    total: float | None = None
    first: Any = None
    last: Any = None

    @property
    def conversion(self) -> Conversion:
        """How a text column must be cast to be useful (money or dates), if at all."""
        if self.type.upper() not in _TEXT_TYPES or self.non_null == 0:
            return ""
        needed = self.non_null * _PARSE_SHARE
        if self.dates >= needed:
            return "date"
        if self.months >= needed:
            return "month"
        if self.money_us == self.non_null:
            return "money"
        if self.money_eu == self.non_null:
            return "money_eu"
        return ""


_STATS_PER_COLUMN = 9


def _stat_exprs(name: str, kind: str, detect: bool) -> list[str]:
    col = quote_ident(name)
    # exact: HyperLogLog estimates run a few percent high (243 distinct values in 240 rows)
    exprs = [f"count({col})", f"count(distinct {col})"]
    if kind.upper() in _TEXT_TYPES and detect:
        value = f"nullif(trim({col}), '')"
        exprs += [
            f"count(*) filter (where regexp_full_match(lower({value}), '{MONEY_US}'))",
            f"count(*) filter (where regexp_full_match(lower({value}), '{MONEY_EU}'))",
            f"count(*) filter (where try_cast({value} as timestamp) is not null)",
            f"count(*) filter (where try_strptime({value}, '%Y-%m') is not null)",
        ]
    else:
        exprs += ["0", "0", "0", "0"]
    exprs.append(f"sum(cast({col} as double))" if is_numeric_type(kind) else "null")
    exprs += [f"min({col})", f"max({col})"] if is_temporal_type(kind) else ["null", "null"]
    return exprs


def column_stats(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    columns: dict[str, str],
    label: str,
    *,
    detect: bool = True,
) -> tuple[int, list[ColumnStats]]:
    """Row count and per-column stats of a relation in one streamed pass.

    `detect` adds the money and date pattern counts of text columns: costly regular
    expressions, so they run on a sample of the file and not on the cleaned full pass.
    """
    exprs = ["count(*)"]
    for name, kind in columns.items():
        exprs += _stat_exprs(name, kind, detect)
    try:
        row = con.execute(f"select {', '.join(exprs)} from {relation}").fetchall()[0]
    except duckdb.Error as exc:
        raise AnalyzeError(f"{label}: cannot read: {str(exc).strip().splitlines()[0]}") from None
    stats = []
    for index, (name, kind) in enumerate(columns.items()):
        values = row[1 + index * _STATS_PER_COLUMN : 1 + (index + 1) * _STATS_PER_COLUMN]
        stats.append(
            ColumnStats(
                name=name,
                type=kind,
                non_null=int(values[0] or 0),
                distinct=int(values[1] or 0),
                money_us=int(values[2] or 0),
                money_eu=int(values[3] or 0),
                dates=int(values[4] or 0),
                months=int(values[5] or 0),
                total=None if values[6] is None else float(values[6]),
                first=values[7],
                last=values[8],
            )
        )
    return int(row[0]), stats


@dataclass
class ColumnProfile:
    """One column with its role and why it got it."""

    name: str
    type: str
    role: Role
    distinct: int
    non_null: int
    converted: Conversion = ""
    reason: str = ""


@dataclass
class Choice:
    """The column chosen for one job (cost, date), why, and the candidates that were not used."""

    job: str
    column: str | None
    reason: str
    not_used: list[tuple[str, str]] = field(default_factory=list)

    def text(self) -> str:
        """One line for the report: `cost: a (why); not used: b (a rate), c (…)`."""
        head = f"{self.job}: {self.column or 'none'}" + (f" ({self.reason})" if self.reason else "")
        if not self.not_used:
            return head
        return head + "; not used: " + ", ".join(f"{name} ({why})" for name, why in self.not_used)


@dataclass
class Profile:
    """The roles of a relation's columns and the columns the analysis uses."""

    rows: int
    columns: list[ColumnProfile]
    cost: str | None
    group: str | None
    date: str | None
    groups: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    costs: list[str] = field(default_factory=list)
    cost_is_money: bool = True
    # what the cost column measures (net or gross of discounts, amortised or not)
    cost_basis: str = ""
    # the cost column is already per month: never rescaled by the span of the dates
    cost_monthly: bool = False
    # usage, date, billing, other, period_end or lifecycle (see roles.date_kind)
    date_kind: str = ""
    choices: list[Choice] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready profile for report.json."""
        return asdict(self)

    @property
    def billing_dated(self) -> bool:
        """True when the date column says when spend happened (usage or billing dates)."""
        return self.date is not None and self.date_kind in BILLING_DATE_KINDS


def _role(stat: ColumnStats, rows: int) -> tuple[Role, str]:
    words = tokens(stat.name)
    # roles are given on the cleaned view: money text is already DOUBLE, date text TIMESTAMP
    if is_temporal_type(stat.type):
        return "date", date_kind(stat.name)[1]
    if "account" in words or "payer" in words:
        return "group", "account column"
    if is_numeric_type(stat.type):
        return number_role(stat.name)
    if stat.name.lower() in _ID_EXACT or "arn" in words or "uuid" in words:
        return "id", "identifier by name"
    if words & _TAG_TOKENS or stat.name.lower().startswith(("resource_tags", "tag_", "user_")):
        return "tag", "tag by name"
    if words & _GROUP_TOKENS:
        return "group", "grouping by name"
    if words & ID_TOKENS or (rows > 20 and stat.distinct >= 0.9 * rows):
        return "id", "identifier (unique per row)"
    if stat.distinct <= _TEXT_GROUP_MAX_DISTINCT:
        return "group", "few distinct values"
    return "text", "free text"


def _main_group(candidates: list[ColumnProfile]) -> str | None:
    useful = [c for c in candidates if c.distinct >= 2] or candidates
    for wanted in _MAIN_GROUP_ORDER:
        for column in useful:
            if wanted <= tokens(column.name):
                return column.name
    return useful[0].name if useful else None


def _check_override(name: str | None, stats: dict[str, ColumnStats], flag: str, label: str) -> None:
    if name is not None and name not in stats:
        raise AnalyzeError(
            f"{label}: {flag} {name!r} is not a column; columns are {', '.join(stats)}"
        )


def _short_basis(name: str) -> str:
    return cost_basis(name)[0].split(":")[0]


def _choose_cost(
    profile: Profile, by_name: dict[str, ColumnStats], cost_col: str | None, label: str
) -> Choice:
    columns = profile.columns
    # money-named numbers that are rates or quantities are shown as not used, with the reason
    refused = [
        (c.name, "a rate" if c.role == "rate" else "a usage quantity")
        for c in columns
        if c.role in ("rate", "quantity")
    ]
    if cost_col:
        others = [(c, _short_basis(c)) for c in profile.costs if c != cost_col]
        return Choice("cost", cost_col, "chosen with --cost-col", others + refused)
    if profile.costs:
        ranked = sorted(profile.costs, key=lambda c: cost_rank(c, by_name[c].total), reverse=True)
        best = ranked[0]
        others = [(c, _short_basis(c)) for c in ranked[1:]]
        return Choice("cost", best, _short_basis(best), others + refused)
    numbers = [c for c in columns if c.role in ("metric", "quantity") and is_numeric_type(c.type)]
    if not numbers:
        names = ", ".join(f"{s.name} ({s.type})" for s in by_name.values())
        rates = (
            f"; rates are never totalled ({', '.join(n for n, _ in refused)})" if refused else ""
        )
        raise AnalyzeError(
            f"{label}: no numeric column to total (columns: {names}){rates}; "
            "pass --cost-col with a column of numbers"
        )
    first = numbers[0].name
    profile.cost_is_money = False
    profile.notes.append(
        f"No cost column found by name; totals use the first numeric column {first!r}."
    )
    return Choice("cost", first, "first numeric column, not money by name", refused)


def _choose_date(profile: Profile, date_col: str | None) -> Choice:
    dates = [c.name for c in profile.columns if c.role == "date"]
    if date_col:
        others = [(d, date_kind(d)[1]) for d in dates if d != date_col]
        return Choice("date", date_col, "chosen with --date-col", others)
    ranked = sorted(dates, key=date_rank, reverse=True)  # stable: file order among equals
    usable = [d for d in ranked if date_rank(d) > 0]
    best = usable[0] if usable else None
    others = [(d, date_kind(d)[1]) for d in ranked if d != best]
    return Choice("date", best, date_kind(best)[1] if best else "no usage or billing date", others)


def assign_roles(
    rows: int,
    stats: list[ColumnStats],
    *,
    label: str,
    cost_col: str | None = None,
    group_col: str | None = None,
    date_col: str | None = None,
) -> Profile:
    """Give every column a role and pick the cost, main grouping and date columns."""
    by_name = {s.name: s for s in stats}
    for name, flag in (
        (cost_col, "--cost-col"),
        (group_col, "--group-col"),
        (date_col, "--date-col"),
    ):
        _check_override(name, by_name, flag, label)
    columns = []
    for stat in stats:
        role, reason = _role(stat, rows)
        if stat.name == cost_col:
            if not is_numeric_type(stat.type):
                raise AnalyzeError(
                    f"{label}: --cost-col {cost_col!r} is {stat.type} and not numbers or money text"
                )
            role, reason = "cost", "chosen with --cost-col"
        elif stat.name == group_col:
            role, reason = "group", "chosen with --group-col"
        elif stat.name == date_col:
            if role != "date":
                raise AnalyzeError(f"{label}: --date-col {date_col!r} holds no dates")
            reason = "chosen with --date-col"
        columns.append(
            ColumnProfile(
                stat.name, stat.type, role, stat.distinct, stat.non_null, stat.conversion, reason
            )
        )
    profile = Profile(rows=rows, columns=columns, cost=None, group=None, date=None)
    profile.costs = [c.name for c in columns if c.role == "cost"]
    profile.groups = [c.name for c in columns if c.role == "group"]
    profile.tags = [c.name for c in columns if c.role == "tag"]
    profile.ids = [c.name for c in columns if c.role == "id"]
    cost = _choose_cost(profile, by_name, cost_col, label)
    profile.cost = cost.column
    assert profile.cost is not None
    if profile.cost_is_money:
        profile.cost_basis = cost_basis(profile.cost)[0]
    profile.cost_monthly = is_monthly(profile.cost)
    if group_col:
        profile.group = group_col
    else:
        ranked = [c for c in columns if c.role == "group"] + [c for c in columns if c.role == "tag"]
        profile.group = _main_group(ranked) or _main_group([c for c in columns if c.role == "id"])
    for column in columns:
        if "currency" in tokens(column.name) and column.distinct > 1:
            # amounts in different currencies do not add up: say so rather than convert
            profile.notes.append(
                f"{column.name} holds {column.distinct} currencies: totals add their amounts "
                "as they are; ask chat for one currency at a time."
            )
    date = _choose_date(profile, date_col)
    profile.date = date.column
    profile.date_kind = date_kind(date.column)[0] if date.column else ""
    profile.choices = [cost, date] if date.column or date.not_used else [cost]
    return profile
