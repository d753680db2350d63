"""The explanation tree (SPEC section 3), assembled from what the KB chose.

The knowledge base (kb/70_explanation.lp) decides which nodes are shown, under
which parent, with which status and which evidence; this module only turns
those atoms into the nested JSON object of SPEC section 5 and the pointer
terms into RFC 6901 JSON Pointers.
"""

from __future__ import annotations

from clingo import Symbol, SymbolType

from .engine import Atoms
from .kb import KnowledgeBase

__all__ = ["pointer", "build_explanation", "walk"]


def _part(term: Symbol) -> str:
    if term.type is SymbolType.Number:
        return str(term.number)
    if term.type is SymbolType.String:
        text = term.string
    else:
        text = term.name
    return text.replace("~", "~0").replace("/", "~1")


def pointer(term: Symbol) -> str:
    """``ptr(implants, 0, mr_status)`` -> ``/implants/0/mr_status``."""
    return "/" + "/".join(_part(a) for a in term.arguments)


def build_explanation(atoms: Atoms, kb: KnowledgeBase) -> dict:
    criteria = kb.criteria
    children: dict[str, list[str]] = {}
    for node, parent in atoms.shown:
        children.setdefault(parent, []).append(node)
    evidence: dict[str, list[Symbol]] = {}
    for node, term in atoms.cites:
        evidence.setdefault(node, []).append(term)

    def visible_children(node: str) -> list[str]:
        out: list[str] = []
        for child in children.get(node, ()):
            if child in criteria:
                out.append(child)
            else:  # an inner node with no id of its own (repeat_circumstance): hoist its parts
                out.extend(visible_children(child))
        return sorted(out, key=lambda c: criteria[c].rank)

    def render(node: str) -> dict:
        status = atoms.status.get(node, "not_documented")
        return {
            "criterion": node,
            "holds": status == "met",
            "status": status,
            "text": criteria[node].text,
            "evidence": [pointer(t) for t in sorted(evidence.get(node, ()))],
            "children": [render(c) for c in visible_children(node)],
        }

    return render("applies")


def walk(node: dict):
    """Every node of an explanation tree, depth first."""
    yield node
    for child in node["children"]:
        yield from walk(child)
