"""Local Prefect server with the UI plus every finops-agent deployment, served until Ctrl-C.

    python deployments/serve.py [--port 4200] [--home .prefect]

Starts `prefect server start` on 127.0.0.1 (project-local PREFECT_HOME), waits for
/api/health, then runs this script again with --serve-only, which registers the
deployments (schedules included) and executes their runs. SIGINT/SIGTERM stop the
runner first, then the server, each as a whole process group.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from finops_agent.prefect_env import configure_prefect
from finops_agent.settings import load_settings


def serve_deployments() -> None:
    """Register and serve the deployments against PREFECT_API_URL (the --serve-only child)."""
    configure_prefect()
    from prefect import serve

    from finops_agent.orchestration.deployments import build_deployments

    deployments = build_deployments(load_settings())
    serve(*deployments, print_starting_message=True)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the launcher or the runner."""
    settings = load_settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=settings.serve_port, help="UI/API port")
    parser.add_argument(
        "--home", type=Path, default=Path(".prefect"), help="PREFECT_HOME (database, logs, cache)"
    )
    parser.add_argument("--serve-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_only:
        serve_deployments()
        return 0
    from finops_agent.orchestration.launcher import run_launcher

    return run_launcher(args.home, args.port, Path(__file__).resolve())


if __name__ == "__main__":
    sys.exit(main())
