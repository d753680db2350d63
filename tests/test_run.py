"""Deciding a stream of cases on worker processes (mrs_asp/run.py)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import pytest

from mrs_asp.case_errors import CaseError
from mrs_asp.cases import Case, Request
from mrs_asp.loading import LoadedCase, parse_case
from mrs_asp.run import _sent, rendered

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from generate import generate  # noqa: E402


def _batches(loaded: list, size: int = 50) -> list[list]:
    return [loaded[i:i + size] for i in range(0, len(loaded), size)]


def test_success_workers_answer_as_one_process_does():
    loaded = [parse_case(json.dumps(d), f"generated {i}")
              for i, d in enumerate(generate(300, seed=31))]
    for missing in (False, True):
        one = "".join(rendered(_batches(loaded), kb=None, missing=missing, view="evaluate",
                               fmt="json", jobs=1))
        two = "".join(rendered(_batches(loaded), kb=None, missing=missing, view="evaluate",
                               fmt="json", jobs=2))
        assert two == one and one.count("\n") == 300


def test_success_a_worker_skips_the_checks_only_of_a_case_validated_here():
    checked = parse_case(b'{"id": "a", "request": {"cpt": "76390", "date": "2026-01-02", '
                         b'"body_region": "brain"}}', "a.json")
    by_hand = LoadedCase("b.json", Case(id="b", request=Request(
        cpt="76390", date=dt.date(2026, 1, 2), body_region="brain")))
    assert _sent([checked, by_hand]) == [("a.json", checked.text), by_hand]


def test_fail_a_case_not_validated_is_validated_by_the_worker():
    good = [parse_case(json.dumps(d), f"generated {i}") for i, d in enumerate(generate(60, 32))]
    bad = LoadedCase("bad.json", Case(id="bad", request=Request(
        cpt="76390", date="not a date", body_region="brain")))
    with pytest.raises(CaseError, match="bad.json"):
        "".join(rendered(_batches(good, 30) + [[bad]], kb=None, missing=False,
                         view="evaluate", fmt="json", jobs=2))
