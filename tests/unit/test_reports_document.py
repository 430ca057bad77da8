"""report.json as a typed, versioned document: round trip, version-1 migration, refusals."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import pytest

from finops_agent.chat.session import ChatTurn
from finops_agent.execution import QueryResult
from finops_agent.insights.base import Finding
from finops_agent.reports.document import (
    SCHEMA_VERSION,
    ChatTurnRecord,
    DatasetRecord,
    FileMeta,
    FindingRecord,
    Metrics,
    QueryMeta,
    QueryRows,
    ReadOption,
    ReportDocument,
    ReportDocumentError,
    ReportWindow,
    UnsupportedVersionError,
    load,
)

# Written by the code before report.json had a version (a `make_report` run over the tiny
# CUR 2.0 data plus one chat question, and an `analyze` run over a three-line CSV), kept as
# they came out apart from report.html and charts.json.
V1 = Path(__file__).parents[1] / "data" / "reports_v1"
V1_REPORT = V1 / "20261202T025236Z-39e6c8" / "report.json"
V1_ANALYSIS = V1 / "20261202T025247Z-4d135c" / "report.json"


def _document() -> ReportDocument:
    return ReportDocument(
        report_id="20261101T060000Z-abc123",
        kind="digest",
        generated_at="2026-11-01T06:00:00+00:00",
        window=ReportWindow(start=dt.date(2026, 10, 2), end=dt.date(2026, 11, 1)),
        schema="cur2",
        engine="duckdb",
        source="/data/cur2",
        source_path="/data/cur2",
        families=["cost"],
        tag_keys={"owner": ["owner", "Owner"]},
        metrics=Metrics(rows=6, unblended_cost=1234.5, change_pct=4.2, findings=1),
        queries={
            "gp2_volumes": QueryMeta(
                name="gp2_volumes", family="architecture", rows=1, params={"share": "0.2"}
            )
        },
        results={
            "gp2_volumes": QueryRows(
                columns=["resource_id", "monthly_savings"],
                rows=[{"resource_id": "vol-1", "monthly_savings": 18.26}],
            )
        },
        findings=[
            FindingRecord(
                id="gp2_volumes",
                family="architecture",
                query="gp2_volumes",
                title="Migrate 1 gp2 EBS volumes to gp3",
                evidence="1 row",
                monthly_savings_usd=18.26,
                action="Change the volume type",
            )
        ],
        chat=[ChatTurnRecord(question="q", answer="a", interaction_id="i-1", rating=-1)],
        file=FileMeta(
            read_options=[ReadOption(path="/data/costs.csv", conversions={"cost": "money"})],
            datasets=[DatasetRecord(view="results", label="costs.csv", totals={"cost": 1.5})],
        ),
    )


def test_a_document_survives_writing_and_reading(tmp_path: Path) -> None:
    document = _document()
    path = tmp_path / "report.json"
    path.write_text(document.to_json())
    raw = json.loads(path.read_text())
    # the file keeps the key `schema` and says which layout it is
    assert (raw["schema_version"], raw["schema"], raw["kind"]) == (2, "cur2", "digest")
    assert raw["window"] == {"start": "2026-10-02", "end": "2026-11-01"}
    assert load(path) == document


def test_a_version_1_report_is_migrated_on_load_with_every_value_kept() -> None:
    document = load(V1_REPORT)
    assert (document.schema_version, document.kind) == (SCHEMA_VERSION, "report")
    assert (document.report_id, document.source_schema) == ("20261202T025236Z-39e6c8", "cur2")
    assert document.window == ReportWindow(start=dt.date(2026, 10, 1), end=dt.date(2026, 11, 1))
    # the tiny dataset's totals and the rule findings of that run
    assert (document.metrics.unblended_cost, document.metrics.monthly_savings_usd) == (
        34.0,
        164.36,
    )
    assert [(f.id, f.monthly_savings_usd) for f in document.findings] == [
        ("graviton_candidates", 146.1),
        ("gp2_volumes", 18.26),
        ("untagged_spend", 0.0),
    ]
    assert document.queries["gp2_volumes"].params["gp3_saving_share"] == "0.2"
    (turn,) = document.chat
    assert (turn.session_id, turn.row_count, turn.note) == ("s-1", 5, "LIMIT 200 added")
    assert document.file is None and document.relations == frozenset({"cost"})
    # written back, version 1's keys hold the same values; only the version and kind are new
    before = json.loads(V1_REPORT.read_text())
    after = json.loads(document.to_json())
    assert {k: after[k] for k in before} == before
    # the bill and its bases are new too: empty in a report written before them
    assert set(after) - set(before) == {
        "schema_version",
        "kind",
        "file",
        "bill",
        "basis",
        "coverage",
        "currency",
        "currencies",
        "providers",
    }
    assert (after["bill"], after["basis"], after["coverage"]) == (None, {}, None)
    # a report written before currencies were told apart was in US dollars, providers unknown
    assert (after["currency"], after["currencies"], after["providers"]) == ("USD", [], [])
    assert document.title == "AWS cost report"


def test_a_version_1_analysis_is_migrated_as_an_analysis() -> None:
    document = load(V1_ANALYSIS)
    assert (document.kind, document.source_schema) == ("analysis", "file")
    assert document.file is not None
    assert [o.path for o in document.file.read_options] == ["/tmp/v1gen/an/costs.csv"]
    assert document.relations == frozenset({"results"})
    assert document.metrics.unblended_cost == 230.5


@pytest.mark.parametrize(
    ("version", "shown"),
    [
        (3, "3"),  # a newer finops-agent wrote it
        ("2", "'2'"),  # a string is not a version
        (0, "0"),
    ],
)
def test_an_unknown_version_is_refused_naming_the_file_and_the_version(
    tmp_path: Path, version: object, shown: str
) -> None:
    path = tmp_path / "report.json"
    path.write_text(json.dumps({"schema_version": version, "report_id": "r"}))
    expected = (
        f"{path}: schema_version {shown} is not supported (this finops-agent reads versions 1 to 2)"
    )
    with pytest.raises(UnsupportedVersionError, match=f"^{re.escape(expected)}$"):
        load(path)


def test_a_broken_or_unknown_field_is_one_line_naming_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    shutil.copytree(V1_REPORT.parent, folder)
    data = json.loads((folder / "report.json").read_text())
    data["metrics"]["unblended_cost"] = "lots"
    (folder / "report.json").write_text(json.dumps(data))
    with pytest.raises(ReportDocumentError, match=r"report\.json: metrics\.unblended_cost: "):
        load(folder / "report.json")
    (folder / "report.json").write_text('{"report_id": "r", "surprise": 1}')
    with pytest.raises(ReportDocumentError, match=r"report\.json: surprise: Extra inputs"):
        load(folder / "report.json")
    (folder / "report.json").write_text('{"report_id": ')
    with pytest.raises(ReportDocumentError, match=r"report\.json is not valid JSON"):
        load(folder / "report.json")


@pytest.mark.parametrize(
    ("record", "model"),
    [(FindingRecord, Finding), (ChatTurnRecord, ChatTurn)],
)
def test_saved_records_have_the_fields_of_the_models_they_save(
    record: type[ReportDocument], model: type[ReportDocument]
) -> None:
    # a field added to a finding or a chat turn must be added to report.json's model too,
    # or writing a report fails on the unknown field
    assert set(record.model_fields) == set(model.model_fields)


def test_query_metadata_has_every_key_a_query_result_reports() -> None:
    result = QueryResult("q", "cost", "Q", "ok", "select 1", {"start_date": dt.date(2026, 10, 1)})
    assert set(result.meta()) == set(QueryMeta.model_fields)
    assert QueryMeta.model_validate(result.meta()).params == {"start_date": "2026-10-01"}
