"""How a stored-query task fails: an exception that carries the failed result and says if a retry can help."""

from __future__ import annotations

from typing import Any

from finops_agent.catalog import QuerySpec
from finops_agent.execution import QueryResult
from finops_agent.execution import failed_result as plain_failed_result


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
    return plain_failed_result(spec, params, outcome)


def retry_if_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect `retry_condition_fn`: retry a query only when the engine said another try may pass."""
    try:
        state.result()
    except QueryFailedError as exc:
        return exc.transient
    except Exception:
        return True
    return True
