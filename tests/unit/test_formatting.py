"""Money and percentages read the same everywhere: no -$0.00, no percentage of nothing."""

from __future__ import annotations

import math

import pytest

from finops_agent.formatting import (
    change_pct,
    money,
    number,
    pct,
    percent_of,
    share_pct,
    signed_pct,
    usd,
)
from finops_agent.insights.grounding import figures


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (1234567.891, "USD", "$1,234,567.89"),  # thousands separators, to the cent
        (0.0, "USD", "$0.00"),  # zero
        (-0.0, "USD", "$0.00"),  # negative zero from a float sum
        (-0.004, "USD", "$0.00"),  # rounds to zero: never -$0.00
        (0.004, "USD", "$0.00"),  # rounds to zero from above
        (-0.006, "USD", "-$0.01"),  # rounds to a cent: keeps its sign
        (-12.3, "USD", "-$12.30"),  # negatives put the sign before the symbol
        (1e9, "USD", "$1,000,000,000.00"),  # large amounts stay exact
        (1234.56, "EUR", "€1,234.56"),  # a currency with a symbol
        (-5.0, "GBP", "-£5.00"),  # negative with another symbol
        (1234.56, "JPY", "1,234.56 JPY"),  # a currency without a symbol here: its code after
        (-1234.56, "jpy", "-1,234.56 JPY"),  # codes are case-insensitive, sign first
        (-0.001, "JPY", "0.00 JPY"),  # no negative zero in a code currency either
        (None, "USD", "n/a"),  # missing
        (math.nan, "USD", "n/a"),  # not a number
        (math.inf, "USD", "n/a"),  # not an amount
    ],
)
def test_money_is_to_the_cent_with_its_currency(
    amount: float | None, currency: str, text: str
) -> None:
    assert money(amount, currency) == text


def test_usd_is_money_in_dollars() -> None:
    assert (usd(-0.004), usd(12.5), usd(-12.5)) == ("$0.00", "$12.50", "-$12.50")


def test_a_currency_that_is_not_a_code_is_named() -> None:
    with pytest.raises(ValueError, match="currency 'dollars' is not a three-letter ISO 4217 code"):
        money(1.0, "dollars")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1234.5, "1,234.50"),  # thousands separator, two decimals
        (-0.001, "0.00"),  # no -0.00
        (-3.456, "-3.46"),  # negatives keep their sign
        (None, "n/a"),  # missing
    ],
)
def test_plain_numbers(value: float | None, text: str) -> None:
    assert number(value) == text


@pytest.mark.parametrize(
    ("part", "base", "expected"),
    [
        (25.0, 200.0, 12.5),  # an ordinary share
        (-25.0, -200.0, 12.5),  # both negative (credits of credits): same sign, computed
        (10.0, 0.0, None),  # zero base
        (10.0, 0.009, None),  # base under a cent
        (10.0, -0.004, None),  # the -$0.00 bill netted by credits: never -250000%
        (10.0, -100.0, None),  # part and base of different signs
        (0.0, -100.0, 0.0),  # nothing of anything is 0%
        (300.0, 100.0, 300.0),  # percent_of may exceed 100
    ],
)
def test_percent_of_refuses_a_base_near_zero_or_of_the_other_sign(
    part: float, base: float, expected: float | None
) -> None:
    assert percent_of(part, base) == expected


@pytest.mark.parametrize(
    ("part", "whole", "expected"),
    [
        (1.0, 4.0, 25.0),  # a quarter
        (4.0, 4.0, 100.0),  # the whole
        (0.0, 4.0, 0.0),  # none of it
        (5.0, 4.0, None),  # more than the whole (the rest was credits): not a share
        (-1.0, 4.0, None),  # a credit is no share of spend
        (1.0, 0.0, None),  # nothing to share
    ],
)
def test_shares_stay_between_0_and_100(part: float, whole: float, expected: float | None) -> None:
    assert share_pct(part, whole) == expected


@pytest.mark.parametrize(
    ("current", "previous", "expected"),
    [
        (107.5, 100.0, 7.5),  # growth
        (96.8, 100.0, -3.2),  # decline
        (50.0, 0.0, None),  # nothing before: no percentage
        (50.0, 0.004, None),  # less than a cent before
        (-50.0, -100.0, None),  # a credit before: a change against it means nothing
    ],
)
def test_change_needs_a_positive_previous_amount(
    current: float, previous: float, expected: float | None
) -> None:
    result = change_pct(current, previous)
    assert result == (pytest.approx(expected) if expected is not None else None)


@pytest.mark.parametrize(
    ("value", "plain", "signed"),
    [
        (7.5, "7.5%", "+7.5%"),  # growth
        (-3.2, "-3.2%", "-3.2%"),  # decline
        (0.0, "0.0%", "0.0%"),  # no change
        (-0.04, "0.0%", "0.0%"),  # rounds to zero: no -0.0% and no +0.0%
        (0.04, "0.0%", "0.0%"),  # rounds to zero from above
        (12.345, "12.3%", "+12.3%"),  # one decimal
        (100.0, "100.0%", "+100.0%"),  # a doubling
        (None, "n/a", "n/a"),  # not computed
        (math.nan, "n/a", "n/a"),  # not a number
    ],
)
def test_percentages_print_signed_changes_and_plain_shares(
    value: float | None, plain: str, signed: str
) -> None:
    assert (pct(value), signed_pct(value)) == (plain, signed)


def test_quantities_that_are_not_money_may_lower_the_threshold() -> None:
    # 1 of 4 thousandths of a GB is a quarter; against the default cent it is not computed
    assert percent_of(0.001, 0.004) is None
    assert percent_of(0.001, 0.004, min_base=1e-9) == 25.0
    assert share_pct(0.001, 0.004, min_base=1e-9) == 25.0
    assert change_pct(0.006, 0.004, min_base=1e-9) == pytest.approx(50.0)


def test_percentages_to_whole_numbers() -> None:
    assert (pct(49.6, 0), pct(-0.4, 0)) == ("50%", "0%")


@pytest.mark.parametrize(
    ("amount", "currency", "value"),
    [
        (1234.5, "USD", 1234.5),
        (-12.3, "USD", 12.3),  # grounding compares magnitudes
        (-0.004, "USD", 0.0),
        (1234.56, "EUR", 1234.56),
        (99.0, "GBP", 99.0),
        (1234.56, "JPY", 1234.56),
    ],
)
def test_grounding_reads_every_amount_the_formatter_writes(
    amount: float, currency: str, value: float
) -> None:
    text = f"Spend was {money(amount, currency)} in the window."
    (figure,) = figures(text)
    assert (figure.text, figure.kind, figure.value) == (
        money(amount, currency).lstrip("-"),
        "usd",
        value,
    )


def test_grounding_does_not_read_service_names_as_currencies() -> None:
    assert figures("12 RDS instances and 3 EC2 hosts cost $5 USD.")[0].text == "$5"
    assert len(figures("12 RDS instances and 3 EC2 hosts cost $5 USD.")) == 1
