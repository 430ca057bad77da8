"""The in-process report run: retries only what the engine calls transient, a crash or a late query
fails its own section, results come back in catalog order."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from finops_agent.catalog import QuerySpec
from finops_agent.engines.base import QueryEngine
from finops_agent.execution import QueryResult
from finops_agent.execution import run_query as real_run_query
from finops_agent.pipeline import PreparedRun, prepare_run
from finops_agent.runs import report as runs
from finops_agent.runs.report import ReportRequest, run_queries_in_process, run_query_with_retries
from finops_agent.settings import load_settings
from tests import tiny


@pytest.fixture
def run(tmp_path: Path) -> Iterator[PreparedRun]:
    source = tiny.write("cur2", tmp_path / "data")
    settings = load_settings(output_dir=tmp_path / "out", query_timeout_s=5.0)
    prepared = prepare_run(
        settings, source=str(source), families=["cost"], start="2026-10-01", end="2026-11-01"
    )
    yield prepared
    prepared.engine.close()


def _failed(spec: QuerySpec, transient: bool) -> QueryResult:
    return QueryResult(
        spec.name,
        spec.family,
        spec.title,
        "failed",
        spec.sql,
        {},
        error="throttled",
        transient=transient,
    )


@pytest.mark.parametrize(("transient", "calls"), [(True, 2), (False, 1)])
def test_a_query_is_retried_only_when_the_engine_says_another_try_can_pass(
    run: PreparedRun, monkeypatch: pytest.MonkeyPatch, transient: bool, calls: int
) -> None:
    made: list[str] = []

    def flaky(engine: QueryEngine, spec: QuerySpec, params: dict[str, Any]) -> QueryResult:
        made.append(spec.name)
        if len(made) == 1:
            return _failed(spec, transient)
        return real_run_query(engine, spec, params)

    monkeypatch.setattr(runs, "run_query", flaky)
    result = run_query_with_retries(run, run.specs[0], delays=(0.0, 0.0))
    assert len(made) == calls
    assert result.ok is transient


def test_a_crash_or_a_late_query_fails_its_own_section_only(
    run: PreparedRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    crash, late = run.specs[1].name, run.specs[2].name
    release = threading.Event()

    def odd(engine: QueryEngine, spec: QuerySpec, params: dict[str, Any]) -> QueryResult:
        if spec.name == crash:
            raise RuntimeError("engine fell over")
        if spec.name == late:
            # held past the batch deadline, let go at the end of the test; it never touches the
            # engine again, so the fixture can close it while this thread winds down
            release.wait(30)
            return _failed(spec, transient=False)
        return real_run_query(engine, spec, params)

    monkeypatch.setattr(runs, "run_query", odd)
    # the DuckDB batch deadline is FINOPS_QUERY_TIMEOUT_S
    monkeypatch.setattr(run.settings, "query_timeout_s", 2.0)
    try:
        results = run_queries_in_process(run, ReportRequest())
    finally:
        release.set()
    assert [r.name for r in results] == [s.name for s in run.specs]
    by_name = {r.name: r for r in results}
    assert by_name[crash].error == f"query {crash!r} failed: RuntimeError: engine fell over"
    assert by_name[late].error == (
        f"query {late!r} timed out: no result within FINOPS_QUERY_TIMEOUT_S=2 s"
    )
    assert all(r.ok for r in results if r.name not in (crash, late))
