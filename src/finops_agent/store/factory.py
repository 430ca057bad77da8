"""Build the configured interaction store (the store half of wiring)."""

from __future__ import annotations

from finops_agent.settings import Settings
from finops_agent.store.base import InteractionStore


def build_store(settings: Settings) -> InteractionStore:
    """SQLite file by default; DynamoDB when FINOPS_STORE=dynamodb."""
    if settings.store == "dynamodb":
        from finops_agent.store.dynamodb import DynamoDBStore

        return DynamoDBStore.from_settings(settings)
    from finops_agent.store.sqlite import SQLiteStore

    return SQLiteStore(settings.log_path)
