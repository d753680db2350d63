"""What is missing to approve: fillings -> RFC 6902 patches, in plain words.

clingo enumerates the subset-minimal sets of fillings (kb/80_abduction.lp);
this module writes each filling as a JSON Patch ``add`` operation (after the
operations that add an absent ``findings`` or ``imaging`` empty), orders the
alternatives (smallest first, then by their operations), finds the operations
common to all of them, and, when there is none, says which documented facts
no filling can lift.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache, lru_cache

import msgspec
from clingo import Symbol, parse_term

from . import vocabulary
from .cases import Case, Findings, case_data, field_description
from .kb import KnowledgeBase
from .pointers import document_order, parts as pointer_parts, pointer

__all__ = ["fill_operation", "Abduction", "Part", "Ways", "factor", "filled", "MAX_ALTERNATIVES",
           "why_nothing_is_missing",
           "describe_operation", "is_container", "container_operations"]


def fill_operation(term: Symbol, case: Case | None) -> dict:
    """One filling (a ``fill/2`` term of the KB) as a JSON Patch operation.

    A filling is the input fact it would add (kb/80_abduction.lp), so the
    declaration of the vocabulary (mrs_asp/vocabulary.py) says which field
    it sets: ``finding(glioma, true)`` -> ``/findings/glioma``,
    ``implant_mr_status(0, conditional)`` -> ``/implants/0/mr_status``;
    ``append(imaging)`` appends the group's declared entry (the only filling
    that reads the case: its entry takes values of the request).
    """
    name, args = term.name, term.arguments
    if name == "append" and len(args) == 1 and args[0].name in vocabulary.GROUPS:
        group = vocabulary.GROUPS[args[0].name]
        value = {}
        for field, fixed in (group.appends or {}).items():
            if isinstance(fixed, vocabulary.FromRequest):
                fixed = getattr(case.request, fixed.name)
                fixed = fixed.isoformat() if hasattr(fixed, "isoformat") else fixed
            value[field] = fixed
        return {"op": "add", "path": pointer([group.name, "-"]), "value": value}
    try:
        members = vocabulary.fields_of_fact(name)
    except KeyError:
        raise ValueError(f"the knowledge base proposed an unknown filling: {term}") from None
    if vocabulary.GROUPS[members[0].group].repeats:
        index, args = args[0].number, args[1:]
    else:
        index = None
    if members[0].keyed:
        field = vocabulary.field(f"{members[0].group}.{args[0].name}")
    elif len(members) == 1:
        (field,) = members
    else:
        raise ValueError(f"the knowledge base proposed a filling of a whole entry: {term}")
    return {"op": "add", "path": field.pointer(index),
            "value": vocabulary.value_of_constant(field, args[-1].name)}


# SPEC section 4: "where the case lacks the object or array that an operation
# fills (findings, imaging), the patch first adds it empty". Implants and foreign
# bodies are only ever filled inside entries the case already has.
_CONTAINERS = {"findings": {}, "imaging": []}


def is_container(op: dict) -> bool:
    """Whether ``op`` only adds an empty ``findings`` object or ``imaging`` array:
    it documents nothing and does not count when alternatives are compared."""
    path = pointer_parts(op["path"])
    return len(path) == 1 and path[0] in _CONTAINERS and op["value"] == _CONTAINERS[path[0]]


@lru_cache(maxsize=1 << 12)  # the same few hundred paths, over every alternative
def _head(path: str) -> str:
    """The top-level member a patch path is in: ``findings`` of ``/findings/glioma``."""
    return pointer_parts(path)[0]


def container_operations(case: Case, operations: list[dict]) -> list[dict]:
    """The operations that must come first so that ``operations`` apply to the
    case as given under RFC 6902: one per container they fill that it lacks."""
    heads = {_head(op["path"]) for op in operations}
    absent = {"findings": case.findings is None, "imaging": case.imaging is None}
    return [{"op": "add", "path": pointer([name]), "value": type(empty)()}
            for name, empty in _CONTAINERS.items() if name in heads and absent[name]]


def _key(op: dict) -> tuple[str, str]:
    """An operation as a hashable, ordered key: its path and its value as JSON text."""
    return op["path"], _value_text(op["value"])


def _value_text(value) -> str:
    """``json.dumps(value, sort_keys=True)``, without the encoder for the values
    fillings set most (booleans and plain ASCII constants): the keys of a
    case's alternatives are built tens of thousands of times in a run."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is str and value.isascii() and value.isprintable() \
            and '"' not in value and "\\" not in value:
        return f'"{value}"'
    return json.dumps(value, sort_keys=True)


