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
Where the KB compiles (mrs_asp/compiled.py), that grounding is evaluated as
a bitset function instead of solved (:meth:`WarmEngine.compiled`): the same
atoms, without clasp.
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

import keyword
import re
import threading
from bisect import bisect_right
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import product
from pathlib import Path

import clingo
from clingo import Function, Number, String, Symbol, ast

from . import vocabulary
from .abduce import MAX_ALTERNATIVES
from .answer import Answer, _answer_of, _batch_answers, _with_missing, engine_for
from .cases import Case
from .engine import ABDUCTION_OPTIONS, Atoms, Engine, read_alternative, read_atoms, unlifted_of
from .facts import vocabulary_statements
from .kb import KnowledgeBase, KnowledgeBaseError
from .loading import LoadedCase

__all__ = ["Slots", "WarmEngine", "warm_engine_for"]


@dataclass(frozen=True)
class Slots:
    """How many entries of each repeating group the generic case has room for."""

    imaging: int = 6
    implants: int = 4
    foreign_bodies: int = 3
    other: int = 3  # a repeating group the vocabulary adds later

    def of(self, group: str) -> int:
        return getattr(self, group, self.other)


#: The request date of the generic case, as a day number (any number does:
#: only differences of days are read).
_REQUEST_DAY = 1_000_000

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
    return ages[max(bisect_right(ages, days) - 1, 0)]


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_CPT_IN_RULES = re.compile(r'request_cpt\(\s*\w+\s*,\s*("(?:[^"\\]|\\.)*")\s*\)')


def _constants_named(texts: list[str]) -> set[str]:
    """The constants the rules name (outside strings): 'mri', 'pacemaker', ..."""
    return {word for text in texts if not text.startswith("%")  # comments are statements too
            for word in re.findall(r"(?<![\w'])[a-z][\w']*", _STRING.sub("", text))}


class _Values:
    """How the values of one enumerated field map onto the generic ones.

    The values the KB names keep their own; the others act alike in every
    rule (which can only compare them for equality with the named ones), so
    the first of them stands for all (XR and US are both "some other
    modality" to the rules)."""

    def __init__(self, values: tuple[str, ...], named: set[str]) -> None:
        constants = [vocabulary.constant(v) for v in values]
        kept = [v for v in constants if v in named]
        unnamed = [v for v in constants if v not in named]
        self.domain = kept + unnamed[:1]
        self.of = {v: (v if v in named else unnamed[0]) for v in constants}


