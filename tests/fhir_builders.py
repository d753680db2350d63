"""Small builders of FHIR inputs for the tests: PAS request Bundles and CDS Hooks
requests, resource by resource, plus a writer of a whole case as FHIR (every
fact through the resource FHIR.md F2 reads it from, the rest through the
guideline's QuestionnaireResponse)."""

from __future__ import annotations

import copy
from typing import Any

CPT = "http://www.ama-assn.org/go/cpt"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
SCT = "http://snomed.info/sct"
NCI = "urn:oid:2.16.840.1.113883.3.26.1.1"
QUESTIONNAIRE = "http://example.org/mrs-asp/Questionnaire/mrs-76390"

PATIENT = {"resourceType": "Patient", "id": "pat1", "birthDate": "1971-05-04",
           "name": [{"family": "Rivera", "given": ["Ana"]}], "gender": "female"}
REGION_SITES = {"brain": "12738006", "spine": "421060004", "head_neck": "774007",
                "extremity": "66019005", "chest": "51185008", "abdomen": "113345001",
                "pelvis": "12921003", "other": "39607008"}
DEVICE_TYPES = {"pacemaker": "14106009", "defibrillator": "72506001",
                "cardiac_valve": "25510005", "cochlear_implant": "43252007"}
MR_CODES = {"safe": "C106045", "conditional": "C106046", "unsafe": "C106047",
            "unknown": "C113844"}
STUDY_CPT = {("MRI", "brain"): "70553", ("CT", "brain"): "70450", ("PET", "brain"): "78608",
             ("MRI", "spine"): "72148", ("MRI", "head_neck"): "70543",
             ("CT", "head_neck"): "70490", ("MRS", "brain"): "76390"}


def concept(system: str, code: str, display: str | None = None) -> dict:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def condition(cid: str, code: str, clinical: str = "active",
              verification: str = "confirmed", patient: str = "Patient/pat1") -> dict:
    return {"resourceType": "Condition", "id": cid,
            "clinicalStatus": concept("http://terminology.hl7.org/CodeSystem/"
                                      "condition-clinical", clinical),
            "verificationStatus": concept("http://terminology.hl7.org/CodeSystem/"
                                          "condition-ver-status", verification),
            "code": concept(ICD, code), "subject": {"reference": patient}}


def device(did: str, type_code: str | None, safety: str | None = None,
           patient: str = "Patient/pat1", system: str = NCI) -> dict:
    out: dict[str, Any] = {"resourceType": "Device", "id": did, "status": "active",
                           "patient": {"reference": patient}}
    if type_code is not None:
        out["type"] = concept(SCT, type_code)
    if safety is not None:
        out["safety"] = [concept(system, safety)]
    return out


def procedure(pid: str, cpt: str, date: str, report: str | None = None,
              patient: str = "Patient/pat1", body_site: str | None = None) -> dict:
    out: dict[str, Any] = {"resourceType": "Procedure", "id": pid, "status": "completed",
                           "code": concept(CPT, cpt), "subject": {"reference": patient},
                           "performedDateTime": date}
    if report:
        out["report"] = [{"reference": report}]
    if body_site:
        out["bodySite"] = [concept(SCT, body_site)]
    return out


def report(rid: str, date: str, inconclusive: bool = False, code: dict | None = None,
           patient: str = "Patient/pat1") -> dict:
    out: dict[str, Any] = {"resourceType": "DiagnosticReport", "id": rid, "status": "final",
                           "code": code or concept("http://loinc.org", "24590-2",
                                                   "MR Brain"),
                           "subject": {"reference": patient}, "effectiveDateTime": date}
    if inconclusive:
        out["conclusionCode"] = [concept(SCT, "419984006", "Inconclusive")]
    return out


def _answer(value: Any, link_id: str) -> dict:
    if isinstance(value, bool):
        return {"valueBoolean": value}
    if isinstance(value, int):
        return {"valueInteger": value}
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and link_id.endswith("date"):
        return {"valueDate": value}
    return {"valueCoding": {"system": f"http://example.org/mrs-asp/CodeSystem/{link_id}",
                            "code": value}}


