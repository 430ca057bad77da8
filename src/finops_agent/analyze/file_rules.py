"""Rule engine for analysed files: concentration, month-over-month movement, untagged share, gp2 and
previous-generation hints, the file's own savings column; with a narrative and five prompts."""

from __future__ import annotations

import pandas as pd

from finops_agent.analyze.analysis import (
    OTHER_LABEL,
    FileReportSummary,
    mom_months,
    month_complete,
    trend_grain,
)
from finops_agent.analyze.dataset import Dataset
from finops_agent.analyze.exports import export_note
from finops_agent.analyze.roles import is_monthly, tokens
from finops_agent.catalog import CatalogError, FindingSpec, load_catalog
from finops_agent.formatting import change_pct, number, pct, share_pct, usd
from finops_agent.insights.base import Finding, Insights, SuggestedPrompt
from finops_agent.insights.query_rules import RuleInsights, narrative_tail
from finops_agent.result_files.load import quote_ident
from finops_agent.summarise import ReportSummary

CONCENTRATION_SHARE = 50.0
MOVEMENT_PCT = 10.0
UNTAGGED_SHARE = 10.0
# A day this many standard deviations above the file's daily mean is a spike worth a look.
SPIKE_Z = 3.0
SPIKE_MIN_DAYS = 14
# A per-day run rate over fewer days than a week mixes weekdays and weekends unevenly.
RUN_RATE_MIN_DAYS = 7
_DAYS_PER_MONTH = 365.25 / 12
_PROMPTS = 5


def monthly_amount(dataset: Dataset, column: str, amount: float) -> tuple[float, str]:
    """An amount summed from `column` as a monthly figure, and how it was (not) scaled.

    A column that is already per month keeps its value; otherwise a file dated by usage or
    billing dates is scaled by the days it covers, and any other file is taken as one month.
    """
    if is_monthly(column):
        return amount, f"{column} is already per month, not rescaled"
    days = dataset.days
    if dataset.profile.billing_dated and days and days > 1:
        return amount / days * _DAYS_PER_MONTH, f"scaled from {days} day(s) of data to 30.44 days"
    if dataset.profile.date and not dataset.profile.billing_dated:
        return amount, f"{dataset.profile.date} is no usage date; the file is taken as one month"
    return amount, "the file is taken to cover one month"


def _frame(summary: ReportSummary, name: str) -> pd.DataFrame:
    return summary.frame(name)


def _concentration(summary: ReportSummary, d: Dataset, prefix: str, total: float) -> Finding | None:
    p = d.profile
    top = _frame(summary, f"{prefix}top_by_group")
    if top.empty or p.group is None or p.cost is None or total <= 0:
        return None
    named = top[top[p.group] != OTHER_LABEL]
    if named.empty:
        return None
    first = named.iloc[0]
    share = share_pct(float(first[p.cost]), total)
    if share is None or share < CONCENTRATION_SHARE or len(top) < 2:
        return None
    label = str(first[p.group])
    return Finding(
        id=f"{prefix}concentration",
        family=summary.queries[f"{prefix}top_by_group"].family,
        query=f"{prefix}top_by_group",
        title=f"{label} is {pct(share, 0)} of {p.cost} in {d.label}",
        evidence=(
            f"{p.group} {label!r} accounts for {usd(float(first[p.cost]))} of "
            f"{usd(total)} ({pct(share)}) across {p.rows:,} rows."
        ),
        monthly_savings_usd=0.0,
        effort="medium",
        risk="low",
        action=(
            f"Start optimisation with {label}: break its cost down by "
            f"{', '.join(g for g in p.groups if g != p.group) or 'resource'} and check it "
            "for rightsizing, commitments (Savings Plans) and idle resources."
        ),
        reasoning="Concentration finding: one item dominates, so the savings are likely there.",
    )


