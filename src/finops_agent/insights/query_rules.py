"""Deterministic rule engine: findings with priced savings and a templated narrative."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from finops_agent.catalog import SAVINGS_COLUMN, FindingSpec, load_catalog
from finops_agent.formatting import money, money_unit, pct, share_pct
from finops_agent.insights.base import Finding, Insights, SuggestedPrompt
from finops_agent.summarise import QuerySummary, ReportSummary

_MAX_RESOURCES = 50
_MIN_MONTHLY_SAVINGS = 1.0


def _resource_ids(frame: pd.DataFrame) -> list[str]:
    if "resource_id" in frame.columns:
        ids = frame["resource_id"].dropna().astype(str)
    elif "resource_ids" in frame.columns:
        # a row per group (instance type, account, region) lists its resources joined by ', '
        ids = frame["resource_ids"].dropna().astype(str).str.split(", ").explode()
    else:
        return []
    return list(dict.fromkeys(ids[ids != ""]))[:_MAX_RESOURCES]


def _item_count(frame: pd.DataFrame, ids: list[str]) -> int:
    """How many things a finding is about: instances when rows are groups of them."""
    if "instances" in frame.columns:
        return int(pd.to_numeric(frame["instances"], errors="coerce").fillna(0).sum())
    return len(ids) or len(frame)


def _finding_spec(summary: QuerySummary) -> FindingSpec | None:
    spec = load_catalog().queries.get(summary.name)
    return spec.finding if spec is not None else None


def _currency_of(summary: QuerySummary) -> str:
    """The currency of a query's money columns (summaries carry the report's in their units)."""
    for unit in summary.units.values():
        parts = money_unit(unit)
        if parts is not None:
            return parts[0]
    return "USD"


def _savings_finding(summary: QuerySummary, frame: pd.DataFrame) -> Finding | None:
    meta = _finding_spec(summary)
    code = _currency_of(summary)
    if meta is None:
        return None
    savings = pd.to_numeric(frame[SAVINGS_COLUMN], errors="coerce").fillna(0.0).clip(lower=0)
    total = float(savings.sum())
    if total < _MIN_MONTHLY_SAVINGS:
        return None
    ranked = frame.assign(_s=savings).sort_values("_s", ascending=False)
    ids = _resource_ids(ranked)
    count = _item_count(frame, ids)
    top = ranked.iloc[0]
    top_label = str(top.get("resource_id") or top.iloc[0])
    evidence = (
        f"{len(frame)} row(s) in '{summary.title}'; largest: {top_label} at {money(float(top['_s']), code)}/month. "
        f"Total estimated saving {money(total, code)}/month."
    )
    return Finding(
        id=summary.name,
        family=summary.family,
        query=summary.name,
        title=meta.headline(count),
        evidence=evidence,
        monthly_savings_usd=round(total, 2),
        effort=meta.effort,
        risk=meta.risk,
        action=meta.action,
        resource_ids=ids,
        reasoning=(
            f"Sum of {SAVINGS_COLUMN} over {len(frame)} row(s) of {summary.name}. "
            f"Each row: {meta.assumption}."
        ),
    )


def _untagged_finding(summary: QuerySummary, frame: pd.DataFrame) -> Finding | None:
    meta = _finding_spec(summary)
    code = _currency_of(summary)
    untagged = float(pd.to_numeric(frame["untagged_cost"], errors="coerce").sum())
    total = float(pd.to_numeric(frame["total_cost"], errors="coerce").sum())
    if meta is None or untagged <= 0:
        return None
    top = frame.sort_values("untagged_cost", ascending=False).iloc[0]
    share = share_pct(untagged, total)
    of_total = f" ({pct(share)})" if share is not None else ""
    return Finding(
        id=summary.name,
        family=summary.family,
        query=summary.name,
        title=meta.headline(len(frame)),
        evidence=(
            f"{money(untagged, code)} of {money(total, code)} taggable spend{of_total} "
            f"in the groups listed has no owner tag; largest: {top['service_code']} in account "
            f"{top['account_name']} ({money(float(top['untagged_cost']), code)})."
        ),
        monthly_savings_usd=0.0,
        effort=meta.effort,
        risk=meta.risk,
        action=meta.action,
        resource_ids=[],
        reasoning=f"Allocation finding: {meta.assumption}.",
    )


# Queries whose rows need more than a sum of monthly_savings to become a finding.
ANOMALY_QUERY = "daily_anomalies"


def anomaly_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows a daily_anomalies result flags, largest excess first."""
    if frame.empty or "is_anomaly" not in frame.columns:
        return frame.iloc[0:0]
    flags = frame["is_anomaly"].astype("string").str.lower().isin(["true", "1"]).fillna(False)
    flagged = frame[flags.astype(bool)]
    if "excess_cost" in flagged.columns:
        excess = pd.to_numeric(flagged["excess_cost"], errors="coerce").fillna(0.0)
    else:
        cost = (
            flagged["usage_cost"]
            if "usage_cost" in flagged.columns
            else flagged.get("unblended_cost")
        )
        baseline = flagged.get("baseline_cost", 0.0)
        excess = pd.to_numeric(cost, errors="coerce").fillna(0.0) - pd.to_numeric(
            baseline, errors="coerce"
        )
        excess = excess.fillna(0.0)
    return (
        flagged.assign(_excess=excess)
        .sort_values("_excess", ascending=False)
        .drop(columns="_excess")
    )


