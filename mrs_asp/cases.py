"""Loading and validating cases (SPEC.md sections 1 and 6).

A case is one JSON object.  An absent field means *not documented*; it is kept
apart from a documented value everywhere: unset fields are ``None`` on the
models and are never emitted by :func:`case_data` or :func:`case_json`.
Explicit ``null`` is not a value of any field and is rejected like any other
wrong type.

Cases are decoded and validated by msgspec (structs below); its error
messages are turned into ours.

Every bad input becomes exactly one :class:`CaseError` naming the file, the
RFC 6901 JSON Pointer of the offending place and what was expected.  No
msgspec or json exception escapes :func:`parse_case`, :func:`load_case` or
:func:`iter_cases`.

Pointer conventions:

* invalid JSON, an empty file, a non-object document, an unreadable or
  missing file: pointer ``''`` (the whole document, shown as
  "(whole document)");
* an unknown field: the pointer of that field (``/findings/colour``);
* a missing required field: the pointer of the field itself
  (``/request/cpt: missing required field``);
* a study dated after the request: ``/imaging/<i>/date``;
* a duplicate id: ``/id`` of the later case.
"""

import copy
import datetime as _dt
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, get_origin

import msgspec
from msgspec import Meta, Struct

from . import vocabulary

__all__ = [
    "ADVISORIES",
    "BODY_REGIONS",
    "CRITERIA",
    "DETERMINATIONS",
    "FOREIGN_BODY_LOCATIONS",
    "IMPLANT_KINDS",
    "MODALITIES",
    "MR_STATUSES",
    "NON_INDICATIONS",
    "RESULTS",
    "SETTINGS",
    "SYMPTOMS",
    "Case",
    "CaseError",
    "Expected",
    "Findings",
    "ForeignBody",
    "Implant",
    "LoadedCase",
    "Patient",
    "Request",
    "Study",
    "case_data",
    "case_from_data",
    "case_json",
    "case_json_schema",
    "day_number",
    "field_description",
    "iter_cases",
    "load_case",
    "parse_case",
]

# --------------------------------------------------------------------------
# Fixed vocabularies (SPEC section 1 and 2), from the one declaration
# (mrs_asp/vocabulary.py).

CRITERIA = vocabulary.CRITERIA
NON_INDICATIONS = vocabulary.NON_INDICATIONS
ADVISORIES = vocabulary.ADVISORIES
DETERMINATIONS = vocabulary.DETERMINATIONS
BODY_REGIONS: tuple[str, ...] = vocabulary.field("request.body_region").values
SETTINGS: tuple[str, ...] = vocabulary.field("request.setting").values
MODALITIES: tuple[str, ...] = vocabulary.field("imaging.modality").values
RESULTS: tuple[str, ...] = vocabulary.field("imaging.result").values
SYMPTOMS: tuple[str, ...] = vocabulary.field("findings.symptoms").values
IMPLANT_KINDS: tuple[str, ...] = vocabulary.field("implants.kind").values
MR_STATUSES: tuple[str, ...] = vocabulary.field("implants.mr_status").values
FOREIGN_BODY_LOCATIONS: tuple[str, ...] = vocabulary.field("foreign_bodies.location").values

# --------------------------------------------------------------------------
# Models, derived from the declaration.  msgspec decodes and validates a case
# in one pass (a few microseconds; a case library of thousands is read in
# milliseconds).  Optional fields are typed without ``None`` and default to
# ``None``: absent -> None (not documented), explicit null -> error, so
# ``None`` always means "absent" and encoding omits it.  Every struct forbids
# unknown fields.


class _Model(Struct, forbid_unknown_fields=True, omit_defaults=True):
    pass


_TYPES: dict[str, Any] = {"string": str, "date": _dt.date, "integer": int, "boolean": bool}


def _field_type(f: vocabulary.Field) -> Any:
    """A field's type with its description and constraints (they show in `mrs-asp schema`)."""
    if f.type == "enum":
        kind: Any = Literal[f.values]  # type: ignore[valid-type]
    elif f.type == "enum_list":
        kind = list[Literal[f.values]]  # type: ignore[valid-type]
    else:
        kind = _TYPES[f.type]
    constraints = {name: value for name, value in
                   (("ge", f.minimum), ("min_length", f.min_length)) if value is not None}
    return Annotated[kind, Meta(description=f.description, **constraints)]


