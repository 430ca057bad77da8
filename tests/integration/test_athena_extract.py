"""Athena extract mode against a moto server: one UNLOAD, the same rows as DuckDB, nothing left in S3.

moto runs no SQL: the UNLOAD is answered by running its SELECT on DuckDB over the same tiny
CUR 2.0 files and writing the Parquet into moto's S3 (`tests.support.athena_unload`); the
comparison statements that read other months are answered like DuckDB as in per-query mode.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import boto3
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from finops_agent.catalog import load_catalog
from finops_agent.comparison import month_over_month, month_to_date, previous_period_totals
from finops_agent.engines.athena_extract import AthenaExtractEngine, adapter_columns
from finops_agent.engines.base import QueryError
from finops_agent.execution import run_query
from finops_agent.pipeline import prepare_run
from finops_agent.settings import load_settings
from finops_agent.sources import COST_COLUMNS
from tests import tiny
from tests.integration.test_athena_runs import answers, moto_athena  # noqa: F401
from tests.support.athena import REGION, WINDOW, AthenaPlan, Behaviour
from tests.support.athena_unload import UNLOAD_SCANNED, UnloadEmulator
from tests.support.bounded import join_all, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]
EXTRACT_FOLDER = "s3://athena-results/q/finops-extract/"


@pytest.fixture
def unload(
    moto_athena: AthenaPlan,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[UnloadEmulator]:
    """The moto server of `moto_athena` in extract mode, answering UNLOAD from the tiny files."""
    monkeypatch.setenv("FINOPS_ATHENA_MODE", "extract")
    yield UnloadEmulator(monkeypatch, tiny.write("cur2", tmp_path / "unload-source"))


def _left_in_s3() -> list[str]:
    """Every object under the results bucket's extract folder and every UNLOAD manifest."""
    s3 = boto3.client("s3", region_name=REGION)
    listed = s3.list_objects_v2(Bucket="athena-results").get("Contents", [])
    return sorted(
        o["Key"]
        for o in listed
        if o["Key"].startswith("q/finops-extract/") or o["Key"].endswith("-manifest.csv")
    )


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(frame.columns), na_position="first").reset_index(drop=True)


def test_every_stored_query_returns_duckdbs_rows_from_one_unload(
    unload: UnloadEmulator,
    moto_athena: AthenaPlan,  # noqa: F811
    tmp_path: Path,
) -> None:
    local = prepare_run(
        load_settings(engine="duckdb"),
        source=str(tiny.write("cur2", tmp_path / "local")),
        start=WINDOW[0],
        end=WINDOW[1],
    )
    remote = prepare_run(load_settings(), start=WINDOW[0], end=WINDOW[1])
    try:
        assert isinstance(remote.engine, AthenaExtractEngine)
        assert [s.name for s in remote.specs] == [s.name for s in local.specs]
        for spec in local.specs:
            mine = run_query(remote.engine, spec, remote.params)
            theirs = run_query(local.engine, spec, local.params)
            assert mine.ok and theirs.ok, (spec.name, mine.error, theirs.error)
            pd.testing.assert_frame_equal(_sorted(mine.frame), _sorted(theirs.frame), obj=spec.name)
        extract = remote.engine.extract
        assert extract is not None
    finally:
        local.engine.close()
        remote.engine.close()
    # one statement reached Athena: the UNLOAD, with the window as its parameters
    (sent,) = moto_athena.starts
    (unloaded,) = unload.unloads
    assert sent["id"] == unloaded["id"] == extract.query_id
    assert sent["QueryString"] == extract.statement.sql
    assert sent["QueryString"].endswith(
        f"TO '{EXTRACT_FOLDER}{extract.statement.location.split('/')[-3]}/window/' "
        "WITH (format = 'PARQUET', compression = 'SNAPPY')"
    )
    assert sent["ExecutionParameters"] == ["'2026-10'", "DATE '2026-10-01'", "DATE '2026-11-01'"]
    assert (extract.bytes_scanned, extract.files) == (UNLOAD_SCANNED, 2)
    written = set(unload.written)
    assert len(written) == 3
    assert extract.download_bytes == unload.parquet_bytes > 0
    # the two Parquet files and the manifest are deleted, and S3 holds nothing of the run
    assert set(unload.deleted) >= written
    assert _left_in_s3() == []


