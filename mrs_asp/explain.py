"""The explanation tree (SPEC section 3), assembled from what the KB chose.

The knowledge base (kb/70_explanation.lp) decides which nodes are shown, under
which parent, with which status and which evidence (as JSON Pointers, see
engine.pointer_of); this module only nests them into the JSON object of SPEC
section 5, in the guideline's order.
"""

from __future__ import annotations

from .engine import Atoms
from .kb import KnowledgeBase, KnowledgeBaseError
from .pointers import document_order

__all__ = ["build_explanation", "walk"]


def build_explanation(atoms: Atoms, kb: KnowledgeBase) -> dict:
    criteria = kb.criteria
    evidence: dict[str, list[str]] = {}
    for node, ptr in atoms.cites:
        if node in evidence:
            evidence[node].append(ptr)
        else:
            evidence[node] = [ptr]
    parent_of: dict[str, str] = {}
    shown = []
    for node, parent, status in atoms.nodes:
        parent_of[node] = parent
        criterion = criteria.get(node)
        if criterion is not None:
            shown.append((criterion.rank, node, status, criterion.text))
    # Guideline order is depth-first from the root, so a parent is made before
    # its children, and children are appended in the guideline's order.
    shown.sort()
    made: dict[str, dict] = {}
    for _, node, status, text in shown:
        cited = evidence.get(node)
        if cited is None:
            cited = []
        elif len(cited) > 1:
            cited.sort(key=document_order)
        made[node] = made_node = {"criterion": node, "holds": status == "met",
                                  "status": status, "text": text, "evidence": cited,
                                  "children": []}
        parent = parent_of[node]
        steps = 0
        while parent not in made and parent not in criteria and parent in parent_of:
            # an inner node with no id of its own (repeat_circumstance): its parts
            # are shown under its parent
            parent = parent_of[parent]
            steps += 1
            if steps > len(parent_of):  # round a cycle of such nodes, never to the root
                raise _cycle(node, parent, parent_of)
        if parent in made:
            made[parent]["children"].append(made_node)
    return made[kb.root("applicability")]


def _cycle(node: str, start: str, parent_of: dict[str, str]) -> KnowledgeBaseError:
    """The error for a node whose parents go round in a cycle (a malformed KB output)."""
    chain = [start]
    while parent_of[chain[-1]] != start:
        chain.append(parent_of[chain[-1]])
    shown = ", ".join(f"explained(_, {n}, {parent_of[n]}, _)" for n in chain)
    return KnowledgeBaseError(
        f"the knowledge base shows {shown}: the parents of {node} go round in a cycle of "
        f"nodes that are no criteria and never reach the root")


def walk(node: dict):
    """Every node of an explanation tree, depth first."""
    yield node
    for child in node["children"]:
        yield from walk(child)
