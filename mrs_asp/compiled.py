"""Explained decisions without a solver: the generic grounding, compiled.

The warm engine (mrs_asp/warm.py) grounds the knowledge base once for a
*generic* case whose input atoms are all external. For an evaluation without
what is missing (the ``explain`` mode) that grounding is a stratified program
of normal rules, so its one answer set follows from the inputs by evaluating
the rules in order. This module watches gringo ground it (clingo's public
``Observer`` interface: the ground rules, the shown atoms, the externals),
checks that it can be evaluated that way, and turns it into one straight-line
Python function over bitsets: each ground atom is an int whose bit i is case
i of a batch, a rule is ``head |= body1 & body2 & ~negative``, the atoms in
the order of their dependencies, a positively recursive component iterated
to its fixpoint. A batch of cases is then a few thousand integer operations,
whatever its size up to a few thousand cases, instead of a grounding.

The rules stay in kb/: what is compiled is what gringo grounded from them,
nothing restated. A knowledge base whose generic grounding is not of that
kind (choice rules, aggregates gringo keeps as weight rules, disjunctions,
optimisation, a cycle through negation, externals of its own that are not
false) is refused with a one-line reason
(:attr:`Compiled.refusal`, logged at debug level), and its cases go to the
batch grounding (mrs_asp/engine.py), as do cases beyond the generic slots and
any case an integrity constraint rules out (the batch path reports it).
tests/test_compiled.py proves the answers byte-identical to the clingo path.
"""

from __future__ import annotations

import logging
import marshal
import sys
from functools import lru_cache
from collections.abc import Sequence
from pathlib import Path
from types import CodeType

import clingo

from .cases import Case
from .engine import Atoms, Engine, read_atoms
from .kb import KnowledgeBaseError, cache_dir, sealed, sha256, unsealed, write_atomically

__all__ = ["Compiled", "compiled_for", "evaluate"]

log = logging.getLogger(__name__)

#: below this many cases a batch grounding costs less than building the compiled form
MIN_CASES = 64


class _Recorder(clingo.Observer):
    """The ground program as gringo hands it to the solver."""

    def __init__(self) -> None:
        self.rules: list[tuple[int, list[int]]] = []  # (head or 0 for a constraint, body)
        self.shown: list[tuple[clingo.Symbol, int]] = []
        #: shown terms (``#show t : body.``): each term's conditions, any of which shows it
        self.terms: dict[clingo.Symbol, list[list[int]]] = {}
        self.externals: dict[int, clingo.TruthValue] = {}
        self.refusal: str | None = None

    def _refuse(self, reason: str) -> None:
        if self.refusal is None:
            self.refusal = reason

    def rule(self, choice: bool, head: Sequence[int], body: Sequence[int]) -> None:
        if choice:
            self._refuse("it has a choice rule")
        elif len(head) > 1:
            self._refuse("it has a disjunctive rule")
        else:
            self.rules.append((head[0] if head else 0, list(body)))

    def weight_rule(self, choice, head, lower_bound, body) -> None:
        self._refuse("it has an aggregate (a weight rule in its grounding)")

    def minimize(self, priority, literals) -> None:
        self._refuse("it has an optimisation statement")

    def output_atom(self, symbol: clingo.Symbol, atom: int) -> None:
        self.shown.append((symbol, atom))

    def output_term(self, symbol, condition) -> None:
        self.terms.setdefault(symbol, []).append(list(condition))

    def external(self, atom: int, value: clingo.TruthValue) -> None:
        self.externals[atom] = value

    def theory_atom(self, *args) -> None:
        self._refuse("it has a theory atom")

    def theory_atom_with_guard(self, *args) -> None:
        self._refuse("it has a theory atom")


