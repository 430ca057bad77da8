"""An interpreted question's SQL (sqlglot literals only) and the sentence built from its result."""

from __future__ import annotations

import datetime as dt
import math
from functools import partial
from typing import Any

import pandas as pd
from sqlglot import exp

from finops_agent.chat.interpreter import MEASURE_LABELS, Plan, describe
from finops_agent.chat.periods import Period, during
from finops_agent.chat.vocabulary import Entity
from finops_agent.formatting import money, number, pct, signed_pct

__all__ = ["build_sql", "sentence", "stored_sentence"]

_MEASURE_COLUMN = {
    "net": "unblended_cost",
    "gross": "unblended_cost",
    "amortized": "amortized_cost",
    "public": "public_cost",
    "usage": "unblended_cost",
}
# column (or expression) and its alias for each dimension
_DIMENSIONS: dict[str, tuple[str, ...]] = {
    "service": ("service_name",),
    "account": ("account_id", "account_name"),
    "region": ("region",),
    "zone": ("availability_zone",),
    "charge_type": ("charge_type",),
    "purchase_option": ("purchase_option",),
    "resource": ("resource_id",),
    "usage_type": ("usage_type",),
    "instance_type": ("instance_type",),
}
_FILTER_COLUMN = {
    "service": "service_code",
    "account": "account_id",
    "region": "region",
    "zone": "availability_zone",
    "purchase": "purchase_option",
    "charge": "charge_type",
}
_NOUN = {
    "service": "service",
    "account": "account",
    "region": "region",
    "zone": "availability zone",
    "charge_type": "charge type",
    "purchase_option": "purchase option",
    "resource": "resource",
    "usage_type": "usage type",
    "instance_type": "instance type",
    "day": "day",
    "week": "week",
    "month": "month",
}


def _lit(value: str) -> str:
    return exp.Literal.string(value).sql(dialect="athena")


def _date(day: dt.date) -> str:
    return f"date {_lit(day.isoformat())}"


def _between(period: Period) -> str:
    return f"usage_date >= {_date(period.start)} and usage_date < {_date(period.end)}"


def _tag(key: str) -> str:
    return f"element_at(tags, {_lit(key)})"


def _condition(entities: list[Entity]) -> str:
    """Entities of one kind are alternatives (OR); different kinds narrow each other (AND)."""
    groups: dict[tuple[str, str], list[Entity]] = {}
    for entity in entities:
        groups.setdefault((entity.kind, entity.key), []).append(entity)
    parts = []
    for (kind, key), items in groups.items():
        values = ", ".join(_lit(e.value) for e in items)
        column = f"lower({_tag(key)})" if kind == "tag" else _FILTER_COLUMN[kind]
        parts.append(f"{column} in ({values})")
    return " and ".join(parts)


def _dimension(plan: Plan) -> tuple[list[str], list[str]]:
    """Select expressions and group-by expressions of the plan's dimension."""
    dim = plan.dimension or ""
    if dim.startswith("tag:"):
        key = dim[4:]
        expr = f"coalesce(nullif({_tag(key)}, ''), '(untagged)')"
        return [f"{expr} as {key}"], [expr]
    if dim == "day":
        return ["usage_date as day"], ["usage_date"]
    if dim in ("week", "month"):
        expr = f"date_trunc({_lit(dim)}, usage_date)"
        return [f"cast({expr} as date) as {dim}"], [expr]
    columns = list(_DIMENSIONS[dim])
    return columns, columns


