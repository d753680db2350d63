"""Reading FHIR into cases with provenance (FHIR.md F2-F5)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import jsonpatch
import jsonpointer
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from mrs_asp import decide, iter_cases
from mrs_asp.cases import CaseError, case_data
from mrs_asp.cli import app
from mrs_asp.explain import walk
from mrs_asp import fhir
from mrs_asp.fhir import terminology

import fhir_builders as fb
from strategies import cases
from test_properties import (PROPERTY, deletion_variants, evidence_of, fact_of, materialize,
                             model, with_ids)

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def _one(doc):
    (case,) = fhir.read(doc)
    return case


def _bundle(resources=(), diagnoses=(), items=None, **kw):
    items = items or [fb.claim_item("2026-03-02", site="12738006")]
    return fb.pas_bundle(items, list(resources), list(diagnoses), **kw)


# ----------------------------------------------------------------------------
# terminology (F3-F5)


def test_success_every_listed_icd10cm_code_exists_and_the_expansion_is_current():
    import simple_icd_10_cm as icd
    t = terminology.load()
    for code, facts, label in t.icd10cm_rows:
        assert icd.is_valid_item(code), code
        assert facts, code
    stored = json.loads((terminology.default_directory() / "icd10cm.expanded.json").read_text())
    assert stored["source_sha256"] == t.icd_source_sha256, \
        "icd10cm.csv changed: run python -m mrs_asp.fhir.terminology"
    assert stored["codes"] == terminology.build_icd_expansion(t.icd10cm_rows)


def test_success_a_row_covers_every_code_below_it():
    t = terminology.load()
    assert ("findings", "neonatal_hie", True) in t.icd10cm["P9163"]
    assert ("findings", "brain_tumor", True) in t.icd10cm[terminology.normal_icd("C71.9")]
    e7528 = set(t.icd10cm["E7528"])  # Canavan: three rows
    assert {("findings", "canavan_disease", True), ("findings", "leukodystrophy", True),
            ("findings", "inborn_error_of_metabolism", True)} <= e7528
    assert ("foreign_bodies", "metallic", True) in t.icd10cm["H44601"]
    assert "Z951" not in t.icd10cm  # Z95.1 (bypass graft) is no implant row


def test_fail_a_bad_terminology_row_names_file_and_line(tmp_path):
    directory = tmp_path / "terminology"
    directory.mkdir()
    for f in terminology.default_directory().iterdir():
        (directory / f.name).write_bytes(f.read_bytes())
    with open(directory / "device-types.csv", "a") as out:
        out.write("http://snomed.info/sct,123,robot,Robot\n")
    with pytest.raises(terminology.TerminologyError, match=r"device-types.csv:6: kind"):
        terminology.load(directory)


# ----------------------------------------------------------------------------
# each source of F2


def test_success_diagnoses_devices_studies_and_questionnaire_with_provenance():
    b = _bundle([fb.procedure("p1", "70553", "2026-01-10", report="DiagnosticReport/r1"),
                 fb.report("r1", "2026-01-10", inconclusive=True),
                 fb.device("d1", "14106009", "C106046"), fb.condition("c1", "Z95.0"),
                 fb.questionnaire_response(fb.qr_items([
                     {"linkId": "findings.glioma", "value": True},
                     {"linkId": "findings.symptoms", "value": "new"}]))],
                diagnoses=["C71.1"])
    c = _one(b)
    assert c.id == "PA-1/1"
    assert case_data(c.case) == {
        "id": "PA-1/1",
        "request": {"cpt": "76390", "date": "2026-03-02", "body_region": "brain"},
        "patient": {"age_years": 54},
        "imaging": [{"modality": "MRI", "body_region": "brain", "date": "2026-01-10",
                     "result": "inconclusive"}],
        "findings": {"glioma": True, "symptoms": "new", "brain_tumor": True},
        "implants": [{"kind": "pacemaker", "mr_status": "conditional"}]}
    p = c.provenance
    assert p["/findings/brain_tumor"] == ["/entry/0/resource/diagnosis/0"]
    assert p["/imaging/0"] == ["/entry/5/resource", "/entry/6/resource"]
    assert p["/imaging/0/result"] == ["/entry/6/resource/conclusionCode/0"]
    assert p["/implants/0"] == ["/entry/7/resource", "/entry/8/resource/code"]
    assert p["/implants/0/mr_status"] == ["/entry/7/resource/safety/0"]
    assert p["/patient/age_years"] == ["/entry/1/resource/birthDate"]
    for sources in p.values():  # every pointer resolves in the input as given
        for pointer in sources:
            jsonpointer.resolve_pointer(b, pointer)


@pytest.mark.parametrize("code,status", [("C106045", "safe"), ("C106046", "conditional"),
                                         ("C106047", "unsafe"), ("C113844", "unknown")])
def test_success_device_mr_safety_codes(code, status):
    assert _one(_bundle([fb.device("d1", "72506001", code)])).case.implants[0].mr_status \
        == status
    other = _one(_bundle([fb.device("d1", "72506001", code,
                                    system="http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl")]))
    assert other.case.implants[0].mr_status == status


def test_success_an_unlisted_device_type_is_kind_other_and_a_diagnosis_is_its_own_implant():
    c = _one(_bundle([fb.device("d1", "999999", None)], diagnoses=["Z96.82", "Z95.810"]))
    kinds = sorted(i.kind for i in c.case.implants)
    assert kinds == ["defibrillator", "neurostimulator", "other"]
    assert all(i.mr_status is None and i.metallic is None for i in c.case.implants)


@pytest.mark.parametrize("code,documents", [
    ("C71.9", "brain_tumor"), ("C79.31", "brain_tumor"), ("D33.0", "brain_tumor"),
    ("D43.2", "brain_tumor"), ("D49.6", "brain_tumor"), ("Z85.841", "brain_tumor"),
    ("R90.0", "brain_mass"), ("P91.61", "neonatal_hie"), ("E88.40", "mitochondrial_disease"),
    ("G31.81", "mitochondrial_disease"), ("E74.00", "inborn_error_of_metabolism"),
    ("E75.28", "canavan_disease"), ("E88.41", "mitochondrial_encephalopathy"),
    ("G31.82", "mitochondrial_encephalopathy"), ("E71.520", "leukodystrophy"),
    ("G31.86", "leukodystrophy")])
def test_success_each_value_set_documents_its_finding(code, documents):
    c = _one(_bundle([fb.condition("c1", code)]))
    assert getattr(c.case.findings, documents) is True
    assert c.provenance[f"/findings/{documents}"] == ["/entry/5/resource/code"]


def test_success_only_active_unrefuted_conditions_document_and_absence_documents_nothing():
    c = _one(_bundle([fb.condition("c1", "C71.1", clinical="resolved"),
                      fb.condition("c2", "R90.0", verification="refuted"),
                      fb.condition("c3", "P91.6", clinical="relapse")]))
    assert case_data(c.case)["findings"] == {"neonatal_hie": True}


def test_success_foreign_bodies_from_diagnoses():
    c = _one(_bundle(diagnoses=["H05.50", "H44.601"]))
    assert case_data(c.case)["foreign_bodies"] == [{"location": "orbit", "metallic": True}]
    c = _one(_bundle(diagnoses=["H05.51"]))
    assert case_data(c.case)["foreign_bodies"] == [{"location": "orbit"}]


@pytest.mark.parametrize("cpt,modality,region", [
    ("70551", "MRI", "brain"), ("70460", "CT", "brain"), ("78609", "PET", "brain"),
    ("72157", "MRI", "spine"), ("70542", "MRI", "head_neck"), ("70491", "CT", "head_neck"),
    ("76390", "MRS", "brain")])
def test_success_prior_studies_by_cpt(cpt, modality, region):
    c = _one(_bundle([fb.procedure("p1", cpt, "2026-01-10")]))
    assert case_data(c.case)["imaging"] == [
        {"modality": modality, "body_region": region, "date": "2026-01-10"}]


def test_success_an_mrs_takes_its_region_from_its_body_site_and_other_codes_are_not_read():
    c = _one(_bundle([fb.procedure("p1", "76390", "2026-01-10", body_site="421060004"),
                      fb.procedure("p2", "71045", "2026-01-11")]))
    assert case_data(c.case)["imaging"] == [
        {"modality": "MRS", "body_region": "spine", "date": "2026-01-10"}]


def test_success_linked_resources_and_equal_entries_are_one_study():
    imaging = fb.report("r1", "2026-01-10T10:00:00Z", inconclusive=True)
    imaging["imagingStudy"] = [{"reference": "ImagingStudy/i1"}]
    study = {"resourceType": "ImagingStudy", "id": "i1", "status": "available",
             "subject": {"reference": "Patient/pat1"}, "started": "2026-01-10T09:30:00Z"}
    qr = fb.questionnaire_response(fb.qr_items([{"linkId": "imaging", "item": [
        {"linkId": "imaging.modality", "value": "MRI"},
        {"linkId": "imaging.body_region", "value": "brain"},
        {"linkId": "imaging.date", "value": "2026-01-10"},
        {"linkId": "imaging.result", "value": "inconclusive"}]}]))
    c = _one(_bundle([fb.procedure("p1", "70553", "2026-01-10", report="DiagnosticReport/r1"),
                      imaging, study, qr]))
    assert len(c.case.imaging) == 1
    assert c.provenance["/imaging/0/result"] == ["/entry/6/resource/conclusionCode/0",
                                                 "/entry/8/resource/item/0/item/3/answer/0"]


def test_success_a_repeated_imaging_group_documents_one_entry_each():
    qr = fb.questionnaire_response(fb.qr_items([
        {"linkId": "imaging", "item": [{"linkId": "imaging.modality", "value": "CT"},
                                       {"linkId": "imaging.body_region", "value": "brain"},
                                       {"linkId": "imaging.date", "value": "2025-10-01"},
                                       {"linkId": "imaging.result", "value": "inconclusive"}]},
        {"linkId": "imaging", "item": [{"linkId": "imaging.modality", "value": "MRS"},
                                       {"linkId": "imaging.body_region", "value": "brain"},
                                       {"linkId": "imaging.date", "value": "2026-02-01"}]}]))
    c = _one(_bundle([qr]))
    assert [s.modality for s in c.case.imaging] == ["CT", "MRS"]
    assert c.provenance["/imaging/1"] == ["/entry/5/resource/item/1"]


def test_success_a_claim_with_two_items_is_two_cases_sharing_the_patient_facts():
    b = _bundle(items=[fb.claim_item("2026-03-02", site="12738006"),
                       fb.claim_item("2026-03-05", cpt="70553")], diagnoses=["R90.0"])
    first, second = fhir.read(b)
    assert (first.id, second.id) == ("PA-1/1", "PA-1/2")
    assert second.case.request.cpt == "70553" and second.case.request.date.day == 5
    assert second.case.findings.brain_mass is True
    assert second.notes["/request/body_region"].startswith("no bodySite")


def test_success_cds_hooks_order_sign_and_order_select():
    for hook in ("order-sign", "order-select"):
        doc = fb.crd_request([fb.service_request("sr1", "2026-03-02", reasons=["C71.1"]),
                              fb.service_request("sr2", "2026-03-02", cpt="70553")],
                             [fb.procedure("p1", "70450", "2025-12-01"),
                              fb.device("d1", "43252007", "C106046")], hook=hook)
        first, second = fhir.read(doc)
        assert (first.id, second.id) == ("sr1", "sr2")
        assert first.case.findings.brain_tumor is True
        assert first.provenance["/findings/brain_tumor"] == [
            "/context/draftOrders/entry/0/resource/reasonCode/0"]
        assert first.provenance["/imaging/0"] == ["/prefetch/records/entry/0/resource"]
        assert first.case.implants[0].kind == "cochlear_implant"


# ----------------------------------------------------------------------------
# bad input (SPEC section 6): one line, the pointers, exit 2


def _error(doc) -> CaseError:
    with pytest.raises(CaseError) as info:
        fhir.read(doc)
    assert "\n" not in str(info.value)
    return info.value


def test_fail_conflicting_sources_name_both_pointers():
    qr = fb.questionnaire_response(fb.qr_items([{"linkId": "findings.brain_tumor",
                                                  "value": False}]))
    err = _error(_bundle([qr], diagnoses=["C71.1"]))
    assert "/entry/0/resource/diagnosis/0" in str(err)
    assert "/entry/5/resource/item/0/answer/0" in str(err)


def test_fail_conflicting_device_safety_and_questionnaire():
    qr = fb.questionnaire_response(fb.qr_items([{"linkId": "implants", "item": [
        {"linkId": "implants.kind", "value": "pacemaker"},
        {"linkId": "implants.mr_status", "value": "conditional"}]}]))
    err = _error(_bundle([fb.device("d1", "14106009", "C106047"), qr]))
    assert "/entry/5/resource/safety/0" in str(err) and "/entry/6/resource/item/0" in str(err)


def test_fail_another_patient_a_dangling_reference_a_missing_date():
    err = _error(_bundle([fb.condition("c1", "C71.1", patient="Patient/someone-else")]))
    assert err.pointer == "/entry/5/resource/subject" and "someone-else" in err.message
    b = _bundle([fb.procedure("p1", "70553", "2026-01-10", report="DiagnosticReport/nope")])
    assert _error(b).pointer == "/entry/5/resource/report/0/reference"
    item = fb.claim_item("2026-03-02")
    del item["servicedDate"]
    err = _error(_bundle(items=[item]))
    assert err.pointer == "/entry/0/resource/item/0" and "servicedDate" in err.message


def test_fail_a_study_after_the_request_points_at_its_date():
    err = _error(_bundle([fb.procedure("p1", "70553", "2026-04-01")]))
    assert err.pointer == "/entry/5/resource/performedDateTime"
    assert "on or before the request date" in err.message


def test_fail_cli_exits_2_with_one_line_for_conflicting_sources(tmp_path):
    qr = fb.questionnaire_response(fb.qr_items([{"linkId": "findings.brain_tumor",
                                                  "value": False}]))
    path = tmp_path / "conflict.json"
    path.write_text(json.dumps(_bundle([qr], diagnoses=["C71.1"])))
    result = runner.invoke(app, ["evaluate", str(path)])
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"{path}: /")
    assert "/entry/0/resource/diagnosis/0" in line and "/entry/5/resource/item/0/answer/0" in line


def test_fail_bad_input_fixtures_each_one_line(tmp_path):
    for path in sorted((ROOT / "tests" / "fhir-bad").glob("*.json")):
        result = runner.invoke(app, ["evaluate", str(path)])
        assert result.exit_code == 2, path
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"{path}: /"), (path, lines)
        assert result.stdout == ""


# ----------------------------------------------------------------------------
# provenance in the answers (F2)


def test_success_evidence_points_into_the_fhir_and_answers_document_the_patch():
    b = _bundle([fb.procedure("p1", "70553", "2025-10-10"), fb.device("d1", "14106009")],
                diagnoses=["C71.1"])
    (c, answer), = fhir.evaluate(b)
    assert answer.determination == "denied" and answer.missing
    for node in walk(answer.explanation):
        for pointer in node["evidence"]:
            jsonpointer.resolve_pointer(b, pointer)
    for alternative in answer.missing:
        patched = copy.deepcopy(b)
        patched["entry"].append({"fullUrl": "urn:uuid:qr-missing", "resource":
                                 fb.questionnaire_response(fb.qr_items(alternative["answers"]),
                                                           qid="qr-missing")})
        (again, again_answer), = fhir.evaluate(patched, missing=False)
        assert again_answer.determination == "approved", alternative
        assert _sorted_case(case_data(again.case)) == _sorted_case(
            jsonpatch.apply_patch(case_data(c.case), alternative["patch"]))


# ----------------------------------------------------------------------------
# SPEC section 3 on the derived case (property tests)


def _sorted_case(d: dict) -> dict:
    out = {k: v for k, v in d.items() if k not in ("id", "title", "expected")
           and v not in ({}, [])}  # an empty container documents nothing
    for group in ("imaging", "implants", "foreign_bodies"):
        if group in out:
            out[group] = sorted(out[group], key=lambda e: json.dumps(e, sort_keys=True))
    return out


def _distinct_studies(d: dict) -> bool:
    keys = [(s["modality"], s["body_region"], s["date"]) for s in d.get("imaging") or []]
    return len(keys) == len(set(keys))


@settings(PROPERTY, max_examples=60)
@given(st.lists(cases(), min_size=1, max_size=8))
def test_success_a_case_written_as_fhir_reads_back_and_decides_the_same(dicts):
    dicts = [d for d in with_ids(dicts) if _distinct_studies(d)]
    bundles = [fb.case_as_resources(d, identifier=d["id"]) for d in dicts]
    derived = [_one(b) for b in bundles]
    for d, c in zip(dicts, derived):
        assert _sorted_case(case_data(c.case)) == _sorted_case(d)
    plain = decide([model(d) for d in dicts], missing=False)
    read = decide(derived, missing=False)
    for p, r, c, b in zip(plain, read, derived, bundles):
        assert (p.determination, p.criteria, p.non_indications, p.advisories) == \
            (r.determination, r.criteria, r.non_indications, r.advisories)
        cited = c.cite(r)
        for node in walk(cited.explanation):
            for pointer in node["evidence"]:
                jsonpointer.resolve_pointer(b, pointer)


@settings(PROPERTY, max_examples=40)
@given(st.lists(cases(), min_size=1, max_size=8))
def test_success_the_derived_case_explanation_is_minimal(dicts):
    dicts = [d for d in with_ids(dicts) if _distinct_studies(d)]
    derived = [case_data(_one(fb.case_as_resources(d, identifier=d["id"])).case)
               for d in dicts]
    answers = decide([model(d) for d in derived], missing=False)
    checks = []
    for d, a in zip(derived, answers):
        if a.determination == "approved":
            cited = evidence_of(a.explanation)
        elif a.non_indications:
            cited = {p for node in walk(a.explanation) if node["holds"]
                     and node["criterion"] in a.non_indications for p in node["evidence"]}
        else:
            continue
        keep = {f for f in map(fact_of, cited) if f is not None}
        checks.append((d, a, "reduced", materialize(d, keep)))
        checks += [(d, a, pointer, variant) for pointer, variant in deletion_variants(d, cited)]
    results = decide([model(v) for *_, v in checks], missing=False)
    for (d, a, kind, variant), r in zip(checks, results):
        if a.determination == "approved":
            assert (r.determination == "approved") == (kind == "reduced"), (kind, d)
        else:
            held = set(r.non_indications) & set(a.non_indications)
            if kind == "reduced":
                assert held == set(a.non_indications), d


# ----------------------------------------------------------------------------
# the command line and the import path


def test_success_show_case_prints_the_derived_case_and_its_sources(tmp_path):
    path = tmp_path / "b.json"
    path.write_text(json.dumps(_bundle(diagnoses=["R90.0"])))
    result = runner.invoke(app, ["evaluate", str(path), "--show-case", "--no-missing"])
    assert result.exit_code == 0
    assert "PA-1/1: the case as read from FHIR" in result.stdout
    assert "/findings/brain_mass <- /entry/0/resource/diagnosis/0" in result.stdout
    result = runner.invoke(app, ["evaluate", str(path), "--show-case", "-f", "json"])
    answer = json.loads(result.stdout)
    assert answer["case"]["findings"] == {"brain_mass": True}
    assert answer["provenance"]["/findings/brain_mass"] == ["/entry/0/resource/diagnosis/0"]


def test_success_missing_in_json_carries_answers(tmp_path):
    path = tmp_path / "b.json"
    path.write_text(json.dumps(_bundle([fb.procedure("p1", "70553", "2025-10-10")],
                                       diagnoses=["C71.1"])))
    result = runner.invoke(app, ["missing", str(path), "-f", "json", "--jobs", "1"])
    answer = json.loads(result.stdout)
    assert all("answers" in alt for alt in answer["missing"])
    assert {"linkId": "imaging", "item": [
        {"linkId": "imaging.modality", "value": "MRI"},
        {"linkId": "imaging.body_region", "value": "brain"},
        {"linkId": "imaging.date", "value": "2025-10-10"},
        {"linkId": "imaging.result", "value": "inconclusive"}]} in answer["missing"][0]["answers"]


def test_success_workers_keep_the_provenance(tmp_path):
    lines = [json.dumps(_bundle([fb.procedure("p1", "70553", "2026-02-01")],
                                identifier=f"PA-{i}")) for i in range(1200)]
    path = tmp_path / "many.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = runner.invoke(app, ["evaluate", str(path), "-f", "json", "--jobs", "2",
                                 "--no-missing"])
    assert result.exit_code == 0
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["id"] for a in answers] == [f"PA-{i}/1" for i in range(1200)]
    cited = {p for a in answers for node in walk(a["explanation"]) for p in node["evidence"]}
    assert cited == {"/entry/5/resource"}  # the recent MRI, in every answer


def test_success_plain_evaluate_imports_nothing_of_fhir():
    code = ("import sys; from mrs_asp.cli import main; sys.argv=['mrs-asp','evaluate',"
            f"{str(ROOT / 'cases' / '01-glioma-grading-approved.json')!r}];\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "bad=[m for m in sys.modules if m.startswith(('mrs_asp.fhir','fhir','pydantic',"
            "'simple_icd'))]\nprint('IMPORTED', bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout
    assert "IMPORTED []" in out


def test_success_text_that_is_no_fhir_input_is_left_to_the_case_reader():
    from mrs_asp.fhir.read import read_bytes
    assert read_bytes(b'{"resourceType', "x") is None          # not JSON at all
    assert read_bytes(b'{"title": "\\"resourceType\\""}', "x") is None  # a case


# ----------------------------------------------------------------------------
# hostile FHIR: whatever is put anywhere, one CaseError or valid cases


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, prefix + (i,))


_JUNK = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                     lambda inner: st.lists(inner, max_size=2)
                     | st.dictionaries(st.sampled_from(["reference", "coding", "code", "x"]),
                                       inner, max_size=2), max_leaves=4)
_HOSTILE_BASE = [
    _bundle([fb.procedure("p1", "70553", "2025-10-10", report="DiagnosticReport/r1"),
             fb.report("r1", "2025-10-10", inconclusive=True), fb.device("d1", "14106009", "C106046"),
             fb.questionnaire_response(fb.qr_items([
                 {"linkId": "findings.glioma", "value": True},
                 {"linkId": "imaging", "item": [{"linkId": "imaging.modality", "value": "CT"},
                                                {"linkId": "imaging.body_region", "value": "brain"},
                                                {"linkId": "imaging.date", "value": "2025-01-01"}]}]))],
            diagnoses=["C71.1", "H05.5"]),
    fb.crd_request([fb.service_request("sr1", "2026-03-02", reasons=["C71.1"])],
                   [fb.procedure("p1", "70450", "2025-12-01"), fb.device("d1", "43252007")]),
]


@settings(PROPERTY, max_examples=150)
@given(st.sampled_from(range(len(_HOSTILE_BASE))), st.data())
def test_success_hostile_fhir_is_one_error_or_valid_cases(which, data):
    doc = copy.deepcopy(_HOSTILE_BASE[which])
    paths = [p for p in _paths(doc) if p]
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        node = doc
        try:
            for part in path[:-1]:
                node = node[part]
            node[path[-1]] = data.draw(_JUNK)
        except (KeyError, IndexError, TypeError):
            continue
    try:
        found = fhir.read(doc)
    except CaseError as err:
        assert "\n" not in str(err)
        return
    for c in found:
        assert c.case.request.cpt
    for c, a in zip(found, decide(found)):
        cited = c.cite(a)
        assert cited.determination in ("approved", "denied", "not_applicable")


def test_success_unlinked_resources_of_one_modality_region_and_date_are_one_study():
    study = {"resourceType": "ImagingStudy", "id": "i1", "status": "available",
             "subject": {"reference": "Patient/pat1"}, "started": "2026-01-10T09:30:00Z",
             "procedureCode": [fb.concept(fb.CPT, "70551")]}
    c = _one(_bundle([fb.procedure("p1", "70553", "2026-01-10"), study]))
    assert len(c.case.imaging) == 1
    assert c.provenance["/imaging/0"] == ["/entry/5/resource", "/entry/6/resource"]


def test_success_a_payer_extends_the_tables_in_its_own_folder(tmp_path, monkeypatch):
    directory = tmp_path / "terminology"
    directory.mkdir()
    for f in terminology.default_directory().iterdir():
        if f.is_file():
            (directory / f.name).write_bytes(f.read_bytes())
    with open(directory / "device-types.csv", "a") as out:
        out.write("http://snomed.info/sct,257280003,aneurysm_clip,Aneurysm clip (payer-verified)\n")
    monkeypatch.setenv("MRS_ASP_TERMINOLOGY", str(directory))
    c = _one(_bundle([fb.device("d1", "257280003", "C106047")]))
    assert c.case.implants[0].kind == "aneurysm_clip"
    monkeypatch.delenv("MRS_ASP_TERMINOLOGY")
    assert _one(_bundle([fb.device("d1", "257280003")])).case.implants[0].kind == "other"


@settings(PROPERTY, max_examples=30)
@given(st.lists(cases(), min_size=1, max_size=6))
def test_success_the_answers_of_each_alternative_document_its_patch(dicts):
    """Answering the questionnaire as an alternative's ``answers`` say, in a new
    QuestionnaireResponse of the same input, reads back to the case patched by
    that alternative, and approves it. (Answers cannot tell apart two implants of
    one kind or two foreign bodies in one place: such cases are left out, and
    reading such answers is bad input, see read.py.)"""
    def distinct(d, group, key):
        values = [e[key] for e in d.get(group) or []]
        return len(values) == len(set(values))
    dicts = [d for d in with_ids(dicts) if _distinct_studies(d)
             and distinct(d, "implants", "kind") and distinct(d, "foreign_bodies", "location")]
    bundles = [fb.case_as_resources(d, identifier=d["id"]) for d in dicts]
    pairs = [p for b in bundles for p in fhir.evaluate(b)]
    variants, wanted = [], []
    for b, (c, answer) in zip(bundles, pairs):
        for alternative in answer.missing[:4]:
            patched = copy.deepcopy(b)
            patched["entry"].append({"fullUrl": "urn:uuid:qr-missing", "resource":
                                     fb.questionnaire_response(fb.qr_items(
                                         alternative["answers"]), qid="qr-missing")})
            variants.append(patched)
            wanted.append(jsonpatch.apply_patch(case_data(c.case), alternative["patch"]))
    read_back = [_one(v) for v in variants]
    for c, want in zip(read_back, wanted):
        assert _sorted_case(case_data(c.case)) == _sorted_case(want)
    for answer in decide(read_back, missing=False):
        assert answer.determination == "approved"


def test_success_the_answers_to_the_questionnaire_of_what_is_missing_are_read():
    """The pended flow: the provider answers the questionnaire of what is missing
    (its own canonical), and 'unknown' MR safety is filled, not contradicted."""
    b = _bundle([fb.device("d1", "14106009", "C113844")], diagnoses=["C71.1"])
    qr = fb.questionnaire_response(fb.qr_items([{"linkId": "implants", "item": [
        {"linkId": "implants.kind", "value": "pacemaker"},
        {"linkId": "implants.mr_status", "value": "conditional"}]}]), qid="qr2")
    qr["questionnaire"] = "http://example.org/mrs-asp/Questionnaire/mrs-76390-missing-abc|2+x"
    b["entry"].append({"fullUrl": "urn:uuid:qr2", "resource": qr})
    c = _one(b)
    assert case_data(c.case)["implants"] == [{"kind": "pacemaker", "mr_status": "conditional"}]
    assert c.provenance["/implants/0/mr_status"] == ["/entry/6/resource/item/0/item/1/answer/0"]
    qr["questionnaire"] = "http://example.org/other/Questionnaire/something-else"
    assert _one(b).case.implants[0].mr_status == "unknown"
