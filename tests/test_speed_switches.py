"""The speed tricks (mrs_asp/tricks.py) change no answer: each switched off
by ``MRS_ASP_PLAIN`` gives the same bytes as all on, and each switch really
switches its trick."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mrs_asp import engine as engine_module
from mrs_asp import tricks
from mrs_asp.answer import _batch_answers
from mrs_asp.cases import case_from_data
from mrs_asp.loading import parse_case
from mrs_asp.engine import Engine
from mrs_asp.kb import KnowledgeBase, _cache_file, default_kb_dir

from processes import assert_all_end, background_evaluate, children
from strategies import cases

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from generate import generate  # noqa: E402

# The case library (its FHIR inputs too) and the shared examples.
LIBRARY = [ROOT / "cases", ROOT / "cases" / "fhir",
           *sorted((ROOT.parent / "shared" / "spec" / "examples").glob("*.case.json"))]
# Denied, with 9 ways to approve it (so what is missing reads models).
DENIED = ROOT / "cases" / "08-glioma-without-question-denied.json"


@contextlib.contextmanager
def _plain(names: str):
    """``MRS_ASP_PLAIN=names`` for the duration (hypothesis tests take no
    function-scoped monkeypatch)."""
    before = os.environ.get("MRS_ASP_PLAIN")
    os.environ["MRS_ASP_PLAIN"] = names
    try:
        yield
    finally:
        if before is None:
            del os.environ["MRS_ASP_PLAIN"]
        else:
            os.environ["MRS_ASP_PLAIN"] = before


def _cli(*args: str, plain: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from mrs_asp.cli import main; main()", *args],
        capture_output=True, cwd=ROOT, timeout=120,  # a broken trick may hang
        env={**os.environ, **(env or {}), "MRS_ASP_PLAIN": plain})


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> list[str]:
    """The library and 400 generated cases: more than one batch of `--jobs 2`
    (500 cases), so the workers and the spool are used."""
    generated = tmp_path_factory.mktemp("switches") / "generated.jsonl"
    generated.write_text("".join(json.dumps(d) + "\n" for d in generate(400, seed=9)))
    return [*map(str, LIBRARY), str(generated)]


@pytest.fixture(scope="module")
def answers_all_on(inputs) -> dict[bool, bytes]:
    """The answers with every trick on, at ``--jobs 2`` (the run with all off
    at ``--jobs 1`` compares one process with them too)."""
    out = {}
    for missing in (True, False):
        result = _cli("evaluate", *inputs, "--format", "json", "--jobs", "2",
                      *([] if missing else ["--no-missing"]))
        assert result.returncode == 0 and result.stderr == b"", result.stderr
        out[missing] = result.stdout
    assert out[True].count(b"\n") > 500
    return out


# Each trick off alone, in the workers (where all three run); all off in one
# process (no pool). Without what is missing only the program differs (the
# `explain` mode of kb.py): the answers are read and sent as with it.
@pytest.mark.parametrize("plain, jobs, missing", [
    ("anonymous", "2", True), ("anonymous", "2", False), ("split", "2", True),
    ("spool", "2", True), ("alike", "2", False), ("alike", "1", False), ("all", "1", True)])
def test_success_a_trick_off_gives_the_same_bytes(inputs, answers_all_on, plain, jobs,
                                                    missing):
    result = _cli("evaluate", *inputs, "--format", "json", "--jobs", jobs,
                  *([] if missing else ["--no-missing"]), plain=plain)
    assert result.returncode == 0 and result.stderr == b"", result.stderr
    assert result.stdout == answers_all_on[missing]


PROPERTY = settings(max_examples=8, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@PROPERTY
@given(st.lists(cases(), min_size=1, max_size=12))
def test_success_tricks_off_give_the_same_answers_on_drawn_cases(dicts):
    """The batch path (what is missing included) with ``anonymous`` and
    ``split`` off answers as with them on, on cases drawn at the guideline's
    edges."""
    for i, d in enumerate(dicts):
        d["id"] = f"c{i}"
    drawn = [case_from_data(d) for d in dicts]
    engine = Engine(KnowledgeBase(default_kb_dir()))
    answers = {}
    for plain in ("", "anonymous,split"):
        with _plain(plain):
            answers[plain] = [msgspec.json.encode(a.to_json())
                              for a in _batch_answers(drawn, engine, missing=True)]
    assert answers[""] == answers["anonymous,split"]


# -- each switch switches --------------------------------------------------------


def test_success_anonymous_off_is_the_rules_as_written(monkeypatch):
    kb = KnowledgeBase(default_kb_dir())
    named = kb.program("evaluate")
    monkeypatch.setenv("MRS_ASP_PLAIN", "anonymous")
    written = kb.program("evaluate")
    assert "Anonymous1" in named and "Anonymous" not in written
    assert written.count("_") > named.count("_")
    # The cache (on in the tests, conftest.py) keeps the two programs in files
    # of their own.
    assert _cache_file(kb.fingerprint, named=False) != _cache_file(kb.fingerprint)
    assert _cache_file(kb.fingerprint, named=False).is_file()
    assert _cache_file(kb.fingerprint).is_file()
    monkeypatch.setenv("MRS_ASP_PLAIN", "")
    assert kb.program("evaluate") == named


def test_success_split_off_reads_no_text(monkeypatch):
    def refused(symbols):
        raise AssertionError("the answer text was split")

    monkeypatch.setattr(engine_module, "atom_texts", refused)
    case = parse_case(DENIED.read_text(), str(DENIED)).case
    engine = Engine(KnowledgeBase(default_kb_dir()))
    for read in (lambda: engine.evaluate([case]), lambda: engine.abduce([case])):
        with pytest.raises(AssertionError, match="split"):
            read()
    monkeypatch.setenv("MRS_ASP_PLAIN", "split")
    assert engine.evaluate([case])[0].determination == "denied"
    assert len(engine.abduce([case])[0]) == 9


def test_success_spool_off_stops_cleanly_without_a_spool(tmp_path):
    """Through the pool's pipe (no spool directory), a stop by a signal still
    ends the run and its workers, with no traceback."""
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs two cores for worker processes")
    lib = tmp_path / "lib.jsonl"
    lib.write_text("".join(json.dumps({**d, "id": f"{d['id']}-{copy}"}) + "\n"
                           for copy in range(8) for d in generate(500, seed=5)))
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    proc = background_evaluate(lib, {"TMPDIR": str(temporary), "MRS_ASP_PLAIN": "spool"})
    deadline = time.monotonic() + 60
    workers: set[int] = set()
    while len(workers) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
        workers = children(proc.pid)
    assert proc.poll() is None, f"the run ended before the signal: {proc.communicate()[1]!r}"
    time.sleep(0.3)  # batches on their way through the pipe
    assert list(temporary.iterdir()) == []  # no spool
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    assert stderr == b"mrs-asp: stopped by SIGTERM\n"
    assert_all_end(workers)


def test_fail_unknown_trick_is_one_line_exit_2():
    result = _cli("schema", plain="anonymous,spoll")
    assert result.returncode == 2
    assert result.stderr == (b"mrs-asp: MRS_ASP_PLAIN: unknown trick 'spoll'; the tricks are "
                             b"anonymous, split, spool, alike (or all)\n")
    assert tricks.TRICKS == ("anonymous", "split", "spool", "alike")


def test_success_alike_builds_each_answer_once_for_cases_alike(monkeypatch):
    """With ``alike`` on, a batch's JSON answers without what is missing are
    built once for each distinct set of shown atoms; off, case by case; the
    same text both ways."""
    from mrs_asp import run

    loaded = [parse_case(json.dumps(d), f"generated {i}") for i, d in enumerate(generate(300, 7))]
    built: list[str] = []
    real = run._answer_of
    monkeypatch.setattr(run, "_answer_of",
                        lambda case, atoms, kb: built.append(case.id) or real(case, atoms, kb))
    run._ALIKE.clear()
    alike = run._render_batch(loaded, None, False, "evaluate", "json")
    assert 0 < len(built) < len(loaded) * 0.8
    assert len(set(built)) == len(built) == sum(len(kept) for kept in run._ALIKE.values())
    built.clear()
    monkeypatch.setenv("MRS_ASP_PLAIN", "alike")
    assert run._render_batch(loaded, None, False, "evaluate", "json") == alike
    assert built == []
    assert len(alike) == 300 and all(line.count("\n") == 1 for line in alike)
