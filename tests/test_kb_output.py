"""A knowledge base whose shown atoms the answer cannot be read from fails
fast with one clear KnowledgeBaseError naming the atom, on every path: the
batch grounding (what is missing included), the warm engine, the compiled
evaluation (64 cases and more, without what is missing) and the plain reader
(MRS_ASP_PLAIN=split).

An explanation node under a parent that is no criterion is shown under that
parent's parent (mrs_asp/explain.py); a cycle of such parents (a node its
own parent, or a raw ptr(x) term as both) once sent that walk round forever. Each KB is decided in a subprocess with a timeout, so a hang fails
the test instead of stopping the suite (pytest-timeout is no dependency).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kb_copies import kb_copy

ROOT = Path(__file__).resolve().parents[1]

#: decides the library on KB (argv[1]) each way; prints {path: [error type, message]}
_DECIDE_EVERY_WAY = """
import json, os, sys
from pathlib import Path
import mrs_asp
from mrs_asp.compiled import MIN_CASES, compiled_for
from mrs_asp.warm import warm_engine_for
kb = sys.argv[1]
cases = [c.case for c in mrs_asp.iter_cases([Path("cases")])]
assert len(cases) >= MIN_CASES and compiled_for(kb).run is not None  # compiled, not refused
warm = warm_engine_for(kb)
ways = {
    "batch": lambda: mrs_asp.decide(cases, kb=kb, warm=False),
    "warm": lambda: [warm.decide(case) for case in cases],
    "compiled": lambda: mrs_asp.decide(cases, kb=kb, missing=False, warm=False),
    "plain": lambda: mrs_asp.decide(cases, kb=kb, warm=False),
}
out = {}
for way, run in ways.items():
    if way == "plain":
        os.environ["MRS_ASP_PLAIN"] = "split"
    try:
        run()
        out[way] = None
    except Exception as exc:
        out[way] = [type(exc).__name__, str(exc)]
print(json.dumps(out))
"""


def _decided_every_way(kb: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", _DECIDE_EVERY_WAY, str(kb)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _kb_with(tmp_path: Path, extra: str) -> Path:
    kb = kb_copy(tmp_path / "kb")
    (kb / "55_extra.lp").write_text("%* layer: notes *%\n" + extra)
    return kb


@pytest.mark.parametrize("extra, named", [
    # a node that is its own parent and no criterion: the walk up once never ended
    ("explained(Case, x, x, met) :- finding(Case, glioma, true).\n"
     "explained(Case, indicated, x, met) :- finding(Case, glioma, true).\n",
     "explained(_, x, x, _)"),
    # the same with a raw ptr term for the node (whichever explained atom is read first)
    ("explained(Case, ptr(x), ptr(x), met) :- case(Case).\n"
     "explained(Case, indicated, ptr(x), met) :- case(Case).\n", "ptr(x),met)"),
    ("explained(Case, x, y, met) :- case(Case).\nexplained(Case, y, x, met) :- case(Case).\n"
     "explained(Case, indicated, x, met) :- case(Case).\n", "explained(_, x, y, _)"),
    ("cites(Case, applies, ptr(ptr(request, cpt), 1)) :- case(Case).\n",
     "cites(0,applies,ptr(ptr(request,cpt),1))"),
    ('cites(Case, applies, ptr("a,b", f(x))) :- case(Case).\n',
     'cites(0,applies,ptr("a,b",f(x)))'),
    ("cites(Case, applies, ptr((request, cpt))) :- case(Case).\n",
     "cites(0,applies,ptr((request,cpt)))"),
    ("cites(Case, applies, 42) :- case(Case).\n", "cites(0,applies,42)"),
    ('cites(Case, applies, "ptr(request,cpt)") :- case(Case).\n',
     'cites(0,applies,"ptr(request,cpt)")'),
    ("explained(Case, applies, ptr(request, cpt), met) :- case(Case).\n",
     "explained(0,applies,ptr(request,cpt),met)"),
    ("beyond_filling(Case, applies, ptr(ptr(request), cpt)) :- case(Case).\n",
     "beyond_filling(0,applies,ptr(ptr(request),cpt))"),
])
def test_fail_a_malformed_kb_output_fails_fast_with_one_line_naming_the_atom(tmp_path, extra,
                                                                             named):
    for way, error in _decided_every_way(_kb_with(tmp_path, extra)).items():
        assert error is not None, f"{way}: the malformed atom went unnoticed"
        kind, message = error
        assert kind == "KnowledgeBaseError", (way, error)
        assert named in message and "\n" not in message, (way, message)


def test_fail_the_command_line_says_it_in_one_line_and_exits_2(tmp_path):
    kb = _kb_with(tmp_path, "explained(Case, x, x, met) :- case(Case).\n"
                            "explained(Case, indicated, x, met) :- case(Case).\n")
    proc = subprocess.run([sys.executable, "-m", "mrs_asp.cli", "evaluate", "--kb", str(kb),
                           "--no-missing", "-f", "json", "--jobs", "2", "cases"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "explained(_, x, x, _)" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_success_the_shipped_kb_is_read_every_way(tmp_path):
    assert _decided_every_way(kb_copy(tmp_path / "kb")) == dict.fromkeys(
        ("batch", "warm", "compiled", "plain"))


@pytest.mark.parametrize("third", ["42", '"ptr(implants,0)"', "ptr(ptr(implants),0)", "none"])
def test_fail_an_unlifted_atom_without_a_place_fails_with_one_line_naming_it(tmp_path, third):
    # why nothing is missing reads unlifted(Case, NonIndication, ptr(...)) for
    # denied cases with no way to approval; anything else there named no fact
    import mrs_asp
    from mrs_asp.kb import KnowledgeBaseError
    from mrs_asp.warm import WarmEngine

    kb = _kb_with(tmp_path, f"unlifted(Case, incompatible_device, {third}) :- lift(Case).\n")
    cases = [c.case for c in mrs_asp.iter_cases([ROOT / "cases"])]
    knowledge = mrs_asp.answer.engine_for(kb).kb
    warm = WarmEngine(knowledge)
    nothing = [a for a in mrs_asp.decide(cases, warm=False)
               if a.determination == "denied" and not a.missing]
    assert nothing  # the library has denied cases with nothing missing
    for way, run in {"batch": lambda: mrs_asp.decide(cases, kb=kb, warm=False),
                     "warm": lambda: [warm.decide(case) for case in cases]}.items():
        with pytest.raises(KnowledgeBaseError) as raised:
            run()
        message = str(raised.value)
        assert "unlifted(" in message and "\n" not in message, (way, message)
