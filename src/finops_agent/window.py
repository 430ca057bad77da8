"""The billing window a report covers: start inclusive, end exclusive."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from finops_agent.errors import UserError


class WindowError(UserError, ValueError):
    """A billing window that is not two ISO dates in order."""


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
        """The window of the same length just before this one."""
        return Window(self.start - (self.end - self.start), self.start)

    @property
    def label(self) -> str:
        """Human label, e.g. '2026-10-01 to 2026-11-23'."""
        return f"{self.start.isoformat()} to {(self.end - dt.timedelta(days=1)).isoformat()}"
