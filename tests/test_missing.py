"""What is missing, as a reviewer reads it (SPEC section 4; issue 8 item 6,
issue 13 item 1): each part of an alternative credited with what it changes,
the factored text form, and the cap on the alternatives listed.

Through the library (``decide``) and through the command line (CliRunner).
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import jsonpatch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from mrs_asp import decide
from mrs_asp.abduce import factor, is_container
from mrs_asp.cases import case_from_data
from mrs_asp.cli import app

from strategies import cases

ROOT = Path(__file__).resolve().parents[1]

runner = CliRunner()

REQUEST = {"cpt": "76390", "date": "2026-03-02", "body_region": "brain"}
RECENT_MRI = {"modality": "MRI", "body_region": "brain", "date": "2026-02-20",
              "result": "inconclusive"}
OLD_MRI_NO_RESULT = {"modality": "MRI", "body_region": "brain", "date": "2025-06-01"}

# SPEC's case 78: glioma grading, no imaging at all.
NO_IMAGING = {"id": "no-imaging", "request": dict(REQUEST),
              "findings": {"glioma": True, "glioma_grading": True}}
# Nothing documented but the request: each way to a condition times each way past
# the appended MRI's own recent_advanced_imaging.
BARE = {"id": "bare", "request": dict(REQUEST)}
# A pacemaker of unknown MR status and an MRI ten days ago: the status is needed
# in every way, and one of three fillings lifts recent_advanced_imaging.
PACEMAKER_RECENT = {"id": "pacemaker-recent", "request": dict(REQUEST),
                    "imaging": [dict(RECENT_MRI)],
                    "findings": {"glioma": True, "glioma_grading": True},
                    "implants": [{"kind": "pacemaker", "mr_status": "unknown"}]}
# Glioma grading and 40 old MRIs without a result: each result is one way.
MANY_STUDIES = {"id": "many-studies", "request": dict(REQUEST),
                "imaging": [dict(OLD_MRI_NO_RESULT) for _ in range(40)],
                "findings": {"glioma": True, "glioma_grading": True}}
STUDIES = len(MANY_STUDIES["imaging"])


def answer_of(raw: dict, **options):
    [answer] = decide([case_from_data(raw)], **options)
    return answer


def cli(*args: object):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 0, result.output
    return result


def write(tmp_path, raw: dict):
    path = tmp_path / f"{raw['id']}.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    return path


def documenting_keys(patch: list[dict]) -> frozenset:
    return frozenset(json.dumps(op, sort_keys=True) for op in patch if not is_container(op))


def lifting_recent_imaging() -> list[frozenset]:
    """The ways to lift an MRI's recent_advanced_imaging when nothing else is
    documented: the choice of the bare case that lifts it."""
    [lifting] = [group for group in answer_of(BARE).ways.choices
                 if all(part.lifts == ["recent_advanced_imaging"] for part in group)]
    return [documenting_keys(part.operations) for part in lifting]


# --------------------------------------------------------------------------
# effects: what each part changes


def test_success_effects_name_what_each_part_changes():
    """Case 78: the appended MRI meets conventional_inconclusive and sets off
    recent_advanced_imaging; each choice lifts it (and meets nothing)."""
    ways = answer_of(NO_IMAGING).ways
    assert ways.required.operations[0]["path"] == "/imaging/-"
    assert (ways.required.meets, ways.required.lifts, ways.required.sets_off) == (
        ["conventional_inconclusive"], [], ["recent_advanced_imaging"])
    [choices] = ways.choices
    # the same ways as whenever an MRI is recent
    assert [documenting_keys(part.operations) for part in choices] == lifting_recent_imaging()
    for part in choices:
        assert (part.meets, part.lifts, part.sets_off) == ([], ["recent_advanced_imaging"], [])


def test_success_effects_required_status_credited_once():
    """An MR-conditional status needed in every way lifts incompatible_device once,
    in the part every way shares; no choice is credited with it."""
    answer = answer_of(PACEMAKER_RECENT)
    ways = answer.ways
    assert [op["path"] for op in ways.required.operations] == ["/implants/0/mr_status"]
    assert ways.required.lifts == ["incompatible_device"]
    [choices] = ways.choices
    assert [documenting_keys(part.operations) for part in choices] == lifting_recent_imaging()
    for part in choices:
        assert part.lifts == ["recent_advanced_imaging"] and part.meets == []
    for alt in answer.missing:
        text = alt["text"]
        assert text.count("lifts incompatible_device") == 1
        # the choice's own words come after its operation, not the status's
        tail = text[text.index("findings."):]
        assert "lifts recent_advanced_imaging" in tail and "incompatible_device" not in tail


def test_success_effects_cli_text(tmp_path):
    out = cli("missing", write(tmp_path, NO_IMAGING)).stdout
    assert "-> meets conventional_inconclusive, sets off recent_advanced_imaging" in out
    one_of = out[out.index("and one of:"):out.index("in the guideline's words")]
    [choices] = answer_of(NO_IMAGING).ways.choices
    assert one_of.count("-> lifts recent_advanced_imaging") == len(choices)
    assert "conventional_inconclusive" not in one_of
    [answer] = [json.loads(line) for line in
                cli("missing", write(tmp_path, NO_IMAGING), "-f", "json").stdout.splitlines()]
    for alt in answer["missing"]:
        assert "sets off recent_advanced_imaging" in alt["text"]
        assert alt["text"].rstrip().split(" -- ")[-1].startswith("lifts recent_advanced_imaging")


# --------------------------------------------------------------------------
# the factored text form


def test_success_factored_form_bare_case(tmp_path):
    answer = answer_of(BARE)
    ways = answer.ways
    # a condition to meet, times a way past the appended MRI's recent_advanced_imaging
    conditions, lifts = ways.choices
    assert all(part.meets and not part.lifts for part in conditions)
    assert all(part.lifts == ["recent_advanced_imaging"] for part in lifts)
    assert len(answer.missing) == len(conditions) * len(lifts) and answer.missing_total is None
    out = cli("missing", write(tmp_path, BARE)).stdout
    assert (f"({len(answer.missing)} ways: what every way needs and one line of each list "
            f"below, {len(conditions)} x {len(lifts)})") in out
    assert out.count("and one of:") == len(ways.choices)
    for n in (len(conditions), len(lifts)):  # item n is in each list at least n long
        assert out.count(f"    {n}. ") == sum(n <= len(group) for group in ways.choices)
    # JSON keeps the full list.
    [js] = [json.loads(line) for line in
            cli("missing", write(tmp_path, BARE), "-f", "json").stdout.splitlines()]
    assert len(js["missing"]) == math.prod(len(group) for group in ways.choices)
    assert "missing_total" not in js and "missing_truncated" not in js


def as_sets(groups):
    return {frozenset(group) for group in groups}


def test_success_factor_finds_products_only():
    a, b, c, x, y = (frozenset({n}) for n in "abcxy")
    product = [p | q for p in (a, b, c) for q in (x, y)]
    assert as_sets(factor(product)) == {frozenset([a, b, c]), frozenset([x, y])}
    # one pair of choices missing: not a product
    assert factor(product[:-1]) == [product[:-1]]
    # a choice of two operations stays one choice
    ab = a | b
    assert as_sets(factor([p | q for p in (ab, c) for q in (x, y)])) == {
        frozenset([ab, c]), frozenset([x, y])}
    # three independent choices
    z, w = frozenset({"z"}), frozenset({"w"})
    triple = [p | q | r for p in (a, b) for q in (x, y) for r in (z, w)]
    assert len(factor(triple)) == 3


PROPERTY = settings(deadline=None, derandomize=True, database=None, print_blob=False,
                    max_examples=60,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@PROPERTY
@given(st.lists(cases(), min_size=1, max_size=8), st.sampled_from([None, 3]))
def test_success_ways_are_exactly_the_listed_alternatives(dicts, limit):
    """The text form lists exactly the alternatives of ``missing``: what every
    way needs with one part of each choice, every combination once."""
    for i, d in enumerate(dicts):
        d["id"] = f"c{i}"
    answers = decide([case_from_data(d) for d in dicts], max_alternatives=limit)
    for d, answer in zip(dicts, answers):
        if answer.determination != "denied" or not answer.missing:
            continue
        ways = answer.ways
        listed = [documenting_keys(alt["patch"]) for alt in answer.missing]
        required = documenting_keys(ways.required.operations) if ways.required else frozenset()
        combos = [required | frozenset().union(*(documenting_keys(p.operations) for p in pick))
                  for pick in itertools.product(*ways.choices)]
        assert len(combos) == len(set(combos)) == ways.listed == len(listed), d
        assert set(combos) == set(listed), d
        # `required` is common to every alternative, listed or not
        assert required <= frozenset.intersection(*listed)
        assert ways.total == (answer.missing_total or len(listed))


# --------------------------------------------------------------------------
# the cap on the alternatives listed


def test_success_cap_library():
    full = answer_of(MANY_STUDIES, max_alternatives=None)
    assert len(full.missing) == STUDIES and full.missing_total is None  # one way per study
    cut = answer_of(MANY_STUDIES, max_alternatives=5)
    assert cut.missing == full.missing[:5]
    assert cut.required == full.required
    assert cut.missing_total == STUDIES
    js = cut.to_json()
    assert js["missing_truncated"] is True and js["missing_total"] == STUDIES
    # the default lists 100: all of them here
    assert answer_of(MANY_STUDIES).missing == full.missing


def test_success_cap_listed_alternatives_approve_and_are_minimal():
    """SPEC 4 still holds for what is listed: each alternative approves, none
    less one documenting operation does, smallest first."""
    raw = dict(MANY_STUDIES, findings={"glioma": True})  # the question is missing too
    cap = 7
    cut = answer_of(raw, max_alternatives=cap)
    assert cut.missing_total and cut.missing_total > cap and len(cut.missing) == cap
    full = answer_of(raw, max_alternatives=0)
    assert len(full.missing) == cut.missing_total
    sizes = [len(documenting_keys(alt["patch"])) for alt in full.missing]
    assert [len(documenting_keys(alt["patch"])) for alt in cut.missing] == sizes[:cap]
    variants, approving = [], []
    for alt in cut.missing:
        patch = alt["patch"]
        variants.append(jsonpatch.apply_patch(raw, patch))
        approving.append(True)
        for i, op in enumerate(patch):
            if not is_container(op):
                variants.append(jsonpatch.apply_patch(raw, patch[:i] + patch[i + 1:]))
                approving.append(False)
    results = decide([case_from_data(v) for v in variants], missing=False)
    assert [r.determination == "approved" for r in results] == approving


def test_success_cap_cli(tmp_path):
    path, cap = write(tmp_path, MANY_STUDIES), 3
    [js] = [json.loads(line) for line in
            cli("missing", path, "-f", "json", "--max-alternatives", cap).stdout.splitlines()]
    assert len(js["missing"]) == cap
    assert js["missing_truncated"] is True and js["missing_total"] == STUDIES
    [every] = [json.loads(line) for line in
               cli("evaluate", path, "-f", "json", "--max-alternatives", "0").stdout.splitlines()]
    assert len(every["missing"]) == STUDIES and "missing_total" not in every
    assert js["missing"] == every["missing"][:cap]
    out = cli("missing", path, "--max-alternatives", cap).stdout
    assert f"{STUDIES} ways; the {cap} smallest are listed" in out
    assert f"    {cap}. imaging[{cap - 1}].result" in out and f"    {cap + 1}. " not in out
    out = cli("evaluate", path, "--max-alternatives", cap).stdout
    assert f"{STUDIES} ways; the {cap} smallest are listed" in out


def test_fail_cap_negative(tmp_path):
    result = runner.invoke(app, ["missing", str(write(tmp_path, MANY_STUDIES)),
                                 "--max-alternatives", "-1"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_success_each_answer_has_patches_of_its_own():
    """The fillings are parsed once per process (abduce._filling), but an
    answer's operations are its own: changing one changes no other answer."""
    data = json.loads((ROOT / "cases" / "08-glioma-without-question-denied.json").read_text())
    first, = decide([case_from_data(data)])
    again, = decide([case_from_data(data)])
    assert first.missing and first.missing == again.missing
    before = json.dumps(again.missing)
    for way in first.missing:
        for op in way["patch"]:
            op["value"] = "changed"
    assert json.dumps(again.missing) == before
    assert json.dumps(decide([case_from_data(data)])[0].missing) == before
