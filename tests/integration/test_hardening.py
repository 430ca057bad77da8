"""Faults and hostile input the pipeline survives: crashes mid-write, truncated files, Athena refusals, secrets."""

from __future__ import annotations

import gzip
import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest

from finops_agent.engines.athena import AthenaEngine
from finops_agent.engines.base import QueryError
from finops_agent.engines.duckdb import DuckDBEngine
from finops_agent.reports import folder as report_folder
from finops_agent.sources import SourceError
from finops_agent.store.sqlite import SQLiteStore
from tests import tiny
from tests.support.athena import AthenaPlan, Behaviour, marker
from tests.support.reports import make_report

pytestmark = pytest.mark.integration


@pytest.mark.fault
def test_a_crash_while_writing_leaves_no_half_written_report_and_a_rerun_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from finops_agent.settings import load_settings

    settings = load_settings(output_dir=tmp_path / "reports", home=tmp_path / "home")
    source = tiny.write("cur2", tmp_path / "data")
    first = make_report(settings, source)
    real_replace = os.replace

    def crash(src: Any, dst: Any) -> None:
        if str(dst).endswith("report.html"):
            raise KeyboardInterrupt("killed while renaming report.html")
        real_replace(src, dst)

    monkeypatch.setattr(report_folder.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt, match=r"killed while renaming report\.html"):
        make_report(settings, source)
    monkeypatch.setattr(report_folder.os, "replace", real_replace)
    folders = [p for p in (tmp_path / "reports").iterdir() if p.is_dir()]
    # no temporary files remain, and no report.html exists that is not complete
    assert not list((tmp_path / "reports").rglob(".report*"))
    for folder in folders:
        html = folder / "report.html"
        assert not html.exists() or html.read_text().rstrip().endswith("</html>")
    # the index still lists only complete reports and is valid HTML
    assert first in (tmp_path / "reports" / "index.html").read_text()
    second = make_report(settings, source)
    assert (tmp_path / "reports" / second / "report.html").read_text().rstrip().endswith("</html>")


@pytest.mark.hostile
def test_a_truncated_csv_gz_is_an_error_naming_the_file(tmp_path: Path) -> None:
    rows = "lineItem/UnblendedCost,lineItem/UsageStartDate\n" + "1.0,2026-10-01T00:00:00Z\n" * 5000
    whole = gzip.compress(rows.encode())
    broken = tmp_path / "cur.csv.gz"
    broken.write_bytes(whole[: len(whole) // 2])
    with pytest.raises((SourceError, QueryError), match=r"cur\.csv\.gz"):
        engine = DuckDBEngine(str(broken))
        engine.raw_sql("select count(*) from raw_cost")


@pytest.mark.fault
@pytest.mark.parametrize(
    ("behaviour", "expected", "transient"),
    [
        # StartQueryExecution throttled past botocore's retries: another attempt may pass
        (
            Behaviour(refuse=[("ThrottlingException", "Rate exceeded")]),
            "ThrottlingException: Rate exceeded",
            True,
        ),
        # the role may not start queries in the workgroup: the same again on every attempt
        (
            Behaviour(
                refuse=[
                    (
                        "AccessDeniedException",
                        "User x is not authorized to perform: athena:StartQueryExecution on "
                        "resource arn:aws:athena:us-east-1:123456789012:workgroup/primary",
                    )
                ]
            ),
            "access denied for athena:StartQueryExecution",
            False,
        ),
        # Athena runs the query but cannot write its result: FAILED, a user error, not retryable
        (
            Behaviour(
                athena_error={
                    "ErrorCategory": 2,
                    "ErrorType": 1001,
                    "Retryable": False,
                    "ErrorMessage": "Access denied when writing output to url: s3://results/q/",
                }
            ),
            "Access denied when writing output to url: s3://results/q/",
            False,
        ),
    ],
    ids=["throttled", "start-denied", "results-bucket-denies-writes"],
)
def test_athena_refusals_become_failed_sections_with_the_reason(
    mocked_aws: Any,
    monkeypatch: pytest.MonkeyPatch,
    behaviour: Behaviour,
    expected: str,
    transient: bool,
) -> None:
    from finops_agent.catalog import load_catalog
    from finops_agent.execution import run_query

    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # botocore's own retries spent at once
    spec = load_catalog().queries["spend_by_region"]
    AthenaPlan(monkeypatch).when(marker(spec), behaviour)
    engine = AthenaEngine("cur", "cost_and_usage", s3_output="s3://results/q/")
    engine.bind_cost("select 1 as unblended_cost", {})
    result = run_query(engine, spec, {"start_date": "x", "end_date": "y"})
    assert (
        result.status == "failed"
        and "'spend_by_region'" in str(result.error)
        and expected in str(result.error)
    )
    assert result.transient is transient


@pytest.mark.hostile
def test_secrets_never_reach_reports_logs_or_warnings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from finops_agent.delivery.report_mail import email_report
    from finops_agent.settings import load_settings
    from tests.integration.dynamo_servers import free_port

    secret = "hunter2-do-not-leak"
    monkeypatch.setenv("FINOPS_SMTP_PASSWORD", secret)
    monkeypatch.setenv("FINOPS_SMTP_USER", "reports")
    caplog.set_level(logging.DEBUG)
    settings = load_settings(
        output_dir=tmp_path / "reports",
        home=tmp_path / "home",
        mailer="smtp",
        smtp_host="127.0.0.1",
        smtp_port=free_port(),
        mail_from="finops@example.com",
        email_retry_delays_s=[],
        email_images=False,
    )
    report_id = make_report(settings, tiny.write("cur", tmp_path / "data"))
    result = email_report(
        settings, tmp_path / "reports" / report_id, "team@example.com"
    )  # the server is down
    assert not result.sent
    haystack = [
        json.dumps(settings.masked(), default=str),
        repr(settings),
        " ".join(result.warnings),
        caplog.text,
    ]
    haystack += [
        p.read_text(errors="ignore") for p in (tmp_path / "reports").rglob("*") if p.is_file()
    ]
    log = (
        SQLiteStore(tmp_path / "home" / "interactions.sqlite")
        if (tmp_path / "home" / "interactions.sqlite").exists()
        else None
    )
    if log is not None:
        haystack += [json.dumps(i.to_dict(), default=str) for i in log.recent()]
    assert not [text[:80] for text in haystack if secret in text]
