"""The answer for one case (SPEC section 5) and how it is computed.

``decide`` is the library's front door: cases in, answers out. It grounds the
knowledge base once per batch of cases (a single case goes to the warm engine,
mrs_asp/warm.py), and asks what is missing only for the denied ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path


from .abduce import MAX_ALTERNATIVES, Abduction, Ways, filled, why_nothing_is_missing
from .cases import Case
from .engine import Atoms, Engine
from .loading import LoadedCase, checked_case
from .explain import build_explanation
from .kb import KnowledgeBase, default_kb_dir

__all__ = ["Answer", "decide", "engine_for"]


@dataclass
class Answer:
    id: str
    determination: str
    criteria: list[str]
    non_indications: list[str]
    advisories: list[str]
    explanation: dict
    missing: list[dict] = field(default_factory=list)
    required: list[dict] = field(default_factory=list)
    # Why `missing` is empty for a denied case (SPEC section 4), when it was computed.
    why_nothing_missing: list[dict] | None = None
    # How many alternatives exist when `missing` lists fewer (max_alternatives), else None.
    missing_total: int | None = None
    # `missing` in its factored form with each part's effect, for the text answer.
    ways: Ways | None = None
    # False when what is missing was not computed (decide(missing=False)): the CLI's
    # JSON answer (--no-missing) then leaves `missing` and `required` out, rather than
    # an empty list that would read as "nothing is missing" (mrs_asp.report.answer_json).
    missing_computed: bool = True

    def to_json(self) -> dict:
        """The JSON answer of SPEC section 5, plus ``why_nothing_missing`` when that
        applies and, when ``missing`` is cut at ``max_alternatives``,
        ``missing_truncated: true`` and ``missing_total`` (how many alternatives
        exist; ``missing`` holds the smallest of them, ``required`` is over all)."""
        out = {
            "id": self.id,
            "determination": self.determination,
            "criteria": self.criteria,
            "non_indications": self.non_indications,
            "advisories": self.advisories,
            "explanation": self.explanation,
            "missing": self.missing,
            "required": self.required,
        }
        if self.why_nothing_missing is not None:
            out["why_nothing_missing"] = self.why_nothing_missing
        if self.missing_total is not None:
            out["missing_truncated"] = True
            out["missing_total"] = self.missing_total
        return out


@lru_cache(maxsize=8)
def _engine(directory: Path) -> Engine:
    knowledge = KnowledgeBase(directory)
    knowledge.validate()  # a broken KB is refused before any case is decided
    return Engine(knowledge)


def engine_for(kb: str | Path | None = None) -> Engine:
    """The (cached) engine for a knowledge-base directory; the shipped kb/ by default."""
    return _engine(Path(kb).resolve() if kb is not None else default_kb_dir().resolve())


def _valid(case: Case | LoadedCase | dict, number: int) -> Case:
    if isinstance(case, LoadedCase):
        return case.case if case._checked else checked_case(case.case, case.source)
    return checked_case(case, f"(case {number})")


def decide(cases: Iterable[Case | LoadedCase | dict], *, kb: str | Path | None = None,
           missing: bool = True, max_alternatives: int | None = MAX_ALTERNATIVES,
           warm: bool = True) -> list[Answer]:
    """Answers for ``cases``, in order. ``missing=False`` skips the abduction.

    ``missing`` lists at most ``max_alternatives`` alternatives, the smallest
    (``None`` or 0: all of them); a cut answer says how many exist.

    A single case is decided by the process's warm engine (mrs_asp/warm.py):
    the knowledge base stays grounded between calls, and the first call
    builds it (a tenth of a second). Several cases are grounded together,
    once per batch, and what is missing for the denied ones is asked of the
    warm engine, case by case (a fraction of what a batch grounding of the
    abduction costs). ``warm=False`` uses batch groundings alone, which is
    cheaper for a process that decides one case once (the command line).

    A case is a :class:`LoadedCase` from the readers of :mod:`mrs_asp.loading`
    (known valid), a :class:`Case` or a LoadedCase built by hand, or plain
    JSON data (a dict); the last three are validated first, since a Case's
    constructor checks nothing.  Any invalid case raises
    :class:`~mrs_asp.case_errors.CaseError` (its ``errors`` list every error
    of that case; the source is ``(case N)``, N counted from 0, or the
    LoadedCase's) before anything is decided.
    """
    plain: Sequence[Case] = [_valid(c, i) for i, c in enumerate(cases)]
    if not warm:
        answers = _batch_answers(plain, engine_for(kb), missing, max_alternatives)
    else:
        from .warm import warm_engine_for
        engine = warm_engine_for(kb)
        if len(plain) == 1:
            answers = [engine.decide(plain[0], missing, max_alternatives)]
        else:
            answers = _batch_answers(plain, engine_for(kb), missing, max_alternatives, engine)
    if not missing:
        for answer in answers:
            answer.missing_computed = False
    return answers


def _answer_of(case: Case, atoms: Atoms, knowledge: KnowledgeBase) -> Answer:
    """The answer, but for what is missing, from what the KB derived for the case."""
    criteria = knowledge.criteria
    lists: dict[str, list[str]] = {"applicability": [], "indication": [],
                                   "non_indication": [], "advisory": []}
    for cid in sorted(atoms.reported, key=lambda c: criteria[c].rank):
        lists[criteria[cid].kind].append(cid)
    return Answer(
        id=case.id,
        determination=atoms.determination,
        criteria=lists["applicability"] + lists["indication"],
        non_indications=lists["non_indication"],
        advisories=lists["advisory"],
        explanation=build_explanation(atoms, knowledge),
    )


def _with_missing(answers: list[Answer], cases: Sequence[Case], evaluated: Sequence[Atoms],
                  found: Sequence[list[tuple[list[str], list[str]]]],
                  knowledge: KnowledgeBase, max_alternatives: int | None,
                  reported: Callable[[list[Case]], list[set[str]]],
                  unlifted: Sequence[list[tuple[str, str]]]) -> None:
    """Fill in what is missing for denied cases, from the abduction's alternatives.

    ``reported(cases)`` decides filled cases (the criteria that hold in each):
    the effect of each part of an alternative needs the criteria of the case
    with that part documented; all such cases are asked for at once.
    ``unlifted``: for each case without alternatives, the non-indications no
    filling lifts with their triggers (Engine.abduce_why).
    """
    works = [Abduction(alts, case, max_alternatives) for alts, case in zip(found, cases)]
    asks = [(work, filling) for work in works for filling in work.variants()]
    if asks:
        for (work, filling), seen in zip(asks, reported([filled(work.case, filling)
                                                         for work, filling in asks])):
            work.learn(filling, seen)
    for answer, atoms, work, kept in zip(answers, evaluated, works, unlifted):
        answer.missing, answer.required, answer.ways = work.finish(set(atoms.reported),
                                                                   knowledge)
        if work.total > len(answer.missing):
            answer.missing_total = work.total
        if not answer.missing:
            answer.why_nothing_missing = why_nothing_is_missing(
                atoms.beyond_filling + kept, atoms.unreachable, answer.non_indications,
                knowledge)


def _batch_answers(plain: Sequence[Case], engine: Engine, missing: bool,
                   max_alternatives: int | None = MAX_ALTERNATIVES, warm=None) -> list[Answer]:
    """Answers for cases grounded together, a batch at a time (mrs_asp/engine.py);
    what is missing on the warm engine ``warm`` (mrs_asp/warm.py) where given."""
    knowledge = engine.kb
    if missing:
        evaluated = engine.evaluate(plain, why=True)
    else:  # no abduction: the compiled generic grounding where it can (mrs_asp/compiled.py)
        from .compiled import evaluate
        evaluated = evaluate(engine, plain)
    answers = [_answer_of(case, atoms, knowledge) for case, atoms in zip(plain, evaluated)]
    if missing:
        denied = [i for i, a in enumerate(answers) if a.determination == "denied"]
        cases = [plain[i] for i in denied]
        found = _abductions(engine, cases, warm)
        _with_missing([answers[i] for i in denied], cases, [evaluated[i] for i in denied],
                      [alts for alts, _ in found], knowledge, max_alternatives,
                      warm._reported if warm is not None else  # compiled, all at once
                      lambda asked: [set(a.reported) for a in engine.evaluate(asked, why=False)],
                      [unlifted for _, unlifted in found])
    return answers


def _abductions(engine: Engine, cases: Sequence[Case], warm
                ) -> list[tuple[list[tuple[list[str], list[str]]], list[tuple[str, str]]]]:
    """For each case, as :meth:`Engine.abduce_why` gives them: on the warm
    engine where it is given and the case fits its generic grounding, else on
    batch groundings."""
    if warm is None:
        return engine.abduce_why(cases)
    found = [warm.alternatives(case) for case in cases]
    rest = [i for i, got in enumerate(found) if got is None]
    for i, got in zip(rest, engine.abduce_why([cases[i] for i in rest])):
        found[i] = got
    return found
