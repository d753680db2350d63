"""The knowledge base's fingerprint: what a recorded decision names as the rules it ran."""

import shutil
from pathlib import Path

from mrs_asp.kb import KnowledgeBase, default_kb_dir


def test_success_same_layers_same_fingerprint(tmp_path: Path) -> None:
    copy = tmp_path / "kb"
    shutil.copytree(default_kb_dir(), copy)
    first = KnowledgeBase(default_kb_dir()).fingerprint
    assert len(first) == 64 and int(first, 16) >= 0
    assert KnowledgeBase(copy).fingerprint == first


def test_fail_an_edited_layer_changes_the_fingerprint(tmp_path: Path) -> None:
    copy = tmp_path / "kb"
    shutil.copytree(default_kb_dir(), copy)
    before = KnowledgeBase(copy).fingerprint
    layer = copy / "50_notes.lp"
    layer.write_text(layer.read_text() + "\n% an added comment\n")
    assert KnowledgeBase(copy).fingerprint != before