class _Domain:
    """The generic case's input atoms, derived from the vocabulary
    (mrs_asp/vocabulary.py), and where a case's facts land among them.

    Each input predicate's arguments (as mrs_asp/facts.py makes them): an
    entry's index for a repeating group (up to its slots), the field's name
    for a keyed fact, and then each field's value: both booleans, the values
    of an enumeration (see :class:`_Values`), the generic ages for a date
    (the request's own date is the generic case's fact), and for a string
    the strings the rules name, plus one that stands for all others.
    """

    def __init__(self, slots: Slots, ages: list[int], texts: list[str]) -> None:
        named = _constants_named(texts)
        strings = {m.group(1)[1:-1] for text in texts for m in _CPT_IN_RULES.finditer(text)}
        self.ages = ages
        self._strings = frozenset(strings)  # the codes the rules name (request_cpt)
        request_fields = {f.values: f.name for f in vocabulary.fields("request")
                          if f.type == "enum"}
        #: per input predicate: its fields and, per field, (domain, value -> generic value)
        self.plans: dict[str, tuple] = {}
        #: each input atom's place: (predicate, its generic arguments) -> position;
        #: the atoms themselves (:attr:`inputs`) are made when first asked for
        self.index: dict[tuple, int] = {}
        for predicate in dict.fromkeys(f.fact for f in vocabulary.fields(facts_only=True)):
            members = vocabulary.fields_of_fact(predicate)
            first = members[0]
            if first.link_id == "request.date":
                continue  # request_day: a fact of the generic case
            repeats = vocabulary.GROUPS[first.group].repeats
            entries = [tuple(range(slots.of(first.group)))] if repeats else []
            mapped = {}
            for f in members:
                if f.type == "boolean":
                    mapped[f.name] = (_BOOLS, None)
                elif f.type == "date":
                    mapped[f.name] = (ages, "age")
                elif f.type == "string":
                    mapped[f.name] = ((*sorted(strings), _OTHER_CPT), "string")
                elif f.type == "enum":
                    values = _Values(f.values, named)
                    shared = request_fields.get(f.values)
                    if shared is not None and not any(v in named for v in values.of):
                        # compared with the request's own value only: the
                        # requested value and another one stand for all
                        requested, another = (vocabulary.constant(v) for v in f.values[:2])
                        domain = ((requested,) if f.group == "request"
                                  else (requested, another))
                        mapped[f.name] = (domain, ("request", shared, requested, another))
                    else:
                        mapped[f.name] = (tuple(values.domain), values.of)
                else:
                    raise ValueError(f"the warm engine cannot range over {f.link_id} ({f.type})")
            if first.keyed:
                combos = [(*e, f.name, v) for f in members
                          for e in product(*entries) for v in mapped[f.name][0]]
            else:
                combos = [(*e, *values) for e in product(*entries)
                          for values in product(*(mapped[f.name][0] for f in members))]
            self.plans[predicate] = (len(entries), first.keyed, members, mapped)
            for key in combos:
                self.index[(predicate, key)] = len(self.index)
        self._readers()

    @cached_property
    def inputs(self) -> list[Symbol]:
        """The generic case's input atoms, in the order of their positions (a
        decision that is compiled and kept needs none of them)."""
        out = []
        for predicate, key in self.index:
            entries, keyed, members, mapped = self.plans[predicate]
            out.append(Function(predicate, [Number(0), *(
                self._symbol(mapped, members, keyed, entries, i, v)
                for i, v in enumerate(key))]))
        return out

    @staticmethod
    def _symbol(mapped, members, keyed: bool, entries: int, i: int, value) -> Symbol:
        if i < entries:
            return Number(value)
        if keyed:  # the field's name, then a boolean's or an enumeration's constant
            return Function(value)
        how = mapped[members[i - entries].name][1]
        if how == "age":
            return Number(_REQUEST_DAY - value)
        if how == "string":
            return String(value)
        return Function(value)

    def _readers(self) -> None:
        """How :meth:`positions` reads each input fact straight off a case.

        Per group of the case (an attribute of the Case): whether it repeats,
        and per input predicate made from it a reader. A *keyed* fact (one
        atom per field, ``finding(Case, glioma, true)``) and a plain fact
        whose fields are all booleans or enumerations are one table from the
        case's own values (``(entry, "glioma", True)``) to the input's
        position. A plain fact with a date, a string or a value compared
        with the request's converts those first, then looks the generic
        values up (``(entry, mri, requested, age)``).

        The facts are the ones mrs_asp/facts.py makes of a case (absent
        fields make none, a plain fact needs all its fields); the tests hold
        the warm and compiled answers byte-identical to the batch path's,
        which goes through facts.py.
        """
        keys: dict[str, list[tuple[tuple, int]]] = {}  # the generic inputs of each predicate
        for (predicate, key), position in self.index.items():
            keys.setdefault(predicate, []).append((key, position))
        groups: dict[str, list[tuple]] = {}
        for predicate, (entries, keyed, members, mapped) in self.plans.items():
            repeats = bool(entries)
            names = tuple(f.name for f in members)
            converts = tuple(mapped[n][1] for n in names)
            if all(how is None or isinstance(how, dict) for how in converts):
                # every value is a boolean's or an enumeration's: the generic
                # mapping inverted, one entry per value a case may give
                field = {f.name: f for f in members}
                table = {}
                for key, position in keys.get(predicate, ()):
                    entry = key[0] if repeats else None
                    if keyed:  # (entry?, field name, value)
                        head, slots = (entry, key[entries]), [(field[key[entries]], key[-1])]
                    else:  # (entry?, value, value, ...)
                        head, slots = (entry,), list(zip(members, key[entries:]))
                    options = [[raw for raw in _raw_values(f)
                                if _generic_of(mapped[f.name][1], raw) == generic]
                               for f, generic in slots]
                    for raws in product(*options):
                        table[(*head, *raws)] = position
                reader = (keyed, names, table, None)
            elif keyed:
                raise ValueError(f"a keyed field is read only as a boolean or an enumeration: "
                                 f"{predicate}")
            else:
                table = {(key[0] if repeats else None, *key[entries:]): position
                         for key, position in keys.get(predicate, ())}
                reader = (False, names, table, converts)
            groups.setdefault(members[0].group, []).append(reader)
        self.readers = tuple((group, vocabulary.GROUPS[group].repeats, tuple(readers))
                             for group, readers in groups.items())
        self.positions = self._compiled_positions() or self.positions_read

    def _compiled_positions(self):
        """:meth:`positions_read` written out as one function of straight-line
        attribute reads and table lookups over the same readers (~2.5 times
        quicker, benchmarks/README.md), or None if a name is no plain identifier (then the readers
        are walked as data).

        The code is made from the vocabulary's field names and the readers'
        shape only, never from a case; the tables stay data, passed in.
        tests/test_warm.py holds the two equal on the library and on
        generated and drawn cases."""
        names = [group for group, _, _ in self.readers]
        for _, _, readers in self.readers:
            for _, fields, _, converts in readers:
                names += fields
                names += [how[1] for how in converts or () if isinstance(how, tuple)]
        if not all(n.isidentifier() and not keyword.iskeyword(n) for n in names):
            return None
        tables: dict[str, object] = {"age_of": _age_of, "ages": self.ages,
                                     "constant": vocabulary.constant,
                                     "strings": self._strings, "OTHER": _OTHER_CPT}
        lines = ["def positions(case):",
                 "    request = case.request",
                 "    request_day = request.date.toordinal()",
                 "    out = []",
                 "    append = out.append"]

        def lookup(indent: str, table: str, key: str) -> None:
            lines.extend([f"{indent}position = {table}.get({key})",
                          f"{indent}if position is None:",
                          f"{indent}    return None",
                          f"{indent}append(position)"])

        for g, (group, repeats, readers) in enumerate(self.readers):
            lines += [f"    part = case.{group}", "    if part is not None:"]
            if repeats:
                lines.append("        for entry, values in enumerate(part):")
                indent = "            "
            else:
                lines.append("        values = part")
                indent = "        "
            for r, (keyed, fields, table, converts) in enumerate(readers):
                name = f"T{g}_{r}"
                tables[name] = table
                if keyed:
                    for f, field in enumerate(fields):
                        lines += [f"{indent}value = values.{field}",
                                  f"{indent}if value is not None:"]
                        if repeats:
                            lookup(indent + "    ", name, f"(entry, {field!r}, value)")
                        else:  # the field's own table: value -> position
                            tables[f"{name}_{f}"] = {key[2]: position
                                                     for key, position in table.items()
                                                     if key[1] == field}
                            lookup(indent + "    ", f"{name}_{f}", "value")
                    continue
                if not repeats:  # without the entry: a value, or (values...) -> position
                    tables[name] = {(key[1] if len(fields) == 1 else key[1:]): position
                                    for key, position in table.items()}
                got = [f"v{i}" for i in range(len(fields))]
                lines += [f"{indent}{v} = values.{field}" for v, field in zip(got, fields)]
                lines.append(f"{indent}if " + " and ".join(f"{v} is not None" for v in got)
                             + ":")
                key = []
                for i, v in enumerate(got):
                    how = None if converts is None else converts[i]
                    if converts is None:
                        key.append(v)
                    elif how is None:
                        key.append(f"constant({v})")
                    elif how == "age":
                        key.append(f"age_of(request_day - {v}.toordinal(), ages)")
                    elif how == "string":
                        key.append(f"({v} if {v} in strings else OTHER)")
                    elif isinstance(how, dict):
                        tables[f"H{g}_{r}_{i}"] = how
                        key.append(f"H{g}_{r}_{i}[constant({v})]")
                    else:  # compared with the request's value
                        _, shared, requested, another = how
                        tables[f"R{g}_{r}_{i}"] = (requested, another)
                        key.append(f"(R{g}_{r}_{i}[0] if {v} == request.{shared} "
                                   f"else R{g}_{r}_{i}[1])")
                lookup(indent + "    ", name, key[0] if len(key) == 1 and not repeats else
                       "(" + ", ".join(["entry", *key] if repeats else key) + ",)")
        lines.append("    return out")
        exec(compile("\n".join(lines) + "\n", "<positions>", "exec"), tables)
        return tables["positions"]

    def positions_read(self, case: Case) -> list[int] | None:
        """The positions of the case's facts among the inputs; None when one has
        no place. (``positions`` is this, compiled: :meth:`_compiled_positions`.)"""
        request = case.request
        request_day = request.date.toordinal()  # cases.day_number
        ages, age_of = self.ages, _age_of
        out: list[int] = []
        append = out.append
        for attribute, repeats, readers in self.readers:
            part = getattr(case, attribute)
            if part is None:
                continue
            for entry, values in (enumerate(part) if repeats else ((None, part),)):
                for keyed, names, table, converts in readers:
                    if keyed:
                        for name in names:
                            value = getattr(values, name)
                            if value is not None:
                                position = table.get((entry, name, value))
                                if position is None:
                                    return None
                                append(position)
                        continue
                    key = [entry]
                    for name in names:
                        value = getattr(values, name)
                        if value is None:  # only an optional field is absent: no fact
                            break
                        key.append(value)
                    else:
                        if converts is not None:
                            for i, how in enumerate(converts, 1):
                                value = key[i]
                                if how is None:
                                    key[i] = vocabulary.constant(value)
                                elif how == "age":
                                    key[i] = age_of(request_day - value.toordinal(), ages)
                                elif how == "string":
                                    key[i] = value if value in self._strings else _OTHER_CPT
                                elif isinstance(how, dict):
                                    key[i] = how[vocabulary.constant(value)]
                                else:  # compared with the request's value
                                    _, shared, requested, another = how
                                    key[i] = requested if value == getattr(request, shared) \
                                        else another
                        position = table.get(tuple(key))
                        if position is None:
                            return None
                        append(position)
        return out


