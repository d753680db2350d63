"""Bad input: :class:`CaseError`, and every error of a document located.

The fast path (:mod:`mrs_asp.loading`) decodes a case with msgspec and learns
only *that* it is bad.  This module is the rare path: it reads the document
again and says *every* thing wrong with it, each at its RFC 6901 JSON Pointer,
in document order, one :class:`CaseError` each:

1. the JSON itself (stdlib :mod:`json`, whose errors carry line and column):
   not UTF-8, not JSON, an empty document;
2. what JSON allows but a case cannot hold, found while reading: a key twice in
   one object, a lone surrogate (``"\\ud800"``, no Unicode character), ``NaN``
   or ``Infinity``, a number too large to read (more than 4300 digits, or a
   float beyond double range);
3. the case schema: ``jsonschema`` against :func:`mrs_asp.cases.case_json_schema`
   (the schema generated from the model, so the two cannot drift), with
   integers strict (``1.0`` is not an integer) and formats checked;
4. the cross-field rule of SPEC section 1: no study dated after the request.

At most :data:`MAX_ERRORS` errors are listed per document; beyond them one
more line says how many were left out.  A document nested deeper than
:data:`MAX_DEPTH` levels (a case nests three) is read down to that depth: the
containers below it are taken as empty, since a case is already wrong where
it first nests too deep, and that is what is reported.

jsonschema and jsonpointer are imported here, on the error path, so that
deciding a valid case never pays for them.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from typing import Any

from .terminal import printable

__all__ = ["CaseError", "MAX_DEPTH", "MAX_ERRORS", "document_errors", "json_error_message",
           "pointer", "printable", "show", "text_errors"]

# Listed per document; a document with more gets one more line saying so.
MAX_ERRORS = 20
# Containers nested deeper than this are read as empty (a case nests 3 deep).
MAX_DEPTH = 16


class CaseError(ValueError):
    """One bad input.

    ``file``: where ('cases/x.json', 'lib.jsonl:3'); ``pointer``: RFC 6901
    JSON Pointer of the offending place ('' = the whole document);
    ``message``: what was expected.  ``str(err)`` is exactly one line, with
    control characters and lone surrogates escaped.

    ``errors``: every error found in the same document, this one first (a
    document with several problems raises one CaseError carrying them all).
    """

    def __init__(self, file: str, pointer: str, message: str) -> None:
        super().__init__(file, pointer, message)
        self.file = file
        self.pointer = pointer
        self.message = message
        self.errors: tuple[CaseError, ...] = (self,)

    def __str__(self) -> str:
        return printable(f"{self.file}: {self.pointer or '(whole document)'}: {self.message}")

    def __repr__(self) -> str:
        return f"CaseError({self.file!r}, {self.pointer!r}, {self.message!r})"

    @classmethod
    def of(cls, errors: list[CaseError]) -> CaseError:
        """The first of ``errors``, carrying them all."""
        first = errors[0]
        first.errors = tuple(errors)
        return first


def pointer(parts: list[str | int] | tuple[str | int, ...]) -> str:
    """The RFC 6901 JSON Pointer of a path (jsonpointer does the escaping)."""
    from jsonpointer import JsonPointer
    return JsonPointer.from_parts(list(parts)).path


# --------------------------------------------------------------------------
# Reading the JSON: what json accepts and a case cannot hold is kept as a
# marker, so it is reported where it stands.


class _Object(dict):
    """A JSON object as read, with the keys it held more than once."""

    __slots__ = ("repeated",)


class _Unreadable:
    """A JSON value a case cannot hold: NaN or Infinity (not JSON at all), or a
    ``number`` too large to read (JSON, but no field takes it: the schema says
    so where it stands)."""

    __slots__ = ("what", "number")

    def __init__(self, what: str, number: bool = False) -> None:
        self.what = what
        self.number = number


def _pairs(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object(pairs)
    if len(obj) != len(pairs):
        seen: dict[str, int] = {}
        for key, _ in pairs:
            seen[key] = seen.get(key, 0) + 1
        obj.repeated = [(k, n) for k, n in seen.items() if n > 1]
    else:
        obj.repeated = ()
    return obj


_MAX_INT_DIGITS = 4300  # CPython's default int/str limit; msgspec reads no more


def _int(text: str) -> Any:
    digits = len(text.lstrip("-"))
    if digits > _MAX_INT_DIGITS:
        return _Unreadable(f"a {digits}-digit number (more than the {_MAX_INT_DIGITS} digits "
                           "a number may have)", number=True)
    return int(text)


def _float(text: str) -> Any:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        return _Unreadable(f"the number {_cut(text, 40)} (beyond the range of a number)",
                           number=True)
    return value


def _constant(text: str) -> Any:
    return _Unreadable(f"{text} (not a JSON number)")


_decoder = json.JSONDecoder(object_pairs_hook=_pairs, parse_int=_int, parse_float=_float,
                            parse_constant=_constant)


def _line_column(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"line {line} column {column}"


def _json_message(exc: json.JSONDecodeError, text: str) -> str:
    """What json found wrong, without the place (given apart)."""
    what = exc.msg[:1].lower() + exc.msg[1:].removesuffix(" at")
    if exc.msg.startswith("Expecting") and not text[exc.pos:].strip():
        what = "unexpected end of input"
    return f"invalid JSON: {what}"


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def _shallow(text: str) -> tuple[str, list[tuple[int, int]]]:
    """``text`` with every container below :data:`MAX_DEPTH` emptied (``[]``,
    ``{}``), and the cuts made (position in the result, characters removed).
    An unclosed container runs to the end of the text."""
    out: list[str] = []
    cuts: list[tuple[int, int]] = []
    depth = 0
    kept = 0           # text[:kept] is copied to out, or cut
    length = 0         # len("".join(out))
    cut_at = None      # where the container being cut began
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth == MAX_DEPTH + 1 and cut_at is None:
                out.append(text[kept:match.end()])
                length += match.end() - kept
                kept = cut_at = match.end()
        elif token in "]}":
            if depth == MAX_DEPTH + 1 and cut_at is not None:
                cuts.append((length, match.start() - cut_at))
                kept = match.start()
                cut_at = None
            depth -= 1
    if cut_at is not None:  # never closed: the text ends inside it
        cuts.append((length, len(text) - cut_at))
        return "".join(out), cuts
    out.append(text[kept:])
    return "".join(out), cuts


def _original_position(position: int, cuts: list[tuple[int, int]]) -> int:
    return position + sum(removed for at, removed in cuts if at <= position)


def text_errors(data: bytes | str, source: str) -> list[CaseError]:
    """Every error of one document given as text (see the module's docstring)."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            good = data[:exc.start].decode("utf-8", "replace")
            return [CaseError(source, "", f"invalid JSON: not UTF-8 (byte 0x{data[exc.start]:02x}) "
                                          f"at {_line_column(good, len(good))}")]
    else:
        text = data
    if text[:1] == "\ufeff":
        text = text[1:]
    if not text.strip():
        return [CaseError(source, "", "empty file: expected a JSON object")]
    try:
        doc = _decoder.decode(text)
    except json.JSONDecodeError as exc:
        return [CaseError(source, "", f"{_json_message(exc, text)} at "
                                      f"{_line_column(text, exc.pos)}")]
    except RecursionError:  # nested too deep for json: read it down to MAX_DEPTH
        shallow, cuts = _shallow(text)
        try:
            doc = _decoder.decode(shallow)
        except json.JSONDecodeError as exc:
            where = _original_position(exc.pos, cuts)
            return [CaseError(source, "", f"{_json_message(exc, shallow)} at "
                                          f"{_line_column(text, where)}")]
    return document_errors(doc, source)


def json_error_message(data: bytes | str) -> str:
    """What is wrong with text that does not parse as JSON, in the words of the
    other messages ('invalid JSON: ... at line L column C')."""
    errors = text_errors(data, "")
    return errors[0].message if errors else "invalid JSON"


# --------------------------------------------------------------------------
# The document


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, _Unreadable):
        return value.what
    return type(value).__name__


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