def anomaly_findings(summary: ReportSummary) -> list[Finding]:
    """One finding per anomalous service-day: service, day, cost, baseline and excess in dollars."""
    query = summary.queries.get(ANOMALY_QUERY)
    if query is None or query.status != "ok":
        return []
    found = []
    code = summary.currency
    for row in anomaly_rows(summary.frame(ANOMALY_QUERY)).to_dict(orient="records"):
        day = str(pd.Timestamp(row["usage_date"]).date())
        service = str(row.get("service_name") or row.get("service_code") or "unknown service")
        cost_value = row.get("usage_cost", row.get("unblended_cost"))
        cost, baseline = float(cost_value or 0.0), float(row.get("baseline_cost") or 0.0)
        excess = float(row.get("excess_cost") or cost - baseline)
        z = row.get("z_score")
        spread = (
            f"z-score {float(z):.1f}"
            if z is not None and pd.notna(z)
            else "a jump off a flat baseline"
        )
        found.append(
            Finding(
                id=f"{ANOMALY_QUERY}:{row.get('service_code', service)}:{day}",
                family=query.family,
                query=ANOMALY_QUERY,
                title=f"Cost anomaly: {service} on {day}, {money(excess, code)} above baseline",
                evidence=(
                    f"{service} cost {money(cost, code)} on {day} against a trailing 14-day "
                    f"baseline of {money(baseline, code)} a day: {money(excess, code)} excess "
                    f"({spread}, severity "
                    f"{row.get('severity') or 'n/a'}; usage before credits)."
                ),
                monthly_savings_usd=0.0,
                effort="low",
                risk="low",
                action=(
                    "Find what changed that day (deployments, traffic, a runaway job) in the "
                    "service's usage types and resources; stop it if unintended and set an AWS "
                    "Cost Anomaly Detection monitor or budget alert on the service."
                ),
                reasoning="Anomaly: the excess over the trailing baseline, not a priced saving.",
            )
        )
    return found


SPECIAL_RULES: dict[str, Callable[[QuerySummary, pd.DataFrame], Finding | None]] = {
    "untagged_spend": _untagged_finding,
}


def findings_for(summary: ReportSummary) -> list[Finding]:
    """One finding per finding-producing query that found money (or unowned spend)."""
    found: list[Finding] = []
    for name, query in summary.queries.items():
        frame = summary.frame(name)
        if query.status != "ok" or frame.empty or not query.finding:
            continue
        if name in SPECIAL_RULES:
            finding = SPECIAL_RULES[name](query, frame)
        elif SAVINGS_COLUMN in frame.columns:
            finding = _savings_finding(query, frame)
        else:
            finding = None
        if finding is not None:
            found.append(finding)
    return sorted(found, key=lambda f: f.monthly_savings_usd, reverse=True) + anomaly_findings(
        summary
    )


