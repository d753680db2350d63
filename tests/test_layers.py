"""The knowledge base says what it is: its layers (declared in each file's
first line) and its roots (criteria that are no node's part)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from mrs_asp.answer import decide
from mrs_asp.cases import case_from_data
from mrs_asp.check import indication_paths
from mrs_asp.kb import KnowledgeBase, KnowledgeBaseError
from mrs_asp.layers import LAYERS, layer_files, layer_of

KB = Path(__file__).resolve().parents[1] / "kb"
CASE = {"id": "roots", "request": {"cpt": "76390", "date": "2026-03-02", "body_region": "brain"},
        "imaging": [{"modality": "CT", "body_region": "brain", "date": "2025-01-02",
                     "result": "inconclusive"}],
        "findings": {"neonatal_hie": True}}


def test_success_mrs_lp_includes_exactly_what_the_engine_loads_in_order() -> None:
    included = re.findall(r'^#include "([^"]+)"\.', (KB / "mrs.lp").read_text(), re.M)
    assert included == [p.name for p in layer_files(KB)]
    assert [p.name for p in KnowledgeBase(KB).files] == included


def test_success_layers_are_declared_in_reading_order() -> None:
    declared = [layer_of(p) for p in layer_files(KB)]
    assert [LAYERS.index(name) for name in declared] == sorted(
        LAYERS.index(name) for name in declared)
    assert set(declared) == set(LAYERS)


def test_success_a_variant_file_plays_the_layer_of_the_file_it_replaces() -> None:
    for variant in (KB / "variants").iterdir():
        for path in variant.glob("*.lp"):
            assert layer_of(path) == layer_of(KB / path.name), path


def test_fail_a_file_without_its_layer_header_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "kb"
    shutil.copytree(KB, copy)
    path = copy / "70_explanation.lp"
    path.write_text("%*\n" + path.read_text().split("\n", 1)[1])
    with pytest.raises(KnowledgeBaseError, match=r"70_explanation.lp:1: expected a layer header"):
        KnowledgeBase(copy).statements("evaluate")


def test_success_roots_come_from_the_kb() -> None:
    kb = KnowledgeBase(KB)
    assert kb.root("applicability") == "applies"
    assert kb.root("indication") == "indicated"


def test_success_renamed_roots_still_decide(tmp_path: Path) -> None:
    """No Python constant names the tree's roots: a KB that calls them
    otherwise is ranked, explained and checked the same way."""
    copy = tmp_path / "kb"
    shutil.copytree(KB, copy, ignore=shutil.ignore_patterns("variants"))
    for path in copy.glob("*.lp"):
        text = re.sub(r"\bapplies\b", "policy_applies", path.read_text())
        path.write_text(re.sub(r"\bindicated\b", "indication_met", text))
    kb = KnowledgeBase(copy)
    assert kb.root("applicability") == "policy_applies"
    assert kb.root("indication") == "indication_met"
    answer = decide([case_from_data(CASE)], kb=copy)[0]
    assert answer.determination == "approved"
    assert answer.explanation["criterion"] == "policy_applies"
    assert [c["criterion"] for c in answer.explanation["children"]] == ["indication_met"]
    assert answer.criteria[:2] == ["policy_applies", "indication_met"]
    assert ["conventional_inconclusive", "neonatal_hie"] in indication_paths(kb)
