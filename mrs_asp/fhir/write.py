"""Answers written as FHIR (FHIR.md F6): the PAS response Bundle and the CDS
Hooks (CRD) response.

Plain JSON is built here; nothing imports ``fhir.resources`` (the tests
validate what is written with its R4B models, see ``validate.py``).

Review actions (PAS 2.2.1, ``extension-reviewAction`` on each
``ClaimResponse.item.adjudication`` with category ``submitted``; codes of
``https://codesystem.x12.org/005010/306``):

* approved -> ``A1`` with an authorization ``number``, and ``preAuthRef``;
* denied with something missing -> ``A4`` (pended), a ``processNote`` saying
  what would approve it, and a ``CommunicationRequest`` (payload LOINC
  ``102089-0``, "questionnaire", ``about`` the Questionnaire of what is
  missing, which the Bundle carries);
* denied with nothing that could approve it -> ``A3``, with ``reasonCode``
  and a ``processNote`` giving each reason in the guideline's words and its
  evidence;
* not_applicable -> no review action: a ``processNote`` says the guideline
  does not apply to the code.

READING: ``reasonCode`` is bound to X12 code list 886, which X12 licenses and
the guide does not list; the code written is the criterion id in this
guideline's own code system (``{base}/CodeSystem/criterion``), with the
guideline's words as text. A payer that maps criteria to X12 886 codes adds
that coding.

CRD (2.2.1): the coverage information is a ``systemAction`` of type
``update`` on the draft ServiceRequest, adding only ``ext-coverage-
information``; cards only as FHIR.md's table says. The invariant crd-ci-q8
("doc-purpose ... implies reason") makes a ``reason`` necessary for the
approved and the pended rows too, where FHIR.md's table lists none: it says in
words why the questionnaire is asked.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import uuid
from typing import Any

from ..kb import GUIDELINE_VERSION
from .dtr import DEFAULT_BASE, missing_url, questionnaire, questionnaire_url

__all__ = ["crd_response", "crd_technical", "pas_response", "card_summary",
           "REVIEW_ACTION", "COVERAGE_INFORMATION"]

REVIEW_ACTION = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-reviewAction"
REVIEW_ACTION_CODE = ("http://hl7.org/fhir/us/davinci-pas/StructureDefinition/"
                      "extension-reviewActionCode")
SERVICE_LINE = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-serviceLineNumber"
X12_306 = "https://codesystem.x12.org/005010/306"
ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"
COVERAGE_INFORMATION = ("http://hl7.org/fhir/us/davinci-crd/StructureDefinition/"
                        "ext-coverage-information")
CRD_TEMP = "http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp"
LOINC = "http://loinc.org"
PAS_RESPONSE_BUNDLE = ("http://hl7.org/fhir/us/davinci-pas/StructureDefinition/"
                       "profile-pas-response-bundle")
PAS_CLAIM_RESPONSE = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/profile-claimresponse"
PAS_COMMUNICATION_REQUEST = ("http://hl7.org/fhir/us/davinci-pas/StructureDefinition/"
                             "profile-communicationrequest")
GUIDELINE = "Magnetic Resonance (MR) Spectroscopy"

_ACTIONS = {"A1": "Certified in total", "A3": "Not Certified", "A4": "Pended"}


def _now(now: _dt.datetime | None) -> _dt.datetime:
    return (now or _dt.datetime.now(_dt.timezone.utc)).replace(microsecond=0)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _uuid(*parts: str) -> str:
    """A urn:uuid derived from ``parts``: the same input gives the same answer."""
    return f"urn:uuid:{uuid.UUID(_digest(*parts)[:32])}"


# --------------------------------------------------------------------------
# The specific reasons, in words


def _reason_lines(answer) -> list[str]:
    """Each non-indication that holds, or else the failing criteria, with the
    guideline's words and the evidence (pointers into the FHIR input)."""
    lines = []

    def walk(node: dict, depth: int) -> None:
        evidence = f" [evidence: {', '.join(node['evidence'])}]" if node["evidence"] else ""
        status = {"met": "holds", "not_met": "not met",
                  "not_documented": "not documented"}.get(node.get("status"), "")
        lines.append(f"{'  ' * depth}{node['criterion']} ({status}): \"{node['text']}\""
                     f"{evidence}")
        for child in node["children"]:
            walk(child, depth + 1)

    for child in answer.explanation["children"]:
        walk(child, 0)
    return lines