def build_sql(plan: Plan) -> str:
    """Athena SQL over `cost` for an analytic plan; every value is a literal from the data."""
    assert plan.period is not None
    value = _MEASURE_COLUMN[plan.measure]
    where = [_between(plan.period)]
    if plan.measure == "gross" or plan.operation in ("share",):
        where.append("charge_type not in ('Credit', 'Refund')")
    chosen = _condition(plan.filters)
    if plan.operation == "share":
        return (
            f"select sum(case when {chosen} then {value} else 0 end) as part_cost, "
            f"sum({value}) as total_cost, "
            f"sum(case when {chosen} then {value} else 0 end) * 100.0 / nullif(sum({value}), 0) "
            f"as share_pct from cost where {' and '.join(where)}"
        )
    if chosen:
        where.append(chosen)
    if plan.operation == "growth":
        assert plan.earlier is not None
        earlier, later = plan.earlier, plan.period
        where[0] = f"usage_date >= {_date(earlier.start)} and usage_date < {_date(later.end)}"
        select, group = _dimension(plan) if plan.dimension else ([], [])
        sums = (
            f"sum(case when {_between(earlier)} then {value} else 0 end) as earlier_cost, "
            f"sum(case when {_between(later)} then {value} else 0 end) as later_cost"
        )
        head = ", ".join([*select, sums])
        grouped = f" group by {', '.join(group)}" if group else ""
        order = {
            "up": "change_usd desc",
            "down": "change_usd asc",
            "any": "abs(change_usd) desc",
        }[plan.direction]
        keys = ", ".join(s.split(" as ")[-1] for s in select)
        keys = keys + ", " if keys else ""
        return (
            f"with periods as (select {head} from cost where {' and '.join(where)}{grouped}) "
            f"select {keys}earlier_cost, later_cost, later_cost - earlier_cost as change_usd, "
            # a change against a credit or a few cents is no percentage
            "case when earlier_cost >= 0.01 then (later_cost - earlier_cost) * 100.0 / "
            "earlier_cost end as change_pct "
            f"from periods order by {order}"
        )
    if plan.operation == "usage":
        return (
            "select pricing_unit, sum(usage_amount) as usage_amount, "
            f"sum(unblended_cost) as cost from cost where {' and '.join(where)} "
            "group by pricing_unit order by cost desc"
        )
    if plan.operation in ("total", "average"):
        days = _data_days(plan)
        return (
            f"select sum({value}) as cost, count(*) as line_items, "
            f"sum({value}) / {days} as daily_average from cost where {' and '.join(where)}"
        )
    if plan.operation == "count":
        column = _DIMENSIONS.get(plan.dimension or "", ("service_code",))[0]
        if (plan.dimension or "").startswith("tag:"):
            column = f"nullif({_tag((plan.dimension or '')[4:])}, '')"
        return (
            f"select count(distinct {column}) as {(plan.dimension or 'x').replace('tag:', '')}s "
            f"from cost where {' and '.join(where)}"
        )
    select, group = _dimension(plan)
    head = ", ".join(select)
    if plan.operation == "series":
        return (
            f"select {head}, sum({value}) as cost from cost where {' and '.join(where)} "
            f"group by {', '.join(group)} order by 1"
        )
    order = "asc" if plan.ascending else "desc"
    return (
        f"select {head}, sum({value}) as cost, sum({value}) * 100.0 / "
        f"nullif(sum(sum({value})) over (), 0) as share_pct, "
        f"sum(sum({value})) over () as total_cost "
        f"from cost where {' and '.join(where)} group by {', '.join(group)} "
        f"order by cost {order} limit {plan.limit}"
    )


def _data_days(plan: Plan) -> int:
    assert plan.period is not None
    return max(1, plan.period.days)


def _label(row: pd.Series, plan: Plan) -> str:
    dim = plan.dimension or ""
    if dim == "account":
        name, number = str(row["account_name"]), str(row["account_id"])
        return number if name == number else f"{name} ({number})"
    column = dim[4:] if dim.startswith("tag:") else (_DIMENSIONS.get(dim, (dim,))[-1])
    value = row.get(column)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"(no {_NOUN.get(dim, dim)})"
    if isinstance(value, (dt.date, pd.Timestamp)):
        return str(pd.Timestamp(value).date().isoformat())
    return str(value)


def _parts(plan: Plan) -> tuple[str, str]:
    """The filters as a head (services) and a tail ("in us-east-1 for project checkout")."""
    by_kind: dict[str, list[str]] = {}
    for entity in plan.filters:
        by_kind.setdefault(entity.kind, []).append(describe(entity))
    head = " and ".join(by_kind.pop("service", []))
    tail = "".join(
        f" in {' or '.join(names)}"
        if kind in ("account", "region", "zone")
        else f" for {' or '.join(names)}"
        for kind, names in by_kind.items()
    )
    return head, tail


