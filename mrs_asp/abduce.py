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

from clingo import Symbol

from . import vocabulary
from .cases import Case, Findings, field_description
from .kb import KnowledgeBase

__all__ = ["fill_operation", "alternatives", "required_operations", "why_nothing_is_missing",
           "describe_operation", "is_container", "container_operations"]


def fill_operation(term: Symbol, case: Case) -> dict:
    """One filling (a ``fill/2`` term of the KB) as a JSON Patch operation.

    A filling is the input fact it would add (kb/80_abduction.lp), so the
    declaration of the vocabulary (mrs_asp/vocabulary.py) says which field
    it sets: ``finding(glioma, true)`` -> ``/findings/glioma``,
    ``implant_mr_status(0, conditional)`` -> ``/implants/0/mr_status``;
    ``append(imaging)`` appends the group's declared entry.
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
        return {"op": "add", "path": f"/{group.name}/-", "value": value}
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
    return op["path"][1:] in _CONTAINERS and op["value"] == _CONTAINERS[op["path"][1:]]


def container_operations(case: Case, operations: list[dict]) -> list[dict]:
    """The operations that must come first so that ``operations`` apply to the
    case as given under RFC 6902: one per container they fill that it lacks."""
    heads = {op["path"].split("/", 2)[1] for op in operations}
    absent = {"findings": case.findings is None, "imaging": case.imaging is None}
    return [{"op": "add", "path": f"/{name}", "value": type(empty)()}
            for name, empty in _CONTAINERS.items() if name in heads and absent[name]]


def _key(op: dict) -> tuple[str, str]:
    return op["path"], json.dumps(op["value"], sort_keys=True)


def describe_operation(op: dict, case: Case | None = None) -> str:
    """An operation in plain words, e.g. 'findings.glioma = true (known or ...)'."""
    path, value = op["path"], op["value"]
    if path == "/imaging/-":
        return (f"an inconclusive MRI of the {value['body_region']} dated {value['date']} "
                f"(appended to imaging)")
    parts = path.strip("/").split("/")
    where = parts[0] + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in parts[1:])
    said = f"{where} = {json.dumps(value)}"
    if parts[0] == "findings":
        words = field_description(Findings, parts[1]).rstrip(".")
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


def alternatives(found: list[tuple[list[Symbol], list[str]]], case: Case,
                 reported: set[str], kb: KnowledgeBase
                 ) -> tuple[list[dict], list[tuple[list[str], list[str]]]]:
    """The answer's ``missing``: every alternative as {"patch", "text"}, smallest first;
    and beside it, for each, the criteria it meets and the non-indications it lifts."""
    criteria = kb.criteria
    out = []
    for fills, achieved in found:
        filling = sorted((fill_operation(t, case) for t in fills), key=_key)
        patch = container_operations(case, filling) + filling
        meets = [c for c in sorted(set(achieved) - reported, key=lambda c: criteria[c].rank)
                 if c not in kb.nodes and criteria[c].kind == "indication"]
        lifts = [c for c in sorted(reported - set(achieved), key=lambda c: criteria[c].rank)
                 if criteria[c].kind == "non_indication"]
        effects = [f"meets {c} (\"{criteria[c].text}\")" for c in meets]
        effects += [f"lifts {c} (\"{criteria[c].text}\")" for c in lifts]
        text = "document " + "; and ".join(describe_operation(op, case) for op in filling)
        if effects:
            text += " -- " + "; ".join(effects)
        out.append(({"patch": patch, "text": text}, (meets, lifts), [_key(op) for op in filling]))
    # Smallest first (SPEC 4), counting only the operations that document something.
    out.sort(key=lambda item: (len(item[2]), item[2]))
    return [alt for alt, _, _ in out], [effect for _, effect, _ in out]


def required_operations(missing: list[dict]) -> list[dict]:
    """The operations that appear in every alternative, in patch order.

    READING (SPEC 4, "marks which operations appear in all of them"): an
    operation that adds an empty container counts here like any other, so
    that ``required`` is itself a patch that applies to the case as given.
    """
    if not missing:
        return []
    common = set.intersection(*({_key(op) for op in alt["patch"]} for alt in missing))
    return [op for op in missing[0]["patch"] if _key(op) in common]


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
        reasons.append({"criterion": "indicated", "evidence": [],
                        "text": "no combination of the allowed fillings meets an indication "
                                "without also setting off a non-indication"})
    return reasons