@lru_cache(maxsize=1 << 14)  # the same operations, over every alternative of every case
def _order(key: tuple[str, str]) -> tuple:
    """The sort key of an operation's key: array indexes compared as numbers
    (imaging[2] before imaging[10])."""
    return document_order(key[0]), key[1]


@cache
def _finding_words(name: str) -> str:
    return field_description(Findings, name).rstrip(".")


def describe_operation(op: dict, case: Case | None = None) -> str:
    """An operation in plain words, e.g. 'findings.glioma = true (known or ...)'."""
    path, value = op["path"], op["value"]
    if path == "/imaging/-":
        return (f"an inconclusive MRI of the {value['body_region']} dated {value['date']} "
                f"(appended to imaging)")
    parts = pointer_parts(path)
    where = parts[0] + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in parts[1:])
    said = f"{where} = {json.dumps(value)}"
    if parts[0] == "findings":
        words = _finding_words(parts[1])
        return f"{said} ({words[:1].lower() + words[1:]})" if words else said
    if case is None:
        return said
    index = int(parts[1])
    if parts[0] == "imaging":
        study = case.imaging[index]
        return f"{said} (the {study.modality} of the {study.body_region} dated {study.date})"
    if parts[0] == "implants":
        kind = case.implants[index].kind.replace("_", " ")
        if parts[2] == "mr_status":
            return f"{said} (the {kind} is MR-{value})"
        return f"{said} (the {kind} is not metallic)"
    location = case.foreign_bodies[index].location.replace("_", " ")
    return f"{said} (the foreign body in the {location} is not metallic)"


# -- the alternatives, their effects and their factored form -----------------

MAX_ALTERNATIVES = 2000
"""How many alternatives an answer lists by default (``--max-alternatives``).

SPEC section 4 asks for *every* subset-minimal alternative; issue 13 asks for a
bound on what one small case can make us print.  Under the input limits
(``cases.py``: 50 studies, 20 implants, 20 foreign bodies) a valid case has at
most about 13 conditions x 50 studies x 3 blockers = 1,950 alternatives, so a
default of 2,000 keeps the list complete, as SPEC says, for every case within
the limits, and still bounds the output of anything else.  The work itself is
bounded by the input limits, not by this cap (every alternative is enumerated
to compute ``required``)."""

_FACTOR_LIMIT = 2000  # beyond this many listed alternatives the text stays flat


@dataclass(slots=True)
class Part:
    """Some operations of an alternative and what they change: the leaf
    criteria they meet, the non-indications they lift and those they set off,
    against the case (for what every way needs) or against the case with what
    every way needs (for each choice)."""

    operations: list[dict]
    meets: list[str] = field(default_factory=list)
    lifts: list[str] = field(default_factory=list)
    sets_off: list[str] = field(default_factory=list)

    def criteria(self) -> list[str]:
        return self.meets + self.lifts + self.sets_off

    def effect(self, kb: KnowledgeBase | None = None) -> str:
        """'meets a; lifts b', with the guideline's words when ``kb`` is given."""
        def named(c: str) -> str:
            return f"{c} (\"{kb.criteria[c].text}\")" if kb is not None else c
        return ", ".join([f"meets {named(c)}" for c in self.meets]
                         + [f"lifts {named(c)}" for c in self.lifts]
                         + [f"sets off {named(c)}" for c in self.sets_off])


@dataclass(slots=True)
class Ways:
    """``missing`` in its factored form, for the text answer: what every way
    needs (``required``), then each independent choice once; a complete
    alternative is ``required`` plus one part of each choice. ``total`` counts
    the alternatives that exist, ``listed`` those the answer lists (SPEC 4's
    list, cut at ``--max-alternatives``): the product of the choices' sizes."""

    total: int
    listed: int
    required: Part | None
    choices: list[list[Part]]


def _changes(before: set[str], after: set[str], kb: KnowledgeBase, part: Part) -> Part:
    criteria = kb.criteria

    def ranked(ids: set[str], kind: str) -> list[str]:
        return sorted((c for c in ids if criteria[c].kind == kind
                       and (kind != "indication" or c not in kb.nodes)),
                      key=lambda c: criteria[c].rank)
    part.meets = ranked(after - before, "indication")
    part.lifts = ranked(before - after, "non_indication")
    part.sets_off = ranked(after - before, "non_indication")
    return part


def _same(item):
    return item


