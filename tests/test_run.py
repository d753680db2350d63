"""Deciding a stream of cases on worker processes (mrs_asp/run.py)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
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
        one = "".join(c.text for c in rendered(_batches(loaded), kb=None, missing=missing,
                                               view="evaluate", fmt="json", jobs=1))
        two = "".join(c.text for c in rendered(_batches(loaded), kb=None, missing=missing,
                                               view="evaluate", fmt="json", jobs=2))
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
        list(rendered(_batches(good, 30) + [[bad]], kb=None, missing=False,
                      view="evaluate", fmt="json", jobs=2))


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from mrs_asp.cli import main; main()", *args],
                          capture_output=True, cwd=ROOT, timeout=120)


def test_fail_bad_lines_read_in_workers_are_reported_in_input_order(tmp_path):
    """Lines of JSON Lines are validated in the workers; their errors, the
    reader's own (a pretty-printed case) and repeated ids (across batches and
    files) come out as one process gives them, in input order."""
    good = [json.dumps(d) for d in generate(1200, seed=33)]
    first_id = json.loads(good[0])["id"]
    lines = list(good)
    lines[3] = '{"id": "bad-date", "request": {"cpt": "76390", "date": "2026-13-01"}}'
    lines[700] = "not json"
    lines[900] = good[0]  # its id again, in another batch
    lines[1100:1100] = ["", "{", '  "id": "pretty"', "}"]  # a blank line, a pretty-printed case
    library = tmp_path / "lib.jsonl"
    library.write_text("\n".join(lines) + "\n")
    again = tmp_path / "again.json"
    again.write_text(good[1])
    runs = {jobs: _cli("evaluate", str(library), str(again), "--format", "json",
                       "--no-missing", "--jobs", jobs) for jobs in ("1", "2")}
    assert runs["1"].returncode == runs["2"].returncode == 2
    assert runs["2"].stdout == runs["1"].stdout
    assert runs["2"].stderr == runs["1"].stderr
    errors = runs["2"].stderr.decode().splitlines()
    where = [line.split(": ")[0] for line in errors]
    assert where == sorted(where[:-1], key=lambda w: int(w.rsplit(":", 1)[1])) + [str(again)]
    assert f"{library}:4" in where and f"{library}:701" in where
    assert any(f"{library}:901: /id: expected a unique id" in e and first_id in e
               for e in errors)
    assert any(line.startswith(f"{library}:1102: ") and "pretty-printed" in line
               for line in errors)
    assert errors[-1].startswith(f"{again}: /id: expected a unique id")
    answered = [json.loads(line)["id"] for line in runs["2"].stdout.splitlines()]
    assert len(answered) == len(set(answered)) == 1200 - 3
