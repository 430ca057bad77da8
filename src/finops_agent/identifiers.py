"""Validation of everything that is pasted into SQL as an identifier or key literal."""

from __future__ import annotations

import re

from finops_agent.errors import UserError

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# AWS tag keys allow letters, digits, spaces and + - = . _ : / @; we refuse quotes,
# semicolons, backslashes and comment markers outright.
_TAG_KEY = re.compile(r"^[A-Za-z0-9 +=._:/@-]{1,128}$")


class UnsafeIdentifierError(UserError, ValueError):
    """An identifier or key that would change the meaning of the SQL it is pasted into."""


def check_identifier(name: str, *, what: str = "identifier") -> str:
    """Return `name` if it is a plain SQL identifier, else raise naming what it was."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise UnsafeIdentifierError(
            f"{what} {name!r} is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*)"
        )
    return name


def check_tag_key(key: str, *, what: str = "tag key") -> str:
    """Return `key` if it is a legal AWS tag key without SQL metacharacters, else raise."""
    if not isinstance(key, str) or not _TAG_KEY.match(key) or "--" in key or "/*" in key:
        raise UnsafeIdentifierError(
            f"{what} {key!r} has characters outside AWS tag keys (letters, digits, space, + - = . _ : / @)"
        )
    return key
