"""`finops doctor`: each AWS dependency checked, with the fix for whatever fails."""

from __future__ import annotations

import smtplib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from finops_agent.settings import Settings
from finops_agent.sources import check_column_types, detect_schema


@dataclass(frozen=True)
class Check:
    """One doctor check: did it pass, what was seen, and how to fix it."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


def _denied(exc: ClientError) -> str | None:
    error = exc.response.get("Error", {})
    if error.get("Code") in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
        return str(error.get("Message", "access denied"))
    return None


def _failed(name: str, exc: Exception, fix: str, *, grant: str | None = None) -> Check:
    if isinstance(exc, ClientError) and (message := _denied(exc)):
        return Check(
            name,
            False,
            f"access denied: {message}",
            f"grant {grant or 'the action named above'} (see `finops iam-policy`)",
        )
    return Check(name, False, str(exc).splitlines()[0], fix)


def check_credentials(session: boto3.Session) -> Check:
    """Credentials resolve to an identity."""
    try:
        identity = session.client("sts").get_caller_identity()
    except (ClientError, BotoCoreError) as exc:
        return _failed(
            "credentials",
            exc,
            "configure AWS credentials (AWS_PROFILE, `aws configure sso`, or an instance role)",
        )
    return Check("credentials", True, f"account {identity['Account']} as {identity['Arn']}")


def check_athena_table(settings: Settings, session: boto3.Session) -> Check:
    """The CUR table exists in Glue and has the columns of a known schema."""
    from finops_agent.engines.athena import AthenaEngine

    name = f"Athena table {settings.athena_database}.{settings.athena_table}"
    try:
        columns = AthenaEngine(
            settings.athena_database, settings.athena_table, session=session
        ).source_columns()
        schema = detect_schema(list(columns), source=name)
        check_column_types(schema, columns, source=name)
    except ValueError as exc:
        return Check(
            name,
            False,
            str(exc),
            "set FINOPS_ATHENA_DATABASE and FINOPS_ATHENA_TABLE to your CUR table "
            "(created by the CUR/Data Exports Athena integration)",
        )
    except (ClientError, BotoCoreError) as exc:
        return _failed(name, exc, "check the Glue catalog in this region")
    keys = {c.lower() for c in columns}
    partitioned = "billing_period" in keys or {"year", "month"} <= keys
    note = (
        "" if partitioned else "; no billing-period partitions: every query scans the whole table"
    )
    return Check(name, True, f"{schema} schema, {len(columns)} columns{note}")


def check_athena_output(settings: Settings, session: boto3.Session) -> Check:
    """Query results have somewhere to go: the setting or the workgroup's output location."""
    name = f"Athena workgroup {settings.athena_workgroup}"
    try:
        group = session.client("athena").get_work_group(WorkGroup=settings.athena_workgroup)[
            "WorkGroup"
        ]
    except (ClientError, BotoCoreError) as exc:
        return _failed(name, exc, "set FINOPS_ATHENA_WORKGROUP to an existing workgroup")
    location = settings.athena_output or group.get("Configuration", {}).get(
        "ResultConfiguration", {}
    ).get("OutputLocation")
    if not location:
        return Check(
            name,
            False,
            "no query result location",
            "set FINOPS_ATHENA_OUTPUT=s3://bucket/prefix/ or one on the workgroup",
        )
    return Check(name, True, f"results to {location}")


def _mode_folder(settings: Settings, session: boto3.Session, run_id: str, folder: str) -> str:
    """The folder a run of an Athena mode writes under the results location (as the engine names it)."""
    from finops_agent.engines.athena import AthenaEngine
    from finops_agent.engines.athena_extract import extract_location

    results = AthenaEngine(
        settings.athena_database,
        settings.athena_table,
        workgroup=settings.athena_workgroup,
        s3_output=settings.athena_output,
        session=session,
    ).results_location()
    return extract_location(results, run_id, folder)


