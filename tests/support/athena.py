"""moto's Athena told how to treat chosen queries: answer rows, keep RUNNING, scan, fail, throttle.

moto runs no SQL: every execution succeeds at once with the next queued result. Tests pick
queries by a text their SQL contains (a stored query's opening question) and give each a
behaviour; the patches sit on moto's Athena request handlers, so they act the same under
`mock_aws` and under a `ThreadedMotoServer` in this process. Everything else is moto's own.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pandas as pd
import pytest
from moto.athena.models import QueryResults
from moto.athena.responses import AthenaResponse

from finops_agent.catalog import QuerySpec

__all__ = [
    "REGION",
    "AthenaPlan",
    "Behaviour",
    "answer_like_duckdb",
    "column_info",
    "create_cur2_table",
    "duckdb_answers",
    "marker",
    "rows_of",
]

REGION = "us-east-1"
WINDOW = ("2026-10-01", "2026-11-01")
_GLUE_TYPES = {
    "VARCHAR": "string",
    "DOUBLE": "double",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP_MS": "timestamp",
    "TIMESTAMP_S": "timestamp",
    "MAP(VARCHAR, VARCHAR)": "map<string,string>",
    "BIGINT": "bigint",
}


def create_cur2_table(tmp_path: Path) -> None:
    """Glue table cur.cost_and_usage with CUR 2.0's columns (from the tiny dataset), partitioned by
    billing_period, and the athena-results bucket, on whatever moto boto3 reaches."""
    from tests import tiny

    folder = tiny.write("cur2", tmp_path / "cur2")
    described = duckdb.sql(
        f"describe select * from read_parquet('{folder}/**/*.parquet', hive_partitioning=false)"
    ).fetchall()
    glue = boto3.client("glue", region_name=REGION)
    glue.create_database(DatabaseInput={"Name": "cur"})
    glue.create_table(
        DatabaseName="cur",
        TableInput={
            "Name": "cost_and_usage",
            "StorageDescriptor": {
                "Columns": [
                    {"Name": n, "Type": _GLUE_TYPES.get(str(t), "string")} for n, t, *_ in described
                ],
                "Location": "s3://cur-bucket/cur/",
            },
            "PartitionKeys": [{"Name": "billing_period", "Type": "string"}],
        },
    )
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="athena-results")


@dataclass
class Behaviour:
    """What moto does with the executions of one query."""

    # header row then data rows, all as text (the result CSV Athena would write)
    columns: list[str] = field(default_factory=list)
    # a cell's text, or None for NULL (Athena leaves its VarCharValue out)
    rows: list[list[str | None]] = field(default_factory=list)
    # stay RUNNING until StopQueryExecution
    hang: bool = False
    # stay RUNNING for this many GetQueryExecution calls, then succeed
    running_polls: int = 0
    # DataScannedInBytes added on every GetQueryExecution while it runs
    scan_per_poll: int = 0
    # DataScannedInBytes reported once it has succeeded (moto reports none of its own)
    scanned: int = 0
    # end FAILED with this Status.AthenaError (and its ErrorMessage as the reason)
    athena_error: dict[str, Any] | None = None
    # (error code, message) returned to the first StartQueryExecution calls, one each
    refuse: list[tuple[str, str]] = field(default_factory=list)


def marker(spec: QuerySpec) -> str:
    """The opening question of a stored query, which the SQL sent to Athena keeps as a comment."""
    return spec.sql.splitlines()[0].removeprefix("--").strip()


def rows_of(frame: pd.DataFrame) -> tuple[list[str], list[list[str | None]]]:
    """A result frame as Athena's text cells (NULL as None, empty text as '')."""

    def text(value: Any) -> str | None:
        missing = (
            value is None
            or value is pd.NaT
            or value is pd.NA
            or (isinstance(value, float) and value != value)
        )
        return None if missing else str(value)

    return list(map(str, frame.columns)), [
        [text(v) for v in row] for row in frame.itertuples(index=False)
    ]


