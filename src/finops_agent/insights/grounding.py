"""Grounding: every dollar amount and percentage a model writes must match a number in its data."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from finops_agent.formatting import CURRENCY_SYMBOLS
from finops_agent.insights.base import Ungrounded

__all__ = [
    "TOLERANCE",
    "Evidence",
    "Figure",
    "check_text",
    "figures",
    "mark_ungrounded",
    "unwrap_marks",
]

# Relative tolerance between a quoted figure and the data (the 1%).
TOLERANCE: float = 0.01
MARK_OPEN = "\ue000"
MARK_CLOSE = "\ue001"
_MARK_HTML_OPEN = '<mark class="ungrounded" title="not found in the report data">'
_MARK_HTML_CLOSE = "</mark>"
_MULTIPLIERS = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "b": 1e9, "bn": 1e9}
_MULTIPLIERS["billion"] = 1e9
_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_SYMBOLS = "|".join(re.escape(s) for s in CURRENCY_SYMBOLS.values())
# ISO codes written after an amount (`1,234.56 JPY`, as formatting.money prints them) or before
# it (`USD 5`); a fixed list, so `12 RDS instances` is not read as money
_CODES = (
    "USD|EUR|GBP|JPY|CNY|INR|AUD|CAD|CHF|SEK|NOK|DKK|PLN|CZK|BRL|MXN|KRW|SGD|HKD|NZD|ZAR|"
    "AED|SAR|ILS|TRY|TWD|IDR|THB|MYR|PHP"
)
_MONEY = re.compile(
    rf"(?<![\w.])(?:{_SYMBOLS}|(?:{_CODES})\s?)\s?(?P<num>{_NUMBER})"
    r"(?:\s?(?P<suffix>thousand|million|billion|bn|[kKmMbB])(?![a-zA-Z]))?"
)
_MONEY_CODE_AFTER = re.compile(rf"(?<![\w.,])(?P<num>{_NUMBER})\s?(?:{_CODES})(?![A-Za-z])")
_PERCENT = re.compile(rf"(?<![\w.,])(?P<num>{_NUMBER})\s?(?:%|percent\b)")
# a number standing alone: not the digits inside an id such as 20261124T122442Z or i-0abc12
_PLAIN = re.compile(rf"(?<![\w.])-?(?:{_NUMBER})(?![\w])")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z*_(\[])|\n")
# Figures a model may derive from the data without it being a flaw: a year of a monthly figure.
_ANNUAL = 12.0


@dataclass(frozen=True)
class Figure:
    """One dollar amount or percentage found in text, with the precision it was written to."""

    text: str
    value: float
    kind: Literal["usd", "pct"]
    start: int
    end: int
    half_unit: float

    def matches(self, candidate: float) -> bool:
        """True when `candidate` is within 1% of this figure or rounds to it as written."""
        slack = max(TOLERANCE * abs(candidate), self.half_unit)
        return abs(abs(candidate) - self.value) <= slack + 1e-9


def _parse(number: str, suffix: str | None) -> tuple[float, float]:
    decimals = len(number.split(".", 1)[1]) if "." in number else 0
    scale = _MULTIPLIERS.get((suffix or "").lower(), 1.0)
    return float(number.replace(",", "")) * scale, 0.5 * 10.0**-decimals * scale


def figures(text: str) -> list[Figure]:
    """Every money amount ($1,234, $1.2k, €5, 1,234.56 JPY, USD 5 million) and percentage (12%)."""
    found: list[Figure] = []
    for match in _MONEY.finditer(text):
        value, half = _parse(match.group("num"), match.group("suffix"))
        found.append(Figure(match.group(0), value, "usd", match.start(), match.end(), half))
    taken = [(f.start, f.end) for f in found]
    for match in _MONEY_CODE_AFTER.finditer(text):
        if any(start < match.end() and match.start() < end for start, end in taken):
            continue  # `$5 USD` is one figure
        value, half = _parse(match.group("num"), None)
        found.append(Figure(match.group(0), value, "usd", match.start(), match.end(), half))
    for match in _PERCENT.finditer(text):
        value, half = _parse(match.group("num"), None)
        found.append(Figure(match.group(0), value, "pct", match.start(), match.end(), half))
    return sorted(found, key=lambda f: f.start)


def _numbers(value: Any) -> Iterator[float]:
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, (int, float)):
        yield float(value)
    elif isinstance(value, str):
        for figure in figures(value):
            yield figure.value
        for match in _PLAIN.finditer(value):
            yield float(match.group(0).replace(",", ""))
    elif isinstance(value, dict):
        for item in value.values():
            yield from _numbers(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _numbers(item)


class Evidence:
    """The numbers a model was shown, indexed for dollar and percentage look-ups."""

    def __init__(self, numbers: Iterable[float], totals: Iterable[float] = ()) -> None:
        plain = sorted({abs(n) for n in numbers})
        money = set(plain) | {n * _ANNUAL for n in plain}
        # percentages: quoted as is, fractions (0.12) as 12%, or a share of a total
        pct = set(plain) | {n * 100.0 for n in plain if n <= 1.0}
        for total in {abs(t) for t in totals if t}:
            pct |= {n / total * 100.0 for n in plain if n <= total}
        self._money = sorted(money)
        self._pct = sorted(pct)

    @classmethod
    def from_context(cls, context: Any, totals: Iterable[float] = ()) -> Evidence:
        """Evidence from a JSON-ready context (dicts, lists, numbers, strings with numbers)."""
        return cls(_numbers(context), totals)

    def supports(self, figure: Figure) -> bool:
        """True when some number in the evidence matches the figure."""
        pool = self._money if figure.kind == "usd" else self._pct
        low = (figure.value - figure.half_unit) / (1 + TOLERANCE) - 1e-9
        high = (figure.value + figure.half_unit) / (1 - TOLERANCE) + 1e-9
        start = bisect.bisect_left(pool, low)
        end = bisect.bisect_right(pool, high)
        return any(figure.matches(candidate) for candidate in pool[start:end])


def _sentence(text: str, start: int, end: int) -> str:
    bounds = [0, *(m.end() for m in _SENTENCE_END.finditer(text)), len(text) + 1]
    index = bisect.bisect_right(bounds, start) - 1
    sentence = text[bounds[index] : bounds[index + 1]].strip()
    return sentence if len(sentence) <= 300 else sentence[:297] + "..."


def check_text(text: str, evidence: Evidence, where: str = "narrative") -> list[Ungrounded]:
    """The figures in `text` that no number in the evidence supports, with their sentence."""
    return [
        Ungrounded(number=f.text, sentence=_sentence(text, f.start, f.end), where=where)
        for f in figures(text)
        if not evidence.supports(f)
    ]


def mark_ungrounded(text: str, flagged: Iterable[str]) -> str:
    """Markdown with each flagged figure wrapped in private-use sentinels (see unwrap_marks)."""
    wanted = set(flagged)
    clean = text.replace(MARK_OPEN, "").replace(MARK_CLOSE, "")
    if not wanted:
        return clean
    out, last = [], 0
    for figure in figures(clean):
        if figure.text in wanted and figure.start >= last:
            out += [clean[last : figure.start], MARK_OPEN, figure.text, MARK_CLOSE]
            last = figure.end
    out.append(clean[last:])
    return "".join(out)


def unwrap_marks(html: str) -> str:
    """Sanitised HTML with the sentinels turned into <mark class="ungrounded"> elements."""
    return html.replace(MARK_OPEN, _MARK_HTML_OPEN).replace(MARK_CLOSE, _MARK_HTML_CLOSE)
