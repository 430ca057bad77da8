"""Chat on an analysed file: a QueryEngine over the reopened `results` views of a report.json."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from typing import Any

import duckdb
import sqlglot

from finops_agent.analyze.dataset import RESULTS_VIEW, reopen
from finops_agent.engines.base import EngineResult, QueryError
from finops_agent.engines.sql import to_duckdb, used_params
from finops_agent.pipeline import PreparedRun
from finops_agent.settings import Settings
from finops_agent.window import Window

FILE_SCHEMA = "file"
# Chat SQL written for billing reports reads `cost`: on a file it is the same rows as `results`.
COST_VIEW = "cost"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class FileEngine:
    """Runs chat SQL (Athena dialect, transpiled) on the views of an analysed report."""

    name = "duckdb"

    def __init__(self, report: Mapping[str, Any]) -> None:
        meta = report.get("file") or {}
        self.source_label = str(report.get("source", ""))
        self.views = [str(v) for v in meta.get("views", [RESULTS_VIEW])]
        self._con = reopen(list(meta.get("read_options", [])))
        self.bind_cost(f"select * from {RESULTS_VIEW}", {})

    def source_columns(self) -> dict[str, str]:
        """Columns of `results` and their DuckDB types."""
        rows = self._con.execute(f"describe {RESULTS_VIEW}").fetchall()
        return {str(r[0]): str(r[1]) for r in rows}

    def source_relation(self) -> str:
        """The view holding every analysed row."""
        return RESULTS_VIEW

    def bind_cost(self, cost_sql: str, params: Mapping[str, object]) -> None:
        """Make `cost` a view of the given SELECT (by default all of `results`)."""
        sql, names = to_duckdb(cost_sql)
        try:
            self._con.execute(
                f"create or replace view {COST_VIEW} as {sql}",
                used_params(names, params, query=COST_VIEW),
            )
        except duckdb.Error as exc:
            raise QueryError(f"binding cost on {self.source_label}: {_first_line(exc)}") from None

    def execute(self, name: str, sql: str, params: Mapping[str, object]) -> EngineResult:
        """Run one Athena-dialect SELECT over the file views; raise QueryError on failure."""
        try:
            duck_sql, names = to_duckdb(sql)
        except sqlglot.errors.SqlglotError as exc:
            raise QueryError(f"query {name!r} does not parse: {_first_line(exc)}") from None
        started = time.perf_counter()
        cursor = self._con.cursor()
        try:
            frame = cursor.execute(duck_sql, used_params(names, params, query=name)).df()
        except (duckdb.Error, KeyError) as exc:
            raise QueryError(
                f"query {name!r} failed on {self.source_label}: {_first_line(exc)}"
            ) from None
        finally:
            cursor.close()
        return EngineResult(frame=frame, sql=sql, engine_time_s=time.perf_counter() - started)

    def interrupt(self) -> None:
        """Stop the query that is running (the chat timeout)."""
        self._con.interrupt()

    def close(self) -> None:
        """Close the DuckDB connection."""
        self._con.close()


def is_file_report(report: Mapping[str, Any]) -> bool:
    """True for a report.json written by `finops analyze`."""
    return report.get("schema") == FILE_SCHEMA and isinstance(report.get("file"), dict)


def file_relations(report: Mapping[str, Any]) -> frozenset[str]:
    """The relations chat SQL may read on an analysed report."""
    views = (report.get("file") or {}).get("views", [RESULTS_VIEW])
    return frozenset({COST_VIEW, RESULTS_VIEW, *(str(v) for v in views)})


def file_run(report: Mapping[str, Any], settings: Settings) -> PreparedRun:
    """A PreparedRun over an analysed report's files, for ChatSession to run SQL on."""
    window = Window(
        dt.date.fromisoformat(report["window"]["start"]),
        dt.date.fromisoformat(report["window"]["end"]),
    )
    return PreparedRun(
        report_id=str(report["report_id"]),
        generated_at=str(report.get("generated_at", "")),
        engine=FileEngine(report),
        schema=FILE_SCHEMA,
        window=window,
        families=list(report.get("families", [])),
        specs=[],
        params={"start_date": window.start, "end_date": window.end},
        settings=settings,
    )
