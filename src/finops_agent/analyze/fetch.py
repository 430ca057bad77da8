"""Bring s3:// result files to local disk (boto3) so DuckDB can stream them like any local file."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from finops_agent.result_files.load import AnalyzeError

S3_SCHEME = "s3://"


def is_s3(path: str) -> bool:
    """True for an s3://bucket/key URI."""
    return path.startswith(S3_SCHEME)


def split_s3(uri: str) -> tuple[str, str]:
    """Bucket and key of an s3:// URI; raise AnalyzeError when either is missing."""
    bucket, _, key = uri[len(S3_SCHEME) :].partition("/")
    if not bucket or not key or key.endswith("/"):
        raise AnalyzeError(f"{uri}: expected s3://bucket/key of one result file")
    return bucket, key


def localise(paths: list[str], downloads: Path, client: Any) -> list[str]:
    """Local paths for the files: S3 objects downloaded into a new folder under `downloads`.

    The folder is kept, not deleted: report.json points at the files so chat can reopen them.
    """
    if not any(is_s3(p) for p in paths):
        return list(paths)
    downloads.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="s3-", dir=downloads))
    local: list[str] = []
    for index, path in enumerate(paths, start=1):
        if not is_s3(path):
            local.append(path)
            continue
        bucket, key = split_s3(path)
        # one sub-folder per file keeps the object's own name even when two keys share it
        target = folder / str(index) / Path(key).name
        target.parent.mkdir(parents=True)
        try:
            client.download_file(bucket, key, str(target))
        except Exception as exc:  # botocore raises several unrelated types for one cause
            raise AnalyzeError(f"{path}: cannot download: {exc}") from None
        local.append(str(target))
    return local


def s3_client(region: str, profile: str | None = None) -> Any:
    """A boto3 S3 client for the configured region and profile."""
    import boto3

    session = boto3.Session(profile_name=profile, region_name=region)
    return session.client("s3")
