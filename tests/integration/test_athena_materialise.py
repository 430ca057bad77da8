"""Athena materialise mode against a moto server: one CTAS, every stored query over its table, the
same rows as DuckDB, and neither the table nor its files left behind.

moto runs no SQL: the CTAS is answered by running its SELECT on DuckDB over the same tiny CUR 2.0
files, writing ZSTD Parquet into moto's S3 and the table into moto's Glue, and each SELECT over
the window table by DuckDB over those Parquet bytes read back from S3
(`tests.support.athena_ctas`); the statements that read the source table are answered like
DuckDB as in per-query mode.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import boto3
import pandas as pd
import pytest

from finops_agent.catalog import load_catalog
from finops_agent.comparison import month_over_month, month_to_date, previous_period_totals
from finops_agent.engines.athena_extract import adapter_columns
from finops_agent.engines.athena_materialise import AthenaMaterialiseEngine
from finops_agent.engines.base import QueryError
from finops_agent.execution import run_query
from finops_agent.pipeline import prepare_run
from finops_agent.settings import load_settings
from finops_agent.sources import COST_COLUMNS, cost_sql
from finops_agent.window import Window
from tests import tiny
from tests.integration.test_athena_runs import answers, moto_athena  # noqa: F401
from tests.support.athena import REGION, WINDOW, AthenaPlan, Behaviour
from tests.support.athena_ctas import CTAS_SCANNED, CtasEmulator
from tests.support.bounded import join_all

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]
MATERIALISE_PREFIX = "q/finops-materialise/"


@pytest.fixture
def ctas(
    moto_athena: AthenaPlan,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[CtasEmulator]:
    """The moto server of `moto_athena` in materialise mode, answering the CTAS from the tiny files."""
    monkeypatch.setenv("FINOPS_ATHENA_MODE", "materialise")
    yield CtasEmulator(monkeypatch, tiny.write("cur2", tmp_path / "ctas-source"))


def _left_in_s3() -> list[str]:
    """Every object under the results bucket's materialise folder and every manifest."""
    s3 = boto3.client("s3", region_name=REGION)
    listed = s3.list_objects_v2(Bucket="athena-results").get("Contents", [])
    return sorted(
        o["Key"]
        for o in listed
        if o["Key"].startswith(MATERIALISE_PREFIX) or o["Key"].endswith("-manifest.csv")
    )


