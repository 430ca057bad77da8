"""Which number is the cost (and on what basis) and which date dates the spend, from column names.

A small explicit classifier: every decision returns the role and the reason shown in the report.
Names are split into lower-case words first (`lineItem/UnblendedRate` -> line, item, unblended,
rate), so CUR, CUR 2.0, FOCUS and hand-written Athena aliases are read the same way.
"""

from __future__ import annotations

import re
from typing import Literal

NumberRole = Literal["cost", "rate", "quantity", "metric", "id"]
DateKind = Literal["usage", "date", "billing", "other", "period_end", "lifecycle"]

COST_STRONG: frozenset[str] = frozenset(
    {"cost", "costs", "spend", "spending", "unblended", "billed", "charges", "charge"}
)
COST_WEAK: frozenset[str] = frozenset(
    {"amortized", "amortised", "blended", "usd", "amount", "dollars", "effective", "fee", "fees"}
)
# Money that is never the headline spend: savings estimates, waste, discounts and credits.
COST_SECONDARY: frozenset[str] = frozenset(
    {"savings", "saving", "waste", "discount", "discounts", "credit", "credits", "refund"}
)
# Money columns that describe another period or a difference, not the headline spend.
COST_RELATIVE: frozenset[str] = frozenset(
    {"previous", "prior", "last", "change", "delta", "diff", "forecast", "budget"}
)
_MONEY = COST_STRONG | COST_WEAK | COST_SECONDARY
_NOT_MONEY = frozenset(
    {"pct", "percent", "percentage", "share", "ratio", "rank", "count", "factor", "score"}
)
ID_TOKENS: frozenset[str] = frozenset(
    {"id", "arn", "uuid", "guid", "resource", "volume", "instance", "snapshot", "key"}
)
# Per-unit prices: never totalled, because their sum depends on the number of rows.
_RATE_TOKENS = frozenset({"rate", "rates", "price", "prices", "unitprice", "tariff", "hourly"})
_PER_UNIT = frozenset({"hour", "hr", "gb", "unit", "request", "requests", "second", "vcpu"})
_QUANTITY_TOKENS = frozenset({"quantity", "qty", "hours", "consumed", "units"})
_QUANTITY_PAIRS = (frozenset({"usage", "amount"}), frozenset({"usage", "quantity"}))
# A column already expressed per month is never rescaled by the span of the file's dates.
_MONTHLY_TOKENS = frozenset({"monthly", "mrr"})

# Dates: what happened to a resource is not when its cost was incurred.
_LIFECYCLE = frozenset(
    {
        "create",
        "created",
        "creation",
        "launch",
        "launched",
        "modify",
        "modified",
        "modification",
        "update",
        "updated",
        "attach",
        "attached",
        "delete",
        "deleted",
        "expiry",
        "expires",
        "expiration",
        "seen",
        "install",
        "installed",
        "registered",
        "birth",
        # commitment terms: when a reservation or Savings Plan was bought, starts or ends
        "purchase",
        "purchased",
        "term",
        "reservation",
        "commitment",
        "expire",
        "expired",
        "terminated",
        "termination",
        "retired",
        "retirement",
    }
)
_USAGE_DATE = frozenset({"usage", "charge"})
_BILLING_DATE = frozenset({"bill", "billing", "invoice", "period", "month", "monthly"})
_GENERIC_DATE = frozenset({"date", "day", "daily", "dt", "timestamp", "time", "week"})
# Higher is preferred when several date columns exist; lifecycle dates are never picked.
DATE_PREFERENCE: dict[DateKind, int] = {
    "usage": 5,
    "date": 4,
    "billing": 3,
    "other": 2,
    "period_end": 1,
    "lifecycle": 0,
}
# Dates that say when spend happened: the only ones month over month is built on.
BILLING_DATE_KINDS: frozenset[str] = frozenset({"usage", "date", "billing"})


