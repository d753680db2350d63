"""How a case becomes facts: the one module that knows (kb/00_case_facts.lp).

What becomes which fact is declared in ``mrs_asp/vocabulary.py`` (each
field's ``fact``); this module derives from that declaration both the
symbols of a batch of cases and the rules (:func:`feed_program`) that hand
them to the grounder.

Case data reaches clingo only as symbols built here (``clingo.Function``,
``Number``, ``String``); nothing from a case is ever pasted into program text.
Absent fields produce no atom: absence means "not documented". Enumerated
values become lower-case constants (MRI -> mri), booleans the constants
``true`` / ``false``, dates day numbers (proleptic Gregorian ordinals).

A batch of cases goes to the grounder as a :class:`CaseFeed`, the grounding
context of the feed rules. Two shapes, for speed (benchmarks/README.md):

- most input facts repeat their arguments across cases (finding glioma
  true, an implant 0 of kind pacemaker): ``@keys(P)`` gives the distinct
  arguments of P in the batch, and ``@cases(P, Arguments...)`` the numbers
  of the cases that have them; the symbols that recur (enumerated values
  as constants, small numbers) are built once per process;
- the dated ones rarely repeat: ``@rows(P)`` gives each fact's argument
  tuple, case number first.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from functools import cache, lru_cache

from clingo import Function, Number, String, Symbol, SymbolType, ast

from . import vocabulary
from .cases import Case, day_number

__all__ = ["INPUT_PREDICATES", "VOCABULARY_PREDICATES", "CaseFeed", "feed_program",
           "feed_statements", "vocabulary_statements"]

#: The input predicates of kb/00_case_facts.lp (what a case becomes).
INPUT_PREDICATES: frozenset[str] = vocabulary.input_predicates()
#: The predicates of the vocabulary facts the KB reads (vocabulary.vocabulary_facts).
VOCABULARY_PREDICATES: frozenset[str] = frozenset(
    name for name, _ in vocabulary.vocabulary_facts())


@cache
def _constant(value: str | bool) -> Symbol:
    """An enumerated value as a constant: MRI -> mri, True -> true."""
    return Function(vocabulary.constant(value))


@lru_cache(maxsize=4096)
def _number(value: int) -> Symbol:
    return Number(value)


def _symbol_maker(f: vocabulary.Field) -> Callable[[object], Symbol]:
    if f.type == "string":
        return String
    if f.type in ("integer", "date"):  # a date is grouped or rowed as its day number
        return _number
    return _constant


@functools.lru_cache(maxsize=None)
def _day(value) -> int:
    return day_number(value)


class _Fact:
    """How one input predicate is made from the fields that become it."""

    def __init__(self, predicate: str, members: tuple[vocabulary.Field, ...]) -> None:
        first = members[0]
        self.predicate = predicate
        self.group = first.group
        self.repeats = vocabulary.GROUPS[first.group].repeats
        self.keyed = first.keyed
        self.members = members
        self.names = tuple(f.name for f in members)
        self.dates = tuple(f.type == "date" for f in members)
        #: dated facts rarely repeat across cases: they go row by row
        self.rows = any(self.dates)
        self.required = all(f.required for f in members)
        index = (_number,) if self.repeats else ()
        if self.keyed:
            # one atom per field: (entry?, field name, value)
            self.symbols = (*index, _constant, _symbol_maker(first))
        else:
            self.symbols = (*index, *(_symbol_maker(f) for f in members))

    @property
    def arity(self) -> int:
        """Arguments after the case."""
        return len(self.symbols)


#: Every input predicate but case/1, in declaration order.
_FACTS: tuple[_Fact, ...] = tuple(
    _Fact(name, vocabulary.fields_of_fact(name))
    for name in dict.fromkeys(f.fact for f in vocabulary.fields(facts_only=True)))
_BY_GROUP: dict[str, list[_Fact]] = {}
for _fact in _FACTS:
    _BY_GROUP.setdefault(_fact.group, []).append(_fact)
del _fact
#: What each group of a case adds: (attribute, is an array, its facts).
_PLAN = tuple((name, vocabulary.GROUPS[name].repeats, tuple(facts))
              for name, facts in _BY_GROUP.items())
_ROWS = tuple(f.predicate for f in _FACTS if f.rows)
_KEY_SYMBOLS: dict[str, tuple] = {"case": ()}
_KEY_SYMBOLS.update((f.predicate, f.symbols) for f in _FACTS if not f.rows)
assert set(_ROWS) | set(_KEY_SYMBOLS) == INPUT_PREDICATES


class CaseFeed:
    """The facts of a batch of cases (case ``n`` of the batch is number ``n``),
    as the grounding context that the feed rules read them from."""

    def __init__(self, cases: Sequence[Case]) -> None:
        self._rows: dict[str, list[Symbol]] = {name: [] for name in _ROWS}
        self._groups: dict[str, dict[tuple, list[Symbol]]] = {name: {} for name in _KEY_SYMBOLS}
        self._keys: dict[str, dict[tuple[Symbol, ...], tuple]] = {}
        for number, case in enumerate(cases):
            self._add(_number(number), case)

    # -- what the feed rules call --------------------------------------------------
    def rows(self, name: Symbol) -> list[Symbol]:
        """``@rows(P)``: one tuple (Case, Arguments...) per fact of P."""
        return self._rows[name.name]

    def keys(self, name: Symbol) -> list[Symbol]:
        """``@keys(P)``: the distinct arguments of P's facts (a tuple if more than one)."""
        convert = _KEY_SYMBOLS[name.name]
        back: dict[tuple[Symbol, ...], tuple] = {}
        out: list[Symbol] = []
        for key in self._groups[name.name]:
            symbols = tuple(make(value) for make, value in zip(convert, key))
            back[symbols] = key
            out.append(symbols[0] if len(symbols) == 1 else Function("", list(symbols)))
        self._keys[name.name] = back
        return out

    def cases(self, name: Symbol, *key: Symbol) -> list[Symbol]:
        """``@cases(P, Arguments...)``: the numbers of the cases with that fact."""
        groups = self._groups[name.name]
        return groups[self._keys[name.name][key] if key else ()]

    def atoms(self) -> list[Symbol]:
        """Every fact as an atom, ``finding(0, glioma, true)`` (for reading and
        testing; grounding goes through the calls above)."""
        out: list[Symbol] = []
        for name, convert in _KEY_SYMBOLS.items():
            for key, numbers in self._groups[name].items():
                arguments = [make(value) for make, value in zip(convert, key)]
                out.extend(Function(name, [number, *arguments]) for number in numbers)
        for name, rows in self._rows.items():
            out.extend(Function(name, row.arguments) for row in rows)
        return out

    def plain_facts(self) -> list[tuple[str, tuple]]:
        """Every fact as ``(predicate, arguments)``, the case number dropped and
        the arguments as the case states them (``("finding", ("glioma", True))``,
        ``("imaging", (0, "MRI", "brain", 739000))``): for the warm engine,
        which has no case numbers (mrs_asp/warm.py)."""
        out: list[tuple[str, tuple]] = []
        for name, groups in self._groups.items():
            out.extend((name, key) for key in groups)
        for name, rows in self._rows.items():
            for row in rows:
                out.append((name, tuple(a.number if a.type == SymbolType.Number else a.name
                                        for a in row.arguments[1:])))
        return out

    # -- building ---------------------------------------------------------------------
    def _add(self, c: Symbol, case: Case) -> None:
        self._groups["case"].setdefault((), []).append(c)
        for attribute, repeats, facts in _PLAN:
            part = getattr(case, attribute)
            if part is None:
                continue
            if repeats:
                for index, entry in enumerate(part):
                    for fact in facts:
                        self._entry(c, fact, entry, (index,))
            else:
                for fact in facts:
                    self._entry(c, fact, part, ())

    def _entry(self, c: Symbol, fact: _Fact, part, index: tuple) -> None:
        if fact.keyed:
            rows = self._groups[fact.predicate]
            for name in fact.names:
                value = getattr(part, name)
                if value is not None:
                    rows.setdefault((*index, name, value), []).append(c)
            return
        values = [getattr(part, name) for name in fact.names]
        if None in values:  # only an optional field can be absent: nothing documented
            return
        if fact.rows:
            arguments = [c, *(_number(i) for i in index)]
            for make, value, dated in zip(fact.symbols[len(index):], values, fact.dates):
                arguments.append(_number(_day(value)) if dated else make(value))
            self._rows[fact.predicate].append(Function("", arguments))
        else:
            self._groups[fact.predicate].setdefault((*index, *values), []).append(c)