def _parquet_written(unload: UnloadEmulator) -> set[str]:
    return {u for u in unload.written if not u.endswith("-manifest.csv")}


def _extract_files_left() -> list[str]:
    """Objects left in the extract folder (a failed or stopped UNLOAD reports no manifest)."""
    return [key for key in _left_in_s3() if key.startswith("q/finops-extract/")]


def test_a_failed_unload_removes_what_it_wrote_and_names_the_extract(
    unload: UnloadEmulator,
    moto_athena: AthenaPlan,  # noqa: F811
) -> None:
    moto_athena.first(
        "UNLOAD",
        Behaviour(athena_error={"ErrorCategory": 2, "ErrorMessage": "HIVE_BAD_DATA: bad file"}),
    )
    with pytest.raises(
        QueryError, match=r"^query 'athena_extract' failed on Athena: HIVE_BAD_DATA: bad file"
    ):
        prepare_run(load_settings(), start=WINDOW[0], end=WINDOW[1])
    assert len(unload.unloads) == 1
    # Athena leaves a failed UNLOAD's files behind; the engine deletes them
    assert len(_parquet_written(unload)) == 2
    assert set(unload.deleted) >= _parquet_written(unload)
    assert _extract_files_left() == []


def test_cancelling_the_run_stops_the_unload_and_removes_its_files(
    unload: UnloadEmulator,
    moto_athena: AthenaPlan,  # noqa: F811
) -> None:
    moto_athena.first("UNLOAD", Behaviour(hang=True))
    engine = AthenaExtractEngine.from_settings(load_settings())
    failure: list[BaseException] = []

    def run() -> None:
        try:
            prepare_run(load_settings(), start=WINDOW[0], end=WINDOW[1], engine=engine)
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run, name="extract-run")
    thread.start()
    wait_until(lambda: bool(moto_athena.running_and_polled()), 60, "the UNLOAD to run")
    # a cancelled flow run ends in close(), from another thread than the one waiting
    engine.close()
    join_all([thread], 60, "the run to end after close()")
    (unloaded,) = unload.unloads
    assert moto_athena.stopped == [unloaded["id"]]
    assert [type(f) for f in failure] == [QueryError]
    assert str(failure[0]).startswith("query 'athena_extract' was stopped on Athena")
    assert set(unload.deleted) >= _parquet_written(unload)
    assert _extract_files_left() == []


def test_a_whole_report_in_extract_mode_shows_the_unloads_scan_and_download(
    unload: UnloadEmulator,
    moto_athena: AthenaPlan,  # noqa: F811
) -> None:
    from flows.report import finops_report

    path = finops_report(engine="athena", start=WINDOW[0], end=WINDOW[1])
    queries = json.loads((Path(path).parent / "report.json").read_text())["queries"]
    window, months = unload.unloads
    for name, unloaded in (("athena_extract", window), ("athena_extract_comparisons", months)):
        extract = queries[name]
        assert (extract["status"], extract["query_id"], extract["bytes_scanned"]) == (
            "ok",
            unloaded["id"],
            UNLOAD_SCANNED,
        ), name
        assert extract["sql"] == unloaded["QueryString"]
    # the comparisons' copy is September (the month before the window), nothing of October,
    # in the report's currency as the comparisons read it
    assert months["ExecutionParameters"] == [
        "'2026-09'",
        "DATE '2026-09-01'",
        "DATE '2026-10-01'",
        "'USD'",
    ]
    assert {n: q["error"] for n, q in queries.items() if q["status"] != "ok"} == {}
    # every query ran locally, the comparisons too: only the two UNLOADs reached Athena
    sent = [s["QueryString"] for s in moto_athena.starts]
    # the currency survey (before the copies), then the two UNLOADs: every query and every
    # comparison ran locally
    assert [text.split(" (")[0] for text in sent[1:]] == ["UNLOAD", "UNLOAD"]
    assert len(sent) == 3
    assert sent[0].startswith("/* Which billing currencies and providers does the window hold")
    html = Path(path).read_text()
    # the tiny data has no September rows: the second UNLOAD writes no file
    downloaded = f"{unload.parquet_bytes / 1048576:,.1f} MB downloaded"
    assert f"{UNLOAD_SCANNED / 1048576:,.1f} MB, {downloaded}" in html
    assert "$34.00" in html
    assert _left_in_s3() == []


