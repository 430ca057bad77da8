"""Relative periods, explicit overrides and the run names schedules produce."""

from __future__ import annotations

import datetime as dt

import pytest

from finops_agent.period import (
    period_window,
    resolve_window,
    run_name,
    tag_key_aliases,
    window_label,
)
from finops_agent.settings import DEFAULT_TAG_ALIASES, load_settings
from finops_agent.window import Window

MID_NOV = dt.date(2026, 11, 24)


@pytest.mark.parametrize(
    ("period", "today", "start", "end"),
    [
        # last full month plus the month to date, as the foundation's default window
        ("default", MID_NOV, "2026-10-01", "2026-11-24"),
        ("last_full_month", MID_NOV, "2026-10-01", "2026-11-01"),
        # across a year boundary
        ("last_full_month", dt.date(2027, 1, 3), "2026-12-01", "2027-01-01"),
        ("month_to_date", MID_NOV, "2026-11-01", "2026-11-24"),
        # on the 1st the month to date would be empty: the month yesterday belongs to
        ("month_to_date", dt.date(2026, 12, 1), "2026-11-01", "2026-12-01"),
        ("last_7_days", MID_NOV, "2026-11-17", "2026-11-24"),
        ("last_30_days", MID_NOV, "2026-10-25", "2026-11-24"),
    ],
)
def test_relative_periods(period: str, today: dt.date, start: str, end: str) -> None:
    window = period_window(period, today)
    assert (window.start.isoformat(), window.end.isoformat()) == (start, end)


def test_unknown_period_names_the_choices() -> None:
    with pytest.raises(ValueError, match=r"unknown period 'fortnight'.*last_7_days"):
        period_window("fortnight", MID_NOV)


def test_explicit_dates_override_one_end_at_a_time() -> None:
    window = resolve_window("last_full_month", None, "2026-10-15", MID_NOV)
    assert window == Window(dt.date(2026, 10, 1), dt.date(2026, 10, 15))
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        resolve_window("default", "10/01/2026", None, MID_NOV)


@pytest.mark.parametrize(
    ("start", "end", "label"),
    [
        ("2026-10-01", "2026-11-01", "2026-10"),
        ("2026-12-01", "2027-01-01", "2026-12"),
        ("2026-10-01", "2026-11-24", "2026-10-01..2026-11-23"),
        # two whole months are still a range
        ("2026-09-01", "2026-11-01", "2026-09-01..2026-10-31"),
        ("2026-11-17", "2026-11-24", "2026-11-17..2026-11-23"),
    ],
)
def test_window_label(start: str, end: str, label: str) -> None:
    window = Window(dt.date.fromisoformat(start), dt.date.fromisoformat(end))
    assert window_label(window) == label


def test_run_names_say_what_ran() -> None:
    assert run_name({"families": ["cost"], "period": "last_full_month"}, MID_NOV) == "cost-2026-10"
    assert (
        run_name(
            {"families": ["architecture", "tagging"], "start": "2026-09-01", "end": "2026-10-01"}
        )
        == "architecture-tagging-2026-09"
    )
    assert run_name({}, MID_NOV) == "report-2026-10-01..2026-11-23"
    # a bad date must not stop the run from being created: the flow reports it
    assert run_name({"families": ["cost"], "start": "soon"}, MID_NOV) == "cost-default"


def test_tag_keys_keep_known_aliases_and_accept_new_keys() -> None:
    aliases = tag_key_aliases(["owner", "team_name", "owner"])
    assert aliases == {"owner": DEFAULT_TAG_ALIASES["owner"], "team_name": ["team_name"]}
    assert tag_key_aliases(None) is None and tag_key_aliases([]) is None
    # settings validate what the UI form sends: SQL metacharacters are refused
    with pytest.raises(ValueError, match="tag key"):
        load_settings(tag_keys=tag_key_aliases(["owner'; drop table x"]))
