"""Pure pandas summaries of query results: totals, top rows, shares and the metrics row."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from finops_agent.catalog import ChartHint, QuerySpec
from finops_agent.currencies import CurrencyTotal
from finops_agent.execution import QueryResult
from finops_agent.formatting import change_pct, in_currency
from finops_agent.reports.document import currency_command, report_title
from finops_agent.waterfall import Waterfall, waterfall_from_frame
from finops_agent.window import Window, period_text

CANONICAL_COLUMN_COUNT = 24


def json_value(value: Any) -> Any:
    """A JSON-ready scalar: dates as ISO strings, numpy numbers as Python, NaN as None."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return value.isoformat(sep=" ") if value.time() != dt.time() else value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else round(value, 6)
    if isinstance(value, (dict, list, tuple, str, int, bool)):
        return value
    return str(value)


def records(frame: pd.DataFrame, limit: int | None = None) -> list[dict[str, Any]]:
    """Rows of a frame as JSON-ready dicts, at most `limit` of them."""
    head = frame if limit is None else frame.head(limit)
    return [{k: json_value(v) for k, v in row.items()} for row in head.to_dict(orient="records")]


def top_by(frame: pd.DataFrame, column: str | None, n: int) -> pd.DataFrame:
    """The n rows with the largest absolute value in `column` (first n rows without one)."""
    if column is None or column not in frame.columns or frame.empty:
        return frame.head(n)
    order = pd.to_numeric(frame[column], errors="coerce").abs().sort_values(ascending=False)
    return frame.loc[order.index[:n]]


def shares(values: pd.Series) -> pd.Series:
    """Each value's percentage of the total (all zero when the total is zero)."""
    numeric = pd.to_numeric(values, errors="coerce").fillna(0.0)
    total = numeric.sum()
    if total == 0:
        return numeric * 0.0
    return numeric / total * 100.0


@dataclass
class QuerySummary:
    """What a reader or a model needs to know about one query's result."""

    name: str
    family: str
    title: str
    description: str
    why: str
    status: str
    error: str | None
    rows: int
    columns: list[str]
    chart: ChartHint
    units: dict[str, str]
    cost_column: str | None
    total: float | None
    top_rows: list[dict[str, Any]]
    finding: bool = False
    monthly_savings: float | None = None

    def context(self, max_rows: int) -> dict[str, Any]:
        """Compact JSON-ready view for a prompt: the top `max_rows` rows only."""
        out: dict[str, Any] = {
            "title": self.title,
            "question": self.description,
            "status": self.status,
        }
        if self.error:
            out["error"] = self.error
            return out
        out.update(rows=self.rows, columns=self.columns, top_rows=self.top_rows[:max_rows])
        if self.total is not None:
            out[f"total_{self.cost_column}"] = round(self.total, 2)
        if self.monthly_savings is not None:
            out["monthly_savings_usd"] = round(self.monthly_savings, 2)
        if self.rows > max_rows:
            out["rows_not_shown"] = self.rows - min(max_rows, len(self.top_rows))
        return out


@dataclass
class Metrics:
    """The metrics row at the top of every report."""

    rows: int
    unblended_cost: float
    amortized_cost: float
    columns: int
    analysis_type: str
    accounts: int = 0
    services: int = 0
    days: int = 0
    previous_unblended_cost: float | None = None
    findings: int = 0
    monthly_savings_usd: float = 0.0
    previous_days: int = 0

    @property
    def change_pct(self) -> float | None:
        """Change of daily run rate against the previous period, in percent."""
        if self.previous_unblended_cost is None:
            return None
        current, previous = self.unblended_cost, self.previous_unblended_cost
        if self.days and self.previous_days:
            # cost per day with data, so a lagging last day or a partly covered period is fair
            current, previous = current / self.days, previous / self.previous_days
        return change_pct(current, previous)


