"""Loading and validating cases (SPEC.md sections 1 and 6).

A case is one JSON object.  An absent field means *not documented*; it is kept
apart from a documented value everywhere: unset fields are ``None`` on the
models and are never emitted by ``model_dump``/``model_dump_json``.  Explicit
``null`` is not a value of any field and is rejected like any other wrong type.

Every bad input becomes exactly one :class:`CaseError` naming the file, the
RFC 6901 JSON Pointer of the offending place and what was expected.  No
pydantic or json exception escapes :func:`parse_case`, :func:`load_case` or
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

from __future__ import annotations

import copy
import datetime as _dt
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    BeforeValidator,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

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
    "case_json_schema",
    "day_number",
    "iter_cases",
    "load_case",
    "parse_case",
]

# --------------------------------------------------------------------------
# Fixed vocabularies (SPEC section 1 and 2)

CRITERIA: tuple[str, ...] = (
    "applies",
    "conventional_inconclusive",
    "any_condition",
    "neoplastic",
    "glioma_grading",
    "tumor_evaluation",
    "vascular",
    "neonatal_hie",
    "congenital",
    "metabolic_disorder",
    "inherited_metabolic_disorder",
    "repeat",
    "repeat_request",
    "repeat_new_symptoms",
    "repeat_clarifying",
    "repeat_monitoring",
    "indicated",
)
NON_INDICATIONS: tuple[str, ...] = (
    "recent_advanced_imaging",
    "aneurysm_clip",
    "incompatible_device",
    "incompatible_implant",
    "metallic_foreign_body",
)
ADVISORIES: tuple[str, ...] = ("claustrophobia", "pregnancy", "renal_contrast")
DETERMINATIONS: tuple[str, ...] = ("approved", "denied", "not_applicable")

BODY_REGIONS: tuple[str, ...] = (
    "brain", "spine", "head_neck", "chest", "abdomen", "pelvis", "extremity", "other",
)
SETTINGS: tuple[str, ...] = ("inpatient", "outpatient")
MODALITIES: tuple[str, ...] = ("MRI", "CT", "MRS", "PET", "XR", "US")
RESULTS: tuple[str, ...] = ("inconclusive", "conclusive")
SYMPTOMS: tuple[str, ...] = ("new", "worsening", "unchanged")
IMPLANT_KINDS: tuple[str, ...] = (
    "pacemaker", "defibrillator", "cardiac_valve", "neurostimulator",
    "cochlear_implant", "aneurysm_clip", "orthopedic", "other",
)
MR_STATUSES: tuple[str, ...] = ("safe", "conditional", "unsafe", "unknown")
FOREIGN_BODY_LOCATIONS: tuple[str, ...] = ("orbit", "critical_area", "field_of_view", "other")

BodyRegion = Literal[
    "brain", "spine", "head_neck", "chest", "abdomen", "pelvis", "extremity", "other"
]
Setting = Literal["inpatient", "outpatient"]
Modality = Literal["MRI", "CT", "MRS", "PET", "XR", "US"]
Result = Literal["inconclusive", "conclusive"]
Symptoms = Literal["new", "worsening", "unchanged"]
ImplantKind = Literal[
    "pacemaker", "defibrillator", "cardiac_valve", "neurostimulator",
    "cochlear_implant", "aneurysm_clip", "orthopedic", "other",
]
MrStatus = Literal["safe", "conditional", "unsafe", "unknown"]
ForeignBodyLocation = Literal["orbit", "critical_area", "field_of_view", "other"]
Determination = Literal["approved", "denied", "not_applicable"]
CriterionId = Literal[CRITERIA]  # type: ignore[valid-type]
NonIndicationId = Literal[NON_INDICATIONS]  # type: ignore[valid-type]
AdvisoryId = Literal[ADVISORIES]  # type: ignore[valid-type]

# Literal aliases and tuples must agree (the tuples are what others iterate).
assert BodyRegion.__args__ == BODY_REGIONS  # type: ignore[attr-defined]
assert Modality.__args__ == MODALITIES  # type: ignore[attr-defined]
assert ImplantKind.__args__ == IMPLANT_KINDS  # type: ignore[attr-defined]
assert ForeignBodyLocation.__args__ == FOREIGN_BODY_LOCATIONS  # type: ignore[attr-defined]
assert Determination.__args__ == DETERMINATIONS  # type: ignore[attr-defined]

# --------------------------------------------------------------------------
# Dates: exactly 'YYYY-MM-DD' and a real calendar day.  Pydantic's own date
# parsing is not exact enough (it takes "86400" as a Unix timestamp), so a
# small before-validator does it (the inner strict date check then passes); it also accepts ``datetime.date`` instances
# for Python-side construction (but not ``datetime.datetime``).

_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_date_fromiso = _dt.date.fromisoformat
_DATE = _dt.date


def _parse_date(value: Any) -> _dt.date:
    if type(value) is str:
        if _DATE_RE.match(value):
            try:
                return _date_fromiso(value)
            except ValueError:
                raise PydanticCustomError(
                    "case_date", "not a calendar date", {"impossible": True}
                ) from None
    elif type(value) is _DATE:
        return value
    raise PydanticCustomError("case_date", "not a date YYYY-MM-DD")


IsoDate = Annotated[
    _dt.date,
    BeforeValidator(_parse_date),
    WithJsonSchema(
        {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
    ),
]
NonNegInt = Annotated[int, Field(ge=0)]
NonEmptyStr = Annotated[str, Field(min_length=1)]

# --------------------------------------------------------------------------
# Models.  Optional fields are typed without ``None`` and default to ``None``:
# absent -> None (not documented), explicit null -> error.


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        use_attribute_docstrings=True,
    )

    # Unset (= not documented) fields are never emitted.
    def model_dump(self, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
        kwargs.setdefault("exclude_unset", True)
        return super().model_dump(**kwargs)

    def model_dump_json(self, **kwargs: Any) -> str:  # type: ignore[override]
        kwargs.setdefault("exclude_unset", True)
        return super().model_dump_json(**kwargs)


class Request(_Model):
    """The requested study."""

    cpt: NonEmptyStr
    """Procedure code; the policy applies to 76390 only."""
    date: IsoDate
    """Date of the requested study, YYYY-MM-DD."""
    body_region: BodyRegion
    """Region of the requested study."""
    setting: Setting = None  # type: ignore[assignment]
    """Level of care."""
    contrast: bool = None  # type: ignore[assignment]
    """The study requires gadolinium contrast."""


class Patient(_Model):
    """The patient at the time of the request."""

    age_years: NonNegInt = None  # type: ignore[assignment]
    """Age in years at request."""
    age_days: NonNegInt = None  # type: ignore[assignment]
    """Age in days at request."""
    pregnant: bool = None  # type: ignore[assignment]
    claustrophobic: bool = None  # type: ignore[assignment]
    renal_insufficiency: bool = None  # type: ignore[assignment]
    gadolinium_contraindicated: bool = None  # type: ignore[assignment]


class Study(_Model):
    """A prior imaging study (an entry of imaging[])."""

    modality: Modality
    body_region: BodyRegion
    date: IsoDate
    """Date of the study; not after request.date."""
    result: Result = None  # type: ignore[assignment]
    """Absent = not documented."""


class Findings(_Model):
    """Clinical findings and the question asked (SPEC section 1)."""

    glioma: bool = None  # type: ignore[assignment]
    """Known or suspected primary glial neoplasm."""
    brain_tumor: bool = None  # type: ignore[assignment]
    """Known or suspected brain tumor of any kind."""
    brain_mass: bool = None  # type: ignore[assignment]
    """Mass or mass-like lesion of the brain."""
    glioma_grading: bool = None  # type: ignore[assignment]
    """The question is grading a glial neoplasm."""
    brain_tumor_evaluation: bool = None  # type: ignore[assignment]
    """The question is evaluation of a brain tumor."""
    recurrence_vs_radiation_necrosis: bool = None  # type: ignore[assignment]
    """The question is tumor recurrence vs radiation necrosis."""
    neonatal_hie: bool = None  # type: ignore[assignment]
    """Known or suspected neonatal hypoxic ischemic encephalopathy."""
    mitochondrial_disease: bool = None  # type: ignore[assignment]
    inborn_error_of_metabolism: bool = None  # type: ignore[assignment]
    canavan_disease: bool = None  # type: ignore[assignment]
    mitochondrial_encephalopathy: bool = None  # type: ignore[assignment]
    leukodystrophy: bool = None  # type: ignore[assignment]
    symptoms: Symptoms = None  # type: ignore[assignment]
    """Change of symptoms since the last study of the region."""
    treatment_since_last_imaging: bool = None  # type: ignore[assignment]
    repeat_influences_treatment: bool = None  # type: ignore[assignment]
    prior_indeterminate_finding: bool = None  # type: ignore[assignment]
    clarifying_follow_up_done: bool = None  # type: ignore[assignment]
    monitoring_need_established: bool = None  # type: ignore[assignment]


class Implant(_Model):
    """An implant (an entry of implants[])."""

    kind: ImplantKind
    metallic: bool = None  # type: ignore[assignment]
    """Absent = not documented."""
    mr_status: MrStatus = None  # type: ignore[assignment]
    """Absent or 'unknown' = not documented."""


class ForeignBody(_Model):
    """A foreign body (an entry of foreign_bodies[])."""

    location: ForeignBodyLocation
    metallic: bool = None  # type: ignore[assignment]
    obscures_area_of_concern: bool = None  # type: ignore[assignment]


class Expected(_Model):
    """Case-library only: the expected answer."""

    determination: Determination
    criteria: list[CriterionId] = None  # type: ignore[assignment]
    non_indications: list[NonIndicationId] = None  # type: ignore[assignment]
    advisories: list[AdvisoryId] = None  # type: ignore[assignment]


class Case(_Model):
    """One MR spectroscopy prior-authorization case (SPEC.md section 1).

    An absent field means not documented; false means documented as false.
    """

    id: NonEmptyStr
    """Unique within a case library."""
    title: str = None  # type: ignore[assignment]
    """Free text, never reasoned on."""
    request: Request
    patient: Patient = None  # type: ignore[assignment]
    imaging: list[Study] = None  # type: ignore[assignment]
    findings: Findings = None  # type: ignore[assignment]
    implants: list[Implant] = None  # type: ignore[assignment]
    foreign_bodies: list[ForeignBody] = None  # type: ignore[assignment]
    expected: Expected = None  # type: ignore[assignment]

    @model_validator(mode="after")
    def _studies_not_after_request(self) -> Case:
        imaging = self.imaging
        if imaging:
            rdate = self.request.date
            for i, study in enumerate(imaging):
                if study.date > rdate:
                    raise PydanticCustomError(
                        "case_study_after_request",
                        "imaging date after the request date",
                        {"index": i, "request_date": rdate.isoformat(),
                         "date": study.date.isoformat()},
                    )
        return self


# --------------------------------------------------------------------------
# Errors


class CaseError(Exception):
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


def _one_of(expected: str) -> str:
    # pydantic spells it "'a', 'b' or 'c'"; none of our values contains " or ".
    return expected.replace(" or ", ", ")


def _describe(err: dict[str, Any]) -> tuple[tuple[Any, ...], str]:
    """(pointer parts, message) for one pydantic error."""
    etype = err["type"]
    loc = tuple(err["loc"])
    value = err.get("input")
    ctx = err.get("ctx") or {}
    got = _show(value)
    if etype == "extra_forbidden":
        return loc, "unknown field"
    if etype == "missing":
        return loc, "missing required field"
    if etype == "literal_error":
        return loc, f"expected one of {_one_of(ctx.get('expected', ''))}, got {got}"
    if etype == "case_date":
        msg = f"expected a date YYYY-MM-DD, got {got}"
        if ctx.get("impossible"):
            msg += " (no such calendar day)"
        return loc, msg
    if etype == "case_study_after_request":
        return ("imaging", ctx["index"], "date"), (
            "expected a date on or before the request date "
            f"{ctx['request_date']}, got {ctx['date']}"
        )
    if etype in ("int_type", "int_parsing", "int_from_float", "greater_than_equal"):
        return loc, f"expected an integer >= 0, got {got}"
    if etype in ("bool_type", "bool_parsing"):
        return loc, f"expected true or false, got {got}"
    if etype in ("string_type", "string_sub_type"):
        return loc, f"expected a string, got {got}"
    if etype == "string_too_short":
        return loc, f"expected a non-empty string, got {got}"
    if etype in ("list_type", "tuple_type"):
        return loc, f"expected an array, got {_kind(value)}"
    if etype in ("model_type", "model_attributes_type", "dict_type", "dataclass_type"):
        if not loc:
            return loc, f"expected a JSON object, got {_kind(value)}"
        return loc, f"expected an object, got {_kind(value)}"
    if etype == "json_invalid":
        return (), f"invalid JSON: {ctx.get('error', err.get('msg', ''))}"
    msg = str(err.get("msg", etype))
    if msg.startswith("Input should be "):
        msg = "expected " + msg[len("Input should be "):]
    return loc, f"{msg}, got {got}"


def _doc_order_key(doc: Any, parts: tuple[Any, ...]) -> tuple[int, ...]:
    """Position of a pointer in document order (absent keys sort last)."""
    key = []
    node = doc
    for part in parts:
        if isinstance(node, dict):
            keys = list(node)
            if part in node:
                key.append(keys.index(part))
                node = node[part]
            else:
                key.append(len(keys))
                node = None
        elif isinstance(node, list) and isinstance(part, int):
            key.append(part)
            node = node[part] if 0 <= part < len(node) else None
        else:
            key.append(0)
            node = None
    return tuple(key)


def _to_case_error(
    exc: ValidationError, data: bytes | str, source: str
) -> CaseError:
    errors = exc.errors(include_url=False)
    if errors and errors[0]["type"] == "json_invalid":
        if not data.strip():
            return CaseError(source, "", "empty file: expected a JSON object")
        return CaseError(source, "", _describe(errors[0])[1])
    described = [_describe(e) for e in errors]
    if len(described) > 1:
        try:
            doc = json.loads(data)
        except (ValueError, RecursionError):
            doc = None
        described.sort(key=lambda d: _doc_order_key(doc, d[0]))
    if not described:  # pragma: no cover - pydantic always reports one
        return CaseError(source, "", "invalid case")
    parts, message = described[0]
    return CaseError(source, _pointer(parts), message)


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
                raw = self.case.model_dump(mode="json", exclude_unset=True)
            self._raw = raw
        return raw

    @property
    def id(self) -> str:
        return self.case.id


_validate_json = Case.model_validate_json
_BOM = b"\xef\xbb\xbf"


def parse_case(data: bytes | str, source: str) -> LoadedCase:
    """Validate one JSON document as a case; raises :class:`CaseError`."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        data = bytes(data)
        if data[:3] == _BOM:
            data = data[3:]
    elif data[:1] == "\ufeff":
        data = data[1:]
    try:
        case = _validate_json(data)
    except ValidationError as exc:
        raise _to_case_error(exc, data, source) from None
    except (ValueError, TypeError, RecursionError) as exc:  # defensive
        raise CaseError(source, "", f"invalid JSON: {exc}") from None
    return LoadedCase(source, case, data)


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
        try:
            yield parse_case(line, f"{source}:{lineno}")
        except CaseError as err:
            yield err
    if not found:
        yield CaseError(source, "", "empty file: expected one JSON object per line")


