"""Athena materialise mode: one CTAS of the canonical window, then every stored query on Athena over it.

Per-query mode reads the source once per statement, and each statement reads the source
columns its canonical columns are computed from: the six inputs of `amortized_cost`, the
whole `product` map for `service_name` and `region`. Materialise mode reads them once: the
adapter's window, cut to the canonical columns the selected queries read, is written by one
CREATE TABLE AS SELECT as a ZSTD-compressed Parquet table under the results location, and
`cost` is bound to that table. Every stored query still runs on Athena, as its own statement,
and returns the rows it returns in per-query mode; nothing is downloaded. The table and its
files are removed when the run ends, whether it succeeded, failed or was cancelled.

The comparisons (previous period, complete months, month to date) read months outside the
window: they run on the source table as in per-query mode.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import boto3
import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError

from finops_agent.engines.athena import AthenaEngine
from finops_agent.engines.athena_extract import (
    adapter_columns,
    extract_location,
    needed_columns,
    pruned_select,
)
from finops_agent.engines.athena_params import to_qmark
from finops_agent.engines.base import (
    ENFORCED_CTAS_FOLDER,
    MATERIALISE_FOLDER,
    MATERIALISE_QUERY,
    MATERIALISE_TABLE_PREFIX,
    ComparisonExtract,
    EngineResult,
    QueryError,
)
from finops_agent.engines.s3_leftovers import S3Leftovers, split_s3
from finops_agent.identifiers import check_identifier
from finops_agent.settings import Settings

__all__ = [
    "AthenaMaterialiseEngine",
    "MaterialiseStatement",
    "Materialised",
    "ctas_statement",
    "window_table",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MaterialiseStatement:
    """The CTAS Athena receives: text with `?` markers, their values, and the table it creates."""

    sql: str
    params: list[str]
    columns: tuple[str, ...]
    database: str
    table: str
    # None: the workgroup enforces its settings, and Athena writes under its own location
    location: str | None
    select: str  # the SELECT inside the CTAS, with the same `?` markers

    def relation(self) -> str:
        """The SELECT `cost` is bound to once the table exists: its columns, by name."""
        names = ", ".join(f'"{c}"' for c in self.columns)
        return f'select {names} from "{self.database}"."{self.table}"'


def window_table(run_id: str) -> str:
    """The Glue table name of a run's window: `finops_window_<run id>` (lower case, `_` for `-`)."""
    name = MATERIALISE_TABLE_PREFIX + run_id.lower().replace("-", "_")
    return check_identifier(name, what="materialised window table")


def ctas_statement(
    adapter_sql: str,
    adapter_params: Mapping[str, object],
    query_sqls: Iterable[str],
    database: str,
    table: str,
    location: str | None,
) -> MaterialiseStatement:
    """The exact CTAS of the adapter's window, only the columns the queries read, as `database.table`.

    `location` (an `extract_location` under MATERIALISE_FOLDER) is the table's empty folder;
    None leaves `external_location` out, as a workgroup that enforces its settings requires
    (Athena refuses a CTAS that names one there and writes under `<its results>/tables/<query
    id>/`).
    ZSTD: the table is read by every stored query, so its bytes are paid once per query
    (about half Snappy's on the canonical columns). Values in the adapter's WHERE clause become
    execution parameters, which Athena accepts in a CTAS as in a SELECT.
    """
    check_identifier(database, what="Athena database")
    check_identifier(table, what="materialised window table")
    columns = needed_columns(query_sqls, adapter_columns(adapter_sql))
    select, values = to_qmark(pruned_select(adapter_sql, columns), adapter_params)
    where = "" if location is None else f", external_location = '{location}'"
    text = (
        f'CREATE TABLE "{database}"."{table}" WITH (format = \'PARQUET\', '
        f"write_compression = 'ZSTD'{where}) AS {select}"
    )
    return MaterialiseStatement(text, values, tuple(columns), database, table, location, select)


