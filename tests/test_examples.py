"""The worked examples of the contract (../shared/spec/examples), end to end.

Each NAME.case.json is decided through the library (``decide``) and through the
command line (``mrs-asp evaluate ... --format json``), and the answer is checked
against NAME.answer.json: determination, criteria, non-indications and
advisories (order-insensitive), and ``missing`` as a set of patches, each patch a
set of operations (compared as JSON with sorted keys).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mrs_asp.answer import decide
from mrs_asp.loading import load_case
from mrs_asp.cli import app

EXAMPLES = Path(__file__).parents[2] / "shared" / "spec" / "examples"

if not EXAMPLES.is_dir() or not list(EXAMPLES.glob("*.case.json")):
    pytest.skip(f"no worked examples at {EXAMPLES}", allow_module_level=True)

CASE_FILES = sorted(EXAMPLES.glob("*.case.json"))
NAMES = [p.name[: -len(".case.json")] for p in CASE_FILES]
LISTS = ("criteria", "non_indications", "advisories")


def expected_answer(name: str) -> dict:
    return json.loads((EXAMPLES / f"{name}.answer.json").read_text(encoding="utf-8"))


def op_key(op: dict) -> str:
    return json.dumps(op, sort_keys=True)


def patch_set(missing: list[dict]) -> set[frozenset[str]]:
    return {frozenset(op_key(op) for op in alt["patch"]) for alt in missing}


def check(answer: dict, expected: dict) -> None:
    """``answer`` is a JSON answer (SPEC section 5) as a dict."""
    assert answer["id"] == expected["id"]
    assert answer["determination"] == expected["determination"]
    for name in LISTS:
        assert sorted(answer[name]) == sorted(expected[name]), name
    got, want = patch_set(answer["missing"]), patch_set(expected["missing"])
    assert got == want, (
        f"missing: extra {sorted(map(sorted, got - want))}, "
        f"lacking {sorted(map(sorted, want - got))}")
    # No patch is listed twice and none repeats an operation.
    assert len(answer["missing"]) == len(got)
    for alt in answer["missing"]:
        assert len(alt["patch"]) == len({op_key(op) for op in alt["patch"]})
    # Smallest first.
    sizes = [len(alt["patch"]) for alt in answer["missing"]]
    assert sizes == sorted(sizes)
    # `required` marks the operations common to every alternative.
    common = set.intersection(*map(set, want)) if want else set()
    assert {op_key(op) for op in answer["required"]} == common


def test_success_every_example_has_an_answer():
    assert CASE_FILES
    for name in NAMES:
        assert (EXAMPLES / f"{name}.answer.json").is_file(), name


@pytest.mark.parametrize("name", NAMES)
def test_success_example_library(name):
    loaded = load_case(EXAMPLES / f"{name}.case.json")
    [answer] = decide([loaded])
    check(answer.to_json(), expected_answer(name))


def test_success_examples_library_batch():
    """All examples decided in one batch give the same answers as one by one."""
    loaded = [load_case(p) for p in CASE_FILES]
    answers = decide(loaded)
    assert [a.id for a in answers] == [c.id for c in loaded]
    for name, answer in zip(NAMES, answers):
        check(answer.to_json(), expected_answer(name))


@pytest.fixture(scope="module")
def cli_answers() -> dict[str, dict]:
    result = CliRunner().invoke(
        app, ["evaluate", *map(str, CASE_FILES), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert result.exception is None
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) == len(CASE_FILES)
    answers = [json.loads(line) for line in lines]
    assert all(isinstance(a, dict) for a in answers)
    by_id = {a["id"]: a for a in answers}
    assert len(by_id) == len(answers)
    return by_id


@pytest.mark.parametrize("name", NAMES)
def test_success_example_cli(name, cli_answers):
    expected = expected_answer(name)
    check(cli_answers[expected["id"]], expected)


def test_success_examples_cli_in_input_order(cli_answers):
    ids = [json.loads((p).read_text(encoding="utf-8"))["id"] for p in CASE_FILES]
    assert list(cli_answers) == ids
