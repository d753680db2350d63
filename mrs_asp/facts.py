"""How a case becomes facts: the one module that knows (kb/00_case_facts.lp).

Case data reaches clingo only as symbols built here (``clingo.Function``,
``Number``, ``String``); nothing from a case is ever pasted into program text.
Absent fields produce no atom: absence means "not documented".

A batch of cases goes to the grounder as a :class:`CaseFeed`, the grounding
context of ``case_feed.lp``: for each input predicate, the tuples of its
arguments. The symbols that recur (enumerated values as constants, small
numbers) are built once per process.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from functools import cache, lru_cache
from importlib import resources

from clingo import Function, Number, String, Symbol, ast
from msgspec.structs import astuple

from .cases import Case, Findings, day_number

__all__ = ["INPUT_PREDICATES", "CaseFeed", "case_facts", "feed_statements"]

#: The input predicates of kb/00_case_facts.lp, each with its arity.
INPUT_PREDICATES: dict[str, int] = {
    "case": 1, "request_cpt": 2, "request_region": 2, "request_day": 2,
    "request_contrast": 2, "patient": 3, "finding": 3, "imaging": 5, "imaging_result": 3,
    "implant": 3, "implant_metallic": 3, "implant_mr_status": 3, "foreign_body": 3,
    "foreign_body_metallic": 3, "foreign_body_obscures": 3,
}


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


_PATIENT_FIELDS = ("pregnant", "claustrophobic", "renal_insufficiency",
                   "gadolinium_contraindicated")
_FINDING_NAMES = tuple(_constant(name) for name in Findings.__struct_fields__)


class CaseFeed:
    """The facts of a batch of cases (case ``n`` of the batch is number ``n``),
    as the grounding context that ``case_feed.lp`` reads them from."""

    def __init__(self, cases: Sequence[Case]) -> None:
        self.tables: dict[str, list[Symbol]] = {name: [] for name in INPUT_PREDICATES}
        for number, case in enumerate(cases):
            self._add(number, case)

    def facts(self, name: Symbol) -> list[Symbol]:
        """``@facts(Name)``: the argument tuples of input predicate ``Name``."""
        return self.tables[name.name]

    def atoms(self) -> list[Symbol]:
        """Every fact as an atom (for reading and testing; the engine uses :meth:`facts`)."""
        return [Function(name, row.arguments if name != "case" else [row])
                for name, rows in self.tables.items() for row in rows]

    def _add(self, number: int, case: Case) -> None:
        t = self.tables
        c = _number(number)
        constant = _constant
        request = case.request
        t["case"].append(c)
        t["request_cpt"].append(Function("", [c, String(request.cpt)]))
        t["request_region"].append(Function("", [c, constant(request.body_region)]))
        t["request_day"].append(Function("", [c, Number(day_number(request.date))]))
        if request.contrast is not None:
            t["request_contrast"].append(Function("", [c, constant(request.contrast)]))
        patient = case.patient
        if patient is not None:
            rows = t["patient"]
            for name in _PATIENT_FIELDS:
                value = getattr(patient, name)
                if value is not None:
                    rows.append(Function("", [c, constant(name), constant(value)]))
        findings = case.findings
        if findings is not None:
            rows = t["finding"]
            for name, value in zip(_FINDING_NAMES, astuple(findings)):
                if value is not None:
                    rows.append(Function("", [c, name, constant(value)]))
        for index, study in enumerate(case.imaging or ()):
            i = _number(index)
            t["imaging"].append(Function("", [c, i, constant(study.modality),
                                              constant(study.body_region),
                                              Number(day_number(study.date))]))
            if study.result is not None:
                t["imaging_result"].append(Function("", [c, i, constant(study.result)]))
        for index, implant in enumerate(case.implants or ()):
            i = _number(index)
            t["implant"].append(Function("", [c, i, constant(implant.kind)]))
            if implant.metallic is not None:
                t["implant_metallic"].append(Function("", [c, i, constant(implant.metallic)]))
            if implant.mr_status is not None:
                t["implant_mr_status"].append(Function("", [c, i, constant(implant.mr_status)]))
        for index, body in enumerate(case.foreign_bodies or ()):
            i = _number(index)
            t["foreign_body"].append(Function("", [c, i, constant(body.location)]))
            if body.metallic is not None:
                t["foreign_body_metallic"].append(Function("", [c, i, constant(body.metallic)]))
            if body.obscures_area_of_concern is not None:
                t["foreign_body_obscures"].append(
                    Function("", [c, i, constant(body.obscures_area_of_concern)]))


def case_facts(number: int, case: Case) -> list[Symbol]:
    """The facts of one case as atoms, each carrying ``number`` as its case argument."""
    feed = CaseFeed([case])
    renumbered = _number(number)
    return [Function(atom.name, [renumbered, *atom.arguments[1:]]) for atom in feed.atoms()]


@functools.cache
def feed_statements() -> list[ast.AST]:
    """case_feed.lp, parsed once."""
    text = resources.files("mrs_asp").joinpath("case_feed.lp").read_text()
    statements: list[ast.AST] = []
    ast.parse_string(text, statements.append)
    return statements
