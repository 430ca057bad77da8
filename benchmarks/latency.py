"""`make bench` (latency part): small work answers fast.

For each command, measured side by side in one run on the same input:
- the command's wall time in a fresh process (`finops analyze`, `finops report`, `finops ask`),
  with no Prefect server configured, so it runs in-process as a user's ad-hoc command does;
- the plain pipeline on the same input inside an already warm process (imports done);
- the interpreter's start-up plus the imports the command needs, in a fresh process.
Targets are ratios (the machine is shared and noisy): a command within 1.5x the plain pipeline
plus its imports (analyze, report), and a chat answer within 2x the plain answer plus start-up.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MARKER = "<!-- latency -->"
# a question every report offers among its suggested prompts, so offline chat answers it
QUESTION = "Which days had unusual spend, and on which service?"

# the plain pipeline, timed inside one process after its imports
_PLAIN = """
import json, sys, time
from pathlib import Path
kind, source, out = sys.argv[1], sys.argv[2], sys.argv[3]
if kind == "analyze":
    from finops_agent.runs.analyze import analyze_files
    started = time.perf_counter()
    analyze_files([source], "auto", out)
elif kind == "report":
    from finops_agent.runs.report import ReportRequest, build_report
    started = time.perf_counter()
    build_report(ReportRequest(source=source, output_dir=out))
else:
    from finops_agent.chat.session import ChatSession
    from finops_agent.settings import load_settings
    started = time.perf_counter()
    session = ChatSession(load_settings(output_dir=out), source, record=False)
    turn = session.ask(sys.argv[4])
    session.close()
print(json.dumps({"seconds": time.perf_counter() - started}))
"""
_IMPORTS = {
    "analyze": "import finops_agent.cli, finops_agent.runs.analyze",
    "report": "import finops_agent.cli, finops_agent.runs.report",
    "ask": "import finops_agent.cli, finops_agent.chat.session, finops_agent.chat.data",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PYTHONPATH=str(ROOT / "src"),
        PREFECT_HOME=str(home / "prefect"),
        FINOPS_HOME=str(home / "finops"),
        # nothing listens there: the commands run in-process, as without `finops serve`
        FINOPS_SERVE_PORT=str(_free_port()),
        DO_NOT_TRACK="1",
    )
    return env


def _wall(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=env, timeout=900)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{argv[:5]} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return seconds, done.stdout


def _median(runs: int, measure: Any) -> float:
    return statistics.median(measure() for _ in range(runs))


def _small_csv(path: Path) -> Path:
    lines = ["usage_date,service,cost"]
    services = ["AmazonEC2", "AmazonS3", "AmazonRDS", "AWSLambda", "AmazonCloudFront"]
    for day in range(10):
        for index, service in enumerate(services):
            lines.append(f"2026-10-{day + 1:02d},{service},{(index + 1) * 12.5 + day:.2f}")
    path.write_text("\n".join(lines) + "\n")
    return path


def measure(runs: int, rows: int) -> list[dict[str, Any]]:
    """Wall time of each command, its plain pipeline and its imports; medians of `runs`."""
    sys.path.insert(0, str(ROOT / "src"))
    from finops_agent.sample_data import generate

    work = Path(tempfile.mkdtemp(prefix="finops-latency-"))
    env = _env(work)
    csv = _small_csv(work / "results.csv")
    demo = work / "demo"
    generate("cur2", demo, rows=rows, months=3, seed=7)
    data = str(demo / "data")
    out = work / "reports"
    python = sys.executable
    finops = [python, "-m", "finops_agent"]
    report_path = Path(
        _wall([*finops, "report", "--source", data, "--out", str(out)], env)[1]
        .strip()
        .splitlines()[-1]
    )
    report_id = report_path.parent.name
    commands = {
        "analyze": ([*finops, "analyze", str(csv), "--out", str(out)], [str(csv), str(out)]),
        "report": ([*finops, "report", "--source", data, "--out", str(out)], [data, str(out)]),
        "ask": (
            [*finops, "ask", report_id, QUESTION, "--out", str(out)],
            [report_id, str(out), QUESTION],
        ),
    }
    rows_out = []
    for name, (cli, plain_args) in commands.items():
        plain_argv = [python, "-c", _PLAIN, name, *plain_args]
        imports_argv = [python, "-c", _IMPORTS[name]]
        cli_s = _median(runs, lambda argv=cli: _wall(argv, env)[0])
        plain_s = _median(
            runs,
            lambda argv=plain_argv: json.loads(_wall(argv, env)[1].splitlines()[-1])["seconds"],
        )
        imports_s = _median(runs, lambda argv=imports_argv: _wall(argv, env)[0])
        factor = 2.0 if name == "ask" else 1.5
        bound = factor * plain_s + imports_s
        rows_out.append(
            {
                "command": f"finops {name}",
                "input": "50-row CSV" if name == "analyze" else f"{rows:,}-row CUR 2.0 demo",
                "cli_s": cli_s,
                "plain_s": plain_s,
                "imports_s": imports_s,
                "target": f"<= {factor:g} x plain + imports = {bound:.2f} s",
                "met": cli_s <= bound,
            }
        )
    return rows_out


def table(rows: list[dict[str, Any]], runs: int) -> str:
    """The markdown table recorded in benchmarks/README.md."""
    lines = [
        f"Medians of {runs} runs, same machine, same run. 'plain' is the pipeline inside a warm",
        "process; 'imports' is a fresh interpreter importing what the command uses.",
        "",
        "| command | input | CLI wall | plain | start-up + imports | ratio CLI / plain | target | met |",
        "|---|---|---:|---:|---:|---:|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| `{row['command']}` | {row['input']} | {row['cli_s']:.2f} s | {row['plain_s']:.2f} s "
            f"| {row['imports_s']:.2f} s | {row['cli_s'] / row['plain_s']:.2f} | {row['target']} "
            f"| {'yes' if row['met'] else 'NO'} |"
        )
    return "\n".join(lines)


def record(text: str) -> None:
    """Replace the latency table between the markers in benchmarks/README.md."""
    readme = HERE / "README.md"
    current = readme.read_text(encoding="utf-8")
    start = current.index(MARKER)
    end = current.index(MARKER, start + len(MARKER))
    readme.write_text(current[: start + len(MARKER)] + "\n" + text + "\n" + current[end:])


def main() -> None:
    """Measure, print, and record the table unless --no-record."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    text = table(measure(args.runs, args.rows), args.runs)
    print(text)
    if not args.no_record:
        record(text)


if __name__ == "__main__":
    main()
