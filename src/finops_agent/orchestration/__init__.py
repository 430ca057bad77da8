"""Prefect orchestration: periods and run names, query caching, artifacts, alerts, deployments, launcher."""
