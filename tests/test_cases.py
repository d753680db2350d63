"""Tests for mrs_asp.cases: the case format (SPEC section 1) and bad input (section 6)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import pytest

from mrs_asp.case_errors import CaseError
from mrs_asp.kb import KnowledgeBase
from mrs_asp.cases import (
    ADVISORIES,
    CRITERIA,
    NON_INDICATIONS,
    case_data,
    case_json,
    case_json_schema,
    day_number,
)
from mrs_asp.loading import LoadedCase, case_from_data, iter_cases, load_case, parse_case

EXAMPLES = Path(__file__).resolve().parents[2] / "shared" / "spec" / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.case.json"))

BASE = {
    "id": "base",
    "title": "A minimal valid case",
    "request": {"cpt": "76390", "date": "2026-03-02", "body_region": "brain"},
    "patient": {"age_years": 54},
    "imaging": [
        {"modality": "MRI", "body_region": "brain", "date": "2026-02-20", "result": "inconclusive"},
        {"modality": "CT", "body_region": "brain", "date": "2026-01-10"},
    ],
    "findings": {"glioma": True},
    "implants": [{"kind": "pacemaker", "mr_status": "conditional"}],
    "foreign_bodies": [{"location": "orbit", "metallic": False}],
}

SRC = "cases/bad.json"


def variant(edit) -> str:
    data = copy.deepcopy(BASE)
    edit(data)
    return json.dumps(data)


def fail(text: str | bytes, source: str = SRC) -> CaseError:
    with pytest.raises(CaseError) as info:
        parse_case(text, source)
    return check_error(info.value, source)


def check_error(err: CaseError, source: str) -> CaseError:
    assert isinstance(err, CaseError)
    assert err.file == source
    text = str(err)
    assert "\n" not in text and "\r" not in text
    assert text.startswith(f"{source}: {err.pointer or '(whole document)'}: ")
    assert err.message and err.message in text
    return err


# ---------------------------------------------------------------- success


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_success_worked_examples_parse(path: Path) -> None:
    loaded = load_case(path)
    given = json.loads(path.read_text())
    assert loaded.source == str(path)
    assert loaded.case.id == given["id"]
    assert loaded.raw == given
    assert isinstance(loaded.case.request.date, dt.date)
    # unset fields never emitted: the dump is the case as given
    assert case_data(loaded.case) == given
    assert json.loads(case_json(loaded.case)) == given
    # the model also validates from Python data
    assert case_from_data(given) == loaded.case


def test_success_examples_present() -> None:
    """The worked examples are found, so the test above runs on every one of them:
    each example with an answer in SPEC's folder has its case parsed here."""
    answered = {p.name.removesuffix(".answer.json") for p in EXAMPLES.glob("*.answer.json")}
    assert answered and {p.name.removesuffix(".case.json") for p in EXAMPLE_FILES} == answered


def test_success_absent_is_not_false() -> None:
    loaded = parse_case(
        json.dumps({"id": "a", "request": {"cpt": "76390", "date": "2026-03-02",
                                           "body_region": "brain", "contrast": False},
                    "patient": {"pregnant": False}}),
        "a.json",
    )
    case = loaded.case
    assert case.request.contrast is False
    assert case.request.setting is None
    assert case.patient.pregnant is False
    assert case.patient.claustrophobic is None
    assert case.findings is None and case.imaging is None and case.expected is None
    assert "claustrophobic" not in case_data(case)["patient"]
    assert set(case_data(case)) == {"id", "request", "patient"}


def test_success_dates_and_day_number() -> None:
    case = parse_case(variant(lambda d: None), "a.json").case
    assert case.request.date == dt.date(2026, 3, 2)
    assert case.imaging[0].date == dt.date(2026, 2, 20)
    assert day_number(case.request.date) - day_number(case.imaging[0].date) == 10
    assert day_number(dt.date(2024, 3, 1)) - day_number(dt.date(2024, 2, 28)) == 2
    # a study on the request date itself is fine; a leap day is a real date
    ok = variant(lambda d: d["request"].update(date="2024-02-29")
                 or d["imaging"][0].update(date="2024-02-29") or d["imaging"].pop())
    assert parse_case(ok, "a.json").case.imaging[0].date == dt.date(2024, 2, 29)


