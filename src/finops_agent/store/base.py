"""The interaction record and the InteractionStore protocol."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

InteractionKind = Literal["insight", "chat", "report"]


_last_id = [0, 0]  # millisecond, counter of the last id made in this process
_id_lock = threading.Lock()


def new_interaction_id() -> str:
    """A UUIDv7 string: unique and sortable by creation time (a bare timestamp collides).

    Within one millisecond a 12-bit counter in rand_a keeps ids monotonic (RFC 9562, method 1).
    """
    with _id_lock:
        millis = max(time.time_ns() // 1_000_000, _last_id[0])
        counter = (
            _last_id[1] + 1
            if millis == _last_id[0]
            else int.from_bytes(os.urandom(2), "big") & 0x3FF
        )
        if counter > 0xFFF:  # counter exhausted: borrow the next millisecond
            millis, counter = millis + 1, 0
        _last_id[:] = [millis, counter]
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version 7
    value |= counter << 64
    value |= 0b10 << 62  # RFC 4122 variant
    value |= int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


@dataclass
class Interaction:
    """One model or chat exchange, kept for audit and learning."""

    kind: InteractionKind
    user_query: str
    agent_response: str
    report_id: str = ""
    session_id: str = ""
    data_context: dict[str, Any] = field(default_factory=dict)
    model: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: float = 0.0
    cost_usd: float = 0.0
    error: str | None = None
    rating: int | None = None
    rating_comment: str | None = None
    interaction_id: str = field(default_factory=new_interaction_id)
    timestamp: str = field(default_factory=_now_iso)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of every attribute."""
        return asdict(self)


class InteractionStore(Protocol):
    """Append-only log of interactions with lookups by session and report."""

    def put(self, item: Interaction) -> None:
        """Store one interaction; idempotent on interaction_id."""
        ...

    def get(self, interaction_id: str) -> Interaction | None:
        """One interaction by id, or None."""
        ...

    def by_session(self, session_id: str) -> list[Interaction]:
        """Every interaction of a session, oldest first."""
        ...

    def by_report(self, report_id: str) -> list[Interaction]:
        """Every interaction about a report, oldest first."""
        ...

    def recent(self, since: dt.datetime | None = None, limit: int = 100) -> list[Interaction]:
        """Newest interactions first, optionally only those after `since`."""
        ...

    def rate(self, interaction_id: str, rating: int, comment: str | None = None) -> None:
        """Attach a user rating (+1 good, -1 bad) to an interaction."""
        ...
