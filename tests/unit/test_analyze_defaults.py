"""What an analysis given no files reads: FINOPS_SOURCE's data files, else the demo's data."""

from __future__ import annotations

from pathlib import Path

import pytest

from finops_agent.result_files.load import AnalyzeError
from finops_agent.runs import analyze
from finops_agent.settings import load_settings


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x", encoding="utf-8")
    return path


def test_a_folder_source_gives_its_data_files_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = _touch(tmp_path / "data" / "billing_period=2026-11" / "part-0.parquet")
    a = _touch(tmp_path / "data" / "billing_period=2026-10" / "part-0.parquet")
    c = _touch(tmp_path / "data" / "extra.csv.gz")
    _touch(tmp_path / "data" / "manifest.json")
    monkeypatch.setenv("FINOPS_SOURCE", str(tmp_path / "data"))
    paths, notice = analyze.default_paths(load_settings())
    assert paths == [str(a), str(b), str(c)]
    assert notice == f"No files were given, so this analyses FINOPS_SOURCE ({tmp_path / 'data'})."


def test_a_file_or_glob_source_gives_what_it_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = _touch(tmp_path / "one.csv")
    two = _touch(tmp_path / "two.csv")
    monkeypatch.setenv("FINOPS_SOURCE", str(one))
    assert analyze.default_paths(load_settings())[0] == [str(one)]
    monkeypatch.setenv("FINOPS_SOURCE", str(tmp_path / "*.csv"))
    assert analyze.default_paths(load_settings())[0] == [str(one), str(two)]


def test_a_source_without_data_files_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _touch(tmp_path / "data" / "readme.txt")
    monkeypatch.setenv("FINOPS_SOURCE", str(tmp_path / "data"))
    with pytest.raises(AnalyzeError, match=r"holds no \.parquet or \.csv file to analyse"):
        analyze.default_paths(load_settings())


def test_no_source_analyses_the_demo_data_and_says_it_is_not_the_bill(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import finops_agent.sample_data.demo as demo

    data = tmp_path / "demo" / "data"
    part = _touch(data / "billing_period=2026-10" / "part-00000.parquet")
    monkeypatch.delenv("FINOPS_SOURCE", raising=False)
    monkeypatch.setattr(demo, "demo_source", lambda settings: (data, False))
    paths, notice = analyze.default_paths(load_settings())
    assert paths == [str(part)]
    assert notice == (
        f"No files were given and no FINOPS_SOURCE is configured, so this analyses generated "
        f"demo data in {data}, not your bill."
    )