def _denial_text(answer) -> str:
    if answer.non_indications:
        head = ("Not certified: the request meets a non-indication of the guideline "
                f"'{GUIDELINE}' (version {GUIDELINE_VERSION}): "
                + ", ".join(answer.non_indications) + ".")
    else:
        head = (f"Not certified: the request meets no indication of the guideline "
                f"'{GUIDELINE}' (version {GUIDELINE_VERSION}).")
    why = ""
    if answer.why_nothing_missing:
        why = " No documentation can change this: " + "; ".join(
            r["text"] + (f" [{', '.join(r['evidence'])}]" if r["evidence"] else "")
            for r in answer.why_nothing_missing) + "."
    return head + why + " " + " | ".join(_reason_lines(answer))


def _missing_text(answer, verdict: str = "Pended") -> str:
    ways = answer.missing
    which = "the following way" if len(ways) == 1 else f"one of the following {len(ways)} ways"
    head = (f"{verdict}: the request does not yet meet the guideline '{GUIDELINE}' "
            f"(version {GUIDELINE_VERSION}); documenting {which} would approve it "
            "(the attached questionnaire asks for exactly these answers): ")
    return head + " | ".join(f"{i}. {alt['text']}" for i, alt in enumerate(ways, 1))


def _not_applicable_text(case) -> str:
    return (f"The guideline '{GUIDELINE}' (version {GUIDELINE_VERSION}) applies to CPT 76390 "
            f"only; it does not apply to {case.case.request.cpt}. No determination is made "
            "under it.")


def _approved_text(answer, verdict: str = "Certified") -> str:
    met = [c for c in answer.criteria if c not in ("applies", "indicated")]
    return (f"{verdict}: the request meets the guideline '{GUIDELINE}' (version "
            f"{GUIDELINE_VERSION}): " + ", ".join(met) + ".")


def card_summary(text: str, limit: int = 139) -> str:
    """A card summary under 140 characters (CDS Hooks), cut at a word."""
    if len(text) <= limit:
        return text
    cut = text[:limit - 1].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"


# --------------------------------------------------------------------------
# PAS


def _entry_for(doc: dict, reference: Any) -> dict | None:
    target = reference.get("reference") if isinstance(reference, dict) else None
    for entry in doc.get("entry") or []:
        resource = entry.get("resource") or {}
        if target and (entry.get("fullUrl") == target or
                       f"{resource.get('resourceType')}/{resource.get('id')}" == target
                       or target.endswith(f"/{resource.get('resourceType')}/"
                                          f"{resource.get('id')}")):
            return entry
    return None


def _review_action(code: str, number: str | None = None,
                   reason: tuple[str, str, str] | None = None) -> dict:
    parts: list[dict] = [{"url": REVIEW_ACTION_CODE, "valueCodeableConcept": {"coding": [
        {"system": X12_306, "code": code, "display": _ACTIONS[code]}]}}]
    if number:
        parts.append({"url": "number", "valueString": number})
    if reason:
        system, rcode, text = reason
        parts.append({"url": "reasonCode", "valueCodeableConcept": {
            "coding": [{"system": system, "code": rcode}], "text": text}})
    return {"url": REVIEW_ACTION, "extension": parts}


