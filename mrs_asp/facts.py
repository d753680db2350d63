"""How a case becomes facts: the one module that knows (kb/00_case_facts.lp).

Case data reaches clingo only as symbols built here (``clingo.Function``,
``Number``, ``String``); nothing from a case is ever pasted into program text.
Absent fields produce no atom: absence means "not documented".

A batch of cases goes to the grounder as a :class:`CaseFeed`, the grounding
context of ``case_feed.lp``. Most facts repeat their arguments across cases,
so they are grouped by them: one symbol per distinct argument tuple and a
list of case numbers, rather than one symbol per fact. The symbols that
recur (enumerated values as constants, small numbers) are built once per
process.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from functools import cache, lru_cache
from pathlib import Path

from clingo import Function, Number, String, Symbol, SymbolType, ast
from msgspec.structs import astuple

from .cases import Case, Findings, day_number

__all__ = ["INPUT_PREDICATES", "CaseFeed", "feed_statements"]

#: The input predicates of kb/00_case_facts.lp (what a case becomes).
INPUT_PREDICATES: frozenset[str] = frozenset({
    "case", "request_cpt", "request_region", "request_day", "request_contrast", "patient",
    "finding", "imaging", "imaging_result", "implant", "implant_metallic",
    "implant_mr_status", "foreign_body", "foreign_body_metallic", "foreign_body_obscures",
})


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
_FINDING_FIELDS = Findings.__struct_fields__

# How case_feed.lp reads each input predicate: the dated facts row by row
# (@rows), the others grouped by their arguments (@keys, @cases). For the
# grouped ones, how each argument (a plain value while grouping) becomes a
# symbol.
_ROWS = ("request_day", "imaging")
_KEY_SYMBOLS = {
    "case": (),
    "request_cpt": (String,),
    "request_region": (_constant,),
    "request_contrast": (_constant,),
    "patient": (_constant, _constant),
    "finding": (_constant, _constant),
    "imaging_result": (_number, _constant),
    "implant": (_number, _constant),
    "implant_metallic": (_number, _constant),
    "implant_mr_status": (_number, _constant),
    "foreign_body": (_number, _constant),
    "foreign_body_metallic": (_number, _constant),
    "foreign_body_obscures": (_number, _constant),
}
assert set(_ROWS) | set(_KEY_SYMBOLS) == INPUT_PREDICATES


class CaseFeed:
    """The facts of a batch of cases (case ``n`` of the batch is number ``n``),
    as the grounding context that ``case_feed.lp`` reads them from."""

    def __init__(self, cases: Sequence[Case]) -> None:
        self._rows: dict[str, list[Symbol]] = {name: [] for name in _ROWS}
        self._groups: dict[str, dict[tuple, list[Symbol]]] = {name: {} for name in _KEY_SYMBOLS}
        self._keys: dict[str, dict[tuple[Symbol, ...], tuple]] = {}
        for number, case in enumerate(cases):
            self._add(_number(number), case)

    # -- what case_feed.lp calls ---------------------------------------------------
    def rows(self, name: Symbol) -> list[Symbol]:
        """``@rows(P)``: one tuple (Case, Arguments...) per fact of P."""
        return self._rows[name.name]

    def keys(self, name: Symbol) -> list[Symbol]:
        """``@keys(P)``: the distinct arguments of P's facts (a tuple if more than one)."""
        convert = _KEY_SYMBOLS[name.name]
        back: dict[tuple[Symbol, ...], tuple] = {}
        out: list[Symbol] = []
        for key in self._groups[name.name]:
            symbols = tuple(make(value) for make, value in zip(convert, key))
            back[symbols] = key
            out.append(symbols[0] if len(symbols) == 1 else Function("", list(symbols)))
        self._keys[name.name] = back
        return out

    def cases(self, name: Symbol, *key: Symbol) -> list[Symbol]:
        """``@cases(P, Arguments...)``: the numbers of the cases with that fact."""
        groups = self._groups[name.name]
        return groups[self._keys[name.name][key] if key else ()]

    def atoms(self) -> list[Symbol]:
        """Every fact as an atom, ``finding(0, glioma, true)`` (for reading and
        testing; grounding goes through the calls above)."""
        out: list[Symbol] = []
        for name, convert in _KEY_SYMBOLS.items():
            for key, numbers in self._groups[name].items():
                arguments = [make(value) for make, value in zip(convert, key)]
                out.extend(Function(name, [number, *arguments]) for number in numbers)
        for name, rows in self._rows.items():
            out.extend(Function(name, row.arguments) for row in rows)
        return out

    def plain_facts(self) -> list[tuple[str, tuple]]:
        """Every fact as ``(predicate, arguments)``, the case number dropped and
        the arguments as the case states them (``("finding", ("glioma", True))``,
        ``("imaging", (0, "MRI", "brain", 739000))``): for the warm engine,
        which has no case numbers (mrs_asp/warm.py)."""
        out: list[tuple[str, tuple]] = []
        for name, groups in self._groups.items():
            out.extend((name, key) for key in groups)
        for name, rows in self._rows.items():
            for row in rows:
                out.append((name, tuple(a.number if a.type == SymbolType.Number else a.name
                                        for a in row.arguments[1:])))
        return out

    # -- building ---------------------------------------------------------------------
    def _add(self, c: Symbol, case: Case) -> None:
        groups = self._groups
        request = case.request
        groups["case"].setdefault((), []).append(c)
        groups["request_cpt"].setdefault((request.cpt,), []).append(c)
        groups["request_region"].setdefault((request.body_region,), []).append(c)
        self._rows["request_day"].append(Function("", [c, _number(day_number(request.date))]))
        if request.contrast is not None:
            groups["request_contrast"].setdefault((request.contrast,), []).append(c)
        patient = case.patient
        if patient is not None:
            rows = groups["patient"]
            for name in _PATIENT_FIELDS:
                value = getattr(patient, name)
                if value is not None:
                    rows.setdefault((name, value), []).append(c)
        findings = case.findings
        if findings is not None:
            rows = groups["finding"]
            for name, value in zip(_FINDING_FIELDS, astuple(findings)):
                if value is not None:
                    rows.setdefault((name, value), []).append(c)
        if case.imaging:
            rows = self._rows["imaging"]
            results = groups["imaging_result"]
            for index, study in enumerate(case.imaging):
                rows.append(Function("", [c, _number(index), _constant(study.modality),
                                          _constant(study.body_region),
                                          _number(day_number(study.date))]))
                if study.result is not None:
                    results.setdefault((index, study.result), []).append(c)
        for index, implant in enumerate(case.implants or ()):
            groups["implant"].setdefault((index, implant.kind), []).append(c)
            if implant.metallic is not None:
                groups["implant_metallic"].setdefault((index, implant.metallic), []).append(c)
            if implant.mr_status is not None:
                groups["implant_mr_status"].setdefault((index, implant.mr_status), []).append(c)
        for index, body in enumerate(case.foreign_bodies or ()):
            groups["foreign_body"].setdefault((index, body.location), []).append(c)
            if body.metallic is not None:
                groups["foreign_body_metallic"].setdefault((index, body.metallic), []).append(c)
            if body.obscures_area_of_concern is not None:
                groups["foreign_body_obscures"].setdefault(
                    (index, body.obscures_area_of_concern), []).append(c)


@functools.cache
def feed_statements() -> list[ast.AST]:
    """case_feed.lp, parsed once."""
    text = Path(__file__).with_name("case_feed.lp").read_text()
    statements: list[ast.AST] = []
    ast.parse_string(text, statements.append)
    return statements
