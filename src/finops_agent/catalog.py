"""The stored query catalog: load and validate queries/catalog.yaml and the SQL it names."""

from __future__ import annotations

import datetime as dt
import re
import string
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

from finops_agent.errors import UserError
from finops_agent.resources import queries_dir

Family = Literal["architecture", "tagging", "cost"]
FAMILIES: tuple[Family, ...] = ("architecture", "tagging", "cost")
ChartKind = Literal["bar", "pie", "line", "area", "table"]
ParamType = Literal["date", "int", "float", "str"]
Level = Literal["low", "medium", "high"]
LEVELS: tuple[Level, ...] = ("low", "medium", "high")
# savings: priced from the result's monthly_savings column; allocation: saves nothing directly
FindingKind = Literal["savings", "allocation"]
FINDING_KINDS: tuple[FindingKind, ...] = ("savings", "allocation")

# Placeholders every query may use without declaring them: the billing window.
WINDOW_PARAMS: frozenset[str] = frozenset({"start_date", "end_date"})
# The column a savings finding sums: the estimated saving of each row, per month.
SAVINGS_COLUMN = "monthly_savings"
_TEMPLATE_SLOT = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


class CatalogError(UserError, ValueError):
    """The catalog or a stored query file is inconsistent."""


@dataclass(frozen=True)
class ParamSpec:
    """A bound query parameter with its type and default."""

    name: str
    type: ParamType
    default: Any
    description: str = ""

    def coerce(self, value: Any) -> Any:
        """Convert a user-supplied value to the parameter's type, naming it on failure."""
        try:
            if self.type == "date":
                return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
            if self.type == "int":
                return int(value)
            if self.type == "float":
                return float(value)
            return str(value)
        except (TypeError, ValueError):
            raise CatalogError(
                f"parameter {self.name!r} expects {self.type}, got {value!r}"
            ) from None


@dataclass(frozen=True)
class ChartHint:
    """How the report draws a query's result."""

    kind: ChartKind
    x: str | None = None
    y: str | None = None
    color: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class FindingSpec:
    """How a query's result becomes a finding: its wording, effort, risk and savings assumption."""

    title: str
    action: str
    effort: Level
    risk: Level
    assumption: str
    kind: FindingKind = "savings"

    def headline(self, count: int) -> str:
        """The finding's title with the number of items it covers filled in."""
        return self.title.format(count=count)


@dataclass(frozen=True)
class FollowUp:
    """A follow-up question a report offers when this query returned rows; lower rank first."""

    question: str
    rank: int

    def text(self, top_service: str) -> str:
        """The question with the report's largest service filled in."""
        return self.question.format(top_service=top_service)


