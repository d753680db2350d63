"""Tests for mrs_asp.coverage: criterion coverage of a case library."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mrs_asp.answer import Answer, decide, engine_for
from mrs_asp.loading import LoadedCase, iter_cases, parse_case
from mrs_asp.coverage import Coverage, coverage_findings, criterion_ids, library_coverage

CASES = Path(__file__).resolve().parents[1] / "cases"

APPROVED = {
    "id": "glioma-grading",
    "request": {"cpt": "76390", "date": "2026-03-02", "body_region": "brain"},
    "imaging": [{"modality": "MRI", "body_region": "brain", "date": "2025-10-01",
                 "result": "inconclusive"}],
    "findings": {"glioma": True, "glioma_grading": True},
}
NOT_APPLICABLE = {
    "id": "other-code",
    "request": {"cpt": "70553", "date": "2026-03-02", "body_region": "brain"},
}


def case(data: dict) -> LoadedCase:
    return parse_case(json.dumps(data), f"{data['id']}.json")


@pytest.fixture(scope="module")
def ids() -> list[str]:
    return criterion_ids()


def test_success_ids_are_every_criterion_in_rank_order(ids):
    criteria = engine_for().kb.criteria
    assert set(ids) == set(criteria)
    assert [criteria[c].rank for c in ids] == sorted(criteria[c].rank for c in ids)
    assert ids[0] == "applies"


def test_success_real_library_covers_every_criterion_both_ways(ids):
    loaded = [c for c in iter_cases(CASES) if isinstance(c, LoadedCase)]
    assert loaded
    cov = library_coverage(decide(loaded, missing=False), ids)
    assert list(cov.counts) == ids
    assert cov.gaps() == [], coverage_findings(cov, None)
    assert cov.ratio() == 1.0
    assert coverage_findings(cov, 1.0) == []


def test_fail_two_case_library_has_gaps_and_fails_the_gate(ids):
    answers = decide([case(APPROVED), case(NOT_APPLICABLE)], missing=False)
    assert [a.determination for a in answers] == ["approved", "not_applicable"]
    cov = library_coverage(answers, ids)
    # applies: holds in the first, fails (not_applicable) in the second.
    assert cov.counts["applies"] == (1, 1)
    # The not_applicable case does not count against the other criteria.
    assert cov.counts["glioma_grading"] == (1, 0)
    assert cov.counts["vascular"] == (0, 1)
    assert cov.counts["pregnancy"] == (0, 1)
    assert 0 < cov.ratio() < 1

    findings = coverage_findings(cov, None)
    assert all(f.kind == "coverage_gap" and f.severity == "warning" for f in findings)
    gaps = {f.criteria[0]: f for f in findings}
    assert set(gaps) == set(ids) - {"applies"}
    assert "never fails" in gaps["glioma_grading"].message
    assert gaps["glioma_grading"].witness["missing"] == ["fails"]
    assert "never holds" in gaps["vascular"].message
    assert gaps["vascular"].witness["missing"] == ["holds"]

    gated = coverage_findings(cov, 1.0)
    gate = [f for f in gated if f.kind == "coverage_gate"]
    assert len(gate) == 1 and gate[0].severity == "error"
    assert set(gate[0].criteria) == set(gaps)
    assert gate[0].witness["ratio"] == pytest.approx(cov.ratio())
    assert not [f for f in coverage_findings(cov, cov.ratio()) if f.kind == "coverage_gate"]


def test_fail_never_applying_library_covers_nothing():
    cov = library_coverage(decide([case(NOT_APPLICABLE)], missing=False), ["applies", "indicated"])
    assert cov.counts == {"applies": (0, 1), "indicated": (0, 0)}
    assert cov.ratio() == 0.0
    messages = {f.criteria[0]: f.message for f in coverage_findings(cov, None)}
    assert "never holds" in messages["applies"]
    assert "never holds and never fails" in messages["indicated"]


def test_success_empty_coverage_is_complete():
    assert Coverage({}).ratio() == 1.0
    assert coverage_findings(Coverage({}), 1.0) == []


def test_success_answers_built_by_hand():
    answer = Answer(id="x", determination="denied", criteria=["applies"],
                    non_indications=["aneurysm_clip"], advisories=[], explanation={})
    cov = library_coverage([answer], ["applies", "aneurysm_clip", "pregnancy"])
    assert cov.counts == {"applies": (1, 0), "aneurysm_clip": (1, 0), "pregnancy": (0, 1)}
