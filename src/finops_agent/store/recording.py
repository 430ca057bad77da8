"""Open the interaction store and write to it without ever costing the caller its report or answer."""

from __future__ import annotations

import logging

from finops_agent.settings import Settings
from finops_agent.store.base import Interaction, InteractionStore
from finops_agent.store.factory import build_store

log = logging.getLogger(__name__)

__all__ = ["log_interaction", "open_store"]


def open_store(settings: Settings) -> tuple[InteractionStore | None, str | None]:
    """The configured interaction store, or None and a warning when it cannot be opened."""
    try:
        store = build_store(settings)
        # interactions spooled while DynamoDB was unreachable go first
        replay = getattr(store, "replay", None)
        if callable(replay):
            replay()
        return store, None
    except Exception as exc:  # a broken log must not cost the report
        log.warning("interaction store unavailable: %s", exc)
        return None, f"interaction log unavailable ({exc}); this run's interactions were not logged"


def log_interaction(store: InteractionStore | None, item: Interaction) -> str | None:
    """Write one interaction; return a warning instead of raising when the store fails."""
    if store is None:
        return None
    try:
        store.put(item)
    except Exception as exc:  # the log must never cost the report
        log.warning("interaction log write failed: %s", exc)
        return f"interaction log write failed: {exc}"
    return None
