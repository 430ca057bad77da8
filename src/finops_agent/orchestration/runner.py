"""The deployment runner: register every deployment against PREFECT_API_URL and run its flows.

Started by the launcher as `python -m finops_agent.orchestration.runner`, so it works from a
checkout and from the installed wheel alike.
"""

from __future__ import annotations

from finops_agent.prefect_env import configure_prefect
from finops_agent.settings import load_settings


def serve_deployments() -> None:
    """Build the deployments from settings and serve them until SIGTERM/SIGINT."""
    configure_prefect()
    from prefect import serve

    from finops_agent.orchestration.deployments import build_deployments

    serve(*build_deployments(load_settings()), print_starting_message=True)


if __name__ == "__main__":
    serve_deployments()
