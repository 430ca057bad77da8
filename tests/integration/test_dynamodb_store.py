"""The DynamoDB interaction log against real local servers: indexes, pagination, size limits, outages."""

from __future__ import annotations

import gzip
import threading
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from finops_agent.store.base import Interaction
from finops_agent.store.dynamodb import DynamoDBStore, ItemTooLargeError
from tests.integration.dynamo_servers import Dynalite, client, free_port
from tests.support.bounded import join_all

pytestmark = pytest.mark.integration


def _item(**kw: object) -> Interaction:
    return Interaction(
        kind="chat", user_query=kw.pop("q", "which gp2 volumes?"), agent_response="vol-1", **kw
    )  # type: ignore[arg-type]


def _store(url: str, tmp_path: Path, **kw: object) -> DynamoDBStore:
    store = DynamoDBStore(
        "finops-agent-interactions", client(url), spool_dir=tmp_path / "spool", **kw
    )  # type: ignore[arg-type]
    store.create_table()
    return store


def test_table_indexes_and_pagination_on_dynalite(dynalite: Dynalite, tmp_path: Path) -> None:
    store = _store(dynalite.url, tmp_path, page_size=7)
    # a second setup is a no-op that says so
    assert store.create_table()[0] == "table finops-agent-interactions exists"
    described = client(dynalite.url).describe_table(TableName="finops-agent-interactions")["Table"]
    assert {i["IndexName"] for i in described["GlobalSecondaryIndexes"]} == {
        "by_session",
        "by_report",
    }
    assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    items = [
        _item(session_id="s-1" if i % 3 else "s-2", report_id="r-1", q=f"question {i} — ünïcødé")
        for i in range(40)
    ]
    for item in items:
        store.put(item)
    store.put(items[0])  # idempotent
    session = store.by_session("s-1")  # 27 items over pages of 7
    assert len(session) == sum(1 for i in range(40) if i % 3)
    assert [i.timestamp for i in session] == sorted(i.timestamp for i in session)
    assert len(store.by_report("r-1")) == 40
    # items without a session id stay out of the session index instead of failing the write
    store.put(_item(report_id="r-2"))
    assert len(store.by_report("r-2")) == 1
    got = store.get(items[5].interaction_id)
    assert got is not None and got.user_query == "question 5 — ünïcødé"


def test_large_items_are_compressed_not_truncated(dynalite: Dynalite, tmp_path: Path) -> None:
    store = _store(dynalite.url, tmp_path)
    text = "".join(
        f"line {i}: spend on service {i % 50} moved\n" for i in range(40_000)
    )  # ~1.4 MB, compressible
    big = _item(q=text, data_context={"rows": list(range(5000))})
    store.put(big)
    raw = client(dynalite.url).get_item(
        TableName="finops-agent-interactions", Key={"interaction_id": {"S": big.interaction_id}}
    )["Item"]
    assert "user_query_gz" in raw and gzip.decompress(raw["user_query_gz"]["B"]).decode() == text
    got = store.get(big.interaction_id)
    assert got is not None and got.user_query == text and got.data_context["rows"][-1] == 4999


def test_incompressible_items_need_s3_and_are_offloaded_there(tmp_path: Path) -> None:
    import os

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        url = f"http://127.0.0.1:{port}"
        noise = os.urandom(600_000).hex()  # random: gzip cannot bring it under 400 KB
        with pytest.raises(ItemTooLargeError, match="FINOPS_LOG_S3_BUCKET"):
            _store(url, tmp_path).put(_item(q=noise))
        s3 = boto3.client(
            "s3",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        s3.create_bucket(Bucket="finops-log")
        store = _store(
            url, tmp_path, s3_client=s3, s3_bucket="finops-log", s3_prefix="interactions"
        )
        item = _item(q=noise, report_id="r-9")
        store.put(item)
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="finops-log")["Contents"]]
        assert keys == [f"interactions/{item.interaction_id}.json.gz"]
        got = store.by_report("r-9")[0]
        assert got.user_query == noise
        # TTL is on (moto implements UpdateTimeToLive; dynalite does not)
        ttl = client(url).describe_time_to_live(TableName="finops-agent-interactions")[
            "TimeToLiveDescription"
        ]
        assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"}
    finally:
        server.stop()


