"""What a chat queries: the report's windowed `cost` relation, or an analysed file's `results`."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any, Protocol

import duckdb
import pandas as pd
import sqlglot
from sqlglot import exp

from finops_agent.catalog import load_catalog
from finops_agent.engines.base import QueryError
from finops_agent.pipeline import PreparedRun, prepare_run
from finops_agent.reports.document import ReportDocument
from finops_agent.settings import Settings
from finops_agent.sources import COST_COLUMNS
from finops_agent.window import Window

__all__ = [
    "COST_COLUMNS",
    "ChatData",
    "CostData",
    "FileData",
    "comparison_start",
    "open_data",
    "within_window",
]


class ChatData(Protocol):
    """The relations a chat may read, how to describe them to a model, and how to query them."""

    relations: frozenset[str]
    dialect: str

    def describe(self) -> str:
        """The tables and columns, as the SQL-writing prompt shows them."""
        ...

    def rules(self) -> str:
        """Dialect-specific hints for the SQL-writing prompt."""
        ...

    def run(self, sql: str) -> pd.DataFrame:
        """Run checked SQL; raise QueryError naming the problem."""
        ...

    def run_stored(self, name: str) -> tuple[str, pd.DataFrame]:
        """Run a stored query of the library by name; return its SQL and rows."""
        ...

    def interrupt(self) -> None:
        """Stop whatever query is running now."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


def with_values(sql: str, values: dict[str, Any]) -> str:
    """Athena SQL with its `:name` placeholders shown as the typed literals they were bound to."""
    from finops_agent.engines.athena_params import sql_literal

    tree = sqlglot.parse_one(sql, read="athena")
    for placeholder in list(tree.find_all(exp.Placeholder)):
        if placeholder.name in values:
            placeholder.replace(sql_literal(values[placeholder.name]))
    return tree.sql(dialect="athena", pretty=True)


