"""The library of FHIR examples, cases/fhir/: what it covers, and that every
answer written for it validates (FHIR.md F3, F5, F6)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mrs_asp import fhir
from mrs_asp.fhir import terminology
from mrs_asp.fhir.validate import validate_crd_response, validate_resource
from mrs_asp.fhir.write import COVERAGE_INFORMATION, REVIEW_ACTION

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "cases" / "fhir"
INPUTS = sorted(p for p in LIBRARY.glob("*.json") if not p.name.endswith(".expected.json"))


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _codings(doc, system):
    return {n["code"] for n in _walk(doc) if n.get("system") == system and "code" in n}


@pytest.fixture(scope="module")
def library():
    out = []
    for path in INPUTS:
        doc = json.loads(path.read_text())
        out.append((path, doc, fhir.evaluate(doc, source=str(path))))
    return out


def test_success_every_input_has_its_expected_answers():
    # every answer written for the library belongs to one of its inputs
    answered = {p.name.removesuffix(".expected.json") for p in LIBRARY.glob("*.expected.json")}
    assert INPUTS and answered == {p.stem for p in INPUTS}
    for path in INPUTS:
        expected = json.loads(path.with_name(path.stem + ".expected.json").read_text())
        ids = [c.id for c in fhir.read(json.loads(path.read_text()))]
        assert sorted(expected) == sorted(ids), path


def test_success_every_row_of_f3_and_f5_and_each_mr_safety_code_is_exercised(library):
    t = terminology.load()
    expansion = json.loads((terminology.default_directory() / "icd10cm.expanded.json")
                           .read_text())["codes"]
    used = set().union(*(_codings(doc, terminology.ICD10CM) for _, doc, _ in library))
    exercised = {row for code in used for row in expansion.get(terminology.normal_icd(code), [])}
    assert {code for code, _, _ in t.icd10cm_rows} - exercised == set()
    cpt = set().union(*(_codings(doc, terminology.CPT) for _, doc, _ in library))
    rows = {(modality, region) for (system, code), (modality, region) in t.studies.items()
            if code in cpt}
    assert rows == set(t.studies.values())
    safety = set().union(*(_codings(doc, "urn:oid:2.16.840.1.113883.3.26.1.1")
                           for _, doc, _ in library))
    assert safety == {"C106045", "C106046", "C106047", "C113844"}


def test_success_a_two_item_claim_and_a_repeated_imaging_group(library):
    two = [cases for path, doc, cases in library
           if fhir.kind_of(doc) == "pas" and len(cases) == 2]
    assert any({c.case.request.cpt for c, _ in pair} >= {"76390"} and
               len({c.case.request.cpt for c, _ in pair}) == 2 for pair in two)
    repeated = False
    for _, doc, _ in library:
        for node in _walk(doc):
            if node.get("resourceType") == "QuestionnaireResponse":
                groups = [i for i in node.get("item", []) if i["linkId"] == "imaging"]
                repeated = repeated or len(groups) >= 2
    assert repeated


def _review_actions(response):
    out = []
    for item in response["entry"][0]["resource"]["item"]:
        ext = [e for e in item["adjudication"][0].get("extension", [])
               if e["url"] == REVIEW_ACTION]
        out.append(ext[0]["extension"][0]["valueCodeableConcept"]["coding"][0]["code"]
                   if ext else None)
    return out


def test_success_every_row_of_f6_and_every_response_validates(library):
    actions, covered = set(), set()
    for path, doc, pairs in library:
        cases, answers = [c for c, _ in pairs], [a for _, a in pairs]
        if fhir.kind_of(doc) == "pas":
            response = fhir.pas_response(doc, cases, answers)
            validate_resource(response)
            got = _review_actions(response)
            for answer, action in zip(answers, got):
                want = {"approved": "A1", "not_applicable": None}.get(
                    answer.determination, "A4" if answer.missing else "A3")
                assert action == want, path
            actions.update(got)
        else:
            response = fhir.crd_response(doc, cases, answers)
            validate_crd_response(response)
            by_id = {a["resource"]["id"]: a for a in response["systemActions"]}
            for case, answer in pairs:
                if answer.determination == "not_applicable":
                    assert case.id not in by_id
                    covered.add(None)
                    continue
                (ext,) = [e for e in by_id[case.id]["resource"]["extension"]
                          if e["url"] == COVERAGE_INFORMATION]
                value = [p["valueCode"] for p in ext["extension"] if p["url"] == "covered"][0]
                covered.add(value)
    assert actions == {"A1", "A3", "A4", None}
    assert covered == {"covered", "conditional", "not-covered", None}


def test_success_the_file_name_tells_the_outcome(library):
    words = {"-approved": "approved", "-covered": "approved", "-pended": "denied",
             "-conditional": "denied", "-denied": "denied", "-not-covered": "denied",
             "-not-applicable": "not_applicable"}
    for path, _, pairs in library:
        endings = [w for w in words if path.stem.endswith(w)]
        if endings:
            assert pairs[0][1].determination == words[max(endings, key=len)], path
