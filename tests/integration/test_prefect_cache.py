"""Re-running a half-failed report reruns only what failed; a rewritten source reruns everything.

Runs the real `finops-report` flow in-process (Prefect ephemeral mode) and counts how often the
DuckDB engine executes each stored query.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from finops_agent.comparison import PREVIOUS_TOTALS
from finops_agent.currencies import CURRENCY_SURVEY
from finops_agent.engines.base import EngineResult, QueryError
from finops_agent.engines.duckdb import DuckDBEngine
from finops_agent.settings import Settings, load_settings
from tests import tiny
from tests.support.queries import copy_queries, point_queries_at

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]
# one family keeps four runs quick; the totals query always runs as well
FAMILIES = ["tagging"]
FLAKY = "tag_coverage"


class Executions:
    """Counts engine executions per query and fails one query while told to."""

    def __init__(self) -> None:
        self.count: Counter[str] = Counter()
        self.failing: set[str] = set()


@pytest.fixture
def executions(monkeypatch: pytest.MonkeyPatch) -> Executions:
    """Wrap DuckDBEngine.execute with a counter and a switchable failure."""
    seen = Executions()
    real = DuckDBEngine.execute

    def counted(
        self: DuckDBEngine, name: str, sql: str, params: Mapping[str, object]
    ) -> EngineResult:
        seen.count[name] += 1
        if name in seen.failing:
            raise QueryError(f"query {name!r} failed on DuckDB: injected outage")
        return real(self, name, sql, params)

    monkeypatch.setattr(DuckDBEngine, "execute", counted)
    return seen


@pytest.fixture
def result_storage(tmp_path: Path) -> Iterator[Path]:
    """Cached results go to a fresh folder so no earlier session can answer for this one."""
    from prefect.settings import PREFECT_RESULTS_LOCAL_STORAGE_PATH, temporary_settings

    storage = tmp_path / "storage"
    with temporary_settings(updates={PREFECT_RESULTS_LOCAL_STORAGE_PATH: storage}):
        yield storage


def _statuses(report_html: str) -> dict[str, str]:
    sidecar = json.loads((Path(report_html).parent / "report.json").read_text())
    return {name: q["status"] for name, q in sidecar["queries"].items()}


def test_rerun_of_half_failed_report_only_reruns_the_failed_query(
    executions: Executions, result_storage: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.report import finops_report

    monkeypatch.setenv("FINOPS_QUERY_CACHE_HOURS", "1")

    data = tiny.write("cur", tmp_path / "data")
    args = {
        "source": str(data),
        "families": FAMILIES,
        "start": "2026-10-01",
        "end": "2026-11-01",
        "output_dir": str(tmp_path / "reports"),
    }

    # 1. one query fails: the report still renders, the failure is not retried on DuckDB
    executions.failing = {FLAKY}
    first = _statuses(finops_report(**args))
    assert first[FLAKY] == "failed"
    assert all(status == "ok" for name, status in first.items() if name != FLAKY)
    # every run also asks which currencies the window holds (before any cached query can answer)
    queries = set(first) | {CURRENCY_SURVEY}
    assert executions.count == Counter(dict.fromkeys(queries, 1))
    assert any(result_storage.iterdir()), "successful results are persisted for the cache"

    # 2. same inputs, outage over: only the failed query runs again
    executions.failing.clear()
    executions.count.clear()
    second = _statuses(finops_report(**args))
    assert set(second.values()) == {"ok"}
    # plus the currency survey and the previous-period totals: small statements every report runs
    assert executions.count == Counter({FLAKY: 1, CURRENCY_SURVEY: 1, PREVIOUS_TOTALS: 1})

    # 3. the export is rewritten (new mtime): the fingerprint changes, everything reruns
    part = next(data.rglob("*.parquet"))
    os.utime(part, ns=(part.stat().st_atime_ns, part.stat().st_mtime_ns + 10**9))
    executions.count.clear()
    finops_report(**args)
    assert executions.count == Counter(dict.fromkeys(queries, 1))

    # 4. refresh_cache forces a rescan even though nothing changed
    executions.count.clear()
    finops_report(**args, refresh_cache=True)
    assert executions.count == Counter(dict.fromkeys(queries, 1))


def test_cache_off_reruns_every_query(
    executions: Executions, result_storage: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.report import finops_report

    monkeypatch.setenv("FINOPS_QUERY_CACHE_HOURS", "0")
    data = tiny.write("focus", tmp_path / "data")
    args = {"source": str(data), "families": FAMILIES, "start": "2026-10-01", "end": "2026-11-01"}
    finops_report(**args, output_dir=str(tmp_path / "r"))
    first = Counter(executions.count)
    finops_report(**args, output_dir=str(tmp_path / "r"))
    assert executions.count == first + first


def test_the_shipped_cache_default_reuses_results_until_an_adapter_changes(
    executions: Executions, result_storage: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.report import finops_report

    # the suite turns the cache off (tests/conftest.py); this test runs with what users get
    monkeypatch.delenv("FINOPS_QUERY_CACHE_HOURS", raising=False)
    shipped = Settings.model_fields["query_cache_hours"].default
    # twelve hours, as docs/settings.md promises
    assert shipped == 12.0 and load_settings().query_cache_hours == shipped
    queries = copy_queries(tmp_path / "queries")
    point_queries_at(monkeypatch, queries)
    data = tiny.write("cur2", tmp_path / "data")
    args = {
        "source": str(data),
        "families": FAMILIES,
        "start": "2026-10-01",
        "end": "2026-11-01",
        "output_dir": str(tmp_path / "reports"),
    }

    def total(report_html: str) -> float:
        sidecar = json.loads((Path(report_html).parent / "report.json").read_text())
        return float(sidecar["totals"]["unblended_cost"])

    first = finops_report(**args)
    names = set(_statuses(first)) | {CURRENCY_SURVEY}
    assert executions.count == Counter(dict.fromkeys(names, 1))
    assert total(first) == pytest.approx(34.0)

    # same inputs, same code: every stored query is answered from the cache
    executions.count.clear()
    assert total(finops_report(**args)) == pytest.approx(34.0)
    assert executions.count == Counter({CURRENCY_SURVEY: 1, PREVIOUS_TOTALS: 1})

    # the CUR 2.0 adapter changes (as a fix in an upgrade would): nothing cached may answer
    adapter = queries / "sources" / "cur2.sql"
    text = adapter.read_text()
    assert text.count("src.line_item_unblended_cost as unblended_cost") == 1
    adapter.write_text(
        text.replace(
            "src.line_item_unblended_cost as unblended_cost",
            "src.line_item_unblended_cost * 2 as unblended_cost",
        )
    )
    executions.count.clear()
    third = finops_report(**args)
    assert executions.count == Counter(dict.fromkeys(names, 1))
    assert total(third) == pytest.approx(68.0)
