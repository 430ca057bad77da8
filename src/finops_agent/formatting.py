"""Money and percentage text for every place a reader sees a number (no `-$0.00`, no % of ~zero)."""

from __future__ import annotations

import math

__all__ = ["money", "percent_change", "share"]

_SYMBOLS: dict[str, str] = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
# below half a cent a total is zero for a reader: a percentage of it would be noise
_NEAR_ZERO = 0.005


def money(value: float | None, currency: str = "USD") -> str:
    """`$1,234.56`, `-$12.00`; anything that rounds to zero cents is `$0.00`, never `-$0.00`."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    cents = round(float(value), 2)
    if cents == 0:
        cents = 0.0
    symbol = _SYMBOLS.get(currency)
    amount = f"{abs(cents):,.2f}"
    text = f"{symbol}{amount}" if symbol else f"{amount} {currency}"
    return f"-{text}" if cents < 0 else text


def percent_change(part: float | None, base: float | None) -> str:
    """Change from `base` to `part` as `+12.3%`; `n/a` when the base is missing or ~zero."""
    if part is None or base is None or abs(base) < _NEAR_ZERO:
        return "n/a"
    change = (float(part) - float(base)) / abs(float(base)) * 100
    rounded = round(change, 1)
    return f"{0.0 if rounded == 0 else rounded:+.1f}%"


def share(part: float, total: float) -> str:
    """`part` as a percentage of `total` (`12.3%`); `n/a` when the total is ~zero or negative."""
    if total < _NEAR_ZERO:
        return "n/a"
    rounded = round(part / total * 100, 1)
    return f"{0.0 if rounded == 0 else rounded:.1f}%"
