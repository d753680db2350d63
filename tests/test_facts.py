"""How cases become facts (mrs_asp/facts.py, mrs_asp/case_feed.lp, kb/00_case_facts.lp)."""

from __future__ import annotations

import clingo
from clingo import ast
from hypothesis import given, settings
from strategies import cases

from mrs_asp.loading import case_from_data
from mrs_asp.facts import INPUT_PREDICATES, CaseFeed, feed_statements

CASE = {
    "id": "facts",
    "request": {"cpt": "76390", "date": "2026-03-02", "body_region": "brain",
                "contrast": False},
    "patient": {"age_years": 54, "pregnant": True},
    "imaging": [{"modality": "MRI", "body_region": "brain", "date": "2026-02-20",
                 "result": "inconclusive"},
                {"modality": "CT", "body_region": "spine", "date": "2026-01-10"}],
    "findings": {"glioma": True, "brain_mass": False, "symptoms": "new"},
    "implants": [{"kind": "pacemaker", "mr_status": "unknown"}],
    "foreign_bodies": [{"location": "orbit", "metallic": False}],
}


def _texts(symbols) -> set[str]:
    return {str(s) for s in symbols}


def _grounded(feed: CaseFeed) -> set[str]:
    """The input atoms case_feed.lp derives from ``feed``."""
    ctl = clingo.Control(["--warn=none"])
    with ast.ProgramBuilder(ctl) as builder:
        for statement in feed_statements():
            builder.add(statement)
    ctl.ground([("base", [])], context=feed)
    return {str(a.symbol) for a in ctl.symbolic_atoms
            if a.symbol.name in INPUT_PREDICATES}


def test_success_one_atom_per_documented_field() -> None:
    feed = CaseFeed([case_from_data(CASE)])
    assert _texts(feed.atoms()) == {
        "case(0)",
        'request_cpt(0,"76390")',
        "request_region(0,brain)",
        "request_day(0,739677)",
        "request_contrast(0,false)",
        "patient(0,pregnant,true)",   # age is not reasoned on (kb/00_case_facts.lp)
        "finding(0,glioma,true)",
        "finding(0,brain_mass,false)",  # documented false is a fact, absent is none
        "finding(0,symptoms,new)",
        "imaging(0,0,mri,brain,739667)",
        "imaging_result(0,0,inconclusive)",
        "imaging(0,1,ct,spine,739626)",  # no result documented: no imaging_result
        "implant(0,0,pacemaker)",
        "implant_mr_status(0,0,unknown)",
        "foreign_body(0,0,orbit)",
        "foreign_body_metallic(0,0,false)",
    }


def test_success_case_feed_grounds_exactly_the_atoms() -> None:
    other = {**CASE, "id": "other", "findings": {"glioma": True},
             "request": {**CASE["request"], "cpt": "70553", "date": "2026-12-01"}}
    feed = CaseFeed([case_from_data(CASE), case_from_data(other)])
    assert _grounded(feed) == _texts(feed.atoms())
    assert 'request_cpt(1,"70553")' in _grounded(feed)


def test_success_hostile_string_is_one_string_symbol() -> None:
    hostile = 'x"). approved(0). %'
    case = case_from_data({**CASE, "request": {**CASE["request"], "cpt": hostile}})
    grounded = _grounded(CaseFeed([case]))
    cpt = [a for a in grounded if a.startswith("request_cpt(")]
    assert cpt == [f"request_cpt(0,{clingo.String(hostile)})"]
    assert not any(a.startswith("approved") for a in grounded)


@settings(max_examples=60, deadline=None)
@given(cases())
def test_success_feed_grounds_exactly_the_atoms(data: dict) -> None:
    feed = CaseFeed([case_from_data(data), case_from_data(CASE)])
    atoms = _texts(feed.atoms())
    assert _grounded(feed) == atoms
    assert {a.split("(")[0] for a in atoms} <= set(INPUT_PREDICATES)
