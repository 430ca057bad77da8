"""Tag coverage when a resource's tags change inside the window: each tag set keeps its own spend."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from finops_agent.catalog import load_catalog
from finops_agent.execution import run_query
from finops_agent.pipeline import prepare_run
from finops_agent.settings import load_settings
from tests import tiny
from tests.support.reports import WINDOW

pytestmark = pytest.mark.integration
EC2 = "i-0000000000000001"  # $10, tagged Owner=alice in the tiny data


def _owner_coverage(folder: Path, tmp_path: Path) -> pd.Series:
    settings = load_settings(output_dir=tmp_path / "reports", home=tmp_path / "home")
    run = prepare_run(settings, source=str(folder), start=WINDOW[0], end=WINDOW[1])
    try:
        spec = load_catalog().queries["tag_coverage"]
        result = run_query(run.engine, spec, run.params)
    finally:
        run.engine.close()
    assert result.ok, result.error
    frame = result.frame
    owner = frame[(frame["tag_key"] == "owner") & (frame["service_code"] == "AmazonEC2")]
    return owner.iloc[0]


@pytest.mark.parametrize("schema", ["cur", "cur2", "focus"])
def test_a_resource_that_lost_its_tags_counts_its_tagged_and_untagged_spend_apart(
    schema: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _owner_coverage(tiny.write(schema, tmp_path / "before"), tmp_path)
    ec2 = next(line for line in tiny.LINES if line["res"] == EC2)
    # later the same day the instance ran $6 more with its tags removed
    monkeypatch.setattr(tiny, "LINES", [*tiny.LINES, {**ec2, "cost": 6.0, "tags": {}}])
    after = _owner_coverage(tiny.write(schema, tmp_path / "after"), tmp_path)
    assert after["total_cost"] == pytest.approx(before["total_cost"] + 6.0)
    # the $10 it ran tagged stays tagged, the $6 untagged does not count as tagged
    assert after["tagged_cost"] == pytest.approx(before["tagged_cost"])
    # still one resource, tagged for part of the window
    assert (after["resources"], after["tagged_resources"]) == (
        before["resources"],
        before["tagged_resources"],
    )
