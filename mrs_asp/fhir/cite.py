"""An answer of a derived case, told in the FHIR input's terms (FHIR.md F2).

The engine cites pointers into the derived case (``/findings/glioma``,
``/implants/0``); here each becomes the pointers of the FHIR elements that
document that fact. Each ``missing`` alternative keeps its patch of the
derived case and gains ``answers``: the answers to the guideline's
questionnaire (F1) that would document it, as ``{"linkId", "value"}`` for a
question and ``{"linkId": group, "item": [...]}`` for an entry of a repeated
group. A group entry repeats the fields that identify the entry it speaks of
(an implant's kind, a study's modality, region and date), so that, read back,
it is that entry (see ``read.py``).
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from .fields import GROUPS
from ..pointers import parts as pointer_parts

__all__ = ["cite", "answers_of_patch"]

_IDENTIFY = {"imaging": ("modality", "body_region", "date"), "implants": ("kind",),
             "foreign_bodies": ("location",)}


def _fhir_pointers(fc, pointer: str) -> list[str]:
    probe = pointer
    while probe:
        found = fc.provenance.get(probe)
        if found:
            return found
        probe = probe.rsplit("/", 1)[0]
    return [pointer]


def _map(fc, pointers: list[str]) -> list[str]:
    out: list[str] = []
    for pointer in pointers:
        for mapped in _fhir_pointers(fc, pointer):
            if mapped not in out:
                out.append(mapped)
    return out


def _tree(fc, node: dict) -> dict:
    node = dict(node)
    node["evidence"] = _map(fc, node["evidence"])
    node["children"] = [_tree(fc, child) for child in node["children"]]
    return node


def _json_value(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def answers_of_patch(patch: list[dict], case) -> list[dict]:
    """The questionnaire answers that document ``patch`` (on ``case``, the derived case)."""
    out: list[dict] = []
    groups: dict[tuple[str, str], dict] = {}
    for op in patch:
        parts = pointer_parts(op["path"])
        if len(parts) == 1 and parts[0] in ("findings", *GROUPS):
            continue  # an empty container made for the operations after it
        container = parts[0]
        if container not in GROUPS:
            out.append({"linkId": ".".join(parts), "value": op["value"]})
            continue
        if parts[1] == "-":
            value = op["value"]
            out.append({"linkId": container, "item": [
                {"linkId": f"{container}.{k}", "value": v} for k, v in value.items()]})
            continue
        index = int(parts[1])
        entry = getattr(case, container)[index]
        key = (container, parts[1])
        group = groups.get(key)
        if group is None:
            group = {"linkId": container, "item": [
                {"linkId": f"{container}.{name}", "value": _json_value(getattr(entry, name))}
                for name in _IDENTIFY[container]]}
            groups[key] = group
            out.append(group)
        group["item"].append({"linkId": f"{container}.{parts[2]}", "value": op["value"]})
    return out


def cite(fc, answer):
    """A copy of ``answer`` whose pointers are into ``fc``'s FHIR input."""
    missing = []
    for alternative in answer.missing:
        alternative = dict(alternative)
        alternative["answers"] = answers_of_patch(alternative["patch"], fc.case)
        missing.append(alternative)
    why = None
    if answer.why_nothing_missing is not None:
        why = [dict(r, evidence=_map(fc, r["evidence"])) for r in answer.why_nothing_missing]
    return dataclasses.replace(answer, explanation=_tree(fc, answer.explanation),
                               missing=missing, required=copy.deepcopy(answer.required),
                               why_nothing_missing=why)
