"""RFC 9457 problem details: the body of every error response.

A bad case is answered with the same pointer and the same words as the
command line's one-line message (``/imaging/1/date: expected a date on or
before the request date 2026-03-02, got 2026-04-01``): ``detail`` holds that
line, ``pointer`` the JSON Pointer into the request body, ``errors`` the
same as a list (RFC 9457 section 3's extension members).
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from ..cases import CaseError
from .store import StoreError

__all__ = ["PROBLEM_JSON", "Problem", "case_problem", "exception_handlers", "problem_body"]

PROBLEM_JSON = "application/problem+json"
_log = logging.getLogger("mrs_asp.service")

#: Problem types (RFC 9457 section 3.1.1), as URNs: stable names, nothing to fetch.
BAD_CASE = "urn:mrs-asp:problem:bad-case"
BAD_JSON = "urn:mrs-asp:problem:invalid-json"
BAD_TOKEN = "urn:mrs-asp:problem:unauthorized"
NOT_FOUND = "urn:mrs-asp:problem:not-found"


class Problem(Exception):
    """An error a client caused, answered as problem+json."""

    def __init__(self, status: int, title: str, detail: str, *, type: str = "about:blank",
                 pointer: str | None = None, headers: dict[str, str] | None = None,
                 **extensions: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type
        self.pointer = pointer
        self.headers = headers or {}
        self.extensions = extensions

    def body(self, instance: str | None = None) -> dict[str, Any]:
        return problem_body(self.status, self.title, self.detail, type=self.type,
                            instance=instance, pointer=self.pointer, **self.extensions)


def problem_body(status: int, title: str, detail: str, *, type: str = "about:blank",
                 instance: str | None = None, pointer: str | None = None,
                 **extensions: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": type, "title": title, "status": status, "detail": detail}
    if instance is not None:
        body["instance"] = instance
    if pointer is not None:
        body["pointer"] = pointer
        body.setdefault("errors", [{"pointer": pointer, "detail": detail}])
    body.update(extensions)
    return body


def case_line(error: CaseError, where: str | None = None) -> str:
    """The command line's words for a bad case, without the file name (the body
    is the file), prefixed by ``where`` (``line 3``) when given."""
    text = f"{error.pointer or '(whole document)'}: {error.message}"
    return f"{where}: {text}" if where else text


def case_problem(error: CaseError, *, prefix: str = "", where: str | None = None) -> Problem:
    """A bad case as a problem: 400 when the body is not JSON at all, else 422.
    ``prefix`` is the pointer of the case inside the body (``/3`` in a batch)."""
    pointer = prefix + error.pointer
    not_json = error.message.startswith(("invalid JSON", "empty"))
    shown = CaseError(error.file, pointer, error.message)
    return Problem(400 if not_json else 422,
                   "Request body is not JSON" if not_json else "Bad case",
                   case_line(shown, where), type=BAD_JSON if not_json else BAD_CASE,
                   pointer=pointer)


def _response(body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(content=body, status_code=body["status"], media_type=PROBLEM_JSON,
                    headers=headers)


def _on_problem(request: Request, exc: Problem) -> Response:
    return _response(exc.body(request.url.path), exc.headers)


def _on_http_exception(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    detail = exc.detail or title
    extensions: dict[str, Any] = {}
    if isinstance(exc, ValidationException) and exc.extra:
        # Litestar's own parameter checks (a query parameter that is not a boolean):
        # keep what it says, as `errors`.
        errors = []
        for item in exc.extra if isinstance(exc.extra, list) else [exc.extra]:
            if isinstance(item, dict):
                errors.append({k: str(getattr(v, "value", v)) for k, v in item.items()})
        if errors:
            extensions["errors"] = errors
            detail = "; ".join(
                f"{e.get('source', '')} parameter {e.get('key', '')!r}: "
                f"{_lower(e.get('message', ''))}".strip() for e in errors)
    if status == 404:
        detail = f"no such resource: {request.url.path}"
    headers = dict(exc.headers or {})
    return _response(problem_body(status, title, detail, instance=request.url.path,
                                  **extensions), headers)


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def _on_crash(request: Request, exc: Exception) -> Response:
    # A bug of ours, not the client's: logged with its traceback, never shown.
    _log.exception("internal error answering %s %s", request.method, request.url.path)
    return _response(problem_body(500, "Internal Server Error",
                                  "the service failed to answer; the error is logged",
                                  instance=request.url.path))


def _on_store_error(request: Request, exc: StoreError) -> Response:
    # No answer goes out unrecorded: the client may retry.
    _log.error("%s %s: %s", request.method, request.url.path, exc)
    return _response(problem_body(503, "Service Unavailable",
                                  "the decision log cannot be written; nothing was answered",
                                  instance=request.url.path), {"Retry-After": "5"})


def exception_handlers() -> dict:
    return {Problem: _on_problem, HTTPException: _on_http_exception,
            StoreError: _on_store_error, Exception: _on_crash}
