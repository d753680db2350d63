"""The compiled evaluation (mrs_asp/compiled.py) answers byte for byte as the
clingo batch grounding does, and refuses what it cannot compile."""

from __future__ import annotations

import json
import marshal
import sys
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mrs_asp import decide, iter_cases, parse_case
from mrs_asp.answer import _answer_of, engine_for
from mrs_asp.compiled import MIN_CASES, Compiled, compiled_for, evaluate
from mrs_asp.engine import Engine
from mrs_asp.kb import KnowledgeBase, sealed, unsealed
from mrs_asp.warm import WarmEngine

from kb_copies import kb_copy
from strategies import cases as case_dicts

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT.parent / "shared" / "spec" / "examples"
sys.path.insert(0, str(ROOT / "benchmarks"))

from generate import generate  # noqa: E402


def _answers(cases, atoms, kb) -> list[bytes]:
    return [msgspec.json.encode(_answer_of(c, a, kb).to_json()) for c, a in zip(cases, atoms)]


def _library():
    return [c.case for c in iter_cases([ROOT / "cases", *sorted(EXAMPLES.glob("*.case.json"))])]


def _generated(n: int, seed: int):
    return [parse_case(json.dumps(d), f"generated {i}").case
            for i, d in enumerate(generate(n, seed=seed))]


def _same_as_clingo(cases) -> None:
    engine = engine_for(None)
    compiled = compiled_for()
    got = compiled.evaluate(cases)
    fitting = [i for i, atoms in enumerate(got) if atoms is not None]
    chosen = [cases[i] for i in fitting]
    assert _answers(chosen, [got[i] for i in fitting], engine.kb) == \
        _answers(chosen, engine.evaluate(chosen, why=False), engine.kb)


def test_success_the_shipped_kb_compiles():
    assert compiled_for().refusal is None


def test_success_compiled_answers_are_the_clingo_answers_on_the_library_and_generated_cases():
    cases = _library() + _generated(1500, seed=14)
    got = compiled_for().evaluate(cases)
    assert sum(a is None for a in got) < len(cases) // 50  # nearly all fit the slots
    _same_as_clingo(cases)
    # and through the public path, beyond-the-slots cases included
    engine = engine_for(None)
    assert _answers(cases, evaluate(engine, cases), engine.kb) == \
        _answers(cases, engine.evaluate(cases, why=False), engine.kb)
    assert [msgspec.json.encode(a.to_json()) for a in decide(cases, missing=False, warm=False)] \
        == [msgspec.json.encode(_answer_of(c, a, engine.kb).to_json())
            for c, a in zip(cases, engine.evaluate(cases, why=False))]


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(case_dicts(), min_size=1, max_size=40))
def test_success_compiled_answers_are_the_clingo_answers_on_drawn_cases(dicts):
    _same_as_clingo([parse_case(json.dumps({**d, "id": f"drawn-{i}"}), "drawn").case
                     for i, d in enumerate(dicts)])


def _kb_with(tmp_path: Path, extra: str) -> KnowledgeBase:
    kb = kb_copy(tmp_path / "kb")
    (kb / "55_extra.lp").write_text("%* layer: notes *%\n" + extra)
    return KnowledgeBase(kb)


@pytest.mark.parametrize("extra, reason", [
    ("{ extra(C) } :- case(C).\n", "choice rule"),
    ("many(C) :- case(C), #count { F : finding(C, F, true) } > 2.\n", "aggregate"),
    ("p(C) :- case(C), not q(C).\nq(C) :- case(C), not p(C).\n", "cycle through negation"),
])
def test_fail_a_kb_it_cannot_compile_is_refused_and_decided_by_clingo(tmp_path, extra,
                                                                       reason):
    kb = _kb_with(tmp_path, extra)
    compiled = Compiled(WarmEngine(kb))
    assert compiled.run is None and reason in compiled.refusal
    cases = _library()[:40] + _generated(MIN_CASES, seed=3)
    assert compiled.evaluate(cases) == [None] * len(cases)
    engine = Engine(kb)
    shipped = engine_for(None)
    # the fallback answers, and they are the shipped KB's (the extra rules show nothing)
    assert _answers(cases, evaluate(engine, cases), kb) == \
        _answers(cases, shipped.evaluate(cases, why=False), shipped.kb)


