"""Prompts for insights and chat: a system role, compact JSON context, and a token budget kept."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from finops_agent.catalog import load_catalog
from finops_agent.errors import UserError
from finops_agent.summarise import ReportSummary

__all__ = [
    "CHARS_PER_TOKEN",
    "Prompt",
    "PromptTooLargeError",
    "estimate_tokens",
    "insight_prompt",
]

# Token estimate: ~4 characters per token for English and JSON with Claude's tokenizer.
CHARS_PER_TOKEN: int = 4
_ROW_STEPS: tuple[int, ...] = (10, 5, 3, 1, 0)
_TEXT_STEPS: tuple[int, ...] = (200, 80, 40)
_NAMES_SHOWN = 20

SYSTEM_ROLE = (
    "You are the FinOps analyst for this organisation. You read summaries of its cloud cost and "
    "usage data (AWS, and any other provider the data names) and tell engineering and finance what the spend is, what changed, and what to do "
    "about it, in order of money saved. You are precise: every dollar amount and percentage you "
    "write must appear in the data you are given (or be a share of a total in it, or twelve times "
    "a monthly figure); figures that cannot be found in the data are flagged to the reader. "
    "Never invent resources, accounts or prices."
)

INSIGHT_CONTRACT = """Reply with ONE JSON object and nothing else, in this shape:
{
  "narrative": "markdown: an executive summary (## headings, short paragraphs, bullet lists)",
  "findings": [
    {"title": "short imperative title", "query": "name of the query in the context it comes from",
     "evidence": "the numbers from the context that show it", "monthly_savings_usd": 123.45,
     "effort": "low|medium|high", "risk": "low|medium|high", "action": "what to do",
     "resource_ids": ["ids from the context"], "reasoning": "how the savings figure was computed"}
  ],
  "suggested_prompts": [
    {"text": "a follow-up question about this data", "query": "query name or null"}
  ]
}
Give findings only for queries in the context, at most one per query, biggest saving first; use
0 for monthly_savings_usd when the finding saves nothing directly (e.g. tagging). A query that can
produce a finding carries its savings_method, effort, risk and action: keep them unless the data
shows otherwise. Suggest five
follow-up questions a FinOps practitioner would ask next. Every amount in the context (keys
ending in _usd included) is in the context's `currency`: write amounts in that currency (€ for
EUR), never converted and never added to another currency's."""


class PromptTooLargeError(UserError, ValueError):
    """Even the smallest context does not fit the prompt token budget."""


@dataclass
class Prompt:
    """A prompt ready to send, with the context it carries and what was cut to fit."""

    system: str
    user: str
    context: Any
    cuts: list[str] = field(default_factory=list)

    @property
    def tokens(self) -> int:
        """Estimated input tokens of system + user text."""
        return estimate_tokens(self.system) + estimate_tokens(self.user)


def estimate_tokens(text: str) -> int:
    """Token estimate at CHARS_PER_TOKEN characters per token (rounded up)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def compact_json(value: Any) -> str:
    """JSON without whitespace: the densest form a model reads reliably."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def shorten_text(value: Any, limit: int) -> tuple[Any, bool]:
    """Strings in a JSON-ready value cut to `limit` characters; second item says if any were."""
    if isinstance(value, str):
        return (value[: limit - 1] + "…", True) if len(value) > limit else (value, False)
    if isinstance(value, dict):
        pairs = [(k, shorten_text(v, limit)) for k, v in value.items()]
        return {k: v for k, (v, _) in pairs}, any(cut for _, (_, cut) in pairs)
    if isinstance(value, list):
        items = [shorten_text(v, limit) for v in value]
        return [v for v, _ in items], any(cut for _, cut in items)
    return value, False


