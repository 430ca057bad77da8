"""Fixtures that start real local stand-ins for the integration tests."""

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from tests.integration.dynamo_servers import dynalite  # noqa: F401  (fixture)


@pytest.fixture
def mocked_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.Session]:
    """moto in-process with fake credentials: no call can reach real AWS."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        yield boto3.Session(region_name="us-east-1")
