"""The QueryEngine protocol every engine implements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import pandas as pd


class QueryError(RuntimeError):
    """A query failed; the message names the query and the engine's reason."""


@dataclass
class EngineResult:
    """A query's rows plus what the engine says about running it."""

    frame: pd.DataFrame
    sql: str
    query_id: str | None = None
    bytes_scanned: int | None = None
    engine_time_s: float | None = None
    scan_cost_usd: float | None = None


class QueryEngine(Protocol):
    """Runs stored Athena-dialect SQL against one billing source."""

    name: str
    source_label: str

    def source_columns(self) -> dict[str, str]:
        """Raw column names of the source mapped to their SQL types."""
        ...

    def source_relation(self) -> str:
        """The relation (validated identifiers) the source adapter selects from."""
        ...

    def bind_cost(self, cost_sql: str, params: Mapping[str, object]) -> None:
        """Make the canonical `cost` relation (adapter SQL) available to later queries."""
        ...

    def execute(self, name: str, sql: str, params: Mapping[str, object]) -> EngineResult:
        """Run one Athena-dialect SELECT that reads `cost`; raise QueryError on failure."""
        ...

    def close(self) -> None:
        """Release connections and stop anything still running."""
        ...