def tokens(name: str) -> set[str]:
    """Lower-case words of a column name: lineItem/UnblendedCost -> {line, item, unblended, cost}."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    words = {w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w}
    if "cost" in words and "center" in words:
        words |= {"costcenter"}
        words.discard("cost")
    return words


def number_role(name: str) -> tuple[NumberRole, str]:
    """The role of a numeric column from its name, with the reason the report shows."""
    words = tokens(name)
    money = bool(words & _MONEY)
    if words & _NOT_MONEY:
        return "metric", "a share, count or ratio, not money"
    if words & ID_TOKENS and not money:
        return "id", "identifier by name"
    if words & _RATE_TOKENS or ("unit" in words and money):
        return "rate", "a rate or unit price (per unit, not a total)"
    if "per" in words and words & _PER_UNIT:
        return "rate", "a cost per unit (not a total)"
    if words & _QUANTITY_TOKENS or any(pair <= words for pair in _QUANTITY_PAIRS):
        return "quantity", "a usage quantity, not money"
    if money:
        return "cost", "money by name"
    return "metric", "number"


def is_monthly(name: str) -> bool:
    """True for columns already expressed per month (`monthly_cost`, `cost_per_month`)."""
    words = tokens(name)
    return bool(words & _MONTHLY_TOKENS) or {"per", "month"} <= words


def cost_basis(name: str) -> tuple[str, int]:
    """What a cost column measures (net or gross of what) and how much it is preferred as headline."""
    words = tokens(name)
    lower = name.lower()
    if "billed" in words:
        return (
            "billed: the invoiced amount after reduced rates and discounts, commitment purchases "
            "not amortised (FOCUS BilledCost)",
            6,
        )
    if "unblended" in words and "net" in words:
        return "net unblended: after discounts such as EDP and private pricing", 5
    if "unblended" in words:
        return (
            "unblended: each row at its own rate, before Savings Plan or RI amortisation; "
            "discounts, credits and refunds are rows of their own, so a total over every row "
            "is net of them",
            6,
        )
    if words & {"amortized", "amortised", "effective"}:
        return (
            "amortised: after discounts, with commitment purchases spread over the usage they "
            "cover (FOCUS EffectiveCost)",
            4,
        )
    if "blended" in words:
        return "blended: averaged rates across the consolidated billing family", 3
    if "contracted" in words:
        return (
            "contracted: negotiated unit price × quantity, before commitment discounts "
            "(FOCUS ContractedCost)",
            2,
        )
    if words & {"list", "public"} or "on_demand" in lower or {"on", "demand"} <= words:
        return "list (gross): public price × quantity, before any discount (FOCUS ListCost)", 1
    return "basis not stated by the name (net or gross of discounts unknown)", 5


def cost_rank(name: str, total: float | None) -> tuple[int, int, int, float]:
    """Sort key of cost columns, best headline last: name strength, basis, total hint, sum."""
    words = tokens(name)
    strength = 3 if words & COST_STRONG else 2 if words & COST_WEAK else 1
    if words & COST_RELATIVE:
        strength = 1
    if words & COST_SECONDARY:
        strength = 0
    # the total of several cost columns (total_cost vs untagged_cost) is the headline
    total_hint = 1 if words & {"total"} else 0
    return strength, cost_basis(name)[1], total_hint, abs(total or 0.0)


def date_kind(name: str) -> tuple[DateKind, str]:
    """What a date column dates, with the reason the report shows."""
    words = tokens(name)
    if words & _LIFECYCLE:
        return "lifecycle", "a creation or change date: not when the cost was incurred"
    if "end" in words or "until" in words:
        return "period_end", "an end date: used only when nothing else is dated"
    if words & _USAGE_DATE:
        return "usage", "usage date"
    if words & {"bill", "billing", "invoice"} or (words & _BILLING_DATE and not words & {"day"}):
        return "billing", "billing period"
    if words & _GENERIC_DATE or "start" in words:
        return "date", "date of the row"
    return "other", "date/time values"


def date_rank(name: str) -> int:
    """Preference of a date column for the time series (0: never chosen automatically)."""
    return DATE_PREFERENCE[date_kind(name)[0]]