@dataclass(frozen=True)
class Materialised:
    """What the run's CTAS did: Athena's scan and the table it left for the queries."""

    statement: MaterialiseStatement
    query_id: str
    bytes_scanned: int
    scan_cost_usd: float
    engine_time_s: float | None
    files: int
    table_bytes: int

    def result(self) -> EngineResult:
        """The CTAS as an engine result for the query appendix: one row, its files and bytes."""
        return EngineResult(
            frame=pd.DataFrame({"files": [self.files], "table_bytes": [self.table_bytes]}),
            sql=self.statement.sql,
            query_id=self.query_id,
            bytes_scanned=self.bytes_scanned,
            engine_time_s=self.engine_time_s,
            scan_cost_usd=self.scan_cost_usd,
        )


class AthenaMaterialiseEngine:
    """Materialises the window once with CTAS and runs every stored query on Athena against it."""

    name = "athena"

    def __init__(
        self,
        athena: AthenaEngine,
        *,
        session: boto3.Session | None = None,
        run_id: str | None = None,
    ) -> None:
        self._athena = athena
        self.source_label = athena.source_label
        session = session or boto3.Session()
        self._glue = session.client("glue")
        self._leftovers = S3Leftovers(session.client("s3"), "materialised window")
        self._run_id = run_id or uuid.uuid4().hex
        self._query_sqls: list[str] | None = None
        self._max_scan_bytes: int | None = None
        # the table the CTAS may have created, until it is dropped
        self._table: str | None = None
        self._dropping = threading.Lock()
        self._bound = False
        self.materialised: Materialised | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> AthenaMaterialiseEngine:
        """A materialise engine for the configured table, workgroup and results location."""
        return cls(
            AthenaEngine.from_settings(settings),
            session=boto3.Session(
                profile_name=settings.aws_profile, region_name=settings.aws_region
            ),
        )

    def plan_extract(
        self,
        query_sqls: Sequence[str] | None,
        *,
        max_scan_bytes: int | None = None,
        comparisons: ComparisonExtract | None = None,
    ) -> None:
        """Materialise only the columns these statements read (None: all), under a scan cap.

        The comparisons read the source table, as in per-query mode: `comparisons` is not copied.
        """
        self._query_sqls = None if query_sqls is None else list(query_sqls)
        self._max_scan_bytes = max_scan_bytes

    def extract_result(self) -> EngineResult | None:
        """The CTAS as a result for the query appendix; None until the window is bound."""
        return None if self.materialised is None else self.materialised.result()

    def extract_results(self) -> dict[str, EngineResult]:
        """The CTAS as a result for the query appendix, by name."""
        done = self.extract_result()
        return {} if done is None else {MATERIALISE_QUERY: done}

    def comparison_source(self, start: object, end: object) -> str | None:
        """None: the comparisons read the source table on Athena."""
        return None

    def source_columns(self) -> dict[str, str]:
        """Columns and partition keys of the Athena table (Glue)."""
        return self._athena.source_columns()

    def source_relation(self) -> str:
        """The Athena table the adapter selects from."""
        return self._athena.source_relation()

    def bind_cost(self, cost_sql: str, params: Mapping[str, object]) -> None:
        """CTAS the window (the planned columns) as this run's table, and bind `cost` to it."""
        if self._bound:
            raise QueryError("the materialise engine's window is already bound")
        self._bound = True
        query_sqls = self._query_sqls if self._query_sqls is not None else ["select * from cost"]
        try:
            # a workgroup that enforces its settings refuses a CTAS naming its own location
            enforced = self._athena.enforced_results_location()
            location = (
                None
                if enforced is not None
                else extract_location(
                    self._athena.results_location(), self._run_id, MATERIALISE_FOLDER
                )
            )
            statement = ctas_statement(
                cost_sql,
                params,
                query_sqls,
                self._athena.database,
                window_table(self._run_id),
                location,
            )
        except ValueError as exc:
            raise QueryError(f"query {MATERIALISE_QUERY!r} cannot be prepared: {exc}") from None
        # listed before it runs: a CTAS that fails or is stopped may have written files already
        self._table = statement.table
        if location is not None:
            self._leftovers.add_folder(location)
        try:
            execution = self._athena.run_statement(
                MATERIALISE_QUERY,
                statement.sql,
                statement.params,
                max_scan_bytes=self._max_scan_bytes,
            )
            if execution.manifest_location:
                self._leftovers.add_manifest(execution.manifest_location)
            # where the files are: the folder named, or the one Athena chose in an enforcing
            # workgroup; Glue's table says which, and it holds this run's files only
            stored = self._stored_location(statement) or location
            if stored is not None and stored != location:
                self._leftovers.add_folder(stored)
            files, size = self._table_files(stored) if stored is not None else (0, 0)
        except BaseException as exc:
            if enforced is not None and isinstance(exc, QueryError) and exc.query_id:
                # no table tells where a failed CTAS wrote: Athena's folder for its execution
                self._leftovers.add_folder(
                    f"{enforced.rstrip('/')}/{ENFORCED_CTAS_FOLDER}/{exc.query_id}/"
                )
            self._drop()
            raise
        self.materialised = Materialised(
            statement,
            execution.query_id,
            execution.bytes_scanned,
            self._athena.scan_cost_usd(execution.bytes_scanned),
            execution.engine_time_s,
            files,
            size,
        )
        self._athena.bind_cost(statement.relation(), {})
        log.info(
            "materialised %s.%s (%s): %d bytes scanned on Athena, %d file(s) of %d bytes; %d "
            "canonical columns",
            statement.database,
            statement.table,
            execution.query_id,
            execution.bytes_scanned,
            files,
            size,
            len(statement.columns),
        )

    def _stored_location(self, statement: MaterialiseStatement) -> str | None:
        """The S3 folder of the table's files, as Glue records it; None if it cannot be read."""
        try:
            table = self._glue.get_table(DatabaseName=statement.database, Name=statement.table)
        except (ClientError, BotoCoreError) as exc:
            log.warning(
                "could not read where %s.%s keeps its files: %s",
                statement.database,
                statement.table,
                exc,
            )
            return None
        location = table["Table"].get("StorageDescriptor", {}).get("Location")
        if not location or not str(location).startswith("s3://"):
            return None
        return str(location).rstrip("/") + "/"

    def _table_files(self, location: str) -> tuple[int, int]:
        """How many files the CTAS wrote and their bytes (for the appendix)."""
        bucket, prefix = split_s3(location)
        try:
            listed = self._leftovers.objects(bucket, prefix)
        except (ClientError, BotoCoreError) as exc:
            log.warning("could not list the materialised window in %s: %s", location, exc)
            return 0, 0
        return len(listed), sum(size for _, size in listed)

    def execute(
        self,
        name: str,
        sql: str,
        params: Mapping[str, object],
        *,
        max_scan_bytes: int | None = None,
    ) -> EngineResult:
        """A statement on Athena: over the window's table when it reads `cost`, else on its own source."""
        return self._athena.execute(name, sql, params, max_scan_bytes=max_scan_bytes)

    def interrupt(self) -> None:
        """Stop what runs on Athena now (the CTAS or a query)."""
        self._athena.interrupt()

    def close(self) -> None:
        """Stop Athena, then drop the window's table and remove its files."""
        try:
            self._athena.close()
        finally:
            self._drop()

    def _drop(self) -> None:
        """Delete the Glue table and its S3 files; log, never raise (a later call retries)."""
        with self._dropping:
            if self._table is not None:
                try:
                    self._glue.delete_table(DatabaseName=self._athena.database, Name=self._table)
                    self._table = None
                except ClientError as exc:
                    if exc.response.get("Error", {}).get("Code") == "EntityNotFoundException":
                        self._table = None
                    else:
                        log.warning(
                            "could not drop the materialised window %s.%s: %s",
                            self._athena.database,
                            self._table,
                            exc,
                        )
                except BotoCoreError as exc:
                    log.warning("could not drop the materialised window %s: %s", self._table, exc)
        self._leftovers.remove()
