"""Prefect flow entrypoints: thin wrappers over finops_agent."""