def _subject(plan: Plan) -> str:
    """The filters as a sentence's subject: "Amazon S3 in us-east-1", "Spend for tax"."""
    if not plan.filters:
        return "Total spend"
    head, tail = _parts(plan)
    return (head or "Spend") + tail


def _scope(plan: Plan) -> str:
    """The filters after a verb: " for Amazon S3 in us-east-1", " in account prod-platform"."""
    head, tail = _parts(plan)
    return (f" for {head}" if head else "") + tail


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def sentence(plan: Plan, frame: pd.DataFrame, currency: str = "USD") -> str:
    """The answer in one or two sentences, every figure taken from `frame`, money in `currency`."""
    cash = partial(money, currency=currency)
    basis = MEASURE_LABELS[plan.measure]
    period = plan.period
    assert period is not None
    if frame.empty:
        return f"The data holds no line items for that {during(period)}."
    first = frame.iloc[0]
    if plan.operation == "usage":
        amounts = "; ".join(
            f"{number(_number(row['usage_amount']))} {row['pricing_unit'] or '(no unit)'} "
            f"({cash(_number(row['cost']))})"
            for _, row in frame.head(5).iterrows()
        )
        more = f" and {len(frame) - 5} more unit(s)" if len(frame) > 5 else ""
        return f"{_subject(plan)} used {amounts}{more} {during(period)} (usage amount, cost)."
    if plan.operation in ("total", "average"):
        cost = _number(first["cost"])
        if cost is None or int(first["line_items"]) == 0:
            return f"The data holds no line items for {_subject(plan)} {during(period)}."
        if plan.operation == "average":
            return (
                f"{_subject(plan)} averaged {cash(float(first['daily_average']))} a day over "
                f"{period.days} days {during(period)}, {cash(cost)} in all ({basis})."
            )
        verb = "cost" if any(f.kind == "service" for f in plan.filters) else "was"
        return f"{_subject(plan)} {verb} {cash(cost)} {during(period)} ({basis})."
    if plan.operation == "share":
        share, part, total = (_number(first[c]) for c in ("share_pct", "part_cost", "total_cost"))
        if share is None or part is None or total is None:
            return f"There is no spend {during(period)} to take a share of."
        return (
            f"{_subject(plan)} is {pct(share)} of spend {during(period)}: {cash(part)} of "
            f"{cash(total)} ({basis})."
        )
    if plan.operation == "count":
        noun = _NOUN.get(plan.dimension or "", (plan.dimension or "")[4:])
        count = int(first.iloc[0])
        scope = _scope(plan)
        return f"{count} {noun}{'' if count == 1 else 's'} had line items{scope} {during(period)}."
    if plan.operation == "growth":
        return _growth_sentence(plan, frame, basis, currency)
    if plan.operation == "series":
        costs = pd.to_numeric(frame["cost"])
        high, low = frame.loc[costs.idxmax()], frame.loc[costs.idxmin()]
        unit = _NOUN[plan.dimension or "day"]
        scope = _scope(plan)
        return (
            f"{unit.capitalize()} by {unit} spend{scope} {during(period)} ({basis}): highest "
            f"{cash(float(high['cost']))} on {_label(high, plan)}, lowest "
            f"{cash(float(low['cost']))} on {_label(low, plan)}, {cash(float(costs.sum()))} "
            f"over {len(frame)} {unit}s."
        )
    noun = _NOUN.get(plan.dimension or "", (plan.dimension or "")[4:])
    scope = _scope(plan)
    total = _number(first["total_cost"]) or 0.0
    verb = "cost the least" if plan.ascending else "cost the most"
    lead = (
        f"{_label(first, plan)} {verb}{scope} {during(period)}: {cash(float(first['cost']))}"
        f" ({pct(_number(first['share_pct']))} of {cash(total)}, {basis})."
    )
    if len(frame) > 1:
        rest = "; ".join(
            f"{_label(row, plan)} {cash(float(row['cost']))}"
            for _, row in frame.iloc[1:4].iterrows()
        )
        lead += f" Next {noun}s: {rest}."
    return lead


