"""Every rule of kb/ matters: deleting it changes some answer of the library.

For each rule and fact of the layer files, a copy of kb/ without it decides the
case library and the worked examples (determination, criteria, explanation,
missing, all of the JSON answer); some answer must differ. A rule that
survives its own deletion is either dead weight or a rule no case exercises:
both are worth a look (add the case, or drop the rule).

Deciding the library with what is missing is the costly part, and most rules
already change a decision or an explanation. So each mutant is first decided
without what is missing (the explanation layers, one batch); only a mutant
that changes none of those answers is decided again in full, and then all of
the JSON answer is compared. A mutant of the abduction layers (8x, which the
first pass does not load) goes straight to the full comparison.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from clingo import ast

from mrs_asp import decide, iter_cases
from mrs_asp.answer import _engine
from mrs_asp.kb import layer_files

ROOT = Path(__file__).resolve().parents[1]
KB = ROOT / "kb"
EXAMPLES = ROOT.parent / "shared" / "spec" / "examples"


def _rules() -> list[tuple[Path, int, int, str]]:
    found = []
    for path in layer_files(KB):
        statements: list[ast.AST] = []
        ast.parse_files([str(path)], statements.append)
        for st in statements:
            if st.ast_type == ast.ASTType.Rule:
                found.append((path, st.location.begin.line, st.location.end.line, str(st)))
    return found


@pytest.fixture(scope="module")
def library():
    return [c for c in iter_cases([ROOT / "cases", *sorted(EXAMPLES.glob("*.case.json"))])]


def _answers(library, kb=None, missing: bool = True) -> list[str]:
    return [json.dumps(a.to_json(), sort_keys=True)
            for a in decide(library, kb=kb, missing=missing)]


def _changes(library, kb: Path, layer: str, baseline: dict[bool, list[str]]) -> bool:
    """Whether the KB in ``kb`` answers the library differently from ``baseline``
    (answers without and with what is missing, by ``missing``)."""
    try:
        # Layers 8x are not loaded without what is missing: no need to look.
        if not layer.startswith("8") and _answers(library, kb, missing=False) != baseline[False]:
            return True
        return _answers(library, kb) != baseline[True]
    except Exception:  # a KB that no longer works has certainly changed
        return True
    finally:
        _engine.cache_clear()


def test_success_every_rule_changes_some_answer(library, tmp_path):
    baseline = {missing: _answers(library, missing=missing) for missing in (False, True)}
    # The copying itself changes nothing: an untouched copy answers the same.
    untouched = tmp_path / "kb-untouched"
    untouched.mkdir()
    for layer in layer_files(KB):
        shutil.copy(layer, untouched / layer.name)
    assert not _changes(library, untouched, "00", baseline)
    survivors = []
    for path, first, last, text in _rules():
        copy = tmp_path / f"kb-{path.stem}-{first}"
        copy.mkdir()
        for layer in layer_files(KB):
            shutil.copy(layer, copy / layer.name)
        lines = path.read_text().splitlines(keepends=True)
        (copy / path.name).write_text("".join(lines[:first - 1] + ["% deleted\n"] + lines[last:]))
        changed = _changes(library, copy, path.name, baseline)
        shutil.rmtree(copy)
        if not changed:
            survivors.append(f"{path.name}:{first}: {text[:100]}")
    assert survivors == [], "rules no case makes matter:\n" + "\n".join(survivors)
