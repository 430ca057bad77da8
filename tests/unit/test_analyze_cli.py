"""`finops analyze` rejects bad input with one line and exit 2, before any Prefect server starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from finops_agent.cli import app

runner = CliRunner()


@pytest.mark.hostile
@pytest.mark.parametrize(
    ("make", "args", "named"),
    [
        # a binary file passed as a CSV
        (lambda d: (d / "x.csv").write_bytes(bytes(range(256)) * 8), [], "x.csv: binary file"),
        # zero bytes
        (lambda d: (d / "x.csv").write_bytes(b""), [], "x.csv: file is empty"),
        # an unknown analysis type
        (
            lambda d: (d / "x.csv").write_text("service,cost\nEC2,1\n"),
            ["--type", "security"],
            "security",
        ),
        # a header without rows is found from the head of the file
        (lambda d: (d / "x.csv").write_text("service,cost\n"), [], "x.csv: header only"),
        # a column override that names no column
        (
            lambda d: (d / "x.csv").write_text("service,cost\nEC2,1\n"),
            ["--cost-col", "spend"],
            "--cost-col 'spend' is not a column",
        ),
        # an s3:// URI without a key
        (lambda d: None, ["s3://bucket-only"], "expected s3://bucket/key"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, make: object, args: list[str], named: str
) -> None:
    make(tmp_path)  # type: ignore[operator]
    files = [a for a in args if a.startswith("s3://")] or [str(tmp_path / "x.csv")]
    options = [a for a in args if not a.startswith("s3://")]
    result = runner.invoke(app, ["analyze", *files, *options, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert named in lines[0]
    assert not (tmp_path / "out").exists()
