"""Every rule of kb/ matters: deleting it changes some answer of the library.

For each rule and fact of the layer files, a copy of kb/ without it decides the
case library and the worked examples (determination, criteria, explanation,
missing, all of the JSON answer); some answer must differ. A rule that
survives its own deletion is either dead weight or a rule no case exercises:
both are worth a look (add the case, or drop the rule).
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


def _answers(library, kb=None) -> list[str]:
    return [json.dumps(a.to_json(), sort_keys=True)
            for a in decide(library, kb=kb, missing=True)]


def test_success_every_rule_changes_some_answer(library, tmp_path):
    baseline = _answers(library)
    # The copying itself changes nothing: an untouched copy answers the same.
    untouched = tmp_path / "kb-untouched"
    untouched.mkdir()
    for layer in layer_files(KB):
        shutil.copy(layer, untouched / layer.name)
    assert _answers(library, untouched) == baseline
    _engine.cache_clear()
    survivors = []
    for path, first, last, text in _rules():
        copy = tmp_path / f"kb-{path.stem}-{first}"
        copy.mkdir()
        for layer in layer_files(KB):
            shutil.copy(layer, copy / layer.name)
        lines = path.read_text().splitlines(keepends=True)
        (copy / path.name).write_text("".join(lines[:first - 1] + ["% deleted\n"] + lines[last:]))
        try:
            changed = _answers(library, copy) != baseline
        except Exception:  # a KB that no longer works has certainly changed
            changed = True
        finally:
            _engine.cache_clear()
            shutil.rmtree(copy)
        if not changed:
            survivors.append(f"{path.name}:{first}: {text[:100]}")
    assert survivors == [], "rules no case makes matter:\n" + "\n".join(survivors)
