"""moto's Athena taught to answer materialise mode: the window's CTAS and the SELECTs over its table.

moto runs no SQL. A CTAS started on it is split into its table, its location and its SELECT;
the `?`s take their execution parameters, sqlglot carries the SELECT from Trino to DuckDB, and
DuckDB runs it over the tiny CUR 2.0 files exposed as "cur"."cost_and_usage". The rows land in
moto's S3 under the external location as ZSTD Parquet files (none for an empty result), and the
Glue table is created once the execution has succeeded, as Athena's CTAS leaves them. A SELECT
that reads a `finops_window_` table is answered from the Parquet bytes in moto's S3 under the
table's Glue location, read back into DuckDB: rows that did not survive the write and the read
are not in its answer. S3 deletes and Glue table drops are recorded.
"""

from __future__ import annotations

import json
import re
import tempfile
import threading
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
import sqlglot
from moto.athena.models import QueryResults
from moto.athena.responses import AthenaResponse
from moto.core import DEFAULT_ACCOUNT_ID
from moto.glue.exceptions import EntityNotFoundException
from moto.glue.models import GlueBackend, glue_backends
from moto.s3.models import S3Backend, s3_backends
from sqlglot.dialects.trino import Trino
from sqlglot.tokens import TokenType

from tests.support.athena_unload import source_connection, write_manifest, write_parts

__all__ = ["CTAS_SCANNED", "CtasEmulator"]

CTAS_SCANNED = 5_242_880  # 5 MiB: what the emulated CTAS reports as DataScannedInBytes
_CTAS = re.compile(
    r'^CREATE TABLE "(?P<database>[a-z0-9_]+)"\."(?P<table>[a-z0-9_]+)" WITH \(format = '
    r"'PARQUET', write_compression = 'ZSTD'(?:, external_location = '(?P<location>s3://[^']+/)')?\) "
    r"AS (?P<select>select .*)$",
    re.S | re.I,
)
# the results location the tests' workgroups and clients use
RESULTS = "s3://athena-results/q/"
_WINDOW = re.compile(r'"(?P<database>[a-z0-9_]+)"\."(?P<table>finops_window_[a-z0-9_]+)"')
# DuckDB's type of a result column -> (Glue column type, Athena result column type)
_TYPES = {
    "VARCHAR": ("string", "varchar"),
    "DOUBLE": ("double", "double"),
    "BIGINT": ("bigint", "bigint"),
    "INTEGER": ("int", "integer"),
    "HUGEINT": ("bigint", "bigint"),
    "BOOLEAN": ("boolean", "boolean"),
    "DATE": ("date", "date"),
    "TIMESTAMP": ("timestamp", "timestamp"),
    "TIMESTAMP_MS": ("timestamp", "timestamp"),
    "TIMESTAMP_S": ("timestamp", "timestamp"),
    "TIMESTAMP WITH TIME ZONE": ("timestamp", "timestamp"),
    "MAP(VARCHAR, VARCHAR)": ("map<string,string>", "map(varchar, varchar)"),
}
# a Glue column type -> DuckDB's, for the table of an empty window (a CTAS of no rows writes no file)
_DUCKDB_OF_GLUE = {glue: duckdb_type for duckdb_type, (glue, _) in reversed(_TYPES.items())}


def _types(kind: str) -> tuple[str, str]:
    """(Glue type, Athena result type) of a DuckDB column type; DECIMAL(p,s) kept as it is."""
    if kind.startswith("DECIMAL"):
        return kind.lower(), kind.lower()
    if kind not in _TYPES:
        raise AssertionError(f"no Glue type for DuckDB's {kind}")
    return _TYPES[kind]


def _to_duckdb(text: str, values: list[str]) -> str:
    """A Trino statement with its `?`s replaced by their execution parameters, in DuckDB's dialect.

    Athena binds the parameters to the `?`s in the order they appear in the text: the `?`
    tokens (not those in comments or strings) are replaced where they stand.
    """
    marks = [t for t in Trino().tokenize(text) if t.token_type == TokenType.PLACEHOLDER]
    if len(marks) != len(values):
        raise AssertionError(f"{len(marks)} ? but {len(values)} execution parameters")
    for mark, value in reversed(list(zip(marks, values, strict=True))):
        text = f"{text[: mark.start]}{value}{text[mark.end + 1 :]}"
    return sqlglot.transpile(text, read="trino", write="duckdb")[0]


def _text(value: Any) -> str | None:
    """A result cell as Athena's text; None for NULL."""
    missing = value is None or value is pd.NA or value is pd.NaT
    if missing or (isinstance(value, float) and value != value):
        return None
    return str(value)


def _column_info(name: str, kind: str) -> dict[str, Any]:
    """Athena's ColumnInfo of a result column of this Athena type."""
    return {
        "Name": name,
        "Label": name,
        "Type": kind,
        "CatalogName": "hive",
        "SchemaName": "cur",
        "TableName": "",
        "Precision": 0,
        "Scale": 0,
        "Nullable": "UNKNOWN",
        "CaseSensitive": True,
    }


