"""The stored query catalog: load and validate queries/catalog.yaml and the SQL it names."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import sqlglot
import yaml
from sqlglot import exp

from finops_agent.errors import UserError
from finops_agent.resources import queries_dir

Family = Literal["architecture", "tagging", "cost"]
FAMILIES: tuple[Family, ...] = ("architecture", "tagging", "cost")
ChartKind = Literal["bar", "pie", "line", "area", "table"]
ParamType = Literal["date", "int", "float", "str"]

# Placeholders every query may use without declaring them: the billing window.
WINDOW_PARAMS: frozenset[str] = frozenset({"start_date", "end_date"})
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
    savings: str | None = None
    finding: bool = False

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


def _spec(name: str, raw: dict[str, Any], root: Path) -> QuerySpec:
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
        savings=raw.get("savings"),
        finding=bool(raw.get("finding", False)),
    )


def validate(catalog: Catalog) -> list[str]:
    """Problems in the catalog: undeclared or unused placeholders, uncatalogued files."""
    problems: list[str] = []
    root = queries_dir()
    for spec in catalog.queries.values():
        try:
            used = placeholders(spec.sql)
        except sqlglot.errors.ParseError as exc:
            problems.append(f"{spec.path.name}: does not parse as Athena SQL: {exc}")
            continue
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
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = raw.get("queries")
    if not isinstance(entries, dict):
        raise CatalogError(f"{path}: expected a mapping under 'queries'")
    return Catalog({name: _spec(name, body or {}, path.parent) for name, body in entries.items()})