def _struct(name: str, doc: str, members: list[tuple[str, Any, bool]]) -> type[Struct]:
    spec = [(member, kind) if required else (member, kind, None)
            for member, kind, required in members]
    return msgspec.defstruct(name, spec, bases=(_Model,), kw_only=True, module=__name__,
                             namespace={"__doc__": doc})


_MODELS: dict[str, type[Struct]] = {
    g.name: _struct(g.model, g.description,
                    [(f.name, _field_type(f), f.required) for f in g.fields])
    for g in vocabulary.GROUPS.values()
}


def _member(m: vocabulary.Field | vocabulary.Group) -> tuple[str, Any, bool]:
    if isinstance(m, vocabulary.Group):
        model = _MODELS[m.name]
        return m.name, (list[model] if m.repeats else model), m.required
    return m.name, _field_type(m), m.required


Request = _MODELS["request"]
Patient = _MODELS["patient"]
Study = _MODELS["imaging"]
Findings = _MODELS["findings"]
Implant = _MODELS["implants"]
ForeignBody = _MODELS["foreign_bodies"]
Expected = _MODELS["expected"]
Case = _struct("Case", "One MR spectroscopy prior-authorization case (SPEC.md section 1).\n\n"
               "An absent field means not documented; false means documented as false.",
               [_member(m) for m in vocabulary.CASE_MEMBERS])


def field_description(model: type[Struct], name: str) -> str:
    """The description of a field of a model ('' if none or no such field)."""
    for info in msgspec.structs.fields(model):
        if info.name == name:
            for meta in getattr(info.type, "__metadata__", ()):
                if isinstance(meta, Meta) and meta.description:
                    return meta.description
    return ""


def _study_after_request(case: Case) -> tuple[int, Study] | None:
    """The first study dated after the request (SPEC section 1), if any."""
    for i, study in enumerate(case.imaging or ()):
        if study.date > case.request.date:
            return i, study
    return None


# --------------------------------------------------------------------------
# Errors


class CaseError(ValueError):
    """One bad input.

    ``file``: where ('cases/x.json', 'lib.jsonl:3'); ``pointer``: RFC 6901
    JSON Pointer of the offending place ('' = the whole document);
    ``message``: what was expected.  ``str(err)`` is exactly one line.
    """

    def __init__(self, file: str, pointer: str, message: str) -> None:
        super().__init__(file, pointer, message)
        self.file = file
        self.pointer = pointer
        self.message = message

    def __str__(self) -> str:
        return _one_line(f"{self.file}: {self.pointer or '(whole document)'}: {self.message}")

    def __repr__(self) -> str:
        return f"CaseError({self.file!r}, {self.pointer!r}, {self.message!r})"


def _one_line(text: str) -> str:
    if "\n" in text or "\r" in text:
        text = text.replace("\r", "\\r").replace("\n", "\\n")
    return text


def _escape(part: object) -> str:
    return str(part).replace("~", "~0").replace("/", "~1")


def _pointer(parts: Iterable[object]) -> str:
    return "".join("/" + _escape(p) for p in parts)


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return "a number"
    return type(value).__name__


