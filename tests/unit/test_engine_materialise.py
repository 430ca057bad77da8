"""The DuckDB engine builds `cost` with the tag map resolved per tag set: same rows as the adapter."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from finops_agent.engines.duckdb import DuckDBEngine
from finops_agent.engines.materialise import TAG_SETS, cost_statements
from finops_agent.engines.sql import to_duckdb, used_params
from finops_agent.settings import DEFAULT_TAG_ALIASES
from finops_agent.sources import cost_sql
from finops_agent.window import Window
from tests import tiny

OCTOBER = Window(dt.date(2026, 10, 1), dt.date(2026, 11, 1))


def _engine_and_adapter(schema: str, folder: Path) -> tuple[DuckDBEngine, str, dict[str, object]]:
    engine = DuckDBEngine(str(folder))
    cost = cost_sql(
        schema,  # type: ignore[arg-type]
        engine.source_relation(),
        engine.source_columns(),
        OCTOBER,
        DEFAULT_TAG_ALIASES,
    )
    return engine, cost.sql, cost.params


def test_cost_holds_exactly_the_rows_the_adapter_computes(
    tiny_source: tuple[str, Path],
) -> None:
    schema, folder = tiny_source
    engine, adapter, params = _engine_and_adapter(schema, folder)
    engine.bind_cost(adapter, params)
    plain, names = to_duckdb(adapter)
    engine.raw_sql(f"create table adapter_rows as {plain}", used_params(names, params, query="x"))
    # multisets, both ways: every row (tags map included) appears as often in each
    assert engine.raw_sql(
        "select (select count(*) from cost), "
        "(select count(*) from (select * from cost except all select * from adapter_rows)), "
        "(select count(*) from (select * from adapter_rows except all select * from cost))"
    ) == [(len(tiny.LINES), 0, 0)]
    # lines without any tag still get the canonical map (all keys, NULL values), not NULL
    assert engine.raw_sql("select count(*) from cost where tags is null") == [(0,)]
    # the helper table is gone once `cost` exists
    assert engine.raw_sql(
        "select count(*) from duckdb_tables() where table_name = $name", {"name": TAG_SETS}
    ) == [(0,)]
    engine.close()


def test_tag_sets_are_resolved_before_the_join(tiny_source: tuple[str, Path]) -> None:
    schema, folder = tiny_source
    engine, adapter, _ = _engine_and_adapter(schema, folder)
    sets, lines = cost_statements(adapter)
    assert (sets.target, lines.target) == (TAG_SETS, "cost")
    assert "distinct" in sets.select.lower()
    # the line-item statement reads the resolved map; the map is built only per tag set
    assert f"{TAG_SETS}.__tags as tags" in lines.select.lower()
    assert "'owner'" in sets.select and "'owner'" not in lines.select
    engine.close()


@pytest.mark.parametrize(
    "adapter",
    [
        # no tags column at all
        "select src.a as account_id from raw_cost as src where src.x >= :start_date",
        # tags that read no source column (an export without tags): nothing to share
        "select map(array['owner'], array[cast(null as varchar)]) as tags from raw_cost as src",
        # not the adapter shape (a join): left alone
        "select src.a as tags from raw_cost as src join other on src.a = other.a",
    ],
    ids=["no-tags", "constant-tags", "not-an-adapter"],
)
def test_anything_else_is_materialised_as_it_is(adapter: str) -> None:
    (only,) = cost_statements(adapter)
    assert (only.target, only.select) == ("cost", adapter)


def test_the_database_is_a_temporary_file_removed_on_close(tmp_path: Path) -> None:
    engine = DuckDBEngine(str(tiny.write("cur2", tmp_path / "cur2")))
    ((path,),) = engine.raw_sql("select path from duckdb_databases() where database_name = 'work'")
    assert Path(str(path)).is_file()
    engine.close()
    assert not Path(str(path)).exists()
