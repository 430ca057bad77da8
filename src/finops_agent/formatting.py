"""Money and percentages as people read them: one place for the report, email, chat and artifacts.

Imports nothing of the project, so every layer may use it.
"""

from __future__ import annotations

import math
import re

__all__ = [
    "CURRENCY_SYMBOLS",
    "MIN_BASE",
    "MISSING",
    "change_pct",
    "in_currency",
    "money",
    "money_unit",
    "number",
    "pct",
    "percent_of",
    "share_pct",
    "signed_pct",
    "usd",
]

# A base smaller than a cent in absolute value gives no meaningful percentage: a bill netted to
# -$0.000001 by credits would turn a $10 service into -1,000,000,000%.
MIN_BASE: float = 0.01
# What a percentage that cannot be computed prints as.
MISSING = "n/a"
# Currencies written with a symbol before the amount; any other code follows the amount.
CURRENCY_SYMBOLS: dict[str, str] = {"USD": "$", "EUR": "€", "GBP": "£"}
_CODE = re.compile(r"^[A-Z]{3}$")
# A unit that is money: a currency code, per month or per day (`USD`, `EUR/month`).
_MONEY_UNIT = re.compile(r"^([A-Z]{3})(/month|/day)?$")
# Rounding slack so a share of exactly 100% computed in floating point stays a share.
_SHARE_SLACK = 1e-9


def money(amount: float | None, currency: str = "USD") -> str:
    """An amount to the cent: `$1,234.56`, `-$12.30`, `€5.00`, `1,234.56 JPY`; zero is `$0.00`.

    Values that round to zero print without a sign (never `-$0.00`); None, NaN and infinities
    print as n/a. Raises ValueError naming a currency that is not a three-letter code.
    """
    code = currency.strip().upper()
    if not _CODE.match(code):
        raise ValueError(f"currency {currency!r} is not a three-letter ISO 4217 code")
    if amount is None or not math.isfinite(amount):
        return MISSING
    cents = round(float(amount), 2)
    sign = "-" if cents < 0 else ""
    digits = f"{abs(cents):,.2f}"
    symbol = CURRENCY_SYMBOLS.get(code)
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{digits} {code}"


def money_unit(unit: str | None) -> tuple[str, str] | None:
    """The currency code and rate of a money unit (`EUR/month` -> ('EUR', '/month')), else None."""
    found = _MONEY_UNIT.match(unit or "")
    return (found.group(1), found.group(2) or "") if found else None


def in_currency(units: dict[str, str], currency: str) -> dict[str, str]:
    """Column units with every money unit in `currency` (`USD/month` -> `EUR/month`)."""
    out = {}
    for column, unit in units.items():
        parts = money_unit(unit)
        out[column] = f"{currency}{parts[1]}" if parts else unit
    return out


def number(value: float | None, decimals: int = 2) -> str:
    """A plain quantity as `1,234.50` (no unit; never `-0.00`; n/a for None, NaN, infinity)."""
    if value is None or not math.isfinite(value):
        return MISSING
    rounded = round(float(value), decimals)
    return f"{abs(rounded) if rounded == 0 else rounded:,.{decimals}f}"


def usd(amount: float | None) -> str:
    """An amount in US dollars to the cent (see `money`)."""
    return money(amount, "USD")


def percent_of(part: float, base: float, *, min_base: float = MIN_BASE) -> float | None:
    """`part` as a percentage of `base`, or None when |base| is under `min_base` (a cent by
    default; pass a smaller one for quantities that are not money) or of the other sign."""
    if not (math.isfinite(part) and math.isfinite(base)) or abs(base) < min_base:
        return None
    if part != 0 and (part < 0) != (base < 0):
        return None
    return part / base * 100.0


def share_pct(part: float, whole: float, *, min_base: float = MIN_BASE) -> float | None:
    """`part` as a share of `whole` between 0 and 100, or None when it cannot be one."""
    value = percent_of(part, whole, min_base=min_base)
    if value is None or value > 100.0 + _SHARE_SLACK:
        return None
    return min(value, 100.0)


def change_pct(current: float, previous: float, *, min_base: float = MIN_BASE) -> float | None:
    """Signed change from `previous` to `current` in percent; None unless `previous` is a
    positive amount of at least `min_base` (a change against a credit or nothing means nothing)."""
    if not (math.isfinite(current) and math.isfinite(previous)) or previous < min_base:
        return None
    return (current - previous) / previous * 100.0


def pct(value: float | None, decimals: int = 1) -> str:
    """A percentage as `12.5%` (n/a for None, NaN or infinity; never `-0.0%`)."""
    if value is None or not math.isfinite(value):
        return MISSING
    rounded = round(value, decimals)
    return f"{abs(rounded) if rounded == 0 else rounded:.{decimals}f}%"


def signed_pct(value: float | None, decimals: int = 1) -> str:
    """A change as `+7.5%` or `-3.2%` (`0.0%` when it rounds to zero, n/a when unknown)."""
    if value is None or not math.isfinite(value):
        return MISSING
    rounded = round(value, decimals)
    if rounded == 0:
        return f"{0.0:.{decimals}f}%"
    return f"{rounded:+.{decimals}f}%"