def feed_program() -> str:
    """The rules that fill every input predicate of kb/00_case_facts.lp from
    the grounding context (:class:`CaseFeed`); the same for every batch."""
    lines = ["case(Case) :- Case = @cases(case)."]
    for fact in _FACTS:
        names = [f"A{i}" for i in range(1, fact.arity + 1)]
        head = f"{fact.predicate}(Case, {', '.join(names)})"
        if fact.rows:
            lines.append(f"{head} :- (Case, {', '.join(names)}) = @rows({fact.predicate}).")
        else:
            key = names[0] if len(names) == 1 else f"({', '.join(names)})"
            lines.append(f"{head} :- {key} = @keys({fact.predicate}), "
                         f"Case = @cases({fact.predicate}, {', '.join(names)}).")
    return "\n".join(lines) + "\n"


@functools.cache
def vocabulary_statements() -> list[ast.AST]:
    """The vocabulary facts of the KB (vocabulary.vocabulary_program), parsed once."""
    statements: list[ast.AST] = []
    ast.parse_string(vocabulary.vocabulary_program(), statements.append)
    return statements


@functools.cache
def feed_statements() -> list[ast.AST]:
    """The feed rules and the vocabulary facts, parsed once."""
    statements: list[ast.AST] = []
    ast.parse_string(feed_program(), statements.append)
    return statements + vocabulary_statements()
