"""The Da Vinci endpoints of the service: CRD (CDS Hooks), PAS $submit, DTR
$questionnaire-package, the questionnaire; each the answer mrs_asp.fhir gives
for the same input, recorded, and valid FHIR."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from litestar.testing import TestClient

import fhir_builders as fb
from mrs_asp import decide, fhir
from mrs_asp.cases import case_from_data
from mrs_asp.fhir.validate import (crd_invariant_errors, validate_crd_response,
                                   validate_resource)
from mrs_asp.service.app import create_app
from mrs_asp.service.config import ServiceConfig

ROOT = Path(__file__).parents[1]
SIGN = "/cds-services/mrs-asp-order-sign"


def _case(name: str) -> dict:
    case = json.loads((ROOT / "cases" / name).read_text())
    case.pop("expected", None)
    case.pop("patient", None)  # the builders' Patient has its own birthDate
    return case


DENIED = _case("78-no-imaging-documented-denied.json")      # something missing
APPROVED = _case("45-pacemaker-conditional-approved.json")
HOPELESS = _case("59-welder-orbit-fragment-denied.json")     # nothing can approve it


def crd_of(case: dict, hook: str = "order-sign") -> dict:
    request = case["request"]
    order = fb.service_request("sr1", request["date"], request["cpt"],
                               fb.REGION_SITES[request["body_region"]])
    answers = fb.questionnaire_response(fb.qr_items(fb.case_as_answers(case)))
    return fb.crd_request([order], [answers], hook=hook)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory):
    config = ServiceConfig(db=tmp_path_factory.mktemp("fhir") / "d.sqlite3", no_auth=True)
    with TestClient(create_app(config)) as c:
        yield c


def _library_crd(doc: dict) -> dict:
    cases = fhir.read(doc, "body")
    return fhir.crd_response(doc, cases, [c.cite(a) for c, a in zip(cases, decide(cases))])


@pytest.mark.parametrize("case", [DENIED, APPROVED, HOPELESS], ids=["missing", "approved",
                                                                     "hopeless"])
def test_success_crd_answer_is_the_fhir_librarys(client: TestClient, case: dict) -> None:
    doc = crd_of(case)
    response = client.post(SIGN, json=doc)
    assert response.status_code == 200
    body = response.json()
    assert body == _library_crd(doc)
    validate_crd_response(body)
    [action] = body["systemActions"]
    covered = {e["url"]: e for e in action["resource"]["extension"][-1]["extension"]}["covered"]
    expected = {id(DENIED): "conditional", id(APPROVED): "covered", id(HOPELESS): "not-covered"}
    assert covered["valueCode"] == expected[id(case)]


def test_success_crd_call_is_recorded(client: TestClient) -> None:
    doc = crd_of(DENIED, "order-select")
    client.post("/cds-services/mrs-asp-order-select", json=doc)
    [record] = client.app.state.decider.log.list(limit=1)
    assert record.endpoint == "/cds-services/mrs-asp-order-select"
    assert record.input_type == "crd" and json.loads(record.input) == doc
    assert record.case_id == "sr1" and record.determination == "denied"


def _coverage(body: dict) -> dict:
    [action] = body["systemActions"]
    return {e["url"]: e for e in action["resource"]["extension"][-1]["extension"]}


def test_fail_crd_bad_fhir_is_indeterminate_technical(client: TestClient) -> None:
    doc = crd_of(DENIED)
    doc["context"]["draftOrders"]["entry"][0]["resource"]["occurrenceDateTime"] = "soon"
    response = client.post(SIGN, json=doc)
    assert response.status_code == 200
    coverage = _coverage(response.json())
    assert coverage["covered"]["valueCode"] == "indeterminate"
    reason = coverage["reason"]["valueCodeableConcept"]
    assert reason["coding"][0]["code"] == "technical"
    assert reason["text"].startswith("/context/draftOrders/entry/0/resource/occurrenceDateTime:")
    # (the order itself is echoed as sent, bad date and all: only the invariants hold)
    [action] = response.json()["systemActions"]
    assert crd_invariant_errors(action["resource"]["extension"][-1]) == []


def test_fail_crd_failure_inside_is_indeterminate_not_500(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(ServiceConfig(db=tmp_path / "d.sqlite3", no_auth=True))

    def broken(*args, **kwargs):
        raise RuntimeError("solver exploded")

    monkeypatch.setattr(app.state.decider, "answers", broken)
    with TestClient(app) as c:
        response = c.post(SIGN, json=crd_of(DENIED))
    assert response.status_code == 200
    coverage = _coverage(response.json())
    assert coverage["covered"]["valueCode"] == "indeterminate"
    assert "solver exploded" not in response.text


def test_fail_crd_not_a_cds_hooks_request(client: TestClient) -> None:
    assert client.post(SIGN, content=b"{").status_code == 400
    response = client.post(SIGN, json=fb.case_as_pas(DENIED))
    assert response.status_code == 422
    assert response.json()["detail"] == ("(whole document): expected a CDS Hooks request, "
                                         "got a PAS request Bundle")
    wrong = client.post(SIGN, json=crd_of(DENIED, "order-select"))
    assert wrong.status_code == 422 and wrong.json()["pointer"] == "/hook"
    assert client.post("/cds-services/nope", json=crd_of(DENIED)).status_code == 404


def test_fail_crd_needs_a_token_unless_no_auth(tmp_path: Path) -> None:
    with TestClient(create_app(ServiceConfig(db=tmp_path / "d.sqlite3"))) as c:
        response = c.post(SIGN, json=crd_of(DENIED))
    assert response.status_code == 401


def test_success_pas_submit_answers_the_pas_response(client: TestClient) -> None:
    bundle = fb.case_as_resources(DENIED)
    response = client.post("/fhir/Claim/$submit", json=bundle)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/fhir+json"
    body = response.json()
    validate_resource(body)
    claim_response = body["entry"][0]["resource"]
    assert claim_response["resourceType"] == "ClaimResponse"
    assert claim_response["outcome"] == "complete"
    cases = fhir.read(bundle, "body")
    expected = fhir.pas_response(bundle, cases, [c.cite(a) for c, a in
                                                  zip(cases, decide(cases))])
    assert body["entry"][0]["resource"]["item"] == expected["entry"][0]["resource"]["item"]
    [record] = client.app.state.decider.log.list(limit=1)
    assert record.input_type == "pas" and record.case_id == "PA-1/1"


def test_fail_pas_bad_input_is_a_problem_with_its_pointer(client: TestClient) -> None:
    bundle = fb.case_as_resources(DENIED)
    bundle["entry"][0]["resource"]["item"][0]["servicedDate"] = "2026-02-30"
    response = client.post("/fhir/Claim/$submit", json=bundle)
    assert response.status_code == 422
    assert response.json()["pointer"].startswith("/entry/0/resource/item/0/servicedDate")
    assert client.post("/fhir/Claim/$submit", json=DENIED).status_code == 422


def test_success_decisions_accepts_a_fhir_input(client: TestClient) -> None:
    bundle = fb.case_as_resources(DENIED)
    response = client.post("/v1/decisions", json=bundle)
    assert response.status_code == 200
    [item] = response.json()
    cases = fhir.read(bundle, "body")
    assert item["answer"] == cases[0].cite(decide(cases)[0]).to_json()
    record = client.get(f"/v1/decisions/{item['decision']}").json()
    assert record["input"] == bundle and record["input_type"] == "pas"
    assert record["case"]["request"]["date"] == DENIED["request"]["date"]


def test_success_questionnaire_and_missing_questionnaire(client: TestClient) -> None:
    assert client.get("/v1/questionnaire").json() == fhir.questionnaire()
    location = client.post("/v1/decisions", json={**DENIED, "id": "q"}).headers["location"]
    decision = location.rsplit("/", 1)[1]
    response = client.get("/v1/questionnaire", params={"decision": decision})
    assert response.status_code == 200
    case = case_from_data({**DENIED, "id": "q"})
    assert response.json() == fhir.questionnaire(case=case, answer=decide([case])[0])
    validate_resource(response.json())
    approved = client.post("/v1/decisions", json={**APPROVED, "id": "qa"}).headers["location"]
    refused = client.get("/v1/questionnaire", params={"decision": approved.rsplit("/", 1)[1]})
    assert refused.status_code == 422
    assert client.get("/v1/questionnaire", params={"decision": "nope"}).status_code == 404


def _parameters(case: dict) -> dict:
    doc = crd_of(case)
    order = doc["context"]["draftOrders"]["entry"][0]["resource"]
    return {"resourceType": "Parameters", "parameter": [
        {"name": "coverage", "resource": doc["prefetch"]["coverage"]["entry"][0]["resource"]},
        {"name": "order", "resource": order},
        {"name": "patient", "resource": doc["prefetch"]["patient"]},
        {"name": "response", "resource": doc["prefetch"]["records"]["entry"][0]["resource"]}]}


def test_success_questionnaire_package(client: TestClient) -> None:
    plain = client.post("/fhir/Questionnaire/$questionnaire-package",
                        json={"resourceType": "Parameters", "parameter": []})
    assert plain.status_code == 200
    validate_resource(plain.json())
    [bundle] = [p["resource"] for p in plain.json()["parameter"]]
    assert bundle["entry"][0]["resource"] == fhir.questionnaire()
    for case, missing in ((DENIED, True), (APPROVED, False)):
        response = client.post("/fhir/Questionnaire/$questionnaire-package",
                               json=_parameters(case))
        assert response.status_code == 200
        validate_resource(response.json())
        [bundle] = [p["resource"] for p in response.json()["parameter"]]
        questionnaire = bundle["entry"][0]["resource"]
        assert ("-missing-" in questionnaire["url"]) is missing


def test_fail_questionnaire_package_not_parameters(client: TestClient) -> None:
    response = client.post("/fhir/Questionnaire/$questionnaire-package", json=DENIED)
    assert response.status_code == 422
    assert response.json()["pointer"] == "/resourceType"


def test_success_discovery_services_answer(client: TestClient) -> None:
    for service in client.get("/cds-services").json()["services"]:
        doc = crd_of(DENIED, service["hook"])
        assert client.post(f"/cds-services/{service['id']}", json=doc).status_code == 200