def qr_items(answers: list[dict]) -> list[dict]:
    """``answers`` as cite.py writes them -> QuestionnaireResponse items."""
    out = []
    for a in answers:
        if "item" in a:
            out.append({"linkId": a["linkId"], "item": qr_items(a["item"])})
        else:
            out.append({"linkId": a["linkId"], "answer": [_answer(a["value"], a["linkId"])]})
    return out


def questionnaire_response(items: list[dict], qid: str = "qr1",
                           patient: str = "Patient/pat1") -> dict:
    return {"resourceType": "QuestionnaireResponse", "id": qid, "status": "completed",
            "questionnaire": QUESTIONNAIRE + "|2", "subject": {"reference": patient},
            "item": items}


def pas_bundle(items: list[dict], resources: list[dict], diagnoses: list[str] = (),
               identifier: str = "PA-1", patient: dict = PATIENT) -> dict:
    """A PAS request Bundle: the Claim (items given as dicts of Claim.item
    fields beyond sequence), the Patient, an insurer, a Coverage, then ``resources``."""
    claim_items = []
    for i, item in enumerate(items, 1):
        claim_items.append({"sequence": i, **item})
    claim = {
        "resourceType": "Claim", "id": "claim1", "status": "active", "use": "preauthorization",
        "identifier": [{"system": "http://example.org/provider/pa", "value": identifier}],
        "type": concept("http://terminology.hl7.org/CodeSystem/claim-type", "professional"),
        "patient": {"reference": "urn:uuid:patient-1"}, "created": "2026-03-01",
        "insurer": {"reference": "urn:uuid:insurer-1"},
        "provider": {"reference": "urn:uuid:provider-1"},
        "priority": concept("http://terminology.hl7.org/CodeSystem/processpriority", "normal"),
        "insurance": [{"sequence": 1, "focal": True,
                       "coverage": {"reference": "urn:uuid:coverage-1"}}],
        "item": claim_items,
    }
    if diagnoses:
        claim["diagnosis"] = [{"sequence": j, "diagnosisCodeableConcept": concept(ICD, code)}
                              for j, code in enumerate(diagnoses, 1)]
    entries = [
        {"fullUrl": "urn:uuid:claim-1", "resource": claim},
        {"fullUrl": "urn:uuid:patient-1", "resource": copy.deepcopy(patient)},
        {"fullUrl": "urn:uuid:insurer-1", "resource": {
            "resourceType": "Organization", "id": "payer1", "name": "Example Health Plan"}},
        {"fullUrl": "urn:uuid:provider-1", "resource": {
            "resourceType": "Organization", "id": "prov1", "name": "Lakeside Neurology"}},
        {"fullUrl": "urn:uuid:coverage-1", "resource": {
            "resourceType": "Coverage", "id": "cov1", "status": "active",
            "beneficiary": {"reference": "urn:uuid:patient-1"},
            "payor": [{"reference": "urn:uuid:insurer-1"}]}},
    ]
    for resource in resources:
        entries.append({"fullUrl": f"urn:uuid:{resource['resourceType'].lower()}-"
                                   f"{resource['id']}", "resource": resource})
    return {"resourceType": "Bundle", "id": f"bundle-{identifier}", "type": "collection",
            "identifier": {"system": "http://example.org/provider/bundles",
                           "value": f"B-{identifier}"},
            "timestamp": "2026-03-01T09:00:00Z", "entry": entries}


def claim_item(date: str, cpt: str = "76390", site: str | None = None) -> dict:
    item: dict[str, Any] = {"productOrService": concept(CPT, cpt), "servicedDate": date}
    if site:
        item["bodySite"] = concept(SCT, site)
    return item


def service_request(sid: str, date: str, cpt: str = "76390", site: str | None = None,
                    reasons: list[str] = ()) -> dict:
    out: dict[str, Any] = {"resourceType": "ServiceRequest", "id": sid, "status": "draft",
                           "intent": "order", "code": concept(CPT, cpt),
                           "subject": {"reference": "Patient/pat1"},
                           "occurrenceDateTime": date}
    if site:
        out["bodySite"] = [concept(SCT, site)]
    if reasons:
        out["reasonCode"] = [concept(ICD, code) for code in reasons]
    return out


