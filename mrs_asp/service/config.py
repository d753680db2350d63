"""What ``mrs-asp serve`` is told: one value object, built by the CLI or by tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEFAULT_BODY_LIMIT", "ServiceConfig"]

DEFAULT_BODY_LIMIT = 1024 * 1024  # 1 MiB


@dataclass(frozen=True)
class ServiceConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    kb: Path | None = None  # None: the shipped kb/
    db: Path = Path("mrs-asp-decisions.sqlite3")
    durability: str = "full"  # "full" or "normal" (see store.py)
    body_limit: int = DEFAULT_BODY_LIMIT
    # CDS Hooks authentication: a JSON file mapping each allowed issuer to its
    # JSON Web Key Set (see auth.py). None with no_auth False: every CDS Hooks
    # call is refused (nobody is trusted until configured).
    issuers: Path | None = None
    no_auth: bool = False
    # The URL clients call this service by: a token's `aud` must be this URL plus
    # the path called. Default: http://{host}:{port}.
    public_url: str | None = None
    # The canonical base of generated FHIR resources (FHIR.md F1 `--base`).
    fhir_base: str = "http://example.org/mrs-asp"
    # The case library of the pages (pages.library_dir): None = ./cases or the checkout's.
    cases: Path | None = None

    @property
    def service_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"
