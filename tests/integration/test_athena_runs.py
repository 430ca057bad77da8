"""Report runs and chats on Athena against a moto server: per-query timeouts, stops, scan caps, retries.

moto runs on 127.0.0.1 (`ThreadedMotoServer`) and every boto3 client reaches it through
AWS_ENDPOINT_URL. Stored queries are answered with what DuckDB computes on the same tiny data;
chosen queries are kept RUNNING, scan, fail or are throttled (`tests.support.athena`).
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest
import requests
from moto.server import ThreadedMotoServer
from prefect.exceptions import TerminationSignal

from finops_agent.catalog import load_catalog
from finops_agent.chat.session import ChatSession
from finops_agent.engines.athena import AthenaEngine
from finops_agent.engines.base import QueryError
from finops_agent.settings import Settings, load_settings
from tests.integration.dynamo_servers import free_port
from tests.support.athena import (
    REGION,
    WINDOW,
    AthenaPlan,
    Behaviour,
    answer_like_duckdb,
    create_cur2_table,
    duckdb_answers,
    marker,
)
from tests.support.bounded import join_all, wait_until
from tests.support.reports import make_report

pytestmark = [pytest.mark.integration, pytest.mark.fault, pytest.mark.timeout(600)]
HUNG = load_catalog().queries["top_resources"]


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    """DuckDB's answer to every stored query on the tiny data, computed once."""
    return duckdb_answers(tmp_path_factory.mktemp("answers"))


@pytest.fixture
def moto_athena(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answers: dict[str, pd.DataFrame]
) -> Iterator[AthenaPlan]:
    """A moto server with the CUR 2.0 Glue table, the Athena settings in the environment, and
    every stored query answered like DuckDB; tests add rules for the queries they disturb."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    for key, value in {
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "FINOPS_ENGINE": "athena",
        "FINOPS_ATHENA_DATABASE": "cur",
        "FINOPS_ATHENA_TABLE": "cost_and_usage",
        "FINOPS_ATHENA_OUTPUT": "s3://athena-results/q/",
        "FINOPS_AWS_REGION": REGION,
        "FINOPS_OUTPUT_DIR": str(tmp_path / "reports"),
        "FINOPS_HOME": str(tmp_path / "home"),
    }.items():
        monkeypatch.setenv(key, value)
    try:
        requests.post(f"{url}/moto-api/reset", timeout=5)
        create_cur2_table(tmp_path)
        plan = AthenaPlan(monkeypatch)
        answer_like_duckdb(plan, answers)
        yield plan
    finally:
        requests.post(f"{url}/moto-api/reset", timeout=5)
        server.stop()


def _states(plan: AthenaPlan) -> dict[str, str]:
    """Execution id -> state, as the moto server reports it now."""
    client = boto3.client("athena", region_name=REGION)
    return {
        s["id"]: client.get_query_execution(QueryExecutionId=s["id"])["QueryExecution"]["Status"][
            "State"
        ]
        for s in plan.starts
    }


def _queries(path: str) -> dict[str, Any]:
    return dict(json.loads((Path(path).parent / "report.json").read_text())["queries"])


def test_a_report_flow_on_athena_renders_with_the_query_that_outran_its_timeout_failed(
    moto_athena: AthenaPlan, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One query stays RUNNING: it is stopped at FINOPS_ATHENA_QUERY_TIMEOUT_S and its section
    says so; every other section comes from Athena, and each start carries the run's options."""
    from flows.report import finops_report

    moto_athena.first(marker(HUNG), Behaviour(hang=True))
    monkeypatch.setenv("FINOPS_ATHENA_QUERY_TIMEOUT_S", "1.5")
    monkeypatch.setenv("FINOPS_ATHENA_RESULT_REUSE_MINUTES", "30")
    path = finops_report(engine="athena", start=WINDOW[0], end=WINDOW[1])
    queries = _queries(path)
    (hung_id,) = moto_athena.executions_of(marker(HUNG))
    assert queries[HUNG.name]["status"] == "failed"
    assert queries[HUNG.name]["error"] == (
        f"query {HUNG.name!r} ran longer than 1.5 s (FINOPS_ATHENA_QUERY_TIMEOUT_S) and was "
        f"stopped on Athena (execution {hung_id})"
    )
    assert moto_athena.stopped == [hung_id] and _states(moto_athena)[hung_id] == "CANCELLED"
    assert [n for n, q in queries.items() if q["status"] != "ok"] == [HUNG.name]
    assert all(q["query_id"] for n, q in queries.items() if n != HUNG.name)
    html = Path(path).read_text()
    assert "$34.00" in html and "ran longer than 1.5 s (FINOPS_ATHENA_QUERY_TIMEOUT_S)" in html
    assert f"Athena execution {queries['window_totals']['query_id']}" in html
    # not retried: a timeout would only cost the same scan again
    texts = [start["QueryString"] for start in moto_athena.starts]
    assert len(texts) == len(set(texts))
    assert len(moto_athena.executions_of(marker(HUNG))) == 1
    for start in moto_athena.starts:
        assert start["WorkGroup"] == "primary"
        assert start["ResultConfiguration"] == {"OutputLocation": "s3://athena-results/q/"}
        assert start["ResultReuseConfiguration"] == {
            "ResultReuseByAgeConfiguration": {"Enabled": True, "MaxAgeInMinutes": 30}
        }


