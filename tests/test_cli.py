"""Behaviour of the ``mrs-asp`` command line (SPEC sections 4, 5 and 6).

Run through typer's CliRunner, which (in the installed typer) keeps stdout and
stderr apart: ``result.stdout``, ``result.stderr``; ``result.output`` is both
interleaved.  A few tests also run the real program in a subprocess, where
output written below Python (by clingo, say) is seen too.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonpatch

from mrs_asp.explain import walk
import pytest
import typer
from typer.testing import CliRunner

from mrs_asp.answer import decide
from mrs_asp.cases import NON_INDICATIONS
from mrs_asp.loading import parse_case
from mrs_asp.cli import app

ROOT = Path(__file__).parents[1]
CASES_DIR = ROOT / "cases"
KB_DIR = ROOT / "kb"

ANSWER_KEYS = {"id", "determination", "criteria", "non_indications", "advisories",
               "explanation", "missing", "required"}
STATUS_WORDS = {"met": "met", "not_met": "not met", "not_documented": "not documented"}

REQUEST = {"cpt": "76390", "date": "2026-03-02", "body_region": "brain"}
OLD_MRI = {"modality": "MRI", "body_region": "brain", "date": "2025-10-01",
           "result": "inconclusive"}
RECENT_MRI = {"modality": "MRI", "body_region": "brain", "date": "2026-02-20",
              "result": "inconclusive"}

# Approved: glioma grading, inconclusive MRI five months old.
APPROVED = {"id": "approved-grading", "title": "Glioma grading, old inconclusive MRI",
            "request": dict(REQUEST), "patient": {"age_years": 54},
            "imaging": [dict(OLD_MRI)],
            "findings": {"glioma": True, "glioma_grading": True}}
# Denied by recent_advanced_imaging; missing: symptoms new/worsening or treatment.
DENIED_RECENT = {"id": "denied-recent", "title": "Glioma grading, MRI 10 days ago",
                 "request": dict(REQUEST), "imaging": [dict(RECENT_MRI)],
                 "findings": {"glioma": True, "glioma_grading": True}}
# Denied for want of an indication: glioma documented false (not met), rest undocumented.
DENIED_NO_INDICATION = {"id": "denied-no-indication", "request": dict(REQUEST),
                        "imaging": [dict(OLD_MRI)],
                        "findings": {"glioma": False, "glioma_grading": True}}
# Denied by a metallic orbit fragment: no documentation can lift it.
DENIED_ORBIT = {"id": "denied-orbit", "title": "Welder, metallic fragment in the orbit",
                "request": dict(REQUEST), "imaging": [dict(OLD_MRI)],
                "findings": {"brain_mass": True, "brain_tumor_evaluation": True},
                "foreign_bodies": [{"location": "orbit", "metallic": True}]}
# Denied: no MRI/CT of the region at all, glioma grading question.
DENIED_NO_IMAGING = {"id": "denied-no-imaging", "request": dict(REQUEST),
                     "findings": {"glioma": True, "glioma_grading": True}}
NOT_APPLICABLE = {"id": "not-applicable", "request": {**REQUEST, "cpt": "70553"},
                  "imaging": [dict(OLD_MRI)],
                  "findings": {"glioma": True, "glioma_grading": True}}

ALL = [APPROVED, DENIED_RECENT, DENIED_NO_INDICATION, DENIED_ORBIT, DENIED_NO_IMAGING,
       NOT_APPLICABLE]
DETERMINATIONS = {APPROVED["id"]: "approved", DENIED_RECENT["id"]: "denied",
                  DENIED_NO_INDICATION["id"]: "denied", DENIED_ORBIT["id"]: "denied",
                  DENIED_NO_IMAGING["id"]: "denied", NOT_APPLICABLE["id"]: "not_applicable"}

HOSTILE = ['x). approved("y"). %', '"x). approved(y"']

runner = CliRunner()


# --------------------------------------------------------------------------
# helpers


def invoke(*args: object):
    """Run the CLI; no command may end in an uncaught exception or a traceback."""
    result = runner.invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback
        raise AssertionError(
            "uncaught exception:\n" + "".join(traceback.format_exception(*result.exc_info)))
    assert "Traceback" not in result.output
    return result


def write(path: Path, case: dict) -> Path:
    path.write_text(json.dumps(case), encoding="utf-8")
    return path


def write_jsonl(path: Path, cases: list[dict]) -> Path:
    path.write_text("".join(json.dumps(c) + "\n" for c in cases), encoding="utf-8")
    return path


def json_lines(result) -> list[dict]:
    lines = result.stdout.splitlines()
    out = [json.loads(line) for line in lines]
    assert all(isinstance(o, dict) for o in out)
    return out


def stderr_lines(result) -> list[str]:
    return result.stderr.splitlines()


def op_key(op: dict) -> str:
    return json.dumps(op, sort_keys=True)


def decide_raw(raw: dict):
    [answer] = decide([parse_case(json.dumps(raw), "<test>")], missing=False)
    return answer


def check_answer_keys(answer: dict) -> None:
    keys = set(answer)
    if answer["determination"] == "denied" and not answer["missing"]:
        assert keys - ANSWER_KEYS <= {"why_nothing_missing"}
        assert ANSWER_KEYS <= keys
    else:
        assert keys == ANSWER_KEYS


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """A directory holding every case of ALL, one file each."""
    d = tmp_path / "lib"
    d.mkdir()
    for i, case in enumerate(ALL):
        write(d / f"{i:02d}-{case['id']}.json", case)
    return d


# --------------------------------------------------------------------------
# evaluate


def test_success_evaluate_single_file_text(tmp_path):
    path = write(tmp_path / "a.json", APPROVED)
    result = invoke("evaluate", path)
    assert result.exit_code == 0
    assert result.stderr == ""
    out = result.stdout
    assert out.startswith("approved-grading: APPROVED")
    assert APPROVED["title"] in out
    assert "glioma_grading [met]" in out
    assert "evidence /imaging/0" in out
    assert "evidence /findings/glioma = true" in out
    assert "evidence /findings/glioma_grading = true" in out


def test_success_evaluate_text_status_words_and_evidence(tmp_path):
    """Each node's status in words, and each evidence pointer, as in the JSON answer."""
    paths = [write(tmp_path / f"{c['id']}.json", c)
             for c in (APPROVED, DENIED_RECENT, DENIED_NO_INDICATION, DENIED_ORBIT)]
    text = invoke("evaluate", *paths)
    js = invoke("evaluate", *paths, "--format", "json")
    assert text.exit_code == js.exit_code == 0
    blocks = text.stdout.strip().split("\n\n")
    answers = json_lines(js)
    assert len(blocks) == len(answers) == len(paths)
    seen_words = set()
    for block, answer in zip(blocks, answers):
        head = block.splitlines()[0]
        assert head == f"{answer['id']}: {answer['determination'].upper()}"
        for node in walk(answer["explanation"]):
            if node["criterion"] in NON_INDICATIONS:
                word = "HOLDS, denies" if node["holds"] else "blocked"
            else:
                word = STATUS_WORDS[node["status"]]
                seen_words.add(word)
            assert f"{node['criterion']} [{word}]" in block
            assert node["text"] in block
            for pointer in node["evidence"]:
                assert f"evidence {pointer}" in block
    assert seen_words == {"met", "not met", "not documented"}
    assert "metallic_foreign_body [HOLDS, denies]" in text.stdout
    assert "evidence /findings/glioma = false" in text.stdout


