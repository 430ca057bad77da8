"""Billing currencies and providers in a window: which currency a report covers, and the others.

Amounts in different currencies are never added. One cheap statement over the window's `cost`
(on Athena it reads only currency, provider, cost and usage start, and the partitions) finds
each currency's and provider's totals; the report then runs on one currency's rows.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from finops_agent.catalog import QuerySpec
from finops_agent.engines.base import QueryEngine
from finops_agent.errors import UserError
from finops_agent.execution import QueryResult, engine_result

__all__ = [
    "AUTO",
    "CURRENCY_SURVEY",
    "SURVEY_SQL",
    "BillingSlice",
    "CurrencyTotal",
    "UnknownCurrencyError",
    "check_currency_choice",
    "choose_currency",
    "currency_totals",
    "provider_totals",
    "run_source_survey",
    "run_survey",
    "slices_from_frame",
    "survey_source_sql",
]

AUTO = "auto"
CURRENCY_SURVEY = "currency_survey"
_CODE = re.compile(r"^[A-Z]{3}$")
# a row whose export leaves the provider empty is still money; it is named, not dropped
_NO_PROVIDER = "(no provider)"
SURVEY_SPEC = QuerySpec(
    name=CURRENCY_SURVEY,
    family="cost",
    title="Billing currencies and providers",
    description="Line items and net cost per billing currency and provider in the window.",
    path=Path(CURRENCY_SURVEY),
)


class UnknownCurrencyError(UserError, ValueError):
    """The currency asked for is not billed in the window."""


@dataclass(frozen=True)
class BillingSlice:
    """The line items of one currency and one provider in the window: how many, and their net cost."""

    currency: str
    provider: str
    rows: int
    unblended_cost: float


@dataclass(frozen=True)
class CurrencyTotal:
    """One currency's line items and net cost in the window (or one provider's within a currency)."""

    name: str
    rows: int
    unblended_cost: float


def check_currency_choice(value: str, *, what: str = "FINOPS_CURRENCY") -> str:
    """`auto` or an upper-cased three-letter code; raise naming `what` and the value otherwise."""
    text = value.strip()
    if text.lower() == AUTO:
        return AUTO
    code = text.upper()
    if not _CODE.match(code):
        raise UnknownCurrencyError(
            f"{what} {value!r} is neither auto nor a three-letter currency code (USD, EUR, …)"
        )
    return code


# Only the canonical currency, provider and cost are referenced: on Athena the adapter CTE then
# reads those columns, the usage start and the partitions, and nothing else.
SURVEY_SQL = """-- Which billing currencies and providers does the window hold, and how much of each?
select
    currency,
    provider,
    count(*) as rows,
    sum(unblended_cost) as unblended_cost
from cost
group by currency, provider"""


def slices_from_frame(frame: pd.DataFrame) -> list[BillingSlice]:
    """The survey's rows as slices; an empty currency reads as USD, an empty provider is named."""
    out: list[BillingSlice] = []
    for row in frame.to_dict(orient="records"):
        currency = row.get("currency")
        provider = row.get("provider")
        cost = pd.to_numeric(pd.Series([row.get("unblended_cost")]), errors="coerce").iloc[0]
        out.append(
            BillingSlice(
                currency=str(currency).strip().upper()
                if isinstance(currency, str) and currency.strip()
                else "USD",
                provider=str(provider).strip()
                if isinstance(provider, str) and provider.strip()
                else _NO_PROVIDER,
                rows=int(row.get("rows") or 0),
                unblended_cost=0.0 if pd.isna(cost) else float(cost),
            )
        )
    return out


def _totals(pairs: Sequence[tuple[str, BillingSlice]]) -> list[CurrencyTotal]:
    rows: dict[str, int] = {}
    cost: dict[str, float] = {}
    for name, piece in pairs:
        rows[name] = rows.get(name, 0) + piece.rows
        cost[name] = cost.get(name, 0.0) + piece.unblended_cost
    # largest net cost first; equal costs by line items, then by name so the order is stable
    return sorted(
        (CurrencyTotal(name, rows[name], cost[name]) for name in rows),
        key=lambda t: (-t.unblended_cost, -t.rows, t.name),
    )


def currency_totals(slices: Sequence[BillingSlice]) -> list[CurrencyTotal]:
    """Each currency's line items and net cost, the largest first."""
    return _totals([(s.currency, s) for s in slices])


def provider_totals(slices: Sequence[BillingSlice], currency: str) -> list[CurrencyTotal]:
    """Each provider's line items and net cost in `currency`, the largest first."""
    return _totals([(s.provider, s) for s in slices if s.currency == currency])


def choose_currency(totals: Sequence[CurrencyTotal], wanted: str, *, source: str) -> str | None:
    """The currency a report covers: `wanted`, or the largest with `auto` (None when no rows).

    Raises UnknownCurrencyError naming the currencies present when `wanted` is not among them.
    """
    choice = check_currency_choice(wanted)
    present = [t.name for t in totals]
    if choice == AUTO:
        return present[0] if present else None
    if choice not in present:
        found = ", ".join(present) if present else "none (no line items)"
        raise UnknownCurrencyError(
            f"currency {choice} is not billed in {source} in this window; currencies present: {found}"
        )
    return choice


def survey_source_sql(adapter_sql: str) -> str:
    """The survey over the adapter as a subquery: a statement with its own source, for an engine
    whose `cost` is bound once (Athena extract mode copies one currency's rows)."""
    return SURVEY_SQL.replace("from cost", f"from (\n{adapter_sql}\n) as window_cost")


def run_source_survey(
    engine: QueryEngine, adapter_sql: str, params: Mapping[str, object]
) -> tuple[QueryResult, list[BillingSlice]]:
    """Run the survey over the source before `cost` is bound; raise QueryError on failure."""
    sql = survey_source_sql(adapter_sql)
    started = time.perf_counter()
    answer = engine.execute(CURRENCY_SURVEY, sql, params)
    result = engine_result(
        SURVEY_SPEC, answer.sql, dict(params), answer, time.perf_counter() - started
    )
    return result, slices_from_frame(answer.frame)


def run_survey(engine: QueryEngine) -> tuple[QueryResult, list[BillingSlice]]:
    """Run the survey over the engine's bound `cost` (every currency); raise QueryError on failure."""
    started = time.perf_counter()
    answer = engine.execute(CURRENCY_SURVEY, SURVEY_SQL, {})
    result = engine_result(SURVEY_SPEC, answer.sql, {}, answer, time.perf_counter() - started)
    return result, slices_from_frame(answer.frame)
