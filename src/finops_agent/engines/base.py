"""The QueryEngine protocol every engine implements."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import pandas as pd

from finops_agent.errors import UserError


class QueryError(RuntimeError):
    """A query failed; the message names the query and the engine's reason.

    `transient` says whether running it again may succeed (a throttled or briefly unavailable
    service); a wrong query, a missing table, a denied action or a limit we set fail again.
    """

    def __init__(
        self, message: str, *, transient: bool = False, query_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.transient = transient
        # the engine's id of a statement that started and then failed (Athena's execution id)
        self.query_id = query_id


class SourceReadError(QueryError, UserError):
    """The billing files could not be read (a broken file or row); the message names the source."""


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

    def execute(
        self,
        name: str,
        sql: str,
        params: Mapping[str, object],
        *,
        max_scan_bytes: int | None = None,
    ) -> EngineResult:
        """Run one Athena-dialect SELECT that reads `cost`; raise QueryError on failure.

        An engine that bills by the byte stops the query once it has scanned more than
        `max_scan_bytes`; one over local files has nothing to cap and ignores it.
        """
        ...

    def close(self) -> None:
        """Release connections and stop anything still running."""
        ...


# the name an engine's window copy carries in errors, logs and the report's query appendix
EXTRACT_QUERY = "athena_extract"
# the folder under the Athena results location that holds each run's copy while it downloads
EXTRACT_FOLDER = "finops-extract"
# the second copy: the months the comparisons read outside the window, their columns only
EXTRACT_COMPARISONS_QUERY = "athena_extract_comparisons"
# the name the materialise mode's CTAS of the window carries in errors, logs and the appendix
MATERIALISE_QUERY = "athena_materialise"
# the folder under the Athena results location that holds each run's window table's files
MATERIALISE_FOLDER = "finops-materialise"
# where Athena writes a CTAS's files in a workgroup that enforces its settings:
# `<workgroup results>/tables/<query id>/`
ENFORCED_CTAS_FOLDER = "tables"
# the Glue table each run's window is materialised as: the prefix and the run's id
MATERIALISE_TABLE_PREFIX = "finops_window_"
# the local relation the comparisons read in extract mode: the window's rows and those months'
COMPARISON_SOURCE = "comparison_cost"


@dataclass(frozen=True)
class ComparisonExtract:
    """What the comparisons need copied: their statements and the days before the window they read.

    `sqls` are the comparison statements over a stand-in `cost`, for the columns they read.
    Days they read in the window's own months cost no extra partition, so the window's copy
    reaches back to them: `window_sql`/`window_params` is the adapter from the first such day
    to the window's end (None: no such day). `adapter_sql`/`adapter_params` is the adapter
    over the earlier months, from `start` (None: the comparisons read no earlier month).
    """

    sqls: tuple[str, ...]
    start: dt.date
    window_sql: str | None
    window_params: Mapping[str, object]
    adapter_sql: str | None
    adapter_params: Mapping[str, object]


@runtime_checkable
class ExtractsWindow(Protocol):
    """An engine that copies the window once when `cost` is bound (Athena extract mode)."""

    def plan_extract(
        self,
        query_sqls: Sequence[str] | None,
        *,
        max_scan_bytes: int | None = None,
        comparisons: ComparisonExtract | None = None,
    ) -> None:
        """Copy only the columns these statements read (None: all), and what the comparisons read."""
        ...

    def extract_result(self) -> EngineResult | None:
        """The copy's statement as a result (bytes scanned, cost, download size); None before it."""
        ...

    def extract_results(self) -> dict[str, EngineResult]:
        """Every copy's statement as a result by name, the window's first."""
        ...

    def comparison_source(self, start: dt.date, end: dt.date) -> str | None:
        """A SELECT of the local canonical rows from `:start_date` to `:end_date`; None if not copied."""
        ...
