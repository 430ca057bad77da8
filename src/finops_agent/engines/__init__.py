"""Query engines: DuckDB over local files and Athena, behind one protocol."""

from finops_agent.engines.base import EngineResult, QueryEngine, QueryError

__all__ = ["EngineResult", "QueryEngine", "QueryError"]