def _movement(summary: ReportSummary, d: Dataset, prefix: str) -> Finding | None:
    p = d.profile
    name = f"{prefix}month_over_month"
    mom = _frame(summary, name)
    months = mom_months(d)
    if mom.empty or p.cost is None or months is None:
        return None
    previous_month, latest_month = months
    previous = float(mom["previous_month"].sum())
    latest = float(mom["latest_month"].sum())
    prev_days, latest_days = d.days_in(previous_month), d.days_in(latest_month)
    note, measure = "", f"{p.cost}"
    if not (month_complete(d, previous_month) and month_complete(d, latest_month)):
        if min(prev_days, latest_days) < RUN_RATE_MIN_DAYS:
            return None  # a few days against a month says nothing
        # a partial month: compare what each month cost per covered day
        previous, latest = previous / prev_days, latest / latest_days
        measure = f"{p.cost} per day"
        note = (
            f" per day (run rate over the file's {prev_days} day(s) of {previous_month:%Y-%m} "
            f"and {latest_days} of {latest_month:%Y-%m})"
        )
    change = change_pct(latest, previous)
    if change is None or abs(change) < MOVEMENT_PCT:
        return None
    moved = "latest_per_day" if note else "latest_month"
    before = "previous_per_day" if note else "previous_month"
    movers = mom.assign(_moved=mom[moved] - mom[before])
    movers = movers.sort_values("_moved", key=lambda s: s.abs(), ascending=False).head(3)
    parts = (
        "; largest movements"
        + (" per day" if note else "")
        + ": "
        + ", ".join(f"{r[p.group]} {usd(float(r['_moved']))}" for _, r in movers.iterrows())
        if p.group
        else ""
    )
    direction = "rose" if change > 0 else "fell"
    return Finding(
        id=f"{prefix}month_over_month",
        family=summary.queries[name].family,
        query=name,
        title=f"{measure} {direction} {pct(abs(change), 0)} in {latest_month:%Y-%m}",
        evidence=f"{usd(previous)} -> {usd(latest)}{note}{parts}.",
        monthly_savings_usd=0.0,
        effort="low",
        risk="low",
        action=(
            "Explain the largest movements with their owners; set an AWS Budget or Cost Anomaly "
            "Detection monitor on them if the change was not planned."
        ),
        reasoning="Trend finding: the change itself is not a saving.",
    )


def _untagged(summary: ReportSummary, d: Dataset, prefix: str, total: float) -> Finding | None:
    p = d.profile
    untagged_cols = [c for c in p.costs if "untagged" in tokens(c)]
    total_cols = [c for c in p.costs if tokens(c) & {"total"}]
    if untagged_cols and total_cols:
        part = d.totals.get(untagged_cols[0]) or 0.0
        whole = d.totals.get(total_cols[0]) or 0.0
        source = f"{untagged_cols[0]} / {total_cols[0]}"
    else:
        found = [(k.split(":", 1)[1], v) for k, v in d.signals.items() if k.startswith("untagged:")]
        if not found:
            return None
        tag, part = max(found, key=lambda kv: kv[1])
        whole = total
        source = f"rows whose {tag} is empty or 'untagged'"
    share = share_pct(part, whole)
    if share is None or share < UNTAGGED_SHARE:
        return None
    return Finding(
        id=f"{prefix}untagged",
        family="tagging",
        query=f"{prefix}rows",
        title=f"{pct(share, 0)} of {p.cost} in {d.label} has no owner tag",
        evidence=f"{usd(part)} of {usd(whole)} ({pct(share)}) is untagged ({source}).",
        monthly_savings_usd=0.0,
        effort="medium",
        risk="low",
        action=(
            "Enforce the tag with a tag policy or SCP, activate it as a cost allocation tag, and "
            "tag the largest untagged resources first."
        ),
        reasoning="Allocation finding: no direct saving; it makes every other saving attributable.",
    )


def _stored(query: str, rate: str) -> tuple[FindingSpec, float]:
    """A stored query's finding metadata and default saving rate, so a file is priced alike."""
    spec = load_catalog().queries[query]
    if spec.finding is None:
        raise CatalogError(f"query {query!r}: the file rules need its finding block")
    return spec.finding, float(spec.bind()[rate])


def _gp2(summary: ReportSummary, d: Dataset, prefix: str) -> Finding | None:
    cost = float(d.signals.get("gp2_cost", 0.0))
    rows = int(d.signals.get("gp2_rows", 0))
    if cost <= 0:
        return None
    assert d.profile.cost is not None
    meta, rate = _stored("gp2_volumes", "gp3_saving_share")
    monthly, scaled = monthly_amount(d, d.profile.cost, cost)
    saving = monthly * rate
    return Finding(
        id=f"{prefix}gp2",
        family="architecture",
        query=f"{prefix}rows",
        title=f"Migrate gp2 EBS volumes in {d.label} to gp3",
        evidence=f"{rows:,} row(s) mention gp2, costing {usd(cost)} in the file.",
        monthly_savings_usd=round(saving, 2),
        effort=meta.effort,
        risk=meta.risk,
        action=meta.action,
        reasoning=f"{pct(rate * 100, 0)} of {usd(monthly)}/month of gp2 cost ({scaled}); {meta.assumption}.",
    )


