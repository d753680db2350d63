"""Tests for mrs_asp.lint: the knowledge-base lint, on the real kb/ and on
copies of it with one planted defect each."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from mrs_asp.cases import ADVISORIES, CRITERIA, NON_INDICATIONS
from mrs_asp.findings import SEVERITIES, Finding, at_or_above
from mrs_asp.lint import ENGINE_READS, LayerError, layer_files, lint_kb

KB = Path(__file__).resolve().parents[1] / "kb"


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    target = tmp_path / "kb"
    shutil.copytree(KB, target)
    return target


def append(path: Path, text: str) -> int:
    """Append ``text`` to ``path``; the line number of its first line."""
    old = path.read_text(encoding="utf-8")
    if not old.endswith("\n"):
        old += "\n"
    path.write_text(old + text, encoding="utf-8")
    return old.count("\n") + 1


def of_kind(findings: list[Finding], kind: str) -> list[Finding]:
    return [f for f in findings if f.kind == kind]


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if at_or_above(f.severity, "error")]


# --- the real knowledge base -------------------------------------------------------


def test_success_real_kb_has_no_errors():
    findings = lint_kb(KB)
    assert errors(findings) == [], "\n".join(map(str, errors(findings)))


def test_success_real_kb_has_no_warnings():
    # Inner node repeat_circumstance (node/2, no criterion) is exempt; the
    # predicates the engine reads from Python are not "unused".
    findings = lint_kb(KB)
    assert [f for f in findings if at_or_above(f.severity, "warning")] == []


def test_success_layer_files_skip_the_root_file():
    files = layer_files(KB)
    assert files and all(p.name[:1].isdigit() for p in files)
    assert "mrs.lp" not in {p.name for p in files}
    assert [p.name for p in files] == sorted(p.name for p in files)


# --- planted defects ------------------------------------------------------------------


def test_fail_undefined_predicate_is_found_at_its_use(kb: Path):
    line = append(kb / "30_indications.lp",
                  "holds(Case, glioma_grading) :-\n"
                  "    case(Case), documented_biopsy(Case).\n")
    found = of_kind(lint_kb(kb), "undefined_predicate")
    assert len(found) == 1
    f = found[0]
    assert f.severity == "error"
    assert f.location == f"kb/30_indications.lp:{line + 1}"
    assert f.witness["predicate"] == "documented_biopsy/1"
    assert f.criteria == ("glioma_grading",)


@pytest.mark.parametrize("use", [
    "ok(Case) :- case(Case), #count { S : ghost(Case, S) } > 0.\n",
    "ok(Case) :- case(Case), ghost(Case, S) : region_study(Case, S, _, _).\n",
    "ok(Case) :- case(Case), region_study(Case, S, _, _) : ghost(Case, S).\n",
    "ok(Case) :- case(Case), not ghost(Case, 1).\n",
    "#heuristic fill(Case, F) : fillable(Case, F), ghost(Case, F). [1, true]\n",
])
def test_fail_undefined_predicate_in_conditions_and_aggregates(kb: Path, use: str):
    line = append(kb / "80_abduction.lp", use + ("#show ok/1.\n" if use.startswith("ok") else ""))
    found = of_kind(lint_kb(kb), "undefined_predicate")
    assert [(f.witness["predicate"], f.location) for f in found] == [
        ("ghost/2", f"kb/80_abduction.lp:{line}")]


def test_success_defined_predicate_needs_no_finding(kb: Path):
    append(kb / "80_abduction.lp",
           "#defined ghost/2.\nok(Case) :- case(Case), ghost(Case, 1).\n#show ok/1.\n")
    assert errors(lint_kb(kb)) == []


def test_fail_unused_predicate_is_a_warning(kb: Path):
    line = append(kb / "10_concepts.lp", "orphan_helper(Case) :- case(Case).\n")
    found = of_kind(lint_kb(kb), "unused_predicate")
    assert [(f.severity, f.witness["predicate"], f.location) for f in found] == [
        ("warning", "orphan_helper/1", f"kb/10_concepts.lp:{line}")]
    assert errors(lint_kb(kb)) == []


def test_fail_show_of_an_undefined_predicate_is_an_error(kb: Path):
    line = append(kb / "90_show.lp", "#show determinaton/2.\n")
    found = of_kind(lint_kb(kb), "undefined_predicate")
    assert [(f.witness["predicate"], f.location) for f in found] == [
        ("determinaton/2", f"kb/90_show.lp:{line}")]


def test_success_shown_or_engine_read_predicates_are_not_unused(kb: Path):
    append(kb / "10_concepts.lp", "orphan_helper(Case) :- case(Case).\n#show orphan_helper/1.\n")
    assert of_kind(lint_kb(kb), "unused_predicate") == []
    assert ("determination", 2) in ENGINE_READS and ("criterion", 3) in ENGINE_READS


def test_success_unused_input_is_only_info(kb: Path):
    append(kb / "00_case_facts.lp", "#defined request_setting/2.\n")
    found = of_kind(lint_kb(kb), "unused_predicate")
    assert [(f.severity, f.witness["predicate"]) for f in found] == [
        ("info", "request_setting/2")]


def test_fail_removed_criterion_fact_is_missing(kb: Path):
    notes = kb / "50_notes.lp"
    text, n = re.subn(r'criterion\(pregnancy, advisory,\s*"[^"]*"\)\.', "", notes.read_text())
    assert n == 1
    notes.write_text(text)
    found = of_kind(lint_kb(kb), "missing_criterion")
    assert [(f.severity, f.criteria) for f in found] == [("error", ("pregnancy",))]
    assert found[0].location is not None and found[0].location.startswith("kb/50_notes.lp:")


def test_fail_empty_text_is_missing_text(kb: Path):
    notes = kb / "50_notes.lp"
    text, n = re.subn(r'(criterion\(claustrophobia, advisory,\s*)"[^"]*"', r'\1""',
                      notes.read_text())
    assert n == 1
    notes.write_text(text)
    line = next(i for i, ln in enumerate(text.splitlines(), 1)
                if ln.startswith("criterion(claustrophobia"))
    found = of_kind(lint_kb(kb), "missing_text")
    assert [(f.severity, f.criteria, f.location) for f in found] == [
        ("error", ("claustrophobia",), f"kb/50_notes.lp:{line}")]


def test_fail_text_must_be_a_string(kb: Path):
    append(kb / "50_notes.lp", "criterion(extra_note, advisory, 42).\n")
    found = of_kind(lint_kb(kb, [*CRITERIA, *NON_INDICATIONS, *ADVISORIES, "extra_note"]),
                    "missing_text")
    assert [f.criteria for f in found] == [("extra_note",)]


def test_fail_given_spec_id_absent_from_the_kb_is_missing(kb: Path):
    found = of_kind(lint_kb(kb, ["applies", "brand_new_criterion"]), "missing_criterion")
    assert [(f.severity, f.criteria) for f in found] == [("error", ("brand_new_criterion",))]


def test_fail_holds_without_criterion_is_a_warning(kb: Path):
    line = append(kb / "30_indications.lp",
                  "holds(Case, mystery) :- case(Case).\n"
                  "holds(Case, inner) :- case(Case).\nnode(inner, any).\n")
    found = of_kind(lint_kb(kb), "missing_criterion")
    assert [(f.severity, f.criteria, f.location) for f in found] == [
        ("warning", ("mystery",), f"kb/30_indications.lp:{line}")]


def test_fail_syntax_error_is_a_parse_error(kb: Path):
    line = append(kb / "60_determination.lp", "broken(Case) :- case(Case)\nbroken(1).\n")
    findings = lint_kb(kb)
    assert [f.kind for f in findings] == ["parse_error"]
    f = findings[0]
    assert f.severity == "error"
    # clingo reports the token it could not take: the start of the next line.
    assert f.location in {f"kb/60_determination.lp:{line}", f"kb/60_determination.lp:{line + 1}"}
    assert "syntax error" in f.message


# --- variants (extends) ------------------------------------------------------------------


def test_success_variant_replaces_same_named_layer(kb: Path, tmp_path: Path):
    variant = tmp_path / "amended"
    variant.mkdir()
    (variant / "extends").write_text("../kb\n")
    (variant / "50_notes.lp").write_text((kb / "50_notes.lp").read_text())
    (variant / "55_extra.lp").write_text("% nothing yet\n")
    files = layer_files(variant)
    names = [p.name for p in files]
    assert names == sorted({*(p.name for p in layer_files(kb)), "55_extra.lp"})
    assert files[names.index("50_notes.lp")] == variant / "50_notes.lp"
    assert files[names.index("30_indications.lp")].parent == variant / "../kb"
    assert errors(lint_kb(variant)) == []

    line = append(variant / "50_notes.lp", "holds(Case, pregnancy) :- ghost(Case).\n")
    found = of_kind(lint_kb(variant), "undefined_predicate")
    assert [f.location for f in found] == [f"amended/50_notes.lp:{line}"]


def test_fail_extends_cycle_and_dangling_base(tmp_path: Path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "extends").write_text("../b")
    (b / "extends").write_text("../a")
    with pytest.raises(LayerError):
        layer_files(a)
    (b / "extends").write_text("../nowhere")
    with pytest.raises(LayerError):
        layer_files(a)
    assert [f.kind for f in lint_kb(a)] == ["parse_error"]


# --- findings ----------------------------------------------------------------------------


def test_success_findings_api():
    assert SEVERITIES == ("info", "warning", "error")
    assert at_or_above("error", "warning") and at_or_above("warning", "warning")
    assert not at_or_above("info", "warning")
    with pytest.raises(ValueError):
        at_or_above("fatal", "error")
    f = Finding("unused_predicate", "warning", ("x",), "m", None, "kb/10_concepts.lp:3")
    assert f.to_json() == {"kind": "unused_predicate", "severity": "warning",
                           "criteria": ["x"], "message": "m", "witness": None,
                           "location": "kb/10_concepts.lp:3"}
