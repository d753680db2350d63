"""Writing FHIR (FHIR.md F1, F6): PAS response Bundles, CDS Hooks responses and
the DTR questionnaires, validated with fhir.resources (R4B) and the CRD
invariants."""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from mrs_asp import fhir
from mrs_asp.cli import app
from mrs_asp.fhir.validate import (ValidationError, crd_invariant_errors,
                                   validate_crd_response, validate_resource)
from mrs_asp.fhir.write import COVERAGE_INFORMATION, REVIEW_ACTION, X12_306, crd_technical

import fhir_builders as fb

runner = CliRunner()
NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.timezone.utc)
TODAY = dt.date(2026, 3, 2)

OLD_MRI = [fb.procedure("p1", "70553", "2025-10-10", report="DiagnosticReport/r1"),
           fb.report("r1", "2025-10-10", inconclusive=True)]
APPROVE = OLD_MRI + [fb.questionnaire_response(fb.qr_items([
    {"linkId": "findings.glioma", "value": True},
    {"linkId": "findings.glioma_grading", "value": True}]))]
PEND = [fb.procedure("p1", "70553", "2025-10-10")]             # result undocumented
DENY = OLD_MRI + [fb.device("d1", "14106009", "C106047")]       # MR-unsafe pacemaker


def _pas(resources, items=None, diagnoses=("C71.1",)):
    items = items or [fb.claim_item("2026-03-02", site="12738006")]
    bundle = fb.pas_bundle(items, list(resources), list(diagnoses))
    pairs = fhir.evaluate(bundle)
    response = fhir.pas_response(bundle, [c for c, _ in pairs], [a for _, a in pairs], now=NOW)
    validate_resource(response)
    return bundle, pairs, response


def _review(item):
    (adjudication,) = item["adjudication"]
    assert adjudication["category"]["coding"][0]["code"] == "submitted"
    (extension,) = [e for e in adjudication.get("extension", []) if e["url"] == REVIEW_ACTION]
    code = extension["extension"][0]["valueCodeableConcept"]["coding"][0]
    assert code["system"] == X12_306
    return code["code"], {e["url"]: e for e in extension["extension"][1:]}


def test_success_pas_approved_is_a1_with_an_authorization_number():
    _, pairs, response = _pas(APPROVE)
    assert pairs[0][1].determination == "approved"
    claim_response = response["entry"][0]["resource"]
    assert claim_response["resourceType"] == "ClaimResponse"
    assert (claim_response["status"], claim_response["use"], claim_response["outcome"]) == \
        ("active", "preauthorization", "complete")
    assert claim_response["request"]["reference"] == "urn:uuid:claim-1"
    assert claim_response["patient"] == {"reference": "urn:uuid:patient-1"}
    code, parts = _review(claim_response["item"][0])
    assert code == "A1" and parts["number"]["valueString"] == claim_response["preAuthRef"]
    assert response["type"] == "collection"


def test_success_pas_pended_is_a4_with_the_questionnaire_of_what_is_missing():
    bundle, pairs, response = _pas(PEND)
    case, answer = pairs[0]
    assert answer.determination == "denied" and answer.missing
    claim_response = response["entry"][0]["resource"]
    code, _ = _review(claim_response["item"][0])
    assert code == "A4"
    (note,) = claim_response["processNote"]
    assert "imaging[0].result = \"inconclusive\"" in note["text"]
    resources = {e["fullUrl"]: e["resource"] for e in response["entry"]}
    (cr_ref,) = claim_response["communicationRequest"]
    cr = resources[cr_ref["reference"]]
    assert cr["payload"] == [{"contentString": "102089-0"}]
    questionnaire = resources[cr["about"][0]["reference"]]
    assert questionnaire["resourceType"] == "Questionnaire"
    required, one_of = questionnaire["item"]
    assert required["linkId"] == "missing.required"
    assert [i["linkId"] for i in required["item"]] == ["imaging"]
    assert one_of["linkId"] == "missing.one-of"
    assert "findings.brain_tumor_evaluation" in [i["linkId"] for i in one_of["item"]]


def test_success_pas_not_certified_is_a3_with_the_specific_reason():
    _, pairs, response = _pas(DENY)
    assert pairs[0][1].non_indications == ["incompatible_device"]
    assert pairs[0][1].missing == []
    claim_response = response["entry"][0]["resource"]
    code, parts = _review(claim_response["item"][0])
    assert code == "A3"
    assert parts["reasonCode"]["valueCodeableConcept"]["coding"][0]["code"] == \
        "incompatible_device"
    (note,) = claim_response["processNote"]
    assert "incompatible_device" in note["text"] and "/entry/7/resource" in note["text"]
    assert "MR safety" in note["text"] or "pacemaker" in note["text"].lower()


def test_success_pas_two_items_one_not_applicable():
    items = [fb.claim_item("2026-03-02", site="12738006"), fb.claim_item("2026-03-02", "70553")]
    _, pairs, response = _pas(APPROVE, items=items)
    assert [a.determination for _, a in pairs] == ["approved", "not_applicable"]
    first, second = response["entry"][0]["resource"]["item"]
    assert (first["itemSequence"], second["itemSequence"]) == (1, 2)
    assert "extension" not in second["adjudication"][0]
    notes = {n["number"]: n["text"] for n in response["entry"][0]["resource"]["processNote"]}
    assert "does not apply to 70553" in notes[second["noteNumber"][0]]