def _previous_generation(summary: ReportSummary, d: Dataset, prefix: str) -> Finding | None:
    cost = float(d.signals.get("previous_generation_cost", 0.0))
    if cost <= 0:
        return None
    examples = list(d.signals.get("previous_generation_examples", []))
    assert d.profile.cost is not None
    meta, rate = _stored("previous_generation_instances", "saving_share")
    monthly, scaled = monthly_amount(d, d.profile.cost, cost)
    return Finding(
        id=f"{prefix}previous_generation",
        family="architecture",
        query=f"{prefix}rows",
        title=f"Move previous-generation instances in {d.label} to current generation",
        evidence=(
            f"{int(d.signals.get('previous_generation_rows', 0)):,} row(s) use previous-generation "
            f"types ({', '.join(examples)}), costing {usd(cost)} in the file."
        ),
        monthly_savings_usd=round(monthly * rate, 2),
        effort=meta.effort,
        risk=meta.risk,
        action=meta.action,
        reasoning=f"{pct(rate * 100, 0)} of {usd(monthly)}/month ({scaled}); {meta.assumption}.",
    )


def _savings_column(summary: ReportSummary, d: Dataset, prefix: str) -> Finding | None:
    columns = [c for c in d.profile.costs if tokens(c) & {"savings", "saving"}]
    if not columns or columns[0] == d.profile.cost:
        return None
    total = d.totals.get(columns[0]) or 0.0
    if total <= 0:
        return None
    amount, scaled = monthly_amount(d, columns[0], total)
    return Finding(
        id=f"{prefix}savings_column",
        family=summary.queries[f"{prefix}rows"].family,
        query=f"{prefix}rows",
        title=f"The file estimates {usd(amount)}/month of savings in {columns[0]}",
        evidence=f"Sum of {columns[0]} over {d.profile.rows:,} rows of {d.label}: {usd(total)}.",
        monthly_savings_usd=round(amount, 2),
        effort="medium",
        risk="low",
        action="Work through the rows with the largest savings first (see the data table).",
        reasoning=f"Sum of the file's own {columns[0]} column ({scaled}).",
    )


def daily_zscores(daily: pd.Series) -> pd.Series | None:
    """Each day's z-score against the file's daily mean; None when there is no spread to score.

    A constant series has a standard deviation of zero: every z-score would be 0/0, so none
    is reported rather than a column of NaN or infinity.
    """
    values = pd.to_numeric(daily, errors="coerce").dropna()
    if len(values) < SPIKE_MIN_DAYS:
        return None
    spread = float(values.std(ddof=1))
    mean = float(values.mean())
    if not spread > abs(mean) * 1e-9:
        return None
    return (values - mean) / spread


def _spike(summary: ReportSummary, d: Dataset, prefix: str) -> Finding | None:
    p = d.profile
    name = f"{prefix}trend"
    trend = _frame(summary, name)
    if trend.empty or p.cost is None or not p.billing_dated or trend_grain(d) != "day":
        return None
    daily = trend.groupby("period")[p.cost].sum().sort_index()
    scores = daily_zscores(daily)
    if scores is None or scores.max() < SPIKE_Z:
        return None
    day = scores.idxmax()
    mean = float(daily.mean())
    return Finding(
        id=f"{prefix}spike",
        family=summary.queries[name].family,
        query=name,
        title=f"{p.cost} spiked on {pd.Timestamp(day):%Y-%m-%d} in {d.label}",
        evidence=(
            f"{usd(float(daily[day]))} that day against a daily mean of {usd(mean)} over "
            f"{len(daily)} days (z-score {float(scores[day]):.1f}, standard deviation "
            f"{usd(float(daily.std(ddof=1)))})."
        ),
        monthly_savings_usd=0.0,
        effort="low",
        risk="low",
        action=(
            f"Break that day down by {p.group or 'resource'} and check for a one-off job, a "
            "runaway resource or a purchase; add a Cost Anomaly Detection monitor if unplanned."
        ),
        reasoning=f"Anomaly finding: a day at least {SPIKE_Z:.0f} standard deviations above the mean.",
    )


