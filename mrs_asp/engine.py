"""Grounding and solving: many cases per grounding, one solver call per batch.

``evaluate`` grounds the knowledge base once for a whole batch of cases (every
predicate carries its case number) and reads the single answer set: the KB is
stratified for an evaluation, so grounding decides it and the solver only
reports it. ``abduce`` grounds once per batch too, with ``abduce(Case)``
declared external; it then switches one case on at a time and lets clingo
enumerate that case's subset-minimal fillings (domain heuristics, domRec).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import clingo
from clingo import Function, Number, Symbol, TruthValue, ast

from . import tricks
from .cases import Case, Request
from .facts import CaseFeed, feed_statements
from .kb import KnowledgeBase, KnowledgeBaseError
from .pointers import pointer

__all__ = ["ABDUCE_BATCH", "ABDUCTION_OPTIONS", "Atoms", "Engine", "EVALUATE_BATCH", "read_alternative",
           "read_atoms"]

EVALUATE_BATCH = 2000
ABDUCE_BATCH = 25

ABDUCTION_OPTIONS = ["--heuristic=Domain", "--enum-mode=domRec", "--models=0"]


@dataclass(slots=True)
class Atoms:
    """What the knowledge base derived for one case (shown atoms, case argument dropped)."""

    determination: str = ""
    reported: list[str] = field(default_factory=list)
    nodes: list[tuple[str, str, str]] = field(default_factory=list)  # (node, parent, status)
    cites: list[tuple[str, str]] = field(default_factory=list)       # (node, JSON Pointer)
    beyond_filling: list[tuple[str, str | None]] = field(default_factory=list)
    unreachable: bool = False


@lru_cache(maxsize=1 << 14)
def pointer_of(term: str) -> str | None:
    """The text of a ``ptr(Part, ...)`` term as an RFC 6901 JSON Pointer:
    ``ptr(implants,0,mr_status)`` -> ``/implants/0/mr_status``; other terms -> None.

    The parts are the KB's own constants and numbers, split at the commas; a
    term with a string in it (which may hold a ',', '/' or '~') is parsed by
    clingo. Cached: a KB cites a few hundred places, once per evidence atom.
    A ``ptr`` term with a part that is none of these (``ptr(ptr(imaging,0),date)``,
    ``ptr(f(a,b))``, a tuple) names no place: :class:`KnowledgeBaseError`.
    """
    if not term.startswith("ptr("):
        return None
    if '"' in term:
        return _pointer_of_term(clingo.parse_term(term))
    inner = term[4:-1]
    if "(" in inner:  # a part with arguments (no string here: its '(' would be text)
        raise KnowledgeBaseError(_NOT_A_PLACE.format(term))
    return pointer(inner.split(","))


def unlifted_of(symbol: Symbol) -> tuple[str, str]:
    """``unlifted(Case, NonIndication, ptr(...))`` as (non-indication, JSON
    Pointer): what no filling lifts, and the documented fact that sets it off;
    an atom not of that shape is a KnowledgeBaseError naming it, as in
    :func:`read_atoms`."""
    name, place = symbol.arguments[1], symbol.arguments[2]
    try:
        where = _pointer_of_term(place)
        if where is None:
            raise KnowledgeBaseError(_NOT_A_POINTER)
        if name.type != clingo.SymbolType.Function or name.arguments:
            raise KnowledgeBaseError("the non-indication must be a constant")
    except KnowledgeBaseError as exc:
        raise _malformed(symbol, exc) from None
    return name.name, where


_NOT_A_PLACE = ("{} names no place: each part of a ptr(...) term must be "
                "a constant, a number or a string")


def atom_texts(symbols: Sequence[Symbol]) -> list[str]:
    """``[str(s) for s in symbols]`` for positive atoms with arguments (every
    atom the knowledge base shows carries its case), in one call to clingo.

    clingo formats the whole model as one tuple ``(a(..),b(..),...)`` and
    Python splits it at each ``),``: the C API is crossed once per batch
    instead of once per atom. Between two such atoms there is always a ``),``;
    one inside an atom (a nested term not last, f(g(1),h(2)), or a string
    "x),y") makes one piece too many, and then each atom is formatted on its
    own.

    A speed trick, with :func:`read_atoms` and :func:`read_alternative` that
    read its texts by hand: ``MRS_ASP_PLAIN=split`` reads each Symbol's name
    and arguments instead (``_read_atoms_plain``, ``_read_alternative_plain``;
    mrs_asp/tricks.py, and benchmarks/README.md for what it gains).
    """
    if len(symbols) < 2:
        return [str(s) for s in symbols]
    pieces = str(Function("", symbols))[1:-1].split("),")
    if len(pieces) != len(symbols):
        return [str(s) for s in symbols]
    last = pieces.pop()
    texts = [piece + ")" for piece in pieces]
    texts.append(last)
    return texts


def read_atoms(symbols: Sequence[Symbol], result: list[Atoms]) -> None:
    """Sort the shown atoms of a model into ``result[n]`` for case number n."""
    if tricks.plain("split"):
        return _read_atoms_plain(symbols, result)
    # Each atom as text, split by hand: several times faster than walking
    # each Symbol's name and arguments through the C API. The shown atoms
    # are flat but for the last argument of cites/3 and beyond_filling/3.
    # An atom not of that shape (a term where a constant or a pointer is read)
    # is a KnowledgeBaseError naming it.
    text = ""
    try:
        for text in atom_texts(symbols):
            name, _, rest = text.partition("(")
            number, _, rest = rest[:-1].partition(",")
            atoms = result[int(number)]
            if name == "reported":
                atoms.reported.append(rest)
            elif name == "explained":
                node = tuple(rest.split(","))
                if len(node) != 3 or "(" in rest or '"' in rest:
                    raise KnowledgeBaseError(_NOT_CONSTANTS)
                atoms.nodes.append(node)
            elif name == "cites":
                node, _, term = rest.partition(",")
                cited = pointer_of(term)
                if cited is None:
                    raise KnowledgeBaseError(_NOT_A_POINTER)
                atoms.cites.append((node, cited))
            elif name == "determination":
                atoms.determination = rest
            elif name == "beyond_filling":
                node, _, term = rest.partition(",")
                atoms.beyond_filling.append((node, pointer_of(term)))
            elif name == "unreachable":
                atoms.unreachable = True
    except KnowledgeBaseError as exc:
        raise _malformed(text, exc) from None


_NOT_CONSTANTS = "the node, its parent and its status must be constants or numbers"
_NOT_A_POINTER = "the evidence must be a ptr(Part, ...) term (a JSON Pointer's parts)"


def _malformed(atom: object, exc: KnowledgeBaseError) -> KnowledgeBaseError:
    """One line naming a shown atom the answer cannot be read from, and why."""
    return KnowledgeBaseError(f"the knowledge base shows {atom}, which the answer cannot be "
                              f"read from: {exc}")


def _pointer_of_term(term: Symbol) -> str | None:
    """:func:`pointer_of` of a ``ptr(Part, ...)`` Symbol, from its arguments."""
    if (term.type != clingo.SymbolType.Function or term.name != "ptr" or term.negative
            or not term.arguments):
        return None
    for part in term.arguments:
        if part.type == clingo.SymbolType.Function and (part.arguments or not part.name):
            raise KnowledgeBaseError(_NOT_A_PLACE.format(term))
    return pointer([part.string if part.type == clingo.SymbolType.String else str(part)
                    for part in term.arguments])


def _read_atoms_plain(symbols: Sequence[Symbol], result: list[Atoms]) -> None:
    """:func:`read_atoms` the plain way (``MRS_ASP_PLAIN=split``): each Symbol's
    name and arguments read through clingo's API."""
    symbol: Symbol | str = ""
    try:
        for symbol in symbols:
            name, arguments = symbol.name, symbol.arguments
            atoms = result[arguments[0].number]
            if name == "reported":
                atoms.reported.append(str(arguments[1]))
            elif name == "explained":
                if any(a.type == clingo.SymbolType.String or a.type == clingo.SymbolType.Function
                       and (a.arguments or not a.name) for a in arguments[1:]):
                    raise KnowledgeBaseError(_NOT_CONSTANTS)
                atoms.nodes.append(tuple(str(argument) for argument in arguments[1:]))
            elif name == "cites":
                cited = _pointer_of_term(arguments[2])
                if cited is None:
                    raise KnowledgeBaseError(_NOT_A_POINTER)
                atoms.cites.append((str(arguments[1]), cited))
            elif name == "determination":
                atoms.determination = str(arguments[1])
            elif name == "beyond_filling":
                atoms.beyond_filling.append((str(arguments[1]), _pointer_of_term(arguments[2])))
            elif name == "unreachable":
                atoms.unreachable = True
    except KnowledgeBaseError as exc:
        raise _malformed(symbol, exc) from None


