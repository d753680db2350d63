"""The space of valid cases, for the policy checks (``check``, ``diff``).

The choices over the case vocabulary are derived from the one declaration
(``mrs_asp/vocabulary.py``): each input predicate gets a choice over the
declared values of its fields, within the bounds below. The questions asked
of that space, and why the bounds lose nothing, are in ``case_space.lp``.
A model of the space becomes a case again with :func:`witness_case`.
"""

from __future__ import annotations

import datetime as dt
import functools
from importlib import resources
from typing import Any

import clingo
from clingo import Symbol, ast

from . import vocabulary
from .facts import INPUT_PREDICATES, vocabulary_statements

__all__ = ["CASE_PREDICATES", "REQUEST_DATE", "SLOTS", "space_program", "space_statements",
           "witness_case"]

#: The request every generated case makes (its date is day REQUEST_DAY of the space).
REQUEST_DATE = dt.date(2026, 6, 1)
REQUEST_DAY = 1000
#: The fixed request, and the bounds (see case_space.lp for why they lose nothing):
#: entries per repeating group, and the values tried where not all are needed.
FIXED: dict[str, Any] = {"request.cpt": "76390", "request.body_region": "brain",
                         "request.date": REQUEST_DAY}
SLOTS: dict[str, int] = {"imaging": 3, "implants": 2, "foreign_bodies": 2}
_BOUNDED: dict[str, tuple] = {
    # a study's region is the request's or another one
    "imaging.body_region": ("brain", "spine"),
    # a study's date: see study_days, from the KB's windows of days
}


