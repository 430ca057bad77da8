"""Questions in plain words to one checked SELECT over `cost` (or a stored query), without a model.

A question is read into a plan: measure, dimension, filters, period(s) and operation. Names
are matched against the report's own data (see vocabulary.py) and every value reaches the
SQL as a sqlglot literal, never as pasted text. Words it does not know make it refuse and
say what it understood: a wrong number is worse than no number.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, field

from finops_agent.chat.periods import (
    Period,
    Reader,
    complete_months,
    complete_weeks,
    month_period,
    read_periods,
    window_period,
)
from finops_agent.chat.vocabulary import Entity, Vocabulary, tokens
from finops_agent.chat.wording import (
    ACTION_VERBS,
    DIMENSION_WORDS,
    FILLER,
    MEASURE_WORDS,
    NUMBER_WORDS,
    OPERATION_WORDS,
    POLITE,
    STORED_EXTRAS,
    STORED_TOPICS,
    STRONG_ACTIONS,
)

__all__ = ["MEASURE_LABELS", "Plan", "Refusal", "describe", "interpret", "suggestions"]


@dataclass
class Plan:
    """What a question asks, read into parts the SQL and the sentence are built from."""

    operation: str  # total, average, top, share, growth, series, count, stored
    measure: str = "net"
    dimension: str | None = None
    filters: list[Entity] = field(default_factory=list)
    period: Period | None = None
    earlier: Period | None = None
    limit: int = 5
    ascending: bool = False
    direction: str = "up"  # growth: up, down or any
    stored: str | None = None

    def understood(self) -> str:
        """The plan in words, for refusals and the model's context."""
        parts = [f"operation {self.operation}", f"measure {MEASURE_LABELS[self.measure]}"]
        if self.dimension:
            parts.append(f"by {self.dimension}")
        if self.filters:
            parts.append("for " + ", ".join(describe(e) for e in self.filters))
        if self.earlier and self.period:
            parts.append(f"from {self.earlier.label} to {self.period.label}")
        elif self.period:
            parts.append(self.period.label)
        return "; ".join(parts)


@dataclass(frozen=True)
class Refusal:
    """Why a question gets no figure, and (for unclear ones) what was understood."""

    reason: str
    understood: str = ""
    kind: str = "unclear"  # unclear, future, action, data


MEASURE_LABELS = {
    "net": "unblended, net of credits",
    "gross": "unblended, before credits and refunds",
    "amortized": "amortised",
    "public": "at public on-demand prices",
    "usage": "usage amount in each pricing unit",
}


def describe(entity: Entity) -> str:
    """How a sentence names a filter value."""
    if entity.kind == "tag":
        return f"{entity.key} {entity.label}"
    if entity.kind == "account":
        return f"account {entity.label}"
    return entity.label


def _refuse_outright(reader: Reader, vocab: Vocabulary) -> Refusal | None:
    words = reader.words
    i = 0
    while i < len(words) and words[i] in POLITE:
        i += 1
    strong = next((w for w in words if w in STRONG_ACTIONS), None)
    # "tag coverage" is a noun; "tag the resources" is an action
    first = words[i] if i < len(words) and words[i] in ACTION_VERBS else None
    if first == "tag" and not (i + 1 < len(words) and words[i + 1] in _TAG_OBJECTS):
        first = None
    verb = strong or first
    if verb is not None:
        return Refusal(
            f"I only read the billing data: I cannot {verb} resources or change anything in "
            "AWS. Ask what they cost, and act on the answer in AWS yourself.",
            kind="action",
        )
    text = " ".join(words)
    future = re.search(
        r"\bnext (year|month|quarter|week)\b|\bfuture\b|\bin (\d{4})\b|\bprices? (will|go|going)\b"
        r"|\bwill (aws|the) prices?\b|\bprice (increase|change|rise)s?\b|\bnext fiscal\b",
        text,
    )
    if future and not (future.group(2) and int(future.group(2)) <= vocab.last_day.year):
        return Refusal(
            "The bill records what was used and charged up to "
            f"{vocab.last_day.isoformat()}; it holds no future prices or spend beyond the "
            "current month. I can forecast this month's end at the current run rate.",
            kind="future",
        )
    return None


_TAG_OBJECTS = frozenset(
    {"the", "all", "these", "those", "them", "every", "each", "my", "our", "untagged", "it"}
)


