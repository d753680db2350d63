"""Reading cases from hostile paths and files, and the library's entry points
(mrs_asp.loading; issue 13 items 2 and 8)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from mrs_asp import decide
from mrs_asp.case_errors import CaseError
from mrs_asp.cases import Case, Request, Study
from mrs_asp.loading import MAX_CASE_BYTES, LoadedCase, iter_cases, load_case, parse_case

ROOT = Path(__file__).parents[1]
CASE = {"id": "good", "request": {"cpt": "76390", "date": "2026-03-02", "body_region": "brain"},
        "imaging": [{"modality": "MRI", "body_region": "brain", "date": "2025-10-01",
                     "result": "inconclusive"}],
        "findings": {"glioma": True, "glioma_grading": True}}


def write(path: Path, case: dict) -> Path:
    path.write_text(json.dumps(case))
    return path


def cli(*args: object, user: list[str] | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "mrs_asp.cli", *map(str, args)]
    return subprocess.run((user or []) + command, capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})


def check_one_bad(proc: subprocess.CompletedProcess, named: str, ids: list[str]) -> str:
    """Exit 2, one line naming ``named`` on stderr, the good cases answered in order."""
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    [line] = proc.stderr.splitlines()
    assert line.startswith(f"{named}: (whole document): "), line
    assert [json.loads(a)["id"] for a in proc.stdout.splitlines()] == ids
    return line


def ids_and_errors(paths) -> list[str]:
    return [g.case.id if isinstance(g, LoadedCase) else f"error {g.file}" for g in
            iter_cases(paths)]


# ------------------------------------------------------------- paths and files


def test_fail_path_component_too_long(tmp_path: Path) -> None:
    a = write(tmp_path / "a.json", CASE)
    b = write(tmp_path / "b.json", {**CASE, "id": "b"})
    long = tmp_path / ("x" * 300 + ".json")
    line = check_one_bad(cli("evaluate", "-f", "json", "--no-missing", a, long, b), str(long),
                         ["good", "b"])
    assert line.endswith("cannot read: file name too long")
    assert ids_and_errors([a, long, long.with_suffix(".jsonl"), b]) == [
        "good", f"error {long}", f"error {long.with_suffix('.jsonl')}", "b"]


def test_fail_dev_zero_read_with_a_bound(tmp_path: Path) -> None:
    a = write(tmp_path / "a.json", CASE)
    b = write(tmp_path / "b.json", {**CASE, "id": "b"})
    line = check_one_bad(cli("evaluate", "-f", "json", "--no-missing", a, "/dev/zero", b),
                         "/dev/zero", ["good", "b"])
    assert "larger than 1 MiB" in line
    zeros = tmp_path / "zero.jsonl"
    zeros.symlink_to("/dev/zero")
    line = check_one_bad(cli("evaluate", "-f", "json", "--no-missing", a, zeros, b),
                         f"{zeros}:1", ["good", "b"])
    assert "the rest of the file is not read" in line


def test_fail_file_and_line_over_the_size_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_text(json.dumps({**CASE, "title": "x" * MAX_CASE_BYTES}))
    with pytest.raises(CaseError) as info:
        load_case(big)
    assert info.value.message.startswith("a file larger than 1 MiB")
    lib = tmp_path / "lib.jsonl"
    lines = [json.dumps({**CASE, "id": "one"}), json.dumps({**CASE, "title": "x" * MAX_CASE_BYTES}),
             json.dumps({**CASE, "id": "never read"})]
    lib.write_text("\n".join(lines) + "\n")
    assert ids_and_errors([lib]) == ["one", f"error {lib}:2"]
    # just under the limit is fine
    fits = {**CASE, "title": ""}
    fits["title"] = "x" * (MAX_CASE_BYTES - len(json.dumps(fits)) - 1)
    lib.write_text(json.dumps(fits) + "\n")
    assert ids_and_errors([lib]) == ["good"]


def test_fail_named_pipe_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    [err] = list(iter_cases([fifo]))
    assert isinstance(err, CaseError) and err.message == "expected a file, got a named pipe"


@pytest.mark.parametrize("path", ["a\0b.json", "a\0b.jsonl", "dir\0"])
def test_fail_nul_in_path(path: str) -> None:
    [err] = list(iter_cases([path]))
    assert isinstance(err, CaseError) and "NUL" in err.message
    with pytest.raises(CaseError):
        load_case(path)


def test_fail_path_through_a_file(tmp_path: Path) -> None:
    a = write(tmp_path / "a.json", CASE)
    [err] = list(iter_cases([a / "b.json"]))
    assert isinstance(err, CaseError) and err.message == "cannot read: not a directory"


def _without_root() -> list[str] | None:
    """A command prefix running a command without the privilege to read what
    file permissions forbid, or None when that cannot be had.  Root keeps its
    uid but loses CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (the interpreter
    may live where another user could not run it)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search"]
    with tempfile.NamedTemporaryFile() as probe:
        os.chmod(probe.name, 0)
        tried = subprocess.run(prefix + [sys.executable, "-c", f"open({probe.name!r})"],
                               capture_output=True)
    return prefix if tried.returncode != 0 else None