def test_success_hostile_strings_are_plain_data() -> None:
    hostile = 'x). approved("y"). %'
    text = variant(lambda d: d.update(id=hostile, title=hostile) or d["request"].update(cpt=hostile))
    loaded = parse_case(text, "hostile.json")
    assert loaded.case.id == hostile
    assert loaded.case.title == hostile
    assert loaded.case.request.cpt == hostile
    assert loaded.raw["id"] == hostile


def test_success_expected_block() -> None:
    text = variant(lambda d: d.update(expected={
        "determination": "denied",
        "criteria": ["applies", "conventional_inconclusive"],
        "non_indications": ["recent_advanced_imaging"],
        "advisories": ["pregnancy"],
    }))
    exp = parse_case(text, "a.json").case.expected
    assert exp.determination == "denied"
    assert exp.criteria == ["applies", "conventional_inconclusive"]
    assert exp.non_indications == ["recent_advanced_imaging"]
    assert exp.advisories == ["pregnancy"]
    # the SPEC ids that expected may name are the KB's criteria of those kinds
    knowledge = KnowledgeBase(Path(__file__).resolve().parents[1] / "kb").criteria
    assert set(CRITERIA) == {c for c, k in knowledge.items()
                             if k.kind in ("applicability", "indication")}
    assert set(NON_INDICATIONS) == {c for c, k in knowledge.items()
                                    if k.kind == "non_indication"}
    assert NON_INDICATIONS == ("recent_advanced_imaging", "aneurysm_clip", "incompatible_device",
                               "incompatible_implant", "metallic_foreign_body")
    assert ADVISORIES == ("claustrophobia", "pregnancy", "renal_contrast")


def test_success_raw_keeps_document_as_given() -> None:
    text = '{"request": {"body_region": "brain", "date": "2026-03-02", "cpt": "76390"}, "id": "k"}'
    loaded = parse_case(text.encode(), "k.json")
    assert list(loaded.raw) == ["request", "id"]
    assert loaded.raw is loaded.raw  # cached
    # constructed without text: raw falls back to the model dump
    assert LoadedCase("x", loaded.case).raw == json.loads(text)


def test_success_bom_and_bytes() -> None:
    text = b"\xef\xbb\xbf" + variant(lambda d: None).encode()
    assert parse_case(text, "bom.json").case.id == "base"


def test_success_json_schema() -> None:
    schema = case_json_schema()
    assert schema["title"] and schema["description"]
    assert schema["type"] == "object"
    assert set(schema["required"]) == {"id", "request"}
    assert schema["additionalProperties"] is False
    assert set(schema["$defs"]["Request"]["required"]) == {"cpt", "date", "body_region"}
    schema["title"] = "changed"
    assert case_json_schema()["title"] != "changed"


