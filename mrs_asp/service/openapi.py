"""The schemas of the OpenAPI document, taken from their single sources.

The case schema is ``mrs_asp.cases.case_json_schema()`` (generated from the
msgspec model), its ``$defs`` moved to ``components/schemas``. The request
bodies are read by the service itself (so a bad case gets the command line's
words), hence each body is declared here, through an ``Operation`` subclass,
instead of being inferred from a handler's parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.openapi.spec import (Components, OpenAPI, OpenAPIMediaType, OpenAPIResponse,
                                   Operation, RequestBody, SecurityScheme)

from ..cases import case_json_schema

__all__ = ["CDS_HOOKS_JWT", "complete", "components", "documented", "ref"]


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _relocate(node: Any) -> Any:
    """``#/$defs/X`` -> ``#/components/schemas/X``, everywhere."""
    if isinstance(node, dict):
        return {k: (v.replace("#/$defs/", "#/components/schemas/")
                    if k == "$ref" and isinstance(v, str) else _relocate(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_relocate(v) for v in node]
    return node


_PATCH_OP = {
    "type": "object", "description": "One RFC 6902 operation on the case.",
    "required": ["op", "path"],
    "properties": {"op": {"type": "string"}, "path": {"type": "string"}, "value": {}},
}
_NODE = {
    "type": "object",
    "description": "A node of the minimal explanation (SPEC section 3).",
    "required": ["criterion", "holds", "text", "evidence", "children"],
    "properties": {
        "criterion": {"type": "string"},
        "holds": {"type": "boolean"},
        "status": {"type": "string", "enum": ["met", "not_met", "not_documented"]},
        "text": {"type": "string", "description": "The guideline's words."},
        "evidence": {"type": "array", "items": {"type": "string"},
                     "description": "JSON Pointers into the input."},
        "children": {"type": "array", "items": ref("ExplanationNode")},
    },
}
_ANSWER = {
    "type": "object",
    "description": "The answer of SPEC section 5 for one case.",
    "required": ["id", "determination", "criteria", "non_indications", "advisories",
                 "explanation", "missing", "required"],
    "properties": {
        "id": {"type": "string"},
        "determination": {"type": "string", "enum": ["approved", "denied", "not_applicable"]},
        "criteria": {"type": "array", "items": {"type": "string"}},
        "non_indications": {"type": "array", "items": {"type": "string"}},
        "advisories": {"type": "array", "items": {"type": "string"}},
        "explanation": ref("ExplanationNode"),
        "missing": {"type": "array", "items": {
            "type": "object", "required": ["patch", "text"],
            "properties": {"patch": {"type": "array", "items": _PATCH_OP},
                           "text": {"type": "string"}}}},
        "required": {"type": "array", "items": _PATCH_OP},
        "why_nothing_missing": {"type": "array", "items": {"type": "object"}},
    },
}
_PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"},
        "status": {"type": "integer"}, "detail": {"type": "string"},
        "instance": {"type": "string"},
        "pointer": {"type": "string", "description": "JSON Pointer into the request body."},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}
_BATCH_ITEM = {
    "type": "object",
    "description": "One case of a batch: its decision and answer, or the problem in its place.",
    "properties": {"decision": {"type": "string"}, "answer": ref("Answer"),
                   "problem": ref("Problem")},
}


def components() -> Components:
    schema = case_json_schema()
    defs = schema.pop("$defs")
    schema.pop("$schema", None)
    schemas: dict[str, Any] = {name: _relocate(d) for name, d in defs.items()}
    schemas["Case"] = _relocate(schema)
    schemas["ExplanationNode"] = _NODE
    schemas["Answer"] = _ANSWER
    schemas["Problem"] = _PROBLEM
    schemas["BatchItem"] = _BATCH_ITEM
    return Components(schemas=schemas)  # type: ignore[arg-type]


PROBLEM_JSON = "application/problem+json"
#: The security scheme of the CDS Hooks calls (``security=[CDS_HOOKS_JWT]`` on a handler).
SECURITY = "cdsHooksJwt"
CDS_HOOKS_JWT = {SECURITY: []}


def problem_response() -> OpenAPIResponse:
    return OpenAPIResponse(description="Problem details (RFC 9457)",
                           content={PROBLEM_JSON: OpenAPIMediaType(
                               schema=ref("Problem"))})  # type: ignore[arg-type]


def complete(document: OpenAPI) -> None:
    """What Litestar cannot know, added to its built document: the schemas named by
    :func:`documented`, and problem details as the body of every error the
    framework itself answers (a bad parameter: 400; a body over the limit: 413)."""
    document.components.schemas.update(components().schemas or {})
    document.components.security_schemes = {
        SECURITY: SecurityScheme(type="http", scheme="bearer", bearer_format="JWT",
                                 description="The CDS Hooks JWT of an allow-listed EHR "
                                             "(aud: the exact URL called).")}
    for item in (document.paths or {}).values():
        for method in ("get", "put", "post", "delete", "patch"):
            operation = getattr(item, method, None)
            if operation is None:
                continue
            answers = operation.responses = dict(operation.responses or {})
            if "400" in answers or operation.parameters:
                answers["400"] = problem_response()
            if operation.request_body is not None:
                answers.setdefault("413", problem_response())


def documented(*, body: dict[str, dict[str, Any]] | None = None, body_text: str = "",
               responses: dict[int, tuple[str, dict[str, dict[str, Any]]]] | None = None,
               problems: tuple[int, ...] = ()) -> type[Operation]:
    """An Operation class declaring what a handler reads and answers itself.

    ``body`` and each response map media types to schemas; ``problems`` are the
    statuses answered with problem details."""

    @dataclass
    class _Documented(Operation):
        def __post_init__(self) -> None:
            if body is not None:
                self.request_body = RequestBody(
                    required=True, description=body_text,
                    content={media: OpenAPIMediaType(schema=schema)  # type: ignore[arg-type]
                             for media, schema in body.items()})
            answers: dict[str, Any] = dict(self.responses or {})
            for status, (text, content) in (responses or {}).items():
                answers[str(status)] = OpenAPIResponse(
                    description=text,
                    content={media: OpenAPIMediaType(schema=schema)  # type: ignore[arg-type]
                             for media, schema in content.items()})
            for status in problems:
                answers[str(status)] = problem_response()
            self.responses = answers

    return _Documented
