"""Cache keys for stored-query tasks: SQL text, bound parameters and a fingerprint of the source."""

from __future__ import annotations

import glob
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from finops_agent import __version__
from finops_agent.catalog import QuerySpec
from finops_agent.settings import Settings
from finops_agent.window import Window

if TYPE_CHECKING:
    from prefect.context import TaskRunContext

# Bump when QueryResult or the way results are computed changes: old cache entries then miss.
CACHE_FORMAT = 1


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
) -> str:
    """Hash of what the `cost` relation is built from; the cache expiry covers Athena data updates."""
    if settings.engine == "athena":
        origin: Any = [
            "athena",
            settings.aws_region,
            settings.athena_workgroup,
            f"{settings.athena_database}.{settings.athena_table}",
        ]
    else:
        origin = ["duckdb", local_fingerprint(source or settings.source or "")]
    return _digest(
        {
            "origin": origin,
            "schema": schema,
            "window": [window.start, window.end],
            "tag_keys": dict(tag_keys),
        }
    )


def query_cache_key(spec: QuerySpec, params: Mapping[str, Any], fingerprint: str) -> str:
    """Key of one stored query's result: its SQL text, every bound value and the source fingerprint."""
    bound = {**params, **spec.bind(dict(params))}
    return "finops-query-" + _digest(
        {
            "format": CACHE_FORMAT,
            "version": __version__,
            "query": spec.name,
            "sql": spec.sql,
            "params": bound,
            "fingerprint": fingerprint,
        }
    )


def task_cache_key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    """Prefect `cache_key_fn`: the engine object is deliberately left out of the key."""
    return query_cache_key(parameters["spec"], parameters["params"], parameters["fingerprint"])
