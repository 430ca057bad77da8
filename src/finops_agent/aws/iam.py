"""`finops iam-policy`: the least-privilege policy for the resources this configuration uses."""

from __future__ import annotations

from typing import Any

from finops_agent.engines.base import (
    ENFORCED_CTAS_FOLDER,
    EXTRACT_FOLDER,
    MATERIALISE_FOLDER,
    MATERIALISE_TABLE_PREFIX,
)
from finops_agent.settings import Settings


def _s3_arns(uri: str) -> tuple[str, str]:
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    return f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/{prefix}*"


def _clean_up(sid: str, results: str, *folders: str) -> dict[str, Any]:
    """s3:DeleteObject on a mode's folders under the results prefix, and Athena's manifests there."""
    bucket, _ = _s3_arns(results)
    prefix = results.removeprefix("s3://").partition("/")[2]
    under = prefix.rstrip("/") + "/" if prefix else ""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": ["s3:DeleteObject"],
        "Resource": [
            *(f"{bucket}/{under}{folder}/*" for folder in folders),
            f"{bucket}/{prefix}*-manifest.csv",
            f"{bucket}/{prefix}*.metadata",
        ],
    }


def iam_policy(settings: Settings, account: str = "*") -> dict[str, Any]:
    """An IAM policy document granting exactly what the configured backends call."""
    region = settings.aws_region
    statements: list[dict[str, Any]] = [
        {
            "Sid": "AthenaQueries",
            "Effect": "Allow",
            "Action": [
                "athena:StartQueryExecution",
                "athena:GetQueryExecution",
                "athena:GetQueryResults",
                "athena:StopQueryExecution",
                "athena:GetWorkGroup",
            ],
            "Resource": f"arn:aws:athena:{region}:{account}:workgroup/{settings.athena_workgroup}",
        },
        {
            "Sid": "GlueCatalogRead",
            "Effect": "Allow",
            "Action": ["glue:GetDatabase", "glue:GetTable", "glue:GetPartitions"],
            "Resource": [
                f"arn:aws:glue:{region}:{account}:catalog",
                f"arn:aws:glue:{region}:{account}:database/{settings.athena_database}",
                f"arn:aws:glue:{region}:{account}:table/{settings.athena_database}/{settings.athena_table}",
            ],
        },
    ]
    if settings.cur_s3_uri:
        bucket, objects = _s3_arns(settings.cur_s3_uri)
        statements.append(
            {
                "Sid": "ReadCurExport",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"],
                "Resource": [bucket, objects],
            }
        )
    if settings.athena_output:
        bucket, objects = _s3_arns(settings.athena_output)
        statements.append(
            {
                "Sid": "AthenaResults",
                "Effect": "Allow",
                "Action": [
                    "s3:GetObject",
                    "s3:PutObject",
                    "s3:ListBucket",
                    "s3:GetBucketLocation",
                    "s3:AbortMultipartUpload",
                ],
                "Resource": [bucket, objects],
            }
        )
    athena_mode = settings.athena_mode if settings.engine == "athena" else None
    if settings.athena_output and athena_mode == "extract":
        # UNLOAD writes (PutObject, AbortMultipartUpload) and checks its folder is empty
        # (ListBucket) under the results prefix, already granted above; it creates no Glue
        # table. The run deletes the Parquet files, the manifest and the metadata afterwards.
        statements.append(_clean_up("AthenaExtractCleanUp", settings.athena_output, EXTRACT_FOLDER))
    if athena_mode == "materialise":
        # the CTAS registers the run's window table in the configured database (Athena calls
        # Glue as the caller), and the run drops it at the end; only tables with this prefix
        database = settings.athena_database
        statements.append(
            {
                "Sid": "AthenaMaterialiseTable",
                "Effect": "Allow",
                # the queries then read the table as any Athena table: GetTable and GetPartitions
                "Action": [
                    "glue:CreateTable",
                    "glue:DeleteTable",
                    "glue:GetTable",
                    "glue:GetPartitions",
                    "glue:GetDatabase",
                ],
                "Resource": [
                    f"arn:aws:glue:{region}:{account}:catalog",
                    f"arn:aws:glue:{region}:{account}:database/{database}",
                    f"arn:aws:glue:{region}:{account}:table/{database}/{MATERIALISE_TABLE_PREFIX}*",
                ],
            }
        )
        if settings.athena_output:
            # the CTAS writes its files under the results prefix (granted above), in its own
            # folder or, where the workgroup enforces its settings, in `tables/` (set
            # FINOPS_ATHENA_OUTPUT to that workgroup's location); the run deletes them, the
            # manifest and the metadata with the table
            statements.append(
                _clean_up(
                    "AthenaMaterialiseCleanUp",
                    settings.athena_output,
                    MATERIALISE_FOLDER,
                    ENFORCED_CTAS_FOLDER,
                )
            )
    if settings.s3_report_bucket:
        bucket, objects = _s3_arns(f"s3://{settings.s3_report_bucket}/{settings.s3_report_prefix}")
        statements.append(
            {
                "Sid": "PublishReports",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:GetObject"],
                "Resource": [objects],
            }
        )
    model = settings.bedrock_model_id
    bedrock_region = settings.bedrock_region or region
    statements.append(
        {
            "Sid": "BedrockInvoke",
            "Effect": "Allow",
            "Action": [
                "bedrock:InvokeModel",
                "bedrock:InvokeModelWithResponseStream",
                "bedrock:GetInferenceProfile",
                "bedrock:GetFoundationModel",
            ],
            # an inference profile routes to the foundation model in several regions
            "Resource": [
                f"arn:aws:bedrock:{bedrock_region}:{account}:inference-profile/{model}",
                f"arn:aws:bedrock:*::foundation-model/{model.split('.', 1)[-1]}",
            ],
        }
    )
    table = f"arn:aws:dynamodb:{region}:{account}:table/{settings.dynamodb_table}"
    statements.append(
        {
            "Sid": "InteractionLog",
            "Effect": "Allow",
            "Action": [
                "dynamodb:PutItem",
                "dynamodb:GetItem",
                "dynamodb:UpdateItem",
                "dynamodb:Query",
                "dynamodb:Scan",
                "dynamodb:DescribeTable",
                "dynamodb:CreateTable",
                "dynamodb:UpdateTimeToLive",
                "dynamodb:UpdateContinuousBackups",
            ],
            "Resource": [table, f"{table}/index/*"],
        }
    )
    if settings.log_s3_bucket:
        _, objects = _s3_arns(f"s3://{settings.log_s3_bucket}/{settings.log_s3_prefix}")
        statements.append(
            {
                "Sid": "LargeInteractions",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:GetObject"],
                "Resource": [objects],
            }
        )
    if settings.mailer == "ses":
        statements.append(
            {
                "Sid": "SendReports",
                "Effect": "Allow",
                "Action": ["ses:SendRawEmail"],
                "Resource": f"arn:aws:ses:{region}:{account}:identity/{settings.mail_from.split('@')[-1]}",
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}