def test_the_appendix_puts_the_scan_estimate_beside_athenas_bytes(
    moto_athena: AthenaPlan, answers: dict[str, pd.DataFrame]
) -> None:
    """Every statement reports 64 MiB scanned: the estimate column splits exactly that total by
    the columns each statement reads, and marks the statements that scan the source twice."""
    from flows.report import finops_report

    for text in answers:
        moto_athena.rule(text).scanned = 64 * 1024 * 1024
    path = finops_report(engine="athena", start=WINDOW[0], end=WINDOW[1])
    html = Path(path).read_text()
    appendix = html[html.index('id="appendix-h"') :]
    appendix = appendix[: appendix.index("</table>")]
    cells = {
        name: re.findall(r'<td class="num">([^<]*)</td>', row)
        for name, row in re.findall(r"<tr><td>([a-z0-9_]+)</td>(.*?)</tr>", appendix, re.DOTALL)
    }
    # rows, runtime, data scanned, estimate, scan cost; "&ndash;" where the model has none
    assert {len(c) for c in cells.values()} == {5}
    estimated = {n: c for n, c in cells.items() if c[3] != "&ndash;"}
    # every statement Athena answered is weighed; each one shows Athena's 64.0 MB
    assert {"window_totals", "cross_az_data_transfer", "untagged_spend"} <= set(estimated)
    assert all(c[2] == "64.0 MB" for c in estimated.values())
    # window_days makes cross_az_data_transfer read the source twice; window_totals reads it once
    assert estimated["cross_az_data_transfer"][3].endswith("MB (2 scans)")
    assert estimated["window_totals"][3].endswith(" MB")
    note = re.search(
        r'<p id="athena-scan">The (\d+) statements that read the source table '
        r"scanned ([\d,.]+) MB on Athena",
        html,
    )
    assert note is not None
    assert int(note.group(1)) == len(estimated)
    assert note.group(2) == f"{64 * len(estimated):,.1f}"
    # the split keeps Athena's total (each estimate rounded to 0.1 MB on the page)
    shown = sum(float(c[3].split(" MB")[0].replace(",", "")) for c in estimated.values())
    assert shown == pytest.approx(64 * len(estimated), abs=0.05 * len(estimated))


