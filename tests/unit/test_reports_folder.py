"""The reports folder: id checks, the index written under its lock, and `finops list`."""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import re
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from finops_agent.report.render import write_index
from finops_agent.reports.document import (
    FindingRecord,
    Metrics,
    ReportDocument,
    ReportDocumentError,
    ReportKind,
    ReportWindow,
)
from finops_agent.reports.folder import (
    InvalidReportIdError,
    ReportEntry,
    ReportFolder,
    ReportNotFoundError,
    check_report_id,
    latest_report_id,
    list_reports,
    new_report_id,
)
from finops_agent.reports.folder import write_index as write_index_with

pytestmark = pytest.mark.timeout(120)
_BAD_ID = r"invalid report id .*: use the id printed by `finops report`"


@pytest.mark.hostile
@pytest.mark.parametrize(
    "report_id",
    [
        "a/b",  # a path separator
        "/etc/passwd",  # an absolute path
        "..",  # the parent folder
        "x..y",  # a dot-dot anywhere
        "ok\x00.json",  # NUL ends the name early in C
        "",
    ],
)
def test_ids_that_are_not_one_plain_name_are_rejected(tmp_path: Path, report_id: str) -> None:
    with pytest.raises(InvalidReportIdError, match=_BAD_ID):
        check_report_id(report_id)
    with pytest.raises(InvalidReportIdError, match=_BAD_ID):
        ReportFolder.open(tmp_path, report_id)


@pytest.mark.hostile
def test_a_report_folder_symlinked_out_of_the_reports_folder_is_rejected(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "report.json").write_text('{"report_id": "evil"}')
    (tmp_path / "reports").mkdir()
    os.symlink(outside, tmp_path / "reports" / "evil")
    root = (tmp_path / "reports").resolve()
    with pytest.raises(InvalidReportIdError, match=f"^report 'evil' resolves outside {root}$"):
        ReportFolder.open(tmp_path / "reports", "evil")
    with pytest.raises(ReportNotFoundError, match=r"no report 'gone' in .*report\.json missing"):
        ReportFolder.open(tmp_path / "reports", "gone")
    # listed as unreadable, so neither `finops list` nor the index follows it
    (entry,) = list_reports(tmp_path / "reports")
    assert (entry.report_id, entry.document) == ("evil", None)
    assert (
        entry.problem == f"{tmp_path / 'reports' / 'evil'} resolves outside {tmp_path / 'reports'}"
    )


def test_new_ids_sort_by_time_and_pass_the_check() -> None:
    early = new_report_id(dt.datetime(2026, 11, 24, 9, 30, tzinfo=dt.UTC))
    late = new_report_id(dt.datetime(2026, 11, 24, 9, 31, tzinfo=dt.UTC))
    assert re.fullmatch(r"20261124T093000Z-[0-9a-f]{6}", early)
    assert check_report_id(early) == early and early < late


def test_a_folder_holding_another_reports_json_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, "r1", "report", "2026-11-01T06:00:00+00:00")
    (tmp_path / "r2").mkdir()
    (tmp_path / "r2" / "report.json").write_text((tmp_path / "r1" / "report.json").read_text())
    with pytest.raises(ReportDocumentError, match="holds report 'r1', not 'r2'"):
        ReportFolder.open(tmp_path, "r2").read()


def _write(
    out: Path,
    report_id: str,
    kind: ReportKind,
    generated_at: str,
    *,
    start: dt.date = dt.date(2026, 10, 1),
    total: float = 100.0,
    change: float | None = None,
    savings: tuple[float, ...] = (),
    html: bool = True,
) -> None:
    findings = [
        FindingRecord(
            id=f"f{i}",
            family="cost",
            query="q",
            title=f"finding {i}",
            evidence="e",
            monthly_savings_usd=amount,
            action="act",
        )
        for i, amount in enumerate(savings)
    ]
    document = ReportDocument(
        report_id=report_id,
        kind=kind,
        generated_at=generated_at,
        window=ReportWindow(start=start, end=dt.date(2026, 11, 1)),
        metrics=Metrics(
            unblended_cost=total,
            change_pct=change,
            findings=len(findings),
            monthly_savings_usd=sum(savings),
        ),
        findings=findings,
    )
    folder = ReportFolder.create(out, report_id)
    folder.write(document)
    if html:
        folder.write_text("report.html", "<html></html>")


def _two_reports_and_a_broken_one(out: Path) -> None:
    _write(
        out,
        "20261101T060000Z-d1d1d1",
        "digest",
        "2026-11-01T06:00:00+00:00",
        start=dt.date(2026, 10, 2),
        total=1234.5,
        change=4.25,
        savings=(40.0, 20.0),
    )
    _write(
        out,
        "20261103T070000Z-f0f0f0",
        "report",
        "2026-11-03T07:00:00+00:00",
        total=-12.0,
        change=None,
        savings=(),
    )
    # a run still writing (or killed mid-write): report.json is there, report.html not yet
    _write(out, "20261102T120000Z-0a0a0a", "report", "2026-11-02T12:00:00+00:00", html=False)
    broken = out / "20261102T000000Z-bad000"
    broken.mkdir()
    (broken / "report.json").write_text('{"report_id": ')