def test_success_iter_cases_mixed(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(variant(lambda d: d.update(id="a")))
    lib = tmp_path / "lib.jsonl"
    lib.write_text(
        variant(lambda d: d.update(id="l1")) + "\n\n"
        + variant(lambda d: d.update(id="l2")) + "\n"
    )
    got = list(iter_cases([tmp_path / "a.json", lib]))
    assert [g.case.id for g in got] == ["a", "l1", "l2"]
    assert [g.source for g in got] == [str(tmp_path / "a.json"), f"{lib}:1", f"{lib}:3"]
    assert got[2].raw["id"] == "l2"


def test_success_iter_cases_single_path(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(variant(lambda d: None))
    got = list(iter_cases(str(tmp_path / "a.json")))
    assert len(got) == 1 and got[0].case.id == "base"


# ---------------------------------------------------------------- bad input


def test_fail_unknown_field_top_level() -> None:
    err = fail(variant(lambda d: d.update(colour="red")))
    assert (err.pointer, err.message) == ("/colour", "unknown field")


def test_fail_unknown_field_nested() -> None:
    err = fail(variant(lambda d: d["findings"].update(colour="red")))
    assert (err.pointer, err.message) == ("/findings/colour", "unknown field")
    assert str(err) == f"{SRC}: /findings/colour: unknown field"


def test_fail_unknown_field_in_array_entry() -> None:
    err = fail(variant(lambda d: d["implants"][0].update(colour="red")))
    assert err.pointer == "/implants/0/colour"


def test_fail_unknown_field_pointer_escaped() -> None:
    err = fail(variant(lambda d: d["patient"].update({"a/b~c": 1})))
    assert err.pointer == "/patient/a~1b~0c"


def test_fail_wrong_type_string_for_bool() -> None:
    err = fail(variant(lambda d: d["patient"].update(pregnant="true")))
    assert err.pointer == "/patient/pregnant"
    assert err.message.startswith("expected true or false")


def test_fail_wrong_type_int_for_bool() -> None:
    err = fail(variant(lambda d: d["findings"].update(glioma=1)))
    assert err.pointer == "/findings/glioma"


def test_fail_wrong_type_bool_for_int() -> None:
    err = fail(variant(lambda d: d["patient"].update(age_years=True)))
    assert err.pointer == "/patient/age_years"
    assert err.message == "expected an integer >= 0, got true"


def test_fail_wrong_type_float_for_int() -> None:
    err = fail(variant(lambda d: d["patient"].update(age_days=1.0)))
    assert err.pointer == "/patient/age_days"
    assert err.message == "expected an integer >= 0, got 1.0"


def test_fail_wrong_type_null_is_not_absent() -> None:
    err = fail(variant(lambda d: d["patient"].update(pregnant=None)))
    assert err.pointer == "/patient/pregnant"
    assert err.message.endswith("got null")


def test_fail_wrong_type_number_for_string() -> None:
    err = fail(variant(lambda d: d["request"].update(cpt=76390)))
    assert err.pointer == "/request/cpt"
    assert err.message == "expected a string, got 76390"


def test_fail_wrong_type_object_for_array() -> None:
    err = fail(variant(lambda d: d.update(imaging={"modality": "MRI"})))
    assert err.pointer == "/imaging"
    assert err.message == "expected an array, got an object"


def test_fail_unknown_enum_value() -> None:
    err = fail(variant(lambda d: d["request"].update(body_region="head")))
    assert err.pointer == "/request/body_region"
    # the values as the schema lists them
    assert err.message.startswith("expected one of 'abdomen', 'brain', ")
    assert "'spine'" in err.message and err.message.endswith("got 'head'")


def test_fail_unknown_enum_value_in_array() -> None:
    err = fail(variant(lambda d: d["imaging"][1].update(modality="MRA")))
    assert err.pointer == "/imaging/1/modality"
    assert "'MRI'" in err.message and err.message.endswith("got 'MRA'")


def test_fail_unknown_expected_id() -> None:
    err = fail(variant(lambda d: d.update(expected={
        "determination": "approved", "criteria": ["applies", "glioma"]})))
    assert err.pointer == "/expected/criteria/1"
    err = fail(variant(lambda d: d.update(expected={"determination": "maybe"})))
    assert err.pointer == "/expected/determination"


def test_fail_impossible_date() -> None:
    err = fail(variant(lambda d: d["request"].update(date="2026-02-30")))
    assert err.pointer == "/request/date"
    assert err.message.startswith("expected a date YYYY-MM-DD, got '2026-02-30'")


def test_fail_impossible_date_not_leap_year() -> None:
    err = fail(variant(lambda d: d["imaging"][0].update(date="2025-02-29")))
    assert err.pointer == "/imaging/0/date"


@pytest.mark.parametrize(
    "bad", ["2026-3-2", "2026/03/02", "20260302", "86400", "2026-03-02T00:00:00",
            " 2026-03-02", "2026-03-02\n", "+2026-03-02", ""],
)
def test_fail_malformed_date_string(bad: str) -> None:
    err = fail(variant(lambda d: d["request"].update(date=bad)))
    assert err.pointer == "/request/date"
    assert err.message.startswith("expected a date YYYY-MM-DD, got ")


def test_fail_date_not_a_string() -> None:
    err = fail(variant(lambda d: d["request"].update(date=20260302)))
    assert (err.pointer, err.message) == ("/request/date", "expected a date YYYY-MM-DD, got 20260302")


def test_fail_study_after_request() -> None:
    err = fail(variant(lambda d: d["imaging"][1].update(date="2026-04-01")))
    assert err.pointer == "/imaging/1/date"
    assert err.message == ("expected a date on or before the request date 2026-03-02, "
                           "got 2026-04-01")


def test_fail_study_after_request_python_side() -> None:
    data = copy.deepcopy(BASE)
    data["imaging"][0]["date"] = "2026-03-03"
    with pytest.raises(ValueError):
        case_from_data(data)
    with pytest.raises(CaseError) as info:
        case_from_data(data)
    assert info.value.pointer == "/imaging/0/date"


def test_fail_negative_age() -> None:
    err = fail(variant(lambda d: d["patient"].update(age_years=-3)))
    assert (err.pointer, err.message) == ("/patient/age_years", "expected an integer >= 0, got -3")


def test_fail_missing_id() -> None:
    err = fail(variant(lambda d: d.pop("id")))
    assert (err.pointer, err.message) == ("/id", "missing required field")
    assert str(err) == f"{SRC}: /id: missing required field"


def test_fail_empty_id() -> None:
    err = fail(variant(lambda d: d.update(id="")))
    assert err.pointer == "/id"


def test_fail_missing_request() -> None:
    err = fail(variant(lambda d: d.pop("request")))
    assert (err.pointer, err.message) == ("/request", "missing required field")


@pytest.mark.parametrize("name", ["cpt", "date", "body_region"])
def test_fail_missing_request_field(name: str) -> None:
    err = fail(variant(lambda d: d["request"].pop(name)))
    assert (err.pointer, err.message) == (f"/request/{name}", "missing required field")


def test_fail_missing_imaging_modality() -> None:
    err = fail(variant(lambda d: d["imaging"][1].pop("modality")))
    assert (err.pointer, err.message) == ("/imaging/1/modality", "missing required field")


@pytest.mark.parametrize("where,name", [("implants", "kind"), ("foreign_bodies", "location")])
def test_fail_missing_entry_field(where: str, name: str) -> None:
    err = fail(variant(lambda d: d[where][0].pop(name)))
    assert (err.pointer, err.message) == (f"/{where}/0/{name}", "missing required field")


def test_fail_missing_expected_determination() -> None:
    err = fail(variant(lambda d: d.update(expected={"criteria": []})))
    assert (err.pointer, err.message) == ("/expected/determination", "missing required field")


def test_fail_first_error_in_document_order() -> None:
    text = ('{"zz": 1, "request": {"cpt": "76390", "date": "2026-13-01", "body_region": "brain"},'
            ' "patient": {"age_years": -1}, "id": 5}')
    assert fail(text).pointer == "/zz"
    text = ('{"patient": {"age_years": -1}, "id": "a",'
            ' "request": {"cpt": "76390", "date": "2026-13-01", "body_region": "brain"}}')
    assert fail(text).pointer == "/patient/age_years"


@pytest.mark.parametrize(
    "text,kind", [("[1, 2]", "an array"), ('"case"', "a string"), ("3", "a number"),
                  ("null", "null"), ("true", "a boolean")],
)
def test_fail_non_object_json(text: str, kind: str) -> None:
    err = fail(text)
    assert (err.pointer, err.message) == ("", f"expected a JSON object, got {kind}")


@pytest.mark.parametrize("text", ["", "   \n\n", b""])
def test_fail_empty_document(text) -> None:
    err = fail(text)
    assert err.pointer == "" and "empty" in err.message


def test_fail_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text("")
    with pytest.raises(CaseError) as info:
        load_case(path)
    assert check_error(info.value, str(path)).pointer == ""
    got = list(iter_cases([path]))
    assert len(got) == 1 and check_error(got[0], str(path)).message.startswith("empty file")


def test_fail_empty_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n  \n")
    got = list(iter_cases([path]))
    assert len(got) == 1 and check_error(got[0], str(path)).message.startswith("empty file")


def test_fail_invalid_json() -> None:
    err = fail('{\n  "id": "a",\n  "request": {,\n}')
    assert err.pointer == ""
    assert err.message.startswith("invalid JSON: ")
    assert "line 3 column" in err.message


def test_fail_invalid_json_trailing_data() -> None:
    err = fail(variant(lambda d: None) + "\n{}")
    assert err.pointer == "" and "line 2" in err.message


def test_fail_invalid_utf8() -> None:
    err = fail(b'{"id": "\xff"}')
    assert err.pointer == "" and err.message.startswith("invalid JSON")


def test_fail_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    got = list(iter_cases([missing, tmp_path / "nope.jsonl"]))
    assert [check_error(g, str(p)).pointer for g, p in
            zip(got, [missing, tmp_path / "nope.jsonl"])] == ["", ""]
    with pytest.raises(CaseError) as info:
        load_case(missing)
    check_error(info.value, str(missing))


def test_fail_jsonl_line_numbers(tmp_path: Path) -> None:
    lib = tmp_path / "lib.jsonl"
    lines = [
        variant(lambda d: d.update(id="one")),
        "",
        variant(lambda d: d["patient"].update(age_years=-1) or d.update(id="two")),
        "[]",
        "{not json",
        variant(lambda d: d.update(id="three")),
    ]
    lib.write_text("\n".join(lines) + "\n")
    got = list(iter_cases([lib]))
    assert [g.source if isinstance(g, LoadedCase) else g.file for g in got] == [
        f"{lib}:1", f"{lib}:3", f"{lib}:4", f"{lib}:5", f"{lib}:6"]
    assert isinstance(got[0], LoadedCase) and isinstance(got[4], LoadedCase)
    assert check_error(got[1], f"{lib}:3").pointer == "/patient/age_years"
    assert check_error(got[2], f"{lib}:4").message == "expected a JSON object, got an array"
    assert check_error(got[3], f"{lib}:5").message.startswith("invalid JSON")
    assert str(got[1]).startswith(f"{lib}:3: /patient/age_years: ")


def test_fail_duplicate_ids_in_library(tmp_path: Path) -> None:
    lib = tmp_path / "lib.jsonl"
    ids = ["a", "b", "a"]
    lib.write_text("\n".join(variant(lambda d, i=i: d.update(id=i)) for i in ids))
    single = tmp_path / "single.json"
    single.write_text(variant(lambda d: d.update(id="b")))
    got = list(iter_cases([lib, single]))
    assert len(got) == len(ids) + 1  # one item per line and per file
    assert [isinstance(g, LoadedCase) for g in got] == [True, True, False, False]
    err = check_error(got[2], f"{lib}:3")
    assert err.pointer == "/id" and f"{lib}:1" in err.message
    err = check_error(got[3], str(single))
    assert err.pointer == "/id" and f"{lib}:2" in err.message
    # a separate call starts afresh
    assert isinstance(list(iter_cases([single]))[0], LoadedCase)


def test_fail_bad_case_does_not_stop_iteration(tmp_path: Path) -> None:
    d = tmp_path / "cases"
    d.mkdir()
    (d / "a.json").write_text(variant(lambda x: x.update(id="a")))
    (d / "b.json").write_text("{")
    (d / "c.json").write_text(variant(lambda x: x.update(id="c")))
    got = list(iter_cases([d]))
    assert isinstance(got[0], LoadedCase) and isinstance(got[2], LoadedCase)
    assert check_error(got[1], str(d / "b.json")).pointer == ""


def test_success_directory_loading_order(tmp_path: Path) -> None:
    d = tmp_path / "lib"
    d.mkdir()
    for name in ["b.json", "a.json", "c10.json", "c2.json"]:
        (d / name).write_text(variant(lambda x, n=name: x.update(id=n)))
    (d / "skip.jsonl").write_text(variant(lambda x: x.update(id="jsonl")))
    (d / "notes.txt").write_text("not a case")
    (d / ".hidden.json").write_text("{")
    (d / "sub").mkdir()
    (d / "sub" / "deep.json").write_text(variant(lambda x: x.update(id="deep")))
    got = list(iter_cases([d]))
    assert all(isinstance(g, LoadedCase) for g in got)
    assert [g.case.id for g in got] == ["a.json", "b.json", "c10.json", "c2.json"]
    assert got[0].source == str(d / "a.json")


def test_fail_error_never_leaks_the_validator() -> None:
    for text in ["{", "[]", '{"id": []}', variant(lambda d: d.update(imaging=[1, "x"])),
                 variant(lambda d: d.update(patient="x")), '{"id": "a", "request": null}',
                 variant(lambda d: d["implants"][0].update(mr_status=None)),
                 variant(lambda d: d["request"].update(contrast=[])),
                 variant(lambda d: d.update(expected={"determination": "ok"})),
                 variant(lambda d: d.update(title=5)), b'{"id": "\xff"}']:
        err = fail(text)
        said = str(err)
        assert "msgspec" not in said.lower() and "`" not in said and "$." not in said
        assert "Expected" not in said and "Input should" not in said


def test_fail_null_for_an_enumerated_field_names_the_values() -> None:
    err = fail(variant(lambda d: d["implants"][0].update(mr_status=None)))
    assert err.pointer == "/implants/0/mr_status"
    assert err.message == "expected one of 'conditional', 'safe', 'unknown', 'unsafe', got null"


def test_fail_long_or_multiline_values_stay_one_line() -> None:
    err = fail(variant(lambda d: d["request"].update(body_region="he\nad" * 50)))
    assert err.pointer == "/request/body_region"
    assert len(str(err)) < 400
