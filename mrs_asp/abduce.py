"""What is missing to approve: fillings -> RFC 6902 patches, in plain words.

clingo enumerates the subset-minimal sets of fillings (kb/80_abduction.lp);
this module writes each filling as a JSON Patch ``add`` operation, orders the
alternatives (smallest first, then by their operations), finds the operations
common to all of them, and, when there is none, says which documented facts
no filling can lift.
"""

from __future__ import annotations

import json

from clingo import Symbol

from .cases import Case, Findings, ForeignBody, Implant, Study
from .explain import pointer
from .kb import KnowledgeBase

__all__ = ["fill_operation", "alternatives", "required_operations", "why_nothing_is_missing",
           "describe_operation"]


def _value(term: Symbol):
    name = term.name
    return True if name == "true" else False if name == "false" else name


def fill_operation(term: Symbol, case: Case) -> dict:
    """One filling (a ``fill/2`` term of the KB) as a JSON Patch operation."""
    name, args = term.name, term.arguments
    if name == "finding":
        return {"op": "add", "path": f"/findings/{args[0].name}", "value": _value(args[1])}
    if name == "implant_mr_status":
        return {"op": "add", "path": f"/implants/{args[0].number}/mr_status",
                "value": args[1].name}
    if name == "implant_metallic":
        return {"op": "add", "path": f"/implants/{args[0].number}/metallic", "value": False}
    if name == "foreign_body_metallic":
        return {"op": "add", "path": f"/foreign_bodies/{args[0].number}/metallic", "value": False}
    if name == "result":
        return {"op": "add", "path": f"/imaging/{args[0].number}/result", "value": args[1].name}
    if name == "appended_mri":
        return {"op": "add", "path": "/imaging/-",
                "value": {"modality": "MRI", "body_region": case.request.body_region,
                          "date": case.request.date.isoformat(), "result": "inconclusive"}}
    raise ValueError(f"the knowledge base proposed an unknown filling: {term}")


def _key(op: dict) -> tuple[str, str]:
    return op["path"], json.dumps(op["value"], sort_keys=True)


def _field_words(path: str) -> str:
    parts = path.strip("/").split("/")
    model = {"findings": Findings, "implants": Implant, "foreign_bodies": ForeignBody,
             "imaging": Study}.get(parts[0])
    info = model.model_fields.get(parts[-1]) if model is not None else None
    words = (info.description or "").rstrip(".") if info is not None else ""
    return f" ({words[:1].lower() + words[1:]})" if words else ""


def describe_operation(op: dict) -> str:
    """An operation in plain words, e.g. 'findings.glioma = true (known or ...)'."""
    path = op["path"]
    if path == "/imaging/-":
        v = op["value"]
        return (f"an inconclusive MRI of the {v['body_region']} dated {v['date']} "
                f"(appended to imaging)")
    dotted = ".".join(path.strip("/").split("/"))
    return f"{dotted} = {json.dumps(op['value'])}{_field_words(path)}"


def alternatives(found: list[tuple[list[Symbol], list[str]]], case: Case,
                 reported: set[str], kb: KnowledgeBase) -> list[dict]:
    """The answer's ``missing``: every alternative as {"patch", "text"}, smallest first."""
    criteria = kb.criteria
    out = []
    for fills, achieved in found:
        patch = sorted((fill_operation(t, case) for t in fills), key=_key)
        gained = [c for c in sorted(set(achieved) - reported, key=lambda c: criteria[c].rank)
                  if c not in kb.nodes and criteria[c].kind == "indication"]
        lifted = [c for c in sorted(reported - set(achieved), key=lambda c: criteria[c].rank)
                  if criteria[c].kind == "non_indication"]
        effects = [f"meets {c} (\"{criteria[c].text}\")" for c in gained]
        effects += [f"lifts {c} (\"{criteria[c].text}\")" for c in lifted]
        text = "document " + "; and ".join(describe_operation(op) for op in patch)
        if effects:
            text += " -- " + "; ".join(effects)
        out.append({"patch": patch, "text": text})
    out.sort(key=lambda alt: (len(alt["patch"]), [_key(op) for op in alt["patch"]]))
    return out


def required_operations(missing: list[dict]) -> list[dict]:
    """The operations that appear in every alternative."""
    if not missing:
        return []
    common = set.intersection(*({_key(op) for op in alt["patch"]} for alt in missing))
    return [op for op in missing[0]["patch"] if _key(op) in common]


def why_nothing_is_missing(beyond: list[tuple[str, Symbol]], unreachable: bool,
                           non_indications: list[str], kb: KnowledgeBase) -> list[dict]:
    """The documented facts no filling can lift, by criterion."""
    criteria = kb.criteria
    by_criterion: dict[str, list[str]] = {}
    for criterion, term in beyond:
        relevant = (criterion in non_indications) or (
            unreachable and criteria.get(criterion) is not None
            and criteria[criterion].kind == "indication")
        if relevant:
            evidence = by_criterion.setdefault(criterion, [])
            if term.name == "ptr":
                evidence.append(pointer(term))
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
