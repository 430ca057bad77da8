"""Chat without Bedrock on a real tiny report: SQL, suggested prompts, refusals, log, transcript."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from finops_agent.chat.session import NEEDS_BEDROCK, ChatSession
from finops_agent.reports.document import ChatTurnRecord
from finops_agent.reports.folder import (
    InvalidReportIdError,
    ReportNotFoundError,
    report_folder,
)
from finops_agent.settings import Settings, load_settings
from tests import tiny
from tests.support.memstore import MemoryStore
from tests.support.reports import make_report


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, str]:
    root = tmp_path_factory.mktemp("chat")
    source = tiny.write("cur2", root / "data")
    settings = load_settings(output_dir=root / "reports", home=root / "home")
    return settings, make_report(settings, source)


@pytest.fixture
def session(reports: tuple[Settings, str]) -> Iterator[ChatSession]:
    settings, report_id = reports
    chat = ChatSession(settings, report_id, store=MemoryStore(), session_id="s-1")
    yield chat
    chat.close()


def _saved(settings: Settings, report_id: str) -> dict:
    return json.loads((Path(settings.output_dir) / report_id / "report.json").read_text())


def _transcript(settings: Settings, report_id: str) -> list[dict]:
    path = Path(settings.output_dir) / report_id / "transcript.json"
    return json.loads(path.read_text()) if path.is_file() else []


def test_sql_is_checked_run_on_the_report_data_and_recorded(
    session: ChatSession, reports: tuple[Settings, str]
) -> None:
    settings, report_id = reports
    turn = session.ask("select charge_type, sum(unblended_cost) as cost from cost group by 1")
    assert turn.mode == "sql" and turn.note == "LIMIT 200 added"
    by_type = {r["charge_type"]: r["cost"] for r in turn.rows}
    # the tiny dataset's line items: usage 10 + 20 - 20 negation + 3 gp2, fee 16, tax 5
    assert by_type["SavingsPlanNegation"] == -20.0 and sum(by_type.values()) == 34.0
    assert "| charge_type | cost |" in turn.answer and "Total cost: $34.00" in turn.answer
    # logged as a chat interaction of this session and report
    (logged,) = session.store.by_session("s-1")  # type: ignore[union-attr]
    assert (logged.kind, logged.report_id, logged.interaction_id) == (
        "chat",
        report_id,
        turn.interaction_id,
    )
    assert logged.data_context["sql"].endswith("LIMIT 200")
    assert logged.latency_ms == turn.elapsed_ms > 0
    # appended to the transcript file beside the report; report.html is left as rendered
    folder = Path(settings.output_dir) / report_id
    saved = json.loads((folder / "transcript.json").read_text())[-1]
    assert saved["interaction_id"] == turn.interaction_id and saved["row_count"] == len(turn.rows)
    assert saved["sentence"] == (
        "5 row(s) (LIMIT 200 added). Total cost: $34.00; largest: SavingsPlanNegation at -$20.00."
    )
    assert _saved(settings, report_id)["chat"] == []
    assert "Total cost: $34.00" not in (folder / "report.html").read_text()


def test_suggested_prompts_run_their_stored_query_or_sql(session: ChatSession) -> None:
    prompts = session.prompts
    assert len(prompts) == 5 and all(p.query or p.sql for p in prompts)
    for number, prompt in enumerate(prompts, start=1):
        turn = session.ask(str(number))
        assert turn.question == prompt.text
        assert turn.mode == "prompt", turn.answer
    # the gp2 finding's prompt runs gp2_volumes: the one gp2 volume of the tiny data
    gp2 = next(t for t in session.turns if "gp2" in t.question)
    assert [r["resource_id"] for r in gp2.rows] == ["vol-0000000000000001"]
    # the answer states the money: tiny's volume cost $3 on its one day of data, a
    # 30.4375-day month of that is $91.31, and gp3 saves 20% of it
    assert gp2.rows[0]["monthly_savings"] == pytest.approx(3 * 30.4375 * 0.2)
    assert gp2.answer.startswith(
        "gp2 volumes to migrate to gp3: 1 found, about $18.26 a month to save; "
        "the largest is vol-0000000000000001"
    )


def test_growth_the_data_cannot_show_is_refused_with_the_reason(session: ChatSession) -> None:
    # the tiny data holds one day of October: no complete month before it to grow from
    turn = session.ask("Why did EC2 grow last month?")
    assert turn.mode == "refusal" and turn.sql is None
    assert turn.answer.startswith("September 2026 is not complete in the data")
    assert "$" not in turn.answer.split("Questions I can answer")[0]
    assert turn.answer != NEEDS_BEDROCK


def test_free_form_question_gets_a_sentence_from_checked_sql(session: ChatSession) -> None:
    turn = session.ask("How much did EC2 cost in October?")
    # EC2 line items of the tiny data: 10 + 20 - 20 negation + 5 tax + 3 gp2
    assert turn.mode == "offline" and turn.answer.startswith(
        "Amazon Elastic Compute Cloud cost $18.00 in October 2026 (unblended, net of credits)."
    )
    assert turn.sql is not None and "service_code IN ('AmazonEC2')" in turn.sql


@pytest.mark.hostile
def test_unsafe_sql_is_refused_logged_and_the_data_survives(session: ChatSession) -> None:
    turn = session.ask("select * from cost; drop table cost")
    assert turn.mode == "error" and "exactly one statement" in (turn.error or "")
    logged = session.store.get(turn.interaction_id)  # type: ignore[union-attr]
    assert logged is not None and logged.error == turn.error
    assert session.ask("select count(*) as n from cost").rows == [{"n": 6}]


def test_rating_is_stored_in_the_log_and_the_transcript(
    session: ChatSession, reports: tuple[Settings, str]
) -> None:
    settings, report_id = reports
    turn = session.ask("select sum(unblended_cost) as total from cost")
    session.rate(False, "wanted amortised")
    logged = session.store.get(turn.interaction_id)  # type: ignore[union-attr]
    assert logged is not None and (logged.rating, logged.rating_comment) == (-1, "wanted amortised")
    saved = {t["interaction_id"]: t for t in _transcript(settings, report_id)}
    assert (saved[turn.interaction_id]["rating"], saved[turn.interaction_id]["rating_comment"]) == (
        -1,
        "wanted amortised",
    )
    assert (
        "wanted amortised"
        not in (Path(settings.output_dir) / report_id / "report.html").read_text()
    )


@pytest.mark.fault
def test_slow_query_is_stopped_at_the_timeout(reports: tuple[Settings, str]) -> None:
    settings, report_id = reports
    quick = settings.model_copy(update={"chat_timeout_s": 0.5})
    chat = ChatSession(quick, report_id, record=False)
    joins = ", ".join(f"cost t{i}" for i in range(10))
    product = " || ".join(f"cast(t{i}.unblended_cost as varchar)" for i in range(10))
    try:
        turn = chat.ask(f"select count(*) from {joins} where md5({product}) < '1'")
        assert turn.mode == "error" and "ran longer than 0.5 s" in (turn.error or "")
        # the query was interrupted, not left running in the background
        assert not [t for t in threading.enumerate() if t.name == "chat-chat" and t.is_alive()]
        # the engine is usable again right away
        assert chat.ask("select count(*) as n from cost").rows == [{"n": 6}]
    finally:
        chat.close()


@pytest.mark.hostile
@pytest.mark.parametrize(
    "report_id",
    ["../secret", "..", "/etc/passwd", "a/../../b", "ok\x00.json", "", "..\\x", "~root"],
)
def test_report_ids_that_could_leave_the_reports_folder_are_rejected(
    tmp_path: Path, report_id: str
) -> None:
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "report.json").write_text('{"report_id": "../secret"}')
    with pytest.raises(InvalidReportIdError, match=r"invalid report id .*: use the id printed"):
        report_folder(tmp_path / "reports", report_id)


@pytest.mark.hostile
def test_symlinked_report_folder_outside_is_rejected(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "report.json").write_text('{"report_id": "evil"}')
    (tmp_path / "reports").mkdir()
    os.symlink(outside, tmp_path / "reports" / "evil")
    with pytest.raises(InvalidReportIdError, match="outside"):
        report_folder(tmp_path / "reports", "evil")
    with pytest.raises(ReportNotFoundError, match=r"no report 'missing' in .*report\.json missing"):
        report_folder(tmp_path / "reports", "missing")


def test_ask_command_answers_on_stdout(reports: tuple[Settings, str]) -> None:
    from finops_agent.cli import app

    settings, report_id = reports
    env = {"FINOPS_HOME": str(settings.home), "FINOPS_SQLITE_PATH": str(settings.home / "x.db")}
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["ask", report_id, "select count(*) as n from cost", "--out", str(settings.output_dir)],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert "| n |" in result.stdout and "| 6 |" in result.stdout
    free = runner.invoke(
        app, ["ask", report_id, "why so costly?", "--out", str(settings.output_dir)], env=env
    )
    # a question the interpreter cannot read is refused with what it understood: exit 1
    assert free.exit_code == 1 and "I did not understand 'costly'" in free.stdout
    bad = runner.invoke(app, ["ask", "../etc", "x", "--out", str(settings.output_dir)], env=env)
    assert bad.exit_code == 2 and "invalid report id" in bad.output


def test_chat_repl_answers_rates_and_quits(
    reports: tuple[Settings, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from finops_agent.chat import session as session_module
    from finops_agent.cli import app

    settings, report_id = reports
    store = MemoryStore()
    monkeypatch.setattr(session_module, "open_store", lambda _settings: (store, None))
    lines = [
        "/prompts",
        "/sql select count(*) as n from cost",
        "/good",
        "Why is EC2 so expensive?",
        "/bad not helpful",
        "/nonsense [/] [bold]",
        "/sql select '[/]<script>alert(1)</script>' as x from cost",
        "/quit",
        "select 'never reached' as x from cost",
    ]
    result = CliRunner().invoke(
        app,
        ["chat", report_id, "--out", str(settings.output_dir)],
        input="\n".join(lines) + "\n",
        env={"FINOPS_HOME": str(settings.home)},
    )
    assert result.exit_code == 0, result.output
    # prompts listed twice (banner and /prompts), the SQL answered as a table with its SQL
    assert result.stdout.count("1. Which resources are behind") == 2
    assert "SQL: SELECT COUNT(*) AS n FROM cost LIMIT 200" in result.stdout
    assert " 6 \n" in result.stdout
    assert "Without Bedrock: ask in plain words" in result.stdout
    assert "Amazon Elastic Compute Cloud cost $18.00 in the report window" in result.stdout
    assert "unknown command /nonsense" in result.stdout
    # hostile text is printed as text, stored as text in the transcript, never in report.html
    assert "[/]<script>alert(1)</script>" in result.stdout
    html = (Path(settings.output_dir) / report_id / "report.html").read_text()
    assert "alert(1)" not in html
    assert any(
        "<script>alert(1)</script>" in t["question"] for t in _transcript(settings, report_id)
    )
    assert "never reached" not in result.stdout
    ratings = [(i.user_query, i.rating, i.rating_comment) for i in store.by_report(report_id)]
    assert ratings == [
        ("select count(*) as n from cost", 1, None),
        ("Why is EC2 so expensive?", -1, "not helpful"),
        ("select '[/]<script>alert(1)</script>' as x from cost", None, None),
    ]
    assert (settings.home / "chat_history").is_file()


def test_ask_rate_flag_stores_the_rating(
    reports: tuple[Settings, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from finops_agent.chat import session as session_module
    from finops_agent.cli import app

    settings, report_id = reports
    store = MemoryStore()
    monkeypatch.setattr(session_module, "open_store", lambda _settings: (store, None))
    result = CliRunner().invoke(
        app,
        ["ask", report_id, "2", "--rate", "good", "--out", str(settings.output_dir)],
        env={"FINOPS_HOME": str(settings.home)},
    )
    assert result.exit_code == 0, result.output
    (logged,) = store.by_report(report_id)
    assert (
        logged.rating == 1
        and logged.user_query == _saved(settings, report_id)["suggested_prompts"][1]["text"]
    )


@pytest.mark.fault
def test_bedrock_outage_in_chat_is_an_answer_not_a_crash(reports: tuple[Settings, str]) -> None:
    from finops_agent.chat.model import BedrockChat
    from tests.unit.test_bedrock import Harness

    settings, report_id = reports
    harness = Harness()
    harness.stubber.add_client_error(
        "converse", service_error_code="AccessDeniedException", http_status_code=403
    )
    store = MemoryStore()
    chat = ChatSession(
        settings, report_id, store=store, model=BedrockChat(harness.client), record=False
    )
    with harness.stubber:
        turn = chat.ask("Which account spends the most?")
    # the offline interpreter's answer stands in for the model's, saying why
    assert turn.mode == "offline" and "AccessDeniedException" in turn.note
    assert turn.answer.startswith("prod-platform (111111111111) cost the most")
    assert store.get(turn.interaction_id) is not None
    # SQL still works while the model is down
    assert chat.ask("select count(*) as n from cost").rows == [{"n": 6}]
    chat.close()


def test_concurrent_transcript_writers_lose_no_turns(
    reports: tuple[Settings, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from finops_agent.chat.transcript import append_turn
    from finops_agent.reports.folder import ReportFolder
    from tests.support.bounded import join_all

    settings, report_id = reports
    before = len(_transcript(settings, report_id))
    turns = [
        ChatTurnRecord(question=f"q{i}", answer=f"a{i}", interaction_id=f"i{i}") for i in range(12)
    ]
    start = threading.Barrier(len(turns), timeout=30)
    called = threading.Semaphore(0)
    contested: list[bool] = []
    read_turns = ReportFolder._turns

    def first_reader_waits(folder: ReportFolder) -> list[ChatTurnRecord]:
        if not contested:
            # the first writer holding the lock waits until another has called in: they overlap
            contested.append(called.acquire(timeout=20) and called.acquire(timeout=20))
        return read_turns(folder)

    monkeypatch.setattr(ReportFolder, "_turns", first_reader_waits)

    def write(turn: ChatTurnRecord) -> None:
        start.wait()
        called.release()
        append_turn(Path(settings.output_dir), report_id, turn)

    threads = [threading.Thread(target=write, args=(t,)) for t in turns]
    for thread in threads:
        thread.start()
    join_all(threads, 60, "transcript writers")
    assert contested == [True], "no second writer called in while the first held the lock"
    chat = _transcript(settings, report_id)
    assert len(chat) == before + 12
    assert {t["question"] for t in chat[before:]} == {f"q{i}" for i in range(12)}


@pytest.mark.parametrize(
    ("text", "is_sql"),
    [
        ("select count(*) from cost", True),
        ("  WITH t AS (SELECT * FROM cost) SELECT * FROM t", True),
        ("/sql select 1", True),  # explicit: the guard decides
        ("select * from cost; drop table cost", True),  # SQL, refused later by the guard
        ("Select the services with the most spend from last month", False),
        ("With which account should I start?", False),
        ("Which services grew?", False),
    ],
)
def test_sql_is_told_apart_from_questions_that_start_like_it(text: str, is_sql: bool) -> None:
    from finops_agent.chat.session import looks_like_sql

    assert looks_like_sql(text) is is_sql


def test_a_session_id_continues_the_conversation(reports: tuple[Settings, str]) -> None:
    settings, report_id = reports
    first = ChatSession(settings, report_id, session_id="s-continue")
    first.ask("select count(*) as n from cost")
    first.close()
    again = ChatSession(settings, report_id, session_id="s-continue")
    other = ChatSession(settings, report_id, session_id="s-other")
    assert [t.question for t in again.turns] == ["select count(*) as n from cost"]
    assert other.turns == []
    again.close()
    other.close()