def test_success_evaluate_text_advisories(tmp_path):
    case = copy.deepcopy(APPROVED)
    case["patient"].update(claustrophobic=True, pregnant=True)
    result = invoke("evaluate", write(tmp_path / "a.json", case))
    assert result.exit_code == 0
    assert ": APPROVED" in result.stdout
    assert "claustrophobia" in result.stdout and "pregnancy" in result.stdout


def test_success_evaluate_single_file_json(tmp_path):
    result = invoke("evaluate", write(tmp_path / "d.json", DENIED_RECENT), "--format", "json")
    assert result.exit_code == 0
    assert result.stderr == ""
    [answer] = json_lines(result)
    check_answer_keys(answer)
    assert set(answer) == ANSWER_KEYS
    assert answer["id"] == "denied-recent"
    assert answer["determination"] == "denied"
    assert answer["non_indications"] == ["recent_advanced_imaging"]
    patches = {frozenset(op_key(op) for op in alt["patch"]) for alt in answer["missing"]}
    assert patches == {
        frozenset([op_key({"op": "add", "path": "/findings/symptoms", "value": "new"})]),
        frozenset([op_key({"op": "add", "path": "/findings/symptoms", "value": "worsening"})]),
        frozenset([op_key({"op": "add", "path": "/findings/treatment_since_last_imaging",
                           "value": True})]),
    }
    assert answer["required"] == []


def test_success_evaluate_several_files_in_order(tmp_path):
    paths = [write(tmp_path / f"{i}.json", c) for i, c in enumerate(reversed(ALL))]
    result = invoke("evaluate", *paths, "-f", "json")
    assert result.exit_code == 0
    assert result.stderr == ""
    answers = json_lines(result)
    assert [a["id"] for a in answers] == [c["id"] for c in reversed(ALL)]
    for a in answers:
        check_answer_keys(a)
        assert a["determination"] == DETERMINATIONS[a["id"]]


def test_success_evaluate_directory(library):
    # Not .json files in the directory are not cases.
    (library / "notes.txt").write_text("not a case")
    result = invoke("evaluate", library, "--format", "json")
    assert result.exit_code == 0
    assert result.stderr == ""
    answers = json_lines(result)
    assert [a["id"] for a in answers] == [c["id"] for c in ALL]
    for a in answers:
        check_answer_keys(a)
        assert a["determination"] == DETERMINATIONS[a["id"]]