@dataclass
class ReportSummary:
    """Everything summarised for one report run."""

    report_id: str
    generated_at: str
    window: Window
    schema: str
    engine: str
    source: str
    families: list[str]
    metrics: Metrics
    queries: dict[str, QuerySummary]
    results: dict[str, QueryResult] = field(default_factory=dict)
    # every money figure is in this currency; the window's currencies (this one first) and
    # this currency's providers, each with its line items and net cost
    currency: str = "USD"
    currencies: list[CurrencyTotal] = field(default_factory=list)
    providers: list[CurrencyTotal] = field(default_factory=list)

    @property
    def other_currencies(self) -> list[CurrencyTotal]:
        """The currencies billed in the window that this report leaves out (never added to it)."""
        return [c for c in self.currencies if c.name != self.currency]

    @property
    def other_providers(self) -> bool:
        """True when the report's rows come from a provider other than AWS."""
        return any(p.name != "AWS" for p in self.providers)

    def currency_command(self, currency: str) -> str:
        """The command that reports this window (and local source) in `currency`."""
        return currency_command(
            currency,
            engine=self.engine,
            source=self.source,
            start=self.window.start,
            end=self.window.end,
        )

    @property
    def title(self) -> str:
        """`AWS cost report` when AWS is the only provider known, else `Cloud cost report`."""
        return report_title([p.name for p in self.providers])

    def frame(self, name: str) -> pd.DataFrame:
        """The full result of a query that ran (empty when it failed or did not run)."""
        result = self.results.get(name)
        return result.frame if result is not None and result.ok else pd.DataFrame()

    @property
    def coverage(self) -> str | None:
        """First to last usage day with data when that is shorter than the window (else None)."""
        totals = self.frame("window_totals")
        if totals.empty or "first_day" not in totals.columns or "last_day" not in totals.columns:
            return None
        first, last = totals["first_day"].iloc[0], totals["last_day"].iloc[0]
        if first is None or last is None or pd.isna(first) or pd.isna(last):
            return None
        start, end = pd.Timestamp(first).date(), pd.Timestamp(last).date() + dt.timedelta(days=1)
        if start <= self.window.start and end >= self.window.end:
            return None
        return period_text(start, end)

    @property
    def waterfall(self) -> Waterfall | None:
        """The bill from usage to net (None when the bill_waterfall query did not run)."""
        return waterfall_from_frame(self.frame("bill_waterfall"))

    def context(self, max_rows: int = 10) -> dict[str, Any]:
        """Compact JSON-ready context of the whole report for a model prompt."""
        m = self.metrics
        bill = self.waterfall
        return {
            "bill": bill.to_json() if bill is not None else None,
            "report_id": self.report_id,
            "window": {
                "start": self.window.start.isoformat(),
                "end_exclusive": self.window.end.isoformat(),
            },
            "schema": self.schema,
            "analysis_type": m.analysis_type,
            # every amount below is in this currency, whatever a key's `_usd` suffix says (the
            # keys stay as prompts and their readers know them)
            "currency": self.currency,
            "providers": [p.name for p in self.providers],
            "totals": {
                "rows": m.rows,
                "unblended_cost_usd": round(m.unblended_cost, 2),
                "amortized_cost_usd": round(m.amortized_cost, 2),
                "accounts": m.accounts,
                "services": m.services,
                "days": m.days,
            },
            "queries": {name: q.context(max_rows) for name, q in self.queries.items()},
        }


def summarise_query(
    spec: QuerySpec, result: QueryResult, top_n: int, currency: str = "USD"
) -> QuerySummary:
    """Summary of one query: totals, top rows by its cost column, savings if it has any.

    Money columns carry `currency` as their unit (the catalog writes them in USD).
    """
    frame = result.frame
    cost_column = spec.cost_column if spec.cost_column in frame.columns else None
    counted = frame
    if "is_anomaly" in frame.columns:
        # a total of excess covers the anomalies only: quiet days' negative excess is not money
        flags = frame["is_anomaly"].astype("string").str.lower().isin(["true", "1"])
        counted = frame[flags.fillna(False).astype(bool)]
    total = (
        float(pd.to_numeric(counted[cost_column], errors="coerce").sum()) if cost_column else None
    )
    savings = None
    if "monthly_savings" in frame.columns:
        savings = float(
            pd.to_numeric(frame["monthly_savings"], errors="coerce").clip(lower=0).sum()
        )
    ranked = top_by(frame, "monthly_savings" if savings is not None else cost_column, top_n)
    return QuerySummary(
        name=spec.name,
        family=spec.family,
        title=spec.title,
        description=spec.description,
        why=spec.why,
        status=result.status,
        error=result.error,
        rows=result.rows,
        columns=list(frame.columns),
        chart=spec.chart,
        units=in_currency(spec.units, currency),
        cost_column=cost_column,
        total=total,
        top_rows=records(ranked),
        finding=spec.finding is not None,
        monthly_savings=savings,
    )


def metrics_from_totals(totals: pd.DataFrame, families: list[str]) -> Metrics:
    """The metrics row from the window_totals query (zeros when it failed or found nothing)."""
    analysis_type = " + ".join(families) if families else "all"
    if totals.empty:
        return Metrics(0, 0.0, 0.0, CANONICAL_COLUMN_COUNT, analysis_type)
    row = totals.iloc[0]

    def number(name: str) -> float:
        value = row.get(name)
        return 0.0 if value is None or pd.isna(value) else float(value)

    return Metrics(
        rows=int(number("rows")),
        unblended_cost=number("unblended_cost"),
        amortized_cost=number("amortized_cost"),
        columns=CANONICAL_COLUMN_COUNT,
        analysis_type=analysis_type,
        accounts=int(number("accounts")),
        services=int(number("services")),
        days=int(number("days")),
    )
