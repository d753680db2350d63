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
    "CaseError",
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
# Models.  msgspec decodes and validates a case in one pass (a few
# microseconds; a case library of thousands is read in milliseconds).
# Optional fields are typed without ``None`` and default to ``None``:
# absent -> None (not documented), explicit null -> error, so ``None`` always
# means "absent" and encoding omits it.  Every struct forbids unknown fields.


def _doc(kind: Any, text: str, **constraints: Any) -> Any:
    """A field type with its description (it shows in `mrs-asp schema`)."""
    return Annotated[kind, Meta(description=text, **constraints)]




class _Model(Struct, forbid_unknown_fields=True, omit_defaults=True):
    pass


class Request(_Model, kw_only=True):
    """The requested study."""

    cpt: _doc(str, "Procedure code; the policy applies to 76390 only.", min_length=1)
    date: _doc(_dt.date, "Date of the requested study, YYYY-MM-DD.")
    body_region: _doc(BodyRegion, "Region of the requested study.")
    setting: _doc(Setting, "Level of care.") = None
    contrast: _doc(bool, "The study requires gadolinium contrast.") = None


class Patient(_Model, kw_only=True):
    """The patient at the time of the request."""

    age_years: _doc(int, "Age in years at request.", ge=0) = None
    age_days: _doc(int, "Age in days at request.", ge=0) = None
    pregnant: bool = None
    claustrophobic: bool = None
    renal_insufficiency: bool = None
    gadolinium_contraindicated: bool = None


class Study(_Model, kw_only=True):
    """A prior imaging study (an entry of imaging[])."""

    modality: Modality
    body_region: BodyRegion
    date: _doc(_dt.date, "Date of the study; not after request.date.")
    result: _doc(Result, "Absent = not documented.") = None


class Findings(_Model, kw_only=True):
    """Clinical findings and the question asked (SPEC section 1)."""

    glioma: _doc(bool, "Known or suspected primary glial neoplasm.") = None
    brain_tumor: _doc(bool, "Known or suspected brain tumor of any kind.") = None
    brain_mass: _doc(bool, "Mass or mass-like lesion of the brain.") = None
    glioma_grading: _doc(bool, "The question is grading a glial neoplasm.") = None
    brain_tumor_evaluation: _doc(bool, "The question is evaluation of a brain tumor.") = None
    recurrence_vs_radiation_necrosis: _doc(
        bool, "The question is tumor recurrence vs radiation necrosis.") = None
    neonatal_hie: _doc(
        bool, "Known or suspected neonatal hypoxic ischemic encephalopathy.") = None
    mitochondrial_disease: bool = None
    inborn_error_of_metabolism: bool = None
    canavan_disease: bool = None
    mitochondrial_encephalopathy: bool = None
    leukodystrophy: bool = None
    symptoms: _doc(Symptoms, "Change of symptoms since the last study of the region.") = None
    treatment_since_last_imaging: bool = None
    repeat_influences_treatment: bool = None
    prior_indeterminate_finding: bool = None
    clarifying_follow_up_done: bool = None
    monitoring_need_established: bool = None


class Implant(_Model, kw_only=True):
    """An implant (an entry of implants[])."""

    kind: ImplantKind
    metallic: _doc(bool, "Absent = not documented.") = None
    mr_status: _doc(MrStatus, "Absent or 'unknown' = not documented.") = None


class ForeignBody(_Model, kw_only=True):
    """A foreign body (an entry of foreign_bodies[])."""

    location: ForeignBodyLocation
    metallic: bool = None
    obscures_area_of_concern: bool = None


class Expected(_Model, kw_only=True):
    """Case-library only: the expected answer."""

    determination: Determination
    criteria: list[CriterionId] = None  # type: ignore[valid-type]
    non_indications: list[NonIndicationId] = None  # type: ignore[valid-type]
    advisories: list[AdvisoryId] = None  # type: ignore[valid-type]


class Case(_Model, kw_only=True):
    """One MR spectroscopy prior-authorization case (SPEC.md section 1).

    An absent field means not documented; false means documented as false.
    """

    id: _doc(str, "Unique within a case library.", min_length=1)
    title: _doc(str, "Free text, never reasoned on.") = None
    request: Request
    patient: Patient = None
    imaging: list[Study] = None
    findings: Findings = None
    implants: list[Implant] = None
    foreign_bodies: list[ForeignBody] = None
    expected: Expected = None


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
    module = _MOVED.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib
    return getattr(importlib.import_module(f"mrs_asp.{module}"), name)
