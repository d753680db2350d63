"""Every error of a bad document, each at its pointer (mrs_asp.case_errors;
issue 8 item 5, issue 9 item 6, issue 13 items 1 and 6)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest

from mrs_asp.case_errors import MAX_DEPTH, MAX_ERRORS, CaseError, pointer, printable
from mrs_asp.cases import MAX_ENTRIES, case_json_schema
from mrs_asp.loading import case_from_data, parse_case

BASE = {"id": "base", "request": {"cpt": "76390", "date": "2026-03-02", "body_region": "brain"}}
PREFIX = '{"id": "h", "request": {"cpt": "76390", "date": "2026-03-02", "body_region": "brain"}'


def errors(text: str | bytes, source: str = "x.json") -> list[tuple[str, str]]:
    with pytest.raises(CaseError) as info:
        parse_case(text, source)
    found = info.value.errors
    assert found[0] is info.value
    for err in found:
        line = str(err)
        assert line.startswith(printable(f"{source}: {err.pointer or '(whole document)'}: "))
        assert "\n" not in line and line.isprintable()
        line.encode("utf-8")  # writable to any terminal or pipe
    return [(e.pointer, e.message) for e in found]


def with_fields(**parts: str) -> str:
    return PREFIX + "".join(f', "{k}": {v}' for k, v in parts.items()) + "}"


# ------------------------------------------------------------- duplicate keys


def test_fail_duplicate_key_with_its_pointer() -> None:
    text = with_fields(findings='{"glioma": true, "glioma": false}')
    assert errors(text) == [("/findings/glioma",
                             "expected each key once in an object, got 'glioma' 2 times")]


def test_fail_duplicate_key_top_level_and_in_an_entry() -> None:
    text = ('{"id": "a", "id": "b", "request": {"cpt": "76390", "date": "2026-03-02", '
            '"body_region": "brain"}, "implants": [{"kind": "pacemaker", "kind": "other"}]}')
    assert [p for p, _ in errors(text)] == ["/id", "/implants/0/kind"]


def test_fail_duplicate_key_spaced_or_escaped_is_found() -> None:
    # a blank before the colon, or the key written with an escape, is the same key
    assert errors(with_fields(findings='{"glioma" : true, "glioma"\n:true}'))[0][0] == \
        "/findings/glioma"
    assert errors(with_fields(findings='{"glioma": true, "gli\\u006fma": true}'))[0][0] == \
        "/findings/glioma"


def test_fail_duplicate_key_hidden_behind_escaped_colons() -> None:
    """The fast path's colon count cannot be fooled by colons written as escapes."""
    text = with_fields(title='"a\\u003ab\\u003Ac"', findings='{"glioma": true, "glioma": true}')
    assert ("/findings/glioma", "expected each key once in an object, got 'glioma' 2 times") \
        in errors(text)


def test_success_colons_in_strings_are_not_keys() -> None:
    text = with_fields(title='"a: b \\" : c \\u003a d"')
    assert parse_case(text, "x.json").case.title == 'a: b " : c : d'


# ------------------------------------------------------------- every error


def test_fail_every_error_reported_in_document_order() -> None:
    text = ('{"id": 5, "colour": 1, "request": {"cpt": "", "date": "2026-02-30", '
            '"body_region": "head"}, "patient": {"age_years": -1, "pregnant": "yes"}, '
            '"imaging": [{"modality": "MRI", "body_region": "brain", "date": "2026-01-01"}, '
            '{"x": 1}]}')
    assert errors(text) == [
        ("/id", "expected a string, got 5"),
        ("/colour", "unknown field"),
        ("/request/cpt", "expected a non-empty string, got ''"),
        ("/request/date", "expected a date YYYY-MM-DD, got '2026-02-30' (no such calendar day)"),
        ("/request/body_region", "expected one of 'abdomen', 'brain', 'chest', 'extremity', "
                                 "'head_neck', 'other', 'pelvis', 'spine', got 'head'"),
        ("/patient/age_years", "expected an integer >= 0, got -1"),
        ("/patient/pregnant", "expected true or false, got 'yes'"),
        ("/imaging/1/x", "unknown field"),
        ("/imaging/1/modality", "missing required field"),
        ("/imaging/1/body_region", "missing required field"),
        ("/imaging/1/date", "missing required field"),
    ]


