"""The pages' server side, through Litestar's test client: the reviewer's and the
author's pages render every criterion, the what-if decides a patched case
without recording it, and the author's reports are exactly what `mrs-asp check`
and `mrs-asp diff` print. The browser tests are in test_pages_browser.py."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote

import jsonpatch
import pytest
from litestar.testing import TestClient
from typer.testing import CliRunner

from mrs_asp.cli import app as cli
from mrs_asp.kb import KnowledgeBase, default_kb_dir
from mrs_asp.service.app import create_app
from mrs_asp.service.config import ServiceConfig

ROOT = Path(__file__).parents[1]
CASES = ROOT / "cases"
PACKAGE = ROOT / "mrs_asp" / "service"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory):
    db = tmp_path_factory.mktemp("pages") / "decisions.sqlite3"
    with TestClient(create_app(ServiceConfig(db=db, no_auth=True, cases=CASES))) as c:
        yield c


def _decide(client: TestClient, name: str) -> tuple[str, dict]:
    r = client.post("/v1/decisions", content=(CASES / f"{name}.json").read_bytes())
    assert r.status_code == 201, r.text
    return r.headers["Location"].rsplit("/", 1)[1], r.json()


def test_success_reviewer_page_draws_every_criterion_in_the_guideline_order(client) -> None:
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    kb = KnowledgeBase(default_kb_dir())
    ids = re.findall(r'<li class="node" data-id="([a-z_]+)"', r.text)
    named = [i for i in ids if i in kb.criteria]
    assert sorted(named) == sorted(kb.criteria)
    assert named == sorted(named, key=lambda c: kb.criteria[c].rank)
    assert "repeat_circumstance" in ids  # the inner node without an id of its own is drawn
    assert 'value="78-no-imaging-documented-denied"' in r.text
    assert 'value="fhir/11-pas-pacemaker-conditional-approved"' in r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]


def test_success_pages_and_their_assets_fetch_nothing_from_elsewhere() -> None:
    for path in [*PACKAGE.glob("templates/*.html"), *PACKAGE.glob("static/*")]:
        text = path.read_text()
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), path
        assert "@import" not in text and "url(http" not in text, path


def test_success_static_files_are_served(client) -> None:
    for name, kind in (("style.css", "text/css"), ("reviewer.js", "javascript")):
        r = client.get(f"/static/{name}")
        assert r.status_code == 200 and kind in r.headers["content-type"]
    assert client.get("/static/nothing.js").status_code == 404


def test_success_library_lists_cases_and_fhir_inputs_and_serves_them_as_given(client) -> None:
    entries = {e["name"]: e for e in client.get("/v1/library").json()["library"]}
    case = entries["45-pacemaker-conditional-approved"]
    assert case["kind"] == "case" and case["expected"] == ["approved"] and case["title"]
    assert entries["fhir/11-pas-pacemaker-conditional-approved"]["kind"] == "pas"
    r = client.get("/v1/library/45-pacemaker-conditional-approved")
    assert r.content == (CASES / "45-pacemaker-conditional-approved.json").read_bytes()
    missing = client.get("/v1/library/no-such-case")
    assert missing.status_code == 404 and "no-such-case" in missing.json()["detail"]


def test_success_what_if_applies_an_alternative_and_records_nothing(client) -> None:
    decision, answer = _decide(client, "78-no-imaging-documented-denied")
    assert answer["determination"] == "denied" and answer["missing"]
    before = client.get("/v1/decisions", params={"limit": 1000}).json()["decisions"]
    record = client.get(f"/v1/decisions/{decision}").json()
    for alternative in answer["missing"]:
        r = client.post("/v1/what-if", json={"decision": decision, "patch": alternative["patch"]})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["answer"]["determination"] == "approved"
        assert body["case"] == jsonpatch.apply_patch(record["case"], alternative["patch"])
        # the same through a case given inline
        inline = client.post("/v1/what-if", json={"case": record["case"],
                                                   "patch": alternative["patch"]})
        assert inline.json()["answer"] == body["answer"]
    after = client.get("/v1/decisions", params={"limit": 1000}).json()["decisions"]
    assert after == before  # nothing recorded
    assert client.get(f"/v1/decisions/{decision}").json() == record
    # an empty patch is the case as documented
    same = client.post("/v1/what-if", json={"decision": decision, "patch": []}).json()
    assert same["answer"]["determination"] == "denied"


@pytest.mark.parametrize(("body", "status", "pointer"), [
    (b"not json", 400, ""),
    (b"[]", 422, ""),
    (b'{"patch": []}', 422, ""),
    (b'{"case": {}, "decision": "x", "patch": []}', 422, ""),
    (b'{"case": {}, "patch": {}}', 422, "/patch"),
    (b'{"case": 3, "patch": []}', 422, "/case"),
    (b'{"decision": 3, "patch": []}', 422, "/decision"),
    (b'{"case": {"id": "x"}, "patch": [{"op": "remove", "path": "/nope"}]}', 422, "/patch"),
    (b'{"case": {"id": "x"}, "patch": [{"op": "frobnicate", "path": "/id"}]}', 422, "/patch"),
    (b'{"case": {"id": "x"}, "patch": []}', 422, "/case/request"),
    (b'{"decision": "no-such-decision", "patch": []}', 404, None),
])
def test_fail_bad_what_if_is_a_problem_naming_the_place(client, body, status, pointer) -> None:
    r = client.post("/v1/what-if", content=body)
    assert r.status_code == status, r.text
    problem = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    if pointer is not None:
        assert problem["pointer"] == pointer
        assert problem["detail"].startswith(pointer or "(whole document)")


def test_fail_what_if_patch_that_makes_a_bad_case_names_the_pointer(client) -> None:
    case = json.loads((CASES / "78-no-imaging-documented-denied.json").read_text())
    bad = [{"op": "add", "path": "/findings/glioma", "value": "yes"}]
    r = client.post("/v1/what-if", json={"case": case, "patch": bad})
    assert r.status_code == 422
    assert r.json()["pointer"] == "/case/findings/glioma"
    assert "expected true or false" in r.json()["detail"]


def test_success_author_reports_are_what_the_command_line_prints(client) -> None:
    runner = CliRunner()
    printed = json.loads(runner.invoke(cli, ["check", "--cases", str(CASES), "--format",
                                             "json"]).stdout)
    coverage = client.get("/v1/author/coverage").json()["coverage"]
    assert coverage["counts"] == printed["coverage"]["counts"]
    assert coverage["ratio"] == printed["coverage"]["ratio"]
    # check --cases adds the coverage findings; the page's check is over the rules alone
    rules_only = [f for f in printed["findings"] if not f["kind"].startswith("coverage")]
    assert client.get("/v1/author/check").json()["findings"] == rules_only
    diffs = client.get("/v1/author/diff").json()["variants"]
    variants = sorted(p.name for p in (default_kb_dir() / "variants").iterdir() if p.is_dir())
    assert [d["variant"] for d in diffs] == variants
    for d in diffs:
        printed = json.loads(runner.invoke(cli, ["diff", "kb", f"kb/variants/{d['variant']}",
                                                 str(CASES), "--format", "json"]).stdout)
        assert d["witnesses"] == printed["witnesses"]
        # The page replays the whole library, cases/fhir/ too (as regress and check
        # --cases read it); `mrs-asp diff CASES` reads the top directory only.
        plain = [{k: v for k, v in f.items() if k != "flipped"} for f in d["library"]
                 if "/fhir/" not in f["source"]]
        assert plain == printed["library"]
        assert all(f["flipped"] == (f["old"] != f["new"]) for f in d["library"])


def test_success_author_page_links_each_witness_and_flip_to_the_reviewers_page(client) -> None:
    r = client.get("/author")
    assert r.status_code == 200
    page = r.text
    kb = KnowledgeBase(default_kb_dir())
    for cid in kb.criteria:  # every criterion drawn, labelled by coverage in words
        assert f'id="c-{cid}"' in page
    assert "seen holding and failing" in page
    links = [json.loads(unquote(m)) for m in re.findall(r'href="/#case=([^"]+)"', page)]
    witnesses = [f["witness"] for f in client.get("/v1/author/check").json()["findings"]
                 if f["witness"]]
    diff_cases = [w["case"] for d in client.get("/v1/author/diff").json()["variants"]
                  for w in d["witnesses"]]
    assert links == witnesses + diff_cases
    flips = re.findall(r'class="flip" href="/\?library=([^"]+)"', page)
    assert "03-glioma-grading-recent-mri-denied" in flips
    for name in flips:
        assert client.get(f"/v1/library/{unquote(name)}").status_code == 200


def test_success_pages_endpoints_are_in_the_openapi_document(client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/v1/library", "/v1/library/{name}", "/v1/what-if", "/v1/author/check",
                 "/v1/author/diff", "/v1/author/coverage"):
        assert path in paths, path
    assert "/" not in paths and "/author" not in paths


def test_success_serve_help_names_the_case_library_option() -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert "--cases" in result.stdout
