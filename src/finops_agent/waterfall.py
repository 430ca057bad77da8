"""The bill from usage to net, one line per kind of charge, read from the charge type.

Each line of `cost` has a canonical `charge_type` (the CUR line item type; the FOCUS adapter maps
ChargeCategory, ChargeClass, ChargeFrequency and the commitment columns onto the same names).
Usage covered by Savings Plans or reservations is shown at its on-demand value and taken back by
the commitment offset, so the usage lines say where the usage went whatever paid for it; the
lines always add up to the net (billed) total.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = [
    "BASIS",
    "LINES",
    "Waterfall",
    "WaterfallLine",
    "basis_of",
    "line_for",
    "waterfall_from_frame",
]

# the stated basis of every money figure a report shows
BASIS: dict[str, str] = {
    "net": "net: billed, after credits, refunds, discounts and tax",
    "usage": "usage before credits: usage at on-demand rates, before commitments, credits, "
    "refunds, discounts and tax",
    "amortized": "amortised: upfront and recurring commitment fees spread over the usage they cover",
}

LINES: tuple[tuple[str, str], ...] = (
    ("usage_on_demand", "Usage at on-demand rates"),
    ("usage_covered", "Usage covered by Savings Plans and reservations (at on-demand rates)"),
    ("commitment_offset", "Covered usage paid by commitments"),
    ("commitment_fees", "Recurring commitment fees (Savings Plans, reservations)"),
    ("upfront_purchases", "Upfront and one-time purchases"),
    ("credits", "Credits"),
    ("refunds", "Refunds"),
    ("discounts", "Discounts"),
    ("tax", "Tax"),
    ("other", "Other charges"),
)
_LABELS = dict(LINES)
_COVERED = frozenset({"SavingsPlanCoveredUsage", "DiscountedUsage"})
_BY_TYPE: dict[str, str] = {
    "Usage": "usage_on_demand",
    "SavingsPlanNegation": "commitment_offset",
    "RIFee": "commitment_fees",
    "SavingsPlanRecurringFee": "commitment_fees",
    # CUR's Fee is the upfront part of a reservation and other one-time fees
    "Fee": "upfront_purchases",
    "SavingsPlanUpfrontFee": "upfront_purchases",
    "Credit": "credits",
    "Refund": "refunds",
    "Tax": "tax",
}
USAGE_LINES = ("usage_on_demand", "usage_covered")
# sections whose money is usage before credits although their column has another name
_USAGE_BASIS_QUERIES = frozenset(
    {"spend_by_service_daily", "daily_anomalies", "month_over_month_by_service"}
)
ONE_TIME_TYPES = ("Fee", "SavingsPlanUpfrontFee")


def line_for(charge_type: str) -> str:
    """The waterfall line a charge type belongs to (EdpDiscount, BundledDiscount… are discounts)."""
    if charge_type in _COVERED:
        return "usage_covered"
    if charge_type in _BY_TYPE:
        return _BY_TYPE[charge_type]
    if charge_type.endswith("Discount"):
        return "discounts"
    return "other"


def basis_of(query: str, column: str | None) -> str | None:
    """The basis key (net, usage, amortized) of a section's money column; None for other units."""
    if column is None:
        return None
    if query in _USAGE_BASIS_QUERIES or column.startswith("usage_cost"):
        return "usage"
    if "amortized" in column:
        return "amortized"
    if "savings" in column:
        return None
    if column.endswith(("_cost", "_usd")):
        return "net"
    return None


@dataclass(frozen=True)
class WaterfallLine:
    """One step of the waterfall."""

    key: str
    label: str
    amount: float


@dataclass
class Waterfall:
    """The lines of one currency's bill, its net total and its amortised total."""

    currency: str
    lines: list[WaterfallLine]
    net_total: float
    amortized_total: float
    other_currencies: list[str] = field(default_factory=list)

    def amount(self, key: str) -> float:
        """The amount of one line by key (0.0 for a line the bill does not have)."""
        return next((line.amount for line in self.lines if line.key == key), 0.0)

    @property
    def usage_total(self) -> float:
        """Usage before credits: on-demand usage plus covered usage at on-demand rates."""
        return sum(self.amount(k) for k in USAGE_LINES)

    def shown(self) -> list[WaterfallLine]:
        """The lines a reader needs: usage always, the others when they hold at least a cent."""
        return [line for line in self.lines if line.key in USAGE_LINES or abs(line.amount) >= 0.005]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form for report.json."""
        return {
            "currency": self.currency,
            "lines": [{"key": x.key, "label": x.label, "amount": x.amount} for x in self.lines],
            "usage_total": self.usage_total,
            "net_total": self.net_total,
            "amortized_total": self.amortized_total,
            "other_currencies": self.other_currencies,
        }


def _numbers(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(0.0, index=frame.index)
    return pd.to_numeric(frame[column], errors="coerce").fillna(0.0)


def waterfall_from_frame(frame: pd.DataFrame) -> Waterfall | None:
    """The waterfall of the `bill_waterfall` result in its largest currency (None when empty).

    Amounts in different currencies are never added: the others are named, not summed.
    """
    if frame.empty or "charge_type" not in frame.columns:
        return None
    data = frame.assign(
        charge_type=frame["charge_type"].fillna("").astype(str),
        currency=frame["currency"].fillna("USD").astype(str)
        if "currency" in frame.columns
        else "USD",
        unblended=_numbers(frame, "unblended_cost"),
        amortized=_numbers(frame, "amortized_cost"),
        public=_numbers(frame, "public_cost"),
    )
    by_currency = data.groupby("currency")["unblended"].apply(lambda s: s.abs().sum())
    currency = str(by_currency.sort_values(ascending=False).index[0])
    mine = data[data["currency"] == currency]
    amounts = dict.fromkeys(_LABELS, 0.0)
    for row in mine.itertuples(index=False):
        key = line_for(str(row.charge_type))
        if key == "usage_covered":
            # shown at on-demand value; what it was billed at beyond that is the offset
            amounts["usage_covered"] += float(row.public)
            amounts["commitment_offset"] += float(row.unblended) - float(row.public)
        else:
            amounts[key] += float(row.unblended)
    return Waterfall(
        currency=currency,
        lines=[WaterfallLine(k, label, amounts[k]) for k, label in LINES],
        net_total=float(mine["unblended"].sum()),
        amortized_total=float(mine["amortized"].sum()),
        other_currencies=sorted(c for c in by_currency.index if c != currency),
    )
