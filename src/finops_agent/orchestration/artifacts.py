"""Prefect artifacts of a report run: a markdown summary, a findings table and the report link."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from finops_agent.formatting import money, signed_pct
from finops_agent.insights.base import Insights
from finops_agent.insights.query_rules import ANOMALY_QUERY
from finops_agent.summarise import ReportSummary

log = logging.getLogger(__name__)
SUMMARY_KEY = "finops-report-summary"
FINDINGS_KEY = "finops-report-findings"
LINK_KEY = "finops-report-link"
TOP_FINDINGS = 5


# markdown that could open a link, an image, code or emphasis, plus table pipes (intraword
# underscores, as in query names, are left alone: they cannot open anything)
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*\[\]!|~])")


def _cell(value: object) -> str:
    """Text that stays text in markdown (a table cell too): no links, images or raw HTML.

    Tag values, resource ids, file names and model output reach this summary; in the Prefect
    UI a `[link](javascript:…)` or `![](https://tracker/…)` would otherwise become live.
    """
    text = " ".join(str(value).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)


def report_link(path: Path, served: str | None = None) -> str:
    """A URL for the report: its page on the portal when one is configured, else file://."""
    return served or path.resolve().as_uri()


def _coverage_note(summary: ReportSummary) -> str:
    coverage = summary.coverage
    return f" (data covers {coverage})" if coverage else ""


def summary_markdown(
    summary: ReportSummary, insights: Insights, report: Path, served: str | None = None
) -> str:
    """Total, change against the previous period, top findings and failed sections, as markdown."""
    m = summary.metrics
    change = (
        "n/a (no previous period in the data)" if m.change_pct is None else signed_pct(m.change_pct)
    )
    lines = [
        f"# FinOps report {summary.report_id}",
        "",
        f"**Period:** {summary.window.period}{_coverage_note(summary)} · "
        f"**Families:** {m.analysis_type} · "
        f"**Source:** {_cell(summary.source)} ({summary.schema}, {summary.engine}) · "
        f"**Currency:** {summary.currency}",
        "",
        "| Metric | Value |",
        "|---|---|",
        f"| Net cost | {money(m.unblended_cost, summary.currency)} |",
        f"| Amortised cost | {money(m.amortized_cost, summary.currency)} |",
        f"| Change of daily run rate vs previous period | {change} |",
        f"| Line items | {m.rows:,} |",
        f"| Findings | {len(insights.findings)} worth "
        f"{money(insights.monthly_savings_usd, summary.currency)}/month |",
        "",
    ]
    if len(summary.providers) > 1 or summary.other_providers:
        lines += [f"## Net cost by provider ({summary.currency})", ""]
        lines += ["| Provider | Net cost | Line items |", "|---|---|---|"]
        lines += [
            f"| {_cell(p.name)} | {money(p.unblended_cost, summary.currency)} | {p.rows:,} |"
            for p in summary.providers
        ]
        lines.append("")
    if summary.other_currencies:
        lines += [
            f"## Other billing currencies (not in these {summary.currency} figures)",
            "",
        ]
        lines += [
            f"- **{c.name}**: net {money(c.unblended_cost, c.name)} over {c.rows:,} line items: "
            f"`{summary.currency_command(c.name)}`"
            for c in summary.other_currencies
        ]
        lines.append("")
    bill = summary.waterfall
    if bill is not None:
        lines += [
            f"## The bill, from usage to net ({bill.currency})",
            "",
            "| Line | Amount |",
            "|---|---|",
        ]
        lines += [f"| {_cell(x.label)} | {money(x.amount, bill.currency)} |" for x in bill.shown()]
        lines += [
            f"| **Net total** | **{money(bill.net_total, bill.currency)}** |",
            f"| Amortised total | {money(bill.amortized_total, bill.currency)} |",
            "",
        ]
    anomalies = [f for f in insights.findings if f.query == ANOMALY_QUERY]
    if anomalies:
        lines += ["## Anomalies", ""]
        lines += [f"- **{_cell(f.title)}**: {_cell(f.evidence)}" for f in anomalies]
        lines.append("")
    top = sorted(
        (f for f in insights.findings if f.query != ANOMALY_QUERY),
        key=lambda f: f.monthly_savings_usd,
        reverse=True,
    )
    if top:
        lines += ["## Top findings", ""]
        for finding in top[:TOP_FINDINGS]:
            lines.append(
                f"- **{_cell(finding.title)}**: "
                f"{money(finding.monthly_savings_usd, summary.currency)}/month. "
                f"{_cell(finding.action)}"
            )
        lines.append("")
    failed = [q for q in summary.queries.values() if q.status != "ok"]
    if failed:
        lines += ["## Failed sections", ""]
        lines += [f"- `{q.name}`: {_cell(q.error or 'failed')}" for q in failed]
        lines.append("")
    for warning in insights.warnings:
        lines.append(f"> {_cell(warning)}")
    lines += ["", f"[Open the report]({report_link(report, served)})"]
    return "\n".join(lines).rstrip() + "\n"


def findings_table(insights: Insights) -> list[dict[str, Any]]:
    """One row per finding, largest savings first, for a Prefect table artifact."""
    ranked = sorted(insights.findings, key=lambda f: f.monthly_savings_usd, reverse=True)
    return [
        {
            "finding": f.title,
            "query": f.query,
            "monthly_savings_usd": round(f.monthly_savings_usd, 2),
            "effort": f.effort,
            "risk": f.risk,
            "action": f.action,
        }
        for f in ranked
    ]


def _attempt(what: str, create: Callable[[], object]) -> str | None:
    try:
        create()
    except Exception as exc:  # an API hiccup must not cost the finished report
        log.warning("could not create the %s artifact: %s", what, exc)
        return f"{what} artifact not created: {exc}"
    return None


def publish_report_artifacts(
    summary: ReportSummary, insights: Insights, report: Path, served: str | None = None
) -> list[str]:
    """Create the three artifacts on the current run (linking `served` if given); return warnings."""
    from prefect.artifacts import (
        create_link_artifact,
        create_markdown_artifact,
        create_table_artifact,
    )

    from finops_agent.settings import load_settings

    if served is None:
        # a run under `finops serve` gets FINOPS_PUBLIC_URL from the launcher
        served = load_settings().served_report_url(summary.report_id)
    # the findings table's monthly_savings_usd column holds amounts in the report's currency
    description = f"{summary.metrics.analysis_type} · {summary.window.period} · {summary.currency}"
    rows = findings_table(insights) or [{"finding": "no findings", "monthly_savings_usd": 0.0}]
    attempts = [
        (
            "summary",
            lambda: create_markdown_artifact(
                summary_markdown(summary, insights, report, served),
                key=SUMMARY_KEY,
                description=description,
            ),
        ),
        (
            "findings",
            lambda: create_table_artifact(rows, key=FINDINGS_KEY, description=description),
        ),
        (
            "link",
            lambda: create_link_artifact(
                report_link(report, served),
                link_text=f"Report {summary.report_id}",
                key=LINK_KEY,
                description=description,
            ),
        ),
    ]
    return [w for w in (_attempt(what, create) for what, create in attempts) if w]
