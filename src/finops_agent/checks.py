"""Cheap checks that run before any query: the output folder can be written, AWS credentials exist.

Each raises a UserError whose one line names what is wrong and how to fix it, so a run that
would fail after paying for its Athena scans fails in a second instead.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from finops_agent.errors import (
    AWS_CREDENTIALS_FIX,
    ConfigurationError,
    OutputFolderError,
    UserError,
)
from finops_agent.settings import Settings

__all__ = ["aws_backends", "check_aws_credentials", "check_output_folder"]


def check_output_folder(folder: Path, *, setting: str = "--out or FINOPS_OUTPUT_DIR") -> None:
    """Raise OutputFolderError unless `folder` exists as a writable folder or can be created.

    Nothing is left behind: a missing folder is not created here, its nearest existing parent
    is tried instead (the run creates the folder later).
    """
    existing = folder
    while not existing.exists() and existing != existing.parent:
        if existing.is_symlink():  # a dangling link: mkdir would fail on it
            raise OutputFolderError(
                f"output folder {folder} cannot be created: {existing} is a broken link; "
                f"choose another folder with {setting}"
            )
        existing = existing.parent
    if not existing.is_dir():
        reason = "it is a file" if existing == folder else f"{existing} is a file"
        raise OutputFolderError(
            f"output folder {folder} cannot be used: {reason}, not a folder; "
            f"choose another folder with {setting}"
        )
    # os.access ignores read-only mounts and ACLs, and root passes it always: try a real file
    try:
        handle, probe = tempfile.mkstemp(prefix=".finops-write-check-", dir=existing)
    except OSError as exc:
        verb = "written" if existing == folder else "created"
        raise OutputFolderError(
            f"output folder {folder} cannot be {verb}: {exc.strerror or exc} in {existing}; "
            f"choose another folder with {setting}"
        ) from None
    os.close(handle)
    with contextlib.suppress(OSError):
        os.unlink(probe)


def aws_backends(settings: Settings, *, emailing: bool = False) -> list[str]:
    """The settings that make this run call AWS, as `FINOPS_X=value` (empty: no AWS needed)."""
    needed = []
    if settings.engine == "athena":
        needed.append("FINOPS_ENGINE=athena")
    if settings.insights == "bedrock":
        needed.append("FINOPS_INSIGHTS=bedrock")
    if settings.store == "dynamodb":
        needed.append("FINOPS_STORE=dynamodb")
    if emailing and settings.mailer == "ses":
        needed.append("FINOPS_MAILER=ses")
    return needed


def check_aws_credentials(settings: Settings, needed: list[str]) -> None:
    """Raise UserError when `needed` backends call AWS but no credentials can be found.

    Only the local credential chain is read (environment, shared files, profile, container or
    instance role): no request is signed or sent, so a wrong key is found by the first call.
    """
    if not needed:
        return
    import boto3
    import botocore.exceptions

    try:
        session = boto3.Session(profile_name=settings.aws_profile, region_name=settings.aws_region)
        credentials = session.get_credentials()
    except botocore.exceptions.ProfileNotFound:
        raise ConfigurationError(
            f"AWS profile {settings.aws_profile!r} (FINOPS_AWS_PROFILE) is not in ~/.aws/config "
            f"or ~/.aws/credentials; needed by {', '.join(needed)}"
        ) from None
    except botocore.exceptions.BotoCoreError as exc:
        raise UserError(f"AWS credentials cannot be read: {exc}") from None
    if credentials is None:
        raise UserError(
            f"no AWS credentials found, needed by {', '.join(needed)}: {AWS_CREDENTIALS_FIX}"
        )
