"""The case model (SPEC.md section 1): vocabularies, msgspec structs, JSON Schema.

A case is one JSON object.  An absent field means *not documented*; it is kept
apart from a documented value everywhere: unset fields are ``None`` on the
models and are never emitted by :func:`case_data` or :func:`case_json`.
Explicit ``null`` is not a value of any field and is rejected like any other
wrong type.

This module is the model only.  Reading and validating cases (the fast path,
through msgspec) is :mod:`mrs_asp.loading`; locating every error of a bad
document (the rare path, through jsonschema against :func:`case_json_schema`)
is :mod:`mrs_asp.case_errors`.

Limits (bad input beyond them, SPEC section 6 "anything else is an error"):
:data:`MAX_ENTRIES` bounds each array of a case, so that the work one case
can cause stays bounded (issue 13); they are part of the JSON Schema
(``maxItems``).
"""

import copy
import datetime as _dt
from functools import cache
from typing import Annotated, Any, Literal

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
    "MAX_ENTRIES",
    "MODALITIES",
    "MR_STATUSES",
    "NON_INDICATIONS",
    "RESULTS",
    "SETTINGS",
    "SYMPTOMS",
    "Case",
    "Expected",
    "Findings",
    "ForeignBody",
    "Implant",
    "Patient",
    "Request",
    "Study",
    "case_data",
    "case_json",
    "case_json_schema",
    "day_number",
    "field_description",
    "study_after_request",
    "too_many_entries",
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


# The most entries each array of a case may hold.  Each entry can multiply the
# work of "what is missing" (an imaging entry without a result adds about 13
# alternatives); under these limits any valid case is decided in well under a
# second (benchmarks/README.md).  A prior-authorization request lists a few
# prior studies, implants and foreign bodies; these leave ample room.
MAX_ENTRIES: dict[str, int] = {"imaging": 50, "implants": 20, "foreign_bodies": 20}


@cache
def _descriptions(model: type[Struct]) -> dict[str, str]:
    found = {}
    for info in msgspec.structs.fields(model):
        for meta in getattr(info.type, "__metadata__", ()):
            if isinstance(meta, Meta) and meta.description:
                found[info.name] = meta.description
                break
    return found


def field_description(model: type[Struct], name: str) -> str:
    """The description of a field of a model ('' if none or no such field)."""
    return _descriptions(model).get(name, "")


def study_after_request(case: Case) -> tuple[int, Study] | None:
    """The first study dated after the request (SPEC section 1), if any."""
    for i, study in enumerate(case.imaging or ()):
        if study.date > case.request.date:
            return i, study
    return None


def too_many_entries(case: Case) -> str | None:
    """The first array of ``case`` longer than :data:`MAX_ENTRIES` allows, if any."""
    for name, limit in MAX_ENTRIES.items():
        entries = getattr(case, name)
        if entries is not None and len(entries) > limit:
            return name
    return None


def case_data(case: Case) -> dict[str, Any]:
    """A case as plain JSON data: the documented fields only."""
    return msgspec.to_builtins(case)


def case_json(case: Case) -> bytes:
    """A case as JSON text: the documented fields only."""
    return msgspec.json.encode(case)


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
    by :func:`mrs_asp.loading.parse_case` and :func:`mrs_asp.loading.iter_cases`.
    Nor is the rule that no object holds a key twice.
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
        for name, limit in MAX_ENTRIES.items():
            root["properties"][name]["maxItems"] = limit
        _SCHEMA = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            **root,
            "title": "mrs-asp case",
            "description": (
                "One MR spectroscopy (CPT 76390) prior-authorization case "
                "(SPEC.md section 1). An absent field means not documented; "
                "false means documented as false. Also required: every "
                "imaging[].date is on or before request.date, no object holds "
                "a key twice, and ids are unique within a case library."
            ),
            "$defs": defs,
        }
    return copy.deepcopy(_SCHEMA)


def day_number(d: _dt.date) -> int:
    """Whole-day number of a date (proleptic Gregorian ordinal)."""
    return d.toordinal()


# Reading and the errors moved to their own modules; their names stay importable
# from here for callers written before the split.
_MOVED = {"CaseError": "case_errors", "LoadedCase": "loading", "parse_case": "loading",
          "case_from_data": "loading", "load_case": "loading", "iter_cases": "loading"}


def __getattr__(name: str) -> Any:
    if name == "_decode_error":  # (exc, data) -> message, as callers before the split used it
        from .case_errors import json_error_message
        return lambda exc, data: json_error_message(data)
    module = _MOVED.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib
    return getattr(importlib.import_module(f"mrs_asp.{module}"), name)
