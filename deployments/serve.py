"""Local Prefect server with the UI, the reports portal and every deployment, until Ctrl-C.

    python deployments/serve.py [--port 4200] [--portal-port 4201] [--home .prefect]
    (or: make serve)

Starts `prefect server start` on 127.0.0.1 (project-local PREFECT_HOME), waits for
/api/health, starts the reports portal (finops_agent.serve, FINOPS_PORTAL_PORT) and the
deployment runner (finops_agent.orchestration.runner), which registers the deployments with
their schedules and executes their runs. SIGINT/SIGTERM stop the runner and the portal first,
then the server, each as a whole process group.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from finops_agent.orchestration.launcher import run_launcher
from finops_agent.settings import load_settings


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and run server, portal and runner until a signal arrives."""
    parser = argparse.ArgumentParser(description="Local Prefect server, UI and deployments.")
    parser.add_argument(
        "--port",
        type=int,
        default=load_settings().serve_port,
        help="UI/API port (FINOPS_SERVE_PORT)",
    )
    parser.add_argument(
        "--portal-port",
        type=int,
        default=None,
        help="reports portal port (FINOPS_PORTAL_PORT)",
    )
    parser.add_argument(
        "--home", type=Path, default=Path(".prefect"), help="PREFECT_HOME: database, logs, cache"
    )
    args = parser.parse_args(argv)
    settings = load_settings(portal_port=args.portal_port)
    return run_launcher(args.home, args.port, settings=settings)


if __name__ == "__main__":
    sys.exit(main())
