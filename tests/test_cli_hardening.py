"""The CLI under the conditions a newcomer, an attacker or an unlucky operator
brings: broken knowledge bases, git revisions, empty libraries, forged output,
closed or full standard output, signals, too many workers."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lxml import etree
from typer.testing import CliRunner

from mrs_asp import __version__, decide, iter_cases
from mrs_asp.cli import app
from mrs_asp.kb import KnowledgeBaseError

from processes import assert_all_end, background_evaluate, children

ROOT = Path(__file__).resolve().parents[1]
KB = ROOT / "kb"
CASES = ROOT / "cases"
VARIANT = KB / "variants" / "qualifying-study-exempt"
DENIED = CASES / "03-glioma-grading-recent-mri-denied.json"
runner = CliRunner()


def invoke(*args: object, input: str | None = None):
    result = runner.invoke(app, [str(a) for a in args], input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback
        raise AssertionError("".join(traceback.format_exception(*result.exc_info)))
    assert "Traceback" not in result.output
    return result


def process(*args: object, **kwargs) -> subprocess.CompletedProcess:
    kwargs.setdefault("stdout", subprocess.PIPE)
    return subprocess.run([sys.executable, "-c", "from mrs_asp.cli import main; main()",
                           *map(str, args)], stderr=subprocess.PIPE, cwd=ROOT, timeout=120,
                          **kwargs)


def kb_copy(tmp_path: Path, name: str = "kb") -> Path:
    copy = tmp_path / name
    shutil.copytree(KB, copy, ignore=shutil.ignore_patterns("variants"))
    return copy


@functools.cache
def library_flips() -> tuple[frozenset[str], int]:
    """The ids of the library's cases whose determination the variant changes,
    each KB deciding the library on its own, and the number of cases."""
    library = list(iter_cases([CASES]))
    old = decide(library, missing=False)
    new = decide(library, kb=VARIANT, missing=False)
    return frozenset(c.id for c, a, b in zip(library, old, new)
                     if a.determination != b.determination), len(library)


def case(cid: str, **extra) -> dict:
    return {"id": cid, "request": {"cpt": "76390", "date": "2026-03-02",
                                   "body_region": "brain"}, **extra}


# --------------------------------------------------------------------------
# issue 8 item 3, issue 13 item 2: a broken knowledge base, refused everywhere


def _break(kb: Path, how: str) -> tuple[str, str]:
    """Break a KB copy; returns (file:line it must name, words of the message)."""
    notes = kb / "50_notes.lp"
    line = len(notes.read_text().splitlines()) + 1
    where = f"{notes}:{line}"
    if how == "parse_error":
        text = (kb / "20_applicability.lp").read_text().splitlines()
        n = next(i for i, t in enumerate(text) if t.startswith("holds(") and t.endswith("."))
        text[n] = text[n][:-1]
        (kb / "20_applicability.lp").write_text("\n".join(text) + "\nfoo(1).\n")
        return f"{kb / '20_applicability.lp'}:", "syntax error"
    if how == "missing_criterion":
        path = kb / "30_indications.lp"
        text = path.read_text()
        gone = re.sub(r'criterion\(neonatal_hie,.*?"\)\.', "% gone", text, flags=re.S)
        assert gone != text
        path.write_text(gone)
        return f"{path}:", "criterion neonatal_hie has no criterion(neonatal_hie, Kind"
    if how == "binary":
        (kb / "55_blob.lp").write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)))
        return f"{kb / '55_blob.lp'}:1", "not a text file"
    if how == "script":
        with notes.open("a") as f:
            f.write('#script (lua)\nfunction main(prg) os.execute("touch /tmp/pwned") end\n'
                    '#end.\n')
        return where, "#script is not allowed"
    if how == "include_outside":
        outside = kb.parent / "outside.lp"
        outside.write_text("case(99).\n")
        with notes.open("a") as f:
            f.write(f'#include "{outside}".\n')
        return where, "is outside the knowledge base"
    if how == "no_answer_set":
        with notes.open("a") as f:
            f.write("%* a rule that rules out everything *%\n:- case(C).\n")
        return str(kb), "no answer set"
    raise AssertionError(how)


BROKEN = ["parse_error", "missing_criterion", "binary", "script", "include_outside",
          "no_answer_set"]
COMMANDS = {
    "evaluate": lambda kb: ["evaluate", "--kb", kb, DENIED],
    "missing": lambda kb: ["missing", "--kb", kb, DENIED, "-f", "json"],
    "regress": lambda kb: ["regress", "--kb", kb, CASES],
    "check": lambda kb: ["check", "--kb", kb],
    "diff": lambda kb: ["diff", kb, KB, CASES, "--no-witnesses"],
}


@pytest.mark.parametrize("how", BROKEN)
@pytest.mark.parametrize("command", COMMANDS)
def test_fail_broken_kb_is_one_line_exit_2(tmp_path, how, command):
    kb = kb_copy(tmp_path)
    where, words = _break(kb, how)
    result = invoke(*COMMANDS[command](kb))
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""  # refused before anything was decided
    [line] = result.stderr.splitlines()
    assert line.startswith(f"mrs-asp: {where}"), line
    assert words in line, line


def test_fail_broken_kb_refused_by_the_library(tmp_path):
    kb = kb_copy(tmp_path)
    _break(kb, "missing_criterion")
    with pytest.raises(KnowledgeBaseError, match="neonatal_hie"):
        decide(list(iter_cases([DENIED])), kb=kb)


def test_success_include_inside_the_kb_is_allowed(tmp_path):
    kb = kb_copy(tmp_path)
    (kb / "helpers.lp").write_text("% a helper file of the KB itself, no rules\n")
    with (kb / "50_notes.lp").open("a") as f:
        f.write('#include "helpers.lp".\n% #include "/etc/passwd". (a comment)\n')
    result = invoke("evaluate", "--kb", kb, DENIED, "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["determination"] == "denied"


def test_fail_binary_kb_in_a_real_process_is_one_line_no_panic(tmp_path):
    kb = kb_copy(tmp_path)
    (kb / "55_blob.lp").write_bytes(os.urandom(4096))
    proc = process("evaluate", "--kb", kb, DENIED)
    assert proc.returncode == 2
    assert proc.stdout == b""
    assert len(proc.stderr.splitlines()) == 1 and b"PANIC" not in proc.stderr


# --------------------------------------------------------------------------
# issue 8 item 2: diff with git revisions


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A git repository holding kb/ (with its variants) and cases/, as committed."""
    repo = tmp_path / "repo"
    shutil.copytree(KB, repo / "kb")
    shutil.copytree(CASES, repo / "cases")
    git = ["git", "-C", str(repo), "-c", "user.email=t@example.org", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    monkeypatch.chdir(repo)
    return repo


def _diff_json(*args: object) -> dict:
    result = invoke("diff", *args, "cases", "--format", "json")
    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    del answer["old"], answer["new"]
    return answer


def test_success_diff_revisions_answer_as_the_directories(repo):
    directories = _diff_json("kb", "kb/variants/qualifying-study-exempt")
    flips, _ = library_flips()
    assert flips and {f["id"] for f in directories["library"] if f["old"] != f["new"]} == flips
    assert directories["witnesses"]
    # The variant's `extends` (../..) is followed inside the same revision, and two
    # specs of one commit do not share a folder.
    assert _diff_json("HEAD", "HEAD:kb/variants/qualifying-study-exempt") == directories
    assert _diff_json("kb", "HEAD:kb/variants/qualifying-study-exempt") == directories
    assert _diff_json("HEAD:kb", "kb/variants/qualifying-study-exempt") == directories


def test_success_diff_revision_reads_the_revision_not_the_work_tree(repo):
    # The work tree's kb/ changes after the commit; HEAD:kb/variants/... must still
    # extend the committed kb/, so HEAD vs HEAD:variant is unchanged.
    before = _diff_json("HEAD", "HEAD:kb/variants/qualifying-study-exempt")
    shutil.copy(VARIANT / "40_non_indications_recent_imaging.lp", repo / "kb")
    assert _diff_json("HEAD", "HEAD:kb/variants/qualifying-study-exempt") == before
    assert _diff_json("HEAD", "kb")["library"] == before["library"]


@pytest.mark.parametrize("spec", ["--output=/tmp/x", "HEAD:../..", "no-such-rev",
                                  "HEAD:no/such/dir"])
def test_fail_diff_bad_revision_is_one_line(repo, spec):
    result = invoke("diff", "--no-witnesses", "--", spec, "kb")
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1, result.stderr


# --------------------------------------------------------------------------
# issue 8 item 4: gates that pass by mistake


def test_fail_min_coverage_without_cases():
    result = invoke("check", "--min-coverage", "1.0")
    assert result.exit_code == 2
    assert "--min-coverage needs --cases" in result.stderr


@pytest.mark.parametrize("command", ["evaluate", "missing", "regress"])
def test_fail_empty_library(tmp_path, command):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not a case")
    result = invoke(command, tmp_path / "empty")
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert "no cases found" in line and str(tmp_path / "empty") in line


def test_fail_empty_library_check_and_diff(tmp_path):
    (tmp_path / "empty").mkdir()
    assert invoke("check", "--cases", tmp_path / "empty").exit_code == 2
    assert invoke("diff", KB, VARIANT, tmp_path / "empty", "--no-witnesses").exit_code == 2


def test_fail_diff_fail_on_change_exits_1_on_a_change():
    changed = invoke("diff", KB, VARIANT, CASES, "--no-witnesses", "--fail-on-change")
    assert changed.exit_code == 1
    flips, total = library_flips()
    assert flips and f"{len(flips)} of {total} cases change determination" in changed.stdout
    same = invoke("diff", KB, KB, CASES, "--no-witnesses", "--fail-on-change")
    assert same.exit_code == 0, same.stderr
    assert invoke("diff", KB, VARIANT, CASES, "--no-witnesses").exit_code == 0


# --------------------------------------------------------------------------
# issue 13 item 4: one bad case, the rest still answered


def _library_with_a_bad_case(tmp_path: Path) -> Path:
    lib = tmp_path / "lib"
    shutil.copytree(CASES, lib)
    (lib / "00-bad.json").write_text('{"id": "bad", "request": {"cpt": "76390", '
                                       '"date": "2026-01-01", "body_region": "x"}}')
    return lib


def test_fail_check_cases_one_bad_case_still_reports_coverage(tmp_path):
    lib = _library_with_a_bad_case(tmp_path)
    result = invoke("check", "--cases", lib, "--min-coverage", "1.0", "-f", "json")
    assert result.exit_code == 2
    assert "00-bad.json" in result.stderr and len(result.stderr.splitlines()) == 1
    report = json.loads(result.stdout)
    whole = json.loads(invoke("check", "--cases", CASES, "-f", "json").stdout)
    assert report["coverage"] == whole["coverage"]  # every good case still counted


def test_fail_diff_cases_one_bad_case_still_diffs_the_rest(tmp_path):
    lib = _library_with_a_bad_case(tmp_path)
    result = invoke("diff", KB, VARIANT, lib, "--no-witnesses")
    assert result.exit_code == 2
    assert "00-bad.json" in result.stderr and len(result.stderr.splitlines()) == 1
    flips, total = library_flips()  # the bad case is left out; every good one is diffed
    assert f"{len(flips)} of {total} cases change determination" in result.stdout


# --------------------------------------------------------------------------
# issue 8 item 7: check output a policy author reads


@pytest.fixture(scope="module")
def check_text():
    return {name: invoke("check", *args).stdout for name, args in {
        "default": [], "verbose": ["--verbose"], "show": ["--show", "info"],
        "fail_on": ["--fail-on", "info"], "errors": ["--show", "error"]}.items()}


def test_success_check_shows_errors_and_warnings_by_default(check_text):
    default = check_text["default"]
    assert "WARNING (" in default and "INFO (" not in default
    assert "(info not shown: --verbose or --show info shows them)" in default
    for name in ("verbose", "show", "fail_on"):
        assert "INFO (" in check_text[name], name
    assert "WARNING (" not in check_text["errors"]


def test_success_check_witnesses_in_the_case_s_own_words(check_text):
    from mrs_asp.cases import parse_case
    witnesses = re.findall(r"Witness: (\{.*\})$", check_text["verbose"], flags=re.M)
    report = json.loads(invoke("check", "--verbose", "-f", "json").stdout)["findings"]
    # each finding with a witness shows it
    assert witnesses and len(witnesses) == len([f for f in report if f["witness"]])
    for text in witnesses:
        # The case format itself, no notation of its own: it loads as a case.
        loaded = parse_case(json.dumps({"id": "w", **json.loads(text)}), "witness")
        assert loaded.case.request.cpt == "76390"


def test_success_check_coverage_gaps_printed_once(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    for name in ("01-glioma-grading-approved.json", "03-glioma-grading-recent-mri-denied.json"):
        shutil.copy(CASES / name, lib)
    out = invoke("check", "--cases", lib).stdout
    gaps = [line.split()[0] for line in out.splitlines() if line.endswith("<- gap")]
    assert "vascular" in gaps
    [summary] = [line for line in out.splitlines() if "coverage_gap" in line]
    assert summary.strip() == (f"coverage_gap: {len(gaps)} criteria not seen both holding "
                               f"and failing in the library (marked above)")


# --------------------------------------------------------------------------
# issue 8 item 8: polish


def test_success_version():
    result = invoke("--version")
    assert result.exit_code == 0 and result.stdout.strip() == f"mrs-asp {__version__}"


def test_success_stdin_one_case_or_one_per_line():
    one = DENIED.read_text()
    pretty = json.dumps(json.loads(one), indent=2)
    lines = "".join(json.dumps(json.loads(p.read_text())) + "\n"
                    for p in sorted(CASES.glob("0[1-3]*.json")))
    for text, n in ((one, 1), (pretty, 1), (lines, 3)):
        result = invoke("evaluate", "-", "-f", "json", input=text)
        assert result.exit_code == 0, result.stderr
        assert len(result.stdout.splitlines()) == n
    bad = invoke("evaluate", "-", input='{"id": "x"')
    assert bad.exit_code == 2 and bad.stderr.startswith("<stdin>")
    assert invoke("evaluate", "-", input="").exit_code == 2


def test_success_help_wraps_whole_sentences():
    result = runner.invoke(app, ["check", "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    # The docstring's own line breaks do not survive as short, cut lines.
    text = [line.strip() for line in result.stdout.splitlines()]
    assert "when" not in text and "base," not in text
    assert "Exit status: 0; 1" in result.stdout


def test_success_junit_names(tmp_path):
    lib = tmp_path / "my-library"
    lib.mkdir()
    good = {**case("a-good"), "expected": {"determination": "denied"}}
    (lib / "a.json").write_text(json.dumps(good))
    (lib / "b.json").write_text('{"id": 1}')
    report = tmp_path / "junit.xml"
    result = invoke("regress", lib, "--junit", report)
    assert result.exit_code == 2
    suite = etree.parse(str(report)).getroot()
    cases = suite.findall("testcase")
    assert {c.get("classname") for c in cases} == {"my-library"}
    assert [c.get("name") for c in cases] == ["a-good", str(lib / "b.json")]
    assert cases[1].find("error") is not None


def test_success_regress_help_documents_exit_codes():
    result = runner.invoke(app, ["regress", "--help"], env={"COLUMNS": "200"})
    assert "1 when some case does not match" in result.stdout
    assert "2 for bad input" in result.stdout


def test_success_diff_witnesses_titled_by_diff():
    result = invoke("diff", KB, VARIANT, CASES, "-f", "json")
    witnesses = json.loads(result.stdout)["witnesses"]
    assert witnesses
    assert {w["case"]["title"] for w in witnesses} == {"generated by mrs-asp diff"}


# --------------------------------------------------------------------------
# issue 13 item 5: output that cannot be forged

FORGED = "x\nfake-case: APPROVED\x1b]0;owned\x07\x1b[2J\x01\u202e\x85"


def _forged_library(tmp_path: Path) -> Path:
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "a.json").write_text(json.dumps({
        **case(FORGED, title=FORGED), "expected": {"determination": "approved"}}))
    return lib


def _clean(text: str) -> None:
    assert "fake-case: APPROVED" not in [line.strip() for line in text.splitlines()]
    assert not any(line.startswith("fake-case") for line in text.splitlines())
    for char in "\x1b\x07\x01\u202e\x85":
        assert char not in text, repr(char)


def test_success_forged_ids_are_escaped_everywhere(tmp_path):
    lib = _forged_library(tmp_path)
    for args in (["evaluate", lib], ["missing", lib], ["regress", lib],
                 ["check", "--cases", lib], ["diff", KB, VARIANT, lib, "--no-witnesses"]):
        result = invoke(*args)
        _clean(result.stdout)
        _clean(result.stderr)
    text = invoke("evaluate", lib).stdout
    assert "x\\nfake-case: APPROVED\\x1b]0;owned\\x07" in text
    [mismatch] = [line for line in invoke("regress", lib).stdout.splitlines()
                  if line.startswith("MISMATCH")]
    assert "\\n" in mismatch


def test_fail_forged_unknown_field_name_on_stderr(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({**case("c"), "\x1b]0;x\x07\nfake": 1}))
    result = invoke("evaluate", path)
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    _clean(result.stderr)


def test_success_junit_well_formed_with_control_characters(tmp_path):
    lib = _forged_library(tmp_path)
    report = tmp_path / "junit.xml"
    assert invoke("regress", lib, "--junit", report).exit_code == 1
    suite = etree.parse(str(report)).getroot()  # parses: well-formed
    [testcase] = suite.findall("testcase")
    assert testcase.get("name").startswith("x\\nfake-case")


# --------------------------------------------------------------------------
# issue 13 items 2, 3, 7: standard output, signals, --jobs


def test_fail_stdout_full_is_one_line_exit_1():
    with open("/dev/full", "wb") as full:
        proc = process("evaluate", CASES, stdout=full)
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines() == [
        "mrs-asp: cannot write standard output: No space left on device"]


def test_fail_stdout_closed_is_one_line_exit_1():
    proc = subprocess.run(
        f"{sys.executable} -c 'from mrs_asp.cli import main; main()' evaluate {DENIED} >&-",
        shell=True, capture_output=False, stderr=subprocess.PIPE, cwd=ROOT, timeout=60)
    assert proc.returncode == 1
    [line] = proc.stderr.decode().splitlines()
    assert line.startswith("mrs-asp: cannot write standard output")


def test_success_closed_pipe_is_quiet():
    proc = subprocess.run(
        f"{sys.executable} -c 'from mrs_asp.cli import main; main()' evaluate {CASES} | head -1",
        shell=True, capture_output=True, cwd=ROOT, timeout=60)
    assert proc.stdout.count(b"\n") == 1
    assert proc.stderr == b""


def test_success_jobs_capped_at_the_cores(tmp_path):
    from mrs_asp.run import default_jobs
    result = invoke("evaluate", DENIED, "--jobs", "1000", "-f", "json")
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        f"mrs-asp: warning: --jobs 1000 is more than the {default_jobs()} core"
        f"{'s' if default_jobs() != 1 else ''} available; using {default_jobs()}"]
    assert json.loads(result.stdout)["id"] == DENIED.stem


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_success_signal_cleans_up_spool_and_workers(tmp_path, signum):
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs two cores for worker processes")
    # A library big enough to keep two workers busy for a while.
    base = json.loads(DENIED.read_text())
    lib = tmp_path / "lib.jsonl"
    lib.write_text("".join(json.dumps({**base, "id": f"c{i}"}) + "\n" for i in range(20000)))
    spool = tmp_path / "tmp"
    spool.mkdir()
    proc = background_evaluate(
        lib, {"TMPDIR": str(spool), "PYTHONFAULTHANDLER": "1"},
        # As from a terminal: a test runner started in the background may ignore SIGINT.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    # A batch waits in the spool as `N.in` from before a worker takes it until
    # its answers are read back; `N.out` lives only for the moment between a
    # worker writing it and this run reading it, too briefly to poll for.
    while (not list(spool.glob("mrs-asp-*/*.in")) and proc.poll() is None
           and time.monotonic() < deadline):
        time.sleep(0.05)
    assert proc.poll() is None, f"the run ended before the signal: {proc.communicate()[1]!r}"
    assert list(spool.glob("mrs-asp-*")), "the run never started its workers"
    workers = children(proc.pid)
    assert workers
    proc.send_signal(signum)
    try:
        _, stderr = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:  # say where it hangs
        proc.send_signal(signal.SIGABRT)
        _, stderr = proc.communicate(timeout=10)
        raise AssertionError(stderr.decode()) from None
    assert proc.returncode != 0
    assert b"Traceback" not in stderr and b"BrokenPipe" not in stderr, stderr
    assert list(spool.iterdir()) == []  # the spool directory is gone
    assert_all_end(workers)


def test_success_worker_dies_with_a_killed_parent(tmp_path):
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs two cores for worker processes")
    base = json.loads(DENIED.read_text())
    lib = tmp_path / "lib.jsonl"
    lib.write_text("".join(json.dumps({**base, "id": f"c{i}"}) + "\n" for i in range(20000)))
    proc = background_evaluate(lib, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    workers: set[int] = set()
    while len(workers) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
        workers = children(proc.pid)
    assert workers
    proc.kill()
    proc.wait()
    assert_all_end(workers)
