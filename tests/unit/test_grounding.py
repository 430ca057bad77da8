"""Grounding: model figures are matched to the data within 1% or their written precision."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from finops_agent.insights.base import Ungrounded
from finops_agent.insights.grounding import Evidence, check_text, figures
from finops_agent.report.render import markdown_html

# what the model was shown: a total, a saving, a change in percent, a row with a share
CONTEXT = {
    "totals": {"unblended_cost_usd": 1234.0, "rows": 5000},
    "queries": {
        "gp2_volumes": {"monthly_savings_usd": 245.5, "top_rows": [{"resource_id": "vol-1"}]},
        "month_over_month_by_service": {
            "top_rows": [{"service_name": "Amazon S3", "change_pct": 12.34, "share": 0.375}]
        },
        "note": {"evidence": "largest: vol-9 at $87.20/month"},
    },
}
EVIDENCE = Evidence.from_context(CONTEXT, totals=[1234.0])


@pytest.mark.parametrize(
    "text",
    [
        "$1,234",  # exact, with thousands separator
        "$1234.00",  # exact, other formatting
        "$1.2k",  # rounded to a tenth of a thousand
        "$1.23 thousand",  # spelled-out multiplier
        "USD 1,240",  # within 1%
        "$245.50",  # the saving
        "$2,946",  # a year of the $245.50 monthly saving
        "12%",  # rounded percentage
        "12.3 percent",  # spelled out
        "37.5%",  # a fraction in the data shown as a percentage
        "19.9%",  # 245.5 / 1234 as a share of the total
        "$87.20",  # a figure inside a text value of the context
        "-$245.5",  # sign does not matter
    ],
)
def test_figures_supported_by_the_data_are_grounded(text: str) -> None:
    assert check_text(f"We saw {text} in the window.", EVIDENCE) == []


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("Spend was $1,300 last month.", "$1,300"),  # 5% off
        ("Savings of $9.9k are possible.", "$9.9k"),  # invented
        ("S3 grew 45% this month.", "45%"),  # no such percentage
        ("That is $2 million a year.", "$2 million"),
    ],
)
def test_invented_figures_are_flagged_with_their_sentence(text: str, number: str) -> None:
    (flag,) = check_text("Intro sentence here. " + text + " Closing words.", EVIDENCE, "chat")
    assert flag == Ungrounded(number=number, sentence=text, where="chat")


def test_plain_numbers_dates_and_ids_are_not_figures() -> None:
    assert figures("On 2026-10-01, 5000 rows in account 123456789012 and m5.large") == []


def test_precision_written_is_respected() -> None:
    # "$1k" admits anything that rounds to it; "$1,000.00" does not admit $1,234
    assert check_text("$1k", EVIDENCE) == []
    assert [u.number for u in check_text("$1,000.00", EVIDENCE)] == ["$1,000.00"]


def test_flagged_figures_are_marked_after_sanitising() -> None:
    html = str(
        markdown_html(
            "Spend **$1,300** and <mark>$1,234</mark> <script>x</script> \ue000fake\ue001",
            flag=[Ungrounded(number="$1,300", sentence="")],
        )
    )
    assert (
        '<strong><mark class="ungrounded" title="not found in the report data">$1,300</mark>'
        in html
    )
    # the model cannot smuggle its own marks or markup: only our one mark is live
    assert html.count("<mark") == 1 and "&lt;mark&gt;$1,234" in html
    assert "<script>" not in html and "\ue000" not in html


@given(st.floats(min_value=0.01, max_value=1e9, allow_nan=False))
def test_any_amount_written_from_the_data_is_grounded_and_5pct_off_is_not(value: float) -> None:
    evidence = Evidence([value])
    for written in (f"${value:,.2f}", f"${value:.0f}", f"{value:.1f}%"):
        assert check_text(written, evidence) == [], written
    off = value * 1.05 + 1
    assume(abs(off - 12 * value) > 0.02 * off)  # a year of the value is grounded on purpose
    assert [u.number for u in check_text(f"${off:,.2f}", evidence)] == [f"${off:,.2f}"]


def test_digits_inside_ids_are_not_evidence() -> None:
    # a report id's clock time once "supported" an invented $123,456.78
    evidence = Evidence.from_context({"report_id": "20261124T122442Z-ab12cd", "id": "i-0abc123456"})
    assert [u.number for u in check_text("$123,456.78 and $123,456", evidence)] == [
        "$123,456.78",
        "$123,456",
    ]
