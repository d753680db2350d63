"""Policy checks over the space of all valid cases (not just the library).

clingo grounds the knowledge base together with ``case_space.lp`` (a choice
over the whole case vocabulary) once; each question is then a solver call
with a few external atoms switched on: "can indication path P hold together
with non-indication N?", "can criterion C hold at all?", "does A imply B?".
A satisfiable question comes back with a witness case, minimal in documented
facts, that validates against SPEC section 1 and that ``decide`` is checked to
agree with.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

from clingo import Function, Symbol, ast
from jsonpointer import JsonPointer

from .answer import decide
from .loading import case_from_data
from .findings import Finding
from .kb import KnowledgeBase
from .space import CASE_PREDICATES, REQUEST_DATE, space_statements, witness_case

__all__ = ["CASE_PREDICATES", "CaseSpace", "REQUEST_DATE", "brief", "check_kb",
           "in_case_words", "indication_paths", "space_statements", "witness_case"]


class CaseSpace:
    """One grounding of a KB over every valid case; questions are solver calls."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        ctl = kb.control("check", ["--opt-strategy=usc"])
        with ast.ProgramBuilder(ctl) as builder:
            for statement in space_statements(tuple(kb.windows)):
                builder.add(statement)
        ctl.ground([("base", [])])
        self._ctl = ctl
        self._serial = 0

    def ask(self, holds=(), fails=(), determination: str | None = None, lean=False,
            single_entry=False, witness=True) -> dict | bool | None:
        """A witness case (or True when ``witness`` is False) if one exists, else None."""
        switches = [Function("require_holds", [Function(c)]) for c in holds]
        switches += [Function("require_fails", [Function(c)]) for c in fails]
        if determination:
            switches.append(Function("require_determination", [Function(determination)]))
        if lean:
            switches.append(Function("lean"))
        if single_entry:
            switches.append(Function("single_entry"))
        ctl = self._ctl
        for s in switches:
            ctl.assign_external(s, True)
        ctl.configuration.solve.opt_mode = "opt" if witness else "ignore"
        found: list[list[Symbol]] = []
        try:
            result = ctl.solve(on_model=lambda m: found.append(
                [s for s in m.symbols(atoms=True) if s.name in CASE_PREDICATES]))
        finally:
            for s in switches:
                ctl.assign_external(s, False)
        if not result.satisfiable:
            return None
        if not witness:
            return True
        self._serial += 1
        return witness_case(found[-1], f"witness-{self._serial:03d}")


def indication_paths(kb: KnowledgeBase, node: str | None = None) -> list[list[str]]:
    """Every way ``node`` (by default the root of the indication tree,
    ``indicated``) can hold, as the leaf criteria it needs."""
    if node is None:
        node = kb.root("indication")
    kind = kb.nodes.get(node)
    if kind is None:
        return [[node]]
    parts = [indication_paths(kb, child) for child in kb.parts[node]]
    if kind == "any":
        return [path for alternatives in parts for path in alternatives]
    return [list(itertools.chain.from_iterable(combo)) for combo in itertools.product(*parts)]


