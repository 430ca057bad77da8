"""Fixtures that start real local stand-ins for the integration tests."""

from tests.integration.dynamo_servers import dynalite  # noqa: F401  (fixture)
