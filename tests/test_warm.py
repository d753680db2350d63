"""The warm engine (mrs_asp/warm.py) answers byte for byte as the batch path does."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings

from mrs_asp import decide, iter_cases, parse_case
from mrs_asp.answer import _batch_answers, engine_for
from mrs_asp.cases import case_from_data
from mrs_asp.kb import KnowledgeBase
from mrs_asp.warm import Slots, WarmEngine, warm_engine_for, window_ages

from kb_copies import kb_edited
from strategies import cases as case_dicts

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT.parent / "shared" / "spec" / "examples"
sys.path.insert(0, str(ROOT / "benchmarks"))

from generate import generate  # noqa: E402


def _json(answer) -> bytes:
    return msgspec.json.encode(answer.to_json())


def _library():
    return [c.case for c in iter_cases([ROOT / "cases", *sorted(EXAMPLES.glob("*.case.json"))])]


def _generated(n: int = 300, seed: int = 14):
    return [parse_case(json.dumps(d), f"generated {i}").case
            for i, d in enumerate(generate(n, seed=seed))]


@pytest.mark.parametrize("missing", [True, False])
def test_success_warm_answers_are_the_batch_answers(missing):
    engine = warm_engine_for()
    cases = _library() + _generated()
    batch = _batch_answers(cases, engine_for(None), missing)
    assert not any(engine.beyond_slots(c) for c in cases)  # all decided on the grounding
    warm = [engine.decide(c, missing) for c in cases]
    differ = [c.id for c, a, b in zip(cases, batch, warm) if _json(a) != _json(b)]
    assert differ == []
    # decided twice, in another order: nothing of one case stays for the next
    again = [engine.decide(c, missing) for c in reversed(cases)]
    assert [_json(a) for a in reversed(again)] == [_json(a) for a in batch]


def test_success_a_single_case_goes_to_the_warm_engine():
    case = _generated(1)[0]
    assert _json(decide([case])[0]) == _json(warm_engine_for().decide(case))


def test_success_cases_beyond_the_slots_fall_back_to_the_batch_path():
    engine = WarmEngine(engine_for(None).kb, Slots(imaging=1, implants=1, foreign_bodies=0))
    cases = [c for c in _library() + _generated(100)
             if len(c.imaging or ()) > 1 or len(c.implants or ()) > 1 or c.foreign_bodies]
    assert all(engine.beyond_slots(c) for c in cases)
    # each way of being beyond the slots is tried
    assert any(len(c.imaging or ()) > 1 for c in cases)
    assert any(len(c.implants or ()) > 1 for c in cases)
    assert any(c.foreign_bodies for c in cases)
    inside = [c for c in _library() if not engine.beyond_slots(c)]
    assert inside, "some library case fits one study and no implant"
    for case in cases[:40] + inside:
        assert _json(engine.decide(case)) == _json(_batch_answers([case], engine.batch, True)[0])


def test_success_ages_are_the_spans_the_windows_cut():
    assert window_ages([(0, 90), (0, None)]) == [-1, 0, 91]
    assert window_ages([(0, 30), (0, 90), (0, None)]) == [-1, 0, 31, 91]


def test_success_a_window_bound_in_kb_alone_changes_the_answers(tmp_path):
    """kb/ declares window(within_three_months, 0, 90); the rules and the warm
    engine read it from there. A study 60 days old is recent under 0-90 and
    not under 0-30, on both paths."""
    kb = kb_edited(tmp_path / "kb", "10_concepts.lp", "window(within_three_months, 0, 90).",
                   "window(within_three_months, 0, 30).")
    case = case_from_data({
        "id": "sixty-days", "request": {"cpt": "76390", "date": "2026-03-02",
                                        "body_region": "brain"},
        "imaging": [{"modality": "MRI", "body_region": "brain", "date": "2026-01-01",
                     "result": "inconclusive"}],
        "findings": {"glioma": True, "glioma_grading": True}})
    shipped = warm_engine_for().decide(case)
    assert shipped.determination == "denied"
    assert shipped.non_indications == ["recent_advanced_imaging"]
    changed = WarmEngine(KnowledgeBase(kb))
    assert changed.ages == [-1, 0, 31]
    for answer in (changed.decide(case), decide([case, case], kb=kb)[0]):
        assert answer.determination == "approved"
        assert answer.non_indications == []


def test_success_batches_ask_the_warm_engine_what_is_missing():
    cases = _library() + _generated()
    batch = _batch_answers(cases, engine_for(None), True)
    assert [_json(a) for a in decide(cases)] == [_json(a) for a in batch]
    assert [_json(a) for a in decide(cases, warm=False)] == [_json(a) for a in batch]


# -- positions, compiled and read --------------------------------------------------------
_DRAWN = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def test_success_compiled_positions_are_the_positions_read():
    domain = warm_engine_for().domain
    assert domain.positions != domain.positions_read  # the compiled one is in use
    cases = _library() + _generated(1500, seed=41)
    assert [domain.positions(c) for c in cases] == [domain.positions_read(c) for c in cases]


@_DRAWN
@given(case_dicts())
def test_success_compiled_positions_are_the_positions_read_on_drawn_cases(data):
    case = case_from_data(data)
    domain = warm_engine_for().domain
    assert domain.positions(case) == domain.positions_read(case)


def test_success_a_case_with_a_value_of_no_place_has_no_positions():
    # more entries than the slots: no place for the last one, either way
    domain = warm_engine_for().domain
    case = _generated(1, seed=42)[0]
    data = msgspec.to_builtins(case)
    study = {"modality": "MRI", "body_region": "brain", "date": data["request"]["date"]}
    data["imaging"] = [study] * (Slots().imaging + 1)
    wide = case_from_data(data)
    assert domain.positions(wide) is None and domain.positions_read(wide) is None
