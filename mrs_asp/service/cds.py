"""CDS Hooks for CRD: discovery, the order-sign / order-select services, feedback.

Discovery (``GET /cds-services``) is open, as CDS Hooks has it; every call of
a service and every feedback carries the EHR's JWT (``auth.py``), unless the
service was started with ``--no-auth``.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.params import PathParameter

from .openapi import CDS_HOOKS_JWT, documented
from .problems import NOT_FOUND, Problem

__all__ = ["ROUTES", "SERVICES", "require_token"]

_encode = msgspec.json.Encoder().encode

_PATIENT = "{{context.patientId}}"
#: What the services read (FHIR.md F2): the patient, the coverage, and the
#: resources that document conditions, devices and prior studies.
PREFETCH = {
    "patient": f"Patient/{_PATIENT}",
    "coverage": f"Coverage?patient={_PATIENT}&status=active",
    "conditions": f"Condition?patient={_PATIENT}",
    "devices": f"Device?patient={_PATIENT}",
    "procedures": f"Procedure?patient={_PATIENT}",
    "imagingStudies": f"ImagingStudy?patient={_PATIENT}",
    "reports": f"DiagnosticReport?patient={_PATIENT}",
}

SERVICES: dict[str, dict[str, Any]] = {
    f"mrs-asp-{hook}": {
        "hook": hook,
        "id": f"mrs-asp-{hook}",
        "title": "MR spectroscopy (CPT 76390) coverage requirements",
        "description": (
            "Coverage information for MR spectroscopy orders under the payer's guideline "
            "(version 2): whether the order is covered, needs prior authorization and "
            "documentation, and what would approve it."),
        "prefetch": PREFETCH,
    }
    for hook in ("order-sign", "order-select")
}


def require_token(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Litestar guard: the caller's JWT (auth.TokenVerifier), unless --no-auth."""
    verifier = connection.app.state.get("verifier")
    if verifier is None:  # --no-auth
        return
    audience = connection.app.state.config.service_url + connection.url.path
    connection.state.token = verifier.verify(connection.headers.get("authorization"),
                                             audience)


ServiceId = Annotated[str, PathParameter(description="A service id of discovery.")]


def _service(service_id: str) -> dict[str, Any]:
    service = SERVICES.get(service_id)
    if service is None:
        raise Problem(404, "Not Found", f"no CDS service {service_id!r}; the services are "
                      f"{', '.join(sorted(SERVICES))}", type=NOT_FOUND)
    return service


@get("/cds-services", tags=["cds-hooks"], summary="CDS Hooks discovery",
     description="The CRD services and their prefetch templates.")
async def discovery() -> Response:
    return Response(content=_encode({"services": list(SERVICES.values())}),
                    media_type="application/json")


_FEEDBACK_OUTCOMES = ("accepted", "overridden")


def _feedback_problem(pointer: str, message: str) -> Problem:
    return Problem(422, "Bad feedback", f"{pointer or '(whole document)'}: {message}",
                   type="urn:mrs-asp:problem:bad-feedback", pointer=pointer)


def check_feedback(body: bytes) -> None:
    """A CDS Hooks feedback body: ``{"feedback": [{"card", "outcome", ...}]}``."""
    try:
        doc = msgspec.json.decode(body)
    except msgspec.DecodeError:
        raise Problem(400, "Request body is not JSON", "(whole document): invalid JSON",
                      type="urn:mrs-asp:problem:invalid-json", pointer="") from None
    if not isinstance(doc, dict):
        raise _feedback_problem("", "expected a JSON object")
    items = doc.get("feedback")
    if not isinstance(items, list) or not items:
        raise _feedback_problem("/feedback", "expected a non-empty array")
    for i, item in enumerate(items):
        where = f"/feedback/{i}"
        if not isinstance(item, dict):
            raise _feedback_problem(where, "expected an object")
        if not isinstance(item.get("card"), str) or not item["card"]:
            raise _feedback_problem(f"{where}/card", "expected the card's uuid")
        if item.get("outcome") not in _FEEDBACK_OUTCOMES:
            raise _feedback_problem(f"{where}/outcome",
                                    "expected one of 'accepted', 'overridden'")
        if not isinstance(item.get("outcomeTimestamp"), str):
            raise _feedback_problem(f"{where}/outcomeTimestamp", "expected a date-time")


@post("/cds-services/{service_id:str}/feedback", status_code=200, tags=["cds-hooks"],
      summary="Feedback on a service's cards", guards=[require_token],
      security=[CDS_HOOKS_JWT],
      description="What the clinician did with the cards; recorded as received.",
      operation_class=documented(body={"application/json": {"type": "object"}},
                                 body_text="CDS Hooks feedback.",
                                 problems=(400, 401, 404, 413, 422)))
async def feedback(request: Request, service_id: ServiceId) -> Response:
    _service(service_id)
    body = await request.body()
    check_feedback(body)
    recorded = request.app.state.decider.log.record_feedback(service_id, body)
    return Response(content=_encode({"id": recorded}), media_type="application/json")


ROUTES = [discovery, feedback]
