"""The service in process, through Litestar's test client: the JSON API, problem
details with the command line's words, the body limit, the decision log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from litestar.testing import TestClient
from typer.testing import CliRunner

from mrs_asp.answer import decide
from mrs_asp.cases import case_json_schema, load_case, parse_case
from mrs_asp.cli import app as cli
from mrs_asp.service.app import create_app
from mrs_asp.service.config import ServiceConfig
from mrs_asp.service.store import DecisionLog

ROOT = Path(__file__).parents[1]
CASES = ROOT / "cases"
DENIED = CASES / "78-no-imaging-documented-denied.json"
APPROVED = CASES / "45-pacemaker-conditional-approved.json"
PROBLEM = "application/problem+json"
LATE = (b'{"id": "late", "request": {"cpt": "76390", "date": "2026-03-02", '
        b'"body_region": "brain"}, "imaging": [{"modality": "MRI", "body_region": "brain", '
        b'"date": "2026-04-01"}]}')


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("service") / "decisions.sqlite3"


@pytest.fixture(scope="module")
def client(db: Path):
    with TestClient(create_app(ServiceConfig(db=db, body_limit=64 * 1024, no_auth=True))) as c:
        yield c


def _cli_line(tmp_path: Path, text: bytes) -> str:
    """What `mrs-asp evaluate` says of a bad case, without its file name."""
    path = tmp_path / "bad.json"
    path.write_bytes(text)
    result = CliRunner().invoke(cli, ["evaluate", str(path)])
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert line.startswith(f"{path}: ")
    return line[len(f"{path}: "):]


def test_success_decision_is_the_library_answer(client: TestClient) -> None:
    for path in (DENIED, APPROVED):
        response = client.post("/v1/decisions", content=path.read_bytes())
        assert response.status_code == 201
        assert response.headers["content-type"] == "application/json"
        assert response.json() == decide([load_case(path)])[0].to_json()


def test_success_missing_false_skips_the_abduction(client: TestClient) -> None:
    full = client.post("/v1/decisions", content=DENIED.read_bytes()).json()
    quick = client.post("/v1/decisions?missing=false", content=DENIED.read_bytes()).json()
    assert full["missing"] and quick["missing"] == [] and quick["required"] == []
    assert {k: v for k, v in full.items() if k not in ("missing", "required")} == \
        {k: v for k, v in quick.items() if k not in ("missing", "required")}


def test_success_recorded_decision_holds_input_case_answer(client: TestClient) -> None:
    body = DENIED.read_bytes()
    response = client.post("/v1/decisions", content=body)
    location = response.headers["location"]
    assert location.startswith("/v1/decisions/")
    record = client.get(location).json()
    assert record["id"] == location.rsplit("/", 1)[1]
    assert record["input"] == json.loads(body)
    assert record["case"] == json.loads(body)
    assert record["answer"] == response.json()
    assert record["determination"] == "denied"
    assert record["guideline_version"] == "2"
    assert record["kb_fingerprint"] == client.get("/readyz").json()["kb_fingerprint"]
    assert record["recorded_at"].endswith("+00:00")
    listed = client.get("/v1/decisions", params={"case_id": record["case_id"]}).json()
    assert record["id"] in [d["id"] for d in listed["decisions"]]


def test_fail_unknown_decision_is_a_404_problem(client: TestClient) -> None:
    response = client.get("/v1/decisions/no-such-id")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["detail"] == "no recorded decision 'no-such-id'"


@pytest.mark.parametrize("text", [
    LATE,
    b'{"id": "x", "request": {"cpt": "76390", "date": "2026-02-30", "body_region": "brain"}}',
    b'{"id": "x", "request": {"cpt": "76390", "date": "2026-02-03", "body_region": "brian"}}',
    b'{"id": "x", "request": {"cpt": "76390", "date": "2026-02-03"}}',
    b'{"id": "x", "request": {"cpt": "76390", "date": "2026-02-03", "body_region": "brain"}, '
    b'"findings": {"colour": true}}',
])
def test_fail_bad_case_has_the_command_lines_words(client: TestClient, tmp_path: Path,
                                                   text: bytes) -> None:
    response = client.post("/v1/decisions", content=text)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["detail"] == _cli_line(tmp_path, text)
    assert problem["status"] == 422 and problem["title"] == "Bad case"
    assert problem["detail"].startswith(problem["pointer"] + ": ")
    assert problem["errors"] == [{"pointer": problem["pointer"], "detail": problem["detail"]}]


def test_fail_late_study_names_its_pointer(client: TestClient) -> None:
    problem = client.post("/v1/decisions", content=LATE).json()
    assert problem["pointer"] == "/imaging/0/date"
    assert problem["detail"] == ("/imaging/0/date: expected a date on or before the request "
                                 "date 2026-03-02, got 2026-04-01")


@pytest.mark.parametrize("text", [b'{"id": ', b"not json", b"", b"   "])
def test_fail_not_json_is_a_400_problem(client: TestClient, text: bytes) -> None:
    response = client.post("/v1/decisions", content=text)
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["pointer"] == ""


def test_fail_bad_query_parameter_is_a_400_problem(client: TestClient) -> None:
    response = client.post("/v1/decisions?missing=perhaps", content=DENIED.read_bytes())
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    assert "missing" in response.json()["detail"]


def test_fail_body_over_the_limit_is_413_before_parsing(client: TestClient, db: Path) -> None:
    before = DecisionLog(db).count()
    body = DENIED.read_bytes()[:-2] + b',"title": "' + b"x" * (64 * 1024) + b'"}'
    response = client.post("/v1/decisions", content=body)
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert DecisionLog(db).count() == before


def test_fail_wrong_method_and_path_are_problems(client: TestClient) -> None:
    assert client.get("/v1/nothing-here").headers["content-type"] == PROBLEM
    response = client.delete("/v1/decisions")
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM


def test_success_batch_array_answers_in_order_bad_cases_in_place(client: TestClient) -> None:
    denied, approved = DENIED.read_bytes(), APPROVED.read_bytes()
    body = b"[" + denied + b"," + LATE + b", 7," + approved + b"," + denied + b"]"
    response = client.post("/v1/decisions:batch", content=body)
    assert response.status_code == 200
    items = response.json()
    assert len(items) == len(json.loads(body))  # one item per element, in place
    expected = decide([load_case(DENIED), load_case(APPROVED)])
    assert items[0]["answer"] == expected[0].to_json()
    assert items[3]["answer"] == expected[1].to_json()
    assert items[1]["problem"]["pointer"] == "/1/imaging/0/date"
    assert items[1]["problem"]["detail"].startswith("/1/imaging/0/date: expected a date on")
    assert items[2]["problem"]["detail"] == "/2: expected a JSON object, got a number"
    assert items[4]["problem"]["pointer"] == "/4/id"
    assert "already the id of /0" in items[4]["problem"]["detail"]
    for i in (0, 3):
        record = client.get(f"/v1/decisions/{items[i]['decision']}").json()
        assert record["answer"] == items[i]["answer"]
        assert record["endpoint"] == "/v1/decisions:batch"


def test_success_batch_jsonl_answers_in_jsonl(client: TestClient) -> None:
    one_line = json.dumps(json.loads(DENIED.read_bytes())).encode()
    body = one_line + b"\n\n" + b'{"id": 3}\n'
    response = client.post("/v1/decisions:batch", content=body,
                           headers={"content-type": "application/x-ndjson"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert lines[0]["answer"]["id"] == "78-no-imaging-documented-denied"
    assert lines[1]["problem"]["detail"] == "line 3: /id: expected a string, got 3"


def test_fail_batch_that_is_not_json(client: TestClient) -> None:
    response = client.post("/v1/decisions:batch", content=b"[1, 2")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("(whole document): invalid JSON")
    assert client.post("/v1/decisions:batch", content=b"").status_code == 400


def test_success_criteria_in_reading_order_with_words(client: TestClient) -> None:
    body = client.get("/v1/criteria").json()
    ids = [c["id"] for c in body["criteria"]]
    assert ids[:2] == ["applies", "indicated"]
    indicated = body["criteria"][1]
    assert indicated["node"] == "all" and "conventional_inconclusive" in indicated["parts"]
    assert all(c["text"] for c in body["criteria"])
    assert {c["kind"] for c in body["criteria"]} == {"applicability", "indication",
                                                      "non_indication", "advisory"}


def test_success_schema_is_the_case_schema(client: TestClient) -> None:
    assert client.get("/v1/schema").json() == case_json_schema()


def test_success_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and len(ready["kb_fingerprint"]) == 64


def test_success_openapi_documents_every_route_and_the_case_model(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert {"/v1/decisions", "/v1/decisions:batch", "/v1/decisions/{decision_id}",
            "/v1/criteria", "/v1/schema", "/healthz", "/readyz"} <= set(document["paths"])
    schemas = document["components"]["schemas"]
    case = schemas["Case"]
    assert set(case["properties"]) == set(case_json_schema()["properties"])
    assert case["properties"]["request"] == {"$ref": "#/components/schemas/Request"}
    body = document["paths"]["/v1/decisions"]["post"]["requestBody"]["content"]
    assert {"$ref": "#/components/schemas/Case"} in body["application/json"]["schema"]["oneOf"]
    assert client.get("/docs").status_code == 200
    assert "text/html" in client.get("/docs").headers["content-type"]


def test_success_decisions_command_lists_and_shows(client: TestClient, db: Path) -> None:
    location = client.post("/v1/decisions", content=APPROVED.read_bytes()).headers["location"]
    decision_id = location.rsplit("/", 1)[1]
    listed = CliRunner().invoke(cli, ["decisions", "--db", str(db), "-n", "1"])
    assert listed.exit_code == 0
    assert decision_id in listed.stdout and "approved" in listed.stdout
    shown = CliRunner().invoke(cli, ["decisions", decision_id, "--db", str(db)])
    assert shown.exit_code == 0
    record = json.loads(shown.stdout)
    assert record["case"]["id"] == "45-pacemaker-conditional-approved"
    assert record["answer"]["determination"] == "approved"


def test_fail_decisions_command_without_a_log(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["decisions", "--db", str(tmp_path / "none.sqlite3")])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"mrs-asp: {tmp_path / 'none.sqlite3'}: no such decision log"
    assert not (tmp_path / "none.sqlite3").exists()


def test_fail_serve_with_a_bad_kb_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["serve", "--kb", str(tmp_path / "nope"),
                                      "--db", str(tmp_path / "d.sqlite3")])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"mrs-asp: {tmp_path / 'nope'}: not a knowledge-base directory"


def test_success_parse_case_agrees_with_the_recorded_case(client: TestClient) -> None:
    body = APPROVED.read_bytes()
    record = client.get(client.post("/v1/decisions", content=body).headers["location"]).json()
    assert parse_case(json.dumps(record["case"]), "x").case == load_case(APPROVED).case


def test_fail_unwritable_log_answers_503_and_no_decision(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from mrs_asp.service.store import StoreError
    app = create_app(ServiceConfig(db=tmp_path / "d.sqlite3"))

    def broken(records):
        raise StoreError(f"{tmp_path / 'd.sqlite3'}: cannot record the decision: disk I/O error")

    monkeypatch.setattr(app.state.decider.log, "record", broken)
    with TestClient(app) as c:
        response = c.post("/v1/decisions", content=APPROVED.read_bytes())
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["retry-after"] == "5"
    assert "determination" not in response.text


def test_success_start_up_warnings() -> None:
    from mrs_asp.service.server import warnings_for
    assert any("NOT authenticated" in w for w in warnings_for(ServiceConfig(no_auth=True)))
    assert any("refused (401)" in w for w in warnings_for(ServiceConfig()))
    wide = warnings_for(ServiceConfig(host="0.0.0.0", issuers=Path("i.json")))
    assert any("beyond this machine's loopback" in w for w in wide)
    assert any("--public-url" in w for w in wide)
    assert warnings_for(ServiceConfig(issuers=Path("i.json"))) == []
