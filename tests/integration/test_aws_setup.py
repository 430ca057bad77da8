"""`finops doctor`, `finops iam-policy` and report publishing, against moto and stubbed AWS errors."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.stub import Stubber
from typer.testing import CliRunner

from finops_agent.aws.doctor import (
    check_athena_extract,
    check_athena_materialise,
    check_athena_output,
    check_athena_table,
    check_credentials,
    run_checks,
)
from finops_agent.aws.iam import iam_policy
from finops_agent.aws.s3 import upload_report
from finops_agent.cli import app
from finops_agent.settings import load_settings

pytestmark = pytest.mark.integration
REGION = "us-east-1"


@pytest.fixture
def aws(mocked_aws: boto3.Session) -> boto3.Session:
    return mocked_aws


def test_doctor_names_a_missing_table_with_its_fix(aws: boto3.Session) -> None:
    aws.client("glue").create_database(DatabaseInput={"Name": "cur"})
    settings = load_settings(
        engine="athena", athena_database="cur", athena_table="missing_table", aws_region=REGION
    )
    assert check_credentials(aws).ok
    check = check_athena_table(settings, aws)
    assert (
        not check.ok and "cur.missing_table" in check.detail and "FINOPS_ATHENA_TABLE" in check.fix
    )


def test_doctor_reports_a_denied_action(aws: boto3.Session) -> None:
    settings = load_settings(engine="athena", aws_region=REGION)
    athena = aws.client("athena")
    stub = Stubber(athena)
    stub.add_client_error(
        "get_work_group",
        service_error_code="AccessDeniedException",
        service_message="User: arn:aws:iam::123:user/x is not authorized to perform: athena:GetWorkGroup",
    )
    stub.activate()

    class OneClient:
        def client(self, name: str, **kwargs: Any) -> Any:
            return athena

    check = check_athena_output(settings, OneClient())  # type: ignore[arg-type]
    assert (
        not check.ok and "athena:GetWorkGroup" in check.detail and "finops iam-policy" in check.fix
    )


def test_doctor_cli_exits_non_zero_when_a_check_fails(
    aws: boto3.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINOPS_ENGINE", "athena")
    monkeypatch.setenv("FINOPS_ATHENA_DATABASE", "nowhere")
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 1
    assert "credentials" in result.output and "FAIL" in result.output
    first = run_checks(load_settings(), aws)[0]
    assert (first.name, first.ok) == ("credentials", True)


def test_iam_policy_is_scoped_to_the_configured_resources() -> None:
    settings = load_settings(
        athena_database="cur",
        athena_table="cost_and_usage",
        athena_workgroup="finops",
        athena_output="s3://results/finops/",
        cur_s3_uri="s3://cur-bucket/exports/",
        dynamodb_table="finops-agent-interactions",
        mailer="ses",
        mail_from="finops@example.com",
        aws_region="eu-west-1",
    )
    policy = iam_policy(settings, "123456789012")
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert (
        by_sid["AthenaQueries"]["Resource"]
        == "arn:aws:athena:eu-west-1:123456789012:workgroup/finops"
    )
    assert (
        "arn:aws:glue:eu-west-1:123456789012:table/cur/cost_and_usage"
        in by_sid["GlueCatalogRead"]["Resource"]
    )
    assert by_sid["ReadCurExport"]["Action"] == [
        "s3:GetObject",
        "s3:ListBucket",
        "s3:GetBucketLocation",
    ]
    assert "s3:PutObject" in by_sid["AthenaResults"]["Action"]
    table = "arn:aws:dynamodb:eu-west-1:123456789012:table/finops-agent-interactions"
    assert by_sid["InteractionLog"]["Resource"] == [table, f"{table}/index/*"]
    assert by_sid["SendReports"]["Action"] == ["ses:SendRawEmail"]
    # nothing is granted on every resource
    assert all(s["Resource"] != "*" for s in policy["Statement"])


def test_reports_are_published_with_a_presigned_link(aws: boto3.Session, tmp_path: Path) -> None:
    aws.client("s3").create_bucket(Bucket="finops-reports")
    folder = tmp_path / "20261124T101010Z-abc123"
    folder.mkdir()
    (folder / "report.html").write_text("<html>report</html>")
    (folder / "report.json").write_text(json.dumps({"report_id": folder.name}))
    settings = load_settings(
        s3_report_bucket="finops-reports", s3_report_prefix="weekly", aws_region=REGION
    )
    url = upload_report(folder, settings, aws)
    keys = sorted(
        o["Key"] for o in aws.client("s3").list_objects_v2(Bucket="finops-reports")["Contents"]
    )
    assert keys == [f"weekly/{folder.name}/report.html", f"weekly/{folder.name}/report.json"]
    assert "X-Amz-Signature" in url and f"weekly/{folder.name}/report.html" in url
    assert requests.get(url, timeout=5).text == "<html>report</html>"


def test_iam_policy_adds_the_extract_clean_up_only_in_extract_mode() -> None:
    base = {
        "engine": "athena",
        "athena_output": "s3://results/finops/",
        "aws_region": "eu-west-1",
    }
    per_query = iam_policy(load_settings(**base), "123456789012")
    extract = iam_policy(load_settings(**base, athena_mode="extract"), "123456789012")
    added = [s for s in extract["Statement"] if s not in per_query["Statement"]]
    assert added == [
        {
            "Sid": "AthenaExtractCleanUp",
            "Effect": "Allow",
            "Action": ["s3:DeleteObject"],
            "Resource": [
                "arn:aws:s3:::results/finops/finops-extract/*",
                "arn:aws:s3:::results/finops/*-manifest.csv",
                "arn:aws:s3:::results/finops/*.metadata",
            ],
        }
    ]
    # UNLOAD's writes and the download are the results grants per-query mode already has
    results = next(s for s in extract["Statement"] if s["Sid"] == "AthenaResults")
    assert {"s3:PutObject", "s3:GetObject", "s3:ListBucket"} <= set(results["Action"])
    assert results["Resource"] == ["arn:aws:s3:::results", "arn:aws:s3:::results/finops/*"]
    # no Glue write: UNLOAD creates no table
    assert not any(
        a.startswith("glue:") and not a.startswith("glue:Get")
        for s in extract["Statement"]
        for a in s["Action"]
    )


def test_iam_policy_adds_the_window_table_and_its_clean_up_only_in_materialise_mode() -> None:
    base = {
        "engine": "athena",
        "athena_database": "cur",
        "athena_output": "s3://results/finops/",
        "aws_region": "eu-west-1",
    }
    per_query = iam_policy(load_settings(**base), "123456789012")
    materialise = iam_policy(load_settings(**base, athena_mode="materialise"), "123456789012")
    added = [s for s in materialise["Statement"] if s not in per_query["Statement"]]
    assert added == [
        {
            "Sid": "AthenaMaterialiseTable",
            "Effect": "Allow",
            "Action": [
                "glue:CreateTable",
                "glue:DeleteTable",
                "glue:GetTable",
                "glue:GetPartitions",
                "glue:GetDatabase",
            ],
            "Resource": [
                "arn:aws:glue:eu-west-1:123456789012:catalog",
                "arn:aws:glue:eu-west-1:123456789012:database/cur",
                "arn:aws:glue:eu-west-1:123456789012:table/cur/finops_window_*",
            ],
        },
        {
            "Sid": "AthenaMaterialiseCleanUp",
            "Effect": "Allow",
            "Action": ["s3:DeleteObject"],
            "Resource": [
                "arn:aws:s3:::results/finops/finops-materialise/*",
                "arn:aws:s3:::results/finops/tables/*",
                "arn:aws:s3:::results/finops/*-manifest.csv",
                "arn:aws:s3:::results/finops/*.metadata",
            ],
        },
    ]
    # nothing is removed: the CTAS's writes and the queries' reads of its files are the
    # results grants per-query mode already has
    assert [s for s in per_query["Statement"] if s not in materialise["Statement"]] == []
    # no extract grants, and no Glue write outside the run's own tables
    assert "AthenaExtractCleanUp" not in [s["Sid"] for s in materialise["Statement"]]
    assert [
        s["Resource"]
        for s in materialise["Statement"]
        if any(a in ("glue:CreateTable", "glue:DeleteTable") for a in s["Action"])
    ] == [added[0]["Resource"]]


def test_iam_policy_for_materialise_without_a_results_setting_names_only_the_table() -> None:
    # the workgroup's own location cannot be named offline, as for the results grant itself
    settings = load_settings(
        engine="athena", athena_mode="materialise", athena_database="billing", aws_region=REGION
    )
    sids = [s["Sid"] for s in iam_policy(settings, "123456789012")["Statement"]]
    assert "AthenaMaterialiseTable" in sids
    assert not {"AthenaResults", "AthenaMaterialiseCleanUp"} & set(sids)
    # the mode means nothing without the Athena engine
    duckdb = settings.model_copy(update={"engine": "duckdb"})
    assert not any(
        s["Sid"].startswith("AthenaMaterialise") for s in iam_policy(duckdb)["Statement"]
    )


def test_doctor_checks_the_extract_folder_and_leaves_nothing(aws: boto3.Session) -> None:
    aws.client("s3").create_bucket(Bucket="results")
    settings = load_settings(
        engine="athena",
        athena_mode="extract",
        athena_output="s3://results/finops/",
        aws_region=REGION,
    )
    check = check_athena_extract(settings, aws)
    assert (check.name, check.ok) == ("Athena extract folder", True)
    assert check.detail == "write, list and delete under s3://results/finops/finops-extract/"
    assert aws.client("s3").list_objects_v2(Bucket="results").get("KeyCount") == 0
    assert "Athena extract folder" in [c.name for c in run_checks(settings, aws)]
    per_query = settings.model_copy(update={"athena_mode": "per-query"})
    assert "Athena extract folder" not in [c.name for c in run_checks(per_query, aws)]


def test_doctor_names_a_missing_results_bucket_for_extract(aws: boto3.Session) -> None:
    settings = load_settings(
        engine="athena",
        athena_mode="extract",
        athena_output="s3://no-such-bucket/finops/",
        aws_region=REGION,
    )
    check = check_athena_extract(settings, aws)
    assert not check.ok
    assert check.detail.startswith("An error occurred (NoSuchBucket)")
    assert check.fix.startswith(
        "grant s3:PutObject, s3:ListBucket and s3:DeleteObject on "
        "s3://no-such-bucket/finops/finops-extract/doctor-"
    )


def _materialise_settings(output: str = "s3://results/finops/") -> Any:
    return load_settings(
        engine="athena",
        athena_mode="materialise",
        athena_database="cur",
        athena_output=output,
        aws_region=REGION,
    )


class _OwnGlue:
    """The moto session with one Glue client the test holds (to stub or watch its calls)."""

    def __init__(self, session: boto3.Session) -> None:
        self._session = session
        self.glue = session.client("glue")

    def client(self, name: str, **kwargs: Any) -> Any:
        return self.glue if name == "glue" else self._session.client(name, **kwargs)


def test_doctor_checks_the_materialise_folder_and_table_and_leaves_nothing(
    aws: boto3.Session,
) -> None:
    aws.client("s3").create_bucket(Bucket="results")
    glue = aws.client("glue")
    glue.create_database(DatabaseInput={"Name": "cur"})
    settings = _materialise_settings()
    check = check_athena_materialise(settings, aws)
    assert (check.name, check.ok) == ("Athena materialise table", True)
    assert check.detail == (
        "write, list and delete under s3://results/finops/finops-materialise/; "
        "create, read and drop a table cur.finops_window_*"
    )
    assert aws.client("s3").list_objects_v2(Bucket="results").get("KeyCount") == 0
    assert glue.get_tables(DatabaseName="cur")["TableList"] == []
    assert "Athena materialise table" in [c.name for c in run_checks(settings, aws)]
    for other in ("per-query", "extract"):
        names = [
            c.name for c in run_checks(settings.model_copy(update={"athena_mode": other}), aws)
        ]
        assert "Athena materialise table" not in names


def test_doctor_creates_the_probe_table_as_the_engine_names_its_tables(aws: boto3.Session) -> None:
    aws.client("s3").create_bucket(Bucket="results")
    aws.client("glue").create_database(DatabaseInput={"Name": "cur"})
    session = _OwnGlue(aws)
    created: list[dict[str, Any]] = []
    session.glue.meta.events.register(
        "provide-client-params.glue.CreateTable",
        lambda params, **_: created.append(dict(params)),
    )
    check = check_athena_materialise(_materialise_settings(), session)  # type: ignore[arg-type]
    assert check.ok, check
    [call] = created
    table = call["TableInput"]["Name"]
    # the prefix the IAM policy grants, a name Athena accepts, the probe's own folder
    assert re.fullmatch(r"finops_window_doctor_[0-9a-f]{12}", table), table
    assert call["DatabaseName"] == "cur"
    assert call["TableInput"]["StorageDescriptor"]["Location"] == (
        f"s3://results/finops/finops-materialise/{table.removeprefix('finops_window_')}/"
    )
    assert aws.client("glue").get_tables(DatabaseName="cur")["TableList"] == []


def test_doctor_names_a_denied_glue_create_table_for_materialise(aws: boto3.Session) -> None:
    aws.client("s3").create_bucket(Bucket="results")
    session = _OwnGlue(aws)
    stub = Stubber(session.glue)
    stub.add_client_error(
        "create_table",
        service_error_code="AccessDeniedException",
        service_message="User: arn:aws:iam::123:user/x is not authorized to perform: glue:CreateTable",
    )
    with stub:
        check = check_athena_materialise(_materialise_settings(), session)  # type: ignore[arg-type]
    assert not check.ok
    assert check.detail == (
        "access denied: User: arn:aws:iam::123:user/x is not authorized to perform: "
        "glue:CreateTable"
    )
    assert check.fix == "grant glue:CreateTable on cur.finops_window_* (see `finops iam-policy`)"
    # the S3 probe ran first and removed its object
    assert aws.client("s3").list_objects_v2(Bucket="results").get("KeyCount") == 0


def test_doctor_says_the_probe_table_is_left_when_it_cannot_drop_it(aws: boto3.Session) -> None:
    aws.client("s3").create_bucket(Bucket="results")
    session = _OwnGlue(aws)
    stub = Stubber(session.glue)
    stub.add_response("create_table", {}, None)
    stub.add_response("get_table", {"Table": {"Name": "t"}}, None)
    stub.add_client_error(
        "delete_table",
        service_error_code="AccessDeniedException",
        service_message="not authorized to perform: glue:DeleteTable",
    )
    with stub:
        check = check_athena_materialise(_materialise_settings(), session)  # type: ignore[arg-type]
    assert not check.ok
    assert re.fullmatch(
        r"access denied: not authorized to perform: glue:DeleteTable; the probe table "
        r"cur\.finops_window_doctor_[0-9a-f]{12} is left: delete it",
        check.detail,
    ), check.detail
    assert check.fix == "grant glue:DeleteTable on cur.finops_window_* (see `finops iam-policy`)"


def test_doctor_drops_the_probe_table_when_it_cannot_read_it(aws: boto3.Session) -> None:
    aws.client("s3").create_bucket(Bucket="results")
    session = _OwnGlue(aws)
    stub = Stubber(session.glue)
    stub.add_response("create_table", {}, None)
    stub.add_client_error(
        "get_table",
        service_error_code="AccessDeniedException",
        service_message="not authorized to perform: glue:GetTable",
    )
    stub.add_response("delete_table", {}, None)
    with stub:
        check = check_athena_materialise(_materialise_settings(), session)  # type: ignore[arg-type]
        # the table is dropped although the read failed
        stub.assert_no_pending_responses()
    assert (check.ok, check.detail) == (
        False,
        "access denied: not authorized to perform: glue:GetTable",
    )
    assert check.fix == "grant glue:GetTable on cur.finops_window_* (see `finops iam-policy`)"


def test_doctor_names_a_missing_database_for_materialise(aws: boto3.Session) -> None:
    aws.client("s3").create_bucket(Bucket="results")
    check = check_athena_materialise(_materialise_settings(), aws)
    assert not check.ok
    assert check.detail.startswith("An error occurred (EntityNotFoundException)")
    assert check.fix == (
        "grant glue:CreateTable on cur.finops_window_* (see `finops iam-policy`); the database "
        "is FINOPS_ATHENA_DATABASE's and must exist"
    )


def test_doctor_names_a_missing_results_bucket_for_materialise(aws: boto3.Session) -> None:
    aws.client("glue").create_database(DatabaseInput={"Name": "cur"})
    check = check_athena_materialise(_materialise_settings("s3://no-such-bucket/finops/"), aws)
    assert not check.ok
    assert check.detail.startswith("An error occurred (NoSuchBucket)")
    assert check.fix.startswith(
        "grant s3:PutObject, s3:ListBucket and s3:DeleteObject on "
        "s3://no-such-bucket/finops/finops-materialise/doctor_"
    )
    # no table is created when the folder cannot be written
    assert aws.client("glue").get_tables(DatabaseName="cur")["TableList"] == []