def _probe_folder(name: str, session: boto3.Session, location: str) -> Check | None:
    """Write, list and delete one object in `location`: a failed Check, or None when all three work."""
    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    s3 = session.client("s3")
    probe = f"{prefix}probe"
    # the three calls a run makes besides Athena's own: a write stands in for UNLOAD's or CTAS's
    try:
        s3.put_object(Bucket=bucket, Key=probe, Body=b"finops doctor")
        try:
            listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        finally:
            s3.delete_object(Bucket=bucket, Key=probe)
    except (ClientError, BotoCoreError) as exc:
        return _failed(
            name, exc, f"grant s3:PutObject, s3:ListBucket and s3:DeleteObject on {location}"
        )
    if [item["Key"] for item in listed] != [probe]:
        return Check(
            name,
            False,
            f"a written object was not listed under {location}",
            "check the bucket's policy",
        )
    return None


def check_athena_extract(settings: Settings, session: boto3.Session) -> Check:
    """Extract mode can write, list and delete in its folder under the results location."""
    from finops_agent.engines.base import EXTRACT_FOLDER, QueryError

    name = "Athena extract folder"
    try:
        location = _mode_folder(
            settings, session, f"doctor-{uuid.uuid4().hex[:12]}", EXTRACT_FOLDER
        )
    except (QueryError, ValueError) as exc:
        return Check(name, False, str(exc), "set FINOPS_ATHENA_OUTPUT=s3://bucket/prefix/")
    if failed := _probe_folder(name, session, location):
        return failed
    return Check(name, True, f"write, list and delete under {location.rsplit('/', 2)[0]}/")


def check_athena_materialise(settings: Settings, session: boto3.Session) -> Check:
    """Materialise mode can write, list and delete in its folder and create and drop its table."""
    from finops_agent.engines.athena_materialise import window_table
    from finops_agent.engines.base import MATERIALISE_FOLDER, MATERIALISE_TABLE_PREFIX, QueryError

    name = "Athena materialise table"
    run_id = f"doctor_{uuid.uuid4().hex[:12]}"
    database = settings.athena_database
    try:
        location = _mode_folder(settings, session, run_id, MATERIALISE_FOLDER)
        table = window_table(run_id)
    except (QueryError, ValueError) as exc:
        return Check(name, False, str(exc), "set FINOPS_ATHENA_OUTPUT=s3://bucket/prefix/")
    if failed := _probe_folder(name, session, location):
        return failed
    tables = f"{database}.{MATERIALISE_TABLE_PREFIX}*"
    glue = session.client("glue")
    # an empty Parquet table over the probe folder stands in for the CTAS's; Athena registers
    # that one in Glue as the caller, so the caller's own CreateTable is what it needs
    try:
        glue.create_table(
            DatabaseName=database,
            TableInput={
                "Name": table,
                "TableType": "EXTERNAL_TABLE",
                "Parameters": {"classification": "parquet"},
                "StorageDescriptor": {
                    "Columns": [{"Name": "probe", "Type": "string"}],
                    "Location": location,
                    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                    "OutputFormat": (
                        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
                    ),
                    "SerdeInfo": {
                        "SerializationLibrary": (
                            "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
                        )
                    },
                },
            },
        )
    except (ClientError, BotoCoreError) as exc:
        grant = f"glue:CreateTable on {tables}"
        return _failed(
            name,
            exc,
            f"grant {grant} (see `finops iam-policy`); the database is FINOPS_ATHENA_DATABASE's "
            "and must exist",
            grant=grant,
        )
    failed = None
    try:
        glue.get_table(DatabaseName=database, Name=table)
    except (ClientError, BotoCoreError) as exc:
        grant = f"glue:GetTable on {tables}"
        failed = _failed(name, exc, f"grant {grant} (see `finops iam-policy`)", grant=grant)
    try:
        glue.delete_table(DatabaseName=database, Name=table)
    except (ClientError, BotoCoreError) as exc:
        grant = f"glue:DeleteTable on {tables}"
        dropped = _failed(name, exc, f"grant {grant} (see `finops iam-policy`)", grant=grant)
        return Check(
            name,
            False,
            f"{dropped.detail}; the probe table {database}.{table} is left: delete it",
            dropped.fix,
        )
    if failed:
        return failed
    return Check(
        name,
        True,
        f"write, list and delete under {location.rsplit('/', 2)[0]}/; "
        f"create, read and drop a table {tables}",
    )