def _crd(resources, orders=None, reasons=("C71.1",)):
    orders = orders or [fb.service_request("sr1", "2026-03-02", reasons=list(reasons))]
    request = fb.crd_request(orders, list(resources))
    pairs = fhir.evaluate(request)
    response = fhir.crd_response(request, [c for c, _ in pairs], [a for _, a in pairs],
                                 today=TODAY)
    validate_crd_response(response)
    return pairs, response


def _coverage(action):
    (ext,) = [e for e in action["resource"]["extension"] if e["url"] == COVERAGE_INFORMATION]
    out = {}
    for part in ext["extension"]:
        out[part["url"]] = next(v for k, v in part.items() if k != "url")
    return out


@pytest.mark.parametrize("resources,covered,pa,cards", [
    (APPROVE, "covered", "auth-needed", []),
    (PEND, "conditional", "auth-needed", ["info"]),
    (DENY, "not-covered", None, ["warning"])])
def test_success_crd_rows(resources, covered, pa, cards):
    pairs, response = _crd(resources)
    (action,) = response["systemActions"]
    info = _coverage(action)
    assert info["covered"] == covered and info.get("pa-needed") == pa
    assert [c["indicator"] for c in response["cards"]] == cards
    assert info["coverage"] == {"reference": "Coverage/cov1"}
    assert info["date"] == "2026-03-02"
    if covered == "covered":
        assert (info["doc-needed"], info["doc-purpose"]) == ("clinical", "withpa")
        assert info["questionnaire"].split("|")[0].endswith("/Questionnaire/mrs-76390")
    if covered == "conditional":
        assert info["info-needed"] == "OTH"
        assert "-missing-" in info["questionnaire"]
    if covered == "not-covered":
        assert "doc-needed" not in info and "incompatible_device" in info["reason"]["text"]
    # the update adds only the extension
    order = dict(action["resource"])
    order.pop("extension")
    assert order == fb.service_request("sr1", "2026-03-02", reasons=["C71.1"])


def test_success_crd_not_applicable_has_no_coverage_information_and_ids_are_unique():
    orders = [fb.service_request("sr1", "2026-03-02", reasons=["C71.1"]),
              fb.service_request("sr2", "2026-03-02", cpt="70553"),
              fb.service_request("sr3", "2026-03-02", reasons=["C71.1"])]
    _, response = _crd(PEND, orders=orders)
    assert [a["resource"]["id"] for a in response["systemActions"]] == ["sr1", "sr3"]
    ids = [_coverage(a)["coverage-assertion-id"] for a in response["systemActions"]]
    assert len(set(ids)) == 2


def test_success_crd_technical_failure_is_indeterminate():
    request = fb.crd_request([fb.service_request("sr1", "2026-03-02")], [])
    response = crd_technical(request, "the knowledge base could not be loaded", today=TODAY)
    validate_crd_response(response)
    info = _coverage(response["systemActions"][0])
    assert info["covered"] == "indeterminate"
    assert info["reason"]["coding"][0]["code"] == "technical"


def test_fail_the_invariant_checker_catches_each_broken_row():
    good = {"url": COVERAGE_INFORMATION, "extension": [
        {"url": "coverage", "valueReference": {"reference": "Coverage/1"}},
        {"url": "covered", "valueCode": "not-covered"},
        {"url": "date", "valueDate": "2026-03-02"},
        {"url": "coverage-assertion-id", "valueString": "x"}]}
    assert crd_invariant_errors(good) == []
    broken = copy.deepcopy(good)
    broken["extension"].append({"url": "pa-needed", "valueCode": "auth-needed"})
    assert any("q2" in e for e in crd_invariant_errors(broken))
    broken = copy.deepcopy(good)
    broken["extension"][1]["valueCode"] = "conditional"
    assert any("q3" in e for e in crd_invariant_errors(broken))
    broken = copy.deepcopy(good)
    broken["extension"].append({"url": "questionnaire", "valueCanonical": "http://x"})
    assert any("q1" in e for e in crd_invariant_errors(broken))
    with pytest.raises(ValidationError):
        validate_crd_response({"cards": [{"summary": "x" * 140, "indicator": "info",
                                          "source": {"label": "l"}}]})


def test_success_card_summaries_stay_under_140():
    from mrs_asp.fhir.write import card_summary
    assert len(card_summary("word " * 60)) < 140


# ----------------------------------------------------------------------------
# the questionnaires (F1)


