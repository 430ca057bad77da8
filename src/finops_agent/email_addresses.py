"""Recipient validation and header-injection guards for everything that reaches a mail header."""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.headerregistry import Address

from finops_agent.errors import UserError

# A deliberately plain addr-spec: dot-atom local part and a dotted host name with a TLD.
# Quoted local parts and IP-literal domains are legal but unused by report recipients.
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_FORBIDDEN = ("\r", "\n", "\x00")
MAX_RECIPIENTS = 50


class AddressError(UserError, ValueError):
    """A recipient, sender or header value that must not be used; the message names it."""


def check_header(name: str, value: str) -> str:
    """Return value unchanged, or raise if it could inject a header (CR, LF or NUL)."""
    if any(ch in value for ch in _FORBIDDEN):
        raise AddressError(f"{name} header refused: it contains a line break or NUL ({value!r})")
    return value


def check_address(address: str, *, what: str = "recipient") -> str:
    """A bare address (no display name) checked for shape and injection; raise AddressError."""
    check_header(what, address)
    address = address.strip()
    local, at, domain = address.rpartition("@")
    labels = domain.split(".")
    if (
        not at
        or len(address) > 254
        or len(local) > 64
        or not _LOCAL.match(local)
        or len(labels) < 2
        or not all(_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise AddressError(f"{what} {address!r} is not a valid email address")
    # the stdlib parser agrees, so the header it writes holds exactly this address
    Address(addr_spec=address)
    return address


def parse_recipients(values: str | Iterable[str] | None, *, what: str = "recipient") -> list[str]:
    """Comma-separated or listed bare addresses, validated, de-duplicated in order."""
    if values is None:
        return []
    items = [values] if isinstance(values, str) else list(values)
    out: list[str] = []
    seen: set[str] = set()
    for item in items:
        check_header(what, item)
        for part in item.split(","):
            if not part.strip():
                continue
            address = check_address(part, what=what)
            if address.lower() not in seen:
                seen.add(address.lower())
                out.append(address)
    if len(out) > MAX_RECIPIENTS:
        raise AddressError(f"{len(out)} recipients given; at most {MAX_RECIPIENTS} per report")
    return out