def _raw_values(f: vocabulary.Field) -> tuple:
    """The values a case may give field ``f`` (a boolean's or an enumeration's)."""
    return (True, False) if f.type == "boolean" else f.values


def _generic_of(how, raw) -> str:
    value = vocabulary.constant(raw)
    return value if how is None else how[value]


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
                 facts: list[Symbol], options: list[str] | None = None,
                 observer: clingo.Observer | None = None) -> None:
        self.control = ctl = kb.control(mode, options)
        # Stated as statements built from symbols (the vocabulary's, never a
        # case's): `#external` for each input, a fact for each fact.
        where = ast.Location(ast.Position("<generic>", 1, 1), ast.Position("<generic>", 1, 1))

        def atom(symbol: Symbol) -> ast.AST:
            return ast.SymbolicAtom(ast.SymbolicTerm(where, symbol))

        with ast.ProgramBuilder(ctl) as builder:
            for statement in vocabulary_statements():  # what the KB reads of the vocabulary
                builder.add(statement)
            for fact in facts:
                builder.add(ast.Rule(where, ast.Literal(where, ast.Sign.NoSign, atom(fact)), []))
            for symbol in inputs:
                builder.add(ast.External(where, atom(symbol), [],
                                         ast.SymbolicTerm(where, Function("false"))))
        heuristics = _Heuristics()
        ctl.register_observer(heuristics)
        if observer is not None:  # mrs_asp/compiled.py reads the ground rules
            ctl.register_observer(observer)
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
        self.batch = Engine(kb)
        #: the statements the vocabulary adds to the KB's, as text
        self.vocabulary_texts = [str(s) for s in vocabulary_statements()]
        texts = kb.statement_texts() + self.vocabulary_texts
        self.ages = window_ages(kb.windows)
        self.domain = _Domain(slots, self.ages, texts)
        self._facts = [Function("case", [Number(0)]),
                       Function("request_day", [Number(0), Number(_REQUEST_DAY)])]
        self._evaluator: _Generic | None = None  # built when first asked to decide
        # The abduction's groundings, by the switch made a fact in each:
        # abduce (what is missing), lift (why nothing is); built when first asked.
        self._abduction: dict[str, _Generic] = {}
        self._compiled: dict[str, object] = {}  # mode -> mrs_asp.compiled.Compiled
        self._lock = threading.Lock()

    @property
    def _inputs(self) -> list[Symbol]:
        return self.domain.inputs

    # -- the API ----------------------------------------------------------------------
    def decide(self, case: Case | LoadedCase, missing: bool = True,
               max_alternatives: int | None = MAX_ALTERNATIVES) -> Answer:
        """The answer for one case (SPEC section 5), as ``mrs_asp.decide([case])[0]``
        gives it; ``missing=False`` skips what is missing, ``max_alternatives``
        as for :func:`mrs_asp.decide`."""
        plain = case.case if isinstance(case, LoadedCase) else case
        true = self._true_inputs(plain)
        if true is None:  # beyond the generic case: today's batch path
            return _batch_answers([plain], self.batch, missing, max_alternatives)[0]
        with self._lock:
            atoms = self._evaluate(true)
            answer = _answer_of(plain, atoms, self.kb)
            if missing and answer.determination == "denied":
                found = self._abduce(true)
                _with_missing([answer], [plain], [atoms], [found], self.kb,
                              max_alternatives, self._reported,
                              [[] if found else self._unlifted(true)])
        return answer

    def alternatives(self, case: Case
                     ) -> tuple[list[tuple[list[str], list[str]]], list[tuple[str, str]]] | None:
        """Every subset-minimal set of fillings that approves a denied case and,
        when there is none, what no filling lifts, as
        :meth:`mrs_asp.engine.Engine.abduce_why` finds them; None beyond the slots."""
        true = self._true_inputs(case)
        if true is None:
            return None
        with self._lock:
            found = self._abduce(true)
            return found, ([] if found else self._unlifted(true))

    def prepare(self) -> None:
        """Build the abduction's groundings and the compiled evaluations now
        (before worker processes fork, or before a service takes requests)."""
        self._abduction_grounding("abduce")
        self._abduction_grounding("lift")
        self.compiled("evaluate")
        self.compiled("explain")

    def compiled(self, mode: str = "explain"):
        """The KB's ``mode`` compiled on this engine's generic grounding
        (:class:`mrs_asp.compiled.Compiled`), built on first use and kept; its
        ``run`` is None (and ``refusal`` says why) if the KB does not compile."""
        got = self._compiled.get(mode)
        if got is None:
            from .compiled import Compiled
            got = self._compiled[mode] = Compiled(self, mode)
        return got

    def beyond_slots(self, case: Case | LoadedCase) -> bool:
        """Whether the case lies beyond the generic grounding (and goes to the batch path)."""
        return self._true_inputs(case.case if isinstance(case, LoadedCase) else case) is None

    # -- inside -----------------------------------------------------------------------
    def _true_inputs(self, case: Case) -> list[int] | None:
        return self.domain.positions(case)

    def _reported(self, cases: list[Case]) -> list[set[str]]:
        """The criteria that hold in each case (for the effects of what is
        missing): all at once on the compiled evaluation where it decides
        them, each on the batch path where it does not."""
        inputs = [self._true_inputs(case) for case in cases]
        out = self.compiled("explain").evaluate_inputs(inputs)
        for i, atoms in enumerate(out):
            if atoms is None:
                out[i] = (self._solve(inputs[i]) if inputs[i] is not None
                          else self.batch.evaluate([cases[i]], why=False)[0])
        return [set(atoms.reported) for atoms in out]

    def _evaluate(self, true: list[int]) -> Atoms:
        """The case's atoms (the ``evaluate`` mode): compiled where the KB
        compiles, else (and for a case a constraint rules out) one solve."""
        atoms = self.compiled("evaluate").evaluate_inputs([true])[0]
        return atoms if atoms is not None else self._solve(true)

    def _solve(self, true: list[int]) -> Atoms:
        generic = self._evaluator
        if generic is None:
            generic = self._evaluator = _Generic(self.kb, "evaluate", self._inputs, self._facts)
        result = [Atoms()]
        generic.set_case(true)
        with generic.control.solve(yield_=True) as handle:
            model = handle.model()
            if model is None:  # cannot happen with a stratified KB; say so if it does
                raise KnowledgeBaseError("the knowledge base has no answer set for this case")
            read_atoms(model.symbols(shown=True), result)
        return result[0]

    def _abduction_grounding(self, switch: str) -> _Generic:
        """The abduction layer's generic grounding with ``switch(0)`` a fact:
        ``abduce`` asks what is missing, ``lift`` why nothing is
        (kb/80_abduction.lp, as Engine.abduce_why switches them)."""
        generic = self._abduction.get(switch)
        if generic is None:
            generic = self._abduction[switch] = _Generic(
                self.kb, "abduce", self._inputs, [*self._facts, Function(switch, [Number(0)])],
                ABDUCTION_OPTIONS)
        return generic

    def _abduce(self, true: list[int]) -> list[tuple[list[str], list[str]]]:
        generic = self._abduction_grounding("abduce")
        alternatives: list[tuple[list[str], list[str]]] = []
        generic.set_case(true)
        generic.control.solve(on_model=lambda model: alternatives.append(read_alternative(model)))
        return alternatives

    def _unlifted(self, true: list[int]) -> list[tuple[str, str]]:
        """Why nothing is missing: the non-indications no filling lifts, with
        ``lift(0)`` true (kb/80_abduction.lp, Engine.abduce_why)."""
        generic = self._abduction_grounding("lift")
        found: list[tuple[str, str]] = []
        generic.set_case(true)
        generic.control.solve(on_model=lambda model: found.extend(
            unlifted_of(s) for s in model.symbols(shown=True) if s.name == "unlifted"))
        return found


@lru_cache(maxsize=4)
def _warm(directory: Path) -> WarmEngine:
    return WarmEngine(engine_for(directory).kb)


def warm_engine_for(kb: str | Path | None = None) -> WarmEngine:
    """The process's warm engine for a knowledge-base directory (the shipped
    kb/ by default), built on first use and kept."""
    return _warm(engine_for(kb).kb.directory.resolve())
