"""Query cache keys: what must change them, and what must not (the engine object)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from finops_agent.catalog import load_catalog
from finops_agent.orchestration import caching
from finops_agent.orchestration.caching import (
    query_cache_key,
    source_fingerprint,
    task_cache_key,
)
from finops_agent.settings import DEFAULT_TAG_ALIASES, load_settings
from finops_agent.window import Window
from tests.support.queries import copy_queries, point_queries_at

OCT = Window(dt.date(2026, 10, 1), dt.date(2026, 11, 1))
PARAMS: dict[str, Any] = {"start_date": OCT.start, "end_date": OCT.end}


def _fingerprint(source: Path, **changes: Any) -> str:
    args: dict[str, Any] = {"schema": "cur2", "window": OCT, "tag_keys": DEFAULT_TAG_ALIASES}
    args.update(changes)
    return source_fingerprint(load_settings(engine="duckdb"), str(source), **args)


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """A two-file export folder."""
    folder = tmp_path / "export" / "billing_period=2026-10"
    folder.mkdir(parents=True)
    (folder / "a.parquet").write_bytes(b"one")
    (folder / "b.parquet").write_bytes(b"two")
    return tmp_path / "export"


def test_fingerprint_is_stable_until_a_file_changes(export: Path) -> None:
    before = _fingerprint(export)
    assert _fingerprint(export) == before
    part = export / "billing_period=2026-10" / "a.parquet"
    # same size, new mtime: a re-delivered export
    os.utime(part, ns=(part.stat().st_atime_ns, part.stat().st_mtime_ns + 10**9))
    touched = _fingerprint(export)
    assert touched != before
    # a new file in the folder
    (export / "billing_period=2026-10" / "c.parquet").write_bytes(b"three")
    assert _fingerprint(export) not in (before, touched)


def test_fingerprint_covers_schema_window_and_tag_keys(export: Path) -> None:
    base = _fingerprint(export)
    assert _fingerprint(export, schema="focus") != base
    assert _fingerprint(export, window=Window(OCT.start, dt.date(2026, 10, 15))) != base
    assert _fingerprint(export, tag_keys={"owner": ["owner"]}) != base
    # a report bound to one billing currency never shares results with another's
    eur = _fingerprint(export, currency="EUR")
    assert eur != _fingerprint(export, currency="USD")
    assert eur != base and _fingerprint(export, currency="EUR") == eur


def test_globs_and_single_files_fingerprint_their_files(export: Path) -> None:
    pattern = str(export / "**" / "*.parquet")
    before = _fingerprint(Path(pattern))
    (export / "billing_period=2026-10" / "b.parquet").write_bytes(b"two, longer")
    assert _fingerprint(Path(pattern)) != before


def test_athena_fingerprint_names_the_table() -> None:
    def athena(table: str) -> str:
        settings = load_settings(engine="athena", athena_table=table)
        return source_fingerprint(
            settings, None, schema="cur2", window=OCT, tag_keys=DEFAULT_TAG_ALIASES
        )

    assert athena("cur_a") == athena("cur_a") != athena("cur_b")


def test_query_key_changes_with_sql_params_and_fingerprint() -> None:
    catalog = load_catalog()
    spec = catalog.queries["month_over_month_by_service"]
    other = catalog.queries["spend_by_service_daily"]
    key = query_cache_key(spec, PARAMS, "fp")
    assert query_cache_key(spec, dict(PARAMS), "fp") == key
    assert query_cache_key(other, PARAMS, "fp") != key
    assert query_cache_key(spec, PARAMS, "fp2") != key
    assert query_cache_key(spec, {**PARAMS, "end_date": dt.date(2026, 10, 31)}, "fp") != key
    # a declared parameter's value is part of the key; its default is spelled out in it
    assert query_cache_key(spec, {**PARAMS, "min_cost": 5.0}, "fp") != key
    assert query_cache_key(spec, {**PARAMS, "min_cost": 1.0}, "fp") == key


def test_query_key_changes_when_the_stored_sql_changes(tmp_path: Path) -> None:
    spec = load_catalog().queries["window_totals"]
    edited = tmp_path / "window_totals.sql"
    edited.write_text(spec.sql + "\n-- edited\n")
    moved = type(spec)(**{**spec.__dict__, "path": edited})
    assert query_cache_key(moved, PARAMS, "fp") != query_cache_key(spec, PARAMS, "fp")


def test_engine_object_is_not_part_of_the_task_key() -> None:
    spec = load_catalog().queries["window_totals"]
    context = SimpleNamespace()
    keys = {
        task_cache_key(
            context, {"engine": engine, "spec": spec, "params": PARAMS, "fingerprint": "fp"}
        )  # type: ignore[arg-type]
        for engine in (object(), object())
    }
    assert len(keys) == 1


def test_query_key_changes_when_a_source_adapter_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the query's own SQL stays the same: only the adapter that builds `cost` is fixed
    spec = load_catalog().queries["window_totals"]
    before = query_cache_key(spec, PARAMS, "fp")
    queries = copy_queries(tmp_path / "queries")
    point_queries_at(monkeypatch, queries)
    assert query_cache_key(spec, PARAMS, "fp") == before  # an identical copy is the same code
    adapter = queries / "sources" / "cur2.sql"
    adapter.write_text(adapter.read_text().replace("as unblended_cost", "as unblended_cost "))
    assert query_cache_key(spec, PARAMS, "fp") != before


def test_query_key_changes_with_the_engine_code_and_the_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = load_catalog().queries["window_totals"]
    before = query_cache_key(spec, PARAMS, "fp")
    engines = Path(caching.materialise.__file__).parent
    copied = tmp_path / "engines"
    copied.mkdir()
    for name in caching._ENGINE_CODE:
        (copied / name).write_bytes((engines / name).read_bytes())
    monkeypatch.setattr(caching.materialise, "__file__", str(copied / "materialise.py"))
    assert query_cache_key(spec, PARAMS, "fp") == before
    seen = {before}
    # each file a result passes through, changed in turn, gives a key not seen before
    for name in ("materialise.py", "sql.py", "athena_extract.py", "athena_materialise.py"):
        with (copied / name).open("a") as handle:
            handle.write("\n# a changed line\n")
        key = query_cache_key(spec, PARAMS, "fp")
        assert key not in seen, name
        seen.add(key)
    monkeypatch.setattr(caching, "__version__", "999.0")
    assert query_cache_key(spec, PARAMS, "fp") not in seen


def test_query_key_changes_with_the_sources_module_and_the_sql_libraries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = load_catalog().queries["window_totals"]
    before = query_cache_key(spec, PARAMS, "fp")
    copied = tmp_path / "sources.py"
    copied.write_bytes(Path(caching.sources.__file__).read_bytes())
    monkeypatch.setattr(caching.sources, "__file__", str(copied))
    assert query_cache_key(spec, PARAMS, "fp") == before
    copied.write_text(copied.read_text() + "\n# a changed header rule\n")
    changed = query_cache_key(spec, PARAMS, "fp")
    assert changed != before
    # an upgraded transpiler or engine may carry the same SQL differently
    versions = {"sqlglot": "0.0.1", "duckdb": "0.0.1"}
    monkeypatch.setattr(caching, "_library_version", lambda name: versions[name])
    upgraded = query_cache_key(spec, PARAMS, "fp")
    assert upgraded not in (before, changed)
    versions["duckdb"] = "0.0.2"
    assert query_cache_key(spec, PARAMS, "fp") not in (before, changed, upgraded)
