"""The case vocabulary, declared once (SPEC.md section 1).

This module is the single declaration of what a case may say: every field,
its type and enumeration, what it means in words, whether the knowledge base
reads it (the input predicate it becomes, kb/00_case_facts.lp) and what
"what is missing" may fill it with (SPEC section 4). Everything else is
derived from it, never written out again:

- the msgspec case model and its JSON Schema (``mrs_asp/cases.py``);
- the facts a case becomes and the rules that feed them to the grounder
  (``mrs_asp/facts.py``);
- the vocabulary facts the knowledge base reads (:func:`vocabulary_facts`:
  ``fill_value/3``, ``undocumented_value/2``, ``append_value/3``);
- the case space of ``mrs-asp check`` and witnesses back to JSON
  (``mrs_asp/check.py``);
- the fillings' JSON Patch operations (``mrs_asp/abduce.py``);
- the items of the DTR questionnaire (FHIR.md F1): :func:`fields` gives
  each field with its dotted ``link_id``, its ``type``, ``values`` and
  ``description``; :data:`GROUPS` says which fields form repeating groups.

The API, for a reader of the vocabulary::

    from mrs_asp import vocabulary as v
    for f in v.fields():                  # every field, in SPEC order
        f.link_id, f.type, f.values, f.description, f.fills, f.group
    v.field("findings.symptoms").fills    # ('new', 'worsening')
    v.group("imaging").repeats            # True: an array of entries
    v.group("imaging").appends            # the entry "missing" may append

Types are ``string``, ``date`` (``YYYY-MM-DD``), ``integer``, ``boolean``
and ``enum`` (one of ``values``). A field with ``fact = None`` is validated
but never reasoned on (``title``, ``request.setting``, ages).

This module imports nothing beyond the standard library: the fast path of
``mrs-asp evaluate`` reads it at start-up.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field as _field

from .pointers import pointer

__all__ = [
    "ADVISORIES", "CRITERIA", "DETERMINATIONS", "Field", "GROUPS", "Group", "NON_INDICATIONS",
    "FromRequest", "field", "fields", "fields_of_fact", "group", "input_predicates",
    "value_of_constant", "vocabulary_facts", "vocabulary_program",
]


@dataclass(frozen=True)
class Field:
    """One field of a case.

    ``link_id`` is its path with dots (``findings.glioma``,
    ``imaging.result``); inside a repeating group the path names the field of
    each entry. ``fact`` is the input predicate of kb/00_case_facts.lp it
    becomes (None: never reasoned on); ``keyed`` facts carry the field's name
    as their first argument after the case and entry (``finding(Case,
    glioma, true)``). Fields of one group sharing a ``fact`` become one atom,
    their values in declaration order (``imaging(Case, Study, Modality,
    Region, Day)``). ``fills``: the values "what is missing" may set where
    the field is not documented (SPEC section 4); ``undocumented``: values
    that read as not documented (an implant's ``mr_status: unknown``).
    """

    link_id: str
    type: str
    description: str
    values: tuple[str, ...] = ()
    required: bool = False
    fact: str | None = None
    keyed: bool = False
    fills: tuple[str | bool, ...] = ()
    undocumented: tuple[str, ...] = ()
    minimum: int | None = None
    min_length: int | None = None

    @property
    def name(self) -> str:
        """The JSON member name: ``glioma`` for ``findings.glioma``."""
        return self.link_id.rpartition(".")[2]

    @property
    def group(self) -> str | None:
        """The group it belongs to (``findings``, ``imaging``), None at the top."""
        head, dot, _ = self.link_id.rpartition(".")
        return head if dot else None

    def pointer(self, index: int | str | None = None) -> str:
        """Its JSON Pointer: ``/findings/glioma``; in a repeating group the
        entry ``index`` is needed (``/imaging/0/result``)."""
        if self.group is None:
            return pointer([self.name])
        if GROUPS[self.group].repeats:
            if index is None:
                raise ValueError(f"{self.link_id} is inside a repeating group: give an index")
            return pointer([self.group, index, self.name])
        return pointer([self.group, self.name])


#: A value of an appended entry taken from the request (see :attr:`Group.appends`).
@dataclass(frozen=True)
class FromRequest:
    name: str


@dataclass(frozen=True)
class Group:
    """An object (``request``, ``patient``, ``findings``, ``expected``) or a
    repeating group (``imaging``, ``implants``, ``foreign_bodies``: arrays of
    entries, ``repeats``) of the case.

    ``model`` is the name of its msgspec struct (the JSON Schema's
    ``$defs``); ``appends``: the entry "what is missing" may append where the
    KB allows it (SPEC section 4), with values fixed or taken from the
    request (:class:`FromRequest`).
    """

    name: str
    model: str
    description: str
    repeats: bool = False
    required: bool = False
    appends: dict[str, object] | None = None
    fields: tuple[Field, ...] = _field(default=(), repr=False)


BODY_REGIONS = ("brain", "spine", "head_neck", "chest", "abdomen", "pelvis", "extremity",
                "other")


def _bool(link_id: str, description: str, **more) -> Field:
    return Field(link_id, "boolean", description, **more)


def _finding(name: str, description: str) -> Field:
    """A boolean finding: read by the criteria, fillable to true."""
    return _bool(f"findings.{name}", description, fact="finding", keyed=True, fills=(True,))


# --------------------------------------------------------------------------
# The declaration: SPEC section 1, field by field, in its order.

_REQUEST = (
    Field("request.cpt", "string", "Procedure code; the policy applies to 76390 only.",
          required=True, fact="request_cpt", min_length=1),
    Field("request.date", "date", "Date of the requested study, YYYY-MM-DD.",
          required=True, fact="request_day"),
    Field("request.body_region", "enum", "Region of the requested study.", BODY_REGIONS,
          required=True, fact="request_region"),
    Field("request.setting", "enum", "Level of care.", ("inpatient", "outpatient")),
    _bool("request.contrast", "The study requires gadolinium contrast.",
          fact="request_contrast"),
)
_PATIENT = (
    Field("patient.age_years", "integer", "Age in years at request.", minimum=0),
    Field("patient.age_days", "integer", "Age in days at request.", minimum=0),
    _bool("patient.pregnant", "The patient is pregnant (the guideline's notes).",
          fact="patient", keyed=True),
    _bool("patient.claustrophobic", "The patient is claustrophobic (the guideline's notes).",
          fact="patient", keyed=True),
    _bool("patient.renal_insufficiency",
          "The patient has renal insufficiency (the guideline's notes).",
          fact="patient", keyed=True),
    _bool("patient.gadolinium_contraindicated",
          "Gadolinium contrast is contraindicated for the patient (the guideline's notes).",
          fact="patient", keyed=True),
)
_IMAGING = (
    Field("imaging.modality", "enum", "Modality of the prior study.",
          ("MRI", "CT", "MRS", "PET", "XR", "US"), required=True, fact="imaging"),
    Field("imaging.body_region", "enum", "Region of the prior study.", BODY_REGIONS,
          required=True, fact="imaging"),
    Field("imaging.date", "date", "Date of the study; not after request.date.",
          required=True, fact="imaging"),
    Field("imaging.result", "enum", "Absent = not documented.", ("inconclusive", "conclusive"),
          fact="imaging_result", fills=("inconclusive",)),
)
_FINDINGS = (
    _finding("glioma", "Known or suspected primary glial neoplasm."),
    _finding("brain_tumor", "Known or suspected brain tumor of any kind."),
    _finding("brain_mass", "Mass or mass-like lesion of the brain."),
    _finding("glioma_grading", "The question is grading a glial neoplasm."),
    _finding("brain_tumor_evaluation", "The question is evaluation of a brain tumor."),
    _finding("recurrence_vs_radiation_necrosis",
             "The question is tumor recurrence vs radiation necrosis."),
    _finding("neonatal_hie", "Known or suspected neonatal hypoxic ischemic encephalopathy."),
    _finding("mitochondrial_disease", "Metabolic disorder: mitochondrial disease."),
    _finding("inborn_error_of_metabolism", "Metabolic disorder: inborn error of metabolism."),
    _finding("canavan_disease", "Inherited metabolic disorder: Canavan disease."),
    _finding("mitochondrial_encephalopathy",
             "Inherited metabolic disorder: mitochondrial encephalopathy."),
    _finding("leukodystrophy", "Inherited metabolic disorder: leukodystrophy."),
    Field("findings.symptoms", "enum", "Change of symptoms since the last study of the region.",
          ("new", "worsening", "unchanged"), fact="finding", keyed=True,
          fills=("new", "worsening")),
    _finding("treatment_since_last_imaging", "Treatment given since the last study of the region."),
    _finding("repeat_influences_treatment", "The repeat study would influence treatment."),
    _finding("prior_indeterminate_finding",
             "The last MRS of the region had an indeterminate finding."),
    _finding("clarifying_follow_up_done",
             "A clarifying follow-up of that finding was already done."),
    _finding("monitoring_need_established",
             "An established need for monitoring that would influence management."),
)
_IMPLANTS = (
    Field("implants.kind", "enum", "Kind of implant.",
          ("pacemaker", "defibrillator", "cardiac_valve", "neurostimulator", "cochlear_implant",
           "aneurysm_clip", "orthopedic", "other"), required=True, fact="implant"),
    _bool("implants.metallic", "Absent = not documented.", fact="implant_metallic",
          fills=(False,)),
    Field("implants.mr_status", "enum", "Absent or 'unknown' = not documented.",
          ("safe", "conditional", "unsafe", "unknown"), fact="implant_mr_status",
          fills=("conditional",), undocumented=("unknown",)),
)
_FOREIGN_BODIES = (
    Field("foreign_bodies.location", "enum", "Where the foreign body is.",
          ("orbit", "critical_area", "field_of_view", "other"), required=True,
          fact="foreign_body"),
    _bool("foreign_bodies.metallic", "The foreign body is metallic.",
          fact="foreign_body_metallic", fills=(False,)),
    _bool("foreign_bodies.obscures_area_of_concern",
          "The foreign body obscures the area of concern.", fact="foreign_body_obscures"),
)

#: The criterion ids of SPEC section 2, what ``expected`` may name.
CRITERIA: tuple[str, ...] = (
    "applies", "conventional_inconclusive", "any_condition", "neoplastic", "glioma_grading",
    "tumor_evaluation", "vascular", "neonatal_hie", "congenital", "metabolic_disorder",
    "inherited_metabolic_disorder", "repeat", "repeat_request", "repeat_new_symptoms",
    "repeat_clarifying", "repeat_monitoring", "indicated",
)
NON_INDICATIONS: tuple[str, ...] = (
    "recent_advanced_imaging", "aneurysm_clip", "incompatible_device", "incompatible_implant",
    "metallic_foreign_body",
)
ADVISORIES: tuple[str, ...] = ("claustrophobia", "pregnancy", "renal_contrast")
DETERMINATIONS: tuple[str, ...] = ("approved", "denied", "not_applicable")

_EXPECTED = (
    Field("expected.determination", "enum", "The expected determination.", DETERMINATIONS,
          required=True),
    Field("expected.criteria", "enum_list", "The criteria expected to hold.", CRITERIA),
    Field("expected.non_indications", "enum_list", "The non-indications expected to hold.",
          NON_INDICATIONS),
    Field("expected.advisories", "enum_list", "The advisories expected to hold.", ADVISORIES),
)

#: Top-level fields, in the order of SPEC section 1; groups stand in for their members.
_TOP = (
    Field("id", "string", "Unique within a case library.", required=True, min_length=1),
    Field("title", "string", "Free text, never reasoned on."),
)

GROUPS: dict[str, Group] = {g.name: g for g in (
    Group("request", "Request", "The requested study.", required=True, fields=_REQUEST),
    Group("patient", "Patient", "The patient at the time of the request.", fields=_PATIENT),
    Group("imaging", "Study", "A prior imaging study (an entry of imaging[]).", repeats=True,
          appends={"modality": "MRI", "body_region": FromRequest("body_region"),
                   "date": FromRequest("date"), "result": "inconclusive"},
          fields=_IMAGING),
    Group("findings", "Findings", "Clinical findings and the question asked (SPEC section 1).",
          fields=_FINDINGS),
    Group("implants", "Implant", "An implant (an entry of implants[]).", repeats=True,
          fields=_IMPLANTS),
    Group("foreign_bodies", "ForeignBody", "A foreign body (an entry of foreign_bodies[]).",
          repeats=True, fields=_FOREIGN_BODIES),
    Group("expected", "Expected", "Case-library only: the expected answer.", fields=_EXPECTED),
)}

#: The members of a case object in order: top-level fields and groups.
CASE_MEMBERS: tuple[Field | Group, ...] = (*_TOP, *GROUPS.values())

_BY_ID: dict[str, Field] = {f.link_id: f for f in (*_TOP, *(m for g in GROUPS.values()
                                                            for m in g.fields))}


def fields(group_name: str | None = None, *, facts_only: bool = False) -> Iterator[Field]:
    """Every field (or those of one group), in SPEC order.

    ``facts_only``: only the fields the knowledge base reads (``fact`` set),
    which are the questionnaire's items (FHIR.md F1). The ``expected`` group
    is case-library data, not a fact of the patient: it is left out unless
    asked for by name.
    """
    if group_name is not None:
        chosen: tuple[Field, ...] = GROUPS[group_name].fields
    else:
        chosen = (*_TOP, *(f for g in GROUPS.values() if g.name != "expected"
                           for f in g.fields))
    for f in chosen:
        if not facts_only or f.fact is not None:
            yield f


def field(link_id: str) -> Field:
    """The field of a dotted path (``findings.glioma``); KeyError if there is none."""
    return _BY_ID[link_id]


def group(name: str) -> Group:
    return GROUPS[name]


def fields_of_fact(predicate: str) -> tuple[Field, ...]:
    """The fields that become one atom of ``predicate``, in argument order."""
    return _FACTS[predicate]


_FACTS: dict[str, tuple[Field, ...]] = {}
for _f in fields():
    if _f.fact is not None:
        _FACTS.setdefault(_f.fact, ())
        _FACTS[_f.fact] += (_f,)
del _f


def input_predicates() -> frozenset[str]:
    """The input predicates of kb/00_case_facts.lp: ``case`` and one per fact."""
    return frozenset({"case", *_FACTS})


def constant(value: str | bool) -> str:
    """How an enumerated value or a boolean is a constant of the KB: MRI -> mri."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return value.lower()


def value_of_constant(f: Field, name: str) -> str | bool:
    """The JSON value of a constant of the KB for field ``f``: mri -> 'MRI'."""
    if f.type == "boolean":
        return {"true": True, "false": False}[name]
    for value in f.values:
        if value.lower() == name:
            return value
    raise ValueError(f"{name!r} is not a value of {f.link_id}")


# --------------------------------------------------------------------------
# What the knowledge base reads of the vocabulary.


def vocabulary_facts() -> list[tuple[str, tuple[str, ...]]]:
    """The vocabulary as facts of the KB, ``(predicate, constant arguments)``:

    - ``fill_value(Fact, Field, Value)``: what "what is missing" may set an
      undocumented field to (SPEC section 4), by its input predicate and
      its name (``fill_value(finding, symptoms, new)``,
      ``fill_value(implant_mr_status, mr_status, conditional)``);
    - ``undocumented_value(Fact, Value)``: a value that reads as not
      documented (``undocumented_value(implant_mr_status, unknown)``);
    - ``append_value(Group, Field, Value)``: the entry "what is missing" may
      append (values from the request are ``request``).
    """
    out: list[tuple[str, tuple[str, ...]]] = []
    for f in fields(facts_only=True):
        for value in f.fills:
            out.append(("fill_value", (f.fact, f.name, constant(value))))
        for value in f.undocumented:
            out.append(("undocumented_value", (f.fact, constant(value))))
    for g in GROUPS.values():
        for name, value in (g.appends or {}).items():
            shown = "request" if isinstance(value, FromRequest) else constant(value)
            out.append(("append_value", (g.name, name, shown)))
    return out


def vocabulary_program() -> str:
    """:func:`vocabulary_facts` as program text (built from the constants
    above, never from a case)."""
    return "".join(f"{name}({','.join(arguments)}).\n" for name, arguments in vocabulary_facts())
