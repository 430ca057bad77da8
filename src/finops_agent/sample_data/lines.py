"""Daily line items for every resource, plus commitments, fees, tax and credits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from finops_agent.sample_data.estate import Product

LINE_TYPES = [
    "Usage",
    "Tax",
    "Credit",
    "SavingsPlanCoveredUsage",
    "SavingsPlanNegation",
    "SavingsPlanRecurringFee",
    "DiscountedUsage",
    "RIFee",
    "Fee",
    "Refund",
]
USAGE, TAX, CREDIT, SP_COVERED, SP_NEGATION, SP_FEE, RI_USAGE, RI_FEE, FEE, REFUND = range(10)
SP_DISCOUNT = 0.28  # Compute Savings Plan rate vs on-demand
RI_RECURRING_PER_HOUR = 0.08  # partial-upfront reserved cache node
RI_UPFRONT_PER_HOUR = 0.05
RDS_MONTHLY_GROWTH = 0.15
ATHENA_MONTHLY_SHRINK = 0.4
# planted movers: cost factor per month since the first month (one grows, one shrinks)
MONTHLY_TRENDS: dict[str, float] = {
    "AmazonRDS": 1 + RDS_MONTHLY_GROWTH,
    "AmazonAthena": 1 - ATHENA_MONTHLY_SHRINK,
}
NUMERIC = (
    "qty",
    "unblended",
    "public",
    "sp_eff",
    "sp_commit",
    "sp_used",
    "ri_eff",
    "ri_unused_rec",
    "ri_unused_up",
)


@dataclass
class Lines:
    """Column arrays of line items; `res` indexes the resource table."""

    res: np.ndarray
    ltype: np.ndarray
    start: np.ndarray  # datetime64[s]
    values: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.res)

    @staticmethod
    def concat(parts: list[Lines]) -> Lines:
        """One table from several."""
        return Lines(
            np.concatenate([p.res for p in parts]),
            np.concatenate([p.ltype for p in parts]),
            np.concatenate([p.start for p in parts]),
            {k: np.concatenate([p.values[k] for p in parts]) for k in NUMERIC},
        )

    def subset(self, mask: np.ndarray) -> Lines:
        """The lines where `mask` holds, in their order."""
        return Lines(
            self.res[mask],
            self.ltype[mask],
            self.start[mask],
            {k: a[mask] for k, a in self.values.items()},
        )

    def amortized(self) -> np.ndarray:
        """The standard amortised cost CASE of each line."""
        v, t = self.values, self.ltype
        out = v["unblended"].copy()
        out[t == SP_COVERED] = v["sp_eff"][t == SP_COVERED]
        out[t == SP_FEE] = (v["sp_commit"] - v["sp_used"])[t == SP_FEE]
        out[t == SP_NEGATION] = 0.0
        out[t == RI_USAGE] = v["ri_eff"][t == RI_USAGE]
        out[t == RI_FEE] = (v["ri_unused_rec"] + v["ri_unused_up"])[t == RI_FEE]
        out[t == FEE] = 0.0
        return out


def _lines(
    res: np.ndarray, ltype: int | np.ndarray, start: np.ndarray, **values: np.ndarray
) -> Lines:
    n = len(res)
    filled = {k: values.get(k, np.zeros(n)) for k in NUMERIC}
    types = np.full(n, ltype, dtype=np.int8) if isinstance(ltype, int) else ltype.astype(np.int8)
    return Lines(res.astype(np.int64), types, start, filled)


def usage_lines(
    rng: np.random.Generator,
    resources: pd.DataFrame,
    products: list[Product],
    days: pd.DatetimeIndex,
) -> Lines:
    """One line per resource per day alive; first day from the creation hour."""
    start_day = resources["start_day"].to_numpy()
    counts = (resources["end_day"].to_numpy() - start_day).clip(min=0)
    res = np.repeat(np.arange(len(resources)), counts)
    offsets = np.repeat(np.cumsum(counts) - counts, counts)
    day = start_day[res] + (np.arange(len(res)) - offsets)
    hour = resources["start_hour"].to_numpy()[res] * (day == start_day[res])
    fraction = (24 - hour) / 24
    day_dates = days.values.astype("datetime64[s]")
    start = day_dates[day] + hour.astype("timedelta64[h]")
    month_days = days.days_in_month.to_numpy()[day]
    product = resources["product"].to_numpy()[res]
    kind = np.array([p.kind for p in products])[product]
    price = np.array([p.price for p in products])[product]
    base = resources["qty"].to_numpy()[res]
    qty = np.where(kind == "gbmonth", base / month_days, base) * fraction
    noisy = resources["noise"].to_numpy()[res] & (kind == "amount")
    qty = np.where(noisy, qty * rng.lognormal(0.0, 0.15, len(qty)), qty)
    code = np.array([p.code for p in products])[product]
    month_index = (days.year * 12 + days.month).to_numpy()[day]
    month_index = month_index - month_index.min()
    cost = qty * price * monthly_trend(code, month_index)
    purchase = resources["purchase"].to_numpy()[res]
    ltype = np.where(purchase == "sp", SP_COVERED, np.where(purchase == "ri", RI_USAGE, USAGE))
    hours = np.where(kind == "hours", qty, 0.0)
    lines = _lines(
        res,
        ltype,
        start,
        qty=qty,
        public=cost,
        unblended=np.where(ltype == RI_USAGE, 0.0, cost),
        sp_eff=np.where(ltype == SP_COVERED, cost * (1 - SP_DISCOUNT), 0.0),
        ri_eff=np.where(
            ltype == RI_USAGE, hours * (RI_RECURRING_PER_HOUR + RI_UPFRONT_PER_HOUR), 0.0
        ),
    )
    covered = ltype == SP_COVERED
    negation = _lines(
        res[covered], SP_NEGATION, start[covered], qty=qty[covered], unblended=-cost[covered]
    )
    return Lines.concat([lines, negation])


def monthly_trend(code: np.ndarray, month_index: np.ndarray) -> np.ndarray:
    """Cost factor of each line from the planted movers: 1.0 for services without a trend."""
    factor = np.ones(len(code))
    for service, per_month in MONTHLY_TRENDS.items():
        mine = code == service
        factor[mine] = per_month ** month_index[mine]
    return factor


def single_line(res: int, ltype: int, day: np.datetime64, amount: float) -> Lines:
    """One line of `amount` on `day` (a refund, a one-off credit)."""
    return _lines(
        np.array([res]),
        ltype,
        np.array([day], dtype="datetime64[s]"),
        unblended=np.array([amount]),
    )


def savings_plan_fees(lines: Lines, fee_res: int, days: pd.DatetimeIndex) -> Lines:
    """One recurring fee per day; commitment sized so utilisation stays below 100%."""
    covered = lines.ltype == SP_COVERED
    day = lines.start[covered].astype("datetime64[D]")
    used = pd.Series(lines.values["sp_eff"][covered]).groupby(day).sum()
    used = used.reindex(days.values.astype("datetime64[D]"), fill_value=0.0)
    if used.max() <= 0:
        return _lines(np.array([], dtype=np.int64), SP_FEE, np.array([], dtype="datetime64[s]"))
    commitment = round(float(used.max()) * 1.2, 2)
    n = len(used)
    return _lines(
        np.full(n, fee_res),
        SP_FEE,
        used.index.values.astype("datetime64[s]"),
        unblended=np.full(n, commitment),
        sp_commit=np.full(n, commitment),
        sp_used=used.to_numpy(),
    )


def reservation_fees(
    lines: Lines, fee_res: int, upfront_res: int, days: pd.DatetimeIndex, units: int
) -> tuple[Lines, float]:
    """Monthly RIFee lines and the upfront Fee; return them with the amortised upfront share."""
    month_of_day = days.to_period("M")
    data_hours = pd.Series(24.0, index=days).groupby(month_of_day).sum() * units
    used = lines.ltype == RI_USAGE
    used_hours = (
        pd.Series(lines.values["qty"][used])
        .groupby(pd.DatetimeIndex(lines.start[used]).to_period("M"))
        .sum()
        .reindex(data_hours.index, fill_value=0.0)
    )
    unused = (data_hours - used_hours).clip(lower=0)
    first_days = np.array(
        [days[month_of_day == m][0] for m in data_hours.index], dtype="datetime64[s]"
    )
    n = len(first_days)
    fees = _lines(
        np.full(n, fee_res),
        RI_FEE,
        first_days,
        qty=data_hours.to_numpy(),
        unblended=(data_hours * RI_RECURRING_PER_HOUR).to_numpy(),
        ri_unused_rec=(unused * RI_RECURRING_PER_HOUR).to_numpy(),
        ri_unused_up=(unused * RI_UPFRONT_PER_HOUR).to_numpy(),
    )
    upfront_total = round(RI_UPFRONT_PER_HOUR * 8760 * units, 2)
    upfront = _lines(
        np.array([upfront_res]),
        FEE,
        first_days[:1],
        qty=np.array([1.0]),
        unblended=np.array([upfront_total]),
    )
    amortized_upfront = float((data_hours * RI_UPFRONT_PER_HOUR).sum())
    return Lines.concat([fees, upfront]), amortized_upfront


def monthly_lines(res: int, ltype: int, days: pd.DatetimeIndex, amounts: np.ndarray) -> Lines:
    """One line on the first data day of each month (tax, credits)."""
    month_of_day = days.to_period("M")
    firsts = np.array(
        [days[month_of_day == m][0] for m in month_of_day.unique()], dtype="datetime64[s]"
    )
    amounts = np.resize(amounts, len(firsts))
    return _lines(
        np.full(len(firsts), res), ltype, firsts, unblended=amounts, public=np.maximum(amounts, 0)
    )
