"""A dict-backed InteractionStore for tests of code that logs (the real stores are tested apart)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from finops_agent.store.base import Interaction


class MemoryStore:
    """Keeps interactions in insertion order; same protocol as the SQLite and DynamoDB stores."""

    def __init__(self) -> None:
        self.items: dict[str, Interaction] = {}

    def put(self, item: Interaction) -> None:
        self.items[item.interaction_id] = item

    def get(self, interaction_id: str) -> Interaction | None:
        return self.items.get(interaction_id)

    def by_session(self, session_id: str) -> list[Interaction]:
        return [i for i in self.items.values() if i.session_id == session_id]

    def by_report(self, report_id: str) -> list[Interaction]:
        return [i for i in self.items.values() if i.report_id == report_id]

    def recent(self, since: dt.datetime | None = None, limit: int = 100) -> list[Interaction]:
        return list(reversed(self.items.values()))[:limit]

    def rate(self, interaction_id: str, rating: int, comment: str | None = None) -> None:
        if interaction_id not in self.items:
            raise KeyError(f"no interaction {interaction_id}")
        self.items[interaction_id] = replace(
            self.items[interaction_id], rating=rating, rating_comment=comment
        )