def test_success_positive_recursion_is_evaluated_to_its_fixpoint(tmp_path):
    kb = _kb_with(tmp_path, "t(C, F) :- finding(C, F, true).\nt(C, F) :- u(C, F).\n"
                            "u(C, F) :- t(C, F).\n")
    compiled = Compiled(WarmEngine(kb))
    assert compiled.refusal is None
    cases = _library()[:40]
    got = compiled.evaluate(cases)
    assert _answers(cases, got, kb) == _answers(cases, Engine(kb).evaluate(cases, why=False), kb)


def test_success_a_case_a_constraint_rules_out_goes_to_the_batch_grounding(tmp_path):
    kb = _kb_with(tmp_path, ":- finding(C, neonatal_hie, true).\n")
    compiled = Compiled(WarmEngine(kb))
    assert compiled.refusal is None
    ruled_out = parse_case(json.dumps({
        "id": "hie", "request": {"cpt": "76390", "date": "2026-03-02", "body_region": "brain"},
        "findings": {"neonatal_hie": True}}), "x").case
    fine = parse_case(json.dumps({
        "id": "fine", "request": {"cpt": "76390", "date": "2026-03-02", "body_region": "brain"},
        "findings": {"neonatal_hie": False}}), "x").case
    got = compiled.evaluate([ruled_out, fine])
    assert got[0] is None and got[1] is not None


def _normal(atoms) -> tuple:
    return (atoms.determination, sorted(atoms.reported), sorted(map(repr, atoms.nodes)),
            sorted(map(repr, atoms.cites)), sorted(map(repr, atoms.beyond_filling)),
            atoms.unreachable)


def test_success_the_evaluate_mode_compiles_its_shown_terms_as_clingo_shows_them():
    # kb/90_show.lp shows unreachable/2 as a term under a condition; the
    # warm engine decides single cases on this compiled mode
    compiled = Compiled(WarmEngine(engine_for(None).kb), "evaluate")
    assert compiled.refusal is None
    cases = _library() + _generated(600, seed=15)
    got = compiled.evaluate(cases)
    fitting = [i for i, atoms in enumerate(got) if atoms is not None]
    assert len(fitting) > len(cases) * 0.9
    clingo_atoms = engine_for(None).evaluate([cases[i] for i in fitting], why=True)
    assert any(a.unreachable for a in clingo_atoms) and any(a.beyond_filling for a in clingo_atoms)
    assert [_normal(got[i]) for i in fitting] == [_normal(a) for a in clingo_atoms]


# -- the compiled form, kept in the cache of prepared KBs --------------------------------
def _kept(tmp_path, monkeypatch, mode="evaluate"):
    monkeypatch.setenv("MRS_ASP_CACHE", str(tmp_path / "cache"))
    warm = WarmEngine(KnowledgeBase(kb_copy(tmp_path / "kb")))
    return warm, Compiled(warm, mode)


def test_success_a_kept_compiled_form_is_read_back_without_grounding(tmp_path, monkeypatch):
    warm, fresh = _kept(tmp_path, monkeypatch)
    assert len(list((tmp_path / "cache").glob("compiled-*.marshal"))) == 1

    def no_grounding(*args, **kwargs):
        raise AssertionError("the kept compiled form was not read")

    monkeypatch.setattr("mrs_asp.warm._Generic", no_grounding)
    kept = Compiled(warm, "evaluate")
    fresh_warm = WarmEngine(warm.kb)
    Compiled(fresh_warm, "evaluate")
    assert "inputs" not in fresh_warm.domain.__dict__  # not even the input atoms were made
    cases = _library() + _generated(300, seed=21)
    assert kept.evaluate(cases) == fresh.evaluate(cases)
    assert [a for a in fresh.evaluate(cases) if a is not None]  # not all beyond the slots