def pas_response(bundle: dict, cases: list, answers: list, *, base: str = DEFAULT_BASE,
                 now: _dt.datetime | None = None, kb=None) -> dict:
    """The PAS response Bundle for a PAS request ``bundle``, its ``cases``
    (``mrs_asp.fhir.read``) and their (cited) ``answers``, in the same order."""
    from ..answer import engine_for
    fingerprint = engine_for(kb).kb.fingerprint
    created = _now(now)
    claim_entry = bundle["entry"][0]
    claim = claim_entry["resource"]
    claim_url = claim_entry.get("fullUrl") or f"Claim/{claim.get('id')}"
    claim_key = cases[0].id.rsplit("/", 1)[0] if cases else str(claim.get("id"))
    entries: list[dict] = []
    copied: list[dict] = []
    for ref in (claim.get("patient"), claim.get("insurer"), claim.get("provider")):
        found = _entry_for(bundle, ref)
        if found is not None and found not in copied:
            copied.append(found)
    items, notes, communication = [], [], []
    approved_numbers = []

    def note(text: str) -> int:
        notes.append({"number": len(notes) + 1, "type": "display", "text": text})
        return len(notes)

    for case, answer in zip(cases, answers):
        sequence = int(case.item_pointer.rsplit("/", 1)[-1]) + 1
        item = claim["item"][sequence - 1]
        sequence = item.get("sequence", sequence)
        adjudication: dict = {"category": {"coding": [{"system": ADJUDICATION,
                                                        "code": "submitted"}]}}
        out_item: dict = {"itemSequence": sequence, "adjudication": [adjudication]}
        if answer.determination == "approved":
            number = f"MRS-{_digest(claim_key, str(sequence), fingerprint)[:12].upper()}"
            approved_numbers.append(number)
            adjudication["extension"] = [_review_action("A1", number)]
            out_item["noteNumber"] = [note(_approved_text(answer))]
        elif answer.determination == "denied" and answer.missing:
            adjudication["extension"] = [_review_action("A4")]
            out_item["noteNumber"] = [note(_missing_text(answer))]
            q = questionnaire(case=case, answer=answer, base=base, kb=kb)
            q_url = _uuid("questionnaire", claim_key, str(sequence), q["url"])
            entries.append({"fullUrl": q_url, "resource": q})
            cr = {
                "resourceType": "CommunicationRequest",
                "id": f"pended-{sequence}",
                "meta": {"profile": [PAS_COMMUNICATION_REQUEST]},
                "extension": [{"url": SERVICE_LINE, "valuePositiveInt": sequence}],
                "identifier": [{"system": f"{base}/questionnaire-context",
                                "value": q["id"]}],
                "status": "active",
                "subject": claim.get("patient"),
                "about": [{"reference": q_url, "display": q["title"]}],
                "payload": [{"contentString": "102089-0"}],
                "authoredOn": created.isoformat(),
            }
            if claim.get("insurer"):
                cr["requester"] = claim["insurer"]
            if claim.get("provider"):
                cr["recipient"] = [claim["provider"]]
            cr_url = _uuid("communication-request", claim_key, str(sequence), q["url"])
            entries.append({"fullUrl": cr_url, "resource": cr})
            communication.append({"reference": cr_url})
        elif answer.determination == "denied":
            reason = answer.non_indications[0] if answer.non_indications else "indicated"
            words = _reason_lines(answer)
            adjudication["extension"] = [_review_action(
                "A3", reason=(f"{base}/CodeSystem/criterion", reason,
                              "; ".join(words[:3])))]
            out_item["noteNumber"] = [note(_denial_text(answer))]
        else:
            out_item["noteNumber"] = [note(_not_applicable_text(case))]
        items.append(out_item)
    response: dict = {
        "resourceType": "ClaimResponse",
        "id": f"response-{_digest(claim_key)[:12]}",
        "meta": {"profile": [PAS_CLAIM_RESPONSE]},
        "identifier": [{"system": f"{base}/claim-response",
                        "value": f"{claim_key}-{_digest(claim_key, fingerprint)[:8]}"}],
        "status": "active",
        "type": claim.get("type") or {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/claim-type",
            "code": "professional"}]},
        "use": "preauthorization",
        "patient": claim.get("patient"),
        "created": created.isoformat(),
        "insurer": claim.get("insurer") or {"display": "the payer"},
        "request": {"reference": claim_url, **({"identifier": claim["identifier"][0]}
                                                if claim.get("identifier") else {})},
        "outcome": "complete",
        "item": items,
        "processNote": notes,
    }
    if claim.get("provider"):
        response["requestor"] = claim["provider"]
    if approved_numbers:
        response["preAuthRef"] = approved_numbers[0] if len(approved_numbers) == 1 else \
            f"MRS-{_digest(claim_key, *approved_numbers)[:12].upper()}"
    if communication:
        response["communicationRequest"] = communication
    identifier = bundle.get("identifier") or {"system": f"{base}/bundles", "value": claim_key}
    return {
        "resourceType": "Bundle",
        "id": f"pas-response-{_digest(claim_key, created.isoformat())[:12]}",
        "meta": {"profile": [PAS_RESPONSE_BUNDLE]},
        "identifier": identifier,
        "type": "collection",
        "timestamp": created.isoformat(),
        "entry": [{"fullUrl": _uuid("claim-response", claim_key, fingerprint),
                   "resource": response}, *entries, *copied, claim_entry],
    }