def study_ages(windows) -> tuple[int, ...]:
    """The ages (days before the request) the space tries for a study, from
    the windows of days the knowledge base declares (``window/3``,
    kb/10_concepts.lp): each window's first day, a day inside, its last day
    and the day after, and a day beyond the longest window. The rules read a
    study's date only against those windows, so these stand for every date;
    for the shipped KB (0-90 days, and any age): 0, 45, 90, 91 and 180."""
    ages = set()
    for start, end in windows:
        ages.add(start)
        if end is not None:
            ages |= {(start + end) // 2, end, end + 1}
    bounded = [end for _, end in windows if end is not None]
    ages.add(2 * max(bounded) if bounded else max(ages, default=0) + 1)
    return tuple(sorted(age for age in ages if age >= 0))


def study_days(windows) -> tuple[int, ...]:
    """:func:`study_ages` as day numbers of the space (the request is day REQUEST_DAY)."""
    return tuple(REQUEST_DAY - age for age in study_ages(windows))

#: The input predicates the space chooses (the case and its request are fixed).
CASE_PREDICATES: frozenset[str] = INPUT_PREDICATES - {"case"} - {
    f.fact for f in vocabulary.fields(facts_only=True)
    if all(m.link_id in FIXED for m in vocabulary.fields_of_fact(f.fact))}


def _term(f: vocabulary.Field, value: Any) -> str:
    if f.type == "string":
        return clingo.String(value).__str__()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return vocabulary.constant(value)


def _domain(f: vocabulary.Field, windows) -> tuple:
    if f.link_id == "imaging.date":
        return study_days(windows)
    if f.link_id in _BOUNDED:
        return _BOUNDED[f.link_id]
    if f.type == "boolean":
        return (True, False)
    if f.type == "enum":
        return f.values
    raise ValueError(f"case space: no values to try for {f.link_id} ({f.type})")


def space_program(windows=None) -> str:
    """The choice part of the case space, as program text built from the
    declaration (its constants only, never a case) and the knowledge base's
    windows of days (``[(start, end), ...]``, ``KnowledgeBase.windows``; by
    default the shipped kb/'s)."""
    if windows is None:
        from .kb import KnowledgeBase, default_kb_dir
        windows = KnowledgeBase(default_kb_dir()).windows
    out = ["case(0)."]
    values: list[str] = []
    for predicate in dict.fromkeys(f.fact for f in vocabulary.fields(facts_only=True)):
        members = vocabulary.fields_of_fact(predicate)
        first = members[0]
        group = vocabulary.GROUPS[first.group]
        for f in members:
            if f.link_id not in FIXED:
                values += [f'space_value("{f.link_id}", {_term(f, v)}).' for v in _domain(f, windows)]
        if all(f.link_id in FIXED for f in members):
            out.append(f"{predicate}(0, {', '.join(_term(f, FIXED[f.link_id]) for f in members)}).")
        elif group.repeats:
            if first.keyed:
                raise ValueError(f"case space: keyed facts in a repeating group ({predicate})")
            used = f"used({group.name}, Slot)"
            names = [f"V{i}" for i in range(len(members))]
            conditions = ", ".join(f'space_value("{f.link_id}", {n})'
                                   for f, n in zip(members, names))
            atom = f"{predicate}(0, Slot, {', '.join(names)})"
            if all(f.required for f in members):
                out.append(f"1 {{ {atom} : {conditions} }} 1 :- {used}.")
            else:
                out.append(f"{{ {atom} : {conditions} }} 1 :- {used}.")
                out.append(f"documented({predicate}(Slot)) :- {predicate}(0, Slot, _).")
        elif first.keyed:
            for f in members:
                out.append(f'{{ {predicate}(0, {f.name}, V) : space_value("{f.link_id}", V) }} 1.')
            out.append(f"documented({predicate}(Field)) :- {predicate}(0, Field, _).")
        else:
            (f,) = members
            out.append(f'{{ {predicate}(0, V) : space_value("{f.link_id}", V) }} 1.')
            out.append(f"documented({predicate}) :- {predicate}(0, _).")
    for name, slots in SLOTS.items():
        out.append(f"slot({name}, 0..{slots - 1}).")
    out += ["{ used(Group, Slot) } :- slot(Group, Slot).",
            ":- used(Group, Slot), Slot > 0, not used(Group, Slot - 1).",
            "documented(entry(Group, Slot)) :- used(Group, Slot).",
            "% Witnesses read best small: as few documented facts as will do.",
            "#minimize { 1, Fact : documented(Fact) }."]
    return "\n".join(values + out) + "\n"


@functools.cache
def space_statements(windows: tuple) -> list[ast.AST]:
    """The case space (derived choices, case_space.lp's questions, the
    vocabulary facts) for the windows of days ``windows`` (those of every
    knowledge base it is grounded with), parsed once per windows."""
    text = space_program(list(windows)) + \
        resources.files("mrs_asp").joinpath("case_space.lp").read_text()
    statements: list[ast.AST] = []
    ast.parse_string(text, statements.append)
    return statements + vocabulary_statements()


def _value(f: vocabulary.Field, term: Symbol) -> Any:
    if term.type is clingo.SymbolType.String:
        return term.string
    if term.type is clingo.SymbolType.Number:
        if f.type == "date":
            return (REQUEST_DATE - dt.timedelta(days=REQUEST_DAY - term.number)).isoformat()
        return term.number
    return vocabulary.value_of_constant(f, term.name)


def witness_case(symbols: list[Symbol], case_id: str, title: str = "generated by mrs-asp check"
                 ) -> dict:
    """A generated model's case facts as a case in the format of SPEC section 1."""
    case: dict[str, Any] = {"id": case_id, "title": title, "request": {
        vocabulary.field(link).name: (REQUEST_DATE.isoformat() if link == "request.date"
                                      else value) for link, value in FIXED.items()}}
    case["request"] = {f.name: case["request"][f.name] for f in vocabulary.fields("request")
                       if f.name in case["request"]}
    entries: dict[str, dict[int, dict]] = {}
    for s in symbols:
        if s.name not in CASE_PREDICATES:
            continue
        members = vocabulary.fields_of_fact(s.name)
        group = vocabulary.GROUPS[members[0].group]
        args = s.arguments[1:]
        if group.repeats:
            target = entries.setdefault(group.name, {}).setdefault(args[0].number, {})
            args = args[1:]
        else:
            target = case.setdefault(group.name, {})
        if members[0].keyed:
            f = vocabulary.field(f"{group.name}.{args[0].name}")
            target[f.name] = _value(f, args[1])
        else:
            for f, term in zip(members, args):
                target[f.name] = _value(f, term)
    for name in ("request", "patient", "findings"):
        if name in case:  # members in declaration order
            order = [f.name for f in vocabulary.fields(name)]
            case[name] = {k: case[name][k] for k in sorted(case[name], key=order.index)}
    for name, found in entries.items():
        order = [f.name for f in vocabulary.fields(name)]
        case[name] = [{k: e[k] for k in order if k in e} for _, e in sorted(found.items())]
    ordered = [m.name for m in vocabulary.CASE_MEMBERS]
    return {k: case[k] for k in sorted(case, key=ordered.index)}