def test_a_final_athena_failure_is_not_retried_while_throttling_is(
    moto_athena: AthenaPlan, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FAILED with Retryable=false runs once; a throttled start is retried by Prefect and passes."""
    from flows.report import finops_report

    failing, throttled = (load_catalog().queries[n] for n in ("spend_by_region", "top_movers"))
    error = {
        "ErrorCategory": 2,
        "ErrorType": 1100,
        "Retryable": False,
        "ErrorMessage": "TABLE_NOT_FOUND: line 1:1: Table 'awsdatacatalog.cur.gone' does not exist",
    }
    moto_athena.first(marker(failing), Behaviour(athena_error=error))
    # answered like the others, once its first start has been throttled
    moto_athena.rule(marker(throttled)).refuse = [("ThrottlingException", "Rate exceeded")]
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # botocore's own retries spent at once
    path = finops_report(engine="athena", families=["cost"], start=WINDOW[0], end=WINDOW[1])
    queries = _queries(path)
    assert queries[failing.name]["status"] == "failed"
    assert "TABLE_NOT_FOUND" in queries[failing.name]["error"]
    assert len(moto_athena.executions_of(marker(failing))) == 1
    assert moto_athena.refused[marker(throttled)] == 1
    assert queries[throttled.name]["status"] == "ok"
    assert len(moto_athena.executions_of(marker(throttled))) == 1


def test_terminating_the_flow_process_stops_its_athena_queries(
    moto_athena: AthenaPlan, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM (what a Prefect runner sends to cancel a run) while a query runs on Athena.

    Prefect's flow engine turns SIGTERM into TerminationSignal in the flow's thread, so the
    flow's `finally: run.engine.close()` runs and stops every query in flight; then Prefect hands
    the signal on to the handler that was there before (the default one ends the process; this
    test's records it instead).
    """
    from flows.report import finops_report

    moto_athena.first(marker(HUNG), Behaviour(hang=True))
    # the hung query would be stopped by its own timeout only after 30 s
    monkeypatch.setenv("FINOPS_ATHENA_QUERY_TIMEOUT_S", "30")
    received: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
    sent: list[float] = []

    def terminate_once_running() -> None:
        if moto_athena.running.wait(timeout=60):
            sent.append(time.monotonic())
            os.kill(os.getpid(), signal.SIGTERM)

    killer = threading.Thread(target=terminate_once_running, daemon=True)
    killer.start()
    try:
        # Prefect raises it without a message (so no match=): the signal it carries is checked
        # below (written with check=, the run went uninterrupted in two tries of two)
        with pytest.raises(TerminationSignal) as terminated:
            finops_report(engine="athena", start=WINDOW[0], end=WINDOW[1])
        ended = time.monotonic()
        assert terminated.value.signal == signal.SIGTERM
    finally:
        signal.signal(signal.SIGTERM, previous)
        killer.join(5)
    (hung_id,) = moto_athena.executions_of(marker(HUNG))
    assert hung_id in moto_athena.stopped and received == [signal.SIGTERM]
    # stopped by close(), long before its own timeout would have
    assert ended - sent[0] < 15
    states = _states(moto_athena)
    assert states[hung_id] == "CANCELLED"
    assert [qid for qid, state in states.items() if state in ("QUEUED", "RUNNING")] == []


def test_close_stops_every_query_in_flight_and_refuses_new_ones(moto_athena: AthenaPlan) -> None:
    """Three queries RUNNING on Athena: close() calls StopQueryExecution for each, and a query
    asked for afterwards is never started."""
    engine = AthenaEngine.from_settings(load_settings())
    engine.bind_cost("select 1 as x", {})
    errors: list[str] = []

    def run(i: int) -> None:
        try:
            engine.execute(f"q{i}", f"select x as probe_{i} from cost", {})
        except QueryError as exc:
            errors.append(str(exc))

    moto_athena.first("probe_", Behaviour(hang=True))
    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    # polled, not only started: the engine has the execution id before its first poll, while a
    # start whose reply is still in the air is the different "stopped: the run is closing" case
    wait_until(
        lambda: len(moto_athena.running_and_polled()) == 3,
        60,
        "three queries RUNNING on Athena and polled by the engine",
    )
    engine.close()
    join_all(threads, 30, "queries after close()")
    started = {s["id"] for s in moto_athena.starts}
    assert len(started) == 3 and set(moto_athena.stopped) == started
    assert set(_states(moto_athena).values()) == {"CANCELLED"}
    assert len(errors) == 3 and all("was stopped on Athena before it finished" in e for e in errors)
    with pytest.raises(QueryError, match="not started: the run is closing"):
        engine.execute("late", "select x from cost", {})


@pytest.fixture
def athena_report(moto_athena: AthenaPlan, tmp_path: Path) -> tuple[Settings, str]:
    """A report of the cost family built on Athena, to chat about."""
    settings = load_settings()
    return settings, make_report(settings, tmp_path, families=["cost"])


def test_the_scan_cap_stops_a_chat_query_on_athena(
    moto_athena: AthenaPlan, athena_report: tuple[Settings, str]
) -> None:
    """Chat SQL that keeps scanning is stopped once it passes FINOPS_CHAT_MAX_SCAN_BYTES."""
    settings, report_id = athena_report
    moto_athena.first("chat_probe", Behaviour(hang=True, scan_per_poll=4_000_000_000))
    capped = settings.model_copy(update={"chat_max_scan_bytes": 10_000_000_000})
    chat = ChatSession(capped, report_id, record=False)
    try:
        turn = chat.ask("/sql select sum(unblended_cost) as chat_probe from cost")
    finally:
        chat.close()
    (probe_id,) = moto_athena.executions_of("chat_probe")
    assert turn.mode == "error" and probe_id in moto_athena.stopped
    assert (
        "was stopped on Athena after scanning 12.00 GB, over the cap of 10.00 GB "
        f"(FINOPS_CHAT_MAX_SCAN_BYTES; execution {probe_id})"
    ) in str(turn.error)


def test_a_chat_timeout_stops_the_athena_query(
    moto_athena: AthenaPlan, athena_report: tuple[Settings, str]
) -> None:
    """A chat query past FINOPS_CHAT_TIMEOUT_S is stopped on Athena, not left running."""
    settings, report_id = athena_report
    moto_athena.first("chat_probe", Behaviour(hang=True))
    chat = ChatSession(settings.model_copy(update={"chat_timeout_s": 1.0}), report_id, record=False)
    try:
        turn = chat.ask("/sql select count(*) as chat_probe from cost")
    finally:
        chat.close()
    (probe_id,) = moto_athena.executions_of("chat_probe")
    assert "ran longer than 1 s (FINOPS_CHAT_TIMEOUT_S) and was stopped" in str(turn.error)
    assert probe_id in moto_athena.stopped and _states(moto_athena)[probe_id] == "CANCELLED"
