"""What a run's Athena statements wrote to S3 (an UNLOAD's or a CTAS's folder, their manifests),
listed while they run and removed when the run ends, whether it succeeded or not."""

from __future__ import annotations

import logging
import threading
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

__all__ = ["S3Leftovers", "split_s3"]

log = logging.getLogger(__name__)

# S3 DeleteObjects takes at most this many keys per request
_DELETE_BATCH = 1000


def split_s3(uri: str) -> tuple[str, str]:
    """(bucket, key) of an s3:// URI."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


class S3Leftovers:
    """S3 folders and Athena manifests to remove; `remove` logs and keeps what it could not delete."""

    def __init__(self, s3: Any, what: str) -> None:
        self._s3 = s3
        self._what = what
        self._folders: list[str] = []
        self._manifests: list[str] = []
        # close() on a cancelled run's thread may remove while the run's own clean-up does
        self._lock = threading.Lock()

    def add_folder(self, location: str) -> None:
        """Remove every object under the s3:// folder `location` at the end (listed before it is written)."""
        with self._lock:
            self._folders.append(location)

    def add_manifest(self, uri: str) -> None:
        """Remove an Athena manifest (and its `.metadata`) at the end, with the folder in its bucket."""
        with self._lock:
            self._manifests.append(uri)

    def objects(self, bucket: str, prefix: str) -> list[tuple[str, int]]:
        """(key, size) of every object under `prefix`."""
        pages = self._s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [
            (str(item["Key"]), int(item.get("Size", 0)))
            for page in pages
            for item in page.get("Contents", [])
        ]

    def remove(self) -> None:
        """Delete the folders and manifests; log, never raise (a later call retries what is left)."""
        with self._lock:
            while self._folders:
                location = self._folders[0]
                bucket, prefix = split_s3(location)
                try:
                    keys = [key for key, _ in self.objects(bucket, prefix)]
                    for manifest_uri in self._manifests:
                        # Athena writes the manifest and metadata beside the results of any query
                        manifest_bucket, manifest = split_s3(manifest_uri)
                        if manifest_bucket == bucket:
                            keys += [manifest, manifest.removesuffix("-manifest.csv") + ".metadata"]
                    for at in range(0, len(keys), _DELETE_BATCH):
                        batch: list[dict[str, Any]] = [
                            {"Key": key} for key in keys[at : at + _DELETE_BATCH]
                        ]
                        self._s3.delete_objects(
                            Bucket=bucket, Delete={"Objects": batch, "Quiet": True}
                        )
                except (ClientError, BotoCoreError) as exc:
                    log.warning("could not remove the %s in %s: %s", self._what, location, exc)
                    return
                self._folders.pop(0)
                self._manifests = [m for m in self._manifests if split_s3(m)[0] != bucket]