def test_success_evaluate_jsonl(tmp_path):
    path = write_jsonl(tmp_path / "lib.jsonl", ALL)
    result = invoke("evaluate", path, "--format", "json")
    assert result.exit_code == 0
    assert result.stderr == ""
    answers = json_lines(result)
    assert [a["id"] for a in answers] == [c["id"] for c in ALL]
    for a in answers:
        check_answer_keys(a)
        assert a["determination"] == DETERMINATIONS[a["id"]]


def test_success_evaluate_json_keys(library):
    answers = json_lines(invoke("evaluate", library, "--format", "json"))
    by_id = {a["id"]: a for a in answers}
    for a in answers:
        check_answer_keys(a)
        for name in ("criteria", "non_indications", "advisories", "missing", "required"):
            assert isinstance(a[name], list)
        assert isinstance(a["explanation"], dict)
    # why_nothing_missing: only for a denied case with nothing missing.
    assert "why_nothing_missing" in by_id["denied-orbit"]
    assert by_id["denied-orbit"]["missing"] == []
    for cid in ("approved-grading", "denied-recent", "denied-no-indication",
                "denied-no-imaging", "not-applicable"):
        assert "why_nothing_missing" not in by_id[cid], cid
    for cid in ("approved-grading", "not-applicable"):
        assert by_id[cid]["missing"] == [] and by_id[cid]["required"] == []
    assert by_id["not-applicable"]["criteria"] == []


def test_success_evaluate_no_missing(library):
    with_missing = {a["id"]: a for a in json_lines(invoke("evaluate", library, "-f", "json"))}
    result = invoke("evaluate", library, "-f", "json", "--no-missing")
    assert result.exit_code == 0
    answers = json_lines(result)
    assert [a["id"] for a in answers] == [c["id"] for c in ALL]
    for a in answers:
        # Not computed, so not there: an empty list would read as "nothing is missing".
        assert "missing" not in a and "required" not in a and "why_nothing_missing" not in a
        check_answer_keys({**a, "missing": [], "required": []})
        full = with_missing[a["id"]]
        for name in ("determination", "criteria", "non_indications", "advisories",
                     "explanation"):
            assert a[name] == full[name], (a["id"], name)
    # The denied cases did have something missing when it was computed.
    assert with_missing["denied-recent"]["missing"]
    assert with_missing["denied-no-imaging"]["missing"]


def test_success_evaluate_no_missing_text(tmp_path):
    result = invoke("evaluate", write(tmp_path / "d.json", DENIED_RECENT), "--no-missing")
    assert result.exit_code == 0
    assert "denied-recent: DENIED" in result.stdout
    assert "what is missing" not in result.stdout
    assert "document" not in result.stdout


@pytest.mark.parametrize("case", [APPROVED, DENIED_RECENT, DENIED_ORBIT, NOT_APPLICABLE],
                         ids=lambda c: c["id"])
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_success_evaluate_exit_zero_whatever_the_determination(tmp_path, case, fmt):
    result = invoke("evaluate", write(tmp_path / "c.json", case), "--format", fmt)
    assert result.exit_code == 0
    assert result.stderr == ""
    assert result.stdout.strip()


# --------------------------------------------------------------------------
# bad input


def _bad_unknown_field(c):
    c["findings"]["colour"] = "blue"


def _bad_wrong_type(c):
    c["patient"]["age_years"] = "54"


def _bad_unknown_enum(c):
    c["request"]["body_region"] = "head"


def _bad_impossible_date(c):
    c["request"]["date"] = "2026-02-30"


def _bad_study_after_request(c):
    c["imaging"][0]["date"] = "2026-03-03"


def _bad_negative_age(c):
    c["patient"]["age_years"] = -1


def _bad_missing_required(c):
    del c["request"]["cpt"]


BAD_EDITS = {
    "unknown_field": (_bad_unknown_field, "/findings/colour"),
    "wrong_type": (_bad_wrong_type, "/patient/age_years"),
    "unknown_enum": (_bad_unknown_enum, "/request/body_region"),
    "impossible_date": (_bad_impossible_date, "/request/date"),
    "study_after_request": (_bad_study_after_request, "/imaging/0/date"),
    "negative_age": (_bad_negative_age, "/patient/age_years"),
    "missing_required_field": (_bad_missing_required, "/request"),
}


def bad_case(kind: str, cid: str = "bad") -> dict:
    case = copy.deepcopy(APPROVED)
    case["id"] = cid
    BAD_EDITS[kind][0](case)
    return case


@pytest.mark.parametrize("kind", sorted(BAD_EDITS))
def test_fail_library_directory_one_bad_case(library, kind):
    bad = library / "03a-bad.json"
    write(bad, bad_case(kind))
    result = invoke("evaluate", library, "--format", "json")
    assert result.exit_code == 2
    lines = stderr_lines(result)
    assert len(lines) == 1, result.stderr
    assert str(bad) in lines[0]
    assert BAD_EDITS[kind][1] in lines[0]
    answers = json_lines(result)
    assert [a["id"] for a in answers] == [c["id"] for c in ALL]


