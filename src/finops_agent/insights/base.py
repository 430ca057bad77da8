"""Finding and insight schema shared by every provider, and the provider protocol."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, Field

from finops_agent.catalog import Level

if TYPE_CHECKING:
    from finops_agent.summarise import ReportSummary

__all__ = [
    "Finding",
    "InsightProvider",
    "Insights",
    "Level",
    "ModelUsage",
    "SuggestedPrompt",
    "Ungrounded",
]


class Finding(BaseModel):
    """One actionable observation with the money it is worth."""

    id: str
    family: str
    query: str
    title: str
    evidence: str
    monthly_savings_usd: float = Field(ge=0)
    effort: Level = "medium"
    risk: Level = "low"
    action: str
    resource_ids: list[str] = Field(default_factory=list)
    reasoning: str = Field(default="", description="How the savings figure was computed")


class SuggestedPrompt(BaseModel):
    """A follow-up question offered with a report, answerable by a query or chat."""

    text: str
    query: str | None = None
    sql: str | None = None


class ModelUsage(BaseModel):
    """Token use, latency and cost of one model call."""

    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: float = 0.0
    cost_usd: float = 0.0


class Ungrounded(BaseModel):
    """A dollar amount or percentage in model text that no number in the data supports."""

    number: str
    sentence: str
    where: str = "narrative"


class Insights(BaseModel):
    """What a provider concluded: findings, narrative and follow-up prompts."""

    provider: str
    markdown: str
    findings: list[Finding] = Field(default_factory=list)
    suggested_prompts: list[SuggestedPrompt] = Field(default_factory=list)
    usage: ModelUsage | None = None
    structured: bool = True
    warnings: list[str] = Field(default_factory=list)
    ungrounded: list[Ungrounded] = Field(default_factory=list)

    @property
    def monthly_savings_usd(self) -> float:
        """Sum of the findings' monthly savings estimates."""
        return round(sum(f.monthly_savings_usd for f in self.findings), 2)


class InsightProvider(Protocol):
    """Turns a report's summaries into findings and a narrative."""

    name: str

    def generate(self, summary: ReportSummary) -> Insights:
        """Findings, narrative and suggested prompts for one report."""
        ...


def add_usage(first: ModelUsage | None, second: ModelUsage) -> ModelUsage:
    """Token counts, latency and cost of two calls to the same model added up."""
    if first is None:
        return second
    return ModelUsage(
        model=second.model,
        input_tokens=first.input_tokens + second.input_tokens,
        output_tokens=first.output_tokens + second.output_tokens,
        latency_ms=first.latency_ms + second.latency_ms,
        cost_usd=round(first.cost_usd + second.cost_usd, 6),
    )