def crd_request(orders: list[dict], resources: list[dict], hook: str = "order-sign",
                patient: dict = PATIENT) -> dict:
    prefetch: dict[str, Any] = {
        "patient": copy.deepcopy(patient),
        "coverage": {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": {
            "resourceType": "Coverage", "id": "cov1", "status": "active",
            "beneficiary": {"reference": "Patient/pat1"},
            "payor": [{"reference": "Organization/payer1"}]}}]},
    }
    if resources:
        prefetch["records"] = {"resourceType": "Bundle", "type": "searchset",
                               "entry": [{"resource": r} for r in resources]}
    return {"hook": hook, "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
            "fhirServer": "https://ehr.example.org/fhir",
            "context": {"userId": "PractitionerRole/pr1", "patientId": "pat1",
                        "draftOrders": {"resourceType": "Bundle", "type": "collection",
                                        "entry": [{"resource": o} for o in orders]}},
            "prefetch": prefetch}


def case_as_answers(case: dict) -> list[dict]:
    """Every documented fact of a case (but request.cpt/date/body_region) as
    questionnaire answers in the form cite.py writes them."""
    out: list[dict] = []
    for container in ("request", "patient", "findings"):
        for name, value in (case.get(container) or {}).items():
            if container == "request" and name in ("cpt", "date", "body_region"):
                continue
            out.append({"linkId": f"{container}.{name}", "value": value})
    for group in ("imaging", "implants", "foreign_bodies"):
        for entry in case.get(group) or []:
            out.append({"linkId": group, "item": [
                {"linkId": f"{group}.{k}", "value": v} for k, v in entry.items()]})
    return out


def case_as_pas(case: dict, identifier: str = "PA-1") -> dict:
    """A plain case written as a PAS request Bundle that reads back to the same
    facts: the request from the Claim item, everything else from the
    questionnaire (no birthDate, so no age is derived)."""
    request = case["request"]
    item = claim_item(request["date"], request["cpt"], REGION_SITES[request["body_region"]])
    patient = {k: v for k, v in PATIENT.items() if k != "birthDate"}
    resources = [questionnaire_response(qr_items(case_as_answers(case)))]
    return pas_bundle([item], resources, identifier=identifier, patient=patient)


_RESOURCE_STUDIES = {k: v for k, v in STUDY_CPT.items()}
_KIND_OF_TYPE = {v: k for k, v in DEVICE_TYPES.items()}


def case_as_resources(case: dict, identifier: str = "PA-1") -> dict:
    """A plain case as a PAS request Bundle that reads back to the same facts,
    through the resources FHIR.md F2 reads where one exists (a Procedure and a
    linked DiagnosticReport per study, a Device per cardiac implant or cochlear
    implant, a diagnosis per finding of table F3) and the questionnaire for
    the rest."""
    request = case["request"]
    item = claim_item(request["date"], request["cpt"], REGION_SITES[request["body_region"]])
    patient = {k: v for k, v in PATIENT.items() if k != "birthDate"}
    resources: list[dict] = []
    answers: list[dict] = []
    rest = {k: v for k, v in case.items() if k not in ("imaging", "implants")}
    for i, study in enumerate(case.get("imaging") or []):
        cpt = STUDY_CPT.get((study["modality"], study["body_region"]))
        if cpt is None or study.get("result") == "conclusive":
            answers.append({"linkId": "imaging", "item": [
                {"linkId": f"imaging.{k}", "value": v} for k, v in study.items()]})
            continue
        resources.append(procedure(f"p{i}", cpt, study["date"], report=f"DiagnosticReport/r{i}"))
        resources.append(report(f"r{i}", study["date"], study.get("result") == "inconclusive"))
    implants = case.get("implants") or []
    # A questionnaire implant entry is the Device of its kind: a kind goes all
    # through Devices or all through the questionnaire.
    by_questionnaire = {i["kind"] for i in implants
                        if i["kind"] not in DEVICE_TYPES or "metallic" in i}
    for i, implant in enumerate(implants):
        code = DEVICE_TYPES.get(implant["kind"])
        if implant["kind"] in by_questionnaire:
            answers.append({"linkId": "implants", "item": [
                {"linkId": f"implants.{k}", "value": v} for k, v in implant.items()]})
            continue
        resources.append(device(f"d{i}", code, MR_CODES.get(implant.get("mr_status"))))
    answers = case_as_answers(rest) + answers
    resources.append(questionnaire_response(qr_items(answers)))
    return pas_bundle([item], resources, identifier=identifier, patient=patient)