def _iter_path(path: str | os.PathLike[str]) -> Iterator[LoadedCase | CaseError]:
    source = os.fspath(path)
    p = Path(path)
    if p.is_dir():
        try:
            members = sorted(
                (m for m in p.iterdir()
                 if m.suffix == ".json" and not m.name.startswith(".") and m.is_file()),
                key=lambda m: m.name,
            )
        except OSError as exc:
            yield CaseError(source, "", f"cannot read directory: {exc.strerror or exc}")
            return
        for member in members:
            yield from _iter_path(member)
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
    try:
        yield parse_case(data, source)
    except CaseError as err:
        yield err


def iter_cases(
    paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str],
) -> Iterator[LoadedCase | CaseError]:
    """Yield every case (or the error in its place) from files, in input order.

    A ``.jsonl`` file holds one case per non-blank line (source 'file:lineno');
    a directory means its ``*.json`` files (sorted by name, not recursive,
    hidden files skipped); any other file is one JSON case.  A bad path or a
    bad case yields a :class:`CaseError` and iteration goes on.  A case whose
    ``id`` was already seen in this call yields a CaseError at ``/id``.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    seen: dict[str, str] = {}
    for path in paths:
        for item in _iter_path(path):
            if type(item) is LoadedCase:
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
        schema = Case.model_json_schema()
        _strip_null_defaults(schema)
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            **schema,
            "title": "mrs-asp case",
            "description": (
                "One MR spectroscopy (CPT 76390) prior-authorization case "
                "(SPEC.md section 1). An absent field means not documented; "
                "false means documented as false. Also required: every "
                "imaging[].date is on or before request.date, and ids are "
                "unique within a case library."
            ),
        }
        _SCHEMA = schema
    return copy.deepcopy(_SCHEMA)


def day_number(d: _dt.date) -> int:
    """Whole-day number of a date (proleptic Gregorian ordinal)."""
    return d.toordinal()