def _read_alternative_plain(model: clingo.Model) -> tuple[list[str], list[str]]:
    """:func:`read_alternative` the plain way (``MRS_ASP_PLAIN=split``)."""
    fills: list[str] = []
    achieved: list[str] = []
    for symbol in model.symbols(shown=True):
        if symbol.name == "fill":
            fills.append(str(symbol.arguments[1]))
        elif symbol.name == "achieved":
            achieved.append(str(symbol.arguments[1]))
    return fills, achieved


def read_alternative(model: clingo.Model) -> tuple[list[str], list[str]]:
    """One alternative of what is missing: (the text of each filling term, e.g.
    ``finding(glioma,true)``; the criteria reported once filled).

    Read as text in one call to clingo (``atom_texts``), as the evaluation is:
    a case with many undocumented fields has thousands of alternatives of
    dozens of fillings each, and reading each Symbol's name and arguments
    through the C API was most of the time of what is missing.
    """
    if tricks.plain("split"):
        return _read_alternative_plain(model)
    fills: list[str] = []
    achieved: list[str] = []
    for text in atom_texts(model.symbols(shown=True)):
        name, _, rest = text.partition("(")
        term = rest[rest.index(",") + 1:-1]  # after the case number
        if name == "fill":
            fills.append(term)
        elif name == "achieved":
            achieved.append(term)
    return fills, achieved