def test_the_chat_scan_cap_stops_the_extract_of_a_chat(
    unload: UnloadEmulator,
    moto_athena: AthenaPlan,  # noqa: F811
) -> None:
    """Chat extracts every canonical column (its SQL may read any) under FINOPS_CHAT_MAX_SCAN_BYTES."""
    moto_athena.first("UNLOAD", Behaviour(hang=True, scan_per_poll=4_000_000_000))
    settings = load_settings(chat_max_scan_bytes=10_000_000_000)
    with pytest.raises(
        QueryError,
        match=r"^query 'athena_extract' was stopped on Athena after scanning 12\.00 GB, over the "
        r"cap of 10\.00 GB \(FINOPS_CHAT_MAX_SCAN_BYTES; execution ",
    ):
        prepare_run(settings, start=WINDOW[0], end=WINDOW[1], ad_hoc_sql=True)
    (unloaded,) = unload.unloads
    assert moto_athena.stopped == [unloaded["id"]]
    select = unloaded["QueryString"].split(") TO '")[0].removeprefix("UNLOAD (")
    assert adapter_columns(select) == [name for name, _, _ in COST_COLUMNS]
    assert _extract_files_left() == []


def test_an_empty_window_writes_no_file_and_every_query_still_matches_duckdb(
    unload: UnloadEmulator,
    moto_athena: AthenaPlan,  # noqa: F811
    tmp_path: Path,
) -> None:
    """UNLOAD of no rows writes no Parquet; the local `cost` is empty with the canonical types."""
    june = ("2026-06-01", "2026-07-01")
    local = prepare_run(
        load_settings(engine="duckdb"),
        source=str(tiny.write("cur2", tmp_path / "local")),
        start=june[0],
        end=june[1],
    )
    remote = prepare_run(load_settings(), start=june[0], end=june[1])
    try:
        assert isinstance(remote.engine, AthenaExtractEngine)
        assert remote.engine.extract is not None and remote.engine.extract.files == 0
        for spec in local.specs:
            mine = run_query(remote.engine, spec, remote.params)
            theirs = run_query(local.engine, spec, local.params)
            assert mine.ok and theirs.ok, (spec.name, mine.error, theirs.error)
            pd.testing.assert_frame_equal(_sorted(mine.frame), _sorted(theirs.frame), obj=spec.name)
        totals = run_query(remote.engine, local.specs[0], remote.params).frame
        assert totals["rows"].tolist() == [0]
    finally:
        local.engine.close()
        remote.engine.close()
    assert _parquet_written(unload) == set()
    assert _left_in_s3() == []


def _with_september(folder: Path) -> Path:
    """Add the tiny October line items again on 1 October and as September's (3 September)."""
    october = pq.read_table(folder / "billing_period=2026-10" / "part-00000.parquet")
    first = october.set_column(
        october.schema.get_field_index("line_item_usage_start_date"),
        "line_item_usage_start_date",
        pc.subtract(
            october.column("line_item_usage_start_date"), pd.Timedelta(days=2).to_pytimedelta()
        ),
    )
    pq.write_table(first, folder / "billing_period=2026-10" / "part-00001.parquet")
    september = october
    for name in ("bill_billing_period_start_date", "line_item_usage_start_date"):
        shifted = pc.subtract(september.column(name), pd.Timedelta(days=30).to_pytimedelta())
        september = september.set_column(september.schema.get_field_index(name), name, shifted)
    part = folder / "billing_period=2026-09"
    part.mkdir()
    pq.write_table(september, part / "part-00000.parquet")
    return folder


