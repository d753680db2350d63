"""The cache of prepared knowledge bases (mrs_asp/kb.py), keyed by the KB's fingerprint."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from mrs_asp import decide, iter_cases
from mrs_asp.kb import KnowledgeBase, KnowledgeBaseError, unsealed

from kb_copies import kb_copy

ROOT = Path(__file__).resolve().parents[1]


def _answers(kb: Path) -> list[bytes]:
    cases = list(iter_cases([ROOT / "cases"]))
    return [msgspec.json.encode(a.to_json()) for a in decide(cases, kb=kb, warm=False)]


def test_success_a_cached_kb_answers_as_a_parsed_one(tmp_path, monkeypatch):
    monkeypatch.setenv("MRS_ASP_CACHE", str(tmp_path / "cache"))
    kb = kb_copy(tmp_path / "kb")
    first = KnowledgeBase(kb)
    first.criteria  # noqa: B018 - prepares it
    stored = list((tmp_path / "cache").glob("kb-*.json"))
    assert [p.name.split("-")[1] for p in stored] == [first.fingerprint]
    # a fresh KnowledgeBase reads the cache, and parses nothing
    second = KnowledgeBase(kb)
    assert second.program("evaluate") == first.program("evaluate")
    assert "_parsed" not in second.__dict__
    second.validate()  # a valid KB is validated on the cached texts, still unparsed
    assert "_parsed" not in second.__dict__
    assert second.criteria == first.criteria and second.windows == first.windows
    monkeypatch.setenv("MRS_ASP_CACHE", "")
    uncached = _answers(kb)
    monkeypatch.setenv("MRS_ASP_CACHE", str(tmp_path / "cache"))
    assert _answers(kb) == uncached


def test_success_an_edit_to_kb_is_never_answered_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MRS_ASP_CACHE", str(tmp_path / "cache"))
    kb = kb_copy(tmp_path / "kb")
    before = KnowledgeBase(kb)
    assert before.windows == [(0, 90), (0, None)]
    concepts = kb / "10_concepts.lp"
    concepts.write_text(concepts.read_text().replace("window(within_three_months, 0, 90).",
                                                     "window(within_three_months, 0, 30)."))
    after = KnowledgeBase(kb)
    assert after.fingerprint != before.fingerprint
    assert after.windows == [(0, 30), (0, None)]
    assert len(list((tmp_path / "cache").glob("kb-*.json"))) == 2


def test_success_a_broken_cache_entry_is_prepared_again(tmp_path, monkeypatch):
    monkeypatch.setenv("MRS_ASP_CACHE", str(tmp_path / "cache"))
    kb = kb_copy(tmp_path / "kb")
    good = KnowledgeBase(kb).program("abduce")
    (entry,) = (tmp_path / "cache").glob("kb-*.json")
    entry.write_text("{not json")
    assert KnowledgeBase(kb).program("abduce") == good
    assert json.loads(unsealed(entry.read_bytes()))["fingerprint"] == KnowledgeBase(kb).fingerprint
    # a rule changed on disk (a bit flipped in the kept program): the seal no
    # longer fits, and the KB is prepared again from its files
    kept = entry.read_bytes()
    at = kept.index(b"recent_advanced_imaging")
    entry.write_bytes(kept[:at] + b"R" + kept[at + 1:])
    assert KnowledgeBase(kb).program("abduce") == good


def test_fail_an_edit_to_a_file_a_layer_includes_is_never_answered_from_the_cache(
        tmp_path, monkeypatch):
    monkeypatch.setenv("MRS_ASP_CACHE", str(tmp_path / "cache"))
    kb = kb_copy(tmp_path / "kb")
    (kb / "extra").mkdir()
    included = kb / "extra" / "inc.lp"
    included.write_text("% nothing yet\n")
    notes = kb / "50_notes.lp"
    notes.write_text(notes.read_text() + '\n#include "extra/inc.lp".\n')
    before = KnowledgeBase(kb)
    before.validate()
    included.write_text("this is not clingo (\n")
    after = KnowledgeBase(kb)
    assert after.fingerprint != before.fingerprint
    with pytest.raises(KnowledgeBaseError, match="inc.lp"):
        after.validate()
        after.program("evaluate")
