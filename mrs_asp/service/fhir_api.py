"""The Da Vinci endpoints: CRD (the CDS Hooks services), PAS ``Claim/$submit``,
DTR ``Questionnaire/$questionnaire-package``, and the questionnaire itself.

Reading FHIR into cases and writing answers back as FHIR is ``mrs_asp.fhir``'s
business (FHIR.md F1-F6); these handlers only call it, decide, and record.

Choices the contract left open, made here:

- A CDS Hooks call that is a well-formed request but cannot be answered (its
  FHIR is bad input, say two sources that disagree, or deciding fails) is
  answered 200 with coverage information ``indeterminate``, reason
  ``technical`` and the one-line error as its text (``fhir.write.crd_technical``):
  the EHR shows why, the clinician is not blocked, nothing is a 500. A body
  that is not JSON or not a CDS Hooks request of the service's hook is a
  client error (400/422 problem details): there is no order to attach to.
- PAS and DTR bad input is 422 problem details with the pointer into the FHIR
  input, like every other client error of the service.
- DTR: an ``order`` parameter (a ServiceRequest) is decided as a CRD
  ``order-select`` of that order with the call's other resources as prefetch;
  a denied order with something missing gets the questionnaire of what is
  missing, any other order (and a call without order) the guideline's
  questionnaire.
"""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import Parameter

from .. import fhir
from ..answer import Answer
from ..case_errors import CaseError, json_error_message
from ..loading import case_from_data
from ..fhir.read import read_bytes
from ..fhir.write import crd_technical
from .cds import ServiceId, _service, require_token
from .decider import Decided, Decider
from .openapi import CDS_HOOKS_JWT, documented
from .problems import BAD_CASE, NOT_FOUND, Problem, case_line, case_problem

__all__ = ["ROUTES", "read_fhir"]

_log = logging.getLogger("mrs_asp.service")
_encode = msgspec.json.Encoder().encode
FHIR_JSON = "application/fhir+json"
JSON = "application/json"


def _decider(request: Request) -> Decider:
    return request.app.state.decider


def _base(request: Request) -> str:
    return request.app.state.config.fhir_base


def _kb(request: Request):
    return request.app.state.config.kb


def _document(body: bytes) -> Any:
    """The body as JSON data; a 400 problem with the command line's words if it is not."""
    if not body.strip():
        raise case_problem(CaseError("body", "", "empty body: expected a JSON object"))
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise case_problem(CaseError("body", "", json_error_message(body))) from None


def read_fhir(body: bytes) -> list[fhir.FhirCase] | None:
    """The cases of a FHIR input (FHIR.md F2) in ``body``; None when the body is not
    a FHIR input at all; a 422 :class:`Problem` with the pointer when it is bad."""
    try:
        return read_bytes(body, "body")
    except CaseError as err:
        raise case_problem(err) from None


def _fhir(content: Any, status: int = 200) -> Response:
    return Response(content=_encode(content), status_code=status, media_type=FHIR_JSON)


def _wrong_kind(doc: Any, expected: str) -> Problem:
    got = fhir.kind_of(doc)
    what = {"pas": "a PAS request Bundle", "crd": "a CDS Hooks request"}
    detail = f"expected {what[expected]}, got {what[got] if got else 'something else'}"
    return Problem(422, "Bad FHIR input", f"(whole document): {detail}", type=BAD_CASE,
                   pointer="")


# --------------------------------------------------------------------------
# CRD: the CDS Hooks services


@post("/cds-services/{service_id:str}", status_code=200, tags=["cds-hooks"],
      summary="CRD: coverage information for draft orders", guards=[require_token],
      security=[CDS_HOOKS_JWT],
      description="A CDS Hooks order-sign or order-select request (FHIR.md F2) -> cards "
                  "and the coverage information systemActions of FHIR.md F6. An order that "
                  "cannot be decided gets coverage information `indeterminate`, reason "
                  "`technical`.",
      operation_class=documented(
          body={JSON: {"type": "object", "description": "A CDS Hooks request."}},
          body_text="A CDS Hooks request with context.draftOrders and prefetch.",
          responses={200: ("Cards and systemActions", {JSON: {"type": "object"}})},
          problems=(400, 401, 404, 413, 422)))
