"""Publish a report folder to S3 and hand back a presigned link to its report.html."""

from __future__ import annotations

import mimetypes
from pathlib import Path

import boto3
from botocore.config import Config

from finops_agent.errors import ConfigurationError
from finops_agent.settings import Settings


def upload_report(folder: Path, settings: Settings, session: boto3.Session | None = None) -> str:
    """Upload every file of the report to s3://bucket/prefix/<report_id>/; return a presigned report.html URL."""
    if not settings.s3_report_bucket:
        raise ConfigurationError(
            "FINOPS_S3_REPORT_BUCKET is not set: name the bucket reports are published to"
        )
    session = session or boto3.Session(
        profile_name=settings.aws_profile, region_name=settings.aws_region
    )
    # SigV4 links: SigV2 presigning is deprecated and refused in newer regions
    s3 = session.client("s3", config=Config(signature_version="s3v4"))
    prefix = "/".join(p for p in (settings.s3_report_prefix.strip("/"), folder.name) if p)
    for path in sorted(folder.iterdir()):
        if path.is_file() and not path.name.startswith("."):
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            s3.upload_file(
                str(path),
                settings.s3_report_bucket,
                f"{prefix}/{path.name}",
                ExtraArgs={"ContentType": kind},
            )
    return str(
        s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": settings.s3_report_bucket, "Key": f"{prefix}/report.html"},
            ExpiresIn=settings.presign_expiry_s,
        )
    )