def usage_by_service(summary: ReportSummary) -> tuple[pd.Series, str]:
    """Positive cost per service, largest first, and its basis: usage before credits when the
    result has it, else net cost (results written before usage_cost existed)."""
    daily = summary.frame("spend_by_service_daily")
    if daily.empty:
        return pd.Series(dtype=float), "usage before credits"
    usage = "usage_cost" in daily.columns
    values = pd.to_numeric(daily["usage_cost" if usage else "unblended_cost"], errors="coerce")
    by_service = values.fillna(0.0).groupby(daily["service_name"].astype(str)).sum()
    ranked = by_service[by_service > 0].sort_values(ascending=False)
    return ranked, "usage before credits" if usage else "net cost"


def _top_services(summary: ReportSummary, n: int = 3) -> list[tuple[str, float]]:
    return [(str(k), float(v)) for k, v in usage_by_service(summary)[0].head(n).items()]


def _bill_sentence(summary: ReportSummary) -> list[str]:
    """What moved the bill from usage to net: credits, refunds, discounts, purchases, tax."""
    bill = summary.waterfall
    if bill is None:
        return []
    parts = [
        f"{label.lower()} {money(bill.amount(key), bill.currency)}"
        for key, label in (
            ("credits", "Credits"),
            ("refunds", "Refunds"),
            ("discounts", "Discounts"),
            ("upfront_purchases", "Upfront purchases"),
            ("tax", "Tax"),
        )
        if abs(bill.amount(key)) >= 0.005
    ]
    moved = f"; {', '.join(parts)}" if parts else ""
    return [
        "",
        f"Usage before credits came to **{money(bill.usage_total, bill.currency)}**{moved}; "
        f"the net bill is **{money(bill.net_total, bill.currency)}** "
        "(see the waterfall at the top).",
    ]


def _share_note(part: float, whole: float) -> str:
    """` (12.5%)` when `part` is a share of `whole`; nothing against a total near zero."""
    share = share_pct(part, whole)
    return f" ({pct(share)})" if share is not None else ""


def narrative(summary: ReportSummary, findings: list[Finding]) -> str:
    """Executive summary in markdown built from the report's own numbers."""
    m = summary.metrics
    code = summary.currency
    lines = [
        "## Executive summary",
        "",
        f"Over {summary.window.label}, {m.accounts} account(s) were billed "
        f"**{money(m.unblended_cost, code)}** net (**{money(m.amortized_cost, code)}** amortised) "
        "across "
        f"{m.services} services in {m.rows:,} line items.",
    ]
    lines += _bill_sentence(summary)
    lines += _anomaly_lines(findings)
    ranked, basis = usage_by_service(summary)
    top = _top_services(summary)
    if top:
        total = float(ranked.sum())
        parts = ", ".join(
            f"{name} {money(cost, code)}{_share_note(cost, total)}" for name, cost in top
        )
        lines += ["", f"The largest services by {basis} were {parts}."]
    savings = sum(f.monthly_savings_usd for f in findings)
    priced = [f for f in findings if f.monthly_savings_usd > 0]
    if priced:
        noun = "opportunity" if len(priced) == 1 else "opportunities"
        lines += [
            "",
            f"**{len(priced)} savings {noun} worth about {money(savings, code)} a month** found:",
            "",
        ]
        lines += [
            f"- {f.title}: {money(f.monthly_savings_usd, code)}/month "
            f"({f.effort} effort, {f.risk} risk)"
            for f in priced
        ]
    else:
        lines += [
            "",
            f"No savings opportunity above {money(_MIN_MONTHLY_SAVINGS, code)}/month was found "
            "by the queries that ran.",
        ]
    return "\n".join(lines + narrative_tail(summary, findings))


