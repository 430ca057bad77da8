"""Interaction log: SQLite by default, DynamoDB in production, behind one protocol."""

from finops_agent.store.base import Interaction, InteractionStore, new_interaction_id

__all__ = ["Interaction", "InteractionStore", "new_interaction_id"]
