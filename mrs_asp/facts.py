"""How a case becomes facts: the one module that knows (kb/00_case_facts.lp).

Case data reaches clingo only as symbols built here (``clingo.Function``,
``Number``, ``String``); nothing from a case is ever pasted into program text.
Absent fields produce no atom: absence means "not documented".

This runs once per case in every evaluation, so the symbols that recur
(enumerated values as constants, small numbers) are built once per process.
"""

from __future__ import annotations

from functools import cache, lru_cache

from clingo import Function, Number, String, Symbol
from msgspec.structs import astuple

from .cases import Case, Findings, day_number

__all__ = ["case_facts"]


@cache
def _constant(value: str | bool) -> Symbol:
    """An enumerated value as a constant: MRI -> mri, True -> true."""
    if value is True:
        return Function("true")
    if value is False:
        return Function("false")
    return Function(value.lower())


@lru_cache(maxsize=4096)
def _number(value: int) -> Symbol:
    return Number(value)


_BOOLEAN_PATIENT_FIELDS = ("pregnant", "claustrophobic", "renal_insufficiency",
                           "gadolinium_contraindicated")
_FINDING_NAMES = tuple(_constant(name) for name in Findings.__struct_fields__)


def case_facts(number: int, case: Case) -> list[Symbol]:
    """The facts of one case, each carrying ``number`` as its case argument."""
    c = _number(number)
    constant = _constant
    request = case.request
    facts = [
        Function("case", [c]),
        Function("request_cpt", [c, String(request.cpt)]),
        Function("request_region", [c, constant(request.body_region)]),
        Function("request_day", [c, Number(day_number(request.date))]),
    ]
    add = facts.append
    if request.contrast is not None:
        add(Function("request_contrast", [c, constant(request.contrast)]))
    patient = case.patient
    if patient is not None:
        for name in _BOOLEAN_PATIENT_FIELDS:
            value = getattr(patient, name)
            if value is not None:
                add(Function("patient", [c, constant(name), constant(value)]))
    findings = case.findings
    if findings is not None:
        for name, value in zip(_FINDING_NAMES, astuple(findings)):
            if value is not None:
                add(Function("finding", [c, name, constant(value)]))
    for index, study in enumerate(case.imaging or ()):
        i = _number(index)
        add(Function("imaging", [c, i, constant(study.modality), constant(study.body_region),
                                 Number(day_number(study.date))]))
        if study.result is not None:
            add(Function("imaging_result", [c, i, constant(study.result)]))
    for index, implant in enumerate(case.implants or ()):
        i = _number(index)
        add(Function("implant", [c, i, constant(implant.kind)]))
        if implant.metallic is not None:
            add(Function("implant_metallic", [c, i, constant(implant.metallic)]))
        if implant.mr_status is not None:
            add(Function("implant_mr_status", [c, i, constant(implant.mr_status)]))
    for index, body in enumerate(case.foreign_bodies or ()):
        i = _number(index)
        add(Function("foreign_body", [c, i, constant(body.location)]))
        if body.metallic is not None:
            add(Function("foreign_body_metallic", [c, i, constant(body.metallic)]))
        if body.obscures_area_of_concern is not None:
            add(Function("foreign_body_obscures", [c, i, constant(body.obscures_area_of_concern)]))
    return facts
