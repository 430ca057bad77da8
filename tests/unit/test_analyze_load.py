"""Bad and awkward result files: each is read correctly or rejected with its name and problem."""

from __future__ import annotations

import codecs
import gzip
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from finops_agent.analyze.dataset import open_workspace
from finops_agent.result_files.load import AnalyzeError, inspect_file


def _total(path: Path) -> tuple[float, str | None, dict[str, str]]:
    workspace = open_workspace([str(path)])
    try:
        dataset = workspace.datasets[0]
        profile = dataset.profile
        labels = {
            str(r[0]): str(r[1])
            for r in workspace.con.execute(
                f'select "{profile.group}", any_value("{profile.cost}") from results group by 1'
            ).fetchall()
        }
        return float(dataset.totals[profile.cost or ""] or 0.0), profile.group, labels
    finally:
        workspace.close()


# name -> (bytes of the file, expected total cost)
_READABLE: dict[str, tuple[bytes, float]] = {
    # Excel in Europe writes ';' with decimal commas
    "semicolon and decimal comma": (
        b"service;cost\nEC2;1.234,50\nS3;12,25\n",
        1246.75,
    ),
    "tab separated": (b"service\tcost\nEC2\t10.5\nS3\t2\n", 12.5),
    # a quoted comma and a quoted newline inside a value
    "quoted commas and newlines": (
        b'service,cost\n"EC2, Linux","10"\n"S3\nStandard","5.5"\n',
        15.5,
    ),
    "UTF-8 with BOM": (codecs.BOM_UTF8 + "service,cost\nCafé,3\nS3,4\n".encode(), 7.0),
    "Latin-1": ("service,cost\nCafé,3\nSão Paulo,4\n".encode("latin-1"), 7.0),
    # currency strings, thousands separators and accounting negatives
    "currency strings": (
        b'service,cost\nEC2,"$1,234.50"\nS3,"$12.00"\nCredit,"($100.00)"\nRDS,"USD 3.50"\n',
        1150.0,
    ),
    "gzip-compressed CSV": (gzip.compress(b"service,cost\nEC2,1.5\nS3,2.5\n"), 4.0),
}


@pytest.mark.parametrize("case", list(_READABLE))
def test_awkward_files_are_read_with_the_right_totals(tmp_path: Path, case: str) -> None:
    content, expected = _READABLE[case]
    path = tmp_path / ("result.csv.gz" if content.startswith(b"\x1f\x8b") else "result.csv")
    path.write_bytes(content)
    total, group, _ = _total(path)
    assert total == pytest.approx(expected)
    assert group == "service"


def test_accented_names_survive_latin_1_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("service,cost\nCafé,3\n".encode("latin-1"))
    assert inspect_file(path).encoding == "latin-1"
    assert _total(path)[2] == {"Café": "3"}
    bom = tmp_path / "bom.csv"
    bom.write_bytes(codecs.BOM_UTF8 + "service,cost\nCafé,3\n".encode())
    assert _total(bom)[2] == {"Café": "3"}


def test_latin_1_byte_after_the_sniffed_sample_is_retried(tmp_path: Path) -> None:
    # 900 KB of ASCII (past the sniffer and the detection head), then one Latin-1 byte:
    # the full pass fails late and the retry as Latin-1 reads it
    path = tmp_path / "late.csv"
    body = b"service,cost\n" + b"EC2,1\n" * 150_000 + "Café,2\n".encode("latin-1")
    path.write_bytes(body)
    assert inspect_file(path).encoding == "utf-8"
    total, _, labels = _total(path)
    assert total == pytest.approx(150_002)
    assert "Café" in labels


def _write(content: bytes) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / "result.csv"
        path.write_bytes(content)
        return path

    return make


# name -> (how to make the file, words the error must contain)
_REJECTED: dict[str, tuple[Callable[[Path], Path], str]] = {
    "empty file": (_write(b""), "file is empty (0 bytes)"),
    "only whitespace": (_write(b"\n \n"), "only whitespace"),
    "header only": (_write(b"service,cost\n"), "header only, no data rows"),
    "no numeric column": (
        _write(b"service,region\nEC2,us-east-1\nS3,eu-west-1\n"),
        "no numeric column to total",
    ),
    "binary file": (_write(bytes(range(256)) * 40), "binary file"),
    "UTF-16": (_write("service,cost\nEC2,1\n".encode("utf-16")), "UTF-16"),
    "row with too many fields": (
        _write(b"service,cost\nEC2,1\nS3,2,3,4\n" + b"RDS,1\n" * 10),
        "cannot read",
    ),
    "missing file": (lambda folder: folder / "nope.csv", "no such file"),
    "a folder": (lambda folder: folder, "is a folder"),
}


@pytest.mark.hostile
@pytest.mark.parametrize("case", list(_REJECTED))
def test_bad_files_are_rejected_naming_file_and_problem(tmp_path: Path, case: str) -> None:
    make, problem = _REJECTED[case]
    path = make(tmp_path)
    with pytest.raises(AnalyzeError, match=re.escape(path.name)) as caught:
        open_workspace([str(path)])
    message = str(caught.value)
    assert path.name in message
    assert problem in message
    assert "\n" not in message.strip()


def test_no_files_at_all_is_an_error() -> None:
    with pytest.raises(AnalyzeError, match="no files given"):
        open_workspace([])


def test_parquet_results_are_read_with_their_types(tmp_path: Path) -> None:
    import duckdb

    path = tmp_path / "result.parquet"
    duckdb.sql(
        "copy (select * from (values (date '2026-10-01', 'EC2', 10.5), (date '2026-10-02', 'S3', 2.0)) "
        f"t(usage_date, service, cost)) to '{path}' (format parquet)"
    )
    assert inspect_file(path).format == "parquet"
    workspace = open_workspace([str(path)])
    try:
        profile = workspace.datasets[0].profile
        assert (profile.cost, profile.group, profile.date) == ("cost", "service", "usage_date")
        assert workspace.datasets[0].totals["cost"] == pytest.approx(12.5)
    finally:
        workspace.close()


@pytest.mark.hostile
def test_hostile_names_and_values_stay_inert(tmp_path: Path) -> None:
    from finops_agent.analyze.file_rules import FileRuleInsights
    from finops_agent.analyze.run import analyse_workspace, file_insights, render
    from finops_agent.settings import load_settings

    # a quote in the file name, quotes and markup in column names and values
    path = tmp_path / "o'brien.csv"
    path.write_text(
        'service<script>alert(1)</script>,"co""st",tag\'s\n'
        '"<img src=x onerror=alert(2)>",5,x\'y\n'
        "EC2,7,'; drop table results; --\n"
    )
    workspace = open_workspace([str(path)])
    try:
        summary = analyse_workspace(workspace, "auto", load_settings())
        insights = file_insights(FileRuleInsights(), summary)
        html = render(tmp_path / "out", workspace, summary, insights).read_text(encoding="utf-8")
        assert workspace.datasets[0].profile.cost == 'co"st'
        assert summary.metrics.unblended_cost == pytest.approx(12.0)
    finally:
        workspace.close()
    assert "<script>alert(1)" not in html
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