class CtasEmulator:
    """Answers the window's CTAS and the SELECTs over its table; records them, the files, the deletes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, source: Path, *, files: int = 2) -> None:
        self._source = source
        self._files = files
        self._lock = threading.Lock()
        # QueryString, ExecutionParameters, id, table, location, select, columns, rows
        self.ctas: list[dict[str, Any]] = []
        self.reads: list[dict[str, Any]] = []  # the SELECTs answered from a window table
        self.written: list[str] = []  # s3:// URIs of the Parquet files and manifests written
        self.parquet_bytes = 0  # the size of every Parquet file written, together
        self.deleted: list[str] = []  # s3:// URIs DeleteObjects removed
        self.dropped: list[tuple[str, str]] = []  # (database, table) of every Glue DeleteTable
        # set once the engine has polled a CTAS that is RUNNING: it holds the execution id
        self.running = threading.Event()
        self._pending: dict[str, dict[str, Any]] = {}  # CTAS by id, until its table exists
        self._failures: dict[str, str] = {}  # SELECTs that fail on Athena: their reason, by id
        emulator = self
        start, describe = AthenaResponse.start_query_execution, AthenaResponse.get_query_execution
        delete = S3Backend.delete_objects
        drop = GlueBackend.delete_table

        def start_query_execution(self: AthenaResponse) -> Any:
            text = self._get_param("QueryString") or ""
            values = self._get_param("ExecutionParameters") or []
            group = self.athena_backend.work_groups.get(self._get_param("WorkGroup") or "primary")
            enforced = group is not None and group.configuration.get(
                "EnforceWorkGroupConfiguration", False
            )
            if enforced and text.startswith("CREATE TABLE") and "external_location" in text:
                # Athena's refusal, word for word
                return self.error(
                    "The Create Table As Select query failed because it was submitted with an "
                    "'external_location' property to an Athena Workgroup that enforces a "
                    "centralized output location for all queries. Please remove the "
                    "'external_location' property and resubmit the query.",
                    400,
                )
            reply = start(self)
            if not isinstance(reply, str):
                return reply
            qid = json.loads(reply)["QueryExecutionId"]
            if text.startswith("CREATE TABLE"):
                emulator._create(qid, text, values)
            elif _WINDOW.search(text):
                emulator._answer(self, qid, text, values)
            return reply

        def get_query_execution(self: AthenaResponse) -> str:
            described = json.loads(describe(self))
            execution = described["QueryExecution"]
            qid, status = execution["QueryExecutionId"], execution["Status"]
            with emulator._lock:
                reason = emulator._failures.get(qid)
                ours = any(c["id"] == qid for c in emulator.ctas)
            if reason is not None:
                status["State"] = "FAILED"
                status["StateChangeReason"] = reason
                status["AthenaError"] = {"ErrorCategory": 2, "ErrorMessage": reason}
            if ours and status["State"] == "RUNNING":
                emulator.running.set()
            # while it runs, the scan is whatever the AthenaPlan behaviour says
            if ours and status["State"] == "SUCCEEDED":
                emulator._catalogue(qid, self.athena_backend.region_name)
                execution["Statistics"]["DataScannedInBytes"] = CTAS_SCANNED
                execution["Statistics"]["DataManifestLocation"] = emulator.manifest(qid)
            return json.dumps(described)

        def delete_objects(
            self: S3Backend, bucket_name: str, objects: list[dict[str, Any]], *args: Any
        ) -> Any:
            with emulator._lock:
                emulator.deleted.extend(f"s3://{bucket_name}/{o['Key']}" for o in objects)
            return delete(self, bucket_name, objects, *args)

        def delete_table(self: GlueBackend, database_name: str, table_name: str) -> None:
            with emulator._lock:
                emulator.dropped.append((database_name, table_name))
            drop(self, database_name, table_name)

        monkeypatch.setattr(AthenaResponse, "start_query_execution", start_query_execution)
        monkeypatch.setattr(AthenaResponse, "get_query_execution", get_query_execution)
        monkeypatch.setattr(S3Backend, "delete_objects", delete_objects)
        monkeypatch.setattr(GlueBackend, "delete_table", delete_table)

    @staticmethod
    def manifest(qid: str) -> str:
        """Where Athena writes a CTAS's manifest: beside the results of any query."""
        return f"{RESULTS}{qid}-manifest.csv"

    def _fail(self, qid: str, reason: str) -> None:
        """Make the execution FAILED with this reason when it is next described."""
        with self._lock:
            self._failures[qid] = reason

    def _create(self, qid: str, text: str, values: list[str]) -> None:
        """Run the CTAS's SELECT and write its rows under the external location, as Athena does."""
        parts = _CTAS.match(text)
        if parts is None:
            raise AssertionError(f"not the materialise CTAS form: {text[:200]}")
        select = _to_duckdb(parts["select"], values)
        # without external_location (an enforcing workgroup) Athena writes under its results
        # location's tables/<query id>/
        location = parts["location"] or f"{RESULTS}tables/{qid}/"
        bucket, _, prefix = location.removeprefix("s3://").partition("/")
        con = source_connection(self._source)
        try:
            con.execute(f"create table answer as {select}")
            described = con.execute("describe answer").fetchall()
            total = con.execute("select count(*) from answer").fetchall()[0][0]
            # Athena writes the rows in several files, and none for an empty result
            keys, size = write_parts(
                con, "answer", bucket, f"{prefix}{qid}", files=self._files, compression="zstd"
            )
        finally:
            con.close()
        manifest = self.manifest(qid)
        write_manifest(manifest, bucket, keys)
        record = {
            "QueryString": text,
            "ExecutionParameters": values,
            "id": qid,
            "database": parts["database"],
            "table": parts["table"],
            "location": location,
            "select": parts["select"],
            "columns": [(name, _types(str(kind))[0]) for name, kind, *_ in described],
            "rows": total,
        }
        with self._lock:
            self.parquet_bytes += size
            self.ctas.append(record)
            self._pending[qid] = record
            self.written.extend([*(f"s3://{bucket}/{k}" for k in keys), manifest])

    def _catalogue(self, qid: str, region: str) -> None:
        """Create the CTAS's Glue table once it has succeeded (a failed or stopped one leaves none)."""
        with self._lock:
            record = self._pending.pop(qid, None)
        if record is None:
            return
        glue_backends[DEFAULT_ACCOUNT_ID][region].create_table(
            record["database"],
            record["table"],
            {
                "Name": record["table"],
                "TableType": "EXTERNAL_TABLE",
                "Parameters": {"classification": "parquet", "parquet.compression": "ZSTD"},
                "StorageDescriptor": {
                    "Columns": [{"Name": n, "Type": t} for n, t in record["columns"]],
                    "Location": record["location"],
                    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                    "OutputFormat": (
                        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
                    ),
                    "SerdeInfo": {
                        "SerializationLibrary": (
                            "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
                        )
                    },
                },
            },
        )

    def _answer(self, response: AthenaResponse, qid: str, text: str, values: list[str]) -> None:
        """Answer a SELECT over a window table with DuckDB's rows over the table's files in S3."""
        found = _WINDOW.search(text)
        assert found is not None
        database, table = found["database"], found["table"]
        backend = response.athena_backend
        glue = glue_backends[DEFAULT_ACCOUNT_ID][backend.region_name]
        try:
            described = glue.get_table(database, table).as_dict()
        except EntityNotFoundException:
            self._fail(
                qid,
                f"TABLE_NOT_FOUND: line 1:1: Table 'awsdatacatalog.{database}.{table}' does not "
                "exist",
            )
            return
        storage = described["StorageDescriptor"]
        bucket, _, prefix = storage["Location"].removeprefix("s3://").partition("/")
        s3 = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
        listed, *_ = s3.list_objects(s3.get_bucket(bucket), prefix, None, None, 1000)
        with tempfile.TemporaryDirectory() as work:
            paths = []
            for key in sorted(listed, key=lambda k: k.name):
                path = Path(work) / f"{len(paths)}.parquet"
                path.write_bytes(key.value)
                paths.append(str(path))
            con = duckdb.connect()
            try:
                con.execute(f'create schema "{database}"')
                if paths:
                    con.execute(
                        f'create view "{database}"."{table}" as select * from read_parquet({paths!r})'
                    )
                else:  # no file: the table has the Glue columns and no row
                    columns = ", ".join(
                        f'"{c["Name"]}" {_DUCKDB_OF_GLUE.get(c["Type"], c["Type"])}'
                        for c in storage["Columns"]
                    )
                    con.execute(f'create table "{database}"."{table}" ({columns})')
                answer = con.sql(_to_duckdb(text, values))
                kinds = [str(kind) for kind in answer.types]
                frame = answer.df()
            except duckdb.Error as exc:
                # the query's result says why, rather than the moto server's 500
                self._fail(qid, f"emulated on DuckDB: {exc}")
                return
            finally:
                con.close()
        names = [str(c) for c in frame.columns]
        rows = [[_text(v) for v in row] for row in frame.itertuples(index=False)]
        header = [{"Data": [{"VarCharValue": c} for c in names]}]
        # Athena leaves VarCharValue out for NULL
        data = [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in rows]
        info = [_column_info(n, _types(k)[1]) for n, k in zip(names, kinds, strict=True)]
        # where AthenaPlan serves its rows from: moto's results (GetQueryResults) and their CSV
        # at the execution's output location (what awswrangler reads); the CSV is written here,
        # as Athena writes it, not by moto, which does not double the quotes inside a value and
        # quotes NULL as an empty text
        backend.query_results[qid] = QueryResults(rows=header + data, column_info=info)
        body = "".join(
            ",".join("" if v is None else '"' + v.replace('"', '""') + '"' for v in row) + "\n"
            for row in [names, *rows]
        )
        bucket, _, key = (
            backend.executions[qid].config["OutputLocation"].removeprefix("s3://").partition("/")
        )
        s3.put_object(bucket, key, body.encode())
        with self._lock:
            self.reads.append(
                {"QueryString": text, "ExecutionParameters": values, "id": qid, "rows": len(rows)}
            )