def fit(
    build: Callable[[int, int, int], Prompt],
    budget: int,
    *,
    max_rows: int,
    droppable: int = 0,
) -> Prompt:
    """The first prompt from `build(rows, text_limit, dropped)` that fits the budget.

    Shrinks in order: length of text values, then rows per table (text shortened again at
    each row count), then drops sections (the fewest that fit, found by bisection; build
    decides which go first). Raises
    PromptTooLargeError naming the budget when even the smallest prompt does not fit.
    """
    rows_steps = [max_rows, *(r for r in _ROW_STEPS if r < max_rows)]
    for rows in rows_steps:
        for limit in _TEXT_STEPS:
            prompt = build(rows, limit, 0)
            if prompt.tokens <= budget:
                return prompt
    rows, limit = rows_steps[-1], _TEXT_STEPS[-1]
    smallest = build(rows, limit, droppable)
    if smallest.tokens > budget:
        raise PromptTooLargeError(
            f"prompt needs about {smallest.tokens} tokens even with every cut; raise "
            f"FINOPS_PROMPT_TOKEN_BUDGET (now {budget})"
        )
    low, high = 0, droppable  # build(low) does not fit, build(high) fits
    best = smallest
    while high - low > 1:
        middle = (low + high) // 2
        candidate = build(rows, limit, middle)
        if candidate.tokens <= budget:
            high, best = middle, candidate
        else:
            low = middle
    return best


def cuts_note(cuts: Sequence[str]) -> str:
    """The sentence that tells the model what it is not seeing."""
    if not cuts:
        return "Nothing was cut from the context."
    return "To fit the prompt budget the context was cut: " + "; ".join(cuts) + "."


def _drop_order(summary: ReportSummary) -> list[str]:
    # least useful first: failed queries, then plain breakdowns by size, finding queries last
    def rank(name: str) -> tuple[int, int]:
        q = summary.queries[name]
        return (0 if q.status != "ok" else 2 if q.finding else 1, -q.rows)

    return sorted((n for n in summary.queries if n != "window_totals"), key=rank)


def _finding_guides(summary: ReportSummary) -> dict[str, dict[str, str]]:
    """The catalog's finding metadata for each finding query of the report, for the model."""
    catalog = load_catalog()
    return {
        name: {
            "savings_method": meta.assumption,
            "effort": meta.effort,
            "risk": meta.risk,
            "action": meta.action,
        }
        for name in summary.queries
        if (spec := catalog.queries.get(name)) is not None and (meta := spec.finding) is not None
    }


def insight_prompt(summary: ReportSummary, budget: int, max_rows: int = 10) -> Prompt:
    """The insight prompt for a report, shrunk until it fits `budget` tokens."""
    order = _drop_order(summary)

    guides = _finding_guides(summary)

    def build(rows: int, limit: int, dropped: int) -> Prompt:
        context = summary.context(rows)
        for name, guide in guides.items():
            context["queries"][name].update(guide)
        cuts: list[str] = []
        if rows < max_rows:
            cuts.append(f"each query shows its top {rows} row(s) only (of up to {max_rows})")
        gone = order[:dropped]
        if gone:
            for name in gone:
                context["queries"].pop(name, None)
            shown = ", ".join(gone[:_NAMES_SHOWN]) + (" …" if len(gone) > _NAMES_SHOWN else "")
            cuts.append(f"{len(gone)} quer{'y' if len(gone) == 1 else 'ies'} omitted: {shown}")
        context, shortened = shorten_text(context, limit)
        if shortened:
            cuts.append(f"text values shortened to {limit} characters")
        user = "\n\n".join(
            [
                f"Analysis type: {summary.metrics.analysis_type}. Billing window "
                f"{summary.window.label} (end inclusive). All amounts are USD.",
                cuts_note(cuts),
                "Context (JSON; each query has its question, columns, total and top rows ranked "
                "by savings or cost):",
                compact_json(context),
                "Task: write the findings and an executive summary for this report.",
                INSIGHT_CONTRACT,
            ]
        )
        return Prompt(SYSTEM_ROLE, user, context, cuts)

    return fit(build, budget, max_rows=max_rows, droppable=len(order))