@pytest.mark.parametrize("kind", sorted(BAD_EDITS))
def test_fail_library_jsonl_one_bad_case(tmp_path, kind):
    cases = list(ALL)
    cases.insert(2, bad_case(kind))
    path = write_jsonl(tmp_path / "lib.jsonl", cases)
    result = invoke("evaluate", path, "--format", "json")
    assert result.exit_code == 2
    lines = stderr_lines(result)
    assert len(lines) == 1, result.stderr
    assert f"{path}:3" in lines[0]
    assert BAD_EDITS[kind][1] in lines[0]
    assert [a["id"] for a in json_lines(result)] == [c["id"] for c in ALL]


def test_fail_library_jsonl_invalid_json_line(tmp_path):
    path = tmp_path / "lib.jsonl"
    path.write_text(json.dumps(APPROVED) + "\n{not json\n" + json.dumps(DENIED_RECENT) + "\n")
    result = invoke("evaluate", path, "--format", "json")
    assert result.exit_code == 2
    lines = stderr_lines(result)
    assert len(lines) == 1 and f"{path}:2" in lines[0]
    assert [a["id"] for a in json_lines(result)] == ["approved-grading", "denied-recent"]


def test_fail_library_duplicate_id(library):
    dup = library / "99-dup.json"
    write(dup, {**DENIED_RECENT, "id": APPROVED["id"]})
    result = invoke("evaluate", library, "--format", "json")
    assert result.exit_code == 2
    lines = stderr_lines(result)
    assert len(lines) == 1
    assert str(dup) in lines[0] and "/id" in lines[0]
    assert [a["id"] for a in json_lines(result)] == [c["id"] for c in ALL]


def test_fail_library_text_format_one_bad_case(library):
    bad = library / "03a-bad.json"
    write(bad, bad_case("unknown_enum"))
    result = invoke("evaluate", library)
    assert result.exit_code == 2
    assert len(stderr_lines(result)) == 1
    for case in ALL:
        assert f"{case['id']}: " in result.stdout
    assert "bad:" not in result.stdout


def _raw_bad_files(tmp_path: Path) -> dict[str, tuple[list[Path], str | None]]:
    """kind -> (paths to pass, the file the error must name, the pointer or None)."""
    out = {}
    p = tmp_path / "invalid.json"
    p.write_text('{"id": "x", "request": ')
    out["invalid_json"] = ([p], p, None)
    p = tmp_path / "empty.json"
    p.write_text("")
    out["empty_file"] = ([p], p, None)
    p = tmp_path / "blank.json"
    p.write_text("  \n")
    out["blank_file"] = ([p], p, None)
    p = tmp_path / "array.json"
    p.write_text("[1, 2]")
    out["non_object_array"] = ([p], p, None)
    p = tmp_path / "string.json"
    p.write_text('"a case"')
    out["non_object_string"] = ([p], p, None)
    p = tmp_path / "empty.jsonl"
    p.write_text("")
    out["empty_jsonl"] = ([p], p, None)
    for kind, (_, pointer) in BAD_EDITS.items():
        p = write(tmp_path / f"{kind}.json", bad_case(kind))
        out[kind] = ([p], p, pointer)
    a = write(tmp_path / "dup-a.json", APPROVED)
    b = write(tmp_path / "dup-b.json", {**DENIED_RECENT, "id": APPROVED["id"]})
    out["duplicate_ids"] = ([a, b], b, "/id")
    p = tmp_path / "no-such-file.json"
    out["nonexistent_path"] = ([p], p, None)
    d = tmp_path / "no-such-dir"
    out["nonexistent_dir"] = ([d], d, None)
    return out


BAD_KINDS = ["invalid_json", "empty_file", "blank_file", "non_object_array",
             "non_object_string", "empty_jsonl", *sorted(BAD_EDITS), "duplicate_ids",
             "nonexistent_path", "nonexistent_dir"]


@pytest.mark.parametrize("command", ["evaluate", "missing"])
@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize("kind", BAD_KINDS)
def test_fail_bad_input(tmp_path, kind, command, fmt):
    paths, named, pointer = _raw_bad_files(tmp_path)[kind]
    result = invoke(command, *paths, "--format", fmt)
    assert result.exit_code == 2
    lines = stderr_lines(result)
    assert len(lines) == 1, result.stderr
    assert str(named) in lines[0]
    if pointer is not None:
        assert pointer in lines[0]
    assert "Traceback" not in result.output
    if kind == "duplicate_ids":  # the first of the two is still answered
        if fmt == "json":
            assert [a["id"] for a in json_lines(result)] == [APPROVED["id"]]
    else:
        assert result.stdout == ""


def test_fail_bad_input_message_says_what_was_expected(tmp_path):
    files = _raw_bad_files(tmp_path)
    msgs = {}
    for kind in ("missing_required_field", "unknown_enum", "negative_age", "wrong_type"):
        paths, _, _ = files[kind]
        msgs[kind] = invoke("evaluate", *paths).stderr
    assert "cpt" in msgs["missing_required_field"]
    assert "brain" in msgs["unknown_enum"] and "head" in msgs["unknown_enum"]
    assert ">= 0" in msgs["negative_age"] or "-1" in msgs["negative_age"]
    assert "integer" in msgs["wrong_type"]


