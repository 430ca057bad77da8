"""One Athena query from start to rows: StartQueryExecution, a polled wait under a deadline and a
scan cap, then the results (no CTAS); every query still running can be stopped."""

from __future__ import annotations

import io
import logging
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import awswrangler as wr
import boto3
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from botocore.exceptions import BotoCoreError, ClientError

from finops_agent.engines.base import QueryError
from finops_agent.engines.s3_leftovers import split_s3

__all__ = ["AthenaQueries", "Execution", "client_error_reason"]

log = logging.getLogger(__name__)

_POLL_FIRST_S: float = 0.2
_POLL_MAX_S: float = 2.0
_POLL_GROWTH: float = 1.5
# Athena keeps reused results at most 7 days
_MAX_REUSE_MINUTES = 7 * 24 * 60
# API refusals another attempt can get past once botocore's own retries are spent (Athena's,
# then S3's while the results are read); access, syntax and missing tables fail the same again
_TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "TooManyRequestsException",
        "InternalServerException",
        "SlowDown",
        "ServiceUnavailable",
        "InternalError",
    }
)
# AthenaError.ErrorCategory: 1 system, 2 user, 3 other
_SYSTEM_ERROR = 1
_DENIED_ACTION = re.compile(r"not authorized to perform: ([\w:]+)")


@dataclass(frozen=True)
class Execution:
    """What Athena reported about a finished query."""

    query_id: str
    bytes_scanned: int
    engine_time_s: float | None
    # where Athena listed the files an UNLOAD wrote (Statistics.DataManifestLocation)
    manifest_location: str | None = None
    # the result CSV (ResultConfiguration.OutputLocation)
    output_location: str | None = None


def client_error_reason(exc: ClientError) -> str:
    """An AWS refusal as one line: the denied action, a missing entity, or code and message."""
    error: Mapping[str, Any] = exc.response.get("Error", {})
    code, message = error.get("Code", ""), error.get("Message", str(exc))
    if code in ("AccessDeniedException", "AccessDenied"):
        action = _DENIED_ACTION.search(message)
        return f"access denied{f' for {action.group(1)}' if action else ''}: {message}"
    if code == "EntityNotFoundException":
        return f"not found: {message}"
    return f"{code}: {message}" if code else str(message)


def _api_error(exc: ClientError | BotoCoreError) -> tuple[str, bool]:
    """(reason, transient) of a failed API call: a refusal by its code, a network failure always."""
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        return client_error_reason(exc), code in _TRANSIENT_CODES
    return str(exc), True


def _failure(name: str, qid: str, status: Mapping[str, Any]) -> QueryError:
    """A FAILED execution as a QueryError, transient only when Athena says a resubmit may pass."""
    error: Mapping[str, Any] = status.get("AthenaError", {})
    reason = status.get("StateChangeReason") or error.get("ErrorMessage") or "no reason given"
    if "Retryable" in error:
        transient = bool(error["Retryable"])
    else:
        transient = error.get("ErrorCategory") == _SYSTEM_ERROR
    return QueryError(
        f"query {name!r} failed on Athena: {reason} (execution {qid})",
        transient=transient,
        query_id=qid,
    )


