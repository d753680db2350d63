"""mrs-asp check: conflicts, dead, masked and redundant criteria over all valid cases."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mrs_asp import decide
from mrs_asp.loading import case_from_data
from mrs_asp.check import CaseSpace, check_kb, indication_paths
from mrs_asp.cli import app
from mrs_asp.kb import KnowledgeBase
from mrs_asp.space import REQUEST_DAY, space_program, study_ages

from kb_copies import kb_edited

ROOT = Path(__file__).resolve().parents[1]
KB = ROOT / "kb"
runner = CliRunner()


@pytest.fixture(scope="module")
def real_findings():
    return check_kb(KnowledgeBase(KB))


def scratch_kb(tmp_path: Path, file: str, addition: str) -> Path:
    """A copy of kb/ with a rule planted at the end of one layer file."""
    target = tmp_path / "kb"
    shutil.copytree(KB, target, ignore=shutil.ignore_patterns("variants"))
    with (target / file).open("a") as out:
        out.write("\n" + addition + "\n")
    return target


def test_success_indication_paths_follow_the_tree():
    paths = indication_paths(KnowledgeBase(KB))
    assert ["conventional_inconclusive", "glioma_grading"] in paths
    assert ["conventional_inconclusive", "repeat_request", "repeat_monitoring"] in paths
    kb = KnowledgeBase(KB)

    def ways(node: str) -> int:  # ANY: the sum of its parts' ways; ALL: the product
        if node not in kb.nodes:
            return 1
        counts = [ways(part) for part in kb.parts[node]]
        if kb.nodes[node] == "any":
            return sum(counts)
        product = 1
        for count in counts:
            product *= count
        return product

    assert len(paths) == ways(kb.root("indication"))
    leaves = {c for c in kb.criteria if kb.criteria[c].kind == "indication"
              and c not in kb.nodes}
    assert all(set(path) <= leaves and path[0] == "conventional_inconclusive"
               for path in paths)
    assert len({tuple(path) for path in paths}) == len(paths)


def test_success_real_kb_has_no_errors(real_findings):
    assert [f for f in real_findings if f.severity == "error"] == []
    assert not [f for f in real_findings if f.kind in ("dead_criterion", "masked_path")]


def test_success_finds_the_conventional_study_tension(real_findings):
    """SPEC: the study that makes conventional_inconclusive true is itself recent
    advanced imaging unless treatment or new symptoms are documented."""
    [finding] = [f for f in real_findings if f.kind == "conflict"
                 and f.criteria == ("conventional_inconclusive", "glioma_grading",
                                    "recent_advanced_imaging")]
    assert finding.severity == "warning"
    assert len(finding.witness["imaging"]) == 1  # one study: the same one does both


def test_success_finds_the_repeat_monitoring_tension(real_findings):
    [finding] = [f for f in real_findings if f.kind == "conflict" and f.criteria == (
        "conventional_inconclusive", "repeat_request", "repeat_monitoring",
        "recent_advanced_imaging")]
    assert finding.severity == "warning"
    assert "MRS" in finding.message


def test_success_no_tension_where_the_path_blocks_it(real_findings):
    """repeat_new_symptoms documents new/worsening symptoms, which block the
    recent-imaging non-indication: no conflict can exist."""
    assert not [f for f in real_findings if f.kind == "conflict" and "repeat_new_symptoms"
                in f.criteria and "recent_advanced_imaging" in f.criteria]


def test_success_one_conflict_for_each_path_and_non_indication_that_can_hold_together(
        real_findings):
    """A conflict finding names a pair of an indication path and a non-indication;
    each pair appears once, exactly when some valid case shows both."""
    kb = KnowledgeBase(KB)
    space = CaseSpace(kb)
    conflicts = [f.criteria for f in real_findings if f.kind == "conflict"]
    assert len(conflicts) == len(set(conflicts))
    together = {(*path, ni) for path in indication_paths(kb) for ni in kb.ids("non_indication")
                if space.ask(holds=[*path, ni], witness=False) is not None}
    assert together and set(conflicts) == together


def test_success_every_witness_is_a_valid_case_decided_as_claimed(real_findings):
    witnessed = [f for f in real_findings if f.witness]
    # every finding about cases that can exist carries one
    assert witnessed and all(f.witness for f in real_findings
                             if f.kind in ("conflict", "overlap"))
    cases = [case_from_data(f.witness) for f in witnessed]
    for finding, answer in zip(witnessed, decide(cases, missing=False)):
        shown = set(answer.criteria) | set(answer.non_indications)
        assert set(finding.criteria) <= shown, (finding.message, answer)


def test_success_devices_covered_twice(real_findings):
    overlaps = {f.criteria for f in real_findings if f.kind == "overlap"}
    assert ("aneurysm_clip", "incompatible_implant") in overlaps


def test_fail_planted_dead_criterion(tmp_path):
    kb = scratch_kb(tmp_path, "30_indications.lp",
                    "requires(neonatal_hie, impossible, 1, no_such_finding).")
    findings = check_kb(KnowledgeBase(kb))
    dead = {f.criteria[0] for f in findings if f.kind == "dead_criterion"}
    assert dead == {"neonatal_hie", "vascular"}
    assert all(f.severity == "error" for f in findings if f.kind == "dead_criterion")


def test_fail_planted_conflict_masks_a_path(tmp_path):
    kb = scratch_kb(tmp_path, "41_non_indications_implants.lp",
                    'criterion(planted, non_indication, "A planted non-indication").\n'
                    "holds(Case, planted) :- holds(Case, metabolic_disorder).")
    findings = check_kb(KnowledgeBase(kb))
    masked = [f for f in findings if f.kind == "masked_path"]
    assert [f.criteria for f in masked] == [("conventional_inconclusive", "metabolic_disorder")]
    assert "planted" in masked[0].message
    # On its own evidence only the metabolic path sets it off (a warning); other
    # paths merely can hold beside it (info).
    conflict = [f for f in findings if f.kind == "conflict" and "planted" in f.criteria]
    assert {f.criteria[1] for f in conflict if f.severity == "warning"} == {"metabolic_disorder"}
    # every other path can hold beside it: one info per path without the metabolic leaf
    others = {tuple(p) for p in indication_paths(KnowledgeBase(kb))
              if "metabolic_disorder" not in p}
    assert {f.criteria[:-1] for f in conflict if f.severity == "info"} == others


def test_fail_planted_redundant_non_indication(tmp_path):
    kb = scratch_kb(tmp_path, "41_non_indications_implants.lp",
                    'criterion(clips_again, non_indication, "Clips, said twice").\n'
                    "holds(Case, clips_again) :- holds(Case, aneurysm_clip).")
    findings = check_kb(KnowledgeBase(kb))
    redundant = {f.criteria for f in findings if f.kind == "redundant_criterion"}
    assert ("aneurysm_clip", "clips_again") in redundant
    assert ("clips_again", "aneurysm_clip") in redundant
    assert ("clips_again",) in redundant and ("aneurysm_clip",) in redundant


def test_success_case_space_answers_unsatisfiable_questions_with_none():
    space = CaseSpace(KnowledgeBase(KB))
    assert space.ask(holds=["repeat_new_symptoms", "repeat_monitoring"]) is None
    witness = space.ask(holds=["repeat_clarifying"])
    assert witness["findings"] == {"prior_indeterminate_finding": True}


# --- the command ----------------------------------------------------------------

def test_success_cli_check_real_kb_exits_0():
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 0, result.output
    assert "WARNING" in result.stdout and "conflict" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("0 error")


def test_fail_cli_check_fail_on_warning():
    assert runner.invoke(app, ["check", "--fail-on", "warning"]).exit_code == 1


def test_success_cli_check_json_shape():
    result = runner.invoke(app, ["check", "--format", "json"])
    findings = json.loads(result.stdout)["findings"]
    assert findings and all(set(f) == {"kind", "severity", "criteria", "message", "witness",
                                       "location"} for f in findings)


def test_fail_cli_check_undefined_predicate_is_an_error(tmp_path):
    kb = scratch_kb(tmp_path, "30_indications.lp",
                    "holds(Case, glioma_grading) :- finding_true(Case, glioma), no_such(Case).")
    result = runner.invoke(app, ["check", "--kb", str(kb)])
    assert result.exit_code == 1
    assert "undefined_predicate" in result.stdout and "30_indications.lp:" in result.stdout


def test_success_cli_coverage_gate(tmp_path):
    result = runner.invoke(app, ["check", "--cases", str(ROOT / "cases"), "--min-coverage", "1.0"])
    assert result.exit_code == 0
    assert "COVERAGE of" in result.stdout and "<- gap" not in result.stdout
    as_json = json.loads(runner.invoke(app, ["check", "--cases", str(ROOT / "cases"),
                                             "--format", "json"]).stdout)
    assert as_json["coverage"]["ratio"] == 1.0
    assert all(c["holds"] and c["fails"] for c in as_json["coverage"]["counts"].values())
    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.copy(ROOT / "cases" / "01-glioma-grading-approved.json", lib)
    result = runner.invoke(app, ["check", "--cases", str(lib), "--min-coverage", "1.0"])
    assert result.exit_code == 1
    assert "coverage_gate" in result.stdout
    assert "glioma_grading" in result.stdout and "<- gap" in result.stdout


def test_success_the_space_tries_the_study_ages_the_kb_windows_cut(tmp_path):
    """The ages of the space's studies come from kb/'s window/3, not from a
    second statement of the 3-month window: with the window cut to 0-60 days,
    the space tries days 60 and 61 (not 90 and 91), check's witnesses are
    decided by the engine as claimed, and a witness of recent imaging is at
    most 60 days old."""
    assert study_ages([(0, 90), (0, None)]) == (0, 45, 90, 91, 180)
    assert study_ages([(0, 60), (0, None)]) == (0, 30, 60, 61, 120)
    kb = kb_edited(tmp_path / "kb", "10_concepts.lp", "window(within_three_months, 0, 90).",
                   "window(within_three_months, 0, 60).")
    changed = KnowledgeBase(kb)
    program = space_program(changed.windows)
    days = {int(d) for d in re.findall(r'space_value\("imaging.date", (-?\d+)\)', program)}
    assert days == {REQUEST_DAY - age for age in (0, 30, 60, 61, 120)}
    # check re-decides every witness with the engine and raises if they disagree.
    check_kb(changed)
    witness = CaseSpace(changed).ask(holds=["recent_advanced_imaging"])
    request = dt.date.fromisoformat(witness["request"]["date"])
    ages = [(request - dt.date.fromisoformat(s["date"])).days for s in witness["imaging"]]
    assert min(ages) <= 60
    assert decide([witness], kb=kb)[0].non_indications == ["recent_advanced_imaging"]


def test_success_the_shipped_kb_compiles_so_check_says_nothing_of_it(real_findings):
    assert not [f for f in real_findings if f.kind == "not_compiled"]


def test_fail_a_kb_that_does_not_compile_is_reported_with_the_reason(tmp_path):
    kb = scratch_kb(tmp_path, "30_indications.lp", "{ extra(C) } :- case(C).")
    findings = [f for f in check_kb(KnowledgeBase(kb)) if f.kind == "not_compiled"]
    assert [f.severity for f in findings] == ["info", "info"]  # the explain and evaluate modes
    assert all("choice rule" in f.message and "same answers" in f.message for f in findings)
    result = runner.invoke(app, ["check", "--kb", str(kb), "--format", "json"])
    shown = [f for f in json.loads(result.stdout)["findings"] if f["kind"] == "not_compiled"]
    assert len(shown) == 2 and "choice rule" in shown[0]["message"], result.output
