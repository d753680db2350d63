"""Running the service under uvicorn.

uvicorn handles SIGTERM and SIGINT gracefully: it stops accepting
connections, lets the requests in flight finish (up to ``GRACE`` seconds),
runs the application's shutdown hooks (``/readyz`` turns 503, the decision
log is closed) and exits 0.
"""

from __future__ import annotations

import ipaddress
import sys

import uvicorn

from .app import create_app
from .config import ServiceConfig

__all__ = ["GRACE", "run", "warnings_for"]

GRACE = 30  # seconds the requests in flight get to finish on SIGTERM


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def warnings_for(config: ServiceConfig) -> list[str]:
    """What the operator must hear when the service starts."""
    out = []
    if config.no_auth:
        out.append("WARNING: --no-auth: CDS Hooks calls are NOT authenticated; anyone who can "
                   "reach this port may call them. For local trials only.")
    elif config.issuers is None:
        out.append("note: no --issuers file: every CDS Hooks call will be refused (401) until "
                   "the EHRs allowed to call are configured.")
    if not _is_loopback(config.host):
        out.append(f"WARNING: listening on {config.host}, beyond this machine's loopback; "
                   "put TLS in front of it.")
        if config.public_url is None and not config.no_auth:
            out.append(f"note: no --public-url: CDS Hooks tokens must name {config.service_url} "
                       "plus the path as their aud; give the URL the EHRs call instead.")
    return out


def run(config: ServiceConfig, *, access_log: bool = True) -> None:
    """Serve until SIGTERM/SIGINT. Raises KnowledgeBaseError, StoreError or AuthConfigError
    (one line each) before binding the port, when the configuration is unusable."""
    app = create_app(config)
    for line in warnings_for(config):
        sys.stderr.write(f"mrs-asp serve: {line}\n")
    decider = app.state.decider
    sys.stderr.write(f"mrs-asp serve: {config.service_url} (guideline version "
                     f"{decider.guideline_version}, kb {decider.fingerprint[:12]}, "
                     f"decision log {config.db})\n")
    sys.stderr.flush()
    server = uvicorn.Server(uvicorn.Config(
        app, host=config.host, port=config.port, access_log=access_log,
        timeout_graceful_shutdown=GRACE, log_level="info", lifespan="on",
        # Reads the bodies itself with a limit; keep uvicorn's own defaults otherwise.
        server_header=False))
    server.run()