class AthenaPlan:
    """Behaviours by SQL text, plus what moto saw: start requests and stopped execution ids."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._rules: list[tuple[str, Behaviour]] = []
        self._by_id: dict[str, Behaviour] = {}
        self._polls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.starts: list[dict[str, Any]] = []
        self.refused: Counter[str] = Counter()
        self.stopped: list[str] = []
        # executions kept RUNNING now, the most at once, and a flag raised by the first one
        self.active: set[str] = set()
        self.peak = 0
        self.running = threading.Event()
        plan = self
        start, describe, stop = (
            AthenaResponse.start_query_execution,
            AthenaResponse.get_query_execution,
            AthenaResponse.stop_query_execution,
        )

        def start_query_execution(self: AthenaResponse) -> Any:
            return plan._start(self, start)

        def get_query_execution(self: AthenaResponse) -> str:
            plan._tick(self)
            return plan._describe(self, describe(self))

        def stop_query_execution(self: AthenaResponse) -> str:
            with plan._lock:
                plan.stopped.append(self._get_param("QueryExecutionId"))
                plan.active.discard(self._get_param("QueryExecutionId"))
            return stop(self)

        monkeypatch.setattr(AthenaResponse, "start_query_execution", start_query_execution)
        monkeypatch.setattr(AthenaResponse, "get_query_execution", get_query_execution)
        monkeypatch.setattr(AthenaResponse, "stop_query_execution", stop_query_execution)

    def when(self, text: str, behaviour: Behaviour) -> None:
        """Treat every query whose SQL contains `text` this way (first matching rule wins)."""
        self._rules.append((text, behaviour))

    def rule(self, text: str) -> Behaviour:
        """The behaviour given for exactly `text`, to change it in place."""
        return next(b for t, b in self._rules if t == text)

    def first(self, text: str, behaviour: Behaviour) -> None:
        """Like `when`, ahead of every rule given so far."""
        self._rules.insert(0, (text, behaviour))

    def executions_of(self, text: str) -> list[str]:
        """Execution ids started for queries whose SQL contains `text`, in start order."""
        return [s["id"] for s in self.starts if text in s["QueryString"]]

    def running_and_polled(self) -> set[str]:
        """Executions kept RUNNING that the client has polled at least once (so it holds their ids)."""
        with self._lock:
            return {qid for qid in self.active if self._polls[qid] > 0}

    def _match(self, sql: str) -> tuple[str, Behaviour] | None:
        return next(((t, b) for t, b in self._rules if t in sql), None)

    def _start(self, response: AthenaResponse, start: Any) -> Any:
        request = {
            key: response._get_param(key)
            for key in (
                "QueryString",
                "ExecutionParameters",
                "WorkGroup",
                "ResultConfiguration",
                "ResultReuseConfiguration",
            )
        }
        matched = self._match(request["QueryString"] or "")
        if matched is not None:
            text, behaviour = matched
            with self._lock:
                turn = self.refused[text]
                if turn < len(behaviour.refuse):
                    self.refused[text] += 1
            if turn < len(behaviour.refuse):
                code, message = behaviour.refuse[turn]
                return json.dumps({"__type": code, "Message": message}), {"status": 400}
        reply = start(response)
        if not isinstance(reply, str):  # moto's own refusal (an unknown workgroup)
            return reply
        qid = json.loads(reply)["QueryExecutionId"]
        with self._lock:
            self.starts.append({**request, "id": qid})
        if matched is not None:
            self._shape(response, qid, matched[1])
        return reply

    def _shape(self, response: AthenaResponse, qid: str, behaviour: Behaviour) -> None:
        backend = response.athena_backend
        execution = backend.executions[qid]
        with self._lock:
            self._by_id[qid] = behaviour
        if behaviour.hang or behaviour.running_polls:
            execution._transitions = [("QUEUED", "RUNNING")]
            with self._lock:
                self.active.add(qid)
                self.peak = max(self.peak, len(self.active))
            self.running.set()
        elif behaviour.athena_error is not None:
            execution._transitions = [("QUEUED", "FAILED")]
        if behaviour.columns:
            header = [{"Data": [{"VarCharValue": c} for c in behaviour.columns]}]
            # NULL has no VarCharValue: moto then writes it unquoted in the CSV, as Athena does
            data = [
                {"Data": [{} if v is None else {"VarCharValue": v} for v in row]}
                for row in behaviour.rows
            ]
            info = [column_info(c) for c in behaviour.columns]
            backend.query_results[qid] = QueryResults(rows=header + data, column_info=info)
            backend._store_query_result_in_s3(qid)

    def _tick(self, response: AthenaResponse) -> None:
        """Count a poll; let an execution that ran its polls succeed, and track how many run."""
        qid = response._get_param("QueryExecutionId")
        behaviour = self._by_id.get(qid)
        if behaviour is None:
            return
        with self._lock:
            self._polls[qid] += 1
            polls = self._polls[qid]
        if behaviour.running_polls and polls > behaviour.running_polls:
            execution = response.athena_backend.executions[qid]
            execution._transitions = [("QUEUED", "RUNNING"), ("RUNNING", "SUCCEEDED")]
            with self._lock:
                self.active.discard(qid)

    def _describe(self, response: AthenaResponse, reply: str) -> str:
        described = json.loads(reply)
        execution = described["QueryExecution"]
        behaviour = self._by_id.get(execution["QueryExecutionId"])
        if behaviour is None:
            return reply
        status = execution["Status"]
        if status["State"] == "RUNNING" and behaviour.scan_per_poll:
            polls = self._polls[execution["QueryExecutionId"]]
            execution["Statistics"]["DataScannedInBytes"] = polls * behaviour.scan_per_poll
        if status["State"] == "SUCCEEDED" and behaviour.scanned:
            execution.setdefault("Statistics", {})["DataScannedInBytes"] = behaviour.scanned
        if status["State"] == "FAILED" and behaviour.athena_error is not None:
            status["AthenaError"] = behaviour.athena_error
            status["StateChangeReason"] = behaviour.athena_error.get("ErrorMessage", "")
        return json.dumps(described)


def column_info(name: str) -> dict[str, Any]:
    """Athena's ColumnInfo of a varchar result column."""
    return {
        "Name": name,
        "Label": name,
        "Type": "varchar",
        "CatalogName": "hive",
        "SchemaName": "cur",
        "TableName": "t",
        "Precision": 0,
        "Scale": 0,
        "Nullable": "UNKNOWN",
        "CaseSensitive": True,
    }


