"""End to end against a Converse emulator on 127.0.0.1 answering from its own fixtures.

The emulator's replies are files under tests/data/converse/, their figures taken from the
data's ground truth, some of them wrong on purpose: the report must keep exactly the right
findings and drop or flag the wrong ones.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from finops_agent.chat.session import ChatSession
from finops_agent.settings import Settings, load_settings
from finops_agent.wiring import build_insights
from tests import tiny
from tests.support.converse import converse_emulator
from tests.support.memstore import MemoryStore
from tests.support.reports import make_report

pytestmark = pytest.mark.integration

# the one figure the tiny scenario's narrative and answers invent
INVENTED = "$123,456.78"
# what the tiny data costs per service, most expensive first
SERVICES = [
    {"service_code": "AmazonEC2", "unblended_cost": 18.0},
    {"service_code": "ComputeSavingsPlans", "unblended_cost": 16.0},
]
# a month as the stored queries scale it, over October's 31 days of data
MONTH_OF_OCTOBER = 30.4375 / 31


@pytest.fixture(scope="module")
def emulated(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Settings, str, list[dict[str, Any]]]]:
    root = tmp_path_factory.mktemp("bedrock")
    source = tiny.write("cur", root / "data")
    with converse_emulator("tiny_cur_2026_10") as (endpoint, requests):
        settings = load_settings(
            output_dir=root / "reports",
            home=root / "home",
            insights="bedrock",
            bedrock_endpoint_url=endpoint,
            bedrock_region="us-west-2",
        )
        report_id = make_report(settings, source, build_insights(settings))
        yield settings, report_id, requests


@pytest.fixture(scope="module")
def sample_report(
    tmp_path_factory: pytest.TempPathFactory,
    sample_dataset: Callable[[str], tuple[Path, dict[str, Any]]],
) -> tuple[Path, dict[str, Any]]:
    """(report folder, ground truth) of an October 2026 Bedrock report on the generated data."""
    data, truth = sample_dataset("cur")
    root = tmp_path_factory.mktemp("bedrock-sample")
    with converse_emulator("sample_cur_2026_10") as (endpoint, _):
        settings = load_settings(
            output_dir=root / "reports",
            home=root / "home",
            insights="bedrock",
            bedrock_endpoint_url=endpoint,
            bedrock_region="us-west-2",
        )
        report_id = make_report(settings, data / "data", build_insights(settings))
    return root / "reports" / report_id, truth


def _october(resources: list[dict[str, Any]]) -> float:
    return sum(r["cost_by_month"]["2026-10"] for r in resources)


def test_bedrock_report_keeps_the_grounded_findings_and_drops_the_wrong_ones(
    sample_report: tuple[Path, dict[str, Any]],
) -> None:
    folder, truth = sample_report
    planted = truth["planted"]
    data = json.loads((folder / "report.json").read_text())
    assert data["insights"]["provider"] == "bedrock" and data["insights"]["structured"]
    # the fixture's three right findings, their savings recomputed from the ground truth with
    # the catalog's shares (gp3 20%, current generation 10%, a released address 100%)
    expected = {
        "gp2_volumes": (
            "Move five gp2 volumes to gp3",
            _october(planted["gp2_volumes"]) * MONTH_OF_OCTOBER * 0.2,
            sorted(r["resource_id"] for r in planted["gp2_volumes"]),
        ),
        "previous_generation_instances": (
            "Upgrade three previous-generation instances",
            _october(planted["previous_generation"]) * MONTH_OF_OCTOBER * 0.1,
            sorted(r["resource_id"] for r in planted["previous_generation"]),
        ),
        "idle_elastic_ips": (
            "Release two idle Elastic IPs",
            _october(planted["idle_eips"]) * MONTH_OF_OCTOBER,
            sorted(r["resource_id"] for r in planted["idle_eips"]),
        ),
    }
    priced = [f for f in data["findings"] if f["monthly_savings_usd"] > 0]
    assert [f["query"] for f in priced] == [
        "gp2_volumes",
        "previous_generation_instances",
        "idle_elastic_ips",
    ]
    for finding in priced:
        title, savings, ids = expected[finding["query"]]
        assert finding["title"] == title
        assert finding["monthly_savings_usd"] == pytest.approx(savings, abs=0.005)
        assert sorted(finding["resource_ids"]) == ids
    # the rest are the rule engine's anomalies, which it adds whoever wrote the findings
    assert {f["query"] for f in data["findings"] if f["monthly_savings_usd"] == 0} == {
        "daily_anomalies"
    }
    # each wrong finding is dropped and the report says why
    assert data["insights"]["warnings"] == [
        "Finding 'Release the idle address in us-west-1' was dropped: none of the resource(s) "
        "it names is in the idle_elastic_ips result (eipalloc-0fab1e5c0ffee1234)",
        "Finding 'Retire every gp2 volume' was dropped: its savings of $873.85 a month is not "
        "a figure in the gp2_volumes data",
    ]
    # the wrong total in the narrative and the tenfold saving are flagged; the right figures
    # ($52,100.99, the $50.00 credit, the $123.45 refund, the $1,761.15 spike) are not
    assert truth["totals"]["by_month"]["2026-10"]["unblended_cost"] == pytest.approx(
        52100.99, abs=0.005
    )
    assert truth["planted"]["spike"]["cost"] == pytest.approx(1761.15, abs=0.005)
    # October amortised was $52,212.59, not the narrative's $58,150.01
    assert truth["totals"]["by_month"]["2026-10"]["amortized_cost"] == pytest.approx(
        52212.59, abs=0.005
    )
    assert truth["planted"]["refund"]["amount"] == -123.45
    assert [(u["number"], u["where"]) for u in data["insights"]["ungrounded"]] == [
        ("$58,150.01", "narrative"),
        ("$873.85", "savings of finding 'Retire every gp2 volume'"),
    ]
    html = (folder / "report.html").read_text()
    assert '<mark class="ungrounded" title="not found in the report data">$58,150.01</mark>' in html
    assert "was dropped: its savings of $873.85 a month" in html
    assert "was dropped: none of the resource(s) it names" in html
    assert (
        "eipalloc-0fab1e5c0ffee1234" not in html.split('id="findings"', 1)[1].split("</table>")[0]
    )
    # the headline counts the kept savings only: 87.39 + 47.07 + 7.31
    assert (
        '<span class="label">Est. monthly savings</span><span class="value">$141.77</span>' in html
    )


def test_bedrock_report_on_the_tiny_data_flags_the_invented_figure(
    emulated: tuple[Settings, str, list[dict[str, Any]]],
) -> None:
    settings, report_id, requests = emulated
    folder = Path(settings.output_dir) / report_id
    data = json.loads((folder / "report.json").read_text())
    # tiny's gp2 volume: $3 on its one day, a 30.4375-day month at 20% is $18.26; the two
    # instances' amortised $10 + $14 the same way at 20% is $146.10
    assert [
        (f["query"], f["monthly_savings_usd"], f["resource_ids"]) for f in data["findings"]
    ] == [
        ("graviton_candidates", 146.1, ["i-0000000000000001", "i-0000000000000002"]),
        ("gp2_volumes", 18.26, ["vol-0000000000000001"]),
    ]
    assert data["findings"][1]["family"] == "architecture"
    assert data["insights"]["warnings"] == []
    # $34.00 (the tiny total) is grounded; the invented figure is flagged next to its sentence
    assert [u["number"] for u in data["insights"]["ungrounded"]] == [INVENTED]
    html = (folder / "report.html").read_text()
    assert (
        f'<mark class="ungrounded" title="not found in the report data">{INVENTED}</mark>' in html
    )
    assert "Numbers not found in the data" in html
    # the scenario's 5,210 tokens in and 430 out, priced for Sonnet at $3 / $15 per million
    usage = data["insights"]["usage"]
    assert (usage["input_tokens"], usage["output_tokens"]) == (5210, 430)
    assert usage["cost_usd"] == pytest.approx(5210 * 3e-6 + 430 * 15e-6, abs=1e-9)
    assert "5210 in / 430 out tokens" in html
    # the request went to the configured inference profile with the budgeted prompt
    assert requests[0]["path"].startswith("/model/us.anthropic.claude-sonnet-4-6")
    assert data["suggested_prompts"][0]["text"] == "Which services cost the most?"
    assert len(data["suggested_prompts"]) == 5


def test_chat_with_bedrock_answers_from_checked_sql(
    emulated: tuple[Settings, str, list[dict[str, Any]]],
) -> None:
    settings, report_id, requests = emulated
    store = MemoryStore()
    chat = ChatSession.from_settings(settings, report_id)
    chat.store = store
    try:
        turn = chat.ask("Which service cost the most?")
        # EC2 carries every tiny line item but the Savings Plan fee: 10 + 20 - 20 + 5 + 3
        assert turn.mode == "model" and turn.rows == SERVICES
        assert turn.answer.startswith("AmazonEC2 cost the most at $18.00.")
        assert [u.number for u in turn.ungrounded] == [INVENTED]
        assert turn.sql is not None and turn.sql.endswith("LIMIT 200")
        sql_prompt = requests[-2]["body"]["messages"][0]["content"][0]["text"]
        assert "billing window 2026-10-01 to 2026-11-01" in sql_prompt
        assert "- amortized_cost double" in sql_prompt
        # the offline interpreter's reading and SQL reach the model first, as a hint
        assert "An offline interpreter answered: Amazon Elastic Compute Cloud cost the most" in (
            sql_prompt
        )
        assert "Its SQL: SELECT service_name, SUM(unblended_cost) AS cost" in sql_prompt
        # unsafe SQL from the model is refused, the guard's reason goes back once, then it runs
        repaired = chat.ask("Please drop the cost table")
        assert repaired.mode == "model" and repaired.rows == SERVICES
        assert repaired.answer.startswith("Nothing was dropped; AmazonEC2 cost the most at $18.00.")
        repair_turn = requests[-2]["body"]["messages"]
        assert "only SELECT is allowed" in repair_turn[2]["content"][0]["text"]
        # the follow-up prompt carried the earlier turn
        assert "Which service cost the most?" in repair_turn[0]["content"][0]["text"]
        refusal = chat.ask("What was the weather?")
        assert refusal.mode == "model" and refusal.sql is None and "weather" in refusal.answer
        # a suggested prompt runs its stored query; the model answers from that result
        gp2 = next(i for i, p in enumerate(chat.prompts, 1) if p.query == "gp2_volumes")
        prompted = chat.ask(str(gp2))
        # tiny's one gp2 volume: $3 on its one day, month-scaled, 20% saved on gp3
        assert prompted.mode == "prompt" and prompted.rows == [
            {
                "account_id": "111111111111",
                "region": "us-east-1",
                "resource_id": "vol-0000000000000001",
                "gb_months": 1.0,
                "unblended_cost": 3.0,
                "monthly_cost": 91.3125,
                "monthly_savings": 18.2625,
            }
        ]
        assert "Result (1 rows" in requests[-1]["body"]["messages"][0]["content"][0]["text"]
        assert [u.number for u in prompted.ungrounded] == [INVENTED]
    finally:
        chat.close()
    logged = store.by_report(report_id)
    assert [i.kind for i in logged] == ["chat"] * 4
    # each turn's calls at the scenario's token counts: SQL 900 + answer 700; SQL, its repair
    # 950 and the answer; SQL alone (a refusal); the answer alone (a stored query ran)
    assert [i.input_tokens for i in logged] == [1600, 2550, 900, 700]
    assert {i.model for i in logged} == {"us.anthropic.claude-sonnet-4-6"}


def test_report_chat_flow_writes_a_markdown_artifact(
    emulated: tuple[Settings, str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from flows.chat import report_chat
    from prefect.client.orchestration import get_client

    settings, report_id, requests = emulated
    for name, value in {
        "FINOPS_INSIGHTS": "bedrock",
        "FINOPS_BEDROCK_ENDPOINT_URL": settings.bedrock_endpoint_url or "",
        "FINOPS_HOME": str(settings.home),
    }.items():
        monkeypatch.setenv(name, value)
    saved = Path(settings.output_dir) / report_id / "transcript.json"

    async def artifact_body() -> str:
        async with get_client() as client:
            latest = {a.key: a for a in await client.read_latest_artifacts()}
        return str(latest[f"chat-{report_id.lower()}"].data)

    answer = report_chat(
        report_id, "Which service cost the most?", output_dir=str(settings.output_dir)
    )
    assert answer.startswith("AmazonEC2 cost the most at $18.00.")
    body = asyncio.run(artifact_body())
    assert "AmazonEC2 cost the most at $18.00." in body and "```sql" in body
    turn = json.loads(saved.read_text())[-1]
    assert turn["question"] == "Which service cost the most?"

    # a second question in the same session sees the first as history
    report_chat(report_id, "And the cheapest?", str(settings.output_dir), turn["session_id"])
    sql_prompt = requests[-2]["body"]["messages"][0]["content"][0]["text"]
    assert "Q: Which service cost the most?" in sql_prompt
    assert "## And the cheapest?" in asyncio.run(artifact_body())


@contextmanager
def _silent_endpoint() -> Iterator[str]:
    """A loopback port that accepts connections and never answers: a hung Bedrock endpoint."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        # the accept loop checks `stop` every 0.1 s
        thread.join(10)
        assert not thread.is_alive(), "the silent endpoint's accept loop did not stop"
        for conn in accepted:
            conn.close()
        listener.close()


@pytest.mark.fault
def test_a_bedrock_endpoint_that_never_answers_times_out_and_the_report_has_rule_findings(
    tmp_path: Path,
) -> None:
    """Every Converse call times out: retried, then the rule engine's findings with a banner."""
    source = tiny.write("cur", tmp_path / "data")
    with _silent_endpoint() as endpoint:
        settings = load_settings(
            output_dir=tmp_path / "reports",
            home=tmp_path / "home",
            insights="bedrock",
            bedrock_endpoint_url=endpoint,
            bedrock_timeout_s=0.3,
            bedrock_max_attempts=2,
        )
        report_id = make_report(settings, source, build_insights(settings))
    data = json.loads((tmp_path / "reports" / report_id / "report.json").read_text())
    insights = data["insights"]
    assert insights["provider"] == "rules" and data["findings"]
    (banner,) = [w for w in insights["warnings"] if "bedrock insights failed" in w]
    assert "after 2 attempt(s)" in banner and "timeout" in banner.lower()
    html = (tmp_path / "reports" / report_id / "report.html").read_text()
    assert "bedrock insights failed" in html
