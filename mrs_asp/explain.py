"""The explanation tree (SPEC section 3), assembled from what the KB chose.

The knowledge base (kb/70_explanation.lp) decides which nodes are shown, under
which parent, with which status and which evidence (as JSON Pointers, see
engine.pointer_of); this module only nests them into the JSON object of SPEC
section 5, in the guideline's order.
"""

from __future__ import annotations

from .engine import Atoms
from .kb import KnowledgeBase

__all__ = ["build_explanation", "walk"]


def _pointer_order(ptr: str) -> tuple:
    """Document order: /imaging/2 before /imaging/10."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in ptr.split("/"))


def build_explanation(atoms: Atoms, kb: KnowledgeBase) -> dict:
    criteria = kb.criteria
    children: dict[str, list[str]] = {}
    for node, parent in atoms.shown:
        children.setdefault(parent, []).append(node)
    evidence: dict[str, list[str]] = {}
    for node, ptr in atoms.cites:
        evidence.setdefault(node, []).append(ptr)

    def visible_children(node: str) -> list[str]:
        out: list[str] = []
        for child in children.get(node, ()):
            if child in criteria:
                out.append(child)
            else:  # an inner node with no id of its own (repeat_circumstance): hoist its parts
                out.extend(visible_children(child))
        return sorted(out, key=lambda c: criteria[c].rank)

    def render(node: str) -> dict:
        status = atoms.status[node]
        return {
            "criterion": node,
            "holds": status == "met",
            "status": status,
            "text": criteria[node].text,
            "evidence": sorted(evidence.get(node, ()), key=_pointer_order),
            "children": [render(c) for c in visible_children(node)],
        }

    return render("applies")


def walk(node: dict):
    """Every node of an explanation tree, depth first."""
    yield node
    for child in node["children"]:
        yield from walk(child)
