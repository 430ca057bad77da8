"""Billing windows and settings behave as users expect."""

from __future__ import annotations

import datetime as dt

import pytest

from finops_agent.identifiers import UnsafeIdentifierError, check_identifier
from finops_agent.settings import load_settings
from finops_agent.window import Window


@pytest.mark.parametrize(
    ("today", "start", "end"),
    [
        # mid-month: last full month plus the month to date (end exclusive = today)
        (dt.date(2026, 11, 24), dt.date(2026, 10, 1), dt.date(2026, 11, 24)),
        # on the 1st there is no month to date yet: just the last full month
        (dt.date(2026, 11, 1), dt.date(2026, 10, 1), dt.date(2026, 11, 1)),
        # January reaches back into December of the year before
        (dt.date(2027, 1, 10), dt.date(2026, 12, 1), dt.date(2027, 1, 10)),
    ],
)
def test_default_window(today: dt.date, start: dt.date, end: dt.date) -> None:
    window = Window.default(today)
    assert (window.start, window.end) == (start, end)


def test_window_months_and_previous_period() -> None:
    window = Window(dt.date(2026, 10, 15), dt.date(2026, 12, 2))
    assert window.months() == [dt.date(2026, 10, 1), dt.date(2026, 11, 1), dt.date(2026, 12, 1)]
    assert window.days == 48
    assert window.previous() == Window(dt.date(2026, 8, 28), dt.date(2026, 10, 15))


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-10-01", "2026-10-01", "window end 2026-10-01 must be after start 2026-10-01"),
        ("2026-13-01", None, "window dates must be YYYY-MM-DD: month must be in 1..12"),
        ("yesterday", None, "window dates must be YYYY-MM-DD: .*'yesterday'"),
    ],
)
def test_bad_windows_are_rejected_with_the_dates(start: str, end: str | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Window.parse(start, end)


@pytest.mark.hostile
def test_secrets_are_masked_and_env_prefix_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINOPS_SMTP_PASSWORD", "hunter2")
    monkeypatch.setenv("FINOPS_TOP_N", "7")
    settings = load_settings()
    shown = settings.masked()
    assert shown["smtp_password"] == "**********"
    assert "hunter2" not in repr(settings) and "hunter2" not in str(shown)
    assert settings.top_n == 7


@pytest.mark.hostile
def test_tag_aliases_with_sql_metacharacters_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINOPS_TAG_KEYS", '{"owner": ["owner\'; DROP TABLE x --"]}')
    with pytest.raises(ValueError, match="tag"):
        load_settings()


@pytest.mark.parametrize("name", ["cur; drop", "a.b", "x'--", "", "1abc", "tbl\x00"])
@pytest.mark.hostile
def test_identifiers_must_be_plain(name: str) -> None:
    with pytest.raises(UnsafeIdentifierError, match=r"table .* is not a plain identifier"):
        check_identifier(name, what="table")
