"""Periods a question names ("last week", "on Nov 19", "October vs November"), and its words."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from finops_agent.chat.vocabulary import Vocabulary, tokens
from finops_agent.chat.wording import FILLER, MONTHS

__all__ = [
    "Period",
    "Reader",
    "complete_months",
    "complete_weeks",
    "during",
    "month_period",
    "read_periods",
    "window_period",
]


@dataclass(frozen=True)
class Period:
    """Usage days [start, end) and how a sentence names them."""

    start: dt.date
    end: dt.date
    label: str

    @property
    def days(self) -> int:
        """Number of days in the period."""
        return (self.end - self.start).days


def month_end(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def during(period: Period) -> str:
    """The period after a preposition: "on 2026-11-19", "in November 2026"."""
    return f"on {period.label}" if period.label[:1].isdigit() else f"in {period.label}"


def month_period(first: dt.date) -> Period:
    return Period(first, month_end(first), first.strftime("%B %Y"))


class Reader:
    """One question's tokens, consumed as names, periods and keywords are recognised."""

    def __init__(self, question: str, vocab: Vocabulary) -> None:
        self.words = tokens(question)
        self.used = [False] * len(self.words)
        self.vocab = vocab

    def take(self, phrase: tuple[str, ...]) -> bool:
        """Mark the first unused occurrence of `phrase`; True when found."""
        size = len(phrase)
        for i in range(len(self.words) - size + 1):
            if tuple(self.words[i : i + size]) == phrase and not any(self.used[i : i + size]):
                self.used[i : i + size] = [True] * size
                return True
        return False

    def take_any(self, phrases: dict[tuple[str, ...], str]) -> list[str]:
        """Every value whose phrase occurs, longest phrases first."""
        found = []
        for phrase in sorted(phrases, key=len, reverse=True):
            while self.take(phrase):
                found.append(phrases[phrase])
        return found

    def left(self) -> list[str]:
        """Words not recognised as anything."""
        return [w for w, u in zip(self.words, self.used, strict=True) if not u and w not in FILLER]


def read_periods(reader: Reader, vocab: Vocabulary) -> list[Period]:
    """Periods named in the question, in the order they are named."""
    words, found = reader.words, []
    last = vocab.report_last_day
    this_month = last.replace(day=1)
    previous_month = (this_month - dt.timedelta(days=1)).replace(day=1)
    week_start = last - dt.timedelta(days=last.weekday())
    relative = {
        ("latest", "day"): Period(last, last + dt.timedelta(days=1), last.isoformat()),
        ("last", "day"): Period(last, last + dt.timedelta(days=1), last.isoformat()),
        ("last", "month"): month_period(previous_month),
        ("previous", "month"): month_period(previous_month),
        ("this", "month"): Period(this_month, last + dt.timedelta(days=1), "this month to date"),
        ("month", "to", "date"): Period(
            this_month, last + dt.timedelta(days=1), "this month to date"
        ),
        ("mtd",): Period(this_month, last + dt.timedelta(days=1), "this month to date"),
        ("last", "week"): Period(
            week_start - dt.timedelta(days=7),
            week_start,
            f"the week of {(week_start - dt.timedelta(days=7)).isoformat()}",
        ),
        ("this", "week"): Period(
            week_start, last + dt.timedelta(days=1), f"the week of {week_start.isoformat()}"
        ),
    }
    if last == dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1):
        # only when the data really runs to yesterday; an older report's "yesterday" is unknown
        relative[("yesterday",)] = Period(last, last + dt.timedelta(days=1), last.isoformat())
    position: list[tuple[int, Period]] = []
    for phrase, period in relative.items():
        for i in range(len(words) - len(phrase) + 1):
            if tuple(words[i : i + len(phrase)]) == phrase and not any(
                reader.used[i : i + len(phrase)]
            ):
                reader.used[i : i + len(phrase)] = [True] * len(phrase)
                position.append((i, period))
    for i, word in enumerate(words):
        if reader.used[i]:
            continue
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", word):
            day = dt.date.fromisoformat(word)
            reader.used[i] = True
            position.append((i, Period(day, day + dt.timedelta(days=1), day.isoformat())))
            continue
        month = MONTHS.get(word)
        if month is None:
            continue
        reader.used[i] = True
        year = None
        day_number = None
        for j in (i - 1, i + 1, i + 2):
            if 0 <= j < len(words) and not reader.used[j]:
                text = re.sub(r"(st|nd|rd|th)$", "", words[j])
                if re.fullmatch(r"20\d\d", text):
                    year, reader.used[j] = int(text), True
                elif re.fullmatch(r"\d{1,2}", text) and 1 <= int(text) <= 31 and day_number is None:
                    day_number, reader.used[j] = int(text), True
        year = year or year_of(month, vocab)
        if day_number is not None:
            try:
                day = dt.date(year, month, day_number)
            except ValueError:
                continue
            position.append((i, Period(day, day + dt.timedelta(days=1), day.isoformat())))
        else:
            position.append((i, month_period(dt.date(year, month, 1))))
    for i in range(len(words) - 2):
        if words[i] == "last" and words[i + 1].isdigit() and words[i + 2] in ("days", "day"):
            n = int(words[i + 1])
            reader.used[i : i + 3] = [True] * 3
            start = last - dt.timedelta(days=n - 1)
            position.append((i, Period(start, last + dt.timedelta(days=1), f"the last {n} days")))
    found = [p for _, p in sorted(position, key=lambda x: x[0])]
    return found


def year_of(month: int, vocab: Vocabulary) -> int:
    """A month named without a year: the latest such month the data reaches."""
    year = vocab.last_day.year
    return year if dt.date(year, month, 1) <= vocab.last_day else year - 1


def complete_months(vocab: Vocabulary) -> list[Period]:
    months, first = [], vocab.first_day.replace(day=1)
    while first <= vocab.report_last_day:
        period = month_period(first)
        if period.start >= vocab.first_day and period.end <= vocab.report_last_day + dt.timedelta(
            days=1
        ):
            months.append(period)
        first = period.end
    return months


def complete_weeks(vocab: Vocabulary) -> list[Period]:
    last = vocab.report_last_day
    end = last - dt.timedelta(days=last.weekday())
    if last.weekday() == 6:
        end = last + dt.timedelta(days=1)
    weeks: list[Period] = []
    while end - dt.timedelta(days=7) >= vocab.first_day and len(weeks) < 2:
        start = end - dt.timedelta(days=7)
        weeks.insert(0, Period(start, end, f"the week of {start.isoformat()}"))
        end = start
    return weeks


def window_period(vocab: Vocabulary) -> Period:
    end = vocab.report_last_day + dt.timedelta(days=1)
    start = max(vocab.window_start, vocab.first_day)
    return Period(
        start,
        end,
        f"the report window ({start.isoformat()} to {vocab.report_last_day.isoformat()})",
    )
