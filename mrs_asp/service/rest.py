"""The plain JSON API: decisions, recorded decisions, the criteria, the case schema,
health.

A request body is read here, not by the framework, so that a bad case is
answered with the command line's pointer and words (``problems.case_problem``).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import Parameter, PathParameter

from ..cases import CaseError, LoadedCase, case_json_schema, parse_case
from ..pointers import pointer
from .decider import Decider
from .openapi import documented, ref
from .problems import BAD_CASE, BAD_JSON, NOT_FOUND, PROBLEM_JSON, Problem, case_problem, problem_body

__all__ = ["ROUTES", "JSONL_TYPES"]

_encode = msgspec.json.Encoder().encode
_raw_items = msgspec.json.Decoder(list[msgspec.Raw]).decode

JSON = "application/json"
#: A batch body in JSON Lines; the answer comes back in the same form.
JSONL = "application/x-ndjson"
JSONL_TYPES = (JSONL, "application/jsonl", "application/x-jsonlines", "application/jsonlines")

def _decider(request: Request) -> Decider:
    return request.app.state.decider


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None,
          media_type: str = JSON) -> Response:
    return Response(content=_encode(data), status_code=status, media_type=media_type,
                    headers=headers)


def _empty_body(what: str) -> Problem:
    return Problem(400, "Request body is empty", f"(whole document): empty body: expected {what}",
                   type=BAD_JSON, pointer="")


MissingParam = Annotated[bool, Parameter(
    description="false: skip computing what is missing for a denied case.")]


@post("/v1/decisions", status_code=201, tags=["decisions"], summary="Decide one case",
      description="Decides one case (SPEC section 1) and answers with the SPEC section 5 "
                  "answer (201). The decision is recorded before the answer is sent; "
                  "`Location` names the record. A FHIR input instead (FHIR.md F2: a PAS "
                  "request Bundle or a CDS Hooks order request) is answered 200 with one "
                  "item per requested service, as in a batch, the evidence pointing into "
                  "the FHIR input.",
      operation_class=documented(
          body={JSON: {"oneOf": [ref("Case"), {
              "type": "object", "required": ["resourceType"],
              "description": "A PAS request Bundle"}, {
              "type": "object", "required": ["hook", "hookInstance", "context"],
              "description": "A CDS Hooks order-sign / order-select request"}]}},
          body_text="One case, or one FHIR input.",
          responses={201: ("The answer (SPEC section 5)", {JSON: ref("Answer")}),
                     200: ("For a FHIR input: one item per requested service",
                           {JSON: {"type": "array", "items": ref("BatchItem")}})},
          problems=(400, 413, 422)))
async def post_decision(request: Request, missing: MissingParam = True) -> Response:
    body = await request.body()
    if not body.strip():
        raise _empty_body("a JSON object")
    try:
        loaded = parse_case(body, "body")
    except CaseError as err:
        from .fhir_api import read_fhir
        cases = read_fhir(body)  # a FHIR input (FHIR.md F2) rather than a case?
        if cases is None:
            raise case_problem(err) from None
        decided = await _decider(request).decide_and_record(
            "/v1/decisions", cases[0].fhir_kind if cases else "fhir",
            [(body, c) for c in cases], missing=missing)
        return _json([{"decision": d.decision_id, "answer": d.answer.to_json()}
                      for d in decided])
    [decided] = await _decider(request).decide_and_record(
        "/v1/decisions", "case", [(body, loaded)], missing=missing)
    return _json(decided.answer.to_json(), 201,
                 {"Location": f"/v1/decisions/{decided.decision_id}"})


def _batch_items(body: bytes) -> tuple[bool, list[tuple[bytes, str, str | None]]]:
    """(is a JSON array, [(case text, pointer prefix, where)]) of a batch body."""
    text = body.lstrip()
    if text[:1] == b"[":
        try:
            raws = _raw_items(body)
        except msgspec.ValidationError:
            raise Problem(422, "Bad batch", "(whole document): expected a JSON array of "
                          "cases", type=BAD_CASE, pointer="") from None
        except msgspec.DecodeError:  # not JSON: the command line's words for it
            from ..case_errors import json_error_message
            raise case_problem(CaseError("body", "", json_error_message(body))) from None
        return True, [(bytes(raw), pointer([i]), None) for i, raw in enumerate(raws)]
    if text[:3] == b"\xef\xbb\xbf":
        body = text[3:]
    items = [(line, "", f"line {n}") for n, line in enumerate(body.split(b"\n"), 1)
             if line.strip()]
    return False, items


@post("/v1/decisions:batch", status_code=200, tags=["decisions"], summary="Decide many cases",
      description="A JSON array of cases, or one case per line (JSON Lines), told apart by "
                  "the body's first character. Answers come in input order, in the same "
                  "form (a JSON array, or JSON Lines). A bad case is reported in its place "
                  "(`problem`, with its pointer into the body: `/3/imaging/0/date`, or "
                  "`line 4`), the others are decided and recorded.",
      operation_class=documented(
          body={JSON: {"type": "array", "items": ref("Case")},
                JSONL: {"type": "string", "description": "One case per line."}},
          body_text="Cases: a JSON array, or JSON Lines.",
          responses={200: ("One item per case, in order",
                           {JSON: {"type": "array", "items": ref("BatchItem")},
                            JSONL: {"type": "string"}})},
          problems=(400, 413, 422)))
async def post_batch(request: Request, missing: MissingParam = True) -> Response:
    body = await request.body()
    if not body.strip():
        raise _empty_body("a JSON array of cases or one case per line")
    is_array, items = _batch_items(body)
    out: list[dict[str, Any] | None] = [None] * len(items)
    good: list[tuple[int, bytes, LoadedCase]] = []
    seen: dict[str, str] = {}
    for index, (text, prefix, where) in enumerate(items):
        try:
            loaded = parse_case(text, "body")
        except CaseError as err:
            out[index] = {"problem": case_problem(err, prefix=prefix, where=where).body()}
            continue
        here = prefix or where or ""
        first = seen.get(loaded.case.id)
        if first is not None:
            err = CaseError("body", "/id", f"expected a unique id, got {loaded.case.id!r}, "
                                           f"already the id of {first}")
            out[index] = {"problem": case_problem(err, prefix=prefix, where=where).body()}
            continue
        seen[loaded.case.id] = here
        good.append((index, text, loaded))
    decided = await _decider(request).decide_and_record(
        "/v1/decisions:batch", "case", [(text, loaded) for _, text, loaded in good],
        missing=missing)
    for (index, _, _), d in zip(good, decided):
        out[index] = {"decision": d.decision_id, "answer": d.answer.to_json()}
    if is_array:
        return _json(out)
    return Response(content=b"".join(_encode(item) + b"\n" for item in out),
                    media_type=JSONL)


@get("/v1/decisions/{decision_id:str}", tags=["decisions"], summary="A recorded decision",
     description="The record of one decision: the input as received, the derived case, the "
                 "answer, the knowledge base's fingerprint, the guideline version, the time.",
     operation_class=documented(problems=(404,)))
async def get_decision(request: Request,
                       decision_id: Annotated[str, PathParameter(
                           description="The id `Location` gave.")]) -> Response:
    record = _decider(request).log.get(decision_id)
    if record is None:
        raise Problem(404, "Not Found", f"no recorded decision {decision_id!r}",
                      type=NOT_FOUND)
    return _json(record.to_json())


@get("/v1/decisions", tags=["decisions"], summary="Recent decisions",
     description="Summaries of the most recent recorded decisions, newest first.")
async def list_decisions(
        request: Request,
        limit: Annotated[int, Parameter(ge=1, le=1000, description="How many.")] = 50,
        case_id: Annotated[str | None, Parameter(description="Only this case id.")] = None,
        determination: Annotated[str | None, Parameter(description="Only this determination.")]
        = None) -> Response:
    records = _decider(request).log.list(limit=limit, case_id=case_id,
                                         determination=determination)
    return _json({"decisions": [r.summary() for r in records]})


@get("/v1/criteria", tags=["guideline"], summary="The guideline's criteria",
     description="Every criterion in the guideline's reading order: id, kind, the "
                 "guideline's words; inner nodes of the indication tree with `all`/`any` and "
                 "their parts.")
async def get_criteria(request: Request) -> Response:
    decider = _decider(request)
    kb = decider.kb
    criteria = []
    for c in sorted(kb.criteria.values(), key=lambda c: c.rank):
        item: dict[str, Any] = {"id": c.id, "kind": c.kind, "text": c.text}
        if c.id in kb.nodes:
            item["node"] = kb.nodes[c.id]
            item["parts"] = kb.parts.get(c.id, [])
        criteria.append(item)
    return _json({"guideline_version": decider.guideline_version,
                  "kb_fingerprint": decider.fingerprint, "criteria": criteria})


@get("/v1/schema", tags=["guideline"], summary="The case JSON Schema",
     description="The JSON Schema (draft 2020-12) of one case, as `mrs-asp schema` prints it.")
async def get_schema() -> Response:
    return _json(case_json_schema())


@get("/healthz", tags=["health"], summary="Liveness",
     description="200 while the process serves requests.")
async def healthz() -> Response:
    return _json({"status": "ok"})


@get("/readyz", tags=["health"], summary="Readiness",
     description="200 when the knowledge base is loaded and the decision log answers; "
                 "503 otherwise (and while shutting down).",
     operation_class=documented(problems=(503,)))
async def readyz(request: Request) -> Response:
    decider: Decider | None = getattr(request.app.state, "decider", None)
    state = request.app.state
    if decider is None or state.get("stopping") or not decider.log.ping():
        body = problem_body(503, "Service Unavailable",
                            "not ready: shutting down" if state.get("stopping")
                            else "not ready: the decision log does not answer")
        return Response(content=body, status_code=503, media_type=PROBLEM_JSON)
    return _json({"status": "ready", "kb_fingerprint": decider.fingerprint,
                  "guideline_version": decider.guideline_version})


@get("/openapi.json", include_in_schema=False, media_type="application/vnd.oai.openapi+json")
async def openapi_json(request: Request) -> Response:
    """The OpenAPI document (the interactive page is at /docs)."""
    return Response(content=request.app.openapi_schema.to_schema(),
                    media_type="application/vnd.oai.openapi+json")


ROUTES = [openapi_json, post_decision, post_batch, get_decision, list_decisions, get_criteria, get_schema,
          healthz, readyz]
