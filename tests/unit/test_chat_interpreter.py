"""The question interpreter on a hand-made vocabulary: plans, periods, SQL literals, refusals."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import trino_query_parser

from finops_agent.chat.answers import build_sql, sentence
from finops_agent.chat.guard import check_sql
from finops_agent.chat.interpreter import Plan, Refusal, interpret
from finops_agent.chat.vocabulary import Vocabulary, load_vocabulary

# the names query's rows, one grouping set each (grouping_id: the set, by its bit mask)
_ROWS = [
    {"service_code": "AmazonEC2", "service_name": "Amazon Elastic Compute Cloud", "cost": 300.0},
    {"service_code": "AmazonS3", "service_name": "Amazon Simple Storage Service", "cost": 200.0},
    {"service_code": "AWSLambda", "service_name": "AWS Lambda", "cost": 100.0},
    {"account_id": "111122223333", "account_name": "prod-platform", "cost": 600.0},
    {"region": "us-east-1", "availability_zone": "us-east-1a", "cost": 400.0},
    {"region": "eu-west-1", "availability_zone": None, "cost": 200.0},
    {"purchase_option": "OnDemand", "charge_type": "Usage", "cost": 590.0},
    {"purchase_option": "Other", "charge_type": "Tax", "cost": 10.0},
    {"tag_0": "team-data", "cost": 100.0},
    {"tag_0": "o'brien", "cost": 50.0},
    # a tag value that is also a question word
    {"tag_0": "total", "cost": 5.0},
    {"first_day": dt.date(2026, 10, 1), "last_day": dt.date(2026, 12, 1), "cost": 600.0},
]
# service_code, account_id, region, purchase_option, tag_0: a set's own column bit is 0
_MASKS = {"service_code": 15, "account_id": 23, "region": 27, "purchase_option": 29, "tag_0": 30}


def _run(sql: str) -> pd.DataFrame:
    assert "grouping sets" in sql and "lower(element_at(tags, 'owner')) as tag_0" in sql, sql
    # one scan on Athena too: the statement parses with Trino's own grammar
    trino_query_parser.parse_statement(sql)
    rows = [
        {**row, "grouping_id": next((m for c, m in _MASKS.items() if c in row), 31)}
        for row in _ROWS
    ]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return load_vocabulary(_run, ["owner"], (dt.date(2026, 11, 1), dt.date(2026, 12, 2)))


def _plan(question: str, vocab: Vocabulary) -> Plan:
    reading = interpret(question, vocab)
    assert isinstance(reading, Plan), reading
    return reading


@pytest.mark.parametrize(
    ("question", "operation", "dimension", "filters", "period"),
    [
        # aliases and case: EC2 is the service code AmazonEC2
        ("how much did ec2 cost in November?", "total", None, ["AmazonEC2"], "2026-11-01"),
        ("What did AMAZON SIMPLE STORAGE SERVICE cost?", "total", None, ["AmazonS3"], None),
        ("Which service grew most month over month?", "growth", "service", [], "2026-11-01"),
        ("Top 3 accounts in October", "top", "account", [], "2026-10-01"),
        ("What share of spend is Lambda?", "share", None, ["AWSLambda"], None),
        ("daily spend for lambda last week", "series", "day", ["AWSLambda"], "2026-11-23"),
        ("Spend by owner", "top", "tag:owner", [], None),
        ("What did owner team-data spend on Nov 19?", "total", None, ["team-data"], "2026-11-19"),
        ("EC2 in N. Virginia last month", "total", None, ["AmazonEC2", "us-east-1"], "2026-11-01"),
        ("prod-platform spend this month", "total", None, ["111122223333"], "2026-12-01"),
    ],
)
def test_questions_read_into_plans(
    vocab: Vocabulary,
    question: str,
    operation: str,
    dimension: str | None,
    filters: list[str],
    period: str | None,
) -> None:
    plan = _plan(question, vocab)
    assert (plan.operation, plan.dimension) == (operation, dimension)
    assert sorted(f.value for f in plan.filters) == sorted(filters)
    assert plan.period is not None
    # no period named: the report's window (November 1 to December 1)
    assert plan.period.start.isoformat() == (period or "2026-11-01")


def test_a_tag_value_that_is_a_question_word_is_no_filter(vocab: Vocabulary) -> None:
    plan = _plan("What was the total spend in November?", vocab)
    assert (plan.operation, plan.filters) == ("total", [])


def test_growth_compares_the_two_last_complete_months(vocab: Vocabulary) -> None:
    plan = _plan("Which account grew most?", vocab)
    assert plan.earlier is not None and plan.period is not None
    assert (plan.earlier.label, plan.period.label) == ("October 2026", "November 2026")


@pytest.mark.parametrize(
    ("question", "kind", "reason"),
    [
        ("Please delete the gp2 volumes", "action", "I cannot delete resources"),
        ("tag all untagged resources with owner team-data", "action", "I cannot tag resources"),
        ("What will EC2 cost next year?", "future", "no future prices"),
        ("How much did EC2 cost excluding tax?", "unclear", "I did not understand 'excluding'"),
        ("How much did we spend on CloudFront?", "data", "no spend on Amazon CloudFront"),
        ("Compare December with November", "data", "not complete in the data"),
        ("What did EC2 cost in September?", "data", "is outside it"),
    ],
)
def test_refusals_say_why(vocab: Vocabulary, question: str, kind: str, reason: str) -> None:
    reading = interpret(question, vocab)
    assert isinstance(reading, Refusal) and reading.kind == kind, reading
    assert reason in reading.reason


@pytest.mark.hostile
def test_values_reach_the_sql_as_literals_from_the_data(vocab: Vocabulary) -> None:
    # the tag value holds a quote; the question's own text never reaches the SQL
    plan = _plan("what did owner o'brien spend in november", vocab)
    checked = check_sql(build_sql(plan))
    assert "IN ('o''brien')" in checked.sql
    hostile = interpret("EC2'); drop table cost; -- spend in November", vocab)
    assert isinstance(hostile, Refusal)


def test_sentence_takes_every_figure_from_the_result(vocab: Vocabulary) -> None:
    plan = _plan("Which service grew most month over month?", vocab)
    frame = pd.DataFrame(
        {
            "service_name": ["Amazon Elastic Compute Cloud"],
            "earlier_cost": [93_160.0],
            "later_cost": [100_147.31],
            "change_usd": [6_987.31],
            "change_pct": [7.5002],
        }
    )
    assert sentence(plan, frame) == (
        "Amazon Elastic Compute Cloud grew most: +$6,987.31 (+7.5%) from October 2026 to "
        "November 2026, from $93,160.00 to $100,147.31 (unblended, before credits and refunds)."
    )