def _v(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else value


def brief(case: dict) -> str:
    """A witness in one line: what it documents."""
    bits = []
    for s in case.get("imaging", ()):
        bits.append(f"{s['modality']} {s['body_region']} {s['date']}"
                    + (f" {s['result']}" if "result" in s else ""))
    for k, v in case.get("findings", {}).items():
        bits.append(f"{k}={_v(v)}" if v is not True else k)
    for i in case.get("implants", ()):
        bits.append(f"{i['kind']}(" + ", ".join(f"{k}={_v(v)}" for k, v in i.items()
                                                 if k != "kind") + ")")
    for b in case.get("foreign_bodies", ()):
        bits.append("foreign body(" + ", ".join(f"{k}={_v(v)}" for k, v in b.items()) + ")")
    for k, v in case.get("patient", {}).items():
        bits.append(f"{k}={_v(v)}")
    if "contrast" in case["request"]:
        bits.append(f"contrast={_v(case['request']['contrast'])}")
    return "request " + case["request"]["date"] + ": " + "; ".join(bits)


def in_case_words(case: dict) -> str:
    """A witness as the case a reviewer would write: its JSON (SPEC section 1),
    on one line, without the generated id and title."""
    return json.dumps({k: v for k, v in case.items() if k not in ("id", "title")},
                      separators=(", ", ": "))


def _confirm(space: CaseSpace, case: dict, holds=(), fails=(), determination=None):
    """The witness must be a valid case that the engine decides as the question says."""
    answer = decide([case_from_data(case)], kb=space.kb.directory, missing=False)[0]
    shown = set(answer.criteria) | set(answer.non_indications) | set(answer.advisories)
    ok = set(holds) <= shown and not (set(fails) & shown) and (
        determination is None or answer.determination == determination)
    if not ok:
        raise RuntimeError(f"case space and engine disagree on {case['id']}: {case}")
    return answer


def _cited(answer, criterion: str) -> list[str]:
    """The evidence the explanation cites for one node."""
    from .explain import walk
    return [p for node in walk(answer.explanation) if node["criterion"] == criterion
            for p in node["evidence"]]


def _path_name(path: list[str]) -> str:
    return " + ".join(path)


def check_kb(kb: KnowledgeBase) -> list[Finding]:
    """Dead criteria, masked paths, conflicts with witnesses, redundant criteria."""
    space = CaseSpace(kb)
    return list(_check(space))


def _check(space: CaseSpace) -> Iterator[Finding]:
    kb = space.kb
    criteria = kb.criteria
    non_indications = kb.ids("non_indication")
    paths = indication_paths(kb)

    # Dead: criteria no valid case satisfies.
    dead = set()
    for cid in sorted(criteria, key=lambda c: criteria[c].rank):
        if space.ask(holds=[cid], witness=False) is None:
            dead.add(cid)
            yield Finding("dead_criterion", "error", (cid,),
                          f"{cid} holds on no valid case: \"{criteria[cid].text}\"")

    for path in paths:
        name = _path_name(path)
        if set(path) & dead:
            continue
        # Masked: the path never leads to approval.
        if space.ask(holds=path, determination="approved", witness=False) is None:
            always = [n for n in non_indications
                      if space.ask(holds=path, fails=[n], witness=False) is None]
            why = (f"every valid case on it shows {', '.join(always)}" if always else
                   "on every valid case some non-indication holds")
            yield Finding("masked_path", "warning", tuple(path),
                          f"indication path {name} never leads to approval: {why}")
        # Conflicts: the path together with each non-indication.
        for ni in non_indications:
            if ni in dead:
                continue
            lean = space.ask(holds=[*path, ni], lean=True)
            if lean is not None:
                answer = _confirm(space, lean, holds=[*path, ni])
                triggers = []
                for pointer in _cited(answer, ni):
                    study = lean["imaging"][int(JsonPointer(pointer).parts[-1])]
                    triggers.append(f"the {study['modality']} of {study['date']} ({pointer})")
                yield Finding(
                    "conflict", "warning", (*path, ni),
                    f"{name} sets off {ni} by its own evidence: "
                    f"{', '.join(triggers) or 'a study the path needs'} satisfies the path and is "
                    f"itself \"{criteria[ni].text}\"; only treatment or new or worsening "
                    f"symptoms let the path approve. Witness: {in_case_words(lean)}", lean)
                continue
            case = space.ask(holds=[*path, ni])
            if case is not None:
                _confirm(space, case, holds=[*path, ni])
                yield Finding("conflict", "info", (*path, ni),
                              f"{name} can hold together with {ni} (the non-indication "
                              f"denies). Witness: {in_case_words(case)}", case)

    # Redundant: a criterion implied by another of the same kind.
    leaves = [c for c in criteria if criteria[c].kind == "indication" and c not in kb.nodes]
    for group in (leaves, non_indications):
        for a, b in itertools.permutations(group, 2):
            if a in dead or b in dead:
                continue
            if space.ask(holds=[a], fails=[b], witness=False) is None:
                yield Finding("redundant_criterion", "warning", (a, b),
                              f"{a} implies {b}: no valid case shows {a} without {b}")
    # A non-indication that never decides alone is redundant for the determination.
    for ni in non_indications:
        if ni in dead:
            continue
        others = [n for n in non_indications if n != ni]
        if space.ask(holds=[ni], fails=others, witness=False) is None:
            yield Finding("redundant_criterion", "warning", (ni,),
                          f"{ni} never holds alone: another non-indication always denies too")
    # Covered twice: one implant or foreign body sets off two non-indications.
    for a, b in itertools.combinations(non_indications, 2):
        case = space.ask(holds=[a, b], single_entry=True)
        if case is not None:
            _confirm(space, case, holds=[a, b])
            yield Finding("overlap", "info", (a, b),
                          f"one entry sets off both {a} and {b} (the guideline words overlap). "
                          f"Witness: {in_case_words(case)}", case)
    yield from _not_compiled(kb)


def _not_compiled(kb: KnowledgeBase) -> Iterator[Finding]:
    """Where the KB does not compile (mrs_asp/compiled.py): choice rules,
    aggregates, cycles through negation... The answers do not change (clingo
    decides those cases), only the speed, so it is info, said once per mode."""
    from .warm import warm_engine_for
    warm = warm_engine_for(kb.directory)  # the one the witnesses were decided on
    for mode, what in (("explain", "batches without what is missing (evaluate --no-missing)"),
                       ("evaluate", "warm single decisions (serve, the library's one case)")):
        refusal = warm.compiled(mode).refusal
        if refusal is not None:
            yield Finding("not_compiled", "info", (),
                          f"the {mode} mode does not compile ({refusal}): {what} are "
                          f"decided by clingo instead: the same answers, slower")
