"""`python -m finops_agent.serve`: run the reports portal with uvicorn on the configured address."""

from __future__ import annotations

import sys

import uvicorn

from finops_agent.serve.app import PortalConfigError, create_app
from finops_agent.settings import load_settings


def main() -> int:
    """Serve settings.output_dir on FINOPS_PORTAL_HOST:FINOPS_PORTAL_PORT until stopped."""
    settings = load_settings()
    try:
        app = create_app(settings)
    except PortalConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(
        app,
        host=settings.portal_host,
        port=settings.portal_port,
        log_level="info",
        # the portal's own limits apply; these cap what a slow client can hold open
        timeout_keep_alive=5,
        limit_concurrency=64,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