def _show(value: Any) -> str:
    """A JSON value, short and on one line, for 'got ...'."""
    if isinstance(value, str):
        if len(value) > 60:
            value = value[:57] + "..."
        return repr(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        text = repr(value)
        return text if len(text) <= 40 else text[:37] + "..."
    return _kind(value)


# msgspec says what is wrong in a few fixed forms, each ending in the place:
# "Expected `int` >= 0, got ... - at `$.patient.age_years`".
_AT = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_PATH_PART = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")
_FIELD = re.compile(r"^Object (contains unknown|missing required) field `(?P<name>.*)`$", re.DOTALL)
_BYTE = re.compile(r"^JSON is malformed: (?P<why>.*?)(?: \(byte (?P<byte>\d+)\))?$", re.DOTALL)
_ABSENT = object()


def _path_parts(path: str) -> list[str | int]:
    return [name if name else int(index) for name, index in _PATH_PART.findall(path)]


def _value_at(doc: Any, parts: list[str | int]) -> Any:
    node = doc
    for part in parts:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return _ABSENT
    return node


def _unannotated(kind: Any) -> Any:
    """``Annotated[T, Meta(...)]`` -> ``T``."""
    while getattr(kind, "__metadata__", None) is not None:
        kind = kind.__origin__
    return kind


def _type_at(parts: list[str | int]) -> Any:
    """The declared type of the field at ``parts`` (Annotated and list[] peeled)."""
    kind: Any = Case
    for part in parts:
        kind = _unannotated(kind)
        if isinstance(part, int):
            kind = getattr(kind, "__args__", (None,))[0]
        elif isinstance(kind, type) and issubclass(kind, Struct):
            kind = {f.name: f.type for f in msgspec.structs.fields(kind)}.get(part)
        else:
            kind = None
    return _unannotated(kind)


def _line_column(data: bytes, offset: int) -> str:
    before = data[:offset]
    line = before.count(b"\n") + 1
    column = offset - (before.rfind(b"\n") + 1) + 1
    return f"line {line} column {column}"


def _decode_error(exc: msgspec.DecodeError, data: bytes) -> str:
    """'invalid JSON: ...' with the line and column where msgspec gave the byte."""
    text = str(exc)
    if text == "Input data was truncated":
        return f"invalid JSON: unexpected end of input at {_line_column(data, len(data))}"
    match = _BYTE.match(text)
    if match and match["byte"] is not None:
        return f"invalid JSON: {match['why']} at {_line_column(data, int(match['byte']))}"
    if match:
        return f"invalid JSON: {match['why']}"
    return f"invalid JSON: {text[:1].lower() + text[1:]}"


def _validation_error(exc: msgspec.ValidationError, doc: Any) -> tuple[list[str | int], str]:
    """(pointer parts, what was expected) for one msgspec validation error."""
    match = _AT.match(str(exc))
    what = match["what"] if match else str(exc)
    parts = _path_parts(match["path"] or "") if match else []
    field_match = _FIELD.match(what)
    if field_match:
        parts = parts + [field_match["name"]]
        if what.startswith("Object contains unknown"):
            return parts, "unknown field"
        return parts, "missing required field"
    value = _value_at(doc, parts)
    got = _show(value) if value is not _ABSENT else "something else"
    kind = _type_at(parts)
    if get_origin(kind) is Literal:
        allowed = ", ".join(repr(v) for v in kind.__args__)
        return parts, f"expected one of {allowed}, got {got}"
    if what.startswith("Invalid RFC3339 encoded date") or kind is _dt.date:
        message = f"expected a date YYYY-MM-DD, got {got}"
        if isinstance(value, str) and _DATE_RE.match(value):
            message += " (no such calendar day)"
        return parts, message
    if kind is int:
        return parts, f"expected an integer >= 0, got {got}"
    if kind is bool:
        return parts, f"expected true or false, got {got}"
    if kind is str:
        if isinstance(value, str):
            return parts, f"expected a non-empty string, got {got}"
        return parts, f"expected a string, got {got}"
    if get_origin(kind) is list:
        return parts, f"expected an array, got {_kind(value)}"
    if isinstance(kind, type) and issubclass(kind, Struct):
        if not parts:
            return parts, f"expected a JSON object, got {_kind(value)}"
        return parts, f"expected an object, got {_kind(value)}"
    return parts, f"{what[:1].lower() + what[1:]}, got {got}"


def _to_case_error(exc: msgspec.MsgspecError, data: bytes, source: str) -> CaseError:
    if isinstance(exc, msgspec.DecodeError) and not isinstance(exc, msgspec.ValidationError):
        if not data.strip():
            return CaseError(source, "", "empty file: expected a JSON object")
        return CaseError(source, "", _decode_error(exc, data))
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        doc = None
    parts, message = _validation_error(exc, doc)
    return CaseError(source, _pointer(parts), message)


def _after_request_error(case: Case, source: str) -> CaseError | None:
    late = _study_after_request(case)
    if late is None:
        return None
    index, study = late
    return CaseError(source, f"/imaging/{index}/date",
                     "expected a date on or before the request date "
                     f"{case.request.date.isoformat()}, got {study.date.isoformat()}")


# --------------------------------------------------------------------------
# Loading


@dataclass(eq=False)
class LoadedCase:
    """A valid case and where it came from.

    ``raw`` is the case as given, as plain JSON data (parsed lazily from the
    original text and cached).  It is shared: copy it before mutating it.
    """

    source: str
    case: Case
    text: bytes | str | None = field(default=None, repr=False)
    _raw: dict[str, Any] | None = field(default=None, init=False, repr=False)

    @property
    def raw(self) -> dict[str, Any]:
        raw = self._raw
        if raw is None:
            if self.text is not None:
                raw = json.loads(self.text)
            else:
                raw = case_data(self.case)
            self._raw = raw
        return raw

    @property
    def id(self) -> str:
        return self.case.id


_decode = msgspec.json.Decoder(Case).decode
_BOM = b"\xef\xbb\xbf"
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")


def parse_case(data: bytes | str, source: str) -> LoadedCase:
    """Validate one JSON document as a case; raises :class:`CaseError`."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    elif not isinstance(data, bytes):
        data = bytes(data)
    if data[:3] == _BOM:
        data = data[3:]
    try:
        case = _decode(data)
    except msgspec.MsgspecError as exc:
        raise _to_case_error(exc, data, source) from None
    except (ValueError, TypeError, RecursionError) as exc:  # defensive
        raise CaseError(source, "", f"invalid JSON: {exc}") from None
    if case.imaging:
        late = _after_request_error(case, source)
        if late is not None:
            raise late
    return LoadedCase(source, case, data)


def case_from_data(data: Any, source: str = "(data)") -> Case:
    """Validate plain data (a dict as ``json.loads`` gives it; dates may also be
    ``datetime.date``) as a case; raises :class:`CaseError`."""
    try:
        case = msgspec.convert(data, Case)
    except msgspec.ValidationError as exc:
        parts, message = _validation_error(exc, data)
        raise CaseError(source, _pointer(parts), message) from None
    late = _after_request_error(case, source)
    if late is not None:
        raise late
    return case


def case_data(case: Case) -> dict[str, Any]:
    """A case as plain JSON data: the documented fields only."""
    return msgspec.to_builtins(case)


def case_json(case: Case) -> bytes:
    """A case as JSON text: the documented fields only."""
    return msgspec.json.encode(case)


def _read(path: Path, source: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise CaseError(source, "", "no such file or directory") from None
    except IsADirectoryError:
        raise CaseError(source, "", "expected a file, got a directory") from None
    except OSError as exc:
        raise CaseError(source, "", f"cannot read file: {exc.strerror or exc}") from None


def load_case(path: str | os.PathLike[str]) -> LoadedCase:
    """Load one .json file holding one case; raises :class:`CaseError`."""
    source = os.fspath(path)
    data = _read(Path(path), source)
    if not data.strip():
        raise CaseError(source, "", "empty file: expected a JSON object")
    return parse_case(data, source)


def _iter_jsonl(data: bytes, source: str) -> Iterator[LoadedCase | CaseError]:
    if data[:3] == _BOM:
        data = data[3:]
    found = False
    for lineno, line in enumerate(data.split(b"\n"), 1):
        if not line or line.isspace():
            continue
        found = True
        fhir = _fhir(line, f"{source}:{lineno}")
        if fhir is not None:
            yield from fhir
            continue
        try:
            yield parse_case(line, f"{source}:{lineno}")
        except CaseError as err:
            yield err
    if not found:
        yield CaseError(source, "", "empty file: expected one JSON object per line")


def _iter_path(path: str | os.PathLike[str], recursive: bool = False
               ) -> Iterator[LoadedCase | CaseError]:
    source = os.fspath(path)
    p = Path(path)
    if p.is_dir():
        try:
            # X.expected.json holds the expected answers of the FHIR input X.json;
            # with ``recursive``, sub-directories (cases/fhir/) follow the files.
            members = sorted(
                (m for m in p.iterdir()
                 if not m.name.startswith(".") and ((recursive and m.is_dir()) or (
                     m.suffix == ".json" and not m.name.endswith(_EXPECTED)
                     and m.is_file()))),
                key=lambda m: (m.is_dir(), m.name),
            )
        except OSError as exc:
            yield CaseError(source, "", f"cannot read directory: {exc.strerror or exc}")
            return
        for member in members:
            yield from _iter_path(member, recursive)
        return
    try:
        data = _read(p, source)
    except CaseError as err:
        yield err
        return
    if p.suffix == ".jsonl":
        yield from _iter_jsonl(data, source)
        return
    if not data.strip():
        yield CaseError(source, "", "empty file: expected a JSON object")
        return
    fhir = _fhir(data, source, p)
    if fhir is not None:
        yield from fhir
        return
    try:
        yield parse_case(data, source)
    except CaseError as err:
        yield err


# A FHIR input (FHIR.md F2: a PAS request Bundle, a CDS Hooks request) holds one
# of these keys, which no case has; only then is mrs_asp.fhir imported.
_FHIR_MARKS = (b'"resourceType"', b'"hookInstance"')
_EXPECTED = ".expected.json"


def _fhir(data: bytes, source: str, path: Path | None = None
          ) -> list[LoadedCase | CaseError] | None:
    """The cases of a FHIR input (or its error), or None if ``data`` is no FHIR input."""
    if not any(mark in data for mark in _FHIR_MARKS):
        return None
    from .fhir.read import read_bytes
    expected = None
    if path is not None:
        sidecar = path.with_name(path.name[:-len(path.suffix)] + _EXPECTED) \
            if path.suffix else None
        if sidecar is not None and sidecar.is_file():
            try:
                expected = msgspec.json.decode(sidecar.read_bytes(),
                                               type=dict[str, Expected])
            except (OSError, msgspec.MsgspecError) as exc:
                return [CaseError(os.fspath(sidecar), "", f"expected an object of case id -> "
                                  f"expected answer: {exc}")]
    try:
        return read_bytes(data, source, expected)
    except CaseError as err:
        return [err]


def iter_cases(
    paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str],
    recursive: bool = False,
) -> Iterator[LoadedCase | CaseError]:
    """Yield every case (or the error in its place) from files, in input order.

    A ``.jsonl`` file holds one case per non-blank line (source 'file:lineno');
    a directory means its ``*.json`` files (sorted by name, hidden files and
    ``*.expected.json`` skipped; with ``recursive``, then its sub-directories,
    as a case library is read); any other file is one JSON case, or, if it is
    a FHIR input (FHIR.md F2), the cases derived from it.  A bad path or a
    bad case yields a :class:`CaseError` and iteration goes on.  A case whose
    ``id`` was already seen in this call yields a CaseError at ``/id``.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    seen: dict[str, str] = {}
    for path in paths:
        for item in _iter_path(path, recursive):
            if isinstance(item, LoadedCase):
                cid = item.case.id
                first = seen.get(cid)
                if first is not None:
                    yield CaseError(
                        item.source, "/id",
                        f"expected a unique id, got {_show(cid)}, already the id of {first}",
                    )
                    continue
                seen[cid] = item.source
            yield item


# --------------------------------------------------------------------------
# Misc


def _strip_null_defaults(node: Any) -> None:
    if isinstance(node, dict):
        if "default" in node and node["default"] is None:
            del node["default"]
        for value in node.values():
            _strip_null_defaults(value)
    elif isinstance(node, list):
        for value in node:
            _strip_null_defaults(value)


_SCHEMA: dict[str, Any] | None = None


def case_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of one case.

    The cross-field rule (no imaging date after request.date) and the
    uniqueness of ids in a library are not expressible here; they are checked
    by :func:`parse_case` and :func:`iter_cases`.
    """
    global _SCHEMA
    if _SCHEMA is None:
        generated = msgspec.json.schema(Case)
        defs = generated["$defs"]
        root = defs.pop("Case")
        _strip_null_defaults(root)
        _strip_null_defaults(defs)
        for definition in [root, *defs.values()]:  # dates are exactly YYYY-MM-DD
            for prop in definition.get("properties", {}).values():
                if prop.get("format") == "date":
                    prop["pattern"] = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
        _SCHEMA = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            **root,
            "title": "mrs-asp case",
            "description": (
                "One MR spectroscopy (CPT 76390) prior-authorization case "
                "(SPEC.md section 1). An absent field means not documented; "
                "false means documented as false. Also required: every "
                "imaging[].date is on or before request.date, and ids are "
                "unique within a case library."
            ),
            "$defs": defs,
        }
    return copy.deepcopy(_SCHEMA)


def day_number(d: _dt.date) -> int:
    """Whole-day number of a date (proleptic Gregorian ordinal)."""
    return d.toordinal()
