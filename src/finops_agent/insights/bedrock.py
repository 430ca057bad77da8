"""Amazon Bedrock (Converse API): insights validated against a JSON contract, figures grounded."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from finops_agent.catalog import load_catalog
from finops_agent.formatting import money
from finops_agent.insights.base import (
    Finding,
    Insights,
    ModelUsage,
    SuggestedPrompt,
    Ungrounded,
    add_usage,
)
from finops_agent.insights.grounding import Evidence, check_text
from finops_agent.insights.prompts import insight_prompt
from finops_agent.insights.query_rules import RuleInsights, suggested_prompts
from finops_agent.insights.schema import ContractError, ModelOutput, parse_json_object, parse_output
from finops_agent.settings import ModelPrice, Settings
from finops_agent.summarise import ReportSummary

__all__ = ["BedrockClient", "BedrockError", "BedrockInsights", "Reply", "price_for"]

log = logging.getLogger(__name__)

_RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "TooManyRequestsException",
        "ServiceUnavailableException",
        "InternalServerException",
        "ModelNotReadyException",
        "ModelTimeoutException",
    }
)
_NETWORK_ERRORS = (
    ReadTimeoutError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ConnectionClosedError,
)
_BASE_DELAY_S: float = 1.0
_MAX_DELAY_S: float = 20.0
_PROMPTS_PER_REPORT = 5

Message = dict[str, Any]


class BedrockError(RuntimeError):
    """A Converse call failed for good; the message names the model and the reason."""


@dataclass
class Reply:
    """The text of one model answer and what it cost."""

    text: str
    usage: ModelUsage
    stop_reason: str = ""


def price_for(model_id: str, prices: Mapping[str, ModelPrice]) -> ModelPrice | None:
    """The price whose key is the model id or the longest key contained in it."""
    if model_id in prices:
        return prices[model_id]
    keys = [k for k in prices if k in model_id]
    return prices[max(keys, key=len)] if keys else None


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, _NETWORK_ERRORS):
        return True
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        return code in _RETRYABLE_CODES or status >= 500
    return False


class BedrockClient:
    """Converse calls with token accounting and bounded, jittered backoff on transient errors."""

    def __init__(
        self,
        client: Any | Callable[[], Any],
        model_id: str,
        *,
        temperature: float = 0.7,
        max_tokens: int = 4096,
        prices: Mapping[str, ModelPrice] | None = None,
        max_attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        # a factory defers boto3 set-up (profiles, regions) to the first call, where its
        # errors reach the provider's fallback instead of breaking the flow's wiring
        self._client = client
        self.model_id = model_id
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.price = price_for(model_id, prices or {})
        if self.price is None:
            log.warning(
                "no price for %s in FINOPS_BEDROCK_PRICES; its cost is logged as 0", model_id
            )
        self.max_attempts = max(1, max_attempts)
        self._sleep = sleep

    @classmethod
    def from_settings(cls, settings: Settings) -> BedrockClient:
        """A client for the configured model, region and (optionally) endpoint."""
        config = Config(
            # adaptive mode brings client-side rate limiting; our own loop below bounds the total
            retries={"mode": "adaptive", "max_attempts": 2},
            read_timeout=settings.bedrock_timeout_s,
            connect_timeout=10,
        )

        def client() -> Any:
            session = boto3.Session(profile_name=settings.aws_profile)
            return session.client(
                "bedrock-runtime",
                region_name=settings.bedrock_region or settings.aws_region,
                endpoint_url=settings.bedrock_endpoint_url,
                config=config,
            )

        return cls(
            client,
            settings.bedrock_model_id,
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
            prices=settings.bedrock_prices,
            max_attempts=settings.bedrock_max_attempts,
        )

    @property
    def client(self) -> Any:
        """The boto3 bedrock-runtime client, created on first use."""
        if not hasattr(self._client, "converse"):
            try:
                self._client = self._client()
            except BotoCoreError as exc:
                raise BedrockError(f"cannot set up Bedrock for {self.model_id}: {exc}") from exc
        return self._client

    def _usage(self, response: Mapping[str, Any], latency_ms: float) -> ModelUsage:
        counts = response.get("usage", {})
        tokens_in, tokens_out = (
            int(counts.get("inputTokens", 0)),
            int(counts.get("outputTokens", 0)),
        )
        cost = 0.0
        if self.price is not None:
            cost = tokens_in / 1e6 * self.price.input + tokens_out / 1e6 * self.price.output
        return ModelUsage(
            model=self.model_id,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            latency_ms=round(latency_ms, 1),
            cost_usd=round(cost, 6),
        )

    def converse(self, system: str, messages: list[Message]) -> Reply:
        """One Converse call; retries throttling, 5xx and timeouts, then raises BedrockError."""
        request = {
            "modelId": self.model_id,
            "system": [{"text": system}],
            "messages": messages,
            "inferenceConfig": {"maxTokens": self.max_tokens, "temperature": self.temperature},
        }
        started = time.perf_counter()
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self.client.converse(**request)
                break
            except (ClientError, BotoCoreError) as exc:
                if not _retryable(exc) or attempt == self.max_attempts:
                    raise BedrockError(
                        f"Bedrock model {self.model_id} failed after {attempt} attempt(s): {exc}"
                    ) from exc
                delay = min(_MAX_DELAY_S, _BASE_DELAY_S * 2 ** (attempt - 1))
                log.warning(
                    "Bedrock %s: %s; retry %d in %.1f s", self.model_id, exc, attempt, delay
                )
                self._sleep(delay * (0.5 + random.random() / 2))
        latency_ms = (time.perf_counter() - started) * 1000
        blocks = response.get("output", {}).get("message", {}).get("content", [])
        text = "".join(block.get("text", "") for block in blocks)
        return Reply(text, self._usage(response, latency_ms), response.get("stopReason", ""))


def user(text: str) -> Message:
    """A user turn."""
    return {"role": "user", "content": [{"text": text}]}


def assistant(text: str) -> Message:
    """An assistant turn (the model's own earlier reply)."""
    return {"role": "assistant", "content": [{"text": text or "(empty reply)"}]}


def repair_request(error: str) -> str:
    """What to send back after a reply broke the contract."""
    return (
        f"Your reply did not match the required JSON contract: {error}. Reply again with only the "
        "corrected JSON object, no prose and no code fence."
    )


def salvage_narrative(text: str) -> str:
    """The narrative out of a reply that failed the contract: its `narrative` field, or the text."""
    try:
        value = parse_json_object(text).get("narrative")
    except ContractError:
        value = None
    return value if isinstance(value, str) and value.strip() else text.strip()


def _known_ids(summary: ReportSummary, query: str) -> set[str] | None:
    frame = summary.frame(query)
    if "resource_id" not in frame.columns:
        return None
    return set(frame["resource_id"].dropna().astype(str))


def _findings(output: ModelOutput, summary: ReportSummary, warnings: list[str]) -> list[Finding]:
    catalog = load_catalog()
    found = []
    for i, item in enumerate(output.findings, start=1):
        query = summary.queries[item.query]
        given = item.model_dump()
        meta = catalog.queries[item.query].finding if item.query in catalog.queries else None
        if meta is not None:
            # a level the model left out is the catalog's, not the schema's generic default
            given.update(
                {k: getattr(meta, k) for k in ("effort", "risk") if k not in item.model_fields_set}
            )
        finding = Finding(id=f"{item.query}-{i}", family=query.family, **given)
        known = _known_ids(summary, item.query)
        if known is not None:
            # resources the query did not return are the model's invention: drop and say so
            invented = [r for r in finding.resource_ids if r not in known]
            named = ", ".join(invented[:5]) + (" …" if len(invented) > 5 else "")
            if invented and len(invented) == len(finding.resource_ids):
                # nothing the finding is about exists in the data: the whole finding is invented
                warnings.append(
                    f"Finding '{finding.title}' was dropped: none of the resource(s) it names "
                    f"is in the {item.query} result ({named})"
                )
                continue
            if invented:
                finding.resource_ids = [r for r in finding.resource_ids if r in known]
                warnings.append(
                    f"Finding '{finding.title}' named {len(invented)} resource(s) not in the "
                    f"{item.query} result, removed: {named}"
                )
        found.append(finding)
    return sorted(found, key=lambda f: f.monthly_savings_usd, reverse=True)


def _prompts(
    output: ModelOutput, summary: ReportSummary, findings: list[Finding]
) -> list[SuggestedPrompt]:
    ran = {name for name, q in summary.queries.items() if q.status == "ok"}
    # a suggestion naming a query this report did not run becomes a plain chat question
    chosen = [
        SuggestedPrompt(text=p.text, query=p.query if p.query in ran else None)
        for p in output.suggested_prompts
    ]
    for extra in suggested_prompts(summary, findings, _PROMPTS_PER_REPORT):
        if len(chosen) >= _PROMPTS_PER_REPORT:
            break
        if extra.text not in {p.text for p in chosen}:
            chosen.append(extra)
    return chosen[:_PROMPTS_PER_REPORT]


def _ground(
    narrative: str,
    findings: list[Finding],
    evidence: Evidence,
    warnings: list[str],
    currency: str = "USD",
) -> tuple[list[Finding], list[Ungrounded]]:
    """The findings whose savings figure is in the data, and every figure the data lacks."""
    flagged = check_text(narrative, evidence)
    kept = []
    for f in findings:
        flagged += check_text(f.evidence, evidence, where=f"finding '{f.title}'")
        saving = money(f.monthly_savings_usd, currency)
        wrong = []
        if f.monthly_savings_usd > 0:
            wrong = check_text(
                saving + " a month", evidence, where=f"savings of finding '{f.title}'"
            )
        if wrong:
            # an unsupported savings figure would rank the finding and inflate the report's
            # total savings: it is left out, and the figure stays listed for the reader
            flagged += wrong
            warnings.append(
                f"Finding '{f.title}' was dropped: its savings of {saving} a month is not "
                f"a figure in the {f.query} data"
            )
            continue
        kept.append(f)
    return kept, flagged


class BedrockInsights:
    """InsightProvider on Bedrock: compact context in, validated and grounded findings out."""

    name = "bedrock"

    def __init__(self, client: BedrockClient, *, token_budget: int = 8000, top_n: int = 10) -> None:
        self.client = client
        self.token_budget = token_budget
        self.top_n = top_n

    @classmethod
    def from_settings(cls, settings: Settings) -> BedrockInsights:
        """The provider for the configured model with the configured prompt budget."""
        return cls(
            BedrockClient.from_settings(settings),
            token_budget=settings.prompt_token_budget,
            top_n=settings.top_n,
        )

    def generate(self, summary: ReportSummary) -> Insights:
        """Ask the model once (plus one repair); raise BedrockError when Bedrock is unreachable."""
        prompt = insight_prompt(summary, self.token_budget, self.top_n)
        messages = [user(prompt.user)]
        reply = self.client.converse(prompt.system, messages)
        usage = reply.usage
        warnings: list[str] = []
        known = set(summary.queries)
        try:
            output: ModelOutput | None = parse_output(reply.text, known)
        except ContractError as first:
            log.warning("Bedrock reply broke the contract (%s); asking once for a repair", first)
            messages += [assistant(reply.text), user(repair_request(str(first)))]
            repaired = self.client.converse(prompt.system, messages)
            usage = add_usage(usage, repaired.usage)
            try:
                output = parse_output(repaired.text, known)
            except ContractError as second:
                output = None
                narrative = salvage_narrative(repaired.text) or salvage_narrative(reply.text)
                warnings.append(
                    f"The model's reply did not match the findings contract after one repair "
                    f"({second}); its narrative is shown as written and the findings table "
                    "comes from the rule engine."
                )
        totals = [summary.metrics.unblended_cost, summary.metrics.amortized_cost]
        totals += [q.total for q in summary.queries.values() if q.total]
        evidence = Evidence.from_context(prompt.context, totals)
        if output is not None:
            narrative = output.narrative
            findings, flagged = _ground(
                narrative,
                _findings(output, summary, warnings),
                evidence,
                warnings,
                summary.currency,
            )
            prompts = _prompts(output, summary, findings)
        else:
            # the rule engine's findings are computed from the data, only the narrative is checked
            findings = RuleInsights().generate(summary).findings
            prompts = suggested_prompts(summary, findings, _PROMPTS_PER_REPORT)
            _, flagged = _ground(narrative, [], evidence, warnings, summary.currency)
        if prompt.cuts:
            log.info("insight prompt for %s was cut: %s", summary.report_id, prompt.cuts)
        return Insights(
            provider=self.name,
            markdown=narrative,
            findings=findings,
            suggested_prompts=prompts,
            usage=usage,
            structured=output is not None,
            warnings=warnings,
            ungrounded=flagged,
        )
