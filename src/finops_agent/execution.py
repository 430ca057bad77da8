"""Run stored queries on an engine; a failed query becomes a failed result, never an exception."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from finops_agent.catalog import QuerySpec
from finops_agent.engines.base import MATERIALISE_QUERY, EngineResult, QueryEngine, QueryError
from finops_agent.settings import Settings

QueryStatus = Literal["ok", "failed"]
# what a batch deadline allows on top of the query waves: result reads, retry delays
_BATCH_SLACK_S = 60.0


@dataclass
class QueryResult:
    """One stored query's outcome: its rows or its error, with what running it cost."""

    name: str
    family: str
    title: str
    status: QueryStatus
    sql: str
    params: dict[str, Any]
    frame: pd.DataFrame = field(default_factory=pd.DataFrame)
    error: str | None = None
    runtime_s: float = 0.0
    query_id: str | None = None
    bytes_scanned: int | None = None
    scan_cost_usd: float | None = None
    engine_time_s: float | None = None
    # a failure that running the query again may get past (see QueryError.transient)
    transient: bool = False
    # bytes this machine downloaded for the statement (Athena extract mode's UNLOAD); report.json
    # keeps it in the statement's rows, the HTML appendix shows it beside the bytes scanned
    download_bytes: int | None = None

    @property
    def rows(self) -> int:
        """Number of result rows (0 for a failed query)."""
        return len(self.frame)

    @property
    def ok(self) -> bool:
        """True when the query ran."""
        return self.status == "ok"

    def meta(self) -> dict[str, Any]:
        """Everything but the rows, as JSON-ready values."""
        return {
            "name": self.name,
            "family": self.family,
            "title": self.title,
            "status": self.status,
            "rows": self.rows,
            "runtime_s": round(self.runtime_s, 3),
            "error": self.error,
            "sql": self.sql,
            "params": {k: str(v) for k, v in self.params.items()},
            "query_id": self.query_id,
            "bytes_scanned": self.bytes_scanned,
            "scan_cost_usd": self.scan_cost_usd,
            "engine_time_s": self.engine_time_s,
        }


def bound_params(spec: QuerySpec, params: dict[str, Any]) -> dict[str, Any]:
    """The values one stored query declares (defaults filled in) plus the window."""
    return {
        **spec.bind(params),
        **{k: v for k, v in params.items() if k in ("start_date", "end_date")},
    }


def run_query(engine: QueryEngine, spec: QuerySpec, params: dict[str, Any]) -> QueryResult:
    """Run one stored query with its declared parameters plus the window; never raises QueryError."""
    bound = bound_params(spec, params)
    started = time.perf_counter()
    try:
        result = engine.execute(spec.name, spec.sql, {**params, **bound})
    except QueryError as exc:
        return QueryResult(
            spec.name,
            spec.family,
            spec.title,
            "failed",
            spec.sql,
            bound,
            error=str(exc),
            runtime_s=time.perf_counter() - started,
            transient=exc.transient,
        )
    return engine_result(spec, result.sql, bound, result, time.perf_counter() - started)


def engine_result(
    spec: QuerySpec, sql: str, params: dict[str, Any], result: EngineResult, runtime_s: float
) -> QueryResult:
    """The ok QueryResult of one statement the engine answered, with what it cost."""
    return QueryResult(
        spec.name,
        spec.family,
        spec.title,
        "ok",
        sql,
        params,
        frame=result.frame,
        runtime_s=runtime_s,
        query_id=result.query_id,
        bytes_scanned=result.bytes_scanned,
        scan_cost_usd=result.scan_cost_usd,
        engine_time_s=result.engine_time_s,
    )


EXTRACT_TITLE = "Window extract (one UNLOAD to Parquet, read locally)"
MATERIALISE_TITLE = "Window table (one CTAS to Parquet, every query on Athena over it)"


def extract_query_result(name: str, result: EngineResult) -> QueryResult:
    """The statement that copied the window (Athena extract or materialise mode) as an appendix row.

    An extract's frame holds `files` and `download_bytes` (the download size is carried to the
    report); a materialised table's holds `files` and `table_bytes`, and nothing is downloaded.
    """
    download = result.frame["download_bytes"].iloc[0] if "download_bytes" in result.frame else None
    return QueryResult(
        name,
        "cost",
        MATERIALISE_TITLE if name == MATERIALISE_QUERY else EXTRACT_TITLE,
        "ok",
        result.sql,
        {},
        frame=result.frame,
        runtime_s=result.engine_time_s or 0.0,
        query_id=result.query_id,
        bytes_scanned=result.bytes_scanned,
        scan_cost_usd=result.scan_cost_usd,
        engine_time_s=result.engine_time_s,
        download_bytes=None if download is None else int(download),
    )


def failed_result(spec: QuerySpec, params: dict[str, Any], outcome: object) -> QueryResult:
    """The failed QueryResult for a query that raised instead of returning (timeout, crash)."""
    if isinstance(outcome, TimeoutError):
        reason = f"query {spec.name!r} timed out: {outcome}"
    else:
        reason = f"query {spec.name!r} failed: {type(outcome).__name__}: {outcome}"
    return QueryResult(spec.name, spec.family, spec.title, "failed", spec.sql, params, error=reason)


def batch_deadline(settings: Settings, queries: int, workers: int) -> tuple[float, str]:
    """Seconds a batch of stored queries may take in all, and a phrase naming the settings behind it."""
    if settings.engine != "athena":
        # DuckDB cannot stop one query by time: FINOPS_QUERY_TIMEOUT_S bounds the whole batch
        return settings.query_timeout_s, f"FINOPS_QUERY_TIMEOUT_S={settings.query_timeout_s:g} s"
    # Athena stops each query at its own timeout, so this is a backstop: the queries run in
    # waves of `at_once`, each wave ends within one per-query timeout, and one wave more covers
    # retried queries and result reads:
    #     deadline = (ceil(queries / at_once) + 1) * FINOPS_ATHENA_QUERY_TIMEOUT_S + slack
    at_once = max(1, min(settings.athena_max_concurrency, workers))
    waves = math.ceil(queries / at_once) + 1
    deadline = waves * settings.athena_query_timeout_s + _BATCH_SLACK_S
    return deadline, (
        f"the batch deadline of {deadline:g} s ({queries} queries, {at_once} at a time, "
        f"FINOPS_ATHENA_QUERY_TIMEOUT_S={settings.athena_query_timeout_s:g} s each)"
    )