def test_fail_regress_with_bad_case(tmp_path):
    d = tmp_path / "lib"
    d.mkdir()
    write(d / "a.json", {**APPROVED, "expected": {"determination": "approved"}})
    write(d / "b.json", bad_case("unknown_field"))
    result = invoke("regress", d)
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def _subprocess(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mrs_asp.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_fail_library_one_bad_case_real_process_stderr(library):
    """As a real process: stderr holds the one line for the bad case and nothing else
    (nothing from the solver either), for a library that includes a case where no
    documentation can help (the metallic orbit fragment)."""
    bad = library / "03a-bad.json"
    write(bad, bad_case("unknown_enum"))
    proc = _subprocess("evaluate", library, "--format", "json")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert str(bad) in lines[0] and "/request/body_region" in lines[0]
    ids = [json.loads(line)["id"] for line in proc.stdout.splitlines()]
    assert ids == [c["id"] for c in ALL]


def test_success_real_process_writes_nothing_on_stderr(tmp_path):
    """A good run of a case where nothing can be missing: stderr stays empty."""
    proc = _subprocess("evaluate", write(tmp_path / "o.json", DENIED_ORBIT), "-f", "json")
    assert proc.returncode == 0
    assert proc.stderr == ""
    assert json.loads(proc.stdout)["id"] == "denied-orbit"


# --------------------------------------------------------------------------
# injection: case strings are data, never program text


def _hostile_variants(base: dict) -> list[dict]:
    out = []
    for s in HOSTILE:
        c = copy.deepcopy(base)
        c["id"] = s
        c["title"] = s
        out.append(c)
    return out


@pytest.mark.parametrize("base", [DENIED_RECENT, DENIED_NO_INDICATION, APPROVED, DENIED_ORBIT],
                         ids=lambda c: c["id"])
def test_success_injection_hostile_id_and_title(tmp_path, base):
    plain = json_lines(invoke("evaluate", write(tmp_path / "plain.json", base), "-f", "json"))[0]
    hostile = _hostile_variants(base)
    paths = [write(tmp_path / f"h{i}.json", c) for i, c in enumerate(hostile)]
    result = invoke("evaluate", *paths, "-f", "json")
    assert result.exit_code == 0
    assert result.stderr == ""
    answers = json_lines(result)
    assert [a["id"] for a in answers] == HOSTILE
    for a in answers:
        assert {k: v for k, v in a.items() if k != "id"} == \
               {k: v for k, v in plain.items() if k != "id"}
    # and as text
    text = invoke("evaluate", *paths)
    assert text.exit_code == 0
    for s in HOSTILE:
        assert f"{s}: {plain['determination'].upper()}" in text.stdout


def test_success_injection_hostile_id_in_jsonl_and_missing(tmp_path):
    cases = _hostile_variants(DENIED_NO_IMAGING)
    path = write_jsonl(tmp_path / "h.jsonl", cases)
    plain = json_lines(invoke("missing", write(tmp_path / "p.json", DENIED_NO_IMAGING),
                              "-f", "json"))[0]
    answers = json_lines(invoke("missing", path, "-f", "json"))
    assert len(answers) == 2
    for a in answers:
        assert a["determination"] == "denied"
        assert a["missing"] == plain["missing"]
        assert a["required"] == plain["required"]


@pytest.mark.parametrize("cpt", HOSTILE + ["76390 ", "76390\"). applies(0", "763 90"])
def test_success_injection_hostile_cpt_not_applicable(tmp_path, cpt):
    case = copy.deepcopy(APPROVED)
    case["request"]["cpt"] = cpt
    result = invoke("evaluate", write(tmp_path / "c.json", case), "-f", "json")
    assert result.exit_code == 0
    assert result.stderr == ""
    [a] = json_lines(result)
    assert a["determination"] == "not_applicable"
    assert a["criteria"] == [] and a["non_indications"] == []
    assert a["missing"] == []


# --------------------------------------------------------------------------
# missing


# No MRI or CT of the region (only an X-ray, and a CT of another region).
DENIED_XR_ONLY = {"id": "denied-xr-only", "request": dict(REQUEST),
                  "imaging": [{"modality": "XR", "body_region": "brain", "date": "2026-02-25"},
                              {"modality": "CT", "body_region": "chest", "date": "2025-12-01",
                               "result": "inconclusive"}],
                  "findings": {"glioma": True, "glioma_grading": True}}


@pytest.mark.parametrize("base", [DENIED_XR_ONLY, DENIED_NO_IMAGING], ids=lambda c: c["id"])
def test_success_missing_required_operation(tmp_path, base):
    """No MRI/CT of the region, glioma grading: the appended MRI (dated on the request
    date) is needed in every alternative, and sets off recent_advanced_imaging, so
    each alternative also documents new/worsening symptoms or treatment.  Each
    alternative is applied as an RFC 6902 patch to the case as given (also when the
    case has no ``imaging`` array at all)."""
    path = write(tmp_path / "g.json", base)
    js = invoke("missing", path, "--format", "json")
    assert js.exit_code == 0
    assert js.stderr == ""
    [answer] = json_lines(js)
    check_answer_keys(answer)
    assert answer["determination"] == "denied"
    appended = {"op": "add", "path": "/imaging/-",
                "value": {"modality": "MRI", "body_region": "brain",
                          "date": REQUEST["date"], "result": "inconclusive"}}
    # SPEC 4: a case without an imaging array gets it, empty, first.
    containers = [] if "imaging" in base else [{"op": "add", "path": "/imaging", "value": []}]
    assert answer["required"] == containers + [appended]
    patches = [{op_key(op) for op in alt["patch"]} for alt in answer["missing"]]
    assert set.intersection(*patches) == {op_key(op) for op in containers + [appended]}
    assert {frozenset(p) for p in patches} == {
        frozenset(map(op_key, containers + [appended, {"op": "add", "path": "/findings/symptoms",
                                                       "value": v}])) for v in ("new", "worsening")
    } | {frozenset(map(op_key, containers + [appended, {
        "op": "add", "value": True, "path": "/findings/treatment_since_last_imaging"}]))}
    # Each alternative, applied by jsonpatch to the case as given, approves; with
    # one documenting operation dropped (the container kept), it does not.
    for alt in answer["missing"]:
        assert all(op["op"] == "add" for op in alt["patch"])
        assert alt["patch"][:len(containers)] == containers
        patched = jsonpatch.apply_patch(base, alt["patch"])
        assert decide_raw(patched).determination == "approved"
        for i in range(len(containers), len(alt["patch"])):
            fewer = alt["patch"][:i] + alt["patch"][i + 1:]
            assert decide_raw(jsonpatch.apply_patch(base, fewer)).determination != "approved"
        # The container operation alone cannot be left out: the patch would not apply.
        if containers:
            with pytest.raises((jsonpatch.JsonPatchException, jsonpatch.JsonPointerException)):
                jsonpatch.apply_patch(base, alt["patch"][1:])

    text = invoke("missing", path)
    assert text.exit_code == 0
    out = text.stdout
    assert f"{base['id']}: DENIED" in out
    assert "document all of" in out
    assert "one of" in out
    assert out.index("document all of") < out.index("one of")
    all_of = out[out.index("document all of"):out.index("one of")]
    assert "MRI" in all_of and REQUEST["date"] in all_of
    one_of = out[out.index("one of"):]
    assert "symptoms" in one_of and "treatment_since_last_imaging" in one_of
    assert REQUEST["date"] not in one_of.split("->")[0]


# Denied for want of an indication, and no `findings` object at all.
DENIED_NO_FINDINGS = {"id": "denied-no-findings", "request": dict(REQUEST),
                      "imaging": [dict(OLD_MRI)]}


def _apply_each_alternative(raw: dict, answer: dict) -> None:
    """Each alternative applied with jsonpatch (RFC 6902) to the case exactly as given."""
    for alt in answer["missing"]:
        patched = jsonpatch.apply_patch(raw, alt["patch"])
        assert decide_raw(patched).determination == "approved", (raw["id"], alt["patch"])


# Denied, and neither a findings object nor an imaging array.
DENIED_BARE = {"id": "denied-bare", "request": dict(REQUEST)}


@pytest.mark.parametrize("base", [DENIED_RECENT, DENIED_NO_INDICATION, DENIED_XR_ONLY,
                                  DENIED_NO_IMAGING, DENIED_NO_FINDINGS, DENIED_BARE],
                         ids=lambda c: c["id"])
def test_success_missing_patches_apply_to_case_as_given(tmp_path, base):
    """SPEC 4: each alternative applies, as given, under jsonpatch and approves; a
    case without a findings object or imaging array gets it first, empty."""
    [answer] = json_lines(invoke("missing", write(tmp_path / "c.json", base), "-f", "json"))
    assert answer["missing"]
    _apply_each_alternative(base, answer)
    for alt in answer["missing"]:
        heads = {op["path"].split("/")[1] for op in alt["patch"]}
        want = [{"op": "add", "path": f"/{name}", "value": empty}
                for name, empty in (("findings", {}), ("imaging", []))
                if name in heads and name not in base]
        assert alt["patch"][:len(want)] == want
        assert alt["patch"][len(want):] and all(op["path"].count("/") == 2
                                                 for op in alt["patch"][len(want):])


def test_success_missing_patches_apply_through_library():
    """The same through the library: decide, then jsonpatch on the case as given."""
    loaded = [parse_case(json.dumps(c), "<test>") for c in (DENIED_BARE, DENIED_NO_FINDINGS)]
    for raw, answer in zip((DENIED_BARE, DENIED_NO_FINDINGS), decide(loaded)):
        assert answer.missing
        _apply_each_alternative(raw, answer.to_json())
    # Container operations do not count for "smallest first".
    sizes = [sum(op["path"] not in ("/findings", "/imaging") for op in alt["patch"])
             for alt in decide(loaded[:1])[0].missing]
    assert sizes == sorted(sizes)


def test_success_missing_patches_apply_real_cases():
    """The same over every denied case of the project's case library."""
    result = invoke("missing", CASES_DIR, "-f", "json")
    assert result.exit_code == 0
    raws = {}
    for p in CASES_DIR.glob("*.json"):
        raw = json.loads(p.read_text(encoding="utf-8"))
        raws[raw["id"]] = raw
    failures = []
    for answer in json_lines(result):
        try:
            _apply_each_alternative(raws[answer["id"]], answer)
        except AssertionError as exc:
            failures.append(str(exc))
    assert not failures, f"{len(failures)} case(s):\n" + "\n".join(failures[:5])


def test_success_missing_one_of_without_required(tmp_path):
    path = write(tmp_path / "d.json", DENIED_RECENT)
    text = invoke("missing", path)
    assert text.exit_code == 0
    assert "document one of" in text.stdout
    assert "document all of" not in text.stdout
    assert "treatment_since_last_imaging" in text.stdout
    assert '"new"' in text.stdout and '"worsening"' in text.stdout


def test_success_missing_nothing_can_help_orbit_fragment(tmp_path):
    path = write(tmp_path / "o.json", DENIED_ORBIT)
    text = invoke("missing", path)
    assert text.exit_code == 0
    assert text.stderr == ""
    assert "denied-orbit: DENIED" in text.stdout
    assert "no documentation can make" in text.stdout
    assert "metallic_foreign_body" in text.stdout
    assert "/foreign_bodies/0" in text.stdout
    js = invoke("missing", path, "--format", "json")
    assert js.exit_code == 0
    [answer] = json_lines(js)
    assert set(answer) == ANSWER_KEYS | {"why_nothing_missing"}
    assert answer["missing"] == [] and answer["required"] == []
    reasons = answer["why_nothing_missing"]
    assert reasons and all(isinstance(r, dict) for r in reasons)
    assert any(r.get("criterion") == "metallic_foreign_body"
               and "/foreign_bodies/0" in r.get("evidence", []) for r in reasons)


def test_success_missing_approved_and_not_applicable(tmp_path):
    paths = [write(tmp_path / "a.json", APPROVED), write(tmp_path / "n.json", NOT_APPLICABLE)]
    text = invoke("missing", *paths)
    assert text.exit_code == 0
    assert "approved-grading: APPROVED" in text.stdout
    assert "not-applicable: NOT APPLICABLE" in text.stdout
    assert text.stdout.count("nothing is missing") == 2


def test_success_missing_json_fields(library):
    result = invoke("missing", library, "--format", "json")
    assert result.exit_code == 0
    assert result.stderr == ""
    answers = json_lines(result)
    assert [a["id"] for a in answers] == [c["id"] for c in ALL]
    evaluated = {a["id"]: a for a in json_lines(invoke("evaluate", library, "-f", "json"))}
    for a in answers:
        check_answer_keys(a)
        assert a == evaluated[a["id"]]
        for alt in a["missing"]:
            assert isinstance(alt["patch"], list) and alt["patch"]
            for op in alt["patch"]:
                assert op["op"] == "add"
                assert op["path"].startswith("/")
                assert "value" in op
        sizes = [len(alt["patch"]) for alt in a["missing"]]
        assert sizes == sorted(sizes)


# --------------------------------------------------------------------------
# regress


def _regress_library(tmp_path: Path) -> tuple[Path, Path, Path]:
    d = tmp_path / "lib"
    d.mkdir()
    good = write(d / "a-good.json", {**APPROVED, "expected": {"determination": "approved"}})
    wrong = write(d / "b-wrong.json",
                  {**DENIED_RECENT, "expected": {"determination": "approved"}})
    return d, good, wrong


def test_fail_regress_mismatch(tmp_path):
    d, good, wrong = _regress_library(tmp_path)
    result = invoke("regress", d)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    mismatches = [line for line in lines if line.startswith("MISMATCH")]
    assert len(mismatches) == 1
    line = mismatches[0]
    assert str(wrong) in line and DENIED_RECENT["id"] in line
    assert "determination" in line and "approved" in line and "denied" in line
    assert str(good) not in result.stdout
    summary = lines[-1]
    assert summary.startswith("1 passed, 1 mismatched, 0 bad input, 2 cases")


def test_fail_regress_mismatch_in_lists(tmp_path):
    d = tmp_path / "lib"
    d.mkdir()
    write(d / "a.json", {**APPROVED, "expected": {
        "determination": "approved", "advisories": ["pregnancy"],
        "non_indications": []}})
    result = invoke("regress", d)
    assert result.exit_code == 1
    [line] = [x for x in result.stdout.splitlines() if x.startswith("MISMATCH")]
    assert "advisories" in line and "pregnancy" in line
    assert "non_indications" not in line


def test_fail_regress_junit(tmp_path):
    d, good, wrong = _regress_library(tmp_path)
    report = tmp_path / "out" / "junit.xml"
    report.parent.mkdir()
    result = invoke("regress", d, "--junit", report)
    assert result.exit_code == 1
    root = ET.parse(report).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    assert suite is not None
    cases = suite.findall(".//testcase")
    assert len(cases) == 2
    failures = suite.findall(".//failure")
    assert len(failures) == 1
    assert int(suite.get("failures")) == 1
    assert int(suite.get("tests")) == 2
    failed = [c for c in cases if c.find("failure") is not None]
    assert failed[0].get("name") == DENIED_RECENT["id"]
    assert "determination" in failures[0].get("message")


def test_fail_regress_junit_unwritable(tmp_path):
    d, _, _ = _regress_library(tmp_path)
    result = invoke("regress", d, "--junit", tmp_path / "no-dir" / "junit.xml")
    assert result.exit_code == 2
    assert len(stderr_lines(result)) == 1


def test_fail_regress_nonexistent(tmp_path):
    result = invoke("regress", tmp_path / "nope")
    assert result.exit_code == 2
    assert len(stderr_lines(result)) == 1
    assert "nope" in result.stderr


def test_success_regress_real_cases():
    result = invoke("regress", CASES_DIR)
    assert result.exit_code == 0, result.stdout
    assert "MISMATCH" not in result.stdout
    # the library with its sub-directories: cases/fhir/ derives one case per item
    from mrs_asp import iter_cases
    n = len(list(iter_cases(CASES_DIR, recursive=True)))
    assert n > len(list(CASES_DIR.glob("*.json")))
    assert result.stdout.splitlines()[-1].startswith(
        f"{n} passed, 0 mismatched, 0 bad input, {n} cases")


def test_success_regress_real_cases_junit(tmp_path):
    report = tmp_path / "junit.xml"
    result = invoke("regress", CASES_DIR, "--junit", report)
    assert result.exit_code == 0
    suite = ET.parse(report).getroot()
    assert suite.findall(".//failure") == [] and suite.findall(".//error") == []
    from mrs_asp import iter_cases
    assert len(suite.findall(".//testcase")) == len(list(iter_cases(CASES_DIR, recursive=True)))


def test_success_regress_jsonl(tmp_path):
    path = write_jsonl(tmp_path / "lib.jsonl", [
        {**APPROVED, "expected": {"determination": "approved"}},
        {**DENIED_ORBIT, "expected": {"determination": "denied",
                                      "non_indications": ["metallic_foreign_body"]}},
    ])
    result = invoke("regress", path)
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1].startswith("2 passed, 0 mismatched")


