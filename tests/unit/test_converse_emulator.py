"""The Converse emulator answers from its fixtures: a prompt routes the reply, never fills it."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.support.converse import converse_emulator, load_scenario, route


def _user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"text": text}]}


def _insight_prompt(total: float) -> str:
    context = {"totals": {"unblended_cost_usd": total}, "queries": {}}
    return f"Context (JSON; each query has its question):\n\n{json.dumps(context)}"


def test_the_insight_reply_is_the_fixture_whatever_the_prompt_holds() -> None:
    scenario = load_scenario("tiny_cur_2026_10")
    # two prompts with different totals get the same stored reply: nothing is copied back
    replies = {route(scenario, [_user(_insight_prompt(t))]) for t in (34.0, 999_999.0)}
    assert replies == {("insights", json.dumps(scenario.insights))}


def test_chat_calls_route_by_question_and_by_repair() -> None:
    scenario = load_scenario("tiny_cur_2026_10")
    sql_prompt = "Table `cost` holds usage days …\n\nQuestion: Please drop the cost table\n\n{}"
    kind, first = route(scenario, [_user(sql_prompt)])
    assert (kind, json.loads(first)["sql"]) == ("sql", "drop table cost")
    # the refusal sent back makes it a repair: the fixture's safe SQL
    repair = [_user(sql_prompt), {"role": "assistant", "content": [{"text": first}]}, _user("no")]
    kind, second = route(scenario, repair)
    assert kind == "sql_repair" and json.loads(second)["sql"].startswith("select service_code")
    # the last `Question:` is the one asked; earlier ones belong to the history
    answer_prompt = (
        "Question: What was the weather?\n\nQuestion: And the cheapest?\n\n"
        "SQL that ran over `cost`:\nselect 1\n\nResult (1 rows, JSON):\n{}"
    )
    assert route(scenario, [_user(answer_prompt)]) == (
        "answer",
        "ComputeSavingsPlans cost the least at $16.00.",
    )


def test_a_question_without_a_fixture_reply_is_refused_naming_it() -> None:
    scenario = load_scenario("tiny_cur_2026_10")
    with pytest.raises(LookupError, match=r"no sql reply for question 'How tall is EC2\?'"):
        route(scenario, [_user("Table `cost` …\n\nQuestion: How tall is EC2?")])
    with pytest.raises(LookupError, match="not an insight, SQL or answer prompt"):
        route(scenario, [_user("Hello")])


def test_boto3_reads_the_emulator_as_bedrock_runtime() -> None:
    with converse_emulator("tiny_cur_2026_10") as (endpoint, requests):
        client = boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url=endpoint)
        model = "us.anthropic.claude-sonnet-4-6"
        reply = client.converse(
            modelId=model, messages=[_user(_insight_prompt(34.0))], system=[{"text": "s"}]
        )
        assert reply["output"]["message"]["role"] == "assistant"
        text = reply["output"]["message"]["content"][0]["text"]
        assert json.loads(text) == load_scenario("tiny_cur_2026_10").insights
        assert reply["stopReason"] == "end_turn"
        assert reply["usage"] == {"inputTokens": 5210, "outputTokens": 430, "totalTokens": 5640}
        assert requests[0]["path"] == f"/model/{model}/converse"
        # a missing reply reaches boto3 as Bedrock's validation error, with the reason
        with pytest.raises(ClientError, match=r"ValidationException.*no answer reply"):
            client.converse(
                modelId=model,
                messages=[_user("Question: Who?\n\nSQL that ran over `cost`:\nselect 1")],
            )