def _growth_sentence(plan: Plan, frame: pd.DataFrame, basis: str, currency: str) -> str:
    cash = partial(money, currency=currency)
    assert plan.earlier is not None and plan.period is not None
    span = f"from {plan.earlier.label} to {plan.period.label}"
    first = frame.iloc[0]
    earlier, later = float(first["earlier_cost"]), float(first["later_cost"])
    change, ratio_pct = float(first["change_usd"]), _number(first["change_pct"])
    moved = cash(change) if change < 0 else "+" + cash(change)
    ratio = f" ({signed_pct(ratio_pct)})" if ratio_pct is not None else ""
    if not plan.dimension:
        return (
            f"{_subject(plan)} went from {cash(earlier)} in {plan.earlier.label} to {cash(later)} "
            f"in {plan.period.label}: {moved}{ratio} ({basis})."
        )
    noun = _NOUN.get(plan.dimension, plan.dimension[4:])
    label = _label(first, plan)
    if plan.direction == "up" and change <= 0:
        return f"No {noun} grew {span}; the smallest fall was {label}: {moved}{ratio} ({basis})."
    if plan.direction == "down" and change >= 0:
        return f"No {noun} fell {span}; the smallest rise was {label}: {moved}{ratio} ({basis})."
    verb = {"up": "grew most", "down": "fell most", "any": "changed most"}[plan.direction]
    return f"{label} {verb}{_scope(plan)}: {moved}{ratio} {span}, from {cash(earlier)} to {cash(later)} ({basis})."


def stored_sentence(
    name: str, title: str, frame: pd.DataFrame, currency: str = "USD"
) -> str | None:
    """The answer from a stored query's result in a sentence (money in `currency`); None when it
    has no headline."""
    cash = partial(money, currency=currency)
    if frame.empty:
        return f"{title}: nothing found in the report window."
    if name == "month_end_forecast":
        row = frame.iloc[0]
        month = pd.Timestamp(row["billing_period"]).strftime("%B %Y")
        low, high = _number(row["forecast_low"]), _number(row["forecast_high"])
        # one-time charges and monthly fees are counted once; with few days there is no range
        spread = (
            f"range {cash(low)} to {cash(high)}"
            if low is not None and high is not None
            else str(row["note"])
        )
        return (
            f"At the current run rate {month} will cost about {cash(float(row['forecast_cost']))} "
            f"({spread}); {cash(float(row['cost_to_date']))} so far over "
            f"{int(row['days_with_data'])} of {int(row['days_in_month'])} days."
        )
    if name == "commitment_coverage_utilization":
        parts = []
        for _, row in frame.iterrows():
            use, cover = _number(row["utilization_pct"]), _number(row["coverage_pct"])
            parts.append(
                f"{row['commitment_type']}: {pct(use)} utilised"
                if use is not None
                else f"{row['commitment_type']}: utilisation unknown"
            )
            if cover is not None:
                parts[-1] += f", covering {pct(cover)} of eligible on-demand usage"
            parts[-1] += f" ({cash(float(row['unused_cost']))} unused)"
        return "Commitments in the report window: " + "; ".join(parts) + "."
    if name == "daily_anomalies":
        found = frame[frame["is_anomaly"].fillna(False).astype(bool)]
        if found.empty:
            return "No day in the report window cost unusually much for its service."
        top = found.iloc[0]
        day = pd.Timestamp(top["usage_date"]).date().isoformat()
        return (
            f"{len(found)} anomalous day(s); the strongest: {top['service_name']} on {day} cost "
            f"{cash(float(top['usage_cost']))} in usage before credits against a baseline of "
            f"{cash(float(top['baseline_cost']))} (z-score {float(top['z_score']):.1f})."
        )
    if "monthly_savings" in frame.columns:
        savings = pd.to_numeric(frame["monthly_savings"], errors="coerce").fillna(0.0)
        top = frame.loc[savings.idxmax()]
        label = next(
            (
                str(top[c])
                for c in ("resource_id", "instance_type", "account_name")
                if c in top.index
            ),
            "",
        )
        return (
            f"{title}: {len(frame)} found, about {cash(float(savings.sum()))} a month to save; "
            f"the largest is {label} at {cash(float(savings.max()))} a month."
        )
    return None