def _components(nodes: list[int], edges: dict[int, list[int]]) -> list[list[int]]:
    """Tarjan's strongly connected components, iteratively, each after every
    component it depends on (``edges[a]`` are the atoms ``a`` depends on)."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    out: list[list[int]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(edges.get(root, ())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges.get(child, ()))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    out.append(component)
    return out


class Compiled:
    """A mode of a knowledge base (``explain`` by default: the decision and its
    explanation; ``evaluate`` adds why nothing is missing) as one bitset
    function, or the reason it cannot be (:attr:`refusal`; then :attr:`run`
    is None)."""

    def __init__(self, warm, mode: str = "explain") -> None:
        self.warm = warm
        self.domain = warm.domain
        path = _cache_path(warm, mode)
        built = _read(path) if path is not None else None
        if built is None:
            built = self._build(mode)
            if path is not None:
                write_atomically(path, sealed(marshal.dumps(built)))
        refusal, code, adds, malformed = built
        self.refusal: str | None = refusal
        self.run = None
        if code is not None:
            namespace: dict = {}
            exec(code, namespace)
            self.run = namespace["run"]
        #: what each shown atom adds to a case's Atoms: (field, value), or ()
        self.shown: list[tuple] = adds
        #: shown atoms the answer cannot be read from: an error only for a case
        #: that has one (the generic grounding also holds atoms no case derives,
        #: cites(0,N,#sup) of a #min over nothing)
        self.malformed: dict[int, KnowledgeBaseError] = {
            n: KnowledgeBaseError(message) for n, message in malformed.items()}
        if self.refusal is not None:
            log.debug("%s: not compiled, cases go to the batch grounding: %s",
                      warm.kb.directory, self.refusal)

    def _build(self, mode: str) -> tuple:
        """Ground the generic case and compile it: (refusal, code of ``run`` or
        None, what each shown atom adds, the malformed ones' messages)."""
        from .warm import _Generic  # the generic grounding, built with our observer

        recorder = _Recorder()
        generic = _Generic(self.warm.kb, mode, self.warm._inputs, self.warm._facts,
                           observer=recorder)
        if recorder.refusal is not None:
            return recorder.refusal, None, [], {}
        try:
            return (None, *self._compile(recorder, generic.literals))
        except _Refused as refused:
            return str(refused), None, [], {}

    def _compile(self, recorder: _Recorder, literals: list[int]) -> tuple:
        inputs = {literal: position for position, literal in enumerate(literals)}
        for atom, value in recorder.externals.items():
            if atom not in inputs and value != clingo.TruthValue.False_:
                raise _Refused(f"it has an external atom ({atom}) that is not false by default")
        by_head: dict[int, list[list[int]]] = {}
        constraints: list[list[int]] = []
        for head, body in recorder.rules:
            if head == 0:
                constraints.append(body)
            elif head in inputs:
                raise _Refused("a rule derives an input atom")
            else:
                by_head.setdefault(head, []).append(body)
        edges = {head: sorted({abs(b) for body in bodies for b in body})
                 for head, bodies in by_head.items()}
        negative = {head: {-b for body in bodies for b in body if b < 0}
                    for head, bodies in by_head.items()}
        order = _components(sorted(by_head), edges)
        names = {atom: f"a{atom}" for atom in inputs}
        lines = ["def run(inputs, M):"]
        for literal, position in inputs.items():
            lines.append(f"    a{literal} = inputs[{position}]")

        def term(body: list[int]) -> str:
            parts = [f"a{b}" if b in names else "0" for b in body if b > 0]
            parts += [f"~a{-b}" for b in body if b < 0 and -b in names]
            return " & ".join(["M", *parts] if not any(b > 0 for b in body) else parts)

        for component in order:
            members = [a for a in component if a in by_head]
            if not members:
                continue  # an input, or an atom no rule derives (always false)
            within = set(component)
            if any(negative[a] & within for a in members):
                raise _Refused("it has a cycle through negation (it is not stratified)")
            recursive = len(component) > 1 or any(a in edges[a] for a in members)
            for atom in members:
                names[atom] = f"a{atom}"
            if not recursive:
                atom = members[0]
                lines.append(f"    a{atom} = " + " | ".join(
                    f"({term(body)})" for body in by_head[atom]))
                continue
            # positive recursion: iterate the component to its least fixpoint
            for atom in members:
                lines.append(f"    a{atom} = 0")
            state = ", ".join(f"a{a}" for a in members)
            lines.append("    while True:")
            lines.append(f"        before = ({state},)")
            for atom in members:
                lines.append(f"        a{atom} = " + " | ".join(
                    f"({term(body)})" for body in by_head[atom]))
            lines.append(f"        if ({state},) == before:")
            lines.append("            break")
        lines.append("    bad = " + (" | ".join(f"({term(b)})" for b in constraints)
                                      if constraints else "0"))
        shown = [(symbol, "M" if atom == 0 else f"a{atom}" if atom in names else "0")
                 for symbol, atom in recorder.shown]
        shown += [(symbol, " | ".join(f"({term(condition)})" for condition in conditions))
                  for symbol, conditions in recorder.terms.items()]
        lines.append("    return bad, (" + "".join(f"{value}, " for _, value in shown) + ")")
        code = compile("\n".join(lines) + "\n", f"<compiled {self.warm.kb.directory}>", "exec")
        # what each shown atom adds to a case's Atoms, read once by the usual reader
        adds: list[tuple] = []
        malformed: dict[int, str] = {}
        for n, (symbol, _) in enumerate(shown):
            one = [Atoms()]
            try:
                read_atoms([symbol], one)
            except KnowledgeBaseError as exc:
                malformed[n] = str(exc)
                one = [Atoms()]
            adds.append(_add_of(one[0]))
        return code, adds, malformed

    def evaluate(self, cases: Sequence[Case]) -> list[Atoms | None]:
        """The mode's atoms of each case; None for a case beyond the slots
        or ruled out by a constraint (the batch grounding decides those)."""
        if self.run is None:
            return [None] * len(cases)
        return self.evaluate_inputs([self.domain.positions(case) for case in cases])

    def evaluate_inputs(self, inputs: Sequence[Sequence[int] | None]) -> list[Atoms | None]:
        """:meth:`evaluate` for cases given as their true inputs'
        positions (``warm._Domain.positions``; None: beyond the slots)."""
        return [None if shown is None else self.atoms_of(shown)
                for shown in self.shown_of(inputs)]

    def shown_of(self, inputs: Sequence[Sequence[int] | None]) -> list[list[int] | None]:
        """For each case given as its true inputs' positions, the numbers of
        the shown atoms it has, in order (:meth:`atoms_of` reads them); None
        beyond the slots or ruled out by a constraint. Cases alike in these
        numbers have the same answer but for the id."""
        run = self.run
        if run is None:
            return [None] * len(inputs)
        bits = [0] * len(self.domain.index)
        mask = 0
        for i, true in enumerate(inputs):
            bit = 1 << i
            if true is None:
                continue
            mask |= bit
            for position in true:
                bits[position] |= bit
        bad, shown = run(bits, mask)
        for n, exc in self.malformed.items():
            if shown[n] & mask & ~bad:
                raise exc
        good = mask & ~bad
        out: list[list[int] | None] = [[] if (good >> i) & 1 else None
                                       for i in range(len(inputs))]
        for n, value in enumerate(shown):
            value &= good
            while value:
                low = value & -value
                out[low.bit_length() - 1].append(n)
                value ^= low
        return out

    def atoms_of(self, shown: Sequence[int]) -> Atoms:
        """A case's Atoms from the numbers of its shown atoms (:meth:`shown_of`)."""
        atoms = Atoms()
        adds = self.shown
        for n in shown:
            add = adds[n]
            if not add:
                continue
            kind, value = add
            if kind in _SINGLE:  # determination, unreachable
                setattr(atoms, kind, value)
            else:
                getattr(atoms, kind).append(value)
        return atoms


class _Refused(Exception):
    pass


# -- the compiled form, kept -------------------------------------------------------------
# Grounding the generic case and compiling it costs a process about 30 ms; the
# result is kept in the cache of prepared KBs (mrs_asp.kb.cache_dir), as marshal
# data: the code of `run` and what each shown atom adds. It is keyed by all that
# goes into it: the mode's program text (the KB's rules), the vocabulary's
# statements, the generic case's facts and the places of its inputs, the source
# of this package's modules (the compiler, how the input atoms are made, how a
# shown atom is read), the Python and clingo versions. A key that differs in any
# of them is another file, so a stale entry is never read; an entry is sealed by
# its SHA-256 (kb.sealed), so a damaged one is compiled again, never
# unmarshalled. The entry holds code this process runs: the cache directory
# must be the user's own, as Python's __pycache__ is.
_CACHE_FORMAT = "2"
_KINDS = ("determination", "reported", "nodes", "cites", "beyond_filling", "unreachable")
_SINGLE = frozenset({"determination", "unreachable"})  # the fields of one value; the rest are lists


def _cache_path(warm, mode: str) -> Path | None:
    where = cache_dir()
    if where is None:
        return None
    digest = sha256()
    package = _package_source()
    if package is None:  # no source to key on (a frozen install): no cache
        return None
    digest.update(package)
    parts = [_CACHE_FORMAT, sys.version, clingo.__version__, mode,
             warm.kb.program(mode), *warm.vocabulary_texts,
             *map(str, warm._facts), repr(list(warm.domain.index))]
    for part in parts:
        digest.update(b"\0")
        digest.update(part.encode())
    return where / f"compiled-{digest.hexdigest()[:40]}.marshal"


@lru_cache(maxsize=1)
def _package_source() -> bytes | None:
    """The SHA-256 of this package's own modules (name and bytes of each
    ``mrs_asp/*.py``): the compiler, how the generic case's inputs are made, how
    a shown atom is read into an answer all live there, so a changed or
    upgraded package never reads an entry kept by another."""
    digest = sha256()
    try:
        for source in sorted(Path(__file__).parent.glob("*.py")):
            digest.update(f"{source.name}\0".encode())
            digest.update(source.read_bytes())
    except OSError:
        return None
    return digest.digest()


def _read(path: Path) -> tuple | None:
    """A kept compiled form, or None (absent, unreadable, or not of this format)."""
    try:
        # only a whole entry is unmarshalled: marshal trusts its input, and
        # flipped bits could crash the process or change an answer
        data = unsealed(path.read_bytes())
        if data is None:
            return None
        built = marshal.loads(data)
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if not (isinstance(built, tuple) and len(built) == 4):
        return None
    refusal, code, adds, malformed = built
    if not (isinstance(refusal, (str, type(None))) and isinstance(code, (CodeType, type(None)))
            and isinstance(adds, list) and isinstance(malformed, dict)):
        return None
    return built


def _add_of(atoms: Atoms) -> tuple:
    """What one shown atom adds to a case's Atoms (:meth:`Compiled.atoms_of`
    reads it back), as marshal keeps it: (field, value), or () for nothing."""
    for kind in _KINDS:
        value = getattr(atoms, kind)
        if value:
            return (kind, value if kind in _SINGLE else value[0])
    return ()


def compiled_for(kb: str | Path | None = None) -> Compiled:
    """The process's compiled evaluation (``explain``) for a knowledge-base
    directory, built once: its warm engine's (:meth:`WarmEngine.compiled`)."""
    from .warm import warm_engine_for
    return warm_engine_for(kb).compiled("explain")


def evaluate(engine: Engine, cases: Sequence[Case]) -> list[Atoms]:
    """``engine.evaluate(cases, why=False)``, the same atoms: compiled where the
    KB and the case allow, on batch groundings for the rest."""
    if len(cases) < MIN_CASES:
        return engine.evaluate(cases, why=False)
    out = compiled_for(engine.kb.directory).evaluate(cases)
    rest = [i for i, atoms in enumerate(out) if atoms is None]
    if rest:
        for i, atoms in zip(rest, engine.evaluate([cases[i] for i in rest], why=False)):
            out[i] = atoms
    return out
