"""Cache keys for stored-query tasks: SQL text, bound parameters, the code that shapes results and a fingerprint of the source."""

from __future__ import annotations

import glob
import hashlib
import importlib.metadata
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from finops_agent import __version__, sources
from finops_agent.catalog import QuerySpec
from finops_agent.engines import materialise
from finops_agent.resources import queries_dir
from finops_agent.settings import Settings
from finops_agent.window import Window

if TYPE_CHECKING:
    from prefect.context import TaskRunContext

# Bump when QueryResult or the way results are computed changes: old cache entries then miss.
CACHE_FORMAT = 2
# the engine modules that build the `cost` table, carry the SQL to DuckDB and run it (extract
# mode unloads the Athena window and then runs every query on DuckDB too; materialise mode
# chooses the columns of the table every query reads)
_ENGINE_CODE = (
    "materialise.py",
    "duckdb.py",
    "sql.py",
    "athena_extract.py",
    "athena_materialise.py",
)
# libraries whose upgrade can change a result: the SQL transpiler and the local engine
_RESULT_LIBRARIES = ("sqlglot", "duckdb")


def _digest(payload: Any) -> str:
    text = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _local_files(source: str) -> list[Path]:
    path = Path(source)
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file())
    if any(ch in source for ch in "*?["):
        return sorted(Path(p) for p in glob.glob(source, recursive=True) if Path(p).is_file())
    return [path] if path.is_file() else []


def local_fingerprint(source: str) -> list[tuple[str, int, int]]:
    """(path, size, mtime_ns) of every file the source names: any rewrite changes it."""
    out = []
    for path in _local_files(source):
        stat = path.stat()
        out.append((str(path.resolve()), stat.st_size, stat.st_mtime_ns))
    return out


def source_fingerprint(
    settings: Settings,
    source: str | None,
    *,
    schema: str,
    window: Window,
    tag_keys: Mapping[str, list[str]],
    currency: str | None = None,
) -> str:
    """Hash of what the `cost` relation is built from; the cache expiry covers Athena data updates.

    `currency` is the billing currency `cost` was bound to (None: every row, as before).
    """
    if settings.engine == "athena":
        origin: Any = [
            "athena",
            settings.aws_region,
            settings.athena_workgroup,
            f"{settings.athena_database}.{settings.athena_table}",
        ]
    else:
        origin = ["duckdb", local_fingerprint(source or settings.source or "")]
    bound: dict[str, Any] = {
        "origin": origin,
        "schema": schema,
        "window": [window.start, window.end],
        "tag_keys": dict(tag_keys),
    }
    if currency is not None:
        # a EUR report must never be answered from the USD rows of the same window
        bound["currency"] = currency
    return _digest(bound)


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def code_fingerprint() -> str:
    """Hash of the code every result passes through: versions, adapters, local engine, sources.

    Read on every call, not once per process: an adapter fixed in a checkout (same version)
    must not be answered from a result cached before the fix, even by a long-running server.
    """
    adapters = sorted((queries_dir() / "sources").glob("*.sql"))
    return _digest(
        {
            "format": CACHE_FORMAT,
            "version": __version__,
            "adapters": {path.name: _file_digest(path) for path in adapters},
            "engine": {
                name: _file_digest(Path(materialise.__file__).with_name(name))
                for name in _ENGINE_CODE
            },
            # schema detection, CSV header names and the adapter CTE around every query
            "sources": _file_digest(Path(sources.__file__)),
            "libraries": {name: _library_version(name) for name in _RESULT_LIBRARIES},
        }
    )


def _library_version(name: str) -> str:
    return importlib.metadata.version(name)


def query_cache_key(spec: QuerySpec, params: Mapping[str, Any], fingerprint: str) -> str:
    """Key of one stored query's result: its SQL, every bound value, the code and the source fingerprint."""
    bound = {**params, **spec.bind(dict(params))}
    return "finops-query-" + _digest(
        {
            "code": code_fingerprint(),
            "query": spec.name,
            "sql": spec.sql,
            "params": bound,
            "fingerprint": fingerprint,
        }
    )


def task_cache_key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    """Prefect `cache_key_fn`: the engine object is deliberately left out of the key."""
    return query_cache_key(parameters["spec"], parameters["params"], parameters["fingerprint"])