def findings_for(summary: FileReportSummary) -> list[Finding]:
    """Every file rule over every analysed dataset, largest savings first."""
    side = summary.layout == "side_by_side"
    found: list[Finding] = []
    for index, d in enumerate(summary.datasets, start=1):
        prefix = f"f{index}_" if side else ""
        total = d.totals.get(d.profile.cost or "") or 0.0
        candidates = [
            _savings_column(summary, d, prefix),
            _gp2(summary, d, prefix),
            _previous_generation(summary, d, prefix),
            _concentration(summary, d, prefix, total),
            _movement(summary, d, prefix),
            _spike(summary, d, prefix),
            _untagged(summary, d, prefix, total),
        ]
        found += [f for f in candidates if f is not None]
    return sorted(found, key=lambda f: f.monthly_savings_usd, reverse=True)


def _top_items(
    summary: ReportSummary, d: Dataset, prefix: str, n: int = 3
) -> list[tuple[str, float]]:
    top = _frame(summary, f"{prefix}top_by_group")
    p = d.profile
    if top.empty or p.group is None or p.cost is None:
        return []
    named = top[top[p.group] != OTHER_LABEL].head(n)
    return [(str(r[p.group]), float(r[p.cost])) for _, r in named.iterrows()]


def _credit_text(d: Dataset, total: float) -> str:
    """Whether the total is net of credits and refunds, from the file's own charge types."""
    column = d.signals.get("charge_type_column")
    if not column:
        return ""
    rows = int(d.signals.get("credit_rows", 0))
    if rows == 0:
        return f" No credit or refund rows in {column}: the total is before any credits."
    credits = float(d.signals.get("credit_cost", 0.0))
    return (
        f" The total includes {usd(credits)} of credits and refunds in {rows:,} row(s) of "
        f"{column}; before them it is {usd(total - credits)}."
    )


def _rate_lines(d: Dataset, total: float) -> list[str]:
    """How the total reads per month or per day, so a single period is never read as a trend."""
    p = d.profile
    if p.cost_monthly:
        return ["", f"{p.cost} is already a monthly figure: its sum is a monthly run rate."]
    days = d.days
    if not p.billing_dated or not days or not p.cost_is_money:
        return []
    return [
        "",
        f"Per-day run rate: {usd(total / days)} a day over the {days} day(s) the file covers "
        f"({p.date}).",
    ]


def narrative(summary: FileReportSummary, findings: list[Finding]) -> str:
    """Executive summary in markdown from the files' own numbers."""
    side = summary.layout == "side_by_side"
    lines = ["## Executive summary", ""]
    if summary.layout == "merged":
        lines += [
            f"The {len(summary.datasets[0].files)} files share the same columns and were "
            "**merged** into one table (column `source_file` says where each row came from).",
            "",
        ]
    elif side:
        lines += [
            f"The {len(summary.datasets)} files have different columns and are analysed "
            "**side by side**; the headline total adds them up.",
            "",
        ]
    for index, d in enumerate(summary.datasets, start=1):
        p = d.profile
        prefix = f"f{index}_" if side else ""
        total = d.totals.get(p.cost or "") or 0.0
        money = usd(total) if p.cost_is_money else number(total)
        period = f" from {d.coverage[0]} to {d.coverage[1]}" if d.coverage else ""
        lines.append(f"**{d.label}**: {p.rows:,} rows; total {p.cost} **{money}**{period}.")
        note = export_note(d, code=True)
        if note:
            lines += ["", f"**{note}**"]
        lines += ["", "Columns used: " + "; ".join(f"_{c.text()}_" for c in p.choices) + "."]
        if p.cost_basis:
            lines += ["", f"Basis of {p.cost}: {p.cost_basis}." + _credit_text(d, total)]
        lines += _rate_lines(d, total)
        top = _top_items(summary, d, prefix)
        if top and total:
            parts = ", ".join(f"{k} {usd(v)} ({pct(share_pct(v, total))})" for k, v in top)
            lines += ["", f"Largest {p.group}: {parts}."]
        for note in p.notes:
            lines += ["", f"_{note}_"]
        lines.append("")
    priced = [f for f in findings if f.monthly_savings_usd > 0]
    if priced:
        lines += [
            f"**{len(priced)} savings opportunit{'y' if len(priced) == 1 else 'ies'} worth about "
            f"{usd(sum(f.monthly_savings_usd for f in priced))} a month:**",
            "",
        ]
        lines += [f"- {f.title}: {usd(f.monthly_savings_usd)}/month" for f in priced]
    else:
        lines.append("No priced savings opportunity was found in the file's columns.")
    return "\n".join(lines + narrative_tail(summary, findings))


