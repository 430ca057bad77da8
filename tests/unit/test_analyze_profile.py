"""Column roles and analysis of result files of every shape users download from Athena."""

from __future__ import annotations

from pathlib import Path

import pytest

from finops_agent.analyze.analysis import ANALYSIS_TYPES, resolve_type
from finops_agent.analyze.dataset import Overrides, open_workspace
from finops_agent.analyze.roles import tokens
from finops_agent.analyze.run import analyse_workspace
from finops_agent.result_files.load import AnalyzeError
from finops_agent.settings import load_settings
from tests.analyze_shapes import SHAPES

SHAPE_NAMES = list(SHAPES)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # raw CUR CSV header, camelCase
        ("lineItem/UnblendedCost", {"line", "item", "unblended", "cost"}),
        # snake case stays split on underscores
        ("usage_type", {"usage", "type"}),
        # cost center is a tag, not money
        ("cost_center", {"center", "costcenter"}),
    ],
)
def test_tokens_split_names_into_words(name: str, expected: set[str]) -> None:
    assert tokens(name) == expected


@pytest.mark.parametrize("shape_name", SHAPE_NAMES)
def test_each_shape_gets_the_roles_a_reader_would_give_it(tmp_path: Path, shape_name: str) -> None:
    shape = SHAPES[shape_name]()
    workspace = open_workspace([str(shape.write(tmp_path))])
    try:
        profile = workspace.datasets[0].profile
        assert (profile.cost, profile.group, profile.date) == (shape.cost, shape.group, shape.date)
        roles = {c.name: c.role for c in profile.columns}
        for column, role in shape.roles.items():
            assert roles[column] == role, column
        assert profile.rows == len(shape.rows)
        assert resolve_type("auto", [profile]) == shape.analysis_type
    finally:
        workspace.close()


@pytest.mark.parametrize("shape_name", SHAPE_NAMES)
def test_totals_and_top_groups_match_an_independent_sum(tmp_path: Path, shape_name: str) -> None:
    shape = SHAPES[shape_name]()
    workspace = open_workspace([str(shape.write(tmp_path))])
    try:
        summary = analyse_workspace(workspace, "auto", load_settings(top_n=10))
    finally:
        workspace.close()
    assert summary.metrics.unblended_cost == pytest.approx(shape.total())
    assert summary.metrics.rows == len(shape.rows)
    assert summary.metrics.columns == len(shape.header)
    assert summary.metrics.analysis_type == shape.analysis_type
    top = summary.frame("top_by_group")
    assert dict(zip(top[shape.group], top[shape.cost], strict=True)) == pytest.approx(
        shape.by_group()
    )
    # the original app's charts: top-N bar, distribution pie, a time series when dated, a table
    assert tuple(q.chart.kind for q in summary.queries.values()) == shape.charts


def test_more_groups_than_top_n_end_in_an_other_row_that_keeps_the_total(tmp_path: Path) -> None:
    shape = SHAPES["EBS volume inventory"]()
    workspace = open_workspace([str(shape.write(tmp_path))], Overrides(group_col="volume_id"))
    try:
        summary = analyse_workspace(workspace, "auto", load_settings(top_n=5))
    finally:
        workspace.close()
    top = summary.frame("top_by_group")
    assert len(top) == 6
    assert "Other" in set(top["volume_id"])
    assert top["monthly_cost"].sum() == pytest.approx(shape.total())
    # the five named rows are the five largest volumes
    largest = sorted((float(r[4]) for r in shape.rows), reverse=True)[:5]
    named = top[top["volume_id"] != "Other"]["monthly_cost"].tolist()
    assert named == pytest.approx(largest)


def test_overrides_choose_cost_group_and_date(tmp_path: Path) -> None:
    shape = SHAPES["monthly trends"]()
    path = str(shape.write(tmp_path))
    workspace = open_workspace([path], Overrides(cost_col="previous_cost", group_col="month"))
    try:
        profile = workspace.datasets[0].profile
        summary = analyse_workspace(workspace, "cost", load_settings())
    finally:
        workspace.close()
    assert (profile.cost, profile.group) == ("previous_cost", "month")
    assert [c.reason for c in profile.columns if c.name == "previous_cost"] == [
        "chosen with --cost-col"
    ]
    assert summary.metrics.unblended_cost == pytest.approx(shape.total("previous_cost"))


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        # a column that does not exist: the message lists the real ones
        (Overrides(cost_col="spend"), "--cost-col 'spend' is not a column"),
        # text that is not money cannot be totalled
        (Overrides(cost_col="service"), "--cost-col 'service' is VARCHAR"),
        # a grouping column is not a date
        (Overrides(date_col="service"), "--date-col 'service' holds no dates"),
        (Overrides(group_col="nope"), "--group-col 'nope'"),
    ],
)
def test_bad_overrides_name_the_column_and_the_file(
    tmp_path: Path, overrides: Overrides, named: str
) -> None:
    path = SHAPES["cost by service and date"]().write(tmp_path)
    with pytest.raises(AnalyzeError, match=named) as caught:
        open_workspace([str(path)], overrides)
    assert path.name in str(caught.value)


def test_unknown_analysis_type_is_rejected() -> None:
    with pytest.raises(ValueError, match="security"):
        resolve_type("security", [])
    assert "auto" in ANALYSIS_TYPES


def test_numbers_without_a_cost_name_are_totalled_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "hours.csv"
    path.write_text("service,hours\nEC2,10\nS3,2.5\n")
    workspace = open_workspace([str(path)])
    try:
        profile = workspace.datasets[0].profile
    finally:
        workspace.close()
    assert profile.cost == "hours"
    assert profile.cost_is_money is False
    assert "hours" in profile.notes[0]
