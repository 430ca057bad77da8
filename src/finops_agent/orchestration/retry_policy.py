"""How a stored-query task fails: an exception that carries the failed result and says if a retry can help."""

from __future__ import annotations

import math
from typing import Any

from finops_agent.catalog import QuerySpec
from finops_agent.execution import QueryResult
from finops_agent.settings import Settings

# what a batch deadline allows on top of the query waves: result reads, retry delays
_BATCH_SLACK_S = 60.0


class QueryFailedError(RuntimeError):
    """A stored query failed; raised (not returned) so Prefect never caches the failure."""

    def __init__(self, result: QueryResult, *, transient: bool) -> None:
        super().__init__(result.error or f"query {result.name!r} failed")
        self.result = result
        self.transient = transient

    def __reduce__(self) -> tuple[Any, ...]:
        # Prefect may pickle a failed state's exception; keep the result and flag across it.
        return (_rebuild, (self.result, self.transient))


def _rebuild(result: QueryResult, transient: bool) -> QueryFailedError:
    return QueryFailedError(result, transient=transient)


def failed_result(spec: QuerySpec, params: dict[str, Any], outcome: object) -> QueryResult:
    """The failed QueryResult for a task that raised (query error, timeout, crash)."""
    if isinstance(outcome, QueryFailedError):
        return outcome.result
    if isinstance(outcome, TimeoutError):
        reason = f"query {spec.name!r} timed out: {outcome}"
    else:
        reason = f"query {spec.name!r} failed: {type(outcome).__name__}: {outcome}"
    return QueryResult(spec.name, spec.family, spec.title, "failed", spec.sql, params, error=reason)


def retry_if_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect `retry_condition_fn`: retry a query only when the engine said another try may pass."""
    try:
        state.result()
    except QueryFailedError as exc:
        return exc.transient
    except Exception:
        return True
    return True


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
