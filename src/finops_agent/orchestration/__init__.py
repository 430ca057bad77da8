"""Prefect orchestration helpers: periods and run names, query caching, artifacts, alerts, deployments."""
