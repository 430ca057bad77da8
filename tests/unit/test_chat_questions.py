"""Plain questions answered offline on generated data, checked against the raw files.

Expected figures are computed here with pyarrow/pandas straight from the generated CUR 2.0
Parquet (not through `cost`, the adapters or the stored queries). A figure in an answer's
sentence that matches no expected value is a wrong answer, whatever else passes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pandas as pd
import pyarrow.dataset as ds
import pytest
import trino_query_parser

from finops_agent.chat.session import ChatSession
from finops_agent.sample_data import generate
from finops_agent.settings import Settings, load_settings
from tests.support.memstore import MemoryStore
from tests.support.reports import make_report

END = dt.date(2026, 12, 2)  # data from 2026-10-01 through 2026-12-01
WINDOW = ("2026-11-01", "2026-12-02")  # the report: November plus December to date
OCT = (dt.date(2026, 10, 1), dt.date(2026, 11, 1))
NOV = (dt.date(2026, 11, 1), dt.date(2026, 12, 1))
REPORT = (dt.date(2026, 11, 1), dt.date(2026, 12, 2))
DEC = (dt.date(2026, 12, 1), dt.date(2026, 12, 2))
WEEK_1 = (dt.date(2026, 11, 16), dt.date(2026, 11, 23))
WEEK_2 = (dt.date(2026, 11, 23), dt.date(2026, 11, 30))
_MONEY = re.compile(r"([+-]?)\$([\d,]+\.\d\d)")
_PCT = re.compile(r"([+-]?\d[\d,]*\.\d)%")


@dataclass(frozen=True)
class Expected:
    """What a correct answer says: its main figure first, every other figure it may state."""

    money: list[float]
    pcts: list[float]
    labels: list[str]


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Settings, str]:
    root = tmp_path_factory.mktemp("questions")
    generate("cur2", root / "sample", rows=20_000, end=END)
    table = ds.dataset(root / "sample" / "data", format="parquet", partitioning="hive").to_table(
        columns=[
            "line_item_usage_start_date",
            "line_item_unblended_cost",
            "line_item_product_code",
            "line_item_line_item_type",
            "line_item_usage_account_id",
            "line_item_usage_account_name",
            "product_region_code",
            "line_item_usage_amount",
            "pricing_unit",
            "product",
            "resource_tags",
        ]
    )
    frame = pd.DataFrame(
        {
            "day": pd.to_datetime(table["line_item_usage_start_date"].to_pandas()).dt.date,
            "cost": table["line_item_unblended_cost"].to_pandas(),
            "code": table["line_item_product_code"].to_pandas().astype(str),
            "type": table["line_item_line_item_type"].to_pandas().astype(str),
            "account": table["line_item_usage_account_id"].to_pandas().astype(str),
            "account_name": table["line_item_usage_account_name"].to_pandas().astype(str),
            "region": table["product_region_code"].to_pandas().astype(str),
            "usage": table["line_item_usage_amount"].to_pandas(),
            "unit": table["pricing_unit"].to_pandas().astype(str),
        }
    )
    frame["name"] = [dict(p or []).get("product_name", "") for p in table["product"].to_pylist()]
    frame["project"] = [
        (dict(t or []).get("user_project") or "").lower()
        for t in table["resource_tags"].to_pylist()
    ]
    settings = load_settings(output_dir=root / "reports", home=root / "home")
    report_id = make_report(settings, root / "sample" / "data", window=WINDOW)
    return frame, settings, report_id


@pytest.fixture(scope="module")
def chat(raw: tuple[pd.DataFrame, Settings, str]) -> Iterator[ChatSession]:
    _, settings, report_id = raw
    session = ChatSession(settings, report_id, store=MemoryStore(), record=False)
    yield session
    session.close()


# --- independent arithmetic on the raw line items ----------------------------------------


def _in(frame: pd.DataFrame, period: tuple[dt.date, dt.date]) -> pd.DataFrame:
    return frame[(frame["day"] >= period[0]) & (frame["day"] < period[1])]


def _gross(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[~frame["type"].isin(["Credit", "Refund"])]


def total(where: Callable[[pd.DataFrame], pd.Series] | None, period: tuple[dt.date, dt.date]):
    def expected(frame: pd.DataFrame) -> Expected:
        part = _in(frame, period)
        part = part[where(part)] if where else part
        return Expected([part["cost"].sum()], [], [])

    return expected


def average(period: tuple[dt.date, dt.date]):
    def expected(frame: pd.DataFrame) -> Expected:
        value = _in(frame, period)["cost"].sum()
        return Expected([value / (period[1] - period[0]).days, value], [], [])

    return expected


def top(
    column: str,
    period: tuple[dt.date, dt.date],
    label: str | None = None,
    asc: bool = False,
    where: Callable[[pd.DataFrame], pd.Series] | None = None,
):
    def expected(frame: pd.DataFrame) -> Expected:
        part = _gross(_in(frame, period))
        part = part[where(part)] if where else part
        sums = part.groupby(column)["cost"].sum().sort_values(ascending=asc)
        whole = sums.sum()
        names = part.groupby(column)[label or column].first()
        return Expected(
            [sums.iloc[0], whole, *sums.iloc[1:4]],
            [sums.iloc[0] / whole * 100],
            [str(names[sums.index[0]])],
        )

    return expected


def share(where: Callable[[pd.DataFrame], pd.Series], period: tuple[dt.date, dt.date]):
    def expected(frame: pd.DataFrame) -> Expected:
        part = _gross(_in(frame, period))
        chosen, whole = part[where(part)]["cost"].sum(), part["cost"].sum()
        return Expected([chosen, whole], [chosen / whole * 100], [])

    return expected


def growth(
    column: str | None,
    direction: str = "up",
    gross: bool = True,
    where: Callable[[pd.DataFrame], pd.Series] | None = None,
    periods: tuple[tuple[dt.date, dt.date], tuple[dt.date, dt.date]] = (OCT, NOV),
):
    def expected(frame: pd.DataFrame) -> Expected:
        data = _gross(frame) if gross else frame
        data = data[where(data)] if where else data
        key = column or (lambda _: "all")
        before = _in(data, periods[0]).groupby(key)["cost"].sum()
        after = _in(data, periods[1]).groupby(key)["cost"].sum()
        both = pd.DataFrame({"before": before, "after": after}).fillna(0.0)
        both["change"] = both["after"] - both["before"]
        both = both.sort_values("change", ascending=direction == "down")
        row = both.iloc[0]
        names = (
            data.groupby(column)["name" if column == "code" else column].first() if column else None
        )
        label = [str(names[both.index[0]])] if names is not None else []
        return Expected(
            [row["change"], row["before"], row["after"]],
            [row["change"] / abs(row["before"]) * 100],
            label,
        )

    return expected


def series(period: tuple[dt.date, dt.date], where: Callable[[pd.DataFrame], pd.Series]):
    def expected(frame: pd.DataFrame) -> Expected:
        part = _in(frame, period)
        daily = part[where(part)].groupby("day")["cost"].sum()
        return Expected([daily.max(), daily.min(), daily.sum()], [], [daily.idxmax().isoformat()])

    return expected


def forecast(frame: pd.DataFrame) -> Expected:
    month = _in(frame, DEC)
    # upfront fees and refunds happen once, RI fees and tax once a month: never extrapolated
    once = month["type"].isin(["Fee", "SavingsPlanUpfrontFee", "Refund", "RIFee", "Tax"])
    daily = month.assign(run=month["cost"].where(~once, 0.0)).groupby("day")["run"].sum()
    days = len(daily)
    value = month["cost"].sum() + daily.mean() * (31 - days)
    if days < 7:  # too few days for a range: the answer says so instead of a band
        return Expected([value, month["cost"].sum()], [], ["December 2026", "too few days"])
    band = 1.96 * daily.std(ddof=1) * (31 - days) ** 0.5
    return Expected([value, value - band, value + band, month["cost"].sum()], [], ["December 2026"])


def count_accounts(frame: pd.DataFrame) -> Expected:
    return Expected([], [], [f"{_in(frame, REPORT)['account'].nunique()} accounts"])


def count_services(frame: pd.DataFrame) -> Expected:
    return Expected([], [], [f"{_in(frame, REPORT)['code'].nunique()} services"])


def usage(where: Callable[[pd.DataFrame], pd.Series], period: tuple[dt.date, dt.date]):
    def expected(frame: pd.DataFrame) -> Expected:
        part = _in(frame, period)
        by_unit = part[where(part)].groupby("unit")[["usage", "cost"]].sum()
        by_unit = by_unit.sort_values("cost", ascending=False)
        hours = by_unit.loc["Hrs", "usage"]
        return Expected([by_unit.loc["Hrs", "cost"], *by_unit["cost"]], [], [f"{hours:,.2f} Hrs"])

    return expected


def code(value: str) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda f: f["code"] == value


def account(name: str) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda f: f["account_name"] == name


def region(value: str) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda f: f["region"] == value


# question -> how to compute its answer
ANSWERABLE: list[tuple[str, Callable[[pd.DataFrame], Expected]]] = [
    ("Which service grew most month over month?", growth("code")),
    ("Which service increased the most from October to November?", growth("code")),
    ("How did November compare with October?", growth(None, gross=False)),
    ("total spend in october vs november", growth(None, gross=False)),
    ("Which service shrank the most from October to November?", growth("code", "down")),
    ("Which account decreased most month over month?", growth("account_name", "down")),
    (
        "How much did RDS cost in October compared to November?",
        growth(None, gross=False, where=code("AmazonRDS")),
    ),
    ("week over week change", growth(None, gross=False, periods=(WEEK_1, WEEK_2))),
    ("How much did EC2 cost in November?", total(code("AmazonEC2"), NOV)),
    ("What did we spend on S3 last month?", total(code("AmazonS3"), NOV)),
    ("What did Lambda cost in October?", total(code("AWSLambda"), OCT)),
    ("How much did Lambda cost in November?", total(code("AWSLambda"), NOV)),
    ("Show DynamoDB spend in November", total(code("AmazonDynamoDB"), NOV)),
    (
        "What did Amazon Relational Database Service cost in November?",
        total(code("AmazonRDS"), NOV),
    ),
    ("What was the total spend?", total(None, REPORT)),
    ("total spend in October", total(None, OCT)),
    ("What did prod-platform spend in November?", total(account("prod-platform"), NOV)),
    ("How much did data-analytics spend last month?", total(account("data-analytics"), NOV)),
    ("What did the dev-sandbox account cost in October?", total(account("dev-sandbox"), OCT)),
    ("How much did we spend in eu-west-1 last month?", total(region("eu-west-1"), NOV)),
    ("how much was spent in ap-southeast-2 in November", total(region("ap-southeast-2"), NOV)),
    (
        "EC2 spend in us-east-1 in October",
        total(lambda f: (f["code"] == "AmazonEC2") & (f["region"] == "us-east-1"), OCT),
    ),
    ("spend on 2026-11-19", total(None, (dt.date(2026, 11, 19), dt.date(2026, 11, 20)))),
    (
        "Lambda cost on Nov 19",
        total(code("AWSLambda"), (dt.date(2026, 11, 19), dt.date(2026, 11, 20))),
    ),
    ("project checkout cost in November", total(lambda f: f["project"] == "checkout", NOV)),
    ("Average daily spend in November", average(NOV)),
    ("What share of spend is S3?", share(code("AmazonS3"), REPORT)),
    ("What share of November spend was EC2?", share(code("AmazonEC2"), NOV)),
    ("What percentage of the bill is prod-platform?", share(account("prod-platform"), REPORT)),
    ("Top 5 services", top("code", REPORT, "name")),
    ("Which services cost the most in October?", top("code", OCT, "name")),
    ("Which account spends the most?", top("account_name", REPORT)),
    ("Which 3 accounts cost the most?", top("account_name", REPORT)),
    ("Which region costs the most?", top("region", REPORT)),
    ("Spend by region", top("region", REPORT)),
    ("Top 3 regions in October", top("region", OCT)),
    ("least expensive region", top("region", REPORT, asc=True)),
    ("Which day had the highest spend?", top("day", REPORT)),
    ("What's our biggest cost driver?", top("code", REPORT, "name")),
    ("spend on the latest day", total(None, DEC)),
    ("EC2 trend in November", series(NOV, code("AmazonEC2"))),
    ("Daily spend for Lambda last week", series(WEEK_2, code("AWSLambda"))),
    ("What will this month cost by its end?", forecast),
    ("How many accounts are there?", count_accounts),
    ("how many services are there", count_services),
    ("average daily spend", average(REPORT)),
    ("How many hours did EC2 use in November?", usage(code("AmazonEC2"), NOV)),
    ("How much tax did we pay in November?", total(lambda f: f["type"] == "Tax", NOV)),
    (
        "Which service grew most in prod-platform?",
        growth("code", where=account("prod-platform")),
    ),
]
REFUSE = [
    "Delete the idle IPs",
    "What will prices be next year?",
    "What is the weather?",
    "Terminate the previous generation instances",
    "Can you tag the untagged resources?",
    "How much will we spend in 2027?",
    "What were the costs last quarter?",
    "How much did November cost compared with December?",
    "What will we spend next month?",
    "Stop all EC2 instances in dev-sandbox",
    "How much did we spend on CloudFront?",
    "What did EC2 cost excluding tax?",
    "What share of EC2 is on-demand?",
]


def _figures(sentence: str) -> tuple[list[float], list[float]]:
    money = [
        (-1 if sign == "-" else 1) * float(value.replace(",", ""))
        for sign, value in _MONEY.findall(sentence)
    ]
    pcts = [float(p.replace(",", "")) for p in _PCT.findall(sentence)]
    return money, pcts


def _verdict(sentence: str, expected: Expected) -> str:
    """correct, wrong (a figure matches nothing expected) or incomplete (main figure missing)."""
    money, pcts = _figures(sentence)
    for value in money:
        if not any(abs(value - e) <= 0.006 for e in expected.money):
            return f"wrong: ${value:,.2f} is none of {[round(e, 2) for e in expected.money]}"
    for value in pcts:
        if not any(abs(value - e) <= 0.051 for e in expected.pcts):
            return f"wrong: {value}% is none of {[round(e, 1) for e in expected.pcts]}"
    if expected.money and not any(abs(v - expected.money[0]) <= 0.006 for v in money):
        return f"incomplete: main figure {expected.money[0]:,.2f} missing"
    missing = [label for label in expected.labels if label not in sentence]
    return f"incomplete: {missing} missing" if missing else "correct"


def test_questions_are_answered_from_the_data_and_never_with_a_wrong_figure(
    chat: ChatSession, raw: tuple[pd.DataFrame, Settings, str]
) -> None:
    frame = raw[0]
    assert len(ANSWERABLE) == 49
    verdicts = {}
    for question, compute in ANSWERABLE:
        turn = chat.ask(question)
        sentence = turn.answer.split("\n\n")[0]
        if turn.mode != "offline":
            verdicts[question] = f"not answered ({turn.mode}): {sentence[:120]}"
            continue
        verdicts[question] = _verdict(sentence, compute(frame)) + f" | {sentence}"
    wrong = {q: v for q, v in verdicts.items() if v.startswith("wrong")}
    assert not wrong, wrong
    # every question is answered, with its main figure: a share threshold would hide a new miss
    failed = {q: v for q, v in verdicts.items() if not v.startswith("correct")}
    assert failed == {}


@pytest.mark.parametrize("question", REFUSE)
def test_questions_the_data_cannot_answer_are_refused(chat: ChatSession, question: str) -> None:
    turn = chat.ask(question)
    assert turn.mode == "refusal" and turn.sql is None, turn.answer
    # a refusal states no money figure of its own
    assert not _MONEY.search(turn.answer.split("Questions I can answer")[0])


def test_an_unclear_question_gets_what_was_understood_and_three_answerable_ones(
    chat: ChatSession,
) -> None:
    turn = chat.ask("How much did EC2 cost by weather?")
    assert turn.answer.startswith("I did not understand 'weather'.")
    assert "I understood: operation total; measure unblended, net of credits" in turn.answer
    offered = re.findall(r"\(\d\) ([^(]+?)(?= \(\d\)|$)", turn.answer)
    assert len(offered) == 3
    # every question offered is one the interpreter answers
    for question in offered:
        assert chat.ask(question.strip()).mode == "offline", question


def test_stored_savings_queries_run_by_name_or_topic(chat: ChatSession) -> None:
    by_name = chat.ask("gp2_volumes")
    by_topic = chat.ask("Which gp2 volumes should move to gp3?")
    assert by_name.mode == by_topic.mode == "offline"
    assert by_name.sql == by_topic.sql and "gp2" in (by_name.sql or "")
    # the sentence's total saving is the sum of the rows the stored query returned
    saving = sum(r["monthly_savings"] for r in by_name.rows)
    assert f"about ${saving:,.2f} a month to save" in by_name.answer
    for question, name in [
        ("NAT gateway savings", "NAT gateways where"),
        ("Show me idle elastic IPs", "Idle public IPv4"),
        ("previous generation instances", "Previous-generation"),
        ("cross-AZ traffic cost", "Cross-AZ"),
        ("Show commitment coverage", "Commitments in the report window"),
        ("Any anomalies?", "anomalous day"),
    ]:
        turn = chat.ask(question)
        assert turn.mode == "offline", (question, turn.answer)
        assert name.lower() in (turn.answer + (turn.sql or "")).lower(), (question, turn.answer)


def test_the_comparison_month_is_queryable_but_the_report_figures_stay_in_the_window(
    chat: ChatSession, raw: tuple[pd.DataFrame, Settings, str]
) -> None:
    frame = raw[0]
    october = _in(frame, OCT)["cost"].sum()
    (row,) = chat.ask(
        "select sum(unblended_cost) as c from cost where usage_date < date '2026-11-01'"
    ).rows
    assert row["c"] == pytest.approx(october, abs=0.005)
    # a stored query sees only the report window: its day count is November plus one day
    (totals,) = chat._stored("window_totals")[1].to_dict("records")
    assert (str(totals["first_day"])[:10], int(totals["days"])) == ("2026-11-01", 31)


def test_every_query_the_interpreter_runs_parses_with_trinos_grammar(chat: ChatSession) -> None:
    # DuckDB runs them here after sqlglot's transpilation; Athena gets the Athena text itself
    for question, _ in ANSWERABLE:
        turn = chat.ask(question)
        assert turn.sql is not None, question
        trino_query_parser.parse_statement(turn.sql)
