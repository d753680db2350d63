"""Every rule of kb/ matters: deleting it changes some answer of the library.

For each rule and fact of the layer files, a copy of kb/ without it decides the
case library and the worked examples (determination, criteria, explanation,
missing, all of the JSON answer); some answer must differ. A rule that
survives its own deletion is either dead weight or a rule no case exercises:
both are worth a look (add the case, or drop the rule).

Deleting each rule and grounding the library again for each of ~200 mutants
is what made this test slow. Instead the first pass grounds the library once,
with every rule of the explanation layers guarded by an external atom of its
own (``mutant_keeps(K)``), and decides each mutant by one solve with its
guard false: for a stratified program, a rule whose body can no longer hold
answers exactly as the program without it (gringo keeps an open external,
so nothing is simplified away). The answers are built from that answer set
by the engine's own readers (``read_atoms``, ``_answer_of``) and compared,
as JSON, with the library's answers without what is missing.

Two kinds of rules cannot be guarded and take the slow, faithful path (a
copy of kb/ without the rule, decided through :func:`mrs_asp.decide`): the
table facts Python reads of the KB itself (``criterion/3``, ``node/2``,
``part/3``, ``window/3``: their deletion changes the words, the tree or the
study-age spans), and the rules the explanation layers do not load (the
abduction layers 8x). A guarded mutant that changes no answer without what
is missing is decided the slow way too, with what is missing, and all of
the JSON answer is compared. A test below holds the guarded pass to the
slow path on a sample of mutants.
"""

from __future__ import annotations

import json
from pathlib import Path

import clingo
import pytest
from clingo import Function, Number, TruthValue, ast

from mrs_asp import decide, iter_cases
from mrs_asp.answer import _answer_of, _engine, engine_for
from mrs_asp.engine import EVALUATE_BATCH, Atoms, _feed, read_atoms
from mrs_asp.kb import _TABLES, layer_files

from kb_copies import kb_copy

ROOT = Path(__file__).resolve().parents[1]
KB = ROOT / "kb"
EXAMPLES = ROOT.parent / "shared" / "spec" / "examples"

Rule = tuple[Path, int, int, str]  # (file, first line, last line, text)


def _rules() -> list[Rule]:
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
    cases = [c.case for c in iter_cases([ROOT / "cases",
                                         *sorted(EXAMPLES.glob("*.case.json"))])]
    # One grounding holds the whole library (the engine batches by EVALUATE_BATCH).
    assert len(cases) <= EVALUATE_BATCH
    return cases


@pytest.fixture(scope="module")
def baseline(library) -> dict[bool, list[str]]:
    return {missing: _answers(library, missing=missing) for missing in (False, True)}


def _answers(library, kb=None, missing: bool = True) -> list[str]:
    return [json.dumps(a.to_json(), sort_keys=True)
            for a in decide(library, kb=kb, missing=missing)]


# -- the slow, faithful path: a copy of kb/ without the rule --------------------

def _without(rule: Rule, directory: Path) -> Path:
    """A copy of kb/ in ``directory`` with ``rule`` replaced by a comment."""
    path, first, last, _ = rule
    kb_copy(directory)
    lines = path.read_text().splitlines(keepends=True)
    (directory / path.name).write_text("".join(lines[:first - 1] + ["% deleted\n"] + lines[last:]))
    return directory


def _changes(library, kb: Path, baseline: dict[bool, list[str]], missing_only: bool) -> bool:
    """Whether the KB in ``kb`` answers the library differently from ``baseline``;
    ``missing_only``: the answers without what is missing are known to agree."""
    try:
        if not missing_only and _answers(library, kb, missing=False) != baseline[False]:
            return True
        return _answers(library, kb) != baseline[True]
    except Exception:  # a KB that no longer works has certainly changed
        return True
    finally:
        _engine.cache_clear()


# -- the guarded pass: one grounding, one solve per mutant ----------------------

def _keeps(number: int) -> clingo.Symbol:
    return Function("mutant_keeps", [Number(number)])


