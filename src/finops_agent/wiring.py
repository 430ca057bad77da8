"""The one place that turns settings into backends: engine, insight provider, store, mailer."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from finops_agent.engines.base import QueryEngine
from finops_agent.errors import ConfigurationError
from finops_agent.insights.base import InsightProvider
from finops_agent.settings import Settings

if TYPE_CHECKING:
    from finops_agent.delivery.base import Mailer
    from finops_agent.store.base import InteractionStore


def build_engine(settings: Settings, source: str | None = None) -> QueryEngine:
    """DuckDB over local files, or Athena over the configured table (per query, materialised, extract)."""
    if settings.engine == "athena" and settings.athena_mode == "materialise":
        from finops_agent.engines.athena_materialise import AthenaMaterialiseEngine

        return cast(QueryEngine, AthenaMaterialiseEngine.from_settings(settings))
    if settings.engine == "athena" and settings.athena_mode == "extract":
        from finops_agent.engines.athena_extract import AthenaExtractEngine

        return cast(QueryEngine, AthenaExtractEngine.from_settings(settings))
    if settings.engine == "athena":
        from finops_agent.engines.athena import AthenaEngine

        return cast(QueryEngine, AthenaEngine.from_settings(settings))
    from finops_agent.engines.duckdb import DuckDBEngine

    path = source or settings.source
    if not path:
        raise ConfigurationError("no source: pass --source PATH_OR_GLOB or set FINOPS_SOURCE")
    return DuckDBEngine(
        path, threads=settings.duckdb_threads, memory_limit=settings.duckdb_memory_limit
    )


def build_insights(settings: Settings) -> InsightProvider:
    """The rule engine, or Bedrock when configured."""
    if settings.insights == "bedrock":
        from finops_agent.insights.bedrock import BedrockInsights

        return cast(InsightProvider, BedrockInsights.from_settings(settings))
    from finops_agent.insights.query_rules import RuleInsights

    return RuleInsights()


def build_store(settings: Settings) -> InteractionStore:
    """SQLite file by default, DynamoDB when configured."""
    from finops_agent.store.factory import build_store as _build

    return _build(settings)


def build_mailer(settings: Settings) -> Mailer | None:
    """SMTP or SES from settings; None when FINOPS_MAILER is none."""
    from finops_agent.delivery.factory import build_mailer as _build

    return _build(settings)