def test_fail_unreadable_file_and_directory_without_root() -> None:
    user = _without_root()
    if user is None:
        pytest.skip("running as root and cannot drop CAP_DAC_OVERRIDE (no working setpriv)")
    top = Path(tempfile.mkdtemp(prefix="mrs-asp-perm-"))
    try:
        top.chmod(0o755)
        a = write(top / "a.json", CASE)
        b = write(top / "b.json", {**CASE, "id": "b"})
        secret = write(top / "secret.json", {**CASE, "id": "secret"})
        secret.chmod(0o000)
        closed = top / "closed"
        closed.mkdir()
        write(closed / "c.json", {**CASE, "id": "c"})
        closed.chmod(0o000)
        for file in (a, b):
            file.chmod(0o644)
        line = check_one_bad(cli("evaluate", "-f", "json", "--no-missing", a, secret, b,
                                 user=user), str(secret), ["good", "b"])
        assert line.endswith("cannot read: permission denied")
        line = check_one_bad(cli("evaluate", "-f", "json", "--no-missing", a, closed, b,
                                 user=user), str(closed), ["good", "b"])
        assert line.endswith("cannot read directory: permission denied")
        # a directory holding the unreadable file: the others are still answered
        proc = cli("evaluate", "-f", "json", "--no-missing", top, user=user)
        assert proc.returncode == 2 and proc.stderr.splitlines() == [
            f"{secret}: (whole document): cannot read: permission denied"]
        assert [json.loads(a)["id"] for a in proc.stdout.splitlines()] == ["good", "b"]
    finally:
        for path in (top / "closed", top / "secret.json"):
            if path.exists():
                path.chmod(0o755)
        shutil.rmtree(top)


def test_fail_pretty_printed_jsonl_is_one_line(tmp_path: Path) -> None:
    lib = tmp_path / "lib.jsonl"
    lib.write_text(json.dumps({**CASE, "id": "one"}) + "\n" + json.dumps(CASE, indent=2) + "\n"
                   + json.dumps({**CASE, "id": "two"}) + "\n{\n" + json.dumps({**CASE, "id": "3"}))
    end = 1 + len(json.dumps(CASE, indent=2).splitlines())
    got = list(iter_cases([lib]))
    assert [g.case.id if isinstance(g, LoadedCase) else (g.file, g.message) for g in got] == [
        "one",
        (f"{lib}:2", f"invalid JSON Lines: one case pretty-printed over lines 2-{end}; "
                     "expected each case whole on one line"),
        "two",
        (f"{lib}:{end + 2}", "invalid JSON: unexpected end of input at line 1 column 2"),
        "3",
    ]


