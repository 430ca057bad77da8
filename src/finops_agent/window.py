"""The billing window a report covers: start inclusive, end exclusive."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from finops_agent.errors import UserError


class WindowError(UserError, ValueError):
    """A billing window that is not two ISO dates in order."""


def shift_months(day: dt.date, months: int) -> dt.date:
    """`day` moved by whole months, clipped to the end of a shorter month (Mar 31 - 1 -> Feb 28)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    first_next = dt.date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
    last_day = (first_next - dt.timedelta(days=1)).day
    return dt.date(year, month + 1, min(day.day, last_day))


def period_text(start: dt.date, end: dt.date) -> str:
    """The one period text of a report (header, index, email, artifact): `2026-10` for one whole
    month, `2026-09 to 2026-10` for whole months, else `2026-10-01 to 2026-11-23` (end exclusive
    in, last day shown)."""
    last = end - dt.timedelta(days=1)
    if start.day == 1 and end.day == 1:
        if (start.year, start.month) == (last.year, last.month):
            return f"{start:%Y-%m}"
        return f"{start:%Y-%m} to {last:%Y-%m}"
    return f"{start.isoformat()} to {last.isoformat()}"


@dataclass(frozen=True)
class Window:
    """Half-open date range [start, end) of usage days."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise WindowError(f"window end {self.end} must be after start {self.start}")

    @classmethod
    def default(cls, today: dt.date | None = None) -> Window:
        """Last full month plus the month to date (through yesterday)."""
        today = today or dt.datetime.now(dt.UTC).date()
        this_month = today.replace(day=1)
        last_month = (this_month - dt.timedelta(days=1)).replace(day=1)
        return cls(last_month, today if today > this_month else this_month)

    @classmethod
    def parse(
        cls,
        start: str | None,
        end: str | None,
        today: dt.date | None = None,
        *,
        default: Window | None = None,
    ) -> Window:
        """Window from ISO dates; a missing end falls back to `default`'s (else the default window's)."""
        base = default or cls.default(today)
        try:
            first = dt.date.fromisoformat(start) if start else base.start
            last = dt.date.fromisoformat(end) if end else base.end
        except ValueError as exc:
            raise WindowError(f"window dates must be YYYY-MM-DD: {exc}") from None
        return cls(first, last)

    @property
    def days(self) -> int:
        """Number of days in the window."""
        return (self.end - self.start).days

    def months(self) -> list[dt.date]:
        """First day of every billing month the window touches."""
        out: list[dt.date] = []
        month = self.start.replace(day=1)
        while month < self.end:
            out.append(month)
            month = (month + dt.timedelta(days=32)).replace(day=1)
        return out

    def previous(self) -> Window:
        """The period to compare with: the same calendar shape one span of months earlier.

        A window that starts on a month's first day is compared with the window as many months
        earlier as it touches (October 1 to November 24 with August 1 to September 24), so the
        previous period starts on a first day too and carries that month's monthly fees. Any
        other window is compared with the window of equal length just before it.
        """
        if self.start.day != 1:
            return Window(self.start - (self.end - self.start), self.start)
        months = len(self.months())
        return Window(shift_months(self.start, -months), shift_months(self.end, -months))

    @property
    def period(self) -> str:
        """The period text every place a reader sees this window shows (see `period_text`)."""
        return period_text(self.start, self.end)

    @property
    def label(self) -> str:
        """Human label, e.g. '2026-10-01 to 2026-11-23'."""
        return f"{self.start.isoformat()} to {(self.end - dt.timedelta(days=1)).isoformat()}"