@pytest.mark.parametrize(
    ("start", "previous_totals", "window_copy"),
    [
        # the previous period is September: the six line items of 3 September
        (WINDOW[0], [6, 1, 34.0], ["'2026-10'", "DATE '2026-10-01'", "DATE '2026-11-01'"]),
        # the digest's 30 days: the previous period is 2 September to 1 October, and the
        # window's copy reaches back to 1 October (its partition) for the comparisons
        (
            "2026-10-02",
            [12, 2, 68.0],
            ["'2026-10'", "DATE '2026-10-01'", "DATE '2026-11-01'"],
        ),
    ],
)
def test_the_comparisons_return_duckdbs_rows_from_a_second_narrow_unload(
    unload: UnloadEmulator,
    moto_athena: AthenaPlan,  # noqa: F811
    tmp_path: Path,
    start: str,
    previous_totals: list[object],
    window_copy: list[str],
) -> None:
    """Previous period, complete months and month to date read September, before the window."""
    _with_september(tmp_path / "unload-source")
    source = _with_september(tiny.write("cur2", tmp_path / "local"))
    settings = load_settings()
    local = prepare_run(
        load_settings(engine="duckdb"),
        source=str(source),
        start=start,
        end=WINDOW[1],
        comparisons=True,
    )
    remote = prepare_run(settings, start=start, end=WINDOW[1], comparisons=True)
    mom = load_catalog().queries["month_over_month_by_service"]
    try:
        assert isinstance(remote.engine, AthenaExtractEngine)
        # the stored queries see the window alone, also when the copy reaches before it
        for spec in local.specs:
            mine = run_query(remote.engine, spec, remote.params)
            theirs = run_query(local.engine, spec, local.params)
            assert mine.ok and theirs.ok, (spec.name, mine.error, theirs.error)
            pd.testing.assert_frame_equal(_sorted(mine.frame), _sorted(theirs.frame), obj=spec.name)
        frames = []
        for run in (remote, local):
            tags = settings.tag_keys
            frames.append(
                [
                    previous_period_totals(run.engine, run.schema, run.window, tags),  # type: ignore[arg-type]
                    month_over_month(run.engine, run.schema, run.window, tags, mom),  # type: ignore[arg-type]
                    month_to_date(run.engine, run.schema, run.window, tags),  # type: ignore[arg-type]
                ]
            )
        for mine, theirs in zip(*frames, strict=True):
            assert mine.ok and theirs.ok, (mine.name, mine.error, theirs.error)
            pd.testing.assert_frame_equal(_sorted(mine.frame), _sorted(theirs.frame), obj=mine.name)
        previous = frames[0][0].frame
        # each day holds the six tiny line items: $34.00 net
        assert previous[["rows", "days", "unblended_cost"]].values.tolist() == [previous_totals]
        # the comparisons read the local copy: their SQL names it, not the Glue table
        assert "comparison_cost" in frames[0][0].sql
        assert "cost_and_usage" not in frames[0][0].sql
        extract = remote.engine.comparison_extract
        assert extract is not None and extract.files == 2
    finally:
        local.engine.close()
        remote.engine.close()
    window, months = unload.unloads
    assert [s["id"] for s in moto_athena.starts] == [window["id"], months["id"]]
    assert window["ExecutionParameters"] == window_copy
    # only September's partition and days, and only the columns the comparisons read
    assert months["ExecutionParameters"] == ["'2026-09'", "DATE '2026-09-01'", "DATE '2026-10-01'"]
    select = months["QueryString"].split(") TO '")[0].removeprefix("UNLOAD (")
    assert adapter_columns(select) == [
        "billing_period",
        "usage_date",
        "charge_type",
        "service_code",
        "service_name",
        "unblended_cost",
        "public_cost",
    ]
    assert _left_in_s3() == []