# --------------------------------------------------------------------------
# CRD


def _coverage_reference(request: dict) -> dict | None:
    prefetch = request.get("prefetch") or {}
    found = []

    def look(value: Any) -> None:
        if isinstance(value, dict):
            if value.get("resourceType") == "Coverage" and value.get("id"):
                found.append(value)
            elif value.get("resourceType") == "Bundle":
                for entry in value.get("entry") or []:
                    look(entry.get("resource") if isinstance(entry, dict) else None)

    for value in prefetch.values():
        look(value)
    return {"reference": f"Coverage/{found[0]['id']}"} if found else None


def _ext(url: str, key: str, value: Any) -> dict:
    return {"url": url, key: value}


def _coverage_information(rows: list[tuple[str, str, Any]], coverage: dict, today: str,
                          assertion: str) -> dict:
    parts = [_ext("coverage", "valueReference", coverage)]
    parts += [_ext(url, key, value) for url, key, value in rows]
    parts += [_ext("date", "valueDate", today),
              _ext("coverage-assertion-id", "valueString", assertion)]
    return {"url": COVERAGE_INFORMATION, "extension": parts}


def _reason(text: str, code: str | None = None) -> tuple[str, str, Any]:
    value: dict = {"text": text}
    if code:
        value["coding"] = [{"system": CRD_TEMP, "code": code}]
    return ("reason", "valueCodeableConcept", value)


def _source(request: dict) -> dict:
    return {"label": f"{GUIDELINE} (CPT 76390), version {GUIDELINE_VERSION}",
            "topic": {"system": CRD_TEMP, "code": "coverage-info",
                      "display": "Coverage Information"}}


def _updated(order: dict, extension: dict) -> dict:
    out = dict(order)
    out["extension"] = [e for e in order.get("extension") or []
                        if not (isinstance(e, dict) and e.get("url") == COVERAGE_INFORMATION)]
    out["extension"].append(extension)
    return out