@pytest.mark.fault
def test_an_outage_spools_and_replay_delivers_each_item_once(
    dynalite: Dynalite, tmp_path: Path
) -> None:
    store = _store(dynalite.url, tmp_path)
    before = [_item(session_id="s") for _ in range(5)]
    during = [_item(session_id="s") for _ in range(7)]
    for item in before:
        store.put(item)
    dynalite.stop()  # DynamoDB goes away mid-run
    for item in during:
        store.put(item)  # does not raise: spooled
    assert store.spooled() == 7
    assert store.replay() == 0 and store.spooled() == 7  # still down: nothing lost
    dynalite.start()  # back, same port and data
    assert store.replay() == 7
    assert store.spooled() == 0
    assert store.replay() == 0  # a second replay delivers nothing twice
    stored = store.by_session("s")
    assert sorted(i.interaction_id for i in stored) == sorted(
        i.interaction_id for i in before + during
    )


def test_concurrent_writers_and_ratings(dynalite: Dynalite, tmp_path: Path) -> None:
    store = _store(dynalite.url, tmp_path)
    items = [_item(report_id="r-c") for _ in range(30)]
    errors: list[BaseException] = []
    # every writer has written once before any writer goes on: the writes interleave
    first_written = threading.Barrier(5, timeout=60)

    def write(chunk: list[Interaction]) -> None:
        try:
            store.put(chunk[0])
            first_written.wait()
            for item in chunk[1:]:
                store.put(item)
        except BaseException as exc:  # a thread's failure must fail the test, not vanish
            errors.append(exc)
            first_written.abort()

    threads = [
        threading.Thread(target=write, args=(items[i::5],), name=f"writer-{i}") for i in range(5)
    ]
    for t in threads:
        t.start()
    join_all(threads, 120, "DynamoDB writers")
    assert errors == []
    assert len(store.by_report("r-c")) == 30
    store.rate(items[0].interaction_id, 1, "useful")
    rated = store.get(items[0].interaction_id)
    assert rated is not None and rated.rating == 1 and rated.rating_comment == "useful"
    with pytest.raises(KeyError, match="nope"):
        store.rate("nope", -1)


def test_a_report_run_logs_its_insight_to_dynamodb(
    dynalite: Dynalite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from finops_agent.execution import run_query
    from finops_agent.insights.generate import generate_insights
    from finops_agent.insights.query_rules import RuleInsights
    from finops_agent.pipeline import insight_interaction, prepare_run, summarise_run
    from finops_agent.settings import load_settings
    from finops_agent.store.recording import log_interaction, open_store
    from tests import tiny

    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    settings = load_settings(
        store="dynamodb",
        dynamodb_endpoint_url=dynalite.url,
        home=tmp_path / "home",
        output_dir=tmp_path / "reports",
    )
    _store(dynalite.url, tmp_path)  # `finops setup dynamodb`
    run = prepare_run(
        settings,
        source=str(tiny.write("cur2", tmp_path / "data")),
        start="2026-10-01",
        end="2026-11-01",
    )
    results = [run_query(run.engine, spec, run.params) for spec in run.specs]
    run.engine.close()
    summary = summarise_run(run, results)
    insights = generate_insights(RuleInsights(), summary)
    store, warning = open_store(settings)
    assert warning is None and isinstance(store, DynamoDBStore)
    assert log_interaction(store, insight_interaction(summary, insights)) is None
    (logged,) = store.by_report(summary.report_id)
    assert logged.kind == "insight" and logged.agent_response == insights.markdown
    assert {f["query"] for f in logged.data_context["findings"]} == {
        f.query for f in insights.findings
    }
