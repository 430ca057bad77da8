"""Time offline chat answers on the demo data (200k CUR 2.0 rows): `python benchmarks/chat_offline.py`.

Generates the data once under benchmarks/data/, runs the report (November plus December to
date), then asks each question twice in one session: the first question of a session also
opens the data and reads the report's names; the table reports that start and the answers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

from tests.support.reports import make_report

from finops_agent.chat.session import ChatSession
from finops_agent.sample_data import generate
from finops_agent.settings import load_settings

QUESTIONS = [
    "Which service grew most month over month?",
    "How did November compare with October?",
    "How much did EC2 cost in November?",
    "What share of spend is S3?",
    "Top 5 services",
    "Daily spend for Lambda last week",
    "gp2_volumes",
    "What will this month cost by its end?",
]


def main() -> None:
    """Generate (once), report, and time the answers; print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    data = Path(__file__).parent / "data" / f"chat-cur2-{args.rows}"
    if not (data / "ground_truth.json").is_file():
        generate("cur2", data, rows=args.rows, end=dt.date(2026, 12, 2))
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(output_dir=Path(tmp) / "reports", home=Path(tmp) / "home")
        report_id = make_report(settings, data / "data", window=("2026-11-01", "2026-12-02"))
        chat = ChatSession(settings, report_id, record=False)
        try:
            started = time.perf_counter()
            chat.data  # noqa: B018  # re-opens the source: the `cost` table of window + month before
            opened = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            chat.vocabulary  # noqa: B018  # the one names query
            named = (time.perf_counter() - started) * 1000
            print("| step | time |")
            print("|---|---|")
            print(f"| session start: open the data | {opened:,.0f} ms |")
            print(f"| session start: read the names (one query) | {named:,.0f} ms |")
            times = []
            for question in QUESTIONS:
                runs = []
                for _ in range(2):
                    started = time.perf_counter()
                    turn = chat.ask(question)
                    runs.append((time.perf_counter() - started) * 1000)
                times.append(min(runs))
                print(f"| {question} ({turn.mode}) | {min(runs):,.0f} ms |")
            print(f"| median answer | {statistics.median(times):,.0f} ms |")
            print(f"| slowest answer | {max(times):,.0f} ms |")
        finally:
            chat.close()


if __name__ == "__main__":
    main()