async def call_service(request: Request, service_id: ServiceId) -> Response:
    service = _service(service_id)
    body = await request.body()
    doc = _document(body)
    if fhir.kind_of(doc) != "crd":
        raise _wrong_kind(doc, "crd")
    if doc.get("hook") != service["hook"]:
        raise Problem(422, "Bad CDS Hooks request",
                      f"/hook: expected {service['hook']!r} (service {service_id}), "
                      f"got {doc.get('hook')!r}", type=BAD_CASE, pointer="/hook")
    try:
        cases = fhir.read(doc, "body")
        decided = await _decider(request).decide_and_record(
            request.url.path, "crd", [(body, c) for c in cases])
        answer = fhir.crd_response(doc, cases, [d.answer for d in decided],
                                   base=_base(request), kb=_kb(request))
    except CaseError as err:  # bad FHIR: said in the coverage information
        answer = crd_technical(doc, case_line(err))
    except Exception:  # never a 500 for a CDS Hooks call
        _log.exception("CDS Hooks call %s could not be decided", service_id)
        answer = crd_technical(doc, "the payer's service failed to decide this order; "
                                    "the error is logged")
    return Response(content=_encode(answer), media_type=JSON)


# --------------------------------------------------------------------------
# PAS


@post("/fhir/Claim/$submit", status_code=200, tags=["fhir"],
      summary="PAS: submit a prior-authorization request",
      description="A PAS request Bundle (its first entry a Claim with use "
                  "`preauthorization`) -> the PAS response Bundle of FHIR.md F6. Every "
                  "item is decided and recorded.",
      operation_class=documented(
          body={FHIR_JSON: {"type": "object"}, JSON: {"type": "object"}},
          body_text="A PAS request Bundle.",
          responses={200: ("The PAS response Bundle", {FHIR_JSON: {"type": "object"}})},
          problems=(400, 413, 422)))
async def pas_submit(request: Request) -> Response:
    body = await request.body()
    doc = _document(body)
    if fhir.kind_of(doc) != "pas":
        raise _wrong_kind(doc, "pas")
    try:
        cases = fhir.read(doc, "body")
    except CaseError as err:
        raise case_problem(err) from None
    decided = await _decider(request).decide_and_record(
        request.url.path, "pas", [(body, c) for c in cases])
    return _fhir(fhir.pas_response(doc, cases, [d.answer for d in decided],
                                   base=_base(request), kb=_kb(request)))


# --------------------------------------------------------------------------
# DTR and the questionnaire


def _parameter_resources(doc: dict) -> tuple[list[dict], list[dict]]:
    """(orders, other resources) of a $questionnaire-package Parameters resource."""
    if doc.get("resourceType") != "Parameters":
        raise Problem(422, "Bad FHIR input", "/resourceType: expected 'Parameters'",
                      type=BAD_CASE, pointer="/resourceType")
    orders, others = [], []
    for i, parameter in enumerate(doc.get("parameter") or []):
        resource = parameter.get("resource") if isinstance(parameter, dict) else None
        if resource is None:
            continue
        if not isinstance(resource, dict) or "resourceType" not in resource:
            raise Problem(422, "Bad FHIR input", f"/parameter/{i}/resource: expected a "
                          "FHIR resource", type=BAD_CASE, pointer=f"/parameter/{i}/resource")
        (orders if parameter.get("name") == "order" else others).append(resource)
    return orders, others


def _package(questionnaires: list[dict]) -> dict:
    """The $questionnaire-package output: one PackageBundle per questionnaire."""
    return {"resourceType": "Parameters", "parameter": [
        {"name": "PackageBundle", "resource": {
            "resourceType": "Bundle", "type": "collection",
            "entry": [{"fullUrl": q["url"], "resource": q}]}}
        for q in questionnaires]}


