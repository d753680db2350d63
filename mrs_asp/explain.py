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
    status: dict[str, str] = {}
    for node, parent, node_status in atoms.nodes:
        children.setdefault(parent, []).append(node)
        status[node] = node_status
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
        if len(out) > 1:
            out.sort(key=lambda c: criteria[c].rank)
        return out

    def render(node: str) -> dict:
        node_status = status[node]
        cited = evidence.get(node, [])
        if len(cited) > 1:
            cited.sort(key=_pointer_order)
        return {
            "criterion": node,
            "holds": node_status == "met",
            "status": node_status,
            "text": criteria[node].text,
            "evidence": cited,
            "children": [render(c) for c in visible_children(node)] if node in children else [],
        }

    return render("applies")


def walk(node: dict):
    """Every node of an explanation tree, depth first."""
    yield node
    for child in node["children"]:
        yield from walk(child)
