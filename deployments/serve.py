"""Local Prefect server with the UI plus every finops-agent deployment, served until Ctrl-C.

    python deployments/serve.py [--port 4200] [--home .prefect]      (or: make serve)

Starts `prefect server start` on 127.0.0.1 (project-local PREFECT_HOME), waits for
/api/health, then starts the deployment runner (finops_agent.orchestration.runner), which
registers the deployments with their schedules and executes their runs. SIGINT/SIGTERM stop
the runner first, then the server, each as a whole process group.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from finops_agent.orchestration.launcher import run_launcher
from finops_agent.settings import load_settings


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and run server and runner until a signal arrives."""
    parser = argparse.ArgumentParser(description="Local Prefect server, UI and deployments.")
    parser.add_argument(
        "--port",
        type=int,
        default=load_settings().serve_port,
        help="UI/API port (FINOPS_SERVE_PORT)",
    )
    parser.add_argument(
        "--home", type=Path, default=Path(".prefect"), help="PREFECT_HOME: database, logs, cache"
    )
    args = parser.parse_args(argv)
    return run_launcher(args.home, args.port)


if __name__ == "__main__":
    sys.exit(main())