def comparison_start(start: dt.date) -> dt.date:
    """First day of the month before the one `start` falls in: the report's comparison month."""
    return (start.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def within_window(sql: str, window: Window, relation: str = "cost") -> str:
    """Athena SQL with every read of `relation` narrowed to `window` (on usage_date)."""
    tree = sqlglot.parse_one(sql, read="athena")
    for table in list(tree.find_all(exp.Table)):
        if table.name.lower() != relation or table.args.get("db"):
            continue
        # the window's own dates, never text from a question
        narrowed = (
            exp.select("*")
            .from_(relation)
            .where(
                exp.and_(
                    exp.GTE(this=exp.column("usage_date"), expression=_date(window.start)),
                    exp.LT(this=exp.column("usage_date"), expression=_date(window.end)),
                )
            )
        )
        table.replace(
            exp.Subquery(
                this=narrowed, alias=exp.TableAlias(this=exp.to_identifier(table.alias_or_name))
            )
        )
    return tree.sql(dialect="athena", pretty=True)


def _date(day: dt.date) -> exp.Expression:
    return exp.cast(exp.Literal.string(day.isoformat()), exp.DataType.build("date"))


class CostData:
    """A billing report's data: its source re-opened with its engine, schema and tags.

    `cost` holds the report's window plus the month before it, so questions can compare
    with the month the report compared with; stored queries still see only the window.
    """

    relations = frozenset({"cost"})
    dialect = "athena"

    def __init__(self, report: ReportDocument, settings: Settings) -> None:
        if report.window is None:
            raise QueryError(f"report {report.report_id} has no billing window to query")
        settings = settings.model_copy(
            update={
                "engine": report.engine or settings.engine,
                "tag_keys": report.tag_keys if report.tag_keys is not None else settings.tag_keys,
            }
        )
        self.report = report
        self.window = Window(report.window.start, report.window.end)
        self.span = Window(comparison_start(self.window.start), self.window.end)
        self.run_: PreparedRun = prepare_run(
            settings,
            source=report.source_path or report.source or None,
            schema=report.source_schema or "auto",
            families=report.families or None,
            start=self.span.start.isoformat(),
            end=self.span.end.isoformat(),
            ad_hoc_sql=True,
            # the report's currency only; a report written before currencies were told apart
            # (none listed) reads every row as it did
            currency=report.currency if report.currencies else None,
        )

    def describe(self) -> str:
        """The canonical columns with types and meanings, and the days `cost` holds."""
        columns = "\n".join(f"- {name} {kind}: {meaning}" for name, kind, meaning in COST_COLUMNS)
        return (
            f"Table `cost` holds usage days {self.span.label}: the report's billing window "
            f"{self.window.label} plus the month before it for comparisons. Filter on "
            "usage_date for the window's own figures:\n" + columns
        )

    def rules(self) -> str:
        """Athena hints: tags through element_at, no integer division."""
        return (
            "Athena (Trino) dialect; read a tag with element_at(tags, 'owner'); divide as "
            "CAST(x AS double) / y"
        )

    def run(self, sql: str) -> pd.DataFrame:
        """Run checked Athena SQL over `cost` on the report's engine, under the chat scan cap."""
        cap = self.run_.settings.chat_max_scan_bytes or None
        return self.run_.engine.execute("chat", sql, self.run_.params, max_scan_bytes=cap).frame

    def run_stored(self, name: str) -> tuple[str, pd.DataFrame]:
        """A stored query with the parameters the report used."""
        spec = load_catalog().queries.get(name)
        if spec is None:
            raise QueryError(f"stored query {name!r} is not in the catalog")
        meta = self.report.queries.get(name)
        saved = meta.params if meta is not None else {}
        # the report's own parameter values, and only the report's window (not the comparison month)
        sql = within_window(spec.sql, self.window)
        bound = spec.bind({k: v for k, v in saved.items() if k not in ("start_date", "end_date")})
        try:
            frame = self._run_bound(name, sql, bound)
        except QueryError as exc:
            raise QueryError(f"query {name!r} failed: {exc}") from None
        window = {"start_date": self.window.start, "end_date": self.window.end}
        return with_values(sql, {**window, **bound}), frame

    def _run_bound(self, name: str, sql: str, bound: dict[str, Any]) -> pd.DataFrame:
        cap = self.run_.settings.chat_max_scan_bytes or None
        params = {**self.run_.params, **bound}
        return self.run_.engine.execute(name, sql, params, max_scan_bytes=cap).frame

    def interrupt(self) -> None:
        """Interrupt the engine's running queries when it can (DuckDB can)."""
        interrupt = getattr(self.run_.engine, "interrupt", None)
        if callable(interrupt):
            interrupt()

    def close(self) -> None:
        """Close the engine."""
        self.run_.engine.close()


class FileData:
    """An analysed file's report: its `results` views rebuilt from the read options it saved."""

    dialect = "duckdb"

    def __init__(self, report: ReportDocument) -> None:
        from finops_agent.result_files.load import AnalyzeError
        from finops_agent.result_files.views import reopen

        if report.file is None:
            raise QueryError(f"report {report.report_id} is not an analysed file")
        self._lock = threading.Lock()
        self._running: set[duckdb.DuckDBPyConnection] = set()
        try:
            # rebuilt by the analysis code from validated options, never from stored SQL text
            self._con = reopen([o.model_dump() for o in report.file.read_options])
        except AnalyzeError as exc:
            raise QueryError(str(exc)) from None
        self.relations = report.relations

    def describe(self) -> str:
        """Each view with its columns and DuckDB types."""
        parts = []
        for view in sorted(self.relations):
            described = self._con.execute(f'describe "{view}"').fetchall()
            columns = "\n".join(f"- {row[0]} {row[1]}" for row in described)
            parts.append(f"Table `{view}`:\n{columns}")
        return "\n\n".join(parts)

    def rules(self) -> str:
        """DuckDB hints: quote odd column names."""
        return 'DuckDB dialect; quote column names that are not plain words with "double quotes"'

    def run(self, sql: str) -> pd.DataFrame:
        """Run checked DuckDB SQL over the views on its own cursor (so it can be interrupted)."""
        cursor = self._con.cursor()
        with self._lock:
            self._running.add(cursor)
        try:
            return cursor.execute(sql).df()
        except duckdb.Error as exc:
            raise QueryError(f"query failed on DuckDB: {str(exc).splitlines()[0]}") from None
        finally:
            with self._lock:
                self._running.discard(cursor)
            cursor.close()

    def run_stored(self, name: str) -> tuple[str, pd.DataFrame]:
        """Analysed files have no stored queries; their prompts carry SQL."""
        raise QueryError(f"stored query {name!r} does not apply to an analysed file")

    def interrupt(self) -> None:
        """Interrupt every query running on this connection's cursors."""
        with self._lock:
            running = list(self._running)
        for cursor in running:
            cursor.interrupt()

    def close(self) -> None:
        """Close the connection."""
        self._con.close()


def open_data(report: ReportDocument, settings: Settings) -> ChatData:
    """The data behind a report: an analysed file's views, or the billing `cost` relation."""
    if report.file is not None:
        return FileData(report)
    return CostData(report, settings)
