"""How a failed stored query travels through Prefect: retried only when it may pass, never cached."""

from __future__ import annotations

import pickle
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from finops_agent.catalog import load_catalog
from finops_agent.engines.base import QueryError
from finops_agent.execution import QueryResult, batch_deadline
from finops_agent.insights.base import Insights
from finops_agent.orchestration import artifacts
from finops_agent.orchestration.retry_policy import (
    QueryFailedError,
    failed_result,
    retry_if_transient,
)
from finops_agent.settings import load_settings

SPEC = load_catalog().queries["window_totals"]


def _failed(
    error: str = "query 'window_totals' failed on Athena: ThrottlingException",
) -> QueryResult:
    return QueryResult(SPEC.name, SPEC.family, SPEC.title, "failed", SPEC.sql, {}, error=error)


class _FailedState:
    """The part of a Prefect Failed state retry_condition_fn uses."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def result(self) -> Any:
        raise self.exc


@pytest.mark.parametrize(
    ("exc", "retry"),
    [
        # Athena throttling or a slow S3 read may pass
        (QueryFailedError(_failed(), transient=True), True),
        # DuckDB over the same local files fails the same way again
        (QueryFailedError(_failed("bad column"), transient=False), False),
        # anything unexpected gets the benefit of the doubt
        (OSError("connection reset"), True),
    ],
)
def test_retry_only_what_may_pass(exc: BaseException, retry: bool) -> None:
    assert retry_if_transient(None, None, _FailedState(exc)) is retry


def test_failure_survives_pickling_with_its_result() -> None:
    exc = QueryFailedError(_failed(), transient=True)
    back = pickle.loads(pickle.dumps(exc))
    assert back.result.error == exc.result.error and back.transient
    assert str(back) == "query 'window_totals' failed on Athena: ThrottlingException"


def test_the_engine_says_whether_a_failure_may_pass_and_the_flag_survives_pickling() -> None:
    assert QueryError("query 'x' failed on DuckDB: bad column").transient is False
    throttled = pickle.loads(pickle.dumps(QueryError("throttled", transient=True)))
    assert throttled.transient and str(throttled) == "throttled"


@pytest.mark.parametrize(
    ("overrides", "deadline", "says"),
    [
        # DuckDB cannot stop one query: FINOPS_QUERY_TIMEOUT_S is the batch deadline
        ({"engine": "duckdb", "query_timeout_s": 300}, 300.0, "FINOPS_QUERY_TIMEOUT_S=300 s"),
        # 29 queries, 5 at a time: 6 waves of 600 s, one more for retries, 60 s for reads
        (
            {"engine": "athena", "athena_max_concurrency": 5, "athena_query_timeout_s": 600},
            7 * 600 + 60.0,
            "29 queries, 5 at a time, FINOPS_ATHENA_QUERY_TIMEOUT_S=600 s each",
        ),
        # more slots than worker threads: the 8 threads are the bound
        (
            {"engine": "athena", "athena_max_concurrency": 20, "athena_query_timeout_s": 60},
            5 * 60 + 60.0,
            "29 queries, 8 at a time",
        ),
    ],
    ids=["duckdb", "athena", "athena-thread-bound"],
)
def test_batch_deadline_is_a_backstop_behind_the_per_query_timeout(
    overrides: dict[str, Any], deadline: float, says: str
) -> None:
    seconds, where = batch_deadline(load_settings(**overrides), queries=29, workers=8)
    assert seconds == deadline and says in where


def test_failed_results_name_the_query_and_the_reason() -> None:
    original = _failed()
    assert failed_result(SPEC, {}, QueryFailedError(original, transient=True)) is original
    late = failed_result(SPEC, {"start_date": "x"}, TimeoutError("no result within 300 s"))
    assert (
        late.status == "failed"
        and late.error == "query 'window_totals' timed out: no result within 300 s"
    )
    crashed = failed_result(SPEC, {}, MemoryError("out of memory"))
    assert crashed.error == "query 'window_totals' failed: MemoryError: out of memory"


def test_artifact_api_failure_returns_warnings_instead_of_raising(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import prefect.artifacts

    def down(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("Prefect API unreachable")

    for name in ("create_markdown_artifact", "create_table_artifact", "create_link_artifact"):
        monkeypatch.setattr(prefect.artifacts, name, down)
    monkeypatch.setattr(artifacts, "summary_markdown", lambda *a: "# summary")
    summary: Any = SimpleNamespace(
        report_id="r1",
        currency="USD",
        metrics=SimpleNamespace(analysis_type="cost"),
        window=SimpleNamespace(label="Oct", period="2026-10"),
    )
    warnings = artifacts.publish_report_artifacts(
        summary, Insights(provider="rules", markdown=""), tmp_path / "report.html"
    )
    assert warnings == [
        f"{what} artifact not created: Prefect API unreachable"
        for what in ("summary", "findings", "link")
    ]