# --------------------------------------------------------------------------
# schema, --kb, --help


def test_success_schema():
    result = invoke("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert isinstance(schema, dict)
    assert "id" in schema["properties"] and "request" in schema["properties"]
    assert {"id", "request"} <= set(schema.get("required", []))


@pytest.mark.parametrize("command", ["evaluate", "missing", "regress"])
def test_fail_kb_nonexistent(tmp_path, command):
    case = write(tmp_path / "a.json", {**APPROVED, "expected": {"determination": "approved"}})
    target = tmp_path if command == "regress" else case
    result = invoke(command, target, "--kb", tmp_path / "no-such-kb")
    assert result.exit_code == 2
    lines = stderr_lines(result)
    assert len(lines) == 1, result.stderr
    assert "no-such-kb" in lines[0]
    assert result.stdout == ""


def test_fail_kb_not_a_kb(tmp_path):
    empty = tmp_path / "empty-kb"
    empty.mkdir()
    result = invoke("evaluate", write(tmp_path / "a.json", APPROVED), "--kb", empty)
    assert result.exit_code == 2
    assert len(stderr_lines(result)) == 1


def test_success_kb_copy_behaves_the_same(tmp_path, library):
    kb = tmp_path / "kb-copy"
    shutil.copytree(KB_DIR, kb)
    for args in (["evaluate", library, "-f", "json"], ["evaluate", library],
                 ["missing", library, "-f", "json"], ["evaluate", CASES_DIR, "-f", "json"]):
        default = invoke(*args)
        copied = invoke(*args, "--kb", kb)
        assert default.exit_code == copied.exit_code == 0
        assert copied.stdout == default.stdout
        assert copied.stderr == default.stderr == ""
    default = invoke("regress", CASES_DIR)
    copied = invoke("regress", CASES_DIR, "--kb", kb)
    assert copied.exit_code == default.exit_code == 0
    assert copied.stdout.splitlines()[-1].split(" in ")[0] == \
        default.stdout.splitlines()[-1].split(" in ")[0]


def _commands():
    return typer.main.get_command(app).commands


def test_success_every_command_has_help():
    commands = _commands()
    assert {"evaluate", "missing", "regress", "schema"} <= set(commands)
    for name, command in commands.items():
        assert (command.help or "").strip(), f"command {name} has no help text"
        result = invoke(name, "--help")
        assert result.exit_code == 0, name
        assert result.stdout.strip(), name
        assert name in result.stdout
        first = command.help.strip().splitlines()[0]
        assert " ".join(first.split()[:3]) in " ".join(result.stdout.split()), name


def test_success_top_level_help_lists_commands():
    result = invoke("--help")
    assert result.exit_code == 0
    for name in _commands():
        assert name in result.stdout