def crd_response(request: dict, cases: list, answers: list, *, base: str = DEFAULT_BASE,
                 today: _dt.date | None = None, kb=None) -> dict:
    """The CDS Hooks response to a CRD ``order-sign`` / ``order-select`` request,
    for its ``cases`` and their (cited) ``answers``, in the same order."""
    from ..answer import engine_for
    fingerprint = engine_for(kb).kb.fingerprint
    day = (today or _dt.date.today()).isoformat()
    coverage = _coverage_reference(request)
    cards: list[dict] = []
    actions: list[dict] = []
    orders = {}
    for entry in request["context"]["draftOrders"].get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and resource.get("resourceType") == "ServiceRequest":
            orders[resource.get("id")] = resource
    full = questionnaire_url(base, kb)
    for case, answer in zip(cases, answers):
        order = orders[case.id]
        assertion = str(uuid.UUID(_digest(str(request.get("hookInstance")), case.id,
                                          fingerprint)[:32]))
        if answer.determination == "not_applicable":
            continue  # no coverage information from this service
        if coverage is None:
            cards.append({
                "uuid": str(uuid.UUID(_digest("no-coverage", assertion)[:32])),
                "summary": "Coverage information needs the patient's Coverage in prefetch",
                "indicator": "warning", "source": _source(request),
                "detail": "The request carried no Coverage resource, so no coverage "
                          "information can be returned for this order."})
            continue
        if answer.determination == "approved":
            rows = [("covered", "valueCode", "covered"),
                    ("pa-needed", "valueCode", "auth-needed"),
                    ("doc-needed", "valueCode", "clinical"),
                    ("doc-purpose", "valueCode", "withpa"),
                    _reason(_approved_text(answer, "Covered on the data at hand") +
                            " Prior authorization is required: submit it with the "
                            "guideline's questionnaire."),
                    ("questionnaire", "valueCanonical", full)]
        elif answer.missing:
            q = questionnaire(case=case, answer=answer, base=base, kb=kb)
            words = _missing_text(answer, "Prior authorization needed, with documentation")
            rows = [("covered", "valueCode", "conditional"),
                    ("pa-needed", "valueCode", "auth-needed"),
                    ("doc-needed", "valueCode", "clinical"),
                    ("doc-purpose", "valueCode", "withpa"),
                    ("info-needed", "valueCode", "OTH"),
                    _reason(words),
                    ("detail", "extension", [
                        _ext("category", "valueCode", "cat-decisional"),
                        _ext("code", "valueCodeableConcept",
                             {"coding": [{"system": CRD_TEMP, "code": "instructions"}]}),
                        _ext("value", "valueString", words)]),
                    ("questionnaire", "valueCanonical", f"{q['url']}|{q['version']}")]
            lines = "\n".join(f"{i}. {alt['text']}" for i, alt in enumerate(answer.missing, 1))
            cards.append({
                "uuid": str(uuid.UUID(_digest("card", assertion)[:32])),
                "summary": card_summary("MR spectroscopy: more documentation can approve "
                                        "this request"),
                "indicator": "info", "source": _source(request),
                "detail": f"Documenting one of these would approve the request:\n\n{lines}"})
        else:
            text = _denial_text(answer)
            rows = [("covered", "valueCode", "not-covered"), _reason(text)]
            named = ", ".join(answer.non_indications) or "no indication of the guideline is met"
            cards.append({
                "uuid": str(uuid.UUID(_digest("card", assertion)[:32])),
                "summary": card_summary(f"MR spectroscopy not covered: {named}"),
                "indicator": "warning", "source": _source(request), "detail": text})
        extension = _coverage_information(rows, coverage, day, assertion)
        actions.append({"type": "update",
                        "description": f"Coverage information for {case.id}",
                        "resource": _updated(order, extension)})
    return {"cards": cards, "systemActions": actions}


def crd_technical(request: Any, message: str, *, today: _dt.date | None = None) -> dict:
    """The answer when a CRD request cannot be decided (a technical failure):
    ``covered: indeterminate`` with reason ``technical`` on every draft
    ServiceRequest that can be found, never an exception."""
    day = (today or _dt.date.today()).isoformat()
    actions = []
    try:
        coverage = _coverage_reference(request)
        entries = request["context"]["draftOrders"].get("entry") or []
    except (AttributeError, KeyError, TypeError):
        return {"cards": [], "systemActions": []}
    for entry in entries:
        order = entry.get("resource") if isinstance(entry, dict) else None
        if not (isinstance(order, dict) and order.get("resourceType") == "ServiceRequest"
                and order.get("id") and coverage):
            continue
        assertion = str(uuid.UUID(_digest("technical", str(request.get("hookInstance")),
                                          str(order["id"]))[:32]))
        extension = _coverage_information(
            [("covered", "valueCode", "indeterminate"), _reason(message, "technical")],
            coverage, day, assertion)
        actions.append({"type": "update", "description": "Coverage information could not "
                        "be determined", "resource": _updated(order, extension)})
    return {"cards": [], "systemActions": actions}
