"""Relative billing periods a schedule can ask for, and run names that say what ran."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Literal, get_args

from finops_agent.settings import DEFAULT_TAG_ALIASES
from finops_agent.window import Window, WindowError

Period = Literal["default", "last_full_month", "month_to_date", "last_7_days", "last_30_days"]
PERIODS: tuple[str, ...] = get_args(Period)


def period_window(period: str, today: dt.date | None = None) -> Window:
    """The window a relative period covers on `today` (UTC); data is complete through yesterday."""
    today = today or dt.datetime.now(dt.UTC).date()
    this_month = today.replace(day=1)
    if period == "default":
        return Window.default(today)
    if period == "last_full_month":
        return Window((this_month - dt.timedelta(days=1)).replace(day=1), this_month)
    if period == "month_to_date":
        # On the 1st the month to date is empty: report the month yesterday belongs to instead.
        yesterday = today - dt.timedelta(days=1)
        return Window(yesterday.replace(day=1), today)
    if period == "last_7_days":
        return Window(today - dt.timedelta(days=7), today)
    if period == "last_30_days":
        return Window(today - dt.timedelta(days=30), today)
    raise WindowError(f"unknown period {period!r}; choose one of {', '.join(PERIODS)}")


def resolve_window(
    period: str, start: str | None, end: str | None, today: dt.date | None = None
) -> Window:
    """Explicit start/end dates win over the relative period, one end at a time."""
    return Window.parse(start, end, default=period_window(period, today))


def window_label(window: Window) -> str:
    """`2026-10` for one whole month, else `2026-10-01..2026-11-23` (last day inclusive)."""
    last = window.end - dt.timedelta(days=1)
    whole_month = window.start.day == 1 and (last + dt.timedelta(days=1)).day == 1
    if whole_month and (window.start.year, window.start.month) == (last.year, last.month):
        return f"{window.start:%Y-%m}"
    return f"{window.start.isoformat()}..{last.isoformat()}"


def run_name(parameters: Mapping[str, Any], today: dt.date | None = None) -> str:
    """Flow run name from report parameters, e.g. `cost-2026-10` or `architecture-tagging-2026-10`."""
    families = parameters.get("families") or []
    prefix = "-".join(str(f) for f in families) or "report"
    period = str(parameters.get("period") or "default")
    try:
        label = window_label(
            resolve_window(period, parameters.get("start"), parameters.get("end"), today)
        )
    except ValueError:
        # the flow itself reports the bad window; the name must still be created
        label = period.replace("_", "-")
    return f"{prefix}-{label}"


def tag_key_aliases(keys: Sequence[str] | None) -> dict[str, list[str]] | None:
    """Logical tag keys as settings want them: known keys keep their aliases, new ones alias themselves."""
    if not keys:
        return None
    return {key: list(DEFAULT_TAG_ALIASES.get(key, [key])) for key in dict.fromkeys(keys)}
