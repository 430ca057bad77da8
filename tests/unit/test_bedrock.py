"""Bedrock insights through botocore's Stubber: success, throttling, repair, huge contexts."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pandas as pd
import pytest
from botocore.stub import Stubber

from finops_agent.catalog import ChartHint
from finops_agent.insights.bedrock import BedrockClient, BedrockError, BedrockInsights, price_for
from finops_agent.insights.generate import generate_insights
from finops_agent.insights.prompts import CHARS_PER_TOKEN, PromptTooLargeError, insight_prompt
from finops_agent.settings import DEFAULT_BEDROCK_PRICES
from finops_agent.summarise import QuerySummary, ReportSummary
from tests.unit.test_summarise_rules import GP2, _result, _summary

MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


def _reply(payload: Any, tokens_in: int = 1200, tokens_out: int = 300) -> dict[str, Any]:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {
            "inputTokens": tokens_in,
            "outputTokens": tokens_out,
            "totalTokens": tokens_in + tokens_out,
        },
        "metrics": {"latencyMs": 850},
    }


GOOD = {
    "narrative": "## Summary\n\nThe window cost **$1,000** ($1.0k rounded). Moving gp2 volumes "
    "saves $3.20 a month, and vol-a alone is 62.5% of that. Nobody knows about $777.77.",
    "findings": [
        {
            "title": "Migrate 3 gp2 volumes",
            "query": "gp2_volumes",
            "evidence": "vol-a saves $2 a month of $3.20",
            "monthly_savings_usd": 3.2,
            "effort": "Low",
            "risk": "low",
            "action": "Modify the volumes to gp3",
            "resource_ids": ["vol-a", "vol-b", "vol-c"],
            "reasoning": "sum of monthly_savings",
        }
    ],
    "suggested_prompts": [
        {"text": "Which gp2 volumes are largest?", "query": "gp2_volumes"},
        {"text": "What does S3 cost by bucket?", "query": "no_such_query"},
    ],
}


class Harness:
    """A stubbed bedrock-runtime client, the requests it received, and the sleeps it took."""

    def __init__(self, prices: bool = True) -> None:
        self.boto = boto3.client("bedrock-runtime", region_name="us-east-1")
        self.stubber = Stubber(self.boto)
        self.requests: list[dict[str, Any]] = []
        self.sleeps: list[float] = []
        self.boto.meta.events.register(
            "provide-client-params.bedrock-runtime.Converse",
            lambda params, **_: self.requests.append(params),
        )
        self.client = BedrockClient(
            self.boto,
            MODEL,
            prices=DEFAULT_BEDROCK_PRICES if prices else {},
            sleep=self.sleeps.append,
        )

    def insights(self, summary: ReportSummary, budget: int = 8000) -> Any:
        with self.stubber:
            result = BedrockInsights(self.client, token_budget=budget).generate(summary)
        self.stubber.assert_no_pending_responses()
        return result


@pytest.fixture
def summary() -> ReportSummary:
    return _summary([_result("gp2_volumes", GP2)])


def test_valid_reply_becomes_findings_with_cost_and_grounding(summary: ReportSummary) -> None:
    harness = Harness()
    harness.stubber.add_response("converse", _reply(GOOD))
    insights = harness.insights(summary)
    assert insights.provider == "bedrock" and insights.structured
    (finding,) = insights.findings
    # family comes from the report, effort is normalised, savings kept as the model gave them
    assert (finding.family, finding.effort, finding.monthly_savings_usd) == (
        "architecture",
        "low",
        3.2,
    )
    # Sonnet 4.5 at $3 / $15 per million tokens: 1200 in, 300 out
    assert insights.usage is not None
    assert insights.usage.cost_usd == pytest.approx(1200 * 3e-6 + 300 * 15e-6)
    assert (insights.usage.input_tokens, insights.usage.output_tokens) == (1200, 300)
    # only the invented figure is flagged: $1,000, $1.0k, $3.20, 62.5% (2 of 3.2) are in the data
    assert [u.number for u in insights.ungrounded] == ["$777.77"]
    assert "Nobody knows" in insights.ungrounded[0].sentence
    # the unknown query became a chat question; the rest are filled up to five from the rules
    prompts = insights.suggested_prompts
    assert len(prompts) == 5
    assert (prompts[0].query, prompts[1].query) == ("gp2_volumes", None)
    request = harness.requests[0]
    assert request["modelId"] == MODEL
    assert request["inferenceConfig"] == {"maxTokens": 4096, "temperature": 0.7}
    assert "FinOps analyst" in request["system"][0]["text"]


def test_throttling_is_retried_with_backoff(summary: ReportSummary) -> None:
    harness = Harness()
    harness.stubber.add_client_error(
        "converse", service_error_code="ThrottlingException", http_status_code=429
    )
    harness.stubber.add_client_error(
        "converse", service_error_code="ServiceUnavailableException", http_status_code=503
    )
    harness.stubber.add_response("converse", _reply(GOOD))
    insights = harness.insights(summary)
    assert insights.structured and len(harness.requests) == 3
    # two waits, the second (1 s then 2 s base, jittered to 50-100%) longer in its range
    assert len(harness.sleeps) == 2
    assert 0.5 <= harness.sleeps[0] <= 1.0 and 1.0 <= harness.sleeps[1] <= 2.0


@pytest.mark.fault
def test_persistent_throttling_gives_up_and_the_pipeline_falls_back(
    summary: ReportSummary,
) -> None:
    harness = Harness()
    for _ in range(4):
        harness.stubber.add_client_error(
            "converse", service_error_code="ThrottlingException", http_status_code=429
        )
    with harness.stubber:
        insights = generate_insights(BedrockInsights(harness.client), summary)
    assert len(harness.requests) == 4 and len(harness.sleeps) == 3
    assert insights.provider == "rules"
    assert "bedrock insights failed" in insights.warnings[0]
    assert "ThrottlingException" in insights.warnings[0]


def test_access_denied_is_not_retried(summary: ReportSummary) -> None:
    harness = Harness()
    harness.stubber.add_client_error(
        "converse", service_error_code="AccessDeniedException", http_status_code=403
    )
    with harness.stubber, pytest.raises(BedrockError, match="after 1 attempt"):
        BedrockInsights(harness.client).generate(summary)
    assert harness.sleeps == []


def test_malformed_reply_is_repaired_once_with_the_error(summary: ReportSummary) -> None:
    harness = Harness()
    broken = {**GOOD, "findings": [{**GOOD["findings"][0], "monthly_savings_usd": -5}]}  # type: ignore[dict-item]
    harness.stubber.add_response("converse", _reply("```json\n" + json.dumps(broken) + "\n```"))
    harness.stubber.add_response("converse", _reply(GOOD, 2000, 400))
    insights = harness.insights(summary)
    assert insights.structured and insights.findings[0].monthly_savings_usd == 3.2
    repair = harness.requests[1]["messages"]
    assert [m["role"] for m in repair] == ["user", "assistant", "user"]
    assert "findings.0.monthly_savings_usd" in repair[2]["content"][0]["text"]
    # both calls are paid for
    assert insights.usage is not None and insights.usage.input_tokens == 3200


@pytest.mark.fault
def test_unrepairable_reply_keeps_the_narrative_unstructured(summary: ReportSummary) -> None:
    harness = Harness()
    harness.stubber.add_response("converse", _reply("Spend was $1,000. Not JSON at all."))
    harness.stubber.add_response(
        "converse",
        _reply('{"narrative": "Spend was **$1,000**.", "findings": [{"query": "gp2_volumes"}]}'),
    )
    insights = harness.insights(summary)
    assert not insights.structured
    assert insights.markdown == "Spend was **$1,000**."
    assert "did not match the findings contract" in insights.warnings[0]
    # the findings table still has the rule engine's priced finding
    assert [f.query for f in insights.findings] == ["gp2_volumes"]


def test_findings_must_come_from_report_queries(summary: ReportSummary) -> None:
    harness = Harness()
    invented = {**GOOD, "findings": [{**GOOD["findings"][0], "query": "made_up"}]}  # type: ignore[dict-item]
    harness.stubber.add_response("converse", _reply(invented))
    harness.stubber.add_response("converse", _reply(GOOD))
    insights = harness.insights(summary)
    assert (
        "'made_up' is not one of this report's queries"
        in (harness.requests[1]["messages"][2]["content"][0]["text"])
    )
    assert insights.findings[0].query == "gp2_volumes"


def _huge_summary(queries: int, rows: int) -> ReportSummary:
    base = _summary([_result("gp2_volumes", GP2)])
    row = {f"col_{i}": "x" * 500 for i in range(20)} | {"unblended_cost": 12345.678}
    for q in range(queries):
        name = f"query_{q:03d}"
        base.queries[name] = QuerySummary(
            name=name,
            family="cost",
            title=f"Breakdown {q}",
            description="A wide breakdown " * 20,
            why="",
            status="ok",
            error=None,
            rows=rows,
            columns=list(row),
            chart=ChartHint("table"),
            units={},
            cost_column="unblended_cost",
            total=12345.678 * rows,
            top_rows=[dict(row) for _ in range(min(rows, 10))],
        )
    return base


@pytest.mark.parametrize(("queries", "rows"), [(3, 10_000), (400, 50)])
def test_huge_context_is_cut_to_the_budget_and_says_so(queries: int, rows: int) -> None:
    summary = _huge_summary(queries, rows)
    harness = Harness()
    harness.stubber.add_response("converse", _reply(GOOD))
    harness.insights(summary, budget=8000)
    request = harness.requests[0]
    sent = request["system"][0]["text"] + request["messages"][0]["content"][0]["text"]
    assert len(sent) / CHARS_PER_TOKEN <= 8000
    assert "the context was cut" in sent
    # the finding query and the totals survive every cut
    assert '"gp2_volumes"' in sent and '"unblended_cost_usd":1000.0' in sent


def test_prompt_budget_too_small_names_the_setting() -> None:
    with pytest.raises(PromptTooLargeError, match="FINOPS_PROMPT_TOKEN_BUDGET"):
        insight_prompt(_summary([_result("gp2_volumes", GP2)]), budget=50)


def test_small_context_is_sent_whole() -> None:
    spend = pd.DataFrame({"account_name": ["prod"], "unblended_cost": [10.0]})
    prompt = insight_prompt(
        _summary([_result("gp2_volumes", GP2), _result("spend_by_account_monthly", spend)]),
        budget=8000,
    )
    assert prompt.cuts == [] and "Nothing was cut" in prompt.user
    gp2 = prompt.context["queries"]["gp2_volumes"]
    assert gp2["monthly_savings_usd"] == 3.2
    # the catalog's finding metadata travels with the numbers, for the model's reasoning
    assert "gp3_saving_share" in gp2["savings_method"]
    assert (gp2["effort"], gp2["risk"]) == ("low", "low")
    assert gp2["action"].startswith("Change the volume type to gp3 (Elastic Volumes")
    # queries that produce no findings carry none of it
    assert "effort" not in prompt.context["queries"]["spend_by_account_monthly"]


def test_levels_the_model_leaves_out_are_the_catalogs(summary: ReportSummary) -> None:
    unsure = {k: v for k, v in GOOD["findings"][0].items() if k not in ("effort", "risk")}
    # gp2_volumes is low effort in the catalog, not the schema's generic "medium"
    given = dict(GOOD, findings=[unsure, dict(unsure, effort="high", risk="medium")])
    harness = Harness()
    harness.stubber.add_response("converse", _reply(given))
    insights = harness.insights(summary)
    levels = sorted((f.effort, f.risk) for f in insights.findings)
    assert levels == [("high", "medium"), ("low", "low")]


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (MODEL, 3.0),
        ("global.anthropic.claude-haiku-4-5-20251001-v1:0", 1.0),
        ("eu.anthropic.claude-opus-4-1-20250805-v1:0", 15.0),
        ("amazon.nova-pro-v1:0", None),
    ],
)
def test_prices_match_inference_profiles(model: str, expected: float | None) -> None:
    price = price_for(model, DEFAULT_BEDROCK_PRICES)
    assert (price.input if price else None) == expected


def test_unknown_model_costs_nothing_but_counts_tokens(
    summary: ReportSummary, caplog: pytest.LogCaptureFixture
) -> None:
    harness = Harness(prices=False)
    assert "no price for us.anthropic" in caplog.text
    harness.stubber.add_response("converse", _reply(GOOD))
    usage = harness.insights(summary).usage
    assert usage is not None and usage.cost_usd == 0.0 and usage.input_tokens == 1200


def test_broken_aws_profile_falls_back_to_rules_instead_of_breaking_the_run(
    summary: ReportSummary,
) -> None:
    from finops_agent.settings import load_settings
    from finops_agent.wiring import build_insights

    settings = load_settings(insights="bedrock", aws_profile="no-such-profile-here")
    provider = build_insights(settings)  # wiring never fails on AWS set-up
    insights = generate_insights(provider, summary)
    assert insights.provider == "rules"
    assert "cannot set up Bedrock" in insights.warnings[0]
    assert "no-such-profile-here" in insights.warnings[0]


def test_resource_ids_the_query_did_not_return_are_removed_with_a_warning(
    summary: ReportSummary,
) -> None:
    harness = Harness()
    finding = {**GOOD["findings"][0], "resource_ids": ["vol-a", "vol-invented"]}  # type: ignore[dict-item]
    harness.stubber.add_response("converse", _reply({**GOOD, "findings": [finding]}))
    insights = harness.insights(summary)
    assert insights.findings[0].resource_ids == ["vol-a"]
    assert "not in the gp2_volumes result, removed: vol-invented" in insights.warnings[0]


def test_insight_log_record_carries_the_grounding_audit(summary: ReportSummary) -> None:
    from finops_agent.pipeline import insight_interaction

    harness = Harness()
    harness.stubber.add_response("converse", _reply(GOOD))
    record = insight_interaction(summary, harness.insights(summary))
    assert record.model == MODEL and record.input_tokens == 1200
    assert record.data_context["structured"] is True
    assert [u["number"] for u in record.data_context["ungrounded"]] == ["$777.77"]


@pytest.mark.fault
def test_model_not_enabled_falls_back_to_rules_with_a_banner_saying_why(
    summary: ReportSummary,
) -> None:
    harness = Harness()
    harness.stubber.add_client_error(
        "converse",
        service_error_code="AccessDeniedException",
        http_status_code=403,
        service_message="You don't have access to the model with the specified model ID.",
    )
    with harness.stubber:
        insights = generate_insights(BedrockInsights(harness.client), summary)
    # the report keeps its findings (from the rule engine) and says why Bedrock's are missing
    assert insights.provider == "rules" and insights.findings
    assert "don't have access to the model" in insights.warnings[0]
    assert harness.sleeps == []  # not retried: access will not appear by waiting


def test_a_finding_whose_savings_are_not_in_the_data_is_dropped_and_flagged(
    summary: ReportSummary,
) -> None:
    harness = Harness()
    # ten times the $3.20 the gp2 rows add up to, and no multiple of a number in them
    tenfold = {**GOOD["findings"][0], "title": "Tenfold", "monthly_savings_usd": 32.0}  # type: ignore[dict-item]
    reply = {**GOOD, "findings": [GOOD["findings"][0], tenfold]}  # type: ignore[list-item]
    harness.stubber.add_response("converse", _reply(reply))
    insights = harness.insights(summary)
    assert [f.title for f in insights.findings] == ["Migrate 3 gp2 volumes"]
    assert insights.warnings == [
        "Finding 'Tenfold' was dropped: its savings of $32.00 a month is not a figure in the "
        "gp2_volumes data"
    ]
    assert [(u.number, u.where) for u in insights.ungrounded] == [
        ("$777.77", "narrative"),
        ("$32.00", "savings of finding 'Tenfold'"),
    ]


def test_a_finding_naming_only_resources_the_query_did_not_return_is_dropped(
    summary: ReportSummary,
) -> None:
    harness = Harness()
    ghost = {**GOOD["findings"][0], "title": "Ghosts", "resource_ids": ["vol-x", "vol-y"]}  # type: ignore[dict-item]
    reply = {**GOOD, "findings": [ghost, GOOD["findings"][0]]}  # type: ignore[list-item]
    harness.stubber.add_response("converse", _reply(reply))
    insights = harness.insights(summary)
    assert [f.title for f in insights.findings] == ["Migrate 3 gp2 volumes"]
    assert insights.warnings == [
        "Finding 'Ghosts' was dropped: none of the resource(s) it names is in the gp2_volumes "
        "result (vol-x, vol-y)"
    ]
