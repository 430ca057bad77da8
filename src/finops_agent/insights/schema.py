"""The JSON contract a model's insight reply must meet, and its parsing with readable errors."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from finops_agent.insights.base import Level

__all__ = [
    "ContractError",
    "ModelFinding",
    "ModelOutput",
    "ModelPrompt",
    "parse_json_object",
    "parse_output",
    "validation_message",
]

_FENCE = re.compile(r"^\s*```(?:json)?\s*|\s*```\s*$", re.IGNORECASE)
_MAX_ERRORS = 8


class ContractError(ValueError):
    """A model reply that is not the JSON object the prompt asked for; the message says why."""


class ModelFinding(BaseModel):
    """A finding as the model writes it (family and id are filled in from the report)."""

    model_config = ConfigDict(extra="ignore")

    title: str = Field(min_length=1, max_length=300)
    query: str = Field(min_length=1)
    evidence: str = Field(min_length=1)
    monthly_savings_usd: float = Field(ge=0)
    effort: Level = "medium"
    risk: Level = "low"
    action: str = Field(min_length=1)
    resource_ids: list[str] = Field(default_factory=list, max_length=200)
    reasoning: str = ""

    @field_validator("effort", "risk", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value


class ModelPrompt(BaseModel):
    """A follow-up question the model suggests, optionally naming the stored query behind it."""

    model_config = ConfigDict(extra="ignore")

    text: str = Field(min_length=1, max_length=300)
    query: str | None = None


class ModelOutput(BaseModel):
    """The whole insight reply: narrative markdown, findings and suggested prompts."""

    model_config = ConfigDict(extra="ignore")

    narrative: str = Field(min_length=1)
    findings: list[ModelFinding] = Field(default_factory=list)
    suggested_prompts: list[ModelPrompt] = Field(default_factory=list)


def parse_json_object(text: str) -> dict[str, Any]:
    """The JSON object in a reply (code fences and prose around it allowed); ContractError if none."""
    body = _FENCE.sub("", text.strip())
    start, end = body.find("{"), body.rfind("}")
    if start < 0 or end <= start:
        raise ContractError("the reply holds no JSON object (expected one starting with '{')")
    try:
        value = json.loads(body[start : end + 1])
    except json.JSONDecodeError as exc:
        raise ContractError(
            f"the reply is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    if not isinstance(value, dict):
        raise ContractError("the reply's JSON is not an object")
    return value


def validation_message(exc: ValidationError) -> str:
    """A pydantic error as short lines `field.path: problem` a model can act on."""
    lines = [
        f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
        for err in exc.errors()[:_MAX_ERRORS]
    ]
    more = exc.error_count() - len(lines)
    return "; ".join(lines) + (f"; and {more} more" if more > 0 else "")


def parse_output(text: str, known_queries: set[str]) -> ModelOutput:
    """Validate a reply against the contract; findings must name a query of this report."""
    data = parse_json_object(text)
    try:
        output = ModelOutput.model_validate(data)
    except ValidationError as exc:
        raise ContractError(validation_message(exc)) from None
    unknown = [
        f"findings.{i}.query: {f.query!r} is not one of this report's queries"
        for i, f in enumerate(output.findings)
        if f.query not in known_queries
    ]
    if unknown:
        raise ContractError("; ".join(unknown) + f" (choose from {sorted(known_queries)})")
    return output