def test_success_the_questionnaire_validates_and_follows_f1():
    q = fhir.questionnaire()
    validate_resource(q)
    assert q["url"] == "http://example.org/mrs-asp/Questionnaire/mrs-76390"
    assert q["version"].startswith("2+") and q["status"] == "active"
    assert q["meta"]["profile"] == [
        "http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/dtr-std-questionnaire"]
    items = {i["linkId"]: i for i in q["item"]}
    assert items["findings.glioma"]["type"] == "boolean"
    assert items["request.contrast"]["type"] == "boolean"
    symptoms = items["findings.symptoms"]
    assert symptoms["type"] == "choice"
    assert [o["valueCoding"]["code"] for o in symptoms["answerOption"]] == \
        ["new", "worsening", "unchanged"]
    assert symptoms["answerOption"][0]["valueCoding"]["system"] == \
        "http://example.org/mrs-asp/CodeSystem/findings.symptoms"
    for group in ("imaging", "implants", "foreign_bodies"):
        assert items[group]["type"] == "group" and items[group]["repeats"] is True
    children = {i["linkId"]: i for i in items["imaging"]["item"]}
    assert children["imaging.date"]["type"] == "date"
    assert {"implants.mr_status", "implants.metallic"} <= {i["linkId"] for i in
                                                           items["implants"]["item"]}
    # enableWhen where the guideline asks (FHIR.md F1)
    on = lambda link: sorted((w["question"], w.get("answerBoolean", w.get(
        "answerCoding", {}).get("code"))) for w in items[link].get("enableWhen", []))
    neoplasm = [("findings.brain_mass", True), ("findings.brain_tumor", True),
                ("findings.glioma", True)]
    assert on("findings.glioma_grading") == neoplasm
    assert on("findings.brain_tumor_evaluation") == neoplasm
    assert on("findings.recurrence_vs_radiation_necrosis") == neoplasm
    assert on("findings.repeat_influences_treatment") == [("findings.symptoms", "new"),
                                                          ("findings.symptoms", "worsening")]
    assert on("findings.clarifying_follow_up_done") == [
        ("findings.prior_indeterminate_finding", True)]
    assert on("patient.gadolinium_contraindicated") == [("patient.renal_insufficiency", True)]
    assert items["findings.glioma_grading"]["enableBehavior"] == "any"
    # the guideline's words of the criterion that reads it
    words = items["findings.glioma_grading"]["item"][0]["text"]
    assert "Grading of primary glial neoplasm" in words


def test_success_the_questionnaire_of_what_is_missing_for_a_plain_case(tmp_path):
    case = {"id": "x", "request": {"cpt": "76390", "date": "2026-03-02", "body_region": "brain"},
            "findings": {"glioma": True, "glioma_grading": True}}
    path = tmp_path / "x.json"
    path.write_text(json.dumps(case))
    result = runner.invoke(app, ["questionnaire", str(path)])
    assert result.exit_code == 0, result.output
    q = json.loads(result.stdout)
    validate_resource(q)
    groups = [g["linkId"] for g in q["item"]]
    assert groups[0] == "missing.required"
    required = q["item"][0]["item"]
    assert required[0]["linkId"] == "imaging"
    result = runner.invoke(app, ["questionnaire"])
    assert json.loads(result.stdout)["id"] == "mrs-76390"


def test_success_cli_format_pas_and_crd(tmp_path):
    bundle = fb.pas_bundle([fb.claim_item("2026-03-02", site="12738006")], PEND, ["C71.1"])
    path = tmp_path / "pas.json"
    path.write_text(json.dumps(bundle))
    result = runner.invoke(app, ["evaluate", str(path), "--format", "pas"])
    assert result.exit_code == 0, result.output
    validate_resource(json.loads(result.stdout))
    request = fb.crd_request([fb.service_request("sr1", "2026-03-02", reasons=["C71.1"])], PEND)
    crd = tmp_path / "crd.json"
    crd.write_text(json.dumps(request))
    result = runner.invoke(app, ["evaluate", str(crd), "--format", "crd"])
    validate_crd_response(json.loads(result.stdout))
    result = runner.invoke(app, ["evaluate", str(crd), "--format", "pas"])
    assert result.exit_code == 2 and "--format pas answers a PAS request Bundle" in result.stderr


def test_success_every_field_the_rules_read_is_asked():
    from mrs_asp.fhir.fields import case_fields
    q = fhir.questionnaire()
    asked = {i["linkId"] for i in q["item"]} | {
        c["linkId"] for i in q["item"] if i["type"] == "group" for c in i["item"]
        if c["type"] != "display"}
    # From the order itself (F2), or read by no rule (kb/00_case_facts.lp NOT ENCODED).
    not_asked = {"request.cpt", "request.date", "request.body_region", "request.setting",
                 "patient.age_years", "patient.age_days"}
    fields = {f.link_id for f in case_fields()}
    assert asked - {"imaging", "implants", "foreign_bodies"} == fields - not_asked


def test_success_no_questionnaire_of_what_is_missing_when_nothing_is():
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "cases" / "fhir" / "19-pas-two-items-mrs-and-mri.json"
    result = runner.invoke(app, ["questionnaire", str(path)])
    assert result.exit_code == 0 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("mrs-asp: PA-2026-19/1: approved: nothing is missing")
    assert lines[1].startswith("mrs-asp: PA-2026-19/2: not applicable: nothing is missing")
    (case, answer), _ = fhir.evaluate(json.load(open(path)))
    with pytest.raises(ValueError, match="nothing is missing"):
        fhir.questionnaire(case=case, answer=answer)