def interpret(question: str, vocab: Vocabulary) -> Plan | Refusal:
    """Read a question into a plan, or a refusal saying why and what was understood."""
    reader = Reader(question, vocab)
    if not reader.words:
        return Refusal("The question has no words I can read.")
    outright = _refuse_outright(reader, vocab)
    if outright is not None:
        return outright
    stored = reader.take_any(STORED_TOPICS)
    periods = read_periods(reader, vocab)
    # names before keywords: "Amazon Simple Storage Service" is not the dimension "service"
    filters = _entities(reader, vocab)
    # "how many hours" asks for usage, not for a count
    early = reader.take_any({("how", "many", "hours"): "usage", ("how", "much", "usage"): "usage"})
    ops = set(reader.take_any(OPERATION_WORDS))
    # dimensions before measures: "usage type" is a dimension, "usage" alone a measure
    named = reader.take_any(
        {k: v for k, v in DIMENSION_WORDS.items() if _dimension_ok(v.rstrip("+"), vocab)}
    )
    measures = early + reader.take_any(MEASURE_WORDS)
    if any(d.endswith("+") for d in named):
        ops.add("list")
    dims = list(dict.fromkeys(d.rstrip("+") for d in named))
    # "the EC2 service", "project checkout": the dimension word only names the filter's kind
    kinds = {f"tag:{f.key}" if f.kind == "tag" else f.kind for f in filters}
    if "compare" not in ops:
        dims = [d for d in dims if d not in kinds]
    absent = [vocab.absent[w] for w in reader.words if w in vocab.absent]
    for i, word in enumerate(reader.words):
        if word in vocab.absent:
            reader.used[i] = True
    limit = _limit(reader)
    plan = Plan("total", measure=measures[0] if measures else "net", filters=filters)
    left = [w for w in reader.left() if not (stored and w in STORED_EXTRAS)]
    if left:
        return Refusal(
            f"I did not understand {', '.join(repr(w) for w in left[:4])}.", _partial(plan, dims)
        )
    if absent:
        return Refusal(
            f"This report's data has no spend on {absent[0]}: none of its line items name it.",
            kind="data",
        )
    if len(set(measures)) > 1:
        return Refusal("The question names more than one cost measure; ask for one at a time.")
    if stored:
        for i, word in enumerate(reader.words):
            reader.used[i] = reader.used[i] or word in STORED_EXTRAS
        if reader.left():
            return Refusal(
                f"I did not understand {', '.join(repr(w) for w in reader.left()[:4])}.",
                f"the stored query {stored[0]}",
            )
        if periods and stored[0] != "month_end_forecast":
            return Refusal(
                f"The stored query {stored[0]} covers the report window only; ask without "
                f"{periods[0].label}.",
                plan.understood(),
            )
        # a breakdown word ("which days ... on which service") is the stored query's own
        if filters:
            return Refusal(
                f"The stored query {stored[0]} covers the whole report window; it cannot be "
                "narrowed to " + ", ".join(describe(f) for f in filters) + ".",
                plan.understood(),
            )
        return Plan("stored", stored=stored[0])
    return _analytic(plan, ops, dims, periods, limit, vocab)


def _dimension_ok(dimension: str, vocab: Vocabulary) -> bool:
    return not dimension.startswith("tag:") or dimension[4:] in vocab.tag_keys


# One-word tag values that are also question words: a tag value `cost` or `total` must not
# turn "what was the total cost" into a tag filter.
_RESERVED = FILLER | {
    phrase[0]
    for table in (OPERATION_WORDS, MEASURE_WORDS, DIMENSION_WORDS, STORED_TOPICS)
    for phrase in table
    if len(phrase) == 1
}


def _entities(reader: Reader, vocab: Vocabulary) -> list[Entity]:
    phrases = sorted(vocab.entities, key=lambda item: len(item[0]), reverse=True)
    found: list[Entity] = []
    for phrase, entity in phrases:
        if entity.kind == "tag" and len(phrase) == 1 and phrase[0] in _RESERVED:
            continue
        while reader.take(phrase):
            if entity not in found:
                found.append(entity)
    return found


