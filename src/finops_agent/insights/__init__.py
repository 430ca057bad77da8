"""Insight providers: the rule engine and Bedrock, behind one protocol."""

from finops_agent.insights.base import (
    Finding,
    InsightProvider,
    Insights,
    ModelUsage,
    SuggestedPrompt,
)

__all__ = ["Finding", "InsightProvider", "Insights", "ModelUsage", "SuggestedPrompt"]