def check_bedrock(settings: Settings, session: boto3.Session) -> Check:
    """The configured model or inference profile is visible to this account."""
    model = settings.bedrock_model_id
    name = f"Bedrock {model}"
    try:
        client = session.client(
            "bedrock", region_name=settings.bedrock_region or settings.aws_region
        )
        if model.split(".", 1)[0] in ("us", "eu", "apac", "global", "us-gov"):
            client.get_inference_profile(inferenceProfileIdentifier=model)
        else:
            client.get_foundation_model(modelIdentifier=model)
    except (ClientError, BotoCoreError) as exc:
        return _failed(
            name,
            exc,
            "enable access to this model in the Bedrock console, or set FINOPS_BEDROCK_MODEL_ID",
        )
    return Check(name, True, "model access confirmed")


def check_dynamodb(settings: Settings, session: boto3.Session) -> Check:
    """The interaction table exists."""
    name = f"DynamoDB table {settings.dynamodb_table}"
    try:
        table = session.client(
            "dynamodb", endpoint_url=settings.dynamodb_endpoint_url
        ).describe_table(TableName=settings.dynamodb_table)["Table"]
    except (ClientError, BotoCoreError) as exc:
        return _failed(name, exc, "run `finops setup dynamodb`")
    return Check(
        name,
        True,
        f"{table.get('TableStatus', 'ACTIVE')}, {len(table.get('GlobalSecondaryIndexes', []))} index(es)",
    )


def check_ses(settings: Settings, session: boto3.Session) -> Check:
    """The sender identity is verified in SES."""
    name = f"SES identity {settings.mail_from}"
    try:
        found = session.client("ses").get_identity_verification_attributes(
            Identities=[settings.mail_from]
        )
    except (ClientError, BotoCoreError) as exc:
        return _failed(name, exc, "check SES in this region")
    status = (
        found.get("VerificationAttributes", {})
        .get(settings.mail_from, {})
        .get("VerificationStatus", "missing")
    )
    if status != "Success":
        return Check(
            name,
            False,
            f"verification status {status}",
            "verify the sender address or its domain in SES",
        )
    return Check(name, True, "verified")


def check_smtp(settings: Settings) -> Check:
    """The SMTP server answers and accepts the login."""
    name = f"SMTP {settings.smtp_host}:{settings.smtp_port}"
    try:
        factory: Callable[..., Any] = (
            smtplib.SMTP_SSL if settings.smtp_security == "ssl" else smtplib.SMTP
        )
        with factory(settings.smtp_host, settings.smtp_port, timeout=10) as server:
            if settings.smtp_security == "starttls":
                server.starttls()
            if settings.smtp_user and settings.smtp_password:
                server.login(settings.smtp_user, settings.smtp_password.get_secret_value())
    except (OSError, smtplib.SMTPException) as exc:
        return Check(
            name,
            False,
            str(exc) or type(exc).__name__,
            "check FINOPS_SMTP_HOST/PORT/SECURITY/USER/PASSWORD",
        )
    return Check(name, True, "connected" + (" and logged in" if settings.smtp_user else ""))


def run_checks(settings: Settings, session: boto3.Session | None = None) -> list[Check]:
    """Every check the configuration calls for, in dependency order."""
    session = session or boto3.Session(
        profile_name=settings.aws_profile, region_name=settings.aws_region
    )
    checks = [check_credentials(session)]
    if settings.engine == "athena":
        checks += [check_athena_table(settings, session), check_athena_output(settings, session)]
        if settings.athena_mode == "extract":
            checks.append(check_athena_extract(settings, session))
        elif settings.athena_mode == "materialise":
            checks.append(check_athena_materialise(settings, session))
    if settings.insights == "bedrock":
        checks.append(check_bedrock(settings, session))
    if settings.store == "dynamodb":
        checks.append(check_dynamodb(settings, session))
    if settings.mailer == "ses":
        checks.append(check_ses(settings, session))
    elif settings.mailer == "smtp":
        checks.append(check_smtp(settings))
    return checks
