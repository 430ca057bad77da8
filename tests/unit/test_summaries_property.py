"""Property: whatever the cost frame, summaries add up and never raise."""

from __future__ import annotations

import math

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from finops_agent.catalog import load_catalog
from finops_agent.execution import QueryResult
from finops_agent.summarise import records, shares, summarise_query

money = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)
rows = st.lists(
    st.tuples(
        st.sampled_from(["AmazonEC2", "AmazonS3", "AWSLambda", "<b>x</b>", ""]), money, money
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(rows)
def test_summary_totals_equal_the_input_and_shares_add_up(
    data: list[tuple[str, float, float]],
) -> None:
    frame = pd.DataFrame(data, columns=["service_code", "unblended_cost", "amortized_cost"])
    spec = load_catalog().queries["spend_by_region"]
    frame = frame.rename(columns={"service_code": "region"}).assign(share_pct=0.0)
    result = QueryResult(spec.name, spec.family, spec.title, "ok", "select 1", {}, frame=frame)
    summary = summarise_query(spec, result, top_n=10)
    assert summary.rows == len(frame)
    assert math.isclose(
        summary.total or 0.0, float(frame["unblended_cost"].sum()), rel_tol=1e-9, abs_tol=1e-3
    )
    assert len(summary.top_rows) == min(10, len(frame))
    positive = frame["unblended_cost"].clip(lower=0)
    if positive.sum() > 0:
        assert math.isclose(float(shares(positive).sum()), 100.0, rel_tol=1e-9)
    assert len(records(frame)) == len(frame)