def _window_tables() -> list[str]:
    """The materialised window tables Glue still holds in the `cur` database."""
    glue = boto3.client("glue", region_name=REGION)
    return [
        t["Name"]
        for t in glue.get_tables(DatabaseName="cur")["TableList"]
        if t["Name"].startswith("finops_window_")
    ]


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted, each column as the values it holds: numbers as floats, times as ISO text,
    text as text, missing as None (Athena's CSV and DuckDB's frame type them differently)."""
    out = pd.DataFrame(index=frame.index)
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_bool_dtype(column):
            out[name] = column.astype(object).where(column.notna(), None)
        elif pd.api.types.is_numeric_dtype(column):
            out[name] = column.astype("float64")
        else:
            out[name] = pd.Series([_cell(v) for v in column], index=frame.index, dtype=object)
    return out.sort_values(list(out.columns), na_position="first").reset_index(drop=True)


def _cell(value: object) -> str | None:
    """A cell as text; a date and a timestamp as the same instant (Athena's date, DuckDB's datetime).

    Empty text stays empty text: the engine tells Athena's quoted "" from an unquoted NULL.
    """
    if value is None or value is pd.NA or value is pd.NaT or value != value:
        return None
    if isinstance(value, dt.date):
        return pd.Timestamp(value).isoformat()
    return str(value)


def _same_rows(mine: pd.DataFrame, theirs: pd.DataFrame, name: str) -> None:
    pd.testing.assert_frame_equal(
        _comparable(mine), _comparable(theirs), check_dtype=False, obj=name
    )


def test_every_stored_query_returns_duckdbs_rows_over_the_materialised_table(
    ctas: CtasEmulator,
    moto_athena: AthenaPlan,  # noqa: F811
    tmp_path: Path,
) -> None:
    specs = list(load_catalog().queries.values())
    window = Window.parse(*WINDOW)
    params = {"start_date": window.start, "end_date": window.end}
    local = prepare_run(
        load_settings(engine="duckdb"),
        source=str(tiny.write("cur2", tmp_path / "local")),
        start=WINDOW[0],
        end=WINDOW[1],
    )
    settings = load_settings()
    engine = AthenaMaterialiseEngine.from_settings(settings)
    try:
        adapter = cost_sql(
            "cur2", engine.source_relation(), engine.source_columns(), window, settings.tag_keys
        )
        engine.plan_extract([spec.sql for spec in specs])
        engine.bind_cost(adapter.sql, adapter.params)
        done = engine.materialised
        assert done is not None
        (created,) = ctas.ctas
        # the table exists in Glue with the columns the CTAS wrote, at its folder
        table = boto3.client("glue", region_name=REGION).get_table(
            DatabaseName="cur", Name=created["table"]
        )["Table"]
        assert table["StorageDescriptor"]["Location"] == created["location"]
        assert [c["Name"] for c in table["StorageDescriptor"]["Columns"]] == list(
            done.statement.columns
        )
        for spec in specs:
            mine = run_query(engine, spec, params)
            theirs = run_query(local.engine, spec, {**params, **local.params})
            assert mine.ok and theirs.ok, (spec.name, mine.error, theirs.error)
            _same_rows(mine.frame, theirs.frame, spec.name)
    finally:
        local.engine.close()
        engine.close()
    # Athena received the CTAS, then one SELECT per stored query, each over the window table
    sent = moto_athena.starts
    assert sent[0]["id"] == created["id"] == done.query_id
    assert sent[0]["QueryString"] == done.statement.sql == created["QueryString"]
    assert sent[0]["ExecutionParameters"] == [
        "'2026-10'",
        "DATE '2026-10-01'",
        "DATE '2026-11-01'",
    ]
    assert created["location"].startswith(f"s3://athena-results/{MATERIALISE_PREFIX}")
    assert [r["id"] for r in ctas.reads] == [s["id"] for s in sent[1:]]
    assert len(ctas.reads) == len(specs)
    assert all(f'"cur"."{created["table"]}"' in r["QueryString"] for r in ctas.reads)
    assert all("cost_and_usage" not in r["QueryString"] for r in ctas.reads)
    # the tiny window's rows went through the two files, and came back from them
    assert created["rows"] > 0
    assert (done.bytes_scanned, done.files, done.table_bytes) == (
        CTAS_SCANNED,
        2,
        ctas.parquet_bytes,
    )
    # the table and its two files and manifest are gone
    assert ctas.dropped == [("cur", created["table"])]
    assert set(ctas.deleted) >= set(ctas.written) and len(ctas.written) == 3
    assert _window_tables() == []
    assert _left_in_s3() == []


def test_a_whole_report_in_materialise_mode_shows_the_ctas_and_leaves_nothing(
    ctas: CtasEmulator,
    moto_athena: AthenaPlan,  # noqa: F811
) -> None:
    from flows.report import finops_report

    path = finops_report(engine="athena", start=WINDOW[0], end=WINDOW[1])
    queries = json.loads((Path(path).parent / "report.json").read_text())["queries"]
    (created,) = ctas.ctas
    materialised = queries["athena_materialise"]
    assert (
        materialised["status"],
        materialised["query_id"],
        materialised["bytes_scanned"],
        materialised["sql"],
    ) == ("ok", created["id"], CTAS_SCANNED, created["QueryString"])
    assert {n: q["error"] for n, q in queries.items() if q["status"] != "ok"} == {}
    # every stored query in the report was answered from the window table, but the complete
    # months' comparison, which reads months before the window from the source table
    read = {r["id"] for r in ctas.reads}
    stored = [n for n in queries if n in load_catalog().queries]
    assert [n for n in stored if queries[n]["query_id"] not in read] == [
        "month_over_month_by_service"
    ]
    assert len(stored) > 10
    assert '"cur"."cost_and_usage"' in queries["month_over_month_by_service"]["sql"]
    assert "finops_window_" not in queries["month_over_month_by_service"]["sql"]
    html = Path(path).read_text()
    assert "$34.00" in html
    # the appendix's row of the CTAS: ok, one row, then Athena's bytes scanned
    row = re.search(r"<tr><td>athena_materialise</td>(.*?)</tr>", html, re.S)
    assert row is not None
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", row.group(1))
    assert (cells[0], cells[1], cells[3]) == ("ok", "1", f"{CTAS_SCANNED / 1048576:,.1f} MB")
    # the Glue table is dropped, its files and the manifest deleted
    glue = boto3.client("glue", region_name=REGION)
    with pytest.raises(glue.exceptions.EntityNotFoundException):
        glue.get_table(DatabaseName="cur", Name=created["table"])
    assert ctas.dropped == [("cur", created["table"])]
    assert set(ctas.deleted) >= set(ctas.written) and len(ctas.written) == 3
    assert ctas.manifest(created["id"]) in ctas.deleted
    assert _left_in_s3() == []


def _enforcing_workgroup(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in a workgroup that overrides client-side settings, results under s3://athena-results/q/."""
    boto3.client("athena", region_name=REGION).create_work_group(
        Name="enforced",
        Configuration={
            "ResultConfiguration": {"OutputLocation": "s3://athena-results/q/"},
            "EnforceWorkGroupConfiguration": True,
        },
    )
    monkeypatch.setenv("FINOPS_ATHENA_WORKGROUP", "enforced")


