"""Lint of a knowledge-base directory, read from clingo's own AST.

The checks a policy author wants before any case is decided:

* ``undefined_predicate`` (error): a predicate used in a body - a rule body,
  the condition of a conditional literal or aggregate element, a ``#show``,
  ``#heuristic``, ``#minimize``/weak-constraint, ``#external``, ``#edge`` or
  ``#project`` condition, or the atom of a ``#heuristic`` - that nothing
  defines: no rule head or fact, no choice, disjunction or head-aggregate
  element, no ``#external`` and no ``#defined`` declaration. clingo would only
  warn ("atom does not occur in any rule head") and read it as false.
* ``unused_predicate`` (warning): a predicate some head defines that no body,
  ``#show``, ``#heuristic`` or ``#minimize`` ever reads, unless the engine
  reads it from Python (:data:`ENGINE_READS`). A ``#defined`` predicate is the
  knowledge base's input contract: unused, it is only ``info``.
* ``missing_criterion`` (error): a contract criterion id with no
  ``criterion(Id, Kind, Text)`` fact; (warning) a constant ``Id`` of a
  ``holds(_, Id)`` head with no criterion fact that is not an inner node of the
  indication tree (``node(Id, _)``, like ``repeat_circumstance``).
* ``missing_text`` (error): a criterion fact whose ``Text`` is not a
  non-empty string - the explanation prints it.
* ``parse_error`` (error): a layer file that does not parse (or cannot be
  read, or an ``extends`` that cannot be followed). When any file fails to
  parse, only the parse errors are reported: the other checks would see a
  partial program.

The files linted are the layer files (:func:`layer_files`), not ``mrs.lp``,
which only ``#include``s them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import clingo
from clingo import ast

from .findings import SEVERITIES, Finding
from .layers import LayerError, layer_files

__all__ = ["ENGINE_READS", "Finding", "LayerError", "layer_files", "lint_kb"]

#: Predicates the engine reads back from the solver in Python (mrs_asp/engine.py,
#: mrs_asp/kb.py), or feeds in (fill/2 during abduction): defined but never read
#: by another rule is expected of them.
ENGINE_READS: frozenset[tuple[str, int]] = frozenset({
    ("determination", 2),
    ("reported", 2),
    ("explained", 4),
    ("cites", 3),
    ("beyond_filling", 3),
    ("unreachable", 2),
    ("fill", 2),
    ("achieved", 2),
    ("criterion", 3),
    ("node", 2),
    ("part", 3),
})


def _display(path: Path) -> str:
    """``kb/30_indications.lp``: the file with its knowledge-base directory."""
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name


# ---------------------------------------------------------------------------
# Collecting atoms from the AST

Signature = tuple[str, int]


@dataclass(frozen=True)
class _Site:
    """One occurrence of a predicate."""
    file: Path
    line: int
    criteria: tuple[str, ...] = ()  # the holds(_, Id) heads of the statement

    def where(self) -> str:
        return f"{_display(self.file)}:{self.line}"


@dataclass
class _Index:
    defined: dict[Signature, list[_Site]] = field(default_factory=dict)    # heads, #external
    declared: dict[Signature, list[_Site]] = field(default_factory=dict)   # #defined
    used: dict[Signature, list[_Site]] = field(default_factory=dict)       # bodies, conditions
    referenced: dict[Signature, list[_Site]] = field(default_factory=dict)  # #show, #heuristic atom
    # criterion(Id, Kind, Text) facts: id -> (text or None when not a string, site)
    criterion_facts: dict[str, list[tuple[str | None, _Site]]] = field(default_factory=dict)
    node_ids: set[str] = field(default_factory=set)                        # node(Id, _) facts
    holds_heads: dict[str, list[_Site]] = field(default_factory=dict)      # holds(_, Id) heads

    def add(self, table: dict[Signature, list[_Site]], sig: Signature, site: _Site) -> None:
        table.setdefault(sig, []).append(site)


def _alternatives(term: ast.AST) -> list[ast.AST]:
    """The terms a (possibly pooled) atom term stands for."""
    if term.ast_type == ast.ASTType.Pool:
        out: list[ast.AST] = []
        for alternative in term.arguments:
            out.extend(_alternatives(alternative))
        return out
    return [term]


def _signature(term: ast.AST) -> tuple[Signature, list[ast.AST]] | None:
    """Name/arity and arguments of an atom term (``-p(X)`` is named ``-p``)."""
    negated = False
    if term.ast_type == ast.ASTType.UnaryOperation and term.operator_type == ast.UnaryOperator.Minus:
        negated, term = True, term.argument
    if term.ast_type == ast.ASTType.Function:
        if not term.name:  # a tuple is not an atom
            return None
        args = list(term.arguments)
        return (("-" if negated else "") + term.name, len(args)), args
    if term.ast_type == ast.ASTType.SymbolicTerm and term.symbol.type == clingo.SymbolType.Function:
        sym = term.symbol
        if not sym.name:
            return None
        negated = negated or not sym.positive
        return (("-" if negated else "") + sym.name, len(sym.arguments)), []
    return None


def _constant(term: ast.AST) -> str | None:
    """The name of a constant term (``applies``), else None."""
    if term.ast_type == ast.ASTType.SymbolicTerm:
        sym = term.symbol
        if sym.type == clingo.SymbolType.Function and not sym.arguments and sym.name and sym.positive:
            return sym.name
        return None
    if term.ast_type == ast.ASTType.Function and not term.arguments and term.name:
        return term.name
    return None


def _string(term: ast.AST) -> str | None:
    if term.ast_type == ast.ASTType.SymbolicTerm and term.symbol.type == clingo.SymbolType.String:
        return term.symbol.string
    return None


class _Collector(ast.Transformer):
    """Visits the statements of one file and records every predicate occurrence.

    The role of an atom - ``head`` (defines), ``body`` (uses) or ``reference``
    (#show / #heuristic atom: counts as read, and must be defined) - is passed
    down the visit as an extra argument.
    """

    def __init__(self, index: _Index, file: Path) -> None:
        self.index = index
        self.file = file
        self.criteria: tuple[str, ...] = ()

    def _site(self, node: ast.AST) -> _Site:
        begin = node.location.begin
        # An #include inside a layer file reports the included file.
        file = Path(begin.filename) if begin.filename and begin.filename != str(self.file) \
            else self.file
        return _Site(file, begin.line, self.criteria)

    # -- statements ---------------------------------------------------------

    def visit_Rule(self, node: ast.AST) -> ast.AST:
        self.criteria = self._head_criteria(node.head)
        self.visit(node.head, "head")
        self.visit_sequence(node.body, "body")
        if not node.body:
            self._fact(node.head)
        self.criteria = ()
        return node

    def visit_Defined(self, node: ast.AST) -> ast.AST:
        name = node.name if node.positive else "-" + node.name
        self.index.add(self.index.declared, (name, node.arity), self._site(node))
        return node

    def visit_ShowSignature(self, node: ast.AST) -> ast.AST:
        if node.name:
            name = node.name if node.positive else "-" + node.name
            self.index.add(self.index.referenced, (name, node.arity), self._site(node))
        return node

    def visit_ShowTerm(self, node: ast.AST) -> ast.AST:
        self.visit_sequence(node.body, "body")
        return node

    def visit_External(self, node: ast.AST) -> ast.AST:
        self.visit(node.atom, "head")
        self.visit_sequence(node.body, "body")
        return node

    def visit_Heuristic(self, node: ast.AST) -> ast.AST:
        self.visit(node.atom, "reference")
        self.visit_sequence(node.body, "body")
        return node

    def visit_Minimize(self, node: ast.AST) -> ast.AST:
        self.visit_sequence(node.body, "body")
        return node

    def visit_Edge(self, node: ast.AST) -> ast.AST:
        self.visit_sequence(node.body, "body")
        return node

    def visit_ProjectAtom(self, node: ast.AST) -> ast.AST:
        self.visit(node.atom, "reference")
        self.visit_sequence(node.body, "body")
        return node

    def visit_ProjectSignature(self, node: ast.AST) -> ast.AST:
        name = node.name if node.positive else "-" + node.name
        self.index.add(self.index.referenced, (name, node.arity), self._site(node))
        return node

    # Statements that carry no atoms of the program.
    def visit_Program(self, node: ast.AST, *_: object) -> ast.AST:
        return node

    def visit_Definition(self, node: ast.AST, *_: object) -> ast.AST:
        return node

    def visit_Script(self, node: ast.AST, *_: object) -> ast.AST:
        return node

    def visit_TheoryDefinition(self, node: ast.AST, *_: object) -> ast.AST:
        return node

    def visit_TheoryAtom(self, node: ast.AST, *_: object) -> ast.AST:
        return node

    # -- inside statements ----------------------------------------------------

    def visit_Literal(self, node: ast.AST, role: str = "body") -> ast.AST:
        # A negated literal in a head (`{ not p }`) reads p rather than defining it.
        if role == "head" and node.sign != ast.Sign.NoSign:
            role = "body"
        self.visit(node.atom, role)
        return node

    def visit_ConditionalLiteral(self, node: ast.AST, role: str = "body") -> ast.AST:
        self.visit(node.literal, role)
        self.visit_sequence(node.condition, "body")
        return node

    def visit_HeadAggregateElement(self, node: ast.AST, role: str = "head") -> ast.AST:
        self.visit(node.condition, role)
        return node

    def visit_BodyAggregateElement(self, node: ast.AST, role: str = "body") -> ast.AST:
        self.visit_sequence(node.condition, "body")
        return node

    def visit_SymbolicAtom(self, node: ast.AST, role: str = "body") -> ast.AST:
        for term in _alternatives(node.symbol):
            found = _signature(term)
            if found is None:
                continue
            sig, args = found
            site = self._site(term)
            table = {"head": self.index.defined, "body": self.index.used,
                     "reference": self.index.referenced}[role]
            self.index.add(table, sig, site)
            if role == "head" and sig == ("holds", 2) and args:
                cid = _constant(args[1])
                if cid is not None:
                    self.index.holds_heads.setdefault(cid, []).append(site)
        return node

    # -- facts the checks read -----------------------------------------------

    @staticmethod
    def _head_criteria(head: ast.AST) -> tuple[str, ...]:
        if head.ast_type != ast.ASTType.Literal or head.atom.ast_type != ast.ASTType.SymbolicAtom:
            return ()
        out: list[str] = []
        for term in _alternatives(head.atom.symbol):
            found = _signature(term)
            if found and found[0] in (("holds", 2), ("criterion", 3)) and found[1]:
                args = found[1]
                cid = _constant(args[1] if found[0] == ("holds", 2) else args[0])
                if cid is not None and cid not in out:
                    out.append(cid)
        return tuple(out)

    def _fact(self, head: ast.AST) -> None:
        if head.ast_type != ast.ASTType.Literal or head.sign != ast.Sign.NoSign \
                or head.atom.ast_type != ast.ASTType.SymbolicAtom:
            return
        for term in _alternatives(head.atom.symbol):
            found = _signature(term)
            if found is None:
                continue
            sig, args = found
            if sig == ("criterion", 3) and args:
                cid = _constant(args[0])
                if cid is not None:
                    self.index.criterion_facts.setdefault(cid, []).append(
                        (_string(args[2]), self._site(term)))
            elif sig == ("node", 2) and args:
                cid = _constant(args[0])
                if cid is not None:
                    self.index.node_ids.add(cid)


# ---------------------------------------------------------------------------
# Parsing

_MESSAGE = re.compile(r":(?P<line>\d+):(?P<column>\d+)(?:-[\d:]+)?: (?P<level>\w+): (?P<text>.*)",
                      re.DOTALL)


def _parse(file: Path, index: _Index) -> list[Finding]:
    """Parse one layer file into ``index``; the parse errors, if any."""
    messages: list[str] = []

    def logger(code: clingo.MessageCode, message: str) -> None:
        messages.append(message.strip())

    collector = _Collector(index, file)
    statements: list[ast.AST] = []
    failed = False
    try:
        ast.parse_files([str(file)], statements.append, logger=logger)
    except RuntimeError as exc:
        failed = True
        if not messages:
            messages.append(str(exc))
    errors: list[Finding] = []
    for message in messages if failed else ():
        if not message.startswith(str(file)):
            continue
        match = _MESSAGE.match(message[len(str(file)):])
        if not match or match["level"] != "error":
            continue
        line = int(match["line"])
        text = " ".join(match["text"].split())
        errors.append(Finding(
            kind="parse_error", severity="error", criteria=(),
            message=f"{_display(file)}:{line}: {text}",
            witness={"file": str(file), "line": line, "column": int(match["column"]),
                     "clingo": message},
            location=f"{_display(file)}:{line}"))
    if failed and not errors:
        errors.append(Finding(
            kind="parse_error", severity="error", criteria=(),
            message=f"{_display(file)} does not parse: {' '.join('; '.join(messages).split())}",
            witness={"file": str(file), "line": None, "clingo": "; ".join(messages)},
            location=_display(file)))
    if not failed:
        for statement in statements:
            collector.visit(statement)
    return errors


# ---------------------------------------------------------------------------
# The checks


def _spec_ids() -> tuple[str, ...]:
    from .cases import ADVISORIES, CRITERIA, NON_INDICATIONS
    return (*CRITERIA, *NON_INDICATIONS, *ADVISORIES)


def _file_rank(files: list[Path], file: Path) -> int:
    return files.index(file) if file in files else len(files)


def _name(sig: Signature) -> str:
    return f"{sig[0]}/{sig[1]}"


def _criteria_of(sites: Iterable[_Site]) -> tuple[str, ...]:
    out: list[str] = []
    for site in sites:
        for cid in site.criteria:
            if cid not in out:
                out.append(cid)
    return tuple(out)


def lint_kb(directory: str | Path, spec_ids: Iterable[str] | None = None) -> list[Finding]:
    """Every finding of the checks above for the knowledge base in ``directory``.

    ``spec_ids`` are the criterion ids the contract requires (default: the
    criteria, non-indications and advisories of :mod:`mrs_asp.cases`).
    Findings come most severe first, then in file and line order.
    """
    directory = Path(directory)
    ids = tuple(_spec_ids() if spec_ids is None else spec_ids)
    try:
        files = layer_files(directory)
    except LayerError as exc:
        return [Finding(kind="parse_error", severity="error", criteria=(), message=str(exc),
                        witness={"directory": str(directory)}, location=None)]
    if not files:
        return [Finding(kind="parse_error", severity="error", criteria=(),
                        message=f"{directory}: no layer files (NN_name.lp)",
                        witness={"directory": str(directory)}, location=None)]

    index = _Index()
    parse_errors: list[Finding] = []
    for file in files:
        parse_errors.extend(_parse(file, index))
    if parse_errors:
        return parse_errors

    findings: list[Finding] = []
    defined = set(index.defined) | set(index.declared)

    # Undefined: read somewhere, defined nowhere.
    reads: dict[Signature, list[_Site]] = {}
    for table in (index.used, index.referenced):
        for sig, sites in table.items():
            reads.setdefault(sig, []).extend(sites)
    for sig, sites in reads.items():
        if sig in defined:
            continue
        sites = sorted(sites, key=lambda s: (_file_rank(files, s.file), s.line))
        findings.append(Finding(
            kind="undefined_predicate", severity="error", criteria=_criteria_of(sites),
            message=(f"{_name(sig)} is used but never defined (no rule head, fact, choice, "
                     f"#external or #defined): it is always false"),
            witness={"predicate": _name(sig), "uses": [s.where() for s in sites]},
            location=sites[0].where()))

    # Unused: defined, never read.
    read = set(index.used) | set(index.referenced)
    for sig, sites in index.defined.items():
        if sig in read or sig in ENGINE_READS or sig in index.declared:
            continue
        sites = sorted(sites, key=lambda s: (_file_rank(files, s.file), s.line))
        findings.append(Finding(
            kind="unused_predicate", severity="warning", criteria=_criteria_of(sites),
            message=(f"{_name(sig)} is defined but never used in a body, #show, #heuristic "
                     f"or #minimize, and the engine does not read it"),
            witness={"predicate": _name(sig), "definitions": [s.where() for s in sites]},
            location=sites[0].where()))
    for sig, sites in index.declared.items():
        if sig in read or sig in ENGINE_READS:
            continue
        findings.append(Finding(
            kind="unused_predicate", severity="info", criteria=(),
            message=f"input {_name(sig)} is declared #defined but no rule reads it",
            witness={"predicate": _name(sig), "declared": [s.where() for s in sites]},
            location=sites[0].where()))

    # Criterion facts for the contract's ids, with their words.
    for cid in ids:
        facts = index.criterion_facts.get(cid)
        if not facts:
            heads = index.holds_heads.get(cid, [])
            findings.append(Finding(
                kind="missing_criterion", severity="error", criteria=(cid,),
                message=(f"criterion {cid} of the contract has no criterion({cid}, Kind, Text) "
                         f"fact"),
                witness={"id": cid, "holds_heads": [s.where() for s in heads]},
                location=heads[0].where() if heads else None))
    for cid, facts in index.criterion_facts.items():
        for text, site in facts:
            if text is None or not text.strip():
                findings.append(Finding(
                    kind="missing_text", severity="error", criteria=(cid,),
                    message=(f"criterion {cid} has no guideline text: Text must be a "
                             f"non-empty string" + (" (it is not a string)" if text is None
                                                     else "")),
                    witness={"id": cid, "text": text},
                    location=site.where()))

    # holds(_, Id) heads whose Id is no criterion (nor an inner node).
    spec = set(ids)
    for cid, sites in index.holds_heads.items():
        if cid in index.criterion_facts or cid in spec or cid in index.node_ids:
            continue
        findings.append(Finding(
            kind="missing_criterion", severity="warning", criteria=(cid,),
            message=(f"holds(_, {cid}) is derived but {cid} has no criterion fact and is not "
                     f"an inner node (node({cid}, _))"),
            witness={"id": cid, "holds_heads": [s.where() for s in sites]},
            location=sites[0].where()))

    order = {name: i for i, name in enumerate(_display(f) for f in files)}

    def key(f: Finding) -> tuple:
        file, _, line = (f.location or "").rpartition(":")
        return (-SEVERITIES.index(f.severity), order.get(file, len(order)),
                int(line) if line.isdigit() else 0, f.kind, f.message)

    return sorted(findings, key=key)