def _feed(ctl: clingo.Control, cases: Sequence[Case]) -> CaseFeed:
    """Add case_feed.lp to ``ctl``; the returned feed is the context to ground it with."""
    with ast.ProgramBuilder(ctl) as builder:
        for statement in feed_statements():
            builder.add(statement)
    return CaseFeed(cases)


class Engine:
    """Decides cases against one knowledge base."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb

    def prepare(self, missing: bool = True) -> None:
        """Parse and index everything a decision needs now, once, so that worker
        processes forked afterwards share it instead of each doing it again."""
        self.kb.program("evaluate")  # the prepared KB: every mode and the tables
        self.kb.criteria  # noqa: B018 - builds the criteria tables
        feed_statements()

    def probe(self) -> None:
        """Decide one small case (a request and nothing else) to find a knowledge
        base with no answer set before any real case: raises
        :class:`~mrs_asp.kb.KnowledgeBaseError`. (A KB that has no answer set only
        for some cases is found when their batch is decided.)"""
        probe = Case(id="probe", request=Request(cpt="76390", date=dt.date(2026, 1, 1),
                                                 body_region="brain"))
        try:
            self.evaluate([probe])
        except KnowledgeBaseError:
            raise KnowledgeBaseError(
                f"{self.kb.directory}: the knowledge base has no answer set, even for a "
                f"request with nothing documented: some rule or constraint rules out every "
                f"answer") from None

    # -- evaluation -------------------------------------------------------------
    def evaluate(self, cases: Sequence[Case], why: bool = True) -> list[Atoms]:
        """The answer atoms of each case; ``why=False`` skips the abduction layer
        (it says why nothing is missing, which only the abduction needs)."""
        out: list[Atoms] = []
        for start in range(0, len(cases), EVALUATE_BATCH):
            out.extend(self._evaluate_batch(cases[start:start + EVALUATE_BATCH], why))
        return out

    def _evaluate_batch(self, cases: Sequence[Case], why: bool) -> list[Atoms]:
        ctl = self.kb.control("evaluate" if why else "explain")
        feed = _feed(ctl, cases)
        ctl.ground([("base", [])], context=feed)
        result = [Atoms() for _ in cases]
        with ctl.solve(yield_=True) as handle:
            model = handle.model()
            if model is None:  # cannot happen with a stratified KB; say so if it does
                first = f" (the batch of {len(cases)} from case {cases[0].id!r})" if cases else ""
                raise KnowledgeBaseError(f"{self.kb.directory}: the knowledge base has no "
                                         f"answer set{first}: some rule or constraint "
                                         f"rules out every answer")
            symbols = model.symbols(shown=True)
        read_atoms(symbols, result)
        return result

    # -- abduction --------------------------------------------------------------
    def abduce(self, cases: Sequence[Case]) -> list[list[tuple[list[str], list[str]]]]:
        """For each case, every subset-minimal set of fillings that approves it.

        Each alternative is (fill terms as text, criteria reported once filled).
        """
        return [alternatives for alternatives, _ in self.abduce_why(cases)]

    def abduce_why(self, cases: Sequence[Case]
                   ) -> list[tuple[list[tuple[list[str], list[str]]], list[tuple[str, str]]]]:
        """:meth:`abduce`, and beside each case's alternatives, when there are
        none, the non-indications no filling lifts with the documented entries
        that still set them off, ``(criterion, JSON Pointer)``
        (kb/80_abduction.lp, ``lift/1``)."""
        out = []
        for start in range(0, len(cases), ABDUCE_BATCH):
            out.extend(self._abduce_batch(cases[start:start + ABDUCE_BATCH]))
        return out

    def _abduce_batch(self, cases: Sequence[Case]):
        ctl = self.kb.control("abduce", ABDUCTION_OPTIONS)
        feed = _feed(ctl, cases)
        switches = [Function("abduce", [Number(n)]) for n in range(len(cases))]
        lifts = [Function("lift", [Number(n)]) for n in range(len(cases))]
        with ctl.backend() as backend:
            for switch in (*switches, *lifts):
                backend.add_external(backend.add_atom(switch), TruthValue.False_)
        ctl.ground([("base", [])], context=feed)
        result = []
        for switch, lift in zip(switches, lifts):
            ctl.assign_external(switch, True)
            alternatives: list[tuple[list[str], list[str]]] = []
            ctl.solve(on_model=lambda model: alternatives.append(read_alternative(model)))
            ctl.assign_external(switch, False)
            unlifted: list[tuple[str, str]] = []
            if not alternatives:  # why: make every filling that can lift something
                ctl.assign_external(lift, True)
                ctl.solve(on_model=lambda model: unlifted.extend(
                    unlifted_of(s) for s in model.symbols(shown=True)
                    if s.name == "unlifted"))
                ctl.assign_external(lift, False)
            result.append((alternatives, unlifted))
        return result
