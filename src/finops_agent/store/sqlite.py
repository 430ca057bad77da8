"""SQLite interaction store: the default log, one file, safe for concurrent writers."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

from finops_agent.store.base import Interaction

_COLUMNS = [f.name for f in fields(Interaction)]
_SCHEMA = """
create table if not exists interactions (
    interaction_id text primary key,
    timestamp text not null,
    kind text not null,
    user_query text not null,
    agent_response text not null,
    report_id text not null default '',
    session_id text not null default '',
    data_context text not null default '{}',
    model text not null default '',
    input_tokens integer not null default 0,
    output_tokens integer not null default 0,
    latency_ms real not null default 0,
    cost_usd real not null default 0,
    error text,
    rating integer,
    rating_comment text
);
create index if not exists interactions_by_session on interactions (session_id, timestamp);
create index if not exists interactions_by_report on interactions (report_id, timestamp);
create index if not exists interactions_by_time on interactions (timestamp);
"""


class SQLiteStore:
    """InteractionStore on a SQLite file (WAL mode, one short connection per call)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # WAL is a property of the file: switch once; another process may be doing the same
        for attempt in range(50):
            try:
                con = sqlite3.connect(self.path, timeout=30)
                try:
                    con.execute("pragma journal_mode=wal")
                    con.executescript(_SCHEMA)
                finally:
                    con.close()
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == 49:
                    raise
                time.sleep(0.05)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE takes the write lock up front, so the busy timeout applies instead of a
        # deferred transaction failing when it upgrades from read to write
        con = sqlite3.connect(self.path, timeout=30, isolation_level="IMMEDIATE")
        try:
            with con:
                yield con
        finally:
            con.close()

    def put(self, item: Interaction) -> None:
        """Insert once; a second put of the same interaction_id changes nothing."""
        row = item.to_dict()
        row["data_context"] = json.dumps(row["data_context"], default=str, ensure_ascii=False)
        placeholders = ", ".join(f":{c}" for c in _COLUMNS)
        with self._connect() as con:
            con.execute(
                f"insert or ignore into interactions ({', '.join(_COLUMNS)}) values ({placeholders})",
                row,
            )

    def _select(
        self, where: str, params: dict[str, Any], order: str = "timestamp", limit: int | None = None
    ) -> list[Interaction]:
        sql = f"select {', '.join(_COLUMNS)} from interactions where {where} order by {order}"
        if limit is not None:
            sql += " limit :limit"
            params = {**params, "limit": limit}
        with self._connect() as con:
            rows = con.execute(sql, params).fetchall()
        return [_interaction(dict(zip(_COLUMNS, row, strict=True))) for row in rows]

    def get(self, interaction_id: str) -> Interaction | None:
        """One interaction by id, or None."""
        found = self._select("interaction_id = :id", {"id": interaction_id})
        return found[0] if found else None

    def by_session(self, session_id: str) -> list[Interaction]:
        """Every interaction of a session, oldest first."""
        return self._select("session_id = :id", {"id": session_id})

    def by_report(self, report_id: str) -> list[Interaction]:
        """Every interaction about a report, oldest first."""
        return self._select("report_id = :id", {"id": report_id})

    def recent(self, since: dt.datetime | None = None, limit: int = 100) -> list[Interaction]:
        """Newest first, optionally only after `since`."""
        start = (since or dt.datetime(1970, 1, 1, tzinfo=dt.UTC)).astimezone(dt.UTC).isoformat()
        return self._select(
            "timestamp >= :since", {"since": start}, order="timestamp desc", limit=limit
        )

    def rate(self, interaction_id: str, rating: int, comment: str | None = None) -> None:
        """Attach a rating (+1 good, -1 bad); raise KeyError naming an unknown id."""
        with self._connect() as con:
            changed = con.execute(
                "update interactions set rating = :rating, rating_comment = :comment where interaction_id = :id",
                {"rating": rating, "comment": comment, "id": interaction_id},
            ).rowcount
        if not changed:
            raise KeyError(f"no interaction {interaction_id!r} in {self.path}")


def _interaction(row: dict[str, Any]) -> Interaction:
    row["data_context"] = json.loads(row["data_context"] or "{}")
    return Interaction(**row)