def _under_tables() -> list[str]:
    """What is left under the enforcing workgroup's tables/ folder."""
    listed = boto3.client("s3", region_name=REGION).list_objects_v2(
        Bucket="athena-results", Prefix="q/tables/"
    )
    return [o["Key"] for o in listed.get("Contents", [])]


def test_in_a_workgroup_that_enforces_its_settings_the_ctas_names_no_location_and_is_removed(
    ctas: CtasEmulator,
    moto_athena: AthenaPlan,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Athena refuses a CTAS with external_location in such a workgroup and writes the table
    under its results location's tables/<query id>/: the run must leave that out and clean there."""
    _enforcing_workgroup(monkeypatch)
    from flows.report import finops_report

    path = finops_report(engine="athena", start=WINDOW[0], end=WINDOW[1])
    queries = json.loads((Path(path).parent / "report.json").read_text())["queries"]
    (created,) = ctas.ctas
    assert "external_location" not in created["QueryString"]
    assert created["location"] == f"s3://athena-results/q/tables/{created['id']}/"
    assert queries["athena_materialise"]["status"] == "ok"
    assert {n: q["error"] for n, q in queries.items() if q["status"] != "ok"} == {}
    assert len(ctas.reads) > 10
    # the table is dropped, and its files under tables/<query id>/ and the manifest deleted
    assert ctas.dropped == [("cur", created["table"])]
    assert set(ctas.deleted) >= set(ctas.written) and len(ctas.written) == 3
    assert _under_tables() == []


def test_a_failed_ctas_in_an_enforcing_workgroup_leaves_no_file_under_tables(
    ctas: CtasEmulator,
    moto_athena: AthenaPlan,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No table tells where a failed CTAS wrote: the engine removes Athena's folder for it."""
    _enforcing_workgroup(monkeypatch)
    moto_athena.first(
        "CREATE TABLE",
        Behaviour(athena_error={"ErrorCategory": 2, "ErrorMessage": "HIVE_BAD_DATA: bad file"}),
    )
    with pytest.raises(QueryError, match=r"^query 'athena_materialise' failed on Athena"):
        prepare_run(load_settings(), start=WINDOW[0], end=WINDOW[1])
    (created,) = ctas.ctas
    assert created["location"] == f"s3://athena-results/q/tables/{created['id']}/"
    parquet = [u for u in ctas.written if not u.endswith("-manifest.csv")]
    assert len(parquet) == 2 and all(u.startswith(created["location"]) for u in parquet)
    assert _under_tables() == []
    assert _window_tables() == []


def test_a_failed_ctas_fails_the_run_naming_it_and_leaves_no_table_or_file(
    ctas: CtasEmulator,
    moto_athena: AthenaPlan,  # noqa: F811
) -> None:
    moto_athena.first(
        "CREATE TABLE",
        Behaviour(athena_error={"ErrorCategory": 2, "ErrorMessage": "HIVE_BAD_DATA: bad file"}),
    )
    with pytest.raises(
        QueryError,
        match=r"^query 'athena_materialise' failed on Athena: HIVE_BAD_DATA: bad file",
    ):
        prepare_run(load_settings(), start=WINDOW[0], end=WINDOW[1])
    (created,) = ctas.ctas
    # Athena leaves a failed CTAS's files behind; the engine deletes them and drops the table
    parquet = [u for u in ctas.written if not u.endswith("-manifest.csv")]
    assert len(parquet) == 2
    assert set(ctas.deleted) >= set(parquet)
    assert ctas.dropped == [("cur", created["table"])]
    assert _window_tables() == []
    assert [k for k in _left_in_s3() if k.startswith(MATERIALISE_PREFIX)] == []


def test_cancelling_the_run_stops_the_ctas_and_removes_what_it_wrote(
    ctas: CtasEmulator,
    moto_athena: AthenaPlan,  # noqa: F811
) -> None:
    moto_athena.first("CREATE TABLE", Behaviour(hang=True))
    engine = AthenaMaterialiseEngine.from_settings(load_settings())
    failure: list[BaseException] = []

    def run() -> None:
        try:
            prepare_run(load_settings(), start=WINDOW[0], end=WINDOW[1], engine=engine)
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run, name="materialise-run")
    thread.start()
    # the engine has polled the RUNNING CTAS: it holds the execution id to stop
    assert ctas.running.wait(60), "the CTAS was never polled while RUNNING"
    # a cancelled flow run ends in close(), from another thread than the one waiting
    engine.close()
    join_all([thread], 60, "the run to end after close()")
    (created,) = ctas.ctas
    assert moto_athena.stopped == [created["id"]]
    assert [type(f) for f in failure] == [QueryError]
    assert str(failure[0]).startswith("query 'athena_materialise' was stopped on Athena")
    # what the stopped CTAS wrote is deleted; it created no table, and none is left
    parquet = [u for u in ctas.written if not u.endswith("-manifest.csv")]
    assert len(parquet) == 2 and set(ctas.deleted) >= set(parquet)
    assert ctas.dropped == [("cur", created["table"])]
    assert _window_tables() == []
    assert [k for k in _left_in_s3() if k.startswith(MATERIALISE_PREFIX)] == []
    # nothing read the window table
    assert ctas.reads == []


def test_the_chat_scan_cap_stops_the_ctas_of_a_chat(
    ctas: CtasEmulator,
    moto_athena: AthenaPlan,  # noqa: F811
) -> None:
    """Chat materialises every canonical column (its SQL may read any) under the chat's scan cap."""
    moto_athena.first("CREATE TABLE", Behaviour(hang=True, scan_per_poll=4_000_000_000))
    settings = load_settings(chat_max_scan_bytes=10_000_000_000)
    with pytest.raises(
        QueryError,
        match=r"^query 'athena_materialise' was stopped on Athena after scanning 12\.00 GB, over "
        r"the cap of 10\.00 GB \(FINOPS_CHAT_MAX_SCAN_BYTES; execution ",
    ):
        prepare_run(settings, start=WINDOW[0], end=WINDOW[1], ad_hoc_sql=True)
    (created,) = ctas.ctas
    assert moto_athena.stopped == [created["id"]]
    assert adapter_columns(created["select"]) == [name for name, _, _ in COST_COLUMNS]
    assert ctas.dropped == [("cur", created["table"])]
    assert _window_tables() == []
    assert [k for k in _left_in_s3() if k.startswith(MATERIALISE_PREFIX)] == []


def test_the_comparisons_read_the_source_table_not_the_window_table(
    ctas: CtasEmulator,
    moto_athena: AthenaPlan,  # noqa: F811
) -> None:
    """Previous period, complete months and month to date read months outside the window."""
    settings = load_settings()
    remote = prepare_run(settings, start=WINDOW[0], end=WINDOW[1], comparisons=True)
    mom = load_catalog().queries["month_over_month_by_service"]
    tags = settings.tag_keys
    try:
        assert isinstance(remote.engine, AthenaMaterialiseEngine)
        (created,) = ctas.ctas
        before = len(moto_athena.starts)
        results = [
            previous_period_totals(remote.engine, remote.schema, remote.window, tags),  # type: ignore[arg-type]
            month_over_month(remote.engine, remote.schema, remote.window, tags, mom),  # type: ignore[arg-type]
            month_to_date(remote.engine, remote.schema, remote.window, tags),  # type: ignore[arg-type]
        ]
    finally:
        remote.engine.close()
    assert [(r.name, r.ok, r.error) for r in results] == [
        ("previous_period_totals", True, None),
        ("month_over_month_by_service", True, None),
        ("month_to_date", True, None),
    ]
    sent = moto_athena.starts[before:]
    assert [s["id"] for s in sent] == [r.query_id for r in results]
    for start, result in zip(sent, results, strict=True):
        assert '"cur"."cost_and_usage"' in start["QueryString"], result.name
        assert created["table"] not in start["QueryString"], result.name
    assert not {s["id"] for s in sent} & {r["id"] for r in ctas.reads}
    # each reads its own days from the source: September for the previous period
    assert sent[0]["ExecutionParameters"] == [
        "'2026-09'",
        "DATE '2026-09-01'",
        "DATE '2026-10-01'",
    ]


def test_an_empty_window_writes_no_file_and_every_query_still_matches_duckdb(
    ctas: CtasEmulator,
    moto_athena: AthenaPlan,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A CTAS of no rows writes no Parquet: the queries read an empty table with Glue's columns."""
    june = ("2026-06-01", "2026-07-01")
    local = prepare_run(
        load_settings(engine="duckdb"),
        source=str(tiny.write("cur2", tmp_path / "local")),
        start=june[0],
        end=june[1],
    )
    remote = prepare_run(load_settings(), start=june[0], end=june[1])
    try:
        assert isinstance(remote.engine, AthenaMaterialiseEngine)
        done = remote.engine.materialised
        assert done is not None and (done.files, done.table_bytes) == (0, 0)
        for spec in local.specs:
            mine = run_query(remote.engine, spec, remote.params)
            theirs = run_query(local.engine, spec, local.params)
            assert mine.ok and theirs.ok, (spec.name, mine.error, theirs.error)
            _same_rows(mine.frame, theirs.frame, spec.name)
        totals = run_query(remote.engine, local.specs[0], remote.params).frame
        assert totals["rows"].tolist() == [0]
    finally:
        local.engine.close()
        remote.engine.close()
    (created,) = ctas.ctas
    assert created["rows"] == 0
    assert [u for u in ctas.written if not u.endswith("-manifest.csv")] == []
    assert len(ctas.reads) == len(local.specs) + 1
    assert _window_tables() == []
    assert _left_in_s3() == []