def test_fail_study_after_request_beside_other_errors() -> None:
    text = with_fields(imaging='[{"modality": "MRI", "body_region": "brain", '
                               '"date": "2026-04-01"}]', patient='{"age_years": 1.5}')
    assert errors(text) == [
        ("/imaging/0/date", "expected a date on or before the request date 2026-03-02, "
                            "got 2026-04-01"),
        ("/patient/age_years", "expected an integer >= 0, got 1.5"),
    ]


def test_fail_errors_capped_with_a_line_saying_how_many_more() -> None:
    text = with_fields(findings=json.dumps({f"f{i}": True for i in range(MAX_ERRORS + 7)}))
    found = errors(text)
    assert len(found) == MAX_ERRORS + 1
    assert found[:MAX_ERRORS] == [(f"/findings/f{i}", "unknown field") for i in range(MAX_ERRORS)]
    assert found[-1] == ("", f"7 more errors not listed (at most {MAX_ERRORS} are listed per case)")


def test_fail_every_error_through_the_cli(tmp_path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(with_fields(patient='{"age_years": -1, "pregnant": 1}', colour="2"))
    proc = subprocess.run([sys.executable, "-m", "mrs_asp.cli", "evaluate", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines() == [
        f"{path}: /patient/age_years: expected an integer >= 0, got -1",
        f"{path}: /patient/pregnant: expected true or false, got 1",
        f"{path}: /colour: unknown field",
    ]


# ------------------------------------------------------------- array limits


@pytest.mark.parametrize("name,entry", [
    ("imaging", {"modality": "XR", "body_region": "chest", "date": "2020-01-01"}),
    ("implants", {"kind": "orthopedic"}),
    ("foreign_bodies", {"location": "other"}),
])
def test_fail_array_over_its_limit(name, entry) -> None:
    limit = MAX_ENTRIES[name]
    at_limit = {**BASE, name: [entry] * limit}
    assert len(getattr(parse_case(json.dumps(at_limit), "ok.json").case, name)) == limit
    over = {**BASE, name: [entry] * (limit + 1)}
    expected = [(f"/{name}", f"expected at most {limit} entries, got {limit + 1}")]
    assert errors(json.dumps(over)) == expected
    with pytest.raises(CaseError) as info:
        case_from_data(over)
    assert [(e.pointer, e.message) for e in info.value.errors] == expected
    assert case_json_schema()["properties"][name]["maxItems"] == limit


# ------------------------------------------------------------- hostile documents


def test_fail_deep_document_reported_where_it_goes_wrong() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    assert errors(with_fields(findings=deep)) == [("/findings", "expected an object, got an array")]
    obj = '{"a": ' * 100_000 + "1" + "}" * 100_000
    assert errors(with_fields(findings=obj)) == [("/findings/a", "unknown field")]
    assert errors(with_fields(findings='{"glioma": ' + deep + "}")) == [
        ("/findings/glioma", "expected true or false, got an array")]
    assert errors(deep) == [("", "expected a JSON object, got an array")]


def test_fail_deep_document_unclosed_or_broken() -> None:
    text = with_fields(findings="[" * 100_000)[:-1]
    [(where, message)] = errors(text)
    assert where == "" and message == (f"invalid JSON: unexpected end of input at line 1 "
                                       f"column {len(text) + 1}")
    # a syntax error above the depth read is found at its place in the text
    text = "[" * 100_000 + "]" * 100_000
    broken = with_fields(findings=text, patient="{,}")
    [(where, message)] = errors(broken)
    assert where == "" and message.startswith("invalid JSON: expecting property name")
    assert message.endswith(f"column {broken.index('{,}') + 2}")
    assert MAX_DEPTH >= 4  # a case nests three levels


def test_fail_lone_surrogate_named_where_it_stands() -> None:
    assert errors(with_fields(title='"a\\ud800b"')) == [
        ("/title", "invalid JSON: a string holding a lone surrogate \\ud800 "
                   "(not a Unicode character)")]
    found = errors(with_fields(findings='{"\\udc00x": true}'))
    assert found[0] == ("/findings/\udc00x", "invalid JSON: a key holding a lone surrogate "
                                             "\\udc00 (not a Unicode character)")
    # raw (unescaped) surrogate bytes are not UTF-8
    raw = with_fields(title='"X"').encode().replace(b"X", b"\xed\xa0\x80")
    [(where, message)] = errors(raw)
    assert where == "" and message.startswith("invalid JSON: not UTF-8 (byte 0xed) at line 1")


def test_fail_huge_numbers_say_what_they_are() -> None:
    digits = "9" * 5000
    assert errors(with_fields(patient=f'{{"age_years": {digits}}}')) == [
        ("/patient/age_years", "expected an integer >= 0, got a 5000-digit number (more than "
                               "the 4300 digits a number may have)")]
    assert errors(with_fields(title=digits))[0][1].startswith("expected a string, got a 5000-digit")
    assert errors(with_fields(patient='{"age_days": 1e400}')) == [
        ("/patient/age_days", "expected an integer >= 0, got the number 1e400 (beyond the "
                              "range of a number)")]
    assert errors(with_fields(patient='{"age_days": NaN}')) == [
        ("/patient/age_days", "invalid JSON: NaN (not a JSON number)")]
    # big but readable integers are integers
    assert parse_case(with_fields(patient=f'{{"age_years": {"9" * 40}}}'), "x").case.patient


def test_fail_field_named_like_a_pointer() -> None:
    name = "x` - at `$.findings.glioma"
    text = with_fields(findings=json.dumps({name: True}))
    assert errors(text) == [(pointer(["findings", name]), "unknown field")]
    assert errors(with_fields(findings='{"a/b~c": 1}')) == [("/findings/a~1b~0c", "unknown field")]


def test_fail_control_characters_escaped_in_the_line() -> None:
    text = with_fields(findings=json.dumps({"\x1b]0;pwned\x07\nfake: APPROVED": True}))
    [err] = pytest.raises(CaseError, parse_case, text, "x.json").value.errors
    assert str(err) == "x.json: /findings/\\x1b]0;pwned\\x07\\nfake: APPROVED: unknown field"


def test_fail_json_errors_say_line_and_column() -> None:
    assert errors('{\n  "id": "a",\n  "request": {,\n}') == [
        ("", "invalid JSON: expecting property name enclosed in double quotes at line 3 "
             "column 15")]
    assert errors('{"id": "a"') == [("", "invalid JSON: unexpected end of input at line 1 "
                                         "column 11")]
    assert errors(json.dumps(BASE) + "\n{}") == [("", "invalid JSON: extra data at line 2 "
                                                      "column 1")]


def test_success_python_data_with_dates() -> None:
    import datetime as dt
    data = copy.deepcopy(BASE)
    data["request"]["date"] = dt.date(2026, 3, 2)
    data["imaging"] = [{"modality": "MRI", "body_region": "brain", "date": dt.date(2026, 3, 3)}]
    with pytest.raises(CaseError) as info:
        case_from_data(data)
    assert info.value.pointer == "/imaging/0/date"


def test_fail_an_unknown_field_named_with_an_odd_space_shows_it() -> None:
    # found by the fuzz test: a no-break space reads as nothing, or as a space
    text = with_fields(findings=json.dumps({"\u00a0": True, "a\u3000b": True}))
    with pytest.raises(CaseError) as caught:
        parse_case(text, "x.json")
    lines = [str(e) for e in caught.value.errors]
    assert lines == ["x.json: /findings/\\xa0: unknown field",
                     "x.json: /findings/a\\u3000b: unknown field"]
    assert all(line.isprintable() for line in lines)