def show(value: Any) -> str:
    """A JSON value, short and on one line, for 'got ...'."""
    if isinstance(value, str):
        return repr(_cut(value, 60))
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        if isinstance(value, int) and value.bit_length() > 128:
            return f"a {len(str(abs(value)))}-digit number"
        return _cut(repr(value), 40)
    return _kind(value)


def _has_lone_surrogate(text: str) -> str | None:
    for char in text:
        if "\ud800" <= char <= "\udfff":
            return char
    return None


def _reading_errors(doc: Any) -> list[tuple[list, str]]:
    """(path, message) for what json read but a case cannot hold (see 2. above)."""
    found: list[tuple[list, str]] = []
    stack: list[tuple[list, Any]] = [([], doc)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            for key, times in getattr(node, "repeated", ()):
                found.append((path + [key], f"expected each key once in an object, got "
                                            f"{show(key)} {times} times"))
            for key, value in node.items():
                lone = _has_lone_surrogate(key)
                if lone is not None:
                    found.append((path + [key], f"invalid JSON: a key holding a lone surrogate "
                                                f"\\u{ord(lone):04x} (not a Unicode character)"))
                stack.append((path + [key], value))
        elif isinstance(node, list):
            stack.extend((path + [i], value) for i, value in enumerate(node))
        elif isinstance(node, str):
            lone = _has_lone_surrogate(node)
            if lone is not None:
                found.append((path, f"invalid JSON: a string holding a lone surrogate "
                                    f"\\u{ord(lone):04x} (not a Unicode character)"))
        elif isinstance(node, _Unreadable) and not node.number:
            found.append((path, f"invalid JSON: {node.what}"))
    return found


_VALIDATOR = None


def _validator():
    """jsonschema's validator for the case schema, built once."""
    global _VALIDATOR
    if _VALIDATOR is None:
        import jsonschema
        from .cases import case_json_schema
        base = jsonschema.Draft202012Validator
        # As msgspec reads them: 1.0 is not an integer, true is not a number.
        strict = base.TYPE_CHECKER.redefine(
            "integer", lambda _, value: isinstance(value, int) and not isinstance(value, bool))
        validator = jsonschema.validators.extend(base, type_checker=strict)
        _VALIDATOR = validator(case_json_schema(), format_checker=base.FORMAT_CHECKER)
    return _VALIDATOR


def _expected(schema: dict, root: bool = False) -> str:
    """What a (sub)schema asks for, in words."""
    if "enum" in schema:
        return "one of " + ", ".join(repr(v) for v in schema["enum"])
    kind = schema.get("type")
    if kind == "boolean":
        return "true or false"
    if kind == "integer":
        low = schema.get("minimum")
        return "an integer" + (f" >= {low}" if low is not None else "")
    if kind == "string":
        if schema.get("format") == "date":
            return "a date YYYY-MM-DD"
        return "a non-empty string" if schema.get("minLength") else "a string"
    if kind == "array":
        return "an array"
    if kind == "object":
        return "a JSON object" if root else "an object"
    return "a valid value"


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")


def _date(value: Any) -> _dt.date | None:
    if isinstance(value, str) and _DATE.match(value):
        try:
            return _dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _schema_errors(doc: Any) -> list[tuple[list, str]]:
    found: list[tuple[list, str]] = []
    for error in _validator().iter_errors(doc):
        path = list(error.absolute_path)
        value, schema, keyword = error.instance, error.schema, error.validator
        if keyword == "required":
            found.extend((path + [name], "missing required field")
                         for name in error.validator_value if name not in value)
        elif keyword == "additionalProperties":
            known = schema.get("properties", {})
            found.extend((path + [key], "unknown field") for key in value if key not in known)
        elif keyword == "maxItems":
            found.append((path, f"expected at most {error.validator_value} entries, "
                                f"got {len(value)}"))
        elif keyword == "type" and schema.get("type") in ("array", "object"):
            found.append((path, f"expected {_expected(schema, not path)}, got {_kind(value)}"))
        elif keyword == "type" and schema.get("type") == "string" and "format" not in schema:
            found.append((path, f"expected a string, got {show(value)}"))
        else:
            message = f"expected {_expected(schema)}, got {show(value)}"
            if schema.get("format") == "date" and isinstance(value, str) \
                    and _DATE.match(value) and _date(value) is None:
                message += " (no such calendar day)"
            found.append((path, message))
    return found


def _cross_field_errors(doc: Any) -> list[tuple[list, str]]:
    """No study dated after the request (SPEC section 1)."""
    request = doc.get("request") if isinstance(doc, dict) else None
    imaging = doc.get("imaging") if isinstance(doc, dict) else None
    asked = _date(request.get("date")) if isinstance(request, dict) else None
    if asked is None or not isinstance(imaging, list):
        return []
    found = []
    for i, study in enumerate(imaging):
        done = _date(study.get("date")) if isinstance(study, dict) else None
        if done is not None and done > asked:
            found.append((["imaging", i, "date"],
                          f"expected a date on or before the request date {asked.isoformat()}, "
                          f"got {done.isoformat()}"))
    return found


def _document_order(doc: Any, path: list) -> tuple:
    """Where ``path`` stands in the document as given (a missing field: after
    the fields of its object)."""
    key: list[int] = []
    node = doc
    for part in path:
        if isinstance(node, dict):
            keys = list(node)
            key.append(keys.index(part) if part in node else len(keys))
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            key.append(part)
            node = node[part]
        else:
            key.append(1 << 30)
            node = None
    return tuple(key)


def document_errors(doc: Any, source: str, *, python: bool = False) -> list[CaseError]:
    """Every error of one document as read by :mod:`json`, in document order, one
    per place, at most :data:`MAX_ERRORS` and a line saying how many more.

    ``python``: ``doc`` is Python data rather than what json read, and may hold
    ``datetime.date`` where JSON holds the date's text.
    """
    if python:
        doc = _dates_as_text(doc)
    found = _reading_errors(doc)
    if not isinstance(doc, dict):
        found.append(([], f"expected a JSON object, got {_kind(doc)}"))
    else:
        found += _schema_errors(doc)
        found += _cross_field_errors(doc)
    placed: dict[tuple, tuple[tuple, list, str]] = {}
    for path, message in found:  # one error per place: what reading found wins
        placed.setdefault(tuple(path), (_document_order(doc, path), path, message))
    ordered = sorted(placed.values(), key=lambda item: item[0])
    errors = [CaseError(source, pointer(path), message) for _, path, message in ordered]
    if len(errors) > MAX_ERRORS:
        more = len(errors) - MAX_ERRORS
        errors = errors[:MAX_ERRORS] + [CaseError(
            source, "", f"{more} more error{'s' if more > 1 else ''} not listed "
                        f"(at most {MAX_ERRORS} are listed per case)")]
    return errors


def _dates_as_text(node: Any) -> Any:
    """Python data may hold ``datetime.date`` where JSON holds its text."""
    if isinstance(node, _dt.date) and not isinstance(node, _dt.datetime):
        return node.isoformat()
    if isinstance(node, dict):
        if not any(isinstance(v, (dict, list, _dt.date)) for v in node.values()):
            return node
        out = _Object((k, _dates_as_text(v)) for k, v in node.items())
        out.repeated = getattr(node, "repeated", ())
        return out
    if isinstance(node, list):
        return [_dates_as_text(v) for v in node]
    return node
