"""The reviewer's page (``/``) and the policy author's page (``/author``), and the
JSON endpoints they use (issue 12).

The pages are server-rendered Jinja2 templates (``templates/``) with a little
plain JavaScript (``static/``), all shipped inside the package: nothing is
fetched from anywhere but this service. The JavaScript calls the same JSON
endpoints a program would (``POST /v1/decisions``, ``GET /v1/decisions/{id}``,
``GET /v1/questionnaire``) and the ones added here:

- ``GET /v1/library``, ``GET /v1/library/{name}``: the case library (``cases/``
  of the source checkout, or ``mrs-asp serve --cases DIR``), each file as given;
- ``POST /v1/what-if``: a case (or a recorded decision's case) with a JSON Patch
  applied, decided and answered but **not recorded**: a reviewer's what-if
  never changes the record of what was asked;
- ``GET /v1/author/coverage``, ``/v1/author/check``, ``/v1/author/diff``: the
  library's criterion coverage, the findings of ``mrs-asp check`` and
  ``mrs-asp diff`` between the knowledge base and each of its ``variants/``,
  as ``mrs-asp check --format json`` and ``mrs-asp diff --format json`` print
  them. They take a second or two, so each is computed once per process.

Witnesses open in the reviewer's page as ``/#case=<the case as JSON>``, library
cases as ``/?library=NAME``, recorded decisions (the permalink) as
``/?decision=ID``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

import jinja2
import jsonpatch
import jsonpointer
import msgspec
from litestar import Request, Response, get, post
from litestar.params import PathParameter
from litestar.static_files import create_static_files_router

from .. import __version__
from ..cases import CaseError, iter_cases, parse_case
from ..kb import KnowledgeBase
from .openapi import documented, ref
from .problems import BAD_CASE, BAD_JSON, NOT_FOUND, Problem, case_problem

__all__ = ["ROUTES", "library_dir"]

HERE = Path(__file__).parent
_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True, trim_blocks=True, lstrip_blocks=True,
    undefined=jinja2.StrictUndefined)
_encode = msgspec.json.Encoder().encode


def library_dir(config: Any) -> Path | None:
    """The case library the pages offer: ``--cases``, else ``./cases``, else the
    ``cases/`` of the source checkout this package runs from; None if there is none."""
    given = getattr(config, "cases", None)
    if given is not None:
        return Path(given)
    for candidate in (Path("cases"), HERE.parents[1] / "cases"):
        if candidate.is_dir():
            return candidate
    return None


def _json(data: Any, status: int = 200) -> Response:
    return Response(content=_encode(data), status_code=status, media_type="application/json")


def _html(template: str, **context: Any) -> Response:
    page = _TEMPLATES.get_template(template).render(version=__version__, **context)
    return Response(content=page, media_type="text/html; charset=utf-8",
                    headers={"Content-Security-Policy":
                             "default-src 'self'; img-src 'self' data:; "
                             "style-src 'self'; script-src 'self'; "
                             "frame-ancestors 'none'"})


# --------------------------------------------------------------------------
# The guideline tree, as the pages draw it


def guideline_tree(kb: KnowledgeBase) -> dict[str, Any]:
    """``{"applies": ..., "indicated": node, "non_indications": [...], "advisories": [...]}``;
    a node is ``{"id", "text", "kind", "node": all|any|None, "children": [...]}``. An inner
    node without an id of its own (``repeat_circumstance``) is kept, with the
    words of its kind ("any of")."""
    criteria = kb.criteria

    def node(cid: str) -> dict[str, Any]:
        c = criteria.get(cid)
        combinator = kb.nodes.get(cid)
        return {"id": cid, "text": c.text if c else
                ("ANY of the following" if combinator == "any" else "ALL of the following"),
                "named": c is not None, "kind": c.kind if c else "indication",
                "node": combinator,
                "children": [node(p) for p in kb.parts.get(cid, [])]}

    ordered = sorted(criteria.values(), key=lambda c: c.rank)
    return {
        "applies": node("applies"),
        "indicated": node("indicated"),
        "non_indications": [node(c.id) for c in ordered if c.kind == "non_indication"],
        "advisories": [node(c.id) for c in ordered if c.kind == "advisory"],
    }


# --------------------------------------------------------------------------
# The case library


@dataclass
class LibraryEntry:
    name: str  # the file's path under the library, without ".json"
    path: Path
    kind: str  # "case", "pas" or "crd"
    ids: list[str]
    title: str
    expected: list[str]  # the expected determination of each case it holds

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "ids": self.ids, "title": self.title,
                "expected": self.expected}


def _title_of(doc: Any) -> str:
    """A case's ``title``; a FHIR input has none of its own (its name says what it is)."""
    if isinstance(doc, dict) and isinstance(doc.get("title"), str):
        return doc["title"]
    return ""


