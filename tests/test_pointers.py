"""JSON Pointers (RFC 6901) are built and split as jsonpointer does, '~' and '/'
escaped, wherever the package handles them (mrs_asp/pointers.py; issue 9 item 6)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonpointer import JsonPointer, JsonPointerException

from mrs_asp.engine import _pointer_of_term, pointer_of
from mrs_asp.pointers import join, parts, pointer
from mrs_asp.service.auth import AuthConfigError, Issuers

PARTS = st.lists(st.one_of(st.text(), st.text(alphabet="~/01a,"), st.integers(0, 99)),
                 max_size=5)


@given(PARTS)
def test_success_pointers_are_jsonpointers(items) -> None:
    built = pointer(items)
    assert built == JsonPointer.from_parts(items).path
    assert parts(built) == [str(item) for item in items] == JsonPointer(built).parts
    assert join("/base", *items) == "/base" + built


@pytest.mark.parametrize("text", ["a", "a/b", "/~2", "/a~"])
def test_fail_a_text_that_is_no_pointer_is_refused_as_jsonpointer_refuses_it(text) -> None:
    with pytest.raises(JsonPointerException):
        JsonPointer(text)
    with pytest.raises(JsonPointerException):
        parts(text)


@given(st.lists(st.one_of(st.text(alphabet="ab~/,\\\"()"), st.integers(0, 9)), min_size=1,
                max_size=4))
def test_success_a_kb_term_with_strings_is_escaped(items) -> None:
    """A ``ptr(...)`` term's strings may hold ',', '/' or '~': each part stays one
    reference token, escaped."""
    from clingo import Function, Number, String
    term = Function("ptr", [Number(i) if isinstance(i, int) else String(i) for i in items])
    want = JsonPointer.from_parts(items).path
    assert pointer_of(str(term)) == want == _pointer_of_term(term)


def test_success_kb_constants_are_the_pointers_they_always_were() -> None:
    assert pointer_of("ptr(implants,0,mr_status)") == "/implants/0/mr_status"
    assert pointer_of("ptr(findings,symptoms)") == "/findings/symptoms"
    assert pointer_of("holds(x)") is None


def test_fail_an_issuer_url_is_one_escaped_token_in_the_error(tmp_path: Path) -> None:
    path = tmp_path / "issuers.json"
    path.write_text(json.dumps({"https://ehr.example.org/a~b": {"nokeys": []}}))
    with pytest.raises(AuthConfigError) as info:
        Issuers.from_file(path)
    assert str(info.value).startswith(f"{path}: /https:~1~1ehr.example.org~1a~0b: ")
