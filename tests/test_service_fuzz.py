"""Property-based fuzzing of every endpoint against the service's own OpenAPI
document (schemathesis): valid and invalid bodies, parameters and paths; no
answer may be a 5xx, and every answer must match what the document declares."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import schemathesis
from schemathesis.checks import (allow_header_conformance, ignored_auth,
                                 negative_data_rejection, positive_data_acceptance)
from hypothesis import HealthCheck, settings

from mrs_asp.service.app import create_app
from mrs_asp.service.config import ServiceConfig

_DB = Path(tempfile.mkdtemp(prefix="mrs-asp-fuzz-")) / "decisions.sqlite3"
# --no-auth: the bodies of the CDS Hooks calls are fuzzed too (auth has its own tests).
APP = create_app(ServiceConfig(db=_DB, body_limit=64 * 1024, no_auth=True))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schemathesis.serializer("application/x-ndjson")
def _json_lines(ctx, value) -> bytes:
    """The batch's JSON Lines body is declared a string; anything else (negative
    data) goes as one JSON value per line."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    items = value if isinstance(value, list) else [value]
    return "\n".join(json.dumps(item, default=str) for item in items).encode()


@schema.parametrize()
@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_success_no_endpoint_answers_5xx(case) -> None:
    # Excluded: Litestar answers OPTIONS on a path served by two handlers (GET and
    # POST /v1/decisions) with the methods of one of them only; and a case can be
    # valid by the schema yet bad input (a study dated after the request: JSON
    # Schema cannot compare two fields), which is rightly a 422.
    # A batch answers 200 with a bad case's problem in its place, by design.
    # And the service runs --no-auth here, so the CDS Hooks calls' documented
    # security is not enforced (tests/test_service_auth.py covers it).
    excluded = [allow_header_conformance, positive_data_acceptance, ignored_auth]
    if case.operation.path == "/v1/decisions:batch":
        excluded.append(negative_data_rejection)
    case.call_and_validate(excluded_checks=excluded)