class Guarded:
    """The library grounded once with the explanation layers (mode ``explain``,
    what ``decide(..., missing=False)`` runs), each guardable rule's body
    extended by ``mutant_keeps(K)``, every guard external and true."""

    def __init__(self, library, rules: list[Rule]) -> None:
        self.library = library
        self.knowledge = engine_for().kb
        where = {(path.name, first): number for number, (path, first, _, text) in enumerate(rules)
                 if not text.startswith(_TABLES)}
        self.ctl = clingo.Control(["--warn=none"])
        self.guarded: set[int] = set()  # the rules guarded (each by mutant_keeps(its number))
        with ast.ProgramBuilder(self.ctl) as builder:
            for statement in self.knowledge.statements("explain"):
                location = statement.location.begin
                number = where.get((Path(location.filename).name, location.line))
                if number is not None and statement.ast_type == ast.ASTType.Rule:
                    guard = ast.Literal(statement.location, ast.Sign.NoSign, ast.SymbolicAtom(
                        ast.SymbolicTerm(statement.location, _keeps(number))))
                    statement = statement.update(body=[*statement.body, guard])
                    self.guarded.add(number)
                builder.add(statement)
        feed = _feed(self.ctl, library)
        with self.ctl.backend() as backend:
            for number in self.guarded:
                backend.add_external(backend.add_atom(_keeps(number)), TruthValue.True_)
        self.ctl.ground([("base", [])], context=feed)

    def answers(self, without: int | None = None) -> list[str] | None:
        """The library's answers without what is missing, with rule ``without``
        deleted (None: all rules kept); None when no answer set is left or no
        answer can be built from it (as the slow path, where such a KB raises)."""
        if without is not None:
            self.ctl.assign_external(_keeps(without), False)
        try:
            with self.ctl.solve(yield_=True) as handle:
                model = handle.model()
                if model is None:
                    return None
                symbols = model.symbols(shown=True)
        finally:
            if without is not None:
                self.ctl.assign_external(_keeps(without), True)
        atoms = [Atoms() for _ in self.library]
        read_atoms(symbols, atoms)
        out = []
        for case, case_atoms in zip(self.library, atoms):
            try:
                answer = _answer_of(case, case_atoms, self.knowledge)
            except Exception:  # e.g. a node whose parent is gone from the tree
                return None
            answer.missing_computed = False
            out.append(json.dumps(answer.to_json(), sort_keys=True))
        return out


@pytest.fixture(scope="module")
def guarded(library):
    return Guarded(library, _rules())


def test_success_the_guards_change_nothing_by_themselves(guarded, baseline):
    assert guarded.answers() == baseline[False]
    # The guards cover the explanation layers' rules, and only those.
    rules = _rules()
    assert guarded.guarded
    assert all(not rules[n][0].name.startswith("8") and not rules[n][3].startswith(_TABLES)
               for n in guarded.guarded)


def test_success_a_guarded_mutant_answers_as_the_kb_without_its_rule(library, guarded, tmp_path):
    """The guarded pass is the slow path's answer, on a spread of mutants from
    every explanation layer (the first rule of each file and one in five after)."""
    rules = _rules()
    by_file: dict[str, list[int]] = {}
    for number in sorted(guarded.guarded):
        by_file.setdefault(rules[number][0].name, []).append(number)
    sample = [number for numbers in by_file.values() for number in numbers[::5]]
    for number in sample:
        try:
            slow = _answers(library, _without(rules[number], tmp_path / f"kb-{number}"),
                            missing=False)
        except Exception:
            slow = None
        finally:
            _engine.cache_clear()
        assert guarded.answers(without=number) == slow, rules[number][3]


def test_success_every_rule_changes_some_answer(library, baseline, guarded, tmp_path):
    # The copying itself changes nothing: an untouched copy answers the same.
    untouched = kb_copy(tmp_path / "kb-untouched")
    assert not _changes(library, untouched, baseline, missing_only=False)
    survivors = []
    for number, rule in enumerate(_rules()):
        if number in guarded.guarded:
            if guarded.answers(without=number) != baseline[False]:
                continue
            changed = _changes(library, _without(rule, tmp_path / f"kb-{number}"), baseline,
                               missing_only=True)
        else:
            changed = _changes(library, _without(rule, tmp_path / f"kb-{number}"), baseline,
                               missing_only=False)
        if not changed:
            path, first, _, text = rule
            survivors.append(f"{path.name}:{first}: {text[:100]}")
    assert survivors == [], "rules no case makes matter:\n" + "\n".join(survivors)