def test_success_jsonl_read_as_a_stream(tmp_path: Path) -> None:
    """The first case comes before the rest of the file is read: a broken tail
    (here: a line over the limit) is met only when iteration gets there."""
    lib = tmp_path / "lib.jsonl"
    with lib.open("w") as out:
        out.write(json.dumps(CASE) + "\n")
        out.write("x" * (MAX_CASE_BYTES + 10) + "\n")
    items = iter_cases([lib])
    first = next(items)
    assert isinstance(first, LoadedCase)
    assert isinstance(next(items), CaseError)


# ------------------------------------------------------------- the library API


def test_success_decide_takes_plain_data() -> None:
    [answer] = decide([CASE], missing=False)
    assert answer.id == "good" and answer.determination == "approved"


@pytest.mark.parametrize("edit,where", [
    (lambda c: c["request"].update(body_region='x). approved("y'), "/request/body_region"),
    (lambda c: c["imaging"][0].update(date="2026-04-01"), "/imaging/0/date"),
    (lambda c: c.update(colour=1), "/colour"),
])
def test_fail_decide_validates_plain_data(edit, where) -> None:
    case = json.loads(json.dumps(CASE))
    edit(case)
    with pytest.raises(CaseError) as info:
        decide([CASE, case], missing=False)
    assert (info.value.file, info.value.pointer) == ("(case 1)", where)


def test_fail_decide_validates_a_case_built_directly() -> None:
    request = Request(cpt="76390", date=dt.date(2026, 3, 2), body_region="x). approved(y")
    with pytest.raises(CaseError) as info:
        decide([Case(id="hostile", request=request)])
    assert info.value.pointer == "/request/body_region"
    good = Request(cpt="76390", date=dt.date(2026, 3, 2), body_region="brain")
    late = Case(id="late", request=good,
                imaging=[Study(modality="MRI", body_region="brain", date=dt.date(2026, 4, 1))])
    with pytest.raises(CaseError) as info:
        decide([late])
    assert info.value.pointer == "/imaging/0/date"
    with pytest.raises(CaseError) as info:
        decide([LoadedCase("by-hand.json", late)])
    assert info.value.file == "by-hand.json"
    wrong_type = Case(id="t", request=Request(cpt=76390, date="2026-03-02", body_region="brain"))
    with pytest.raises(CaseError) as info:
        decide([wrong_type])
    assert info.value.pointer == "/request/cpt"
    assert decide([Case(id="ok", request=good)], missing=False)[0].determination == "denied"


@pytest.mark.parametrize("thing", [42, "a.json", None, [CASE]])
def test_fail_decide_refuses_what_is_not_a_case(thing) -> None:
    with pytest.raises(CaseError) as info:
        decide([thing])
    assert info.value.file == "(case 0)" and info.value.message.startswith("expected")


def test_fail_parse_case_takes_text_only() -> None:
    with pytest.raises(TypeError):
        parse_case(CASE, "x")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        list(iter_cases([42]))  # type: ignore[list-item]


def test_success_iter_cases_raises_nothing_for_bad_files(tmp_path: Path) -> None:
    (tmp_path / "d.json").mkdir()
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00")
    (tmp_path / "dangling.json").symlink_to(tmp_path / "nowhere")
    paths = [tmp_path / "d.json", tmp_path / "bin.json", tmp_path / "dangling.json",
             tmp_path / ("y" * 256), tmp_path, "/dev/null", "/proc/self/mem"]
    for item in iter_cases(paths):
        assert isinstance(item, (CaseError, LoadedCase))


def test_success_valid_cases_never_import_the_error_path() -> None:
    """jsonschema and jsonpointer cost start-up time: a valid case is read and
    decided without them (a bad one needs them)."""
    script = ("import sys, json\n"
              "from mrs_asp.loading import parse_case\n"
              "from mrs_asp import decide\n"
              f"decide([parse_case({json.dumps(json.dumps(CASE))}, 'x')])\n"
              "print(sorted(m for m in ('jsonschema', 'jsonpointer') if m in sys.modules))\n"
              "try:\n    parse_case('{}', 'y')\nexcept Exception:\n    pass\n"
              "print('jsonschema' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.stdout.splitlines() == ["[]", "True"], proc.stderr
