"""moto's Athena taught to answer UNLOAD: the SELECT runs on DuckDB over the same files, and the
Parquet it writes lands in moto's S3 at the TO location, as Athena's UNLOAD would leave it.

moto runs no SQL. An UNLOAD started on it is split into its SELECT and its location, the `?`s
take their execution parameters, sqlglot carries the SELECT from Trino to DuckDB, and DuckDB
runs it over the tiny CUR 2.0 files exposed as "cur"."cost_and_usage". Its executions report a
chosen DataScannedInBytes and a DataManifestLocation once succeeded (the manifest is written too). S3
deletes are recorded.
"""

from __future__ import annotations

import json
import re
import tempfile
import threading
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot
from moto.athena.responses import AthenaResponse
from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import S3Backend, s3_backends
from sqlglot import exp

__all__ = [
    "UNLOAD_SCANNED",
    "UnloadEmulator",
    "source_connection",
    "write_manifest",
    "write_parts",
]

UNLOAD_SCANNED = 7_340_032  # 7 MiB: what the emulated UNLOAD reports as DataScannedInBytes
_UNLOAD = re.compile(
    r"^UNLOAD \((?P<select>.*)\) TO '(?P<to>s3://[^']+)' WITH \((?P<with>.*)\)$", re.S
)


class UnloadEmulator:
    """Answers every UNLOAD moto receives; records them, the files written and the S3 deletes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, source: Path, *, files: int = 2) -> None:
        self._source = source
        self._files = files
        self._lock = threading.Lock()
        self.unloads: list[dict[str, Any]] = []  # QueryString, ExecutionParameters, id
        self.written: list[str] = []  # s3:// URIs of the Parquet files and manifests written
        self.parquet_bytes = 0  # the size of every Parquet file written, together
        self.deleted: list[str] = []  # s3:// URIs DeleteObjects removed
        emulator = self
        start, describe = AthenaResponse.start_query_execution, AthenaResponse.get_query_execution
        delete = S3Backend.delete_objects

        def start_query_execution(self: AthenaResponse) -> Any:
            reply = start(self)
            text = self._get_param("QueryString") or ""
            if isinstance(reply, str) and text.startswith("UNLOAD"):
                qid = json.loads(reply)["QueryExecutionId"]
                emulator._unload(qid, text, self._get_param("ExecutionParameters") or [])
            return reply

        def get_query_execution(self: AthenaResponse) -> str:
            described = json.loads(describe(self))
            execution = described["QueryExecution"]
            ours = any(u["id"] == execution["QueryExecutionId"] for u in emulator.unloads)
            # while it runs, the scan is whatever the AthenaPlan behaviour says
            if ours and execution["Status"]["State"] == "SUCCEEDED":
                execution["Statistics"]["DataScannedInBytes"] = UNLOAD_SCANNED
                execution["Statistics"]["DataManifestLocation"] = emulator.manifest(
                    execution["QueryExecutionId"]
                )
            return json.dumps(described)

        def delete_objects(
            self: S3Backend, bucket_name: str, objects: list[dict[str, Any]], *args: Any
        ) -> Any:
            with emulator._lock:
                emulator.deleted.extend(f"s3://{bucket_name}/{o['Key']}" for o in objects)
            return delete(self, bucket_name, objects, *args)

        monkeypatch.setattr(AthenaResponse, "start_query_execution", start_query_execution)
        monkeypatch.setattr(AthenaResponse, "get_query_execution", get_query_execution)
        monkeypatch.setattr(S3Backend, "delete_objects", delete_objects)

    @staticmethod
    def manifest(qid: str) -> str:
        """Where Athena writes an UNLOAD's manifest: beside the results of any query."""
        return f"s3://athena-results/q/{qid}-manifest.csv"

    def _unload(self, qid: str, text: str, values: list[str]) -> None:
        parts = _UNLOAD.match(text)
        if parts is None:
            raise AssertionError(f"not Athena's UNLOAD form: {text[:200]}")
        select = sqlglot.parse_one(parts["select"], read="trino")
        marks = list(select.find_all(exp.Placeholder, bfs=False))
        if len(marks) != len(values):
            raise AssertionError(f"{len(marks)} ? but {len(values)} execution parameters")
        for mark, value in zip(marks, values, strict=True):
            mark.replace(sqlglot.parse_one(value, read="trino"))
        bucket, _, prefix = parts["to"].removeprefix("s3://").partition("/")
        con = source_connection(self._source)
        try:
            con.execute(f"create table answer as {select.sql(dialect='duckdb')}")
            keys, size = write_parts(
                con, "answer", bucket, f"{prefix}{qid}", files=self._files, compression="snappy"
            )
        finally:
            con.close()
        manifest = self.manifest(qid)
        write_manifest(manifest, bucket, keys)
        with self._lock:
            self.unloads.append({"QueryString": text, "ExecutionParameters": values, "id": qid})
            self.parquet_bytes += size
            self.written.extend([*(f"s3://{bucket}/{k}" for k in keys), manifest])


def source_connection(source: Path) -> duckdb.DuckDBPyConnection:
    """DuckDB with the CUR files under `source` as "cur"."cost_and_usage", as the Glue table shows them."""
    con = duckdb.connect()
    con.execute("create schema cur")
    con.execute(
        "create view cur.cost_and_usage as select * from read_parquet("
        f"'{source}/**/*.parquet', hive_partitioning=true, hive_types_autocast=false)"
    )
    return con


def write_parts(
    con: duckdb.DuckDBPyConnection,
    table: str,
    bucket: str,
    prefix: str,
    *,
    files: int,
    compression: str,
) -> tuple[list[str], int]:
    """Write `table` as Athena leaves a result: `files` Parquet parts `<prefix>_0000N` in moto's
    S3 (none for no rows); return their keys and their bytes together."""
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    total = con.execute(f"select count(*) from {table}").fetchall()[0][0]
    keys: list[str] = []
    size = 0
    with tempfile.TemporaryDirectory() as work:
        for part in range(files if total else 0):
            path = Path(work) / f"{part}.parquet"
            con.execute(
                f"copy (select * exclude (__n) from (select *, row_number() over () as __n "
                f"from {table}) where __n % {files} = {part}) to '{path}' "
                f"(format parquet, compression {compression})"
            )
            key = f"{prefix}_{part:05d}"
            body = path.read_bytes()
            backend.put_object(bucket, key, body)
            keys.append(key)
            size += len(body)
    return keys, size


def write_manifest(manifest: str, bucket: str, keys: list[str]) -> None:
    """The manifest Athena writes beside a statement's results: the files it wrote, one a line."""
    manifest_bucket, _, manifest_key = manifest.removeprefix("s3://").partition("/")
    listing = "".join(f"s3://{bucket}/{key}\n" for key in keys).encode()
    s3_backends[DEFAULT_ACCOUNT_ID]["aws"].put_object(manifest_bucket, manifest_key, listing)
