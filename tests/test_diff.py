"""mrs-asp diff: which decisions a change to the rules would flip."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mrs_asp import decide, iter_cases
from mrs_asp.loading import case_from_data
from mrs_asp.cli import app
from mrs_asp.diff import diff_library, diff_witnesses
from mrs_asp.kb import KnowledgeBase

ROOT = Path(__file__).resolve().parents[1]
KB = ROOT / "kb"
VARIANT = KB / "variants" / "qualifying-study-exempt"
runner = CliRunner()


@pytest.fixture(scope="module")
def library():
    return [c for c in iter_cases([ROOT / "cases"])]


def test_success_variant_flips_recent_conventional_study_cases(library):
    flips = {f.id: f for f in diff_library(KB, VARIANT, library)}
    flip = flips["03-glioma-grading-recent-mri-denied"]
    assert (flip.old, flip.new, flip.changed) == ("denied", "approved",
                                                  ["-recent_advanced_imaging"])
    # A repeat request's own MRS is still recent advanced imaging under the variant.
    assert "35-repeat-monitoring-no-treatment-denied" not in flips
    # Every flip really differs when decided independently.
    by_id = {c.id: c for c in library}
    cases = [by_id[i] for i in flips]
    for a, b in zip(decide(cases, missing=False), decide(cases, kb=VARIANT, missing=False)):
        assert (a.determination, a.non_indications) != (b.determination, b.non_indications)


def test_success_identical_versions_flip_nothing(library, tmp_path):
    copy = tmp_path / "kb"
    shutil.copytree(KB, copy)
    assert diff_library(KB, copy, library) == []
    assert diff_witnesses(KnowledgeBase(KB), KnowledgeBase(copy)) == []


def test_success_witnesses_beyond_the_library_are_decided_differently():
    found = diff_witnesses(KnowledgeBase(KB), KnowledgeBase(VARIANT))
    assert found and {(w["old"], w["new"]) for w in found} == {("denied", "approved")}
    cases = [case_from_data(w["case"]) for w in found]
    old = decide(cases, missing=False)
    new = decide(cases, kb=VARIANT, missing=False)
    assert all(a.determination == "denied" and b.determination == "approved"
               for a, b in zip(old, new))


def test_success_a_stricter_rule_flips_approvals_to_denials(tmp_path):
    stricter = tmp_path / "stricter"
    stricter.mkdir()
    (stricter / "extends").write_text(str(KB))
    notes = (KB / "50_notes.lp").read_text()
    (stricter / "50_notes.lp").write_text(
        notes + '\ncriterion(pregnant_denied, non_indication, "Pregnancy (planted)").\n'
                "holds(Case, pregnant_denied) :- patient(Case, pregnant, true).\n")
    found = diff_witnesses(KnowledgeBase(KB), KnowledgeBase(stricter))
    assert found and all((w["old"], w["new"]) == ("approved", "denied") for w in found)
    assert all(w["case"]["patient"]["pregnant"] is True for w in found)


def test_success_cli_diff_text_and_json():
    result = runner.invoke(app, ["diff", str(KB), str(VARIANT), str(ROOT / "cases")])
    assert result.exit_code == 0, result.output
    assert "03-glioma-grading-recent-mri-denied: denied -> approved" in result.stdout
    assert "beyond the library" in result.stdout
    as_json = json.loads(runner.invoke(app, ["diff", str(KB), str(VARIANT), "--format",
                                             "json", "--no-witnesses"]).stdout)
    assert as_json["witnesses"] == [] and as_json["library"]


def test_success_cli_diff_against_a_git_revision(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    shutil.copytree(KB, repo / "kb", ignore=shutil.ignore_patterns("variants"))
    shutil.copytree(ROOT / "cases", repo / "cases")
    git = ["git", "-C", str(repo), "-c", "user.email=t@example.org", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    shutil.copy(VARIANT / "40_non_indications_recent_imaging.lp", repo / "kb")
    monkeypatch.chdir(repo)
    result = runner.invoke(app, ["diff", "HEAD", "kb", "--no-witnesses"])
    assert result.exit_code == 0, result.output
    # the same answer as the directory form
    library = [c for c in iter_cases(ROOT / "cases")]
    flipped = [f for f in diff_library(KB, VARIANT, library) if f.old != f.new]
    assert f"{len(flipped)} of {len(library)} cases change determination" in result.stdout
    assert flipped


def test_fail_cli_diff_unknown_version():
    result = runner.invoke(app, ["diff", "no-such-dir-or-rev", str(KB)])
    assert result.exit_code == 2
    assert "neither a knowledge-base directory nor a git revision" in result.stderr
    assert "Traceback" not in result.output
