"""The planted SageMaker notebooks: in the files as the ground truth says, and nothing else moved."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import finops_agent.sample_data as sample_data

END = dt.date(2026, 11, 24)
DAYS = 84  # 2026-09-01 to 2026-11-23
NOTEBOOK_PREFIX = "arn:aws:sagemaker:eu-west-1:777788889999:notebook-instance/"


def _generate(folder: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    truth = sample_data.generate("cur", folder, rows=3000, months=3, seed=11, end=END)
    frame = pd.read_parquet(folder / "data")
    frame = frame.astype(
        {c: str for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)}
    )
    return frame, truth


def test_the_notebooks_are_written_with_their_planted_cost_and_tags(tmp_path: Path) -> None:
    frame, truth = _generate(tmp_path)
    notebooks = frame[frame["line_item_resource_id"].str.startswith(NOTEBOOK_PREFIX)]
    by_id = notebooks.groupby("line_item_resource_id")
    cost = by_id["line_item_unblended_cost"].sum()
    # $0.05 an hour: 24 hours a day is $1.20, 16 hours $0.80, every day of the sample
    daily = {"forecasting": 1.20, "churn-model": 0.80, "ad-hoc-sql": 1.20, "scratch": 1.20}
    assert cost.to_dict() == pytest.approx(
        {NOTEBOOK_PREFIX + name: usd * DAYS for name, usd in daily.items()}, abs=1e-6
    )
    planted = {n["resource_id"]: n for n in truth["planted"]["owner_by_service"]["notebooks"]}
    assert {rid: n["amortized_cost"] for rid, n in planted.items()} == pytest.approx(
        cost.to_dict(), abs=1e-6
    )
    owners = by_id["resource_tags_user_owner"].first().to_dict()
    environments = by_id["resource_tags_user_environment"].first().to_dict()
    assert {
        rid.removeprefix(NOTEBOOK_PREFIX): (owners[rid], environments[rid]) for rid in owners
    } == {
        "forecasting": ("team-ml", "qa"),
        "churn-model": ("team-ml", "QA"),
        "ad-hoc-sql": ("team-data", " qa "),
        "scratch": ("", ""),
    }
    cluster = truth["planted"]["owner_by_service"]
    assert cluster["untagged_resource_ids"] == [NOTEBOOK_PREFIX + "scratch"]
    assert (cluster["likely_owner"], cluster["likely_owner_cost"], cluster["tagged_cost"]) == (
        "team-ml",
        pytest.approx(2.0 * DAYS, abs=1e-6),
        pytest.approx(3.2 * DAYS, abs=1e-6),
    )


def test_the_rest_of_the_estate_is_the_same_with_the_notebooks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_notebooks, _ = _generate(tmp_path / "with")
    # the estate as it was before the notebooks were planted, and so without their truth
    monkeypatch.setattr(
        sample_data,
        "_with_owner_cluster",
        lambda rt, products, usage, days, seed: (rt, products, usage),
    )
    monkeypatch.setattr(sample_data, "owner_cluster_truth", lambda lines, rt: {})
    without, _ = _generate(tmp_path / "without")
    others = with_notebooks[
        ~with_notebooks["line_item_resource_id"].str.startswith(NOTEBOOK_PREFIX)
    ]
    assert len(others) == len(without) and len(others) < len(with_notebooks)
    # same lines in the same order: ids, amounts and tags drawn exactly as before
    pd.testing.assert_frame_equal(
        others.drop(columns=["identity_line_item_id"], errors="ignore").reset_index(drop=True),
        without.drop(columns=["identity_line_item_id"], errors="ignore").reset_index(drop=True),
    )
