"""The warm engine: one generic grounding per process, kept, and each case
decided on it by assumptions (its input atoms set true or false).

A batch grounding (mrs_asp/engine.py) builds a new ``Control``, replays the
knowledge base and grounds it for the cases at hand: about 8 ms for a single
case, every time. The warm engine grounds the knowledge base once for a
*generic* case (case number 0) whose input atoms (kb/00_case_facts.lp) are
all external: every finding with every value, every study slot with every
modality, region and age, and so on. Deciding a case is then one solve call
with exactly that case's input atoms true and every other one false. The knowledge base is stratified, so the solver only propagates:
there is one answer set, the same one a batch grounding of the case has.
What is missing is asked of a second generic grounding, the abduction layer
with ``abduce(0)`` true, on the same inputs.

The generic domain is bounded, so some cases lie beyond it and are decided by
the batch path instead (the answer is the same, only slower):

- more studies, implants or foreign bodies than :class:`Slots` allows;
- (nothing else today: every other input field is an enumeration, a boolean,
  a date or the CPT code, all covered below).

How a case's values map onto the generic ones, and why the answer does not
change:

- dates: the rules read a study's date only as its days before the request,
  compared with the windows the knowledge base declares (``window/3``,
  kb/10_concepts.lp). The ends of the windows cut the days into spans in
  which every rule answers alike; the generic case has one study age per
  span, and a study takes the age of the span its days fall in. The bounds
  are read from kb/, so a bound changed there changes both the rules and the
  spans.
- the CPT code: the rules compare it with the codes they name
  (``request_cpt(Case, "76390")``); any other code stands for all the others.
- everything else keeps its own value.

Usage, for a long-running process such as ``mrs-asp serve``::

    from mrs_asp.warm import warm_engine_for
    engine = warm_engine_for()          # the shipped kb/; built once per process
    answer = engine.decide(case)        # an Answer, what is missing included

``engine.decide`` gives byte-identical answers to :func:`mrs_asp.decide`
(tests/test_warm.py proves it on the case library and on generated cases).
One ``WarmEngine`` is not thread-safe: a threaded server keeps one per thread
or serialises the calls (a decision takes well under a millisecond).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from itertools import product
from pathlib import Path

import clingo
from clingo import Function, Number, String, Symbol, TruthValue, ast

from .answer import Answer, _answer_of, _batch_answers, _with_missing, engine_for
from .cases import (BODY_REGIONS, FOREIGN_BODY_LOCATIONS, IMPLANT_KINDS, MODALITIES, MR_STATUSES,
                    RESULTS, SYMPTOMS, Case, Findings, LoadedCase, day_number)
from .engine import ABDUCTION_OPTIONS, Atoms, Engine, read_alternative, read_atoms
from .facts import CaseFeed
from .kb import KnowledgeBase

__all__ = ["Slots", "WarmEngine", "warm_engine_for"]


@dataclass(frozen=True)
class Slots:
    """How many entries of each list the generic case has room for."""

    studies: int = 6
    implants: int = 4
    foreign_bodies: int = 3


#: The request date of the generic case, as a day number (any number does:
#: only differences of days are read).
_REQUEST_DAY = 1_000_000

_PATIENT_FIELDS = ("pregnant", "claustrophobic", "renal_insufficiency",
                   "gadolinium_contraindicated")
_OTHER_CPT = ""  # stands for every code the KB does not name (a case's cpt is never empty)
_BOOLS = ("true", "false")


def window_ages(windows: list[tuple[int, int | None]]) -> list[int]:
    """One age (days before the request) per span of days the windows cut the
    line into: the first day of each span, and the day before the first."""
    cuts = sorted({b for start, end in windows
                   for b in (start, None if end is None else end + 1) if b is not None})
    return [cuts[0] - 1, *cuts] if cuts else [0]


def _age_of(days: int, ages: list[int]) -> int:
    """The generic age standing for ``days``: that of its span."""
    chosen = ages[0]
    for age in ages[1:]:
        if age <= days:
            chosen = age
        else:
            break
    return chosen


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_CPT_IN_RULES = re.compile(r'request_cpt\(\s*\w+\s*,\s*("(?:[^"\\]|\\.)*")\s*\)')


def _constants_named(texts: list[str]) -> set[str]:
    """The constants the rules name (outside strings): 'mri', 'pacemaker', ..."""
    return {word for text in texts if not text.startswith("%")  # comments are statements too
            for word in re.findall(r"(?<![\w'])[a-z][\w']*", _STRING.sub("", text))}


class _Values:
    """How the values of one enumerated argument map onto the generic ones.

    The values the KB names keep their own; the others act alike in every
    rule (which can only compare them for equality with the named ones), so
    the first of them stands for all (XR and US are both "some other
    modality" to the rules)."""

    def __init__(self, values: tuple[str, ...], named: set[str]) -> None:
        constants = [v.lower() for v in values]
        kept = [v for v in constants if v in named]
        unnamed = [v for v in constants if v not in named]
        self.domain = kept + unnamed[:1]
        self.of = {v: (v if v in named else unnamed[0]) for v in constants}


class _Domain:
    """The generic case's input atoms, and where a case's facts land among them."""

    def __init__(self, slots: Slots, ages: list[int], texts: list[str]) -> None:
        named = _constants_named(texts)
        self.cpts = sorted({m.group(1)[1:-1] for text in texts
                            for m in _CPT_IN_RULES.finditer(text)})
        self.ages = ages
        self.modality = _Values(MODALITIES, named)
        self.kind = _Values(IMPLANT_KINDS, named)
        self.location = _Values(FOREIGN_BODY_LOCATIONS, named)
        # Regions: the rules compare a study's region with the request's. Unless
        # they name a region, two values do: the requested one and another.
        regions = [r.lower() for r in BODY_REGIONS]
        self.regions_named = any(r in named for r in regions)
        self.requested, self.another = regions[0], regions[1]
        request_regions = regions if self.regions_named else [self.requested]
        study_regions = regions if self.regions_named else [self.requested, self.another]
        studies, implants, bodies = (range(slots.studies), range(slots.implants),
                                     range(slots.foreign_bodies))
        findings = [f for f in Findings.__struct_fields__ if f != "symptoms"]
        spec = [
            ("request_cpt", [[*self.cpts, _OTHER_CPT]]),
            ("request_region", [request_regions]),
            ("request_contrast", [_BOOLS]),
            ("patient", [_PATIENT_FIELDS, _BOOLS]),
            ("finding", [findings, _BOOLS]),
            ("finding", [["symptoms"], [s.lower() for s in SYMPTOMS]]),
            ("imaging", [studies, self.modality.domain, study_regions, ages]),
            ("imaging_result", [studies, [r.lower() for r in RESULTS]]),
            ("implant", [implants, self.kind.domain]),
            ("implant_metallic", [implants, _BOOLS]),
            ("implant_mr_status", [implants, [m.lower() for m in MR_STATUSES]]),
            ("foreign_body", [bodies, self.location.domain]),
            ("foreign_body_metallic", [bodies, _BOOLS]),
            ("foreign_body_obscures", [bodies, _BOOLS]),
        ]
        #: every input atom of the generic case, and the position of each by
        #: (predicate, generic arguments)
        self.inputs: list[Symbol] = []
        self.index: dict[tuple, int] = {}
        for name, domains in spec:
            for values in product(*domains):
                self.index[(name, values)] = len(self.inputs)
                arguments = [_make(name, value) for value in values]
                if name == "imaging":  # the study's age, as the day it was taken
                    arguments[3] = Number(_REQUEST_DAY - values[3])
                self.inputs.append(Function(name, [Number(0), *arguments]))

    def positions(self, case: Case) -> list[int] | None:
        """The positions of the case's facts among the inputs; None when one has no place."""
        request = case.request
        request_day = day_number(request.date)
        region = request.body_region.lower()
        index = self.index
        out: list[int] = []
        for name, key in CaseFeed([case]).plain_facts():
            if name == "case" or name == "request_day":
                continue  # facts of the generic case
            if name == "imaging":
                study, modality, where, day = key
                if not self.regions_named:
                    where = self.requested if where == region else self.another
                key = (study, self.modality.of[modality], where,
                       _age_of(request_day - day, self.ages))
            elif name == "request_cpt":
                key = key if key[0] in self.cpts else (_OTHER_CPT,)
            elif name == "request_region":
                key = (region if self.regions_named else self.requested,)
            else:
                key = tuple(_plain(v) for v in key)
                if name == "implant":
                    key = (key[0], self.kind.of[key[1]])
                elif name == "foreign_body":
                    key = (key[0], self.location.of[key[1]])
            position = index.get((name, key))
            if position is None:
                return None
            out.append(position)
        return out


def _plain(value):
    if value is True:
        return "true"
    if value is False:
        return "false"
    return value.lower() if isinstance(value, str) else value


def _make(name: str, value) -> Symbol:
    """The argument symbol of a generic input atom."""
    if name == "request_cpt":
        return String(value)
    if isinstance(value, int):
        return Number(value)
    return Function(value)


class _Heuristics(clingo.Observer):
    """Records the grounding's conditional #heuristic directives."""

    def __init__(self) -> None:
        self.conditional: list[tuple[int, clingo.HeuristicType, int, int]] = []

    def heuristic(self, atom, type, bias, priority, condition) -> None:  # noqa: A002
        if condition:
            self.conditional.append((atom, type, bias, priority))


class _Generic:
    """One grounding of a KB mode for the generic case, its inputs external."""

    def __init__(self, kb: KnowledgeBase, mode: str, inputs: list[Symbol],
                 facts: list[Symbol], options: list[str] | None = None) -> None:
        self.control = ctl = kb.control(mode, options)
        # Stated as statements built from symbols (the vocabulary's, never a
        # case's): `#external` for each input, a fact for each fact.
        where = ast.Location(ast.Position("<generic>", 1, 1), ast.Position("<generic>", 1, 1))

        def atom(symbol: Symbol) -> ast.AST:
            return ast.SymbolicAtom(ast.SymbolicTerm(where, symbol))

        with ast.ProgramBuilder(ctl) as builder:
            for fact in facts:
                builder.add(ast.Rule(where, ast.Literal(where, ast.Sign.NoSign, atom(fact)), []))
            for symbol in inputs:
                builder.add(ast.External(where, atom(symbol), [],
                                         ast.SymbolicTerm(where, Function("false"))))
        heuristics = _Heuristics()
        ctl.register_observer(heuristics)
        ctl.ground([("base", [])])
        if heuristics.conditional:
            # A batch grounding knows each case's facts, so the conditions of
            # the KB's #heuristic directives (fillable/2) are facts there and
            # the directives unconditional; here the conditions hang on the
            # inputs, and clasp's domRec enumeration takes no conditional
            # modifier into account. Each is stated again without its
            # condition: an atom whose condition fails cannot be true anyway
            # (fill/2 is chosen only where fillable/2 holds), so the
            # subset-minimal models are the same (tests/test_warm.py).
            with ctl.backend() as backend:
                for atom, kind, bias, priority in heuristics.conditional:
                    backend.add_heuristic(atom, kind, bias, priority, [])
        atoms = ctl.symbolic_atoms
        #: the program literal of each input atom, in the order of ``inputs``
        self.literals = [atoms[symbol].literal for symbol in inputs]
        self._true: set[int] = set()  # the inputs now assigned true

    def set_case(self, true: list[int]) -> None:
        """Make the inputs at positions ``true`` true and every other one false.

        The inputs are externals, false by default; only the difference from
        the case before is assigned (a few calls rather than one value for
        each of the ~1,000 inputs in every solve call's assumptions).
        """
        wanted = set(true)
        assign, literals = self.control.assign_external, self.literals
        for position in self._true - wanted:
            assign(literals[position], False)
        for position in wanted - self._true:
            assign(literals[position], True)
        self._true = wanted


class WarmEngine:
    """Decides single cases on groundings kept for the life of the process.

    ``decide(case, missing=True) -> Answer`` is the whole API. Cases beyond
    the generic domain (more list entries than :class:`Slots`) are decided by
    the batch path, :func:`mrs_asp.decide`, with the same answer.
    """

    def __init__(self, kb: KnowledgeBase, slots: Slots = Slots()) -> None:
        self.kb = kb
        self.slots = slots
        self._batch = Engine(kb)
        self.domain = domain = _Domain(slots, window_ages(kb.windows), kb.statement_texts())
        inputs = domain.inputs
        facts = [Function("case", [Number(0)]),
                 Function("request_day", [Number(0), Number(_REQUEST_DAY)])]
        self._evaluator = _Generic(kb, "evaluate", inputs, facts)
        self._inputs, self._facts = inputs, facts
        self._abducer: _Generic | None = None  # built when first asked what is missing
        self._lock = threading.Lock()

    # -- the API ----------------------------------------------------------------------
    def decide(self, case: Case | LoadedCase, missing: bool = True) -> Answer:
        """The answer for one case (SPEC section 5), as ``mrs_asp.decide([case])[0]``
        gives it; ``missing=False`` skips what is missing."""
        plain = case.case if isinstance(case, LoadedCase) else case
        true = self._true_inputs(plain)
        if true is None:  # beyond the generic case: today's batch path
            return _batch_answers([plain], self._batch, missing)[0]
        with self._lock:
            atoms = self._evaluate(true)
            answer = _answer_of(plain, atoms, self.kb)
            if missing and answer.determination == "denied":
                _with_missing(answer, plain, atoms, self._abduce(true), self.kb)
        return answer

    def beyond_slots(self, case: Case | LoadedCase) -> bool:
        """Whether the case lies beyond the generic grounding (and goes to the batch path)."""
        return self._true_inputs(case.case if isinstance(case, LoadedCase) else case) is None

    # -- inside -----------------------------------------------------------------------
    def _true_inputs(self, case: Case) -> list[int] | None:
        return self.domain.positions(case)

    def _evaluate(self, true: list[int]) -> Atoms:
        generic = self._evaluator
        result = [Atoms()]
        generic.set_case(true)
        with generic.control.solve(yield_=True) as handle:
            model = handle.model()
            if model is None:  # cannot happen with a stratified KB; say so if it does
                raise RuntimeError("the knowledge base has no answer set for this case")
            read_atoms(model.symbols(shown=True), result)
        return result[0]

    def _abduce(self, true: list[int]) -> list[tuple[list[Symbol], list[str]]]:
        if self._abducer is None:
            self._abducer = _Generic(self.kb, "abduce", self._inputs,
                                     [*self._facts, Function("abduce", [Number(0)])],
                                     ABDUCTION_OPTIONS)
        generic = self._abducer
        alternatives: list[tuple[list[Symbol], list[str]]] = []
        generic.set_case(true)
        generic.control.solve(on_model=lambda model: alternatives.append(read_alternative(model)))
        return alternatives


@lru_cache(maxsize=4)
def _warm(directory: Path) -> WarmEngine:
    return WarmEngine(engine_for(directory).kb)


def warm_engine_for(kb: str | Path | None = None) -> WarmEngine:
    """The process's warm engine for a knowledge-base directory (the shipped
    kb/ by default), built on first use and kept."""
    return _warm(engine_for(kb).kb.directory.resolve())
