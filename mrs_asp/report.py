"""Reporting: answers as text for people, as JSON lines for programs."""

from __future__ import annotations

import json
from typing import Any

import msgspec

from .abduce import Part, Ways, describe_operation, is_container
from .answer import Answer
from .cases import Case
from .kb import KnowledgeBase
from .terminal import printable

__all__ = ["answer_json", "answer_text", "case_text", "missing_text", "render", "value_at"]

_STATUS = {"met": "met", "not_met": "not met", "not_documented": "not documented"}


_encode = msgspec.json.Encoder().encode


def answer_json(answer: Answer) -> str:
    """One answer as one line of JSON (UTF-8, compact)."""
    return _encode(_answer_data(answer)).decode()


def json_text(value: Any) -> str:
    """A JSON value as :func:`answer_json` writes it (compact)."""
    return _encode(value).decode()


def _answer_data(answer: Answer) -> dict:
    """The JSON answer as the CLI prints it: without ``missing`` and ``required``
    when they were not computed (--no-missing)."""
    data = answer.to_json()
    if not answer.missing_computed:
        del data["missing"], data["required"]
    return data


def value_at(raw: dict, pointer: str) -> Any:
    """The value an RFC 6901 pointer names in ``raw``, or None where there is none.

    The evidence's pointers are the knowledge base's constants and numbers:
    without a '~' there is nothing to unescape, and the parts are read here,
    so a one-case ``evaluate`` does not import jsonpointer (about 0.6 ms).
    """
    if "~" in pointer:
        from jsonpointer import resolve_pointer
        return resolve_pointer(raw, pointer, None)
    node: Any = raw
    for part in pointer.split("/")[1:]:
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _label(node: dict, kind: str) -> str:
    if kind == "non_indication":
        return "HOLDS, denies" if node["holds"] else "blocked"
    return _STATUS.get(node["status"], node["status"])


def _tree(node: dict, kb: KnowledgeBase, raw: dict | None, prefix: str, last: bool,
          root: bool, lines: list[str]) -> None:
    kind = kb.criteria[node["criterion"]].kind
    mark = "" if root else ("└─ " if last else "├─ ")
    lines.append(f"{prefix}{mark}{node['criterion']} [{_label(node, kind)}] "
                 f"\"{node['text']}\"")
    inner = prefix + ("" if root else ("   " if last else "│  "))
    for pointer in node["evidence"]:
        shown = ""
        if raw is not None:
            value = value_at(raw, pointer)
            if isinstance(value, dict) and "resourceType" in value:  # a FHIR resource
                shown = f" = {value['resourceType']}/{value.get('id', '')}".rstrip("/")
            elif value is not None:
                shown = " = " + json.dumps(value, ensure_ascii=False)
        lines.append(f"{inner}    evidence {pointer}{shown}")
    for i, child in enumerate(node["children"]):
        _tree(child, kb, raw, inner, i == len(node["children"]) - 1, False, lines)


def answer_text(answer: Answer, kb: KnowledgeBase, raw: dict | None = None,
                case: Case | None = None) -> str:
    lines = [f"{answer.id}: {answer.determination.upper().replace('_', ' ')}"]
    if case is not None and case.title:
        lines.append(f"  {case.title}")
    body: list[str] = []
    _tree(answer.explanation, kb, raw, "  ", True, True, body)
    lines += body
    if answer.advisories:
        lines.append("  advisories (they do not change the determination):")
        for cid in answer.advisories:
            lines.append(f"    - {cid}: \"{kb.criteria[cid].text}\"")
    if answer.determination == "denied":
        lines += missing_text(answer, case, kb).splitlines()[1:]
    # One element, one line: a newline or escape sequence in an id or title is shown, not obeyed.
    return "\n".join(printable(line) for line in lines)