def _limit(reader: Reader) -> int | None:
    for i, word in enumerate(reader.words):
        if reader.used[i]:
            continue
        value = NUMBER_WORDS.get(word) or (int(word) if word.isdigit() and len(word) <= 2 else None)
        if value is not None and 1 <= value <= 50:
            reader.used[i] = True
            return value
    return None


def _partial(plan: Plan, dims: list[str]) -> str:
    plan.dimension = dims[0] if dims else None
    return plan.understood()


def _analytic(
    plan: Plan,
    ops: set[str],
    dims: list[str],
    periods: list[Period],
    limit: int | None,
    vocab: Vocabulary,
) -> Plan | Refusal:
    time_dims = [d for d in dims if d in ("day", "week", "month")]
    other_dims = [d for d in dims if d not in ("day", "week", "month")]
    if len(other_dims) > 1:
        return Refusal(
            "I break spend down by one dimension at a time; ask by "
            + " or by ".join(other_dims[:2])
            + ".",
            plan.understood(),
        )
    plan.dimension = other_dims[0] if other_dims else None
    growth = bool(ops & {"growth", "decline", "change", "change_week"})
    if "change_week" in ops:
        time_dims.append("week")
    if growth or ("compare" in ops and (len(periods) == 2 or "week" in time_dims)):
        return _growth(plan, ops, periods, time_dims, vocab)
    if "compare" in ops and len(plan.filters) > 1 and not plan.dimension:
        plan.dimension = plan.filters[0].kind if plan.filters[0].kind != "tag" else None
    if len(periods) > 1:
        return Refusal("The question names two periods but not a comparison.", plan.understood())
    plan.period = periods[0] if periods else window_period(vocab)
    if plan.period.end <= vocab.first_day or plan.period.start > vocab.report_last_day:
        return Refusal(
            f"The data holds usage from {vocab.first_day.isoformat()} to "
            f"{vocab.report_last_day.isoformat()}; {plan.period.label} is outside it.",
            plan.understood(),
            kind="data",
        )
    end = max(vocab.window_end, vocab.report_last_day + dt.timedelta(days=1))
    if plan.period.end > end:
        # a month still running: its days so far, said so in the sentence
        last = end - dt.timedelta(days=1)
        plan.period = Period(
            plan.period.start, end, f"{plan.period.label} to date (to {last.isoformat()})"
        )
    if "count" in ops:
        if not plan.dimension:
            return Refusal("Count what? Ask how many services, accounts or regions.", "")
        plan.operation = "count"
        return plan
    if "share" in ops:
        plan.operation = "share"
        plan.measure = "gross" if plan.measure == "net" else plan.measure
        if not plan.filters and not plan.dimension:
            return Refusal("A share of what? Name a service, account, region or tag value.", "")
        if len({(f.kind, f.key) for f in plan.filters}) > 1:
            # "what share of EC2 is on-demand" and "EC2's share in us-east-1" read two ways
            return Refusal(
                "I take shares of the whole bill for one kind of name at a time; ask e.g. "
                "what share of spend is EC2.",
                plan.understood(),
            )
        return plan
    if plan.measure == "usage":
        if plan.dimension or time_dims or ops & {"share", "top", "bottom", "average", "count"}:
            return Refusal(
                "Usage amounts add up only within one pricing unit; I report usage as totals "
                "per unit (ask e.g. how many hours EC2 used in November).",
                plan.understood(),
            )
        plan.operation = "usage"
        return plan
    if "average" in ops and (plan.dimension or ops & {"top", "bottom", "share"}):
        return Refusal(
            "I average spend per day only; ask for the average daily spend.", plan.understood()
        )
    if "average" in ops:
        plan.operation = "average"
        if plan.period.start < vocab.first_day:
            # days before the data starts are not days of zero spend
            plan.period = Period(
                vocab.first_day,
                plan.period.end,
                f"{plan.period.label} (data from {vocab.first_day.isoformat()})",
            )
        return plan
    if time_dims and not (ops & {"top", "bottom"}):
        plan.operation, plan.dimension = "series", time_dims[0]
        return plan
    if ops & {"top", "bottom"} and not (plan.dimension or time_dims) and plan.filters:
        ops = ops - {"top", "bottom"}  # "why is EC2 so expensive": what it cost
    if ops & {"top", "bottom"} or plan.dimension or time_dims:
        plan.operation = "top"
        plan.dimension = plan.dimension or (time_dims[0] if time_dims else None)
        if plan.dimension is None and not plan.filters:
            # "our biggest cost driver": services, the bill's own first breakdown (the sentence
            # names the services, so the reading is visible)
            plan.dimension = "service"
        if plan.dimension is None:
            return Refusal("The most of what? Ask by service, account, region or day.", "")
        plan.ascending = "bottom" in ops
        plan.limit = limit or (1 if ops & {"top", "bottom"} and "list" not in ops else 10)
        if plan.measure == "net":
            plan.measure = "gross"
        return plan
    if "average" in ops:
        plan.operation = "average"
        return plan
    if "total" in ops or plan.filters or periods or ops & {"spend"}:
        plan.operation = "total"
        return plan
    return Refusal("I could not tell what to compute.", plan.understood())


