"""Errors users cause and can fix, and the translation of outside failures into them.

`UserError` is the only exception the CLI shows as a one-line `error:` with exit code 2;
anything else reaching the CLI is a bug. Modules raise a subclass of it for bad input, and
`user_error_from()` turns failures from outside our code that the user causes (no AWS
credentials, a denied action, a folder that cannot be written) into one carrying the fix.
This module sits at the bottom of the stack: it imports nothing of the project.
"""

from __future__ import annotations

import re
import sys

__all__ = [
    "AWS_CREDENTIALS_FIX",
    "ConfigurationError",
    "OutputFolderError",
    "UserError",
    "user_error_from",
]

_DENIED_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess"}
)
_DENIED_ACTION = re.compile(r"not authorized to perform: ([\w:*-]+)")
# how to give finops-agent AWS credentials, said wherever they are missing
AWS_CREDENTIALS_FIX = (
    "set AWS_PROFILE (or FINOPS_AWS_PROFILE) to a profile in ~/.aws/config, or "
    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run on a role; `finops doctor` checks them"
)


class UserError(Exception):
    """A mistake in the user's input, settings or environment; the message says what and the fix."""


class ConfigurationError(UserError, ValueError):
    """Settings that cannot produce a working backend; the message names the setting."""


class OutputFolderError(UserError):
    """The output folder cannot be created or written."""


def user_error_from(exc: BaseException) -> UserError | None:
    """The user-caused failure behind `exc` as a UserError with the fix, or None for a bug."""
    if isinstance(exc, UserError):
        return exc
    botocore_error = _from_botocore(exc)
    if botocore_error is not None:
        return botocore_error
    if isinstance(exc, PermissionError) and exc.filename:
        return UserError(f"permission denied: {exc.filename}")
    return None


def _from_botocore(exc: BaseException) -> UserError | None:
    # botocore is imported only when something already loaded it: then it may have raised
    exceptions = sys.modules.get("botocore.exceptions")
    if exceptions is None:
        return None
    if isinstance(exc, exceptions.NoCredentialsError):
        return UserError(f"no AWS credentials found: {AWS_CREDENTIALS_FIX}")
    if isinstance(exc, exceptions.ProfileNotFound):
        return UserError(
            f"{exc}: name a profile from ~/.aws/config in AWS_PROFILE or FINOPS_AWS_PROFILE"
        )
    if isinstance(exc, exceptions.ClientError):
        error = exc.response.get("Error", {})
        if error.get("Code") in _DENIED_CODES:
            message = str(error.get("Message") or exc)
            found = _DENIED_ACTION.search(message)
            action = found.group(1) if found else exc.operation_name
            return UserError(
                f"access denied for {action}: grant it to the caller "
                f"(`finops iam-policy` prints the policy finops-agent needs); AWS said: {message}"
            )
    return None
