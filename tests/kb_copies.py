"""Copies of kb/'s layer files for tests that change the knowledge base."""

from __future__ import annotations

import shutil
from pathlib import Path

from mrs_asp.kb import layer_files

KB = Path(__file__).resolve().parents[1] / "kb"


def kb_copy(directory: Path) -> Path:
    """``directory``, made, holding a copy of each layer file of kb/ (``NN_name.lp``)."""
    directory.mkdir()
    for layer in layer_files(KB):
        shutil.copy(layer, directory / layer.name)
    return directory


def kb_edited(directory: Path, file: str, old: str, new: str) -> Path:
    """:func:`kb_copy` with the one occurrence of ``old`` in ``file`` replaced by ``new``."""
    path = kb_copy(directory) / file
    text = path.read_text()
    assert text.count(old) == 1, f"{file} holds {old!r} {text.count(old)} times, not once"
    path.write_text(text.replace(old, new))
    return directory