class Library:
    """The case library, read once; its answers under the service's knowledge base."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.entries: dict[str, LibraryEntry] = {}
        self.loaded = []  # every valid case in it, for coverage
        if directory is None:
            return
        root = directory.resolve()
        by_file: dict[str, list] = {}
        for item in iter_cases([directory], recursive=True):
            if isinstance(item, CaseError):
                continue  # a bad library file is regress's business, not the page's
            self.loaded.append(item)
            file = item.source.rsplit(":", 1)[0] if not Path(item.source).is_file() \
                else item.source
            by_file.setdefault(file, []).append(item)
        for file, items in by_file.items():
            path = Path(file).resolve()
            try:
                name = path.relative_to(root).as_posix().removesuffix(".json")
                doc = json.loads(path.read_bytes())
            except (ValueError, OSError):
                continue
            kind = "case"
            if isinstance(doc, dict) and "hookInstance" in doc:
                kind = "crd"
            elif isinstance(doc, dict) and "resourceType" in doc:
                kind = "pas"
            self.entries[name] = LibraryEntry(
                name, path, kind, [i.case.id for i in items], _title_of(doc),
                [i.case.expected.determination if i.case.expected is not None else ""
                 for i in items])


# --------------------------------------------------------------------------
# The author's reports, each computed once per process


class Reports:
    """Coverage, check and diff for one knowledge base and library, computed on
    first use and kept (they take a second or two each)."""

    def __init__(self, kb: KnowledgeBase, library: Library) -> None:
        self.kb = kb
        self.library = library
        self._lock = threading.Lock()

    @cached_property
    def coverage(self) -> dict[str, Any] | None:
        from ..answer import decide
        from ..coverage import criterion_ids, library_coverage
        if not self.library.loaded:
            return None
        with self._lock:
            answers = decide(self.library.loaded, kb=self.kb.directory, missing=False)
            coverage = library_coverage(answers, criterion_ids(self.kb.directory))
        out = coverage.to_json()
        out["cases"] = len(self.library.loaded)
        out["library"] = str(self.library.directory)
        return out

    @cached_property
    def check(self) -> dict[str, Any]:
        from ..check import check_kb
        from ..findings import SEVERITIES
        from ..lint import lint_kb
        with self._lock:
            findings = lint_kb(self.kb.directory)
            if not any(f.kind == "parse_error" for f in findings):
                findings += check_kb(self.kb)
        findings.sort(key=lambda f: -SEVERITIES.index(f.severity))
        return {"findings": [f.to_json() for f in findings]}

    @cached_property
    def diff(self) -> dict[str, Any]:
        from ..answer import engine_for
        from ..diff import diff_library, diff_witnesses
        variants_dir = self.kb.directory / "variants"
        variants = sorted(p for p in variants_dir.iterdir()
                          if p.is_dir() and not p.name.startswith(".")) \
            if variants_dir.is_dir() else []
        out = []
        with self._lock:
            for variant in variants:
                try:
                    new = engine_for(variant).kb
                    flips = diff_library(self.kb.directory, variant, self.library.loaded) \
                        if self.library.loaded else []
                    found = diff_witnesses(self.kb, new)
                except Exception as exc:  # noqa: BLE001 - a broken variant is reported, not fatal
                    out.append({"variant": variant.name, "error": str(exc).splitlines()[0]
                                if str(exc) else type(exc).__name__})
                    continue
                out.append({"variant": variant.name,
                            "old": "kb", "new": f"kb/variants/{variant.name}",
                            "library": [{**f.to_json(), "flipped": f.old != f.new}
                                        for f in flips],
                            "witnesses": found})
        return {"variants": out}


def _state(request: Request) -> tuple[Library, Reports]:
    state = request.app.state
    reports = state.get("pages_reports")
    if reports is None:
        library = Library(library_dir(state.config))
        reports = Reports(state.decider.kb, library)
        state.pages_library, state.pages_reports = library, reports
    return state.pages_library, reports


# --------------------------------------------------------------------------
# Pages


@get("/", include_in_schema=False)
async def reviewer_page(request: Request) -> Response:
    library, _ = _state(request)
    decider = request.app.state.decider
    served = {route.path for route in request.app.routes}
    return _html("reviewer.html", tree=guideline_tree(decider.kb),
                 has_questionnaire="/v1/questionnaire" in served,
                 library=sorted(library.entries.values(), key=lambda e: e.name),
                 fingerprint=decider.fingerprint, guideline_version=decider.guideline_version)


_COVERAGE_WORDS = {
    (True, True): ("covered", "seen holding and failing"),
    (True, False): ("gap", "never seen failing"),
    (False, True): ("gap", "never seen holding"),
    (False, False): ("gap", "never seen either way"),
}


@get("/author", include_in_schema=False)
async def author_page(request: Request) -> Response:
    library, reports = _state(request)
    decider = request.app.state.decider
    coverage = reports.coverage
    counts = coverage["counts"] if coverage else {}

    def cover(cid: str) -> dict[str, Any]:
        c = counts.get(cid)
        if c is None:
            return {"class": "unknown", "words": "no library", "holds": 0, "fails": 0}
        cls, words = _COVERAGE_WORDS[(c["holds"] > 0, c["fails"] > 0)]
        return {"class": cls, "words": words, **c}

    findings = reports.check["findings"]
    by_severity = {s: [f for f in findings if f["severity"] == s]
                   for s in ("error", "warning", "info")}
    return _html("author.html", tree=guideline_tree(decider.kb), cover=cover,
                 coverage=coverage, by_severity=by_severity, diff=reports.diff["variants"],
                 witness_link=witness_link, library_names=_library_names(library),
                 fingerprint=decider.fingerprint, guideline_version=decider.guideline_version)


def _library_names(library: Library) -> dict[str, str]:
    """case id -> the library name that opens it."""
    return {cid: e.name for e in library.entries.values() for cid in e.ids}


def witness_link(case: dict) -> str:
    """The reviewer's page opening ``case``: the case travels in the fragment, so
    nothing is stored until the page decides it."""
    from urllib.parse import quote
    return "/#case=" + quote(json.dumps(case, separators=(",", ":")), safe="")


# --------------------------------------------------------------------------
# JSON endpoints


@get("/v1/library", tags=["pages"], summary="The case library",
     description="The files of the case library the service offers (`mrs-asp serve "
                 "--cases`): name, kind (`case`, `pas`, `crd`), the ids of the cases it "
                 "holds, title and expected determinations.")
async def get_library(request: Request) -> Response:
    library, _ = _state(request)
    return _json({"library": [e.to_json() for e in sorted(library.entries.values(),
                                                          key=lambda e: e.name)]})


@get("/v1/library/{name:path}", tags=["pages"], summary="One library file, as given",
     description="The case (or FHIR input) of the library file `name`, exactly as stored.",
     operation_class=documented(problems=(404,)))
async def get_library_file(request: Request, name: Annotated[str, PathParameter(
        description="A name listed by `GET /v1/library`.")]) -> Response:
    library, _ = _state(request)
    entry = library.entries.get(name.lstrip("/"))
    if entry is None:
        raise Problem(404, "Not Found", f"no library case {name.lstrip('/')!r}",
                      type=NOT_FOUND)
    try:
        data = entry.path.read_bytes()
    except OSError as exc:
        raise Problem(404, "Not Found", f"{entry.name}: cannot read: {exc.strerror}",
                      type=NOT_FOUND) from None
    return Response(content=data, media_type="application/json")


_WHAT_IF_BODY = {
    "type": "object",
    "description": "A case, or a recorded decision's id, and a JSON Patch to apply to it.",
    "required": ["patch"],
    "properties": {
        "case": ref("Case"),
        "decision": {"type": "string", "description": "A recorded decision: its case (the "
                     "derived case, for a FHIR input) is patched."},
        "patch": {"type": "array", "items": {"type": "object"},
                  "description": "RFC 6902 operations, such as one alternative of `missing`."},
    },
}


def _what_if_problem(message: str, pointer: str) -> Problem:
    return Problem(422, "Bad what-if", f"{pointer or '(whole document)'}: {message}",
                   type=BAD_CASE, pointer=pointer)


@post("/v1/what-if", status_code=200, tags=["pages"], summary="What if: decide a patched case",
      description="Applies `patch` (RFC 6902, an alternative of `missing`, say) to `case` or "
                  "to the case of the recorded `decision`, and answers the patched case's "
                  "SPEC section 5 answer with the patched case. Nothing is recorded: the "
                  "recorded decision and its case stay as they were.",
      operation_class=documented(
          body={"application/json": _WHAT_IF_BODY}, body_text="What to patch, and how.",
          responses={200: ("The patched case and its answer", {"application/json": {
              "type": "object", "properties": {"case": ref("Case"),
                                               "answer": ref("Answer")}}})},
          problems=(400, 404, 413, 422)))
async def post_what_if(request: Request) -> Response:
    body = await request.body()
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Problem(400, "Request body is not JSON", f"(whole document): {exc}",
                      type=BAD_JSON, pointer="") from None
    if not isinstance(doc, dict):
        raise _what_if_problem("expected an object with `patch` and `case` or `decision`", "")
    patch = doc.get("patch")
    if not isinstance(patch, list) or not all(isinstance(op, dict) for op in patch):
        raise _what_if_problem("expected a JSON Patch (an array of operations)", "/patch")
    if ("case" in doc) == ("decision" in doc):
        raise _what_if_problem("expected exactly one of `case` and `decision`", "")
    if "decision" in doc:
        if not isinstance(doc["decision"], str):
            raise _what_if_problem("expected a decision id (a string)", "/decision")
        record = request.app.state.decider.log.get(doc["decision"])
        if record is None:
            raise Problem(404, "Not Found", f"no recorded decision {doc['decision']!r}",
                          type=NOT_FOUND)
        case, where = record.to_json()["case"], "/decision"
    else:
        case, where = doc["case"], "/case"
    if not isinstance(case, dict):
        raise _what_if_problem("expected a case (a JSON object)", where)
    try:
        patched = jsonpatch.JsonPatch(patch).apply(case)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, TypeError,
            AttributeError, KeyError, IndexError, ValueError) as exc:
        raise _what_if_problem(f"the patch does not apply: {exc}", "/patch") from None
    try:
        loaded = parse_case(json.dumps(patched), "body")
    except CaseError as err:
        raise case_problem(err, prefix="/case" if where == "/case" else "") from None
    # In the decider's turn, as every decision: the engine is not shared between threads.
    [answer] = await request.app.state.decider.decided([loaded.case], True)
    return _json({"case": patched, "answer": answer.to_json()})


@get("/v1/author/coverage", tags=["pages"], summary="The library's criterion coverage",
     description="For each criterion, how many library cases show it holding and how many "
                 "failing while the policy applies (`mrs-asp check --cases`); null without "
                 "a library. Computed once per process.")
async def get_coverage(request: Request) -> Response:
    _, reports = _state(request)
    return _json({"coverage": reports.coverage})


@get("/v1/author/check", tags=["pages"], summary="The findings of mrs-asp check",
     description="`mrs-asp check --format json` on the service's knowledge base: each "
                 "finding with its kind, severity, criteria, message and witness case. "
                 "Computed once per process.")
async def get_check(request: Request) -> Response:
    _, reports = _state(request)
    return _json(reports.check)


@get("/v1/author/diff", tags=["pages"], summary="mrs-asp diff against each variant",
     description="`mrs-asp diff --format json` between the knowledge base and each "
                 "proposed amendment under its `variants/`: the library cases that change "
                 "and generated witnesses. Computed once per process.")
async def get_diff(request: Request) -> Response:
    _, reports = _state(request)
    return _json(reports.diff)


STATIC = create_static_files_router(path="/static", directories=[HERE / "static"],
                                    include_in_schema=False, name="pages-static")

ROUTES = [reviewer_page, author_page, get_library, get_library_file, post_what_if,
          get_coverage, get_check, get_diff, STATIC]