@post("/fhir/Questionnaire/$questionnaire-package", status_code=200, tags=["fhir"],
      summary="DTR: the questionnaire package",
      description="A Parameters resource (coverage, order...) -> Parameters with one "
                  "PackageBundle per questionnaire: for a denied order with something "
                  "missing, the questionnaire of what is missing; otherwise the "
                  "guideline's questionnaire (FHIR.md F1).",
      operation_class=documented(
          body={FHIR_JSON: {"type": "object"}, JSON: {"type": "object"}},
          body_text="The operation's Parameters.",
          responses={200: ("Parameters with PackageBundles", {FHIR_JSON: {"type": "object"}})},
          problems=(400, 413, 422)))
async def questionnaire_package(request: Request) -> Response:
    body = await request.body()
    doc = _document(body)
    if not isinstance(doc, dict):
        raise Problem(422, "Bad FHIR input", "(whole document): expected a Parameters "
                      "resource", type=BAD_CASE, pointer="")
    orders, others = _parameter_resources(doc)
    base, kb = _base(request), _kb(request)
    if not orders:
        return _fhir(_package([fhir.questionnaire(base=base, kb=kb)]))
    patient = next((r.get("id") for r in others if r.get("resourceType") == "Patient"), None)
    crd = {"hook": "order-select", "hookInstance": str(uuid.uuid4()),
           "context": {"patientId": patient,
                       "draftOrders": {"resourceType": "Bundle", "type": "collection",
                                       "entry": [{"resource": o} for o in orders]}},
           "prefetch": {"resources": {"resourceType": "Bundle", "type": "collection",
                                      "entry": [{"resource": r} for r in others]}}}
    try:
        cases = fhir.read(crd, "body")
    except CaseError as err:  # pointers into the request as the reader saw it
        raise Problem(422, "Bad FHIR input", case_line(err), type=BAD_CASE) from None
    decided = await _decider(request).decide_and_record(
        request.url.path, "dtr", [(body, c) for c in cases])
    return _fhir(_package([_questionnaire_of(c, d, base, kb) for c, d in zip(cases, decided)]))


def _questionnaire_of(case: Any, decided: Decided, base: str, kb: Any) -> dict:
    answer = decided.answer
    if answer.determination == "denied" and answer.missing:
        return fhir.questionnaire(case=case, answer=answer, base=base, kb=kb)
    return fhir.questionnaire(base=base, kb=kb)


_ANSWER_FIELDS = ("id", "determination", "criteria", "non_indications", "advisories",
                  "explanation", "missing", "required", "why_nothing_missing")


@get("/v1/questionnaire", tags=["guideline"], summary="The DTR questionnaire",
     description="The guideline's Questionnaire (FHIR.md F1); with `decision`, the "
                 "questionnaire of what is missing for that recorded decision.",
     media_type=FHIR_JSON, operation_class=documented(problems=(404, 422)))
async def get_questionnaire(
        request: Request,
        decision: Annotated[str | None, Parameter(
            description="A recorded decision's id.")] = None) -> Response:
    base, kb = _base(request), _kb(request)
    if decision is None:
        return _fhir(fhir.questionnaire(base=base, kb=kb))
    record = _decider(request).log.get(decision)
    if record is None:
        raise Problem(404, "Not Found", f"no recorded decision {decision!r}", type=NOT_FOUND)
    data = record.to_json()
    recorded = data["answer"]
    answer = Answer(**{k: recorded[k] for k in _ANSWER_FIELDS if k in recorded})
    if answer.determination != "denied" or not answer.missing:
        raise Problem(422, "Nothing is missing",
                      f"decision {decision!r} is {answer.determination}"
                      + ("" if answer.determination != "denied" else
                         " and no documentation can approve it")
                      + ": there is no questionnaire of what is missing", type=BAD_CASE)
    case = case_from_data(data["case"], "record")
    return _fhir(fhir.questionnaire(case=case, answer=answer, base=base, kb=kb))


ROUTES = [call_service, pas_submit, questionnaire_package, get_questionnaire]