def _anomaly_lines(findings: list[Finding]) -> list[str]:
    anomalies = [f for f in findings if f.query == ANOMALY_QUERY]
    if not anomalies:
        return []
    noun = "anomaly" if len(anomalies) == 1 else "anomalies"
    return ["", f"**{len(anomalies)} cost {noun}** in daily usage:", ""] + [
        f"- {f.evidence}" for f in anomalies
    ]


def narrative_tail(summary: ReportSummary, findings: list[Finding]) -> list[str]:
    """Closing lines of a narrative: unpriced findings in full, then the sections that failed."""
    lines: list[str] = []
    for f in findings:
        if f.monthly_savings_usd == 0 and f.query != ANOMALY_QUERY:
            lines += ["", f"**{f.title}.** {f.evidence}"]
    failed = [q.title for q in summary.queries.values() if q.status != "ok"]
    if failed:
        lines += ["", f"_{len(failed)} section(s) could not be computed: {', '.join(failed)}._"]
    return lines


_FINDING_PROMPTS = 2


def suggested_prompts(
    summary: ReportSummary, findings: list[Finding], n: int = 5
) -> list[SuggestedPrompt]:
    """Follow-up questions from this report's findings and data, each mapped to a query or SQL.

    The two largest findings come first, then the catalog's follow-up questions by rank (only
    for queries that ran and returned rows), then SQL over `cost` so that every report offers n.
    """
    prompts = [
        SuggestedPrompt(text=f"Which resources are behind '{f.title}'?", query=f.query)
        for f in findings[:_FINDING_PROMPTS]
    ]
    top = _top_services(summary, 1)
    top_service = top[0][0] if top else "the top service"
    follow_ups = sorted(
        (spec.follow_up.rank, name, spec.follow_up.text(top_service))
        for name, spec in load_catalog().queries.items()
        if spec.follow_up is not None
    )
    candidates = [(name, text) for _, name, text in follow_ups]
    used = {p.query for p in prompts}
    for query, text in candidates:
        q = summary.queries.get(query)
        if q is not None and q.status == "ok" and q.rows > 0 and query not in used:
            prompts.append(SuggestedPrompt(text=text, query=query))
            used.add(query)
    # questions answered by SQL over `cost` keep every report at n prompts
    prompts += [SuggestedPrompt(text=text, sql=sql) for text, sql in _SQL_PROMPTS]
    unique = list({p.text: p for p in prompts}.values())
    return unique[:n]


# Follow-up questions any report can answer from the canonical `cost` relation alone.
_SQL_PROMPTS: tuple[tuple[str, str], ...] = (
    (
        "Which ten resources cost the most?",
        "select resource_id, service_code, sum(unblended_cost) as unblended_cost from cost "
        "where resource_id is not null group by resource_id, service_code "
        "order by unblended_cost desc limit 10",
    ),
    (
        "How is spend split by purchase option?",
        "select purchase_option, sum(unblended_cost) as unblended_cost, "
        "sum(amortized_cost) as amortized_cost from cost group by purchase_option "
        "order by unblended_cost desc limit 20",
    ),
    (
        "Which regions cost the most?",
        "select region, sum(unblended_cost) as unblended_cost from cost group by region "
        "order by unblended_cost desc limit 20",
    ),
    (
        "Which usage types drive the most spend?",
        "select service_code, usage_type, sum(unblended_cost) as unblended_cost from cost "
        "group by service_code, usage_type order by unblended_cost desc limit 20",
    ),
    (
        "How much did each account spend per service?",
        "select account_name, service_code, sum(unblended_cost) as unblended_cost from cost "
        "group by account_name, service_code order by unblended_cost desc limit 50",
    ),
)


class RuleInsights:
    """InsightProvider that needs no model: rules over the stored queries' results."""

    name = "rules"

    def generate(self, summary: ReportSummary) -> Insights:
        """Findings, narrative and suggested prompts from the report's numbers alone."""
        findings = findings_for(summary)
        return Insights(
            provider=self.name,
            markdown=narrative(summary, findings),
            findings=findings,
            suggested_prompts=suggested_prompts(summary, findings),
        )
