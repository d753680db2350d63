"""How a case becomes facts: the one module that knows (kb/00_case_facts.lp).

Case data reaches clingo only as symbols built here (``clingo.Function``,
``Number``, ``String``); nothing from a case is ever pasted into program text.
Absent fields produce no atom: absence means "not documented".
"""

from __future__ import annotations

from functools import lru_cache

from clingo import Function, Number, String, Symbol

from .cases import Case, day_number

__all__ = ["case_facts"]


@lru_cache(maxsize=None)
def _constant(value: str | bool) -> Symbol:
    """An enumerated value as a constant: MRI -> mri, True -> true."""
    if value is True:
        return Function("true")
    if value is False:
        return Function("false")
    return Function(value.lower())


_BOOLEAN_PATIENT_FIELDS = ("pregnant", "claustrophobic", "renal_insufficiency",
                           "gadolinium_contraindicated")


def case_facts(number: int, case: Case) -> list[Symbol]:
    """The facts of one case, each carrying ``number`` as its case argument."""
    c = Number(number)
    request = case.request
    facts = [
        Function("case", [c]),
        Function("request_cpt", [c, String(request.cpt)]),
        Function("request_region", [c, _constant(request.body_region)]),
        Function("request_day", [c, Number(day_number(request.date))]),
    ]
    if request.contrast is not None:
        facts.append(Function("request_contrast", [c, _constant(request.contrast)]))
    patient = case.patient
    if patient is not None:
        for name in _BOOLEAN_PATIENT_FIELDS:
            value = getattr(patient, name)
            if value is not None:
                facts.append(Function("patient", [c, _constant(name), _constant(value)]))
    findings = case.findings
    if findings is not None:
        for name, value in findings.__dict__.items():
            if value is not None:
                facts.append(Function("finding", [c, _constant(name), _constant(value)]))
    for index, study in enumerate(case.imaging or ()):
        i = Number(index)
        facts.append(Function("imaging", [c, i, _constant(study.modality),
                                          _constant(study.body_region),
                                          Number(day_number(study.date))]))
        if study.result is not None:
            facts.append(Function("imaging_result", [c, i, _constant(study.result)]))
    for index, implant in enumerate(case.implants or ()):
        i = Number(index)
        facts.append(Function("implant", [c, i, _constant(implant.kind)]))
        if implant.metallic is not None:
            facts.append(Function("implant_metallic", [c, i, _constant(implant.metallic)]))
        if implant.mr_status is not None:
            facts.append(Function("implant_mr_status", [c, i, _constant(implant.mr_status)]))
    for index, body in enumerate(case.foreign_bodies or ()):
        i = Number(index)
        facts.append(Function("foreign_body", [c, i, _constant(body.location)]))
        if body.metallic is not None:
            facts.append(Function("foreign_body_metallic", [c, i, _constant(body.metallic)]))
        if body.obscures_area_of_concern is not None:
            facts.append(Function("foreign_body_obscures",
                                  [c, i, _constant(body.obscures_area_of_concern)]))
    return facts
