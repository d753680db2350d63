"""Fuzzing the case reader (issue 13 item 9): JSON documents near the case
schema (wrong types, extra keys, deep nesting, huge numbers, odd strings,
repeated keys, broken text) through ``parse_case``/``load_case`` and the CLI.

Each is either a valid case (a LoadedCase; exit 0 with one answer) or bad
input (CaseError; exit 2 with one line per error, each naming the file),
never anything else.  And the two validators agree: msgspec's fast path
rejects exactly the documents in which the error path (jsonschema) locates
an error, so no rejected document goes without its pointer.
"""

from __future__ import annotations

import json
import random
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from mrs_asp.case_errors import CaseError, printable, text_errors
from mrs_asp.cli import app
from mrs_asp.loading import LoadedCase, load_case, parse_case

from strategies import cases

_TRAP = "x` - at `$.findings.glioma"  # a value that reads like msgspec's error text
ODD_STRINGS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "\ud800", "a\udfffb", "\x1b]0;x\x07", "line\nbreak", "x/y~z",
                     _TRAP, "2026-02-30", "2026-03-02\n", "NaN",
                     "76390", "brain", "inconclusive", "conditional", "\u2028", "\x00"]),
)
NUMBERS = st.one_of(
    st.integers(min_value=-10, max_value=200),
    st.integers(min_value=-(10 ** 30), max_value=10 ** 30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, 1.0, -0.0, 1e308]),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, ODD_STRINGS)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(ODD_STRINGS, inner, max_size=3)), max_leaves=6)
KEYS = st.one_of(ODD_STRINGS, st.sampled_from(
    ["id", "title", "request", "patient", "imaging", "findings", "implants", "foreign_bodies",
     "expected", "cpt", "date", "body_region", "glioma", "symptoms", "kind", "mr_status",
     "metallic", "location", "modality", "result", "age_years", "determination", "criteria"]))
# Raw text put into the serialized document: what json.dumps would never write.
RAW = st.sampled_from(["NaN", "Infinity", "-Infinity", "9" * 5000, "1e400", '"\\ud800"',
                       "[" * 3000 + "]" * 3000, '{"a": ' * 2000 + "1" + "}" * 2000,
                       '"\\u0000"', "tru", '"a\\qb"', "01"])


def _places(node, path=()):
    """Every (container path) of a document: where to change or add something."""
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _places(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _places(value, (*path, i))


def _at(node, path):
    for part in path:
        node = node[part]
    return node


@st.composite
def near_cases(draw) -> str:
    """The text of a document near the case schema."""
    doc = draw(cases(case_id="fuzz"))
    rng = random.Random(draw(st.integers(0, 2 ** 32)))
    marker = "\u0001RAW\u0001"
    repeated: list[str] = []
    for _ in range(draw(st.integers(0, 3))):
        places = list(_places(doc))
        path = places[rng.randrange(len(places))]
        action = draw(st.sampled_from(["replace", "add", "remove", "nest", "raw", "repeat"]))
        parent = _at(doc, path[:-1]) if path else None
        if action == "replace" and path:
            parent[path[-1]] = draw(VALUES)
        elif action == "add":
            target = _at(doc, path)
            if isinstance(target, dict):
                target[draw(KEYS)] = draw(VALUES)
            elif isinstance(target, list):
                target.append(draw(VALUES))
        elif action == "remove" and path and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "nest" and path:
            value = parent[path[-1]]
            for _ in range(draw(st.integers(1, 40))):
                value = [value] if rng.random() < 0.5 else {"k": value}
            parent[path[-1]] = value
        elif action == "raw" and path:
            parent[path[-1]] = marker
        elif action == "repeat" and path and isinstance(parent, dict) and \
                isinstance(path[-1], str):
            repeated.append(path[-1])  # the key written twice, below
            parent[f"\u0002{len(repeated) - 1}\u0002"] = draw(VALUES)
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()),
                      indent=draw(st.sampled_from([None, None, 2])))
    text = text.replace(json.dumps(marker), draw(RAW))
    for i, key in enumerate(repeated):
        text = text.replace(json.dumps(f"\u0002{i}\u0002"), json.dumps(key))
    if draw(st.integers(0, 9)) == 0:  # broken text
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(["", ",", "}", '"', "\\", "\x00", "\n"])) \
            + text[at + draw(st.integers(0, 2)):]
    return text


def _outcome(text: str, source: str = "f.json") -> LoadedCase | CaseError:
    try:
        return parse_case(text.encode("utf-8", "surrogatepass"), source)
    except CaseError as err:
        return err


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(near_cases())
def test_success_fuzz_parse_case_answers_or_locates(text: str) -> None:
    outcome = _outcome(text)
    located = text_errors(text.encode("utf-8", "surrogatepass"), "f.json")
    if isinstance(outcome, LoadedCase):
        assert located == [], located  # the fast path accepts only what has no error
        return
    assert isinstance(outcome, CaseError)
    assert located, "the fast path rejected a document in which no error was located"
    assert [str(e) for e in outcome.errors] == [str(e) for e in located]
    for err in outcome.errors:
        line = str(err)
        assert line.startswith("f.json: ") and line.isprintable() and err.message
        # msgspec's own words and paths never show; a document's own value may,
        # where the message quotes what it got (the trap string above).
        said = line[len(printable(err.pointer)) + 8:].replace(_TRAP, "")
        assert "msgspec" not in said and "$." not in said


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(near_cases())
def test_success_fuzz_cli_exit_two_or_an_answer(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "case.json"
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        result = CliRunner().invoke(app, ["evaluate", "--format", "json", str(path)])
        try:
            loaded = load_case(path)
        except CaseError as err:
            loaded = err
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exception
    assert "Traceback" not in result.output
    if isinstance(loaded, LoadedCase):
        assert result.exit_code == 0 and result.stderr == ""
        [answer] = [json.loads(line) for line in result.stdout.splitlines()]
        assert answer["id"] == loaded.id
    else:
        assert result.exit_code == 2 and result.stdout == ""
        assert result.stderr.splitlines() == [str(e) for e in loaded.errors]
        assert all(line.startswith(f"{path}: ") for line in result.stderr.splitlines())