def factor(family: list[frozenset], order=_same) -> list[list[frozenset]]:
    """The finest split of a family of sets into independent choices: groups
    of disjoint operations such that the family is exactly every union of one
    choice from each group. ``[family]`` when it is no such product.

    For the block of an operation u: an operation v whose presence depends on
    which part of the block an alternative takes (the block's parts seen with v
    are not all of its parts) belongs to the block too; once closed, the block
    splits off if the family has exactly (its parts) x (the rest's parts)
    members. Each block found that way is one group; the rest is split the same
    way. ``order`` sorts the members' items (the first item seeds a block).
    """
    if len(family) < 4 or len(family) > _FACTOR_LIMIT:  # a product has 2 x 2 at least
        return [family]
    groups: list[list[frozenset]] = []
    rest = set(family)
    universe = set().union(*family)
    while True:
        block = {min(universe, key=order)}
        while True:
            parts = {alt & block for alt in rest}
            seen: dict = {}
            for alt in rest:
                p = alt & block
                for v in alt - block:
                    seen.setdefault(v, set()).add(p)
            grow = {v for v, with_v in seen.items() if len(with_v) != len(parts)}
            if not grow:
                break
            block |= grow
        if block == universe:
            groups.append(list(rest))
            break
        parts = {alt & block for alt in rest}
        others = {alt - block for alt in rest}
        if len(parts) * len(others) != len(rest):  # not a product after all: one group
            groups.append(list(rest))
            break
        groups.append(list(parts))
        rest, universe = others, universe - block
    if len(groups) == 1:
        return [family]
    # Operations that every member shares (only in a list cut short: over the
    # whole family they would be required) make one group of one choice.
    single = [g[0] for g in groups if len(g) == 1]
    groups = [g for g in groups if len(g) > 1] + ([[frozenset().union(*single)]] if single else [])
    return sorted(groups, key=lambda g: (len(g) > 1, min(map(order, set().union(*g)))))


def _placed(operation: dict) -> tuple[tuple, tuple[str, str], dict]:
    """(sort key, key, operation) of an operation."""
    key = _key(operation)
    return _order(key), key, operation


@lru_cache(maxsize=1 << 12)
def _filling(term: str) -> tuple[tuple, tuple[str, str], dict]:
    """:func:`_placed` of a filling other than ``append(...)``, whose operation
    is the term's alone (fill_operation reads the case only for an appended
    entry). Kept: cases share most of their fillings."""
    return _placed(fill_operation(parse_term(term), None))