def test_success_an_edited_kb_is_compiled_again(tmp_path, monkeypatch):
    warm, _ = _kept(tmp_path, monkeypatch)
    concepts = warm.kb.directory / "10_concepts.lp"
    concepts.write_text(concepts.read_text().replace("window(within_three_months, 0, 90).",
                                                     "window(within_three_months, 0, 30)."))
    edited = KnowledgeBase(warm.kb.directory)
    again = Compiled(WarmEngine(edited), "evaluate")
    assert len(list((tmp_path / "cache").glob("compiled-*.marshal"))) == 2
    cases = _library() + _generated(300, seed=22)
    got = again.evaluate(cases)
    fitting = [i for i, atoms in enumerate(got) if atoms is not None]
    clingo_atoms = Engine(edited).evaluate([cases[i] for i in fitting], why=True)
    assert [_normal(got[i]) for i in fitting] == [_normal(a) for a in clingo_atoms]
    old = Compiled(WarmEngine(engine_for(None).kb), "evaluate").evaluate(cases)
    assert any(_normal(got[i]) != _normal(old[i]) for i in fitting)  # the edit tells


def _flipped(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 4]) + data[at + 1:]


@pytest.mark.parametrize("damage", [
    lambda kept: b"", lambda kept: b"\x00\x01not marshal", lambda kept: kept[:len(kept) // 2],
    lambda kept: sealed(marshal.dumps((1, 2, 3, 4))),
    lambda kept: sealed(marshal.dumps(("refusal", b"not code", [], {}))),
    # a bit flipped in the code or in what a shown atom adds (marshal, unchecked,
    # could crash the process or change an answer): the seal no longer fits
    lambda kept: _flipped(kept, len(kept) // 3), lambda kept: _flipped(kept, len(kept) - 40)])
def test_success_a_broken_compiled_entry_is_compiled_again(tmp_path, monkeypatch, damage):
    warm, fresh = _kept(tmp_path, monkeypatch)
    (entry,) = (tmp_path / "cache").glob("compiled-*.marshal")
    entry.write_bytes(damage(entry.read_bytes()))
    again = Compiled(warm, "evaluate")
    assert again.refusal is None and again.run is not None
    cases = _generated(200, seed=23)
    assert again.evaluate(cases) == fresh.evaluate(cases)
    assert marshal.loads(unsealed(entry.read_bytes()))[1] is not None  # written again, whole


def test_success_no_compiled_form_is_kept_when_the_cache_is_off(tmp_path, monkeypatch):
    monkeypatch.setenv("MRS_ASP_CACHE", "")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    Compiled(WarmEngine(KnowledgeBase(kb_copy(tmp_path / "kb"))), "explain")
    assert not list(tmp_path.rglob("compiled-*"))


def test_success_the_kept_form_is_keyed_by_every_module_of_the_package(tmp_path, monkeypatch):
    """How a shown atom is read into an answer lives in engine.py, how the
    inputs are made in warm.py: a change to any module of the package is
    another entry (the review found a stale one read after engine.py changed)."""
    import mrs_asp.compiled as compiled

    monkeypatch.setenv("MRS_ASP_CACHE", str(tmp_path / "cache"))
    warm = WarmEngine(KnowledgeBase(kb_copy(tmp_path / "kb")))
    key = compiled._cache_path(warm, "explain")
    package = Path(compiled.__file__).parent
    changed = tmp_path / "package"
    changed.mkdir()
    for module in package.glob("*.py"):
        text = module.read_bytes()
        (changed / module.name).write_bytes(text + b"\n# changed\n" if module.name == "engine.py"
                                            else text)
    monkeypatch.setattr(compiled, "__file__", str(changed / "compiled.py"))
    compiled._package_source.cache_clear()
    try:
        assert compiled._cache_path(warm, "explain").name != key.name
    finally:
        monkeypatch.undo()
        compiled._package_source.cache_clear()
    assert compiled._cache_path(warm, "explain").name == key.name