def missing_text(answer: Answer, case: Case | None = None,
                 kb: KnowledgeBase | None = None) -> str:
    """What is missing to approve, grouped for a reviewer: what every way needs,
    then the ways, each with what it achieves; the guideline's words once, below."""
    head = f"{printable(answer.id)}: {answer.determination.upper().replace('_', ' ')}"
    if answer.determination != "denied":
        return head + "\n  nothing is missing."
    lines = [head]
    if not answer.missing:
        if answer.why_nothing_missing is None:
            return head
        lines.append("  no documentation can make this request meet the guideline:")
        for reason in answer.why_nothing_missing:
            evidence = ", ".join(reason["evidence"])
            lines.append(f"    - {reason['text']}" + (f" [{evidence}]" if evidence else ""))
        return "\n".join(lines)
    ways = answer.ways or _flat_ways(answer)
    named: list[str] = []

    def effect(part: Part, indent: str) -> None:
        if part.criteria():
            named.extend(c for c in part.criteria() if c not in named)
            lines.append(f"{indent}-> {part.effect()}")

    count = f"{ways.total} way{'s' if ways.total != 1 else ''}"
    if ways.listed < ways.total:
        count += f"; the {ways.listed} smallest are listed, --max-alternatives sets how many"
    lists = [len(group) for group in ways.choices if len(group) > 1]
    if len(lists) > 1:
        count += (": " + ("what every way needs and " if ways.required else "")
                  + "one line of each list below, " + " x ".join(map(str, lists)))
    lines.append(f"  what is missing to approve ({count}):")
    if ways.required is not None:
        lines.append("  document all of:")
        for op in ways.required.operations:
            lines.append(f"    - {describe_operation(op, case)}")
        effect(ways.required, "      ")
    for n, group in enumerate(ways.choices):
        lines.append(("  document " if n == 0 and ways.required is None else "  and ")
                     + ("one of:" if len(group) > 1 else "in each way listed, all of:"))
        if len(group) == 1:  # only in a list cut short: what the listed ways share
            for op in group[0].operations:
                lines.append(f"    - {describe_operation(op, case)}")
            effect(group[0], "      ")
            continue
        for i, part in enumerate(group, 1):
            lines.append(f"    {i}. "
                         + "; and ".join(describe_operation(op, case) for op in part.operations))
            effect(part, " " * (len(str(i)) + 6))
    if kb is not None and named:
        lines.append("  in the guideline's words:")
        for cid in sorted(named, key=lambda c: kb.criteria[c].rank):
            lines.append(f"    {cid}: \"{kb.criteria[cid].text}\"")
    return "\n".join(lines)


def _flat_ways(answer: Answer) -> Ways:
    """The text form of an answer built without one (by hand, say): what every
    way needs, then each alternative's other operations; no effects known."""
    required = [op for op in answer.required if not is_container(op)]
    keys = {json.dumps(op, sort_keys=True) for op in required}
    rest = [Part([op for op in alt["patch"]
                  if not is_container(op) and json.dumps(op, sort_keys=True) not in keys])
            for alt in answer.missing]
    total = answer.missing_total or len(answer.missing)
    return Ways(total, len(answer.missing), Part(required) if required else None,
                [rest] if any(part.operations for part in rest) else [])


def _case_shown(loaded) -> tuple[dict, dict | None]:
    """The case as decided (for a FHIR input, the derived case) and its provenance."""
    from .cases import case_data
    data = case_data(loaded.case)
    data.pop("expected", None)  # the library's, not a fact that was read
    return data, getattr(loaded, "provenance", None)


def case_text(loaded) -> str:
    """``--show-case`` in text: the case as decided, each fact with its sources."""
    data, provenance = _case_shown(loaded)
    lines = [f"{loaded.case.id}: the case as read" + (" from FHIR" if provenance else "")]
    lines += ["  " + line for line in json.dumps(data, indent=2, default=str).splitlines()]
    if provenance:
        notes = getattr(loaded, "notes", {})
        lines.append("  read from:")
        for pointer, sources in provenance.items():
            note = f" ({notes[pointer]})" if pointer in notes else ""
            lines.append(f"    {pointer} <- {', '.join(sources)}{note}")
    return "\n".join(lines) + "\n"


def render(view: str, fmt: str, loaded, answer: Answer, kb: KnowledgeBase,
           show_case: bool = False) -> str:
    """One answer as the CLI prints it: ``view`` is ``evaluate`` or ``missing``,
    ``fmt`` is ``text`` or ``json``; ``show_case`` adds the case as decided (the
    derived case of a FHIR input, with where each fact was read)."""
    if fmt == "json":
        if not show_case:
            return answer_json(answer) + "\n"
        data, provenance = _case_shown(loaded)
        out = _answer_data(answer)
        out["case"] = data
        if provenance is not None:
            out["provenance"] = provenance
        return _encode(out).decode() + "\n"
    shown = case_text(loaded) if show_case else ""
    if view == "missing":
        return shown + missing_text(answer, loaded.case, kb) + "\n\n"
    return shown + answer_text(answer, kb, loaded.raw, loaded.case) + "\n\n"
