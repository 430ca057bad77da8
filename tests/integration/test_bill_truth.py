"""The report tells the truth about the bill: every waterfall line equals what the generator planted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from finops_agent.catalog import load_catalog
from finops_agent.execution import run_query
from finops_agent.pipeline import prepare_run
from finops_agent.settings import load_settings
from finops_agent.waterfall import LINES, waterfall_from_frame

pytestmark = pytest.mark.integration
CENT = 0.005


def _run(folder: Path, truth: dict[str, Any], query: str) -> Any:
    run = prepare_run(
        load_settings(), source=str(folder / "data"), start=truth["start"], end=truth["end"]
    )
    try:
        result = run_query(run.engine, load_catalog().queries[query], run.params)
    finally:
        run.engine.close()
    assert result.ok, result.error
    return result.frame


@pytest.mark.parametrize("schema", ["cur", "cur2", "focus"])
def test_every_waterfall_line_equals_the_ground_truth_to_the_cent(
    sample_dataset: Any, schema: str
) -> None:
    folder, truth = sample_dataset(schema)
    bill = waterfall_from_frame(_run(folder, truth, "bill_waterfall"))
    assert bill is not None and bill.currency == "USD" and bill.other_currencies == []
    expected = truth["waterfall"]
    for key, _label in LINES:
        assert bill.amount(key) == pytest.approx(expected[key], abs=CENT), key
    assert bill.net_total == pytest.approx(expected["net_total"], abs=CENT)
    assert bill.amortized_total == pytest.approx(expected["amortized_total"], abs=CENT)
    # the lines add up to the net total, and the planted charges are all there
    assert sum(x.amount for x in bill.lines) == pytest.approx(bill.net_total, abs=CENT)
    assert bill.amount("refunds") == pytest.approx(-123.45, abs=CENT)
    assert bill.amount("credits") == pytest.approx(-150.0, abs=CENT)  # -$50 in each of 3 months
    assert bill.amount("tax") == pytest.approx(3 * (40 + 57.5 + 75), abs=CENT)
    assert bill.amount("upfront_purchases") == pytest.approx(1314.0, abs=CENT)
    assert bill.amount("commitment_fees") > 0
    assert bill.amount("commitment_offset") == pytest.approx(-bill.amount("usage_covered"), abs=CENT)
