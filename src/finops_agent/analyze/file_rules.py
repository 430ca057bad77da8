"""Rule engine for analysed files: concentration, month-over-month movement, untagged share, gp2 and
previous-generation hints, the file's own savings column; with a narrative and five prompts."""

from __future__ import annotations

import pandas as pd

from finops_agent.analyze.analysis import OTHER_LABEL, FileReportSummary
from finops_agent.analyze.dataset import Dataset
from finops_agent.analyze.load import quote_ident
from finops_agent.analyze.profile import tokens
from finops_agent.catalog import CatalogError, FindingSpec, load_catalog
from finops_agent.formatting import change_pct, number, pct, share_pct, usd
from finops_agent.insights.base import Finding, Insights, SuggestedPrompt
from finops_agent.insights.query_rules import RuleInsights, narrative_tail
from finops_agent.summarise import ReportSummary

CONCENTRATION_SHARE = 50.0
MOVEMENT_PCT = 10.0
UNTAGGED_SHARE = 10.0
_DAYS_PER_MONTH = 365.25 / 12
_PROMPTS = 5


def _monthly(dataset: Dataset, amount: float) -> tuple[float, str]:
    """An amount from the file as a monthly figure, and how it was scaled."""
    days = dataset.days
    if days and days > 1:
        return amount / days * _DAYS_PER_MONTH, f"scaled from {days} day(s) of data to 30.44 days"
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
    if mom.empty or p.cost is None:
        return None
    previous = float(mom["previous_month"].sum())
    latest = float(mom["latest_month"].sum())
    prev_days = int(mom["previous_days"].max() or 0)
    latest_days = int(mom["latest_days"].max() or 0)
    note = ""
    if 1 < latest_days < prev_days:
        # a partial latest month: compare daily run rates, not totals
        previous, latest = previous / prev_days, latest / latest_days
        note = f" (daily run rate; the latest month has {latest_days} of {prev_days} days)"
    change = change_pct(latest, previous)
    if change is None or abs(change) < MOVEMENT_PCT:
        return None
    movers = mom.sort_values("change", key=lambda s: s.abs(), ascending=False).head(3)
    label = p.group or "label"
    parts = ", ".join(f"{r[label]} {usd(float(r['change']))}" for _, r in movers.iterrows())
    month = pd.Timestamp(mom["latest_start"].iloc[0]).strftime("%Y-%m")
    direction = "rose" if change > 0 else "fell"
    return Finding(
        id=f"{prefix}month_over_month",
        family=summary.queries[name].family,
        query=name,
        title=f"{p.cost} {direction} {pct(abs(change), 0)} in {month}",
        evidence=f"{usd(previous)} -> {usd(latest)}{note}; largest movements: {parts}.",
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
    meta, rate = _stored("gp2_volumes", "gp3_saving_share")
    monthly, scaled = _monthly(d, cost)
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
    meta, rate = _stored("previous_generation_instances", "saving_share")
    monthly, scaled = _monthly(d, cost)
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
    monthly = "monthly" in tokens(columns[0])
    amount, scaled = (total, "already monthly") if monthly else _monthly(d, total)
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
        period = f" from {d.date_range[0]} to {d.date_range[1]}" if d.date_range else ""
        lines.append(f"**{d.label}**: {p.rows:,} rows; total {p.cost} **{money}**{period}.")
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
                sql=f"select {g}, sum({c}) as {c} from {view} group by 1 order by 2 desc limit 10",
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
                    sql=f"select {o}, sum({c}) as {c} from {view} group by 1 order by 2 desc limit 10",
                )
            )
    for ident in p.ids[:1]:
        i = quote_ident(ident)
        prompts.append(
            SuggestedPrompt(
                text=f"Which ten {ident} values cost the most?",
                sql=f"select {i}, sum({c}) as {c} from {view} group by 1 order by 2 desc limit 10",
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
