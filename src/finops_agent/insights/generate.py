"""Ask the configured insight provider, falling back to the rule engine when it fails."""

from __future__ import annotations

import logging

from finops_agent.insights.base import InsightProvider, Insights
from finops_agent.insights.query_rules import RuleInsights, anomaly_findings
from finops_agent.summarise import ReportSummary

log = logging.getLogger(__name__)


def generate_insights(
    provider: InsightProvider, summary: ReportSummary, fallback: InsightProvider | None = None
) -> Insights:
    """Ask the provider; if it fails, fall back to the rule engine with a banner saying why."""
    fallback = fallback or RuleInsights()
    try:
        insights = provider.generate(summary)
    except Exception as exc:  # a model outage must not cost the report
        if type(provider) is type(fallback):
            raise
        log.warning("insight provider %s failed: %s", provider.name, exc)
        insights = fallback.generate(summary)
        insights.warnings.append(
            f"{provider.name} insights failed ({exc}); showing rule-based findings instead."
        )
    # anomalies are findings whoever wrote the narrative: a model may leave them out
    known = {f.id for f in insights.findings}
    insights.findings += [f for f in anomaly_findings(summary) if f.id not in known]
    summary.metrics.findings = len(insights.findings)
    summary.metrics.monthly_savings_usd = insights.monthly_savings_usd
    return insights