def _top_ten(column: str, cost: str, view: str) -> str:
    """The ten values of a (quoted) column with the largest total (quoted) cost."""
    return f"select {column}, sum({cost}) as {cost} from {view} group by 1 order by 2 desc limit 10"


def suggested_prompts(summary: FileReportSummary) -> list[SuggestedPrompt]:
    """Five follow-up questions, each with DuckDB SQL over the `results` views."""
    d = summary.datasets[0]
    p = d.profile
    view = d.view
    assert p.cost is not None
    c = quote_ident(p.cost)
    prompts: list[SuggestedPrompt] = []
    if p.group:
        g = quote_ident(p.group)
        prompts.append(
            SuggestedPrompt(
                text=f"Which {p.group} values cost the most?",
                sql=_top_ten(g, c, view),
            )
        )
    if p.date:
        dcol = quote_ident(p.date)
        prompts.append(
            SuggestedPrompt(
                text=f"How did {p.cost} move month by month?",
                sql=(
                    f"select date_trunc('month', cast({dcol} as timestamp)) as month, sum({c}) as {c} "
                    f"from {view} group by 1 order by 1"
                ),
            )
        )
    for tag in p.tags[:1]:
        t = quote_ident(tag)
        prompts.append(
            SuggestedPrompt(
                text=f"How much {p.cost} has no {tag}?",
                sql=(
                    f"select coalesce(nullif(cast({t} as varchar), ''), '(untagged)') as {t}, "
                    f"sum({c}) as {c} from {view} group by 1 order by 2 desc limit 10"
                ),
            )
        )
    top = _top_items(summary, d, "f1_" if summary.layout == "side_by_side" else "", 1)
    for other in [x for x in p.groups if x != p.group][:2]:
        o = quote_ident(other)
        if top and p.group:
            g = quote_ident(p.group)
            prompts.append(
                SuggestedPrompt(
                    text=f"Which {other} drive the cost of {top[0][0]}?",
                    sql=(
                        f"select {o}, sum({c}) as {c} from {view} where cast({g} as varchar) = "
                        f"'{top[0][0].replace(chr(39), chr(39) * 2)}' group by 1 order by 2 desc limit 10"
                    ),
                )
            )
        else:
            prompts.append(
                SuggestedPrompt(
                    text=f"What is the {p.cost} per {other}?",
                    sql=_top_ten(o, c, view),
                )
            )
    for ident in p.ids[:1]:
        i = quote_ident(ident)
        prompts.append(
            SuggestedPrompt(
                text=f"Which ten {ident} values cost the most?",
                sql=_top_ten(i, c, view),
            )
        )
    if p.date:
        # a file with only a date and a cost still gets five questions
        dcol = quote_ident(p.date)
        prompts.append(
            SuggestedPrompt(
                text=f"Which days had the largest {p.cost}?",
                sql=(
                    f"select cast({dcol} as date) as day, sum({c}) as {c} from {view} "
                    f"where {dcol} is not null group by 1 order by 2 desc limit 10"
                ),
            )
        )
    prompts += [
        SuggestedPrompt(
            text=f"Which rows have the largest {p.cost}?",
            sql=f"select * from {view} order by {c} desc nulls last limit 10",
        ),
        SuggestedPrompt(
            text=f"What are the average, median and largest {p.cost} per row?",
            sql=f"select avg({c}) as mean, median({c}) as median, max({c}) as largest from {view}",
        ),
        SuggestedPrompt(
            text="How many rows have an empty or zero cost?",
            sql=f"select count(*) as rows from {view} where coalesce({c}, 0) = 0",
        ),
    ]
    return list({x.text: x for x in prompts}.values())[:_PROMPTS]


class FileRuleInsights:
    """InsightProvider for analysed files: rules over the files' aggregates and signals."""

    name = "rules"

    def generate(self, summary: ReportSummary) -> Insights:
        """Findings, narrative and five prompts; stored-query reports go to the report rules."""
        if not isinstance(summary, FileReportSummary):
            return RuleInsights().generate(summary)
        findings = findings_for(summary)
        return Insights(
            provider=self.name,
            markdown=narrative(summary, findings),
            findings=findings,
            suggested_prompts=suggested_prompts(summary),
        )