class AthenaQueries:
    """Runs queries in one workgroup and database, and knows which are still running to stop them."""

    def __init__(
        self,
        session: boto3.Session,
        *,
        database: str,
        workgroup: str,
        s3_output: str | None,
        timeout_s: float,
        result_reuse_minutes: int = 0,
    ) -> None:
        self._session = session
        self._client = session.client("athena")
        self._database = database
        self._workgroup = workgroup
        self._s3_output = s3_output
        self._timeout_s = timeout_s
        self._reuse_minutes = min(result_reuse_minutes, _MAX_REUSE_MINUTES)
        self._running: dict[str, str] = {}
        self._stopped: set[str] = set()
        self._lock = threading.Lock()
        self._closed = threading.Event()

    def run(
        self, name: str, sql: str, values: list[str], *, max_scan_bytes: int | None = None
    ) -> tuple[pd.DataFrame, Execution]:
        """Start, wait (stopping it at the timeout or past the scan cap) and read one query."""
        execution = self.execute(name, sql, values, max_scan_bytes=max_scan_bytes)
        return self._read(name, execution), execution

    def execute(
        self, name: str, sql: str, values: list[str], *, max_scan_bytes: int | None = None
    ) -> Execution:
        """Start one statement and wait for it under the timeout and the scan cap; read no rows.

        For a statement whose output is files (UNLOAD) rather than a result set.
        """
        qid = self._start(name, sql, values)
        try:
            return self._wait(name, qid, max_scan_bytes)
        except QueryError:
            raise
        except BaseException:
            self._stop(qid)  # an unexpected reply must not leave a query scanning unwatched
            raise
        finally:
            with self._lock:
                self._running.pop(qid, None)

    def stop_running(self) -> list[str]:
        """StopQueryExecution for every query in flight; return their execution ids."""
        with self._lock:
            ids = list(self._running)
            self._stopped.update(ids)
        for qid in ids:
            self._stop(qid)
        return ids

    def close(self) -> list[str]:
        """Refuse new queries and stop the running ones; return the ids stopped."""
        with self._lock:
            self._closed.set()
        return self.stop_running()

    def _start(self, name: str, sql: str, values: list[str]) -> str:
        request: dict[str, Any] = {
            "QueryString": sql,
            "QueryExecutionContext": {"Database": self._database},
            "WorkGroup": self._workgroup,
        }
        if values:
            request["ExecutionParameters"] = values
        if self._s3_output:
            request["ResultConfiguration"] = {"OutputLocation": self._s3_output}
        if self._reuse_minutes > 0:
            request["ResultReuseConfiguration"] = {
                "ResultReuseByAgeConfiguration": {
                    "Enabled": True,
                    "MaxAgeInMinutes": self._reuse_minutes,
                }
            }
        if self._closed.is_set():
            raise QueryError(f"query {name!r} was not started: the run is closing")
        try:
            qid = str(self._client.start_query_execution(**request)["QueryExecutionId"])
        except (ClientError, BotoCoreError) as exc:
            reason, transient = _api_error(exc)
            raise QueryError(
                f"query {name!r} was refused by Athena: {reason}", transient=transient
            ) from None
        with self._lock:
            closing = self._closed.is_set()
            if not closing:
                self._running[qid] = name
        if closing:  # close() ran while the request was in the air: it did not see this id
            self._stop(qid)
            raise QueryError(f"query {name!r} was stopped on Athena: the run is closing")
        return qid

    def _wait(self, name: str, qid: str, max_scan_bytes: int | None) -> Execution:
        deadline = time.monotonic() + self._timeout_s
        delay = _POLL_FIRST_S
        while True:
            try:
                execution = self._client.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
            except (ClientError, BotoCoreError) as exc:
                # nobody would read what it computes: stop it before the error travels up
                self._stop(qid)
                reason, transient = _api_error(exc)
                raise QueryError(
                    f"query {name!r} could not be watched on Athena: {reason} (execution {qid})",
                    transient=transient,
                ) from None
            status, stats = execution["Status"], execution.get("Statistics", {})
            state = str(status["State"])
            scanned = int(stats.get("DataScannedInBytes", 0))
            if state == "SUCCEEDED":
                millis = stats.get("EngineExecutionTimeInMillis")
                manifest = stats.get("DataManifestLocation")
                output = execution.get("ResultConfiguration", {}).get("OutputLocation")
                return Execution(
                    qid,
                    scanned,
                    None if millis is None else millis / 1000,
                    str(manifest) if manifest else None,
                    str(output) if output else None,
                )
            if state == "FAILED":
                raise _failure(name, qid, status)
            if state == "CANCELLED" or self._closed.is_set():
                raise self._cancelled(name, qid, status)
            if max_scan_bytes is not None and scanned > max_scan_bytes:
                self._stop(qid)
                raise QueryError(
                    f"query {name!r} was stopped on Athena after scanning {_size(scanned)}, over "
                    f"the cap of {_size(max_scan_bytes)} (FINOPS_CHAT_MAX_SCAN_BYTES; execution {qid})",
                    query_id=qid,
                )
            left = deadline - time.monotonic()
            if left <= 0:
                self._stop(qid)
                raise QueryError(
                    f"query {name!r} ran longer than {self._timeout_s:g} s "
                    f"(FINOPS_ATHENA_QUERY_TIMEOUT_S) and was stopped on Athena (execution {qid})",
                    query_id=qid,
                )
            # close() sets the event: a waiting query notices at once instead of after its delay
            self._closed.wait(min(delay, left))
            delay = min(delay * _POLL_GROWTH, _POLL_MAX_S)

    def _cancelled(self, name: str, qid: str, status: Mapping[str, Any]) -> QueryError:
        with self._lock:
            ours = qid in self._stopped or self._closed.is_set()
        if ours:
            return QueryError(
                f"query {name!r} was stopped on Athena before it finished: the run was "
                f"closed or interrupted (execution {qid})",
                query_id=qid,
            )
        reason = status.get("StateChangeReason") or "cancelled outside finops-agent"
        return QueryError(
            f"query {name!r} was cancelled on Athena: {reason} (execution {qid})", query_id=qid
        )

    def _read(self, name: str, execution: Execution) -> pd.DataFrame:
        qid = execution.query_id
        try:
            frame = wr.athena.get_query_results(qid, boto3_session=self._session)
        except (ClientError, BotoCoreError) as exc:
            reason, transient = _api_error(exc)
            raise QueryError(
                f"results of query {name!r} could not be read: {reason} (execution {qid})",
                transient=transient,
            ) from None
        except (wr.exceptions.NoFilesFound, wr.exceptions.UndetectedType) as exc:
            raise QueryError(
                f"results of query {name!r} could not be read: {exc} (execution {qid})"
            ) from None
        if not isinstance(frame, pd.DataFrame):  # only a chunksize makes an iterator
            raise QueryError(f"results of query {name!r} came back in chunks (execution {qid})")
        return self._with_empty_text(name, frame, execution)

    def _with_empty_text(
        self, name: str, frame: pd.DataFrame, execution: Execution
    ) -> pd.DataFrame:
        """Give back the empty texts awswrangler read as missing.

        Athena's result CSV quotes every value and leaves NULL unquoted: `"a",""` is 'a' and an
        empty text, `"a",` is 'a' and NULL. awswrangler reads both as missing, so a query whose
        answer holds an empty text ('' tag value, a '' group key) would differ from DuckDB's.
        The CSV is read again, as text, only when a text column has a missing cell.
        """
        text = [
            i
            for i, column in enumerate(frame.columns)
            if _is_text(frame.iloc[:, i]) and bool(frame.iloc[:, i].isna().any())
        ]
        if not text or not execution.output_location:
            return frame
        bucket, key = split_s3(execution.output_location)
        try:
            body = self._session.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            reason, transient = _api_error(exc)
            raise QueryError(
                f"results of query {name!r} could not be read: {reason} "
                f"(execution {execution.query_id})",
                transient=transient,
            ) from None
        cells = _text_cells(body, len(frame.columns))
        frame = frame.copy()
        for i in text:
            empty = frame.iloc[:, i].isna().to_numpy() & (cells[i] == "").to_numpy()
            if empty.any():
                frame.iloc[empty, i] = ""
        return frame

    def _stop(self, qid: str) -> None:
        """StopQueryExecution, never raising: a query that already ended, or a refusal, is left be."""
        with self._lock:
            self._stopped.add(qid)
        try:
            self._client.stop_query_execution(QueryExecutionId=qid)
        except (ClientError, BotoCoreError) as exc:
            log.warning("could not stop Athena query %s: %s", qid, exc)


def _is_text(column: pd.Series) -> bool:
    return bool(pd.api.types.is_string_dtype(column) or column.dtype == object)


def _text_cells(body: bytes, width: int) -> list[pd.Series]:
    """Each column of an Athena result CSV as text: '' where quoted empty, NA where unquoted."""
    table = pacsv.read_csv(
        io.BytesIO(body),
        read_options=pacsv.ReadOptions(skip_rows=1, column_names=[f"c{i}" for i in range(width)]),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types={f"c{i}": pa.string() for i in range(width)},
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    return [table.column(i).to_pandas() for i in range(width)]


def _size(count: int) -> str:
    return f"{count / 1e9:,.2f} GB" if count >= 1e8 else f"{count / 1e6:,.1f} MB"
