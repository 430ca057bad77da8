"""Athena engine: the stored SQL on the customer's CUR table, values bound where Athena allows."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

import awswrangler as wr
import boto3
import sqlglot
from botocore.exceptions import ClientError

from finops_agent.engines.athena_params import to_qmark
from finops_agent.engines.athena_run import AthenaQueries, Execution, client_error_reason
from finops_agent.engines.base import EngineResult, QueryError
from finops_agent.engines.sql import reads_cost, with_cost
from finops_agent.identifiers import check_identifier
from finops_agent.settings import Settings
from finops_agent.sources import SourceError

_BYTES_PER_TB = 1e12
# Athena bills at least 10 MB per query
_MIN_BILLED_BYTES = 10 * 1024 * 1024


class AthenaEngine:
    """Runs the stored queries on an Athena table (Glue catalog), bounded in concurrency."""

    name = "athena"

    def __init__(
        self,
        database: str,
        table: str,
        *,
        workgroup: str = "primary",
        s3_output: str | None = None,
        session: boto3.Session | None = None,
        usd_per_tb: float = 5.0,
        max_concurrency: int = 5,
        result_reuse_minutes: int = 0,
        query_timeout_s: float = 600.0,
    ) -> None:
        self.database = check_identifier(database, what="Athena database")
        self.table = check_identifier(table, what="Athena table")
        self.source_label = f"athena:{database}.{table}"
        self._session = session or boto3.Session()
        self._usd_per_tb = usd_per_tb
        self._slots = threading.BoundedSemaphore(max(1, max_concurrency))
        self._workgroup = workgroup
        self._s3_output = s3_output
        self._configuration: dict[str, Any] | None = None
        self._queries = AthenaQueries(
            self._session,
            database=self.database,
            workgroup=workgroup,
            s3_output=s3_output,
            timeout_s=query_timeout_s,
            result_reuse_minutes=result_reuse_minutes,
        )
        self._cost_sql: str | None = None
        self._cost_params: dict[str, object] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> AthenaEngine:
        """An engine for the configured database, table, workgroup and output location."""
        session = boto3.Session(profile_name=settings.aws_profile, region_name=settings.aws_region)
        return cls(
            settings.athena_database,
            settings.athena_table,
            workgroup=settings.athena_workgroup,
            s3_output=settings.athena_output,
            session=session,
            usd_per_tb=settings.athena_usd_per_tb,
            max_concurrency=settings.athena_max_concurrency,
            result_reuse_minutes=settings.athena_result_reuse_minutes,
            query_timeout_s=settings.athena_query_timeout_s,
        )

    def source_columns(self) -> dict[str, str]:
        """Columns and partition keys of the table from the Glue catalog."""
        try:
            types = wr.catalog.get_table_types(
                database=self.database, table=self.table, boto3_session=self._session
            )
        except ClientError as exc:
            raise SourceError(
                f"cannot read table {self.database}.{self.table} from Glue: "
                f"{client_error_reason(exc)}"
            ) from None
        if types is None:
            raise SourceError(
                f"table {self.database}.{self.table} does not exist in the Glue catalog"
            )
        return {name: str(kind) for name, kind in types.items()}

    def _workgroup_configuration(self) -> dict[str, Any]:
        # read once: a run asks for the results location and whether it is enforced
        if self._configuration is None:
            try:
                group = self._session.client("athena").get_work_group(WorkGroup=self._workgroup)
            except ClientError as exc:
                raise QueryError(
                    f"cannot read workgroup {self._workgroup!r}: {client_error_reason(exc)}"
                ) from None
            self._configuration = dict(group["WorkGroup"].get("Configuration", {}))
        return self._configuration

    def enforced_results_location(self) -> str | None:
        """The workgroup's results location when it overrides client-side settings, else None."""
        configuration = self._workgroup_configuration()
        if not configuration.get("EnforceWorkGroupConfiguration", False):
            return None
        location = configuration.get("ResultConfiguration", {}).get("OutputLocation")
        return str(location) if location else None

    def results_location(self) -> str:
        """The s3:// results location: FINOPS_ATHENA_OUTPUT, else the workgroup's own."""
        if self._s3_output:
            return self._s3_output
        configuration = self._workgroup_configuration()
        location = configuration.get("ResultConfiguration", {}).get("OutputLocation")
        if not location:
            raise QueryError(
                f"workgroup {self._workgroup!r} has no S3 results location: set "
                "FINOPS_ATHENA_OUTPUT to an s3:// location"
            )
        return str(location)

    def source_relation(self) -> str:
        """The quoted database.table the adapter selects from."""
        return f'"{self.database}"."{self.table}"'

    def bind_cost(self, cost_sql: str, params: Mapping[str, object]) -> None:
        """Keep the adapter: every query runs it as its first CTE (no CREATE VIEW permission needed)."""
        self._cost_sql = cost_sql
        self._cost_params = dict(params)

    def prepare(self, name: str, sql: str, params: Mapping[str, object]) -> tuple[str, list[str]]:
        """The statement text and execution parameters Athena receives for one stored query."""
        try:
            # a statement with its own source (the previous-period totals, the currency survey
            # extract mode runs before it binds) carries no adapter CTE: Trino would not scan
            # it, but its placeholders would share the statement's names
            if not reads_cost(sql):
                return to_qmark(sql, params)
            if self._cost_sql is None:
                raise QueryError(f"query {name!r}: bind_cost was not called")
            full = with_cost(self._cost_sql, sql)
            return to_qmark(full, {**self._cost_params, **params})
        except (sqlglot.errors.SqlglotError, KeyError, TypeError, ValueError) as exc:
            raise QueryError(f"query {name!r} cannot be prepared for Athena: {exc}") from None

    def execute(
        self,
        name: str,
        sql: str,
        params: Mapping[str, object],
        *,
        max_scan_bytes: int | None = None,
    ) -> EngineResult:
        """Run one stored query on Athena; raise QueryError naming it and Athena's reason."""
        text, values = self.prepare(name, sql, params)
        started = time.perf_counter()
        with self._slots:
            frame, execution = self._queries.run(name, text, values, max_scan_bytes=max_scan_bytes)
        engine_time_s = execution.engine_time_s
        return EngineResult(
            frame=frame,
            sql=text,
            query_id=execution.query_id,
            bytes_scanned=execution.bytes_scanned,
            engine_time_s=time.perf_counter() - started if engine_time_s is None else engine_time_s,
            scan_cost_usd=self.scan_cost_usd(execution.bytes_scanned),
        )

    def run_statement(
        self, name: str, sql: str, values: list[str], *, max_scan_bytes: int | None = None
    ) -> Execution:
        """Run a statement that writes files (UNLOAD) in this engine's workgroup; read no rows."""
        with self._slots:
            return self._queries.execute(name, sql, values, max_scan_bytes=max_scan_bytes)

    def scan_cost_usd(self, bytes_scanned: int) -> float:
        """What Athena bills for a statement that scanned `bytes_scanned` (10 MB at least)."""
        return round(max(bytes_scanned, _MIN_BILLED_BYTES) / _BYTES_PER_TB * self._usd_per_tb, 6)

    def interrupt(self) -> None:
        """Stop every query running now (they fail with QueryError); used for chat timeouts."""
        self._queries.stop_running()

    def close(self) -> None:
        """Stop every query still running on Athena and refuse new ones (a cancelled run ends here)."""
        self._queries.close()