def test_finops_list_prints_each_report_newest_first_and_says_which_are_unreadable(
    tmp_path: Path,
) -> None:
    from finops_agent.cli import app

    out = tmp_path / "reports"
    _two_reports_and_a_broken_one(out)
    env = {"FINOPS_HOME": str(tmp_path / "home")}
    result = CliRunner().invoke(app, ["list", "--out", str(out)], env=env)
    assert result.exit_code == 0, result.output
    rows = [re.split(r"\s{2,}", line) for line in result.stdout.splitlines()]
    assert rows == [
        ["id", "window", "kind", "total", "change", "findings", "savings/month"],
        [
            "20261103T070000Z-f0f0f0",
            "2026-10",
            "report",
            "-$12.00",
            "n/a",
            "0",
            "$0.00",
        ],
        [
            "20261102T120000Z-0a0a0a",
            "2026-10",
            "report",
            "$100.00",
            "n/a",
            "0",
            "$0.00",
            "(report.html missing: still being written, or its run was stopped)",
        ],
        [
            "20261102T000000Z-bad000",
            f"unreadable: {out / '20261102T000000Z-bad000' / 'report.json'} is not valid JSON: "
            "Expecting value: line 1 column 15 (char 14)",
        ],
        [
            "20261101T060000Z-d1d1d1",
            "2026-10-02 to 2026-10-31",
            "digest",
            "$1,234.50",
            "+4.2%",
            "2",
            "$60.00",
        ],
    ]


def test_finops_list_with_a_bad_setting_is_one_line_and_exit_2(tmp_path: Path) -> None:
    from finops_agent.cli import app

    env = {"FINOPS_HOME": str(tmp_path / "home"), "FINOPS_INSIGHTS": "bedrok"}
    result = CliRunner().invoke(app, ["list", "--out", str(tmp_path)], env=env)
    assert result.exit_code == 2, result.output
    assert result.stderr == "error: FINOPS_INSIGHTS: 'bedrok' is not one of rules, bedrock\n"


def test_the_index_shows_the_same_columns_and_links_readable_reports(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    _two_reports_and_a_broken_one(out)
    html = write_index(out).read_text()
    header = re.findall(r'<th scope="col"[^>]*>([^<]*)</th>', html)
    assert header == ["id", "window", "kind", "total", "change", "findings", "savings/month"]
    cells = [
        re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.DOTALL)
        for row in re.findall(r"<tr>(.*?)</tr>", html, flags=re.DOTALL)[1:]
    ]
    assert cells[0] == [
        '<a href="20261103T070000Z-f0f0f0/report.html">20261103T070000Z-f0f0f0</a>',
        "2026-10",
        "report",
        "-$12.00",
        "n/a",
        "0",
        "$0.00",
    ]
    # the report still being written is not linked before it is complete
    assert "0a0a0a" not in html
    assert cells[1][0] == "20261102T000000Z-bad000"
    assert cells[1][1].startswith("unreadable: ") and "is not valid JSON" in cells[1][1]
    assert cells[2][1:] == [
        "2026-10-02 to 2026-10-31",
        "digest",
        "$1,234.50",
        "+4.2%",
        "2",
        "$60.00",
    ]


def test_the_index_links_the_served_reports_when_a_portal_is_configured(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    _two_reports_and_a_broken_one(out)
    html = write_index(out, "https://finops.example.org").read_text()
    links = re.findall(r'<a href="([^"]*)">', html)
    assert links == [
        "https://finops.example.org/r/20261103T070000Z-f0f0f0/",
        "https://finops.example.org/r/20261101T060000Z-d1d1d1/",
    ]


def test_index_writers_take_turns_under_the_lock(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    out.mkdir()
    start = threading.Barrier(2, timeout=30)
    calling = {"r1": threading.Event(), "r2": threading.Event()}
    inside = 0
    most_inside = 0
    guard = threading.Lock()
    seen: list[list[str]] = []
    contested: list[bool] = []

    def render(reports: list[ReportEntry]) -> str:
        nonlocal inside, most_inside
        with guard:
            inside += 1
            most_inside = max(most_inside, inside)
        if not contested:
            # the first writer inside waits until the other has called in, so the two overlap
            other = "r2" if threading.current_thread().name == "r1" else "r1"
            contested.append(calling[other].wait(timeout=20))
            # and the lock file is held against any other opener meanwhile
            with (out / ".index.lock").open("w") as probe:
                try:
                    fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    contested.append(False)
                except BlockingIOError:
                    contested.append(True)
            # long enough for the other writer to get in, if the lock let it
            time.sleep(0.3)
        with guard:
            inside -= 1
            seen.append([r.report_id for r in reports])
        return "<html>" + " ".join(r.report_id for r in reports) + "</html>"

    def writer(report_id: str, generated_at: str) -> None:
        _write(out, report_id, "report", generated_at)
        start.wait()
        calling[report_id].set()
        write_index_with(out, render)

    threads = [
        threading.Thread(target=writer, args=(rid, at), name=rid)
        for rid, at in (("r1", "2026-11-01T06:00:00+00:00"), ("r2", "2026-11-02T06:00:00+00:00"))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert contested == [True, True], "the writers did not contend for the index lock"
    assert most_inside == 1 and len(seen) == 2
    # both reports existed before either writer listed: the last index written has both
    assert (out / "index.html").read_text() == "<html>r2 r1</html>"


def test_the_latest_report_is_the_newest_complete_one(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    with pytest.raises(ReportNotFoundError, match=r"no report in .* yet: run a report first"):
        latest_report_id(out)
    _two_reports_and_a_broken_one(out)
    # the newest folder is still being written (no report.html) and one is broken: skipped
    _write(out, "20261104T000000Z-aaaaaa", "report", "2026-11-04T00:00:00+00:00", html=False)
    assert latest_report_id(out) == "20261103T070000Z-f0f0f0"