def duckdb_answers(tmp_path: Path) -> dict[str, pd.DataFrame]:
    """What DuckDB computes on the tiny CUR 2.0 data for the test window, by the text that picks
    each query out: every stored query and the previous-period totals."""
    from finops_agent.comparison import (
        month_to_date_reach,
        month_to_date_sql,
        previous_period_totals,
    )
    from finops_agent.currencies import run_survey
    from finops_agent.execution import run_query
    from finops_agent.pipeline import prepare_run
    from finops_agent.settings import load_settings
    from finops_agent.sources import cost_sql
    from tests import tiny

    settings = load_settings(engine="duckdb")
    local = prepare_run(
        settings,
        source=str(tiny.write("cur2", tmp_path / "local")),
        start=WINDOW[0],
        end=WINDOW[1],
    )
    try:
        answers = {marker(s): run_query(local.engine, s, local.params).frame for s in local.specs}
        # the currencies and providers a report run surveys before it binds `cost`
        survey, _ = run_survey(local.engine)
        previous = previous_period_totals(
            local.engine,
            local.schema,  # type: ignore[arg-type]
            local.window,
            settings.tag_keys,
        )
        # the month-to-date comparison's own daily totals, before the report shapes them
        adapter = cost_sql(
            local.schema,  # type: ignore[arg-type]
            local.engine.source_relation(),
            local.engine.source_columns(),
            month_to_date_reach(local.window),
            settings.tag_keys,
        )
        daily_sql = month_to_date_sql(adapter.sql)
        daily = local.engine.execute("month_to_date", daily_sql, adapter.params).frame
    finally:
        local.engine.close()
    return {
        **answers,
        survey.sql.splitlines()[0].removeprefix("--").strip(): survey.frame,
        previous.sql.splitlines()[0].removeprefix("--").strip(): previous.frame,
        daily_sql.splitlines()[0].removeprefix("--").strip(): daily,
    }


def answer_like_duckdb(plan: AthenaPlan, answers: dict[str, pd.DataFrame]) -> None:
    """A rule per query: answer with DuckDB's rows (from `duckdb_answers`)."""
    for text, frame in answers.items():
        columns, rows = rows_of(frame)
        plan.when(text, Behaviour(columns=columns, rows=rows))