class Abduction:
    """What is missing for one denied case, from clingo's subset-minimal sets
    of fillings to the answer's ``missing``, ``required`` and text form.

    Built in two steps: ``variants`` names the filled cases whose criteria the
    effects need (the case with what every way needs, and with it each choice
    of a factored form); once they are decided, ``finish`` writes the answer.
    """

    def __init__(self, found: list[tuple[list[str], list[str]]], case: Case,
                 limit: int | None = MAX_ALTERNATIVES) -> None:
        self.case = case
        items = []
        # Many alternatives share their fillings (terms as text, from
        # engine.read_alternative): each is parsed and written out once.
        written: dict[str, tuple[tuple, tuple[str, str], dict]] = {}
        for fills, achieved in found:
            ops = []
            for term in fills:
                op = written.get(term)
                if op is None:
                    if term.startswith("append("):  # its entry takes values of the case
                        op = _placed(fill_operation(parse_term(term), case))
                    else:  # the same for every case: parsed once per process
                        order, key, operation = _filling(term)
                        op = (order, key, dict(operation))  # the answer's own
                    written[term] = op
                ops.append(op)
            ops.sort(key=lambda op: op[0])
            items.append((len(ops), [op[0] for op in ops], [op[2] for op in ops], achieved,
                          [op[1] for op in ops]))
        # Smallest first (SPEC 4), counting only the operations that document
        # something, then by the operations.
        items.sort(key=lambda item: (item[0], item[1]))
        self.total = len(items)
        # Required in every way: over every alternative, listed or not.
        common = set.intersection(*(set(item[4]) for item in items)) if items else set()
        heads = [{_head(key[0]) for key in item[4]} for item in items]
        everywhere = set.intersection(*heads) if heads else set()
        listed = items[:limit] if limit else items
        self.required = [op for op in listed[0][2] if _key(op) in common] if listed else []
        self.required_containers = container_operations(
            case, [op for op in listed[0][2] if _head(op["path"]) in everywhere]
        ) if listed else []
        self.listed = [(filling, set(achieved)) for _, _, filling, achieved, _ in listed]
        #: each listed alternative's operations as keys (built once, read thrice)
        self.listed_keys = [frozenset(keys) for *_, keys in listed]
        self.ops = {key: op for _, _, filling, _, keys in listed
                    for key, op in zip(keys, filling)}
        residuals = [keys - common for keys in self.listed_keys]
        self.choices = factor(residuals, _order) if residuals and residuals[0] else []
        self.learned: dict[frozenset, set[str]] = {}

    def _operations(self, keys) -> list[dict]:
        return [self.ops[k] for k in sorted(keys, key=_order)]

    def variants(self) -> list[list[dict]]:
        """The fillings whose cases must be decided for the effects."""
        asks = []
        if self.required and self.choices:
            asks.append(self.required)
        if len(self.choices) > 1:
            for group in self.choices:
                asks += [self.required + self._operations(choice) for choice in group]
        return asks

    def learn(self, filling: list[dict], reported: set[str]) -> None:
        self.learned[frozenset(_key(op) for op in filling)] = reported

    def finish(self, reported: set[str], kb: KnowledgeBase) -> tuple[list[dict], list[dict], Ways]:
        """``missing``, ``required`` and the text form, each part credited with
        only what it changes beyond what every way needs."""
        case = self.case
        if not self.listed:
            return [], [], Ways(0, 0, None, [])
        base_keys = frozenset(_key(op) for op in self.required)
        if not self.choices:  # one way: all of it required
            baseline = self.listed[0][1]
        else:
            baseline = self.learned.get(base_keys, reported) if self.required else reported
        required = (_changes(reported, baseline, kb, Part(self.required))
                    if self.required else None)
        by_alternative = {keys: achieved
                          for keys, (_, achieved) in zip(self.listed_keys, self.listed)}
        choices: list[list[Part]] = []
        words: dict[frozenset, str] = {}  # each part in words, once

        def said(part: Part) -> str:
            return (", ".join(describe_operation(op, case) for op in part.operations)
                    + (f" -- {part.effect(kb)}" if part.criteria() else ""))
        part_of: list[dict[frozenset, Part]] = []
        for group in self.choices:
            parts = {}
            for choice in sorted(group, key=lambda c: (len(c), sorted(map(_order, c)))):
                after = (self.learned.get(base_keys | choice) if len(self.choices) > 1
                         else by_alternative[base_keys | choice])
                parts[choice] = _changes(baseline, after if after is not None else baseline,
                                         kb, Part(self._operations(choice)))
                words[choice] = said(parts[choice])
            choices.append(list(parts.values()))
            part_of.append(parts)
        head = [said(required)] if required else []
        missing = []
        for keys, (filling, _) in zip(self.listed_keys, self.listed):
            rest = keys - base_keys
            if len(part_of) == 1:
                mine = [rest] if rest else []
            else:  # one choice of each group (a factored list is at most _FACTOR_LIMIT long)
                mine = [next(c for c in parts if c <= rest) for parts in part_of]
            text = "document " + "; and ".join(head + [words[c] for c in mine])
            missing.append({"patch": container_operations(case, filling) + filling,
                            "text": text})
        return (missing, self.required_containers + self.required,
                Ways(self.total, len(self.listed), required, choices))


def filled(case: Case, filling: list[dict]) -> Case:
    """The case with the documenting operations of one (part of an) alternative
    applied, as the knowledge base would see it once documented: for the
    effects of each part. (The patches themselves are checked against the
    ``jsonpatch`` library in the tests.)"""
    data = case_data(case)
    for op in filling:
        head, *rest = pointer_parts(op["path"])
        if rest == ["-"]:
            data.setdefault(head, []).append(op["value"])
        elif len(rest) == 1:
            data.setdefault(head, {})[rest[0]] = op["value"]
        else:
            index, name = rest
            data[head][int(index)][name] = op["value"]
    return msgspec.convert(data, Case)


def why_nothing_is_missing(beyond: list[tuple[str, str | None]], unreachable: bool,
                           non_indications: list[str], kb: KnowledgeBase) -> list[dict]:
    """The documented facts no filling can lift, by criterion."""
    criteria = kb.criteria
    by_criterion: dict[str, list[str]] = {}
    for criterion, ptr in beyond:
        relevant = (criterion in non_indications) or (
            unreachable and criteria.get(criterion) is not None
            and criteria[criterion].kind == "indication")
        if relevant:
            evidence = by_criterion.setdefault(criterion, [])
            if ptr is not None:
                evidence.append(ptr)
    reasons = []
    for criterion in sorted(by_criterion, key=lambda c: criteria[c].rank):
        kind = criteria[criterion].kind
        verdict = ("holds, and no documentation can lift it" if kind == "non_indication"
                   else "cannot be met by documenting anything more")
        reasons.append({"criterion": criterion, "evidence": sorted(set(by_criterion[criterion])),
                        "text": f"{criterion} {verdict}: \"{criteria[criterion].text}\""})
    if not reasons:
        reasons.append({"criterion": kb.root("indication"), "evidence": [],
                        "text": "no combination of the allowed fillings meets an indication "
                                "without also setting off a non-indication"})
    return reasons
