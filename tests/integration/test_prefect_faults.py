"""A query that hangs past FINOPS_QUERY_TIMEOUT_S costs its section, not the report."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import pytest

from finops_agent.engines.base import EngineResult
from finops_agent.engines.duckdb import DuckDBEngine
from tests import tiny

pytestmark = [pytest.mark.integration, pytest.mark.fault, pytest.mark.timeout(600)]
SLOW = "tag_coverage"


def test_a_hung_query_is_reported_failed_and_the_report_still_renders(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from flows.report import finops_report

    hung_for: list[float] = []
    real = DuckDBEngine.execute

    def slow(self: DuckDBEngine, name: str, sql: str, params: Mapping[str, object]) -> EngineResult:
        if name == SLOW:
            # answers only after twice the deadline
            started = time.monotonic()
            threading.Event().wait(timeout=4)
            hung_for.append(time.monotonic() - started)
        return real(self, name, sql, params)

    monkeypatch.setattr(DuckDBEngine, "execute", slow)
    monkeypatch.setenv("FINOPS_QUERY_TIMEOUT_S", "2")
    path = finops_report(
        source=str(tiny.write("cur", tmp_path / "data")),
        families=["tagging"],
        start="2026-10-01",
        end="2026-11-01",
        output_dir=str(tmp_path / "reports"),
    )
    assert hung_for and hung_for[0] >= 4
    queries = json.loads((Path(path).parent / "report.json").read_text())["queries"]
    assert queries[SLOW]["status"] == "failed"
    assert queries[SLOW]["error"] == (
        f"query '{SLOW}' timed out: no result within FINOPS_QUERY_TIMEOUT_S=2 s"
    )
    assert all(q["status"] == "ok" for name, q in queries.items() if name != SLOW)
    assert "no result within FINOPS_QUERY_TIMEOUT_S=2 s" in Path(path).read_text()