@dataclass(frozen=True)
class QuerySpec:
    """One stored query: its SQL file and what the catalog says about it."""

    name: str
    family: Family
    title: str
    description: str
    path: Path
    params: tuple[ParamSpec, ...] = ()
    chart: ChartHint = ChartHint("table")
    units: dict[str, str] = field(default_factory=dict)
    cost_column: str | None = None
    why: str = ""
    finding: FindingSpec | None = None
    follow_up: FollowUp | None = None

    @property
    def sql(self) -> str:
        """The stored SQL text (Athena dialect, reads the `cost` relation)."""
        return self.path.read_text(encoding="utf-8")

    def bind(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """Declared parameters with defaults, overridden by any given values."""
        overrides = overrides or {}
        return {
            p.name: p.coerce(overrides[p.name]) if p.name in overrides else p.default
            for p in self.params
        }


@dataclass(frozen=True)
class Catalog:
    """Every stored query by name, in catalog order."""

    queries: dict[str, QuerySpec]

    def family(self, family: str) -> list[QuerySpec]:
        """Queries of one family, in catalog order."""
        return [q for q in self.queries.values() if q.family == family]

    def select(
        self, families: list[str] | None = None, names: list[str] | None = None
    ) -> list[QuerySpec]:
        """Queries of the given families and/or names; every query when both are empty."""
        unknown = [f for f in families or [] if f not in FAMILIES]
        if unknown:
            raise CatalogError(
                f"unknown famil{'ies' if len(unknown) > 1 else 'y'} {unknown}; choose from {list(FAMILIES)}"
            )
        missing = [n for n in names or [] if n not in self.queries]
        if missing:
            raise CatalogError(f"unknown quer{'ies' if len(missing) > 1 else 'y'} {missing}")
        if not families and not names:
            return list(self.queries.values())
        return [
            q
            for q in self.queries.values()
            if (families and q.family in families) or (names and q.name in names)
        ]


def placeholders(sql: str) -> set[str]:
    """Names of the bound `:name` parameters in an Athena-dialect statement."""
    import sqlglot  # parsing is only needed by checks: `finops --help` does not load sqlglot
    from sqlglot import exp

    return {
        p.name for p in sqlglot.parse_one(sql, read="athena").find_all(exp.Placeholder) if p.name
    }


def template_slots(sql: str) -> set[str]:
    """Names of the `{{ slot }}` identifier templates in a SQL text."""
    return set(_TEMPLATE_SLOT.findall(sql))


def fill_slots(sql: str, values: dict[str, str]) -> str:
    """Replace `{{ slot }}` templates; every slot must be given (values are pre-validated SQL)."""

    def sub(match: re.Match[str]) -> str:
        slot = match.group(1)
        if slot not in values:
            raise CatalogError(f"no value for template slot {{{{ {slot} }}}}")
        return values[slot]

    return _TEMPLATE_SLOT.sub(sub, sql)


def _param(raw: dict[str, Any], query: str) -> ParamSpec:
    try:
        spec = ParamSpec(raw["name"], raw["type"], raw.get("default"), raw.get("description", ""))
    except KeyError as exc:
        raise CatalogError(f"query {query!r}: parameter without {exc.args[0]!r}") from None
    if spec.type not in ("date", "int", "float", "str"):
        raise CatalogError(
            f"query {query!r}: parameter {spec.name!r} has unknown type {spec.type!r}"
        )
    return (
        ParamSpec(spec.name, spec.type, spec.coerce(spec.default), spec.description)
        if spec.default is not None
        else spec
    )


_QUERY_KEYS: tuple[str, ...] = (
    "family",
    "title",
    "description",
    "why",
    "chart",
    "units",
    "cost_column",
    "params",
    "finding",
    "follow_up",
)
_FINDING_KEYS: tuple[str, ...] = ("title", "action", "effort", "risk", "assumption", "kind")
_FINDING_REQUIRED: tuple[str, ...] = ("title", "action", "effort", "risk", "assumption")
_FOLLOW_UP_KEYS: tuple[str, ...] = ("question", "rank")


def _unknown_keys(raw: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    unknown = [str(k) for k in raw if k not in allowed]
    if unknown:
        raise CatalogError(
            f"{where}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"allowed: {', '.join(allowed)}"
        )


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(f"{where} must be non-empty text, not {value!r}")
    return value


def _text_with_slots(value: Any, where: str, slots: frozenset[str]) -> str:
    """A non-empty template whose `{slot}` fields are all among `slots` (checked at load time)."""
    text = _text(value, where)
    try:
        used = {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}
    except ValueError as exc:
        raise CatalogError(f"{where}: {exc} in {text!r}") from None
    stray = sorted(used - slots)
    if stray:
        allowed = ", ".join(f"{{{s}}}" for s in sorted(slots)) or "none"
        raise CatalogError(
            f"{where}: unknown slot {', '.join(f'{{{s}}}' for s in stray)}; allowed: {allowed}"
        )
    return text


def _choice(raw: dict[str, Any], key: str, allowed: tuple[str, ...], where: str) -> Any:
    value = raw[key]
    if value not in allowed:
        raise CatalogError(f"{where}.{key} is {value!r}, not one of {', '.join(allowed)}")
    return value


def _finding(raw: Any, query: str) -> FindingSpec | None:
    where = f"query {query!r}: finding"
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise CatalogError(
            f"{where} must be a mapping with {', '.join(_FINDING_REQUIRED)}, not {raw!r}"
        )
    _unknown_keys(raw, _FINDING_KEYS, where)
    missing = [k for k in _FINDING_REQUIRED if k not in raw]
    if missing:
        raise CatalogError(f"{where} lacks {', '.join(missing)}")
    return FindingSpec(
        title=_text_with_slots(raw["title"], f"{where}.title", frozenset({"count"})),
        action=_text(raw["action"], f"{where}.action"),
        effort=_choice(raw, "effort", LEVELS, where),
        risk=_choice(raw, "risk", LEVELS, where),
        assumption=_text(raw["assumption"], f"{where}.assumption"),
        kind=_choice(raw, "kind", FINDING_KINDS, where) if "kind" in raw else "savings",
    )


def _follow_up(raw: Any, query: str) -> FollowUp | None:
    where = f"query {query!r}: follow_up"
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise CatalogError(f"{where} must be a mapping with question and rank, not {raw!r}")
    _unknown_keys(raw, _FOLLOW_UP_KEYS, where)
    rank = raw.get("rank")
    if not isinstance(rank, int) or isinstance(rank, bool):
        raise CatalogError(f"{where}.rank must be a whole number, not {rank!r}")
    question = _text_with_slots(
        raw.get("question"), f"{where}.question", frozenset({"top_service"})
    )
    return FollowUp(question=question, rank=rank)


def _spec(name: str, raw: Any, root: Path) -> QuerySpec:
    if not isinstance(raw, dict):
        raise CatalogError(f"query {name!r}: expected a mapping of {', '.join(_QUERY_KEYS)}")
    _unknown_keys(raw, _QUERY_KEYS, f"query {name!r}")
    family = raw.get("family")
    if family not in FAMILIES:
        raise CatalogError(
            f"query {name!r}: family must be one of {list(FAMILIES)}, not {family!r}"
        )
    path = root / family / f"{name}.sql"
    if not path.is_file():
        raise CatalogError(f"query {name!r}: file {path} does not exist")
    chart_raw = raw.get("chart", {"kind": "table"})
    try:
        chart = ChartHint(**chart_raw)
    except TypeError as exc:
        raise CatalogError(f"query {name!r}: bad chart hint: {exc}") from None
    return QuerySpec(
        name=name,
        family=family,
        title=raw.get("title", name),
        description=raw.get("description", ""),
        path=path,
        params=tuple(_param(p, name) for p in raw.get("params", [])),
        chart=chart,
        units=dict(raw.get("units", {})),
        cost_column=raw.get("cost_column"),
        why=raw.get("why", ""),
        finding=_finding(raw.get("finding"), name),
        follow_up=_follow_up(raw.get("follow_up"), name),
    )


def output_columns(sql: str) -> list[str]:
    """Names of the columns an Athena-dialect SELECT returns (`*` when it selects all)."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read="athena")
    return list(tree.named_selects) if isinstance(tree, exp.Query) else []


def validate(catalog: Catalog, root: Path | None = None) -> list[str]:
    """Problems in the catalog: undeclared or unused placeholders, uncatalogued files under
    `root` (default: the project's queries/), and savings columns without finding metadata
    (or metadata pricing a column the SQL lacks)."""
    import sqlglot

    problems: list[str] = []
    root = root or queries_dir()
    for spec in catalog.queries.values():
        try:
            used = placeholders(spec.sql)
            columns = output_columns(spec.sql)
        except sqlglot.errors.ParseError as exc:
            problems.append(f"{spec.path.name}: does not parse as Athena SQL: {exc}")
            continue
        priced = SAVINGS_COLUMN in columns
        if priced and spec.finding is None:
            problems.append(
                f"{spec.path.name}: returns {SAVINGS_COLUMN} but catalog.yaml gives it no "
                "finding block"
            )
        if spec.finding is not None and spec.finding.kind == "savings" and not priced:
            problems.append(
                f"{spec.path.name}: its finding is of kind savings but the query returns no "
                f"{SAVINGS_COLUMN} column"
            )
        declared = {p.name for p in spec.params}
        for name in sorted(used - declared - WINDOW_PARAMS):
            problems.append(f"{spec.path.name}: placeholder :{name} is not declared in the catalog")
        for name in sorted(declared - used):
            problems.append(f"{spec.path.name}: parameter {name!r} is declared but never used")
        if template_slots(spec.sql):
            problems.append(
                f"{spec.path.name}: stored queries read `cost`; identifier slots belong in sources/"
            )
    catalogued = {spec.path for spec in catalog.queries.values()}
    for family in FAMILIES:
        for path in sorted((root / family).glob("*.sql")):
            if path not in catalogued:
                problems.append(f"{family}/{path.name}: not in catalog.yaml")
    return problems


@cache
def load_catalog(path: Path | None = None) -> Catalog:
    """Read catalog.yaml (default: the project's) into QuerySpecs; raise CatalogError if invalid."""
    path = path or queries_dir() / "catalog.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" line {where.line + 1}" if where is not None else ""
        problem = getattr(exc, "problem", None) or exc
        raise CatalogError(f"{path}{line}: not valid YAML: {problem}") from None
    if not isinstance(raw, dict):
        raise CatalogError(f"{path}: expected a mapping with the key 'queries'")
    # metadata outside a query's own entry would name queries that may not exist
    stray = [str(k) for k in raw if k != "queries"]
    if stray:
        raise CatalogError(
            f"{path}: unknown top-level key {', '.join(stray)}; everything about a query, its "
            "finding metadata too, goes under its entry in 'queries'"
        )
    entries = raw.get("queries")
    if not isinstance(entries, dict):
        raise CatalogError(f"{path}: expected a mapping under 'queries'")
    return Catalog({name: _spec(name, body or {}, path.parent) for name, body in entries.items()})
