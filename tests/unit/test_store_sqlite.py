"""The SQLite interaction log keeps every interaction once, finds them by session and report, and survives threads."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest

from finops_agent.store.base import Interaction, new_interaction_id
from finops_agent.store.sqlite import SQLiteStore
from tests.support.bounded import join_all


def _item(**kw: object) -> Interaction:
    return Interaction(kind="chat", user_query=kw.pop("q", "why?"), agent_response="because", **kw)  # type: ignore[arg-type]


def test_ids_are_unique_and_sort_by_creation_time() -> None:
    ids = [new_interaction_id() for _ in range(2000)]
    assert len(set(ids)) == 2000
    assert ids == sorted(ids)  # uuid7: the millisecond prefix orders them


def test_put_is_idempotent_and_lookups_use_session_and_report(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "log.sqlite")
    first = _item(session_id="s1", report_id="r1", data_context={"rows": 3, "note": "ünïcødé ✓"})
    store.put(first)
    store.put(first)  # a retried write changes nothing
    store.put(_item(session_id="s1", report_id="r2"))
    store.put(_item(session_id="s2", report_id="r1"))
    assert store.by_session("s1")[0].interaction_id == first.interaction_id
    assert len(store.by_session("s1")) == 2 and len(store.by_report("r1")) == 2
    got = store.get(first.interaction_id)
    assert got is not None and got.data_context == {"rows": 3, "note": "ünïcødé ✓"}
    assert store.get("nope") is None


def test_recent_is_newest_first_and_respects_since(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "log.sqlite")
    old = _item(timestamp="2026-01-01T00:00:00+00:00")
    new = _item(timestamp="2026-11-01T00:00:00+00:00")
    store.put(old)
    store.put(new)
    assert [i.interaction_id for i in store.recent()] == [new.interaction_id, old.interaction_id]
    assert [
        i.interaction_id for i in store.recent(since=dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    ] == [new.interaction_id]


def test_ratings_are_stored_and_unknown_ids_named(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "log.sqlite")
    item = _item()
    store.put(item)
    store.rate(item.interaction_id, -1, "wrong account")
    rated = store.get(item.interaction_id)
    assert rated is not None and (rated.rating, rated.rating_comment) == (-1, "wrong account")
    with pytest.raises(KeyError, match="missing-id"):
        store.rate("missing-id", 1)


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    items = [_item(session_id=f"s{i % 4}") for i in range(200)]

    errors: list[BaseException] = []
    # every writer has written once before any writer goes on: the writes interleave
    first_written = threading.Barrier(8, timeout=60)

    def write(chunk: list[Interaction]) -> None:
        try:
            store = SQLiteStore(path)
            store.put(chunk[0])
            first_written.wait()
            for item in chunk[1:]:
                store.put(item)
        except BaseException as exc:  # a thread's failure must fail the test, not vanish
            errors.append(exc)
            first_written.abort()

    threads = [
        threading.Thread(target=write, args=(items[i::8],), name=f"writer-{i}") for i in range(8)
    ]
    for t in threads:
        t.start()
    join_all(threads, 120, "SQLite writers")
    assert errors == []
    store = SQLiteStore(path)
    assert sum(len(store.by_session(f"s{i}")) for i in range(4)) == 200


def test_large_items_are_kept_whole(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "log.sqlite")
    big = _item(q="x" * 2_000_000)
    store.put(big)
    got = store.get(big.interaction_id)
    assert got is not None and len(got.user_query) == 2_000_000