def _growth(
    plan: Plan, ops: set[str], periods: list[Period], time_dims: list[str], vocab: Vocabulary
) -> Plan | Refusal:
    plan.operation = "growth"
    plan.direction = "down" if "decline" in ops else ("up" if "growth" in ops else "any")
    weekly = "week" in time_dims and not periods
    if len(periods) == 2:
        earlier, later = sorted(periods, key=lambda p: p.start)
    elif len(periods) == 1 and periods[0].days >= 28:
        later = periods[0]
        earlier = month_period((later.start - dt.timedelta(days=1)).replace(day=1))
    elif not periods:
        complete = complete_weeks(vocab) if weekly else complete_months(vocab)
        if len(complete) < 2:
            unit = "weeks" if weekly else "months"
            return Refusal(
                f"The data holds fewer than two complete {unit} "
                f"({vocab.first_day.isoformat()} to {vocab.last_day.isoformat()}), so there is "
                "no complete-period growth to report.",
                plan.understood(),
                kind="data",
            )
        earlier, later = complete[-2], complete[-1]
    else:
        return Refusal("Growth needs two periods to compare.", plan.understood())
    for period in (later, earlier):
        if period.start < vocab.first_day or period.end > vocab.report_last_day + dt.timedelta(
            days=1
        ):
            return Refusal(
                f"{period.label} is not complete in the data (usage from "
                f"{vocab.first_day.isoformat()} to {vocab.last_day.isoformat()}); I compare "
                "complete periods only, so the figures are like for like.",
                plan.understood(),
                kind="data",
            )
    if earlier.days != later.days and earlier.days < 28:
        return Refusal("The two periods differ in length; compare two months or two weeks.")
    plan.earlier, plan.period = earlier, later
    if plan.measure == "net" and plan.dimension:
        plan.measure = "gross"
    return plan


def suggestions(question: str, vocab: Vocabulary, count: int = 3) -> list[str]:
    """The answerable questions closest in wording to `question`."""
    months = complete_months(vocab)
    last_month = months[-1].label.split()[0] if months else "last month"
    before = months[-2].label.split()[0] if len(months) > 1 else ""
    service = vocab.top_service or "EC2"
    candidates = [
        f"How much did {service} cost in {last_month}?",
        "Which services cost the most?",
        "Which account spends the most?",
        "Top 5 regions by cost",
        f"What share of spend is {service}?",
        f"Daily spend for {service} in {last_month}",
        "Which day had the highest spend?",
        "What is the total spend?",
        "Average daily spend this month",
        "How many accounts are there?",
        "Which gp2 volumes should move to gp3?",
        "Which NAT gateways need VPC endpoints?",
        "Which public IPs sit idle?",
        "Which instances are previous generation?",
        "How much cross-AZ data transfer do we pay for?",
        "What will this month cost by its end?",
        "How well are commitments covering usage?",
        "Which days had anomalies?",
        "Spend by owner",
    ]
    if before:
        candidates += [
            f"Which service grew most from {before} to {last_month}?",
            f"How did {last_month} compare with {before}?",
            "Which account decreased most month over month?",
        ]
    words = set(tokens(question))

    def score(candidate: str) -> float:
        theirs = set(tokens(candidate))
        overlap = len(words & theirs) / max(1, len(words | theirs))
        return (
            overlap
            + 0.5 * difflib.SequenceMatcher(None, question.lower(), candidate.lower()).ratio()
        )

    return sorted(candidates, key=score, reverse=True)[:count]
