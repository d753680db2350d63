"""Finding and reading a knowledge base (a directory of ``*.lp`` files).

The files are parsed once per process into clingo ASTs and replayed into each
new ``Control``; the criteria (ids, kinds, guideline words) and the shape of
the indication tree are read from the knowledge base itself, never from
Python tables.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import clingo
from clingo import ast

try:  # CPython's built-in SHA-256: hashlib loads OpenSSL first (~4 ms of every start)
    from _sha256 import sha256
except ImportError:  # named _sha2 from Python 3.12
    try:
        from _sha2 import sha256
    except ImportError:
        from hashlib import sha256

from . import layers, tricks

__all__ = ["GUIDELINE_VERSION", "Criterion", "KnowledgeBase", "KnowledgeBaseError",
           "default_kb_dir", "layer_files"]

#: The version of the guideline that kb/ encodes (kb/mrs.lp names it).
GUIDELINE_VERSION = "2"


_CACHE_VERSION = 2  # 2: the entry sealed by its SHA-256 (kb.sealed)


def cache_dir() -> Path | None:
    """The directory of prepared knowledge bases: ``$MRS_ASP_CACHE``, else
    ``$XDG_CACHE_HOME/mrs-asp``, else ``~/.cache/mrs-asp``; None when
    ``MRS_ASP_CACHE`` is set empty (the cache is off)."""
    where = os.environ.get("MRS_ASP_CACHE")
    if where == "":
        return None
    if where is None:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"),
                                                                 ".cache")
        where = os.path.join(base, "mrs-asp")
    return Path(where)


def sealed(data: bytes) -> bytes:
    """``data`` behind its SHA-256, as a cache entry is kept (:func:`unsealed`)."""
    return sha256(data).digest() + data


def unsealed(entry: bytes) -> bytes | None:
    """The data of a cache entry, or None if it is not whole (a file cut short,
    bits flipped on disk, or written by something else): then it is prepared
    again rather than trusted."""
    data = entry[32:]
    if len(entry) < 32 or sha256(data).digest() != entry[:32]:
        return None
    return data


def write_atomically(path: Path, data: bytes) -> None:
    """``data`` as the whole of ``path``, or no change (a reader sees all of it or
    none); a cache that cannot be written is no error (OSError is swallowed)."""
    import tempfile  # only on a cache miss: it is not on the fast path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    except OSError:
        return
    try:
        with open(handle, "wb") as out:
            out.write(data)
        os.replace(name, path)
    except OSError:
        try:
            os.unlink(name)
        except OSError:
            pass


def _cache_file(fingerprint: str, named: bool = True) -> Path | None:
    """Where the prepared KB of a fingerprint is kept (None: the cache is off);
    ``named=False``: prepared with the anonymous variables left as written
    (``MRS_ASP_PLAIN=anonymous``), a file of its own."""
    where = cache_dir()
    if where is None:
        return None
    plain = "" if named else "-plain-anonymous"
    # the format's version in the name: two installations sharing the cache
    # (an upgrade, two environments) keep an entry each instead of replacing
    # each other's on every start
    return where / f"kb-{fingerprint}-{clingo.__version__}-v{_CACHE_VERSION}{plain}.json"


class KnowledgeBaseError(Exception):
    """The knowledge base cannot be found or does not parse."""


def default_kb_dir() -> Path:
    """``$MRS_ASP_KB``, else the ``kb/`` shipped in the package, else the repo's ``kb/``."""
    env = os.environ.get("MRS_ASP_KB")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    for candidate in (here / "kb", here.parent / "kb"):
        if (candidate / "mrs.lp").is_file():
            return candidate
    raise KnowledgeBaseError(f"no knowledge base found beside {here}; pass --kb DIR")


def layer_files(directory: Path) -> list[Path]:
    """The layer files of a KB directory (``NN_name.lp``), in reading order,
    following a variant's ``extends`` file (see :func:`mrs_asp.layers.layer_files`)."""
    try:
        return layers.layer_files(directory)
    except layers.LayerError as exc:
        raise KnowledgeBaseError(str(exc)) from None


def _quiet(code: clingo.MessageCode, message: str) -> None:
    pass


_HOLDS_HEAD = re.compile(r"holds\(\w+,([a-z]\w*)\)(?: :- |\.$)")
_NO_SCRIPT = ("#script is not allowed in a knowledge base: it holds rules, not code "
              "(the engine never runs embedded scripts)")
# Comments and strings of clingo source, blanked before looking for directives.
_COMMENT_OR_STRING = re.compile(r'%\*.*?\*%|%[^\n]*|"(?:\\.|[^"\\\n])*"', re.DOTALL)
_DIRECTIVE = re.compile(r'#(script|include)\b\s*(?:<([^>\n]*)>|"([^"\n]*)")?')  # clingo: no space after #


def _check_source(path: Path, roots: set[Path]) -> None:
    """A layer file must be text (UTF-8, no NUL byte), hold no ``#script`` and
    ``#include`` nothing outside ``roots`` (the directories of the KB's layers).
    Checked before clingo parses it: clingo would follow the include, and its
    parser aborts the process on some binary input."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KnowledgeBaseError(f"{path}: cannot read: {exc.strerror or exc}") from None
    nul = data.find(b"\0")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        nul = exc.start if nul < 0 else min(nul, exc.start)
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise KnowledgeBaseError(f"{path}:{line}: not a text file (byte 0x{data[nul]:02x} at "
                                 f"offset {nul}): a layer file is UTF-8 clingo source")
    for kind, line, target, _ in _directives(text):
        if kind == "script":
            raise KnowledgeBaseError(f"{path}:{line}: {_NO_SCRIPT}")
        if target is None:
            raise KnowledgeBaseError(f"{path}:{line}: #include without a file name")
        resolved = (path.parent / target).resolve()
        if not any(resolved.is_relative_to(root) for root in roots):
            raise KnowledgeBaseError(
                f"{path}:{line}: #include {target!r} is outside the knowledge base "
                f"({', '.join(sorted(map(str, roots)))})")


def _directives(text: str):
    """Each ``#script`` and ``#include`` of a clingo source, comments and strings
    aside: (kind, line, the file name or None, whether it was quoted)."""
    if "#script" not in text and "#include" not in text:  # the usual case: no directive
        return
    code = _COMMENT_OR_STRING.sub(lambda m: re.sub(r"[^\n]", " ", m[0]), text)
    for match in _DIRECTIVE.finditer(code):
        # The file name is read from the text itself (the blanked copy lost it).
        named = _DIRECTIVE.match(text, match.start())
        target = (named[2] or named[3]) if named else None
        yield (match[1], code.count("\n", 0, match.start()) + 1, target,
               bool(named and named[3]))


def _includes(path: Path, data: bytes) -> list[Path]:
    """The files a clingo source ``#include``s by a quoted name, resolved from
    its directory."""
    return [(path.parent / target).resolve()
            for kind, _, target, quoted in _directives(data.decode("utf-8", "replace"))
            if kind == "include" and quoted]


_MESSAGE = re.compile(r"^(?P<file>.*?):(?P<line>\d+):\d+(?:-[\d:]+)?: (?:error|info|warning): "
                      r"(?P<text>.*)$", re.DOTALL)


def _parse_error(path: Path, messages: list[str], exc: Exception) -> str:
    """clingo's parse messages as one line: ``file:line: what is wrong``."""
    for message in messages:
        match = _MESSAGE.match(message)
        if match:
            return f"{match['file']}:{match['line']}: {' '.join(match['text'].split())}"
    return f"{path}: does not parse: {' '.join(('; '.join(messages) or str(exc)).split())}"


@dataclass(frozen=True)
class Criterion:
    id: str
    kind: str  # applicability, indication, non_indication, advisory
    text: str
    rank: int  # position in reading order (guideline order)


# What each use of the KB loads: the layers it skips, by the layer each file
# declares (its first line, see mrs_asp/layers.py), and the #show signatures
# it keeps (None: all).
# - evaluate: the answer and why nothing is missing, not the abduction;
# - explain:  the answer alone, for --no-missing;
# - abduce:   what is missing: no explanation, and only the fillings are read
#             back, so a model of a batch does not carry every answer;
# - check:    the policy checks read the case facts themselves, nothing shown.
_MODES: dict[str, tuple[frozenset[str], frozenset | None]] = {
    "evaluate": (frozenset({"abduction"}), None),
    "explain": (frozenset({"abduction", "why_nothing_missing"}), None),
    "abduce": (frozenset({"explanation", "why_nothing_missing"}),
               frozenset({("fill", 2), ("achieved", 2), ("unlifted", 3)})),
    "check": (frozenset({"explanation", "abduction", "why_nothing_missing"}), frozenset()),
}


def _kept(statement: ast.AST, shown: frozenset | None) -> bool:
    if shown is None:
        return True
    if statement.ast_type == ast.ASTType.ShowSignature:
        return (statement.name, statement.arity) in shown
    return statement.ast_type != ast.ASTType.ShowTerm


class _NameAnonymous(ast.Transformer):
    """Gives each anonymous variable its own name (``_`` -> ``Anonymous1``)."""

    def __init__(self) -> None:
        self.count = 0

    def visit_Variable(self, variable: ast.AST) -> ast.AST:
        if variable.name != "_":
            return variable
        self.count += 1
        return variable.update(name=f"Anonymous{self.count}")


def _named_anonymous(statement: ast.AST, text: str) -> ast.AST:
    """The same rule, with the anonymous variables of its positive body atoms named.

    gringo projects an atom such as ``region_study(Case, Study, _, Days)`` onto an
    auxiliary predicate before joining it; in this knowledge base each study,
    path node or trigger has one binding of those places, so the projection
    only adds atoms (about a tenth of a case's grounding). Named, the variables
    mean the same in a positive literal (they are not safe to name under
    ``not``, and are left alone there).

    A speed trick: ``MRS_ASP_PLAIN=anonymous`` leaves the rules as written
    (mrs_asp/tricks.py; the answers are the same, benchmarks/README.md says
    what it gains).
    """
    if not _ANONYMOUS.search(text) or statement.ast_type != ast.ASTType.Rule:
        return statement
    body = statement.body
    marked = [_has_anonymous(literal) for literal in body]
    if not any(marked):
        return statement
    namer = _NameAnonymous()
    return statement.update(body=[namer(literal) if mark else literal
                                  for literal, mark in zip(body, marked)])


_ANONYMOUS = re.compile(r"(?<![\w'])_(?![\w'])")


def _has_anonymous(literal: ast.AST) -> bool:
    """A positive atom with an anonymous variable (its text is checked first:
    walking the AST from Python is slow, and the KB is loaded at every start)."""
    return (_ANONYMOUS.search(str(literal)) is not None
            and literal.ast_type == ast.ASTType.Literal and literal.sign == ast.Sign.NoSign
            and literal.atom.ast_type == ast.ASTType.SymbolicAtom)


#: The kinds of criteria (criterion(Id, Kind, Text)), in reading order.
_KINDS = ("applicability", "indication", "non_indication", "advisory")

# What the engine reads of the KB itself: each criterion's words, the tree,
# the windows of days (window/3).
_TABLES = ("criterion(", "node(", "part(", "window(")


@dataclass
class KnowledgeBase:
    directory: Path
    _statements: dict[str, list[ast.AST]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.directory = Path(self.directory)
        if not self.directory.is_dir():
            raise KnowledgeBaseError(f"{self.directory}: not a knowledge-base directory")
        if not self.files:
            raise KnowledgeBaseError(f"{self.directory}: no layer files (NN_name.lp)")

    @cached_property
    def files(self) -> list[Path]:
        """The layer files, in reading order (``NN_name.lp``)."""
        return layer_files(self.directory)

    @cached_property
    def fingerprint(self) -> str:
        """A hash of the rules this knowledge base runs: the SHA-256 of each layer
        file's name and bytes, in reading order, then of each file they
        ``#include`` (hex). Two directories holding the same layers have the same
        fingerprint; any edit to a layer or to a file it includes changes it."""
        digest = sha256()
        included: list[Path] = []
        for path in self.files:
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise KnowledgeBaseError(f"{path}: cannot read: {exc.strerror or exc}") from None
            digest.update(f"{path.name}\0{len(data)}\0".encode())
            digest.update(data)
            included += _includes(path, data)
        # a file a layer #includes (within the KB, _check_source sees to that) is
        # part of the rules too: an edit to it must not be answered from the cache
        seen = set(self.files)
        while included:
            path = included.pop(0)
            if path in seen:
                continue
            seen.add(path)
            try:
                data = path.read_bytes()
            except OSError:  # clingo says what is wrong with it when it parses
                data = b"\0unreadable"
            try:
                name = path.relative_to(self.directory.resolve()).as_posix()
            except ValueError:  # in another layer directory of the KB
                name = str(path)
            digest.update(f"{name}\0{len(data)}\0".encode())
            digest.update(data)
            included += _includes(path, data)
        return digest.hexdigest()

    @cached_property
    def layers(self) -> dict[str, str]:
        """The layer each file plays (``30_indications.lp`` -> ``indications``),
        as its first line declares it."""
        try:
            return {path.name: layers.layer_of(path) for path in self.files}
        except layers.LayerError as exc:
            raise KnowledgeBaseError(str(exc)) from None

    @cached_property
    def _parsed(self) -> list[tuple[str, ast.AST, str]]:
        """Every statement of the layer files with its file's name and its text,
        parsed once. (Reading the text is one call; walking the AST from Python
        is many.)"""
        parsed: list[tuple[str, ast.AST, str]] = []
        messages: list[str] = []

        def logger(code: clingo.MessageCode, message: str) -> None:
            messages.append(message.strip())

        roots = {path.parent.resolve() for path in self.files}
        for path in self.files:  # file by file: each statement's file is known
            _check_source(path, roots)
            statements: list[ast.AST] = []
            try:
                ast.parse_files([str(path)], statements.append, logger=logger)
            except RuntimeError as exc:
                raise KnowledgeBaseError(_parse_error(path, messages, exc)) from None
            for statement in statements:
                if statement.ast_type == ast.ASTType.Script:  # #script (lua) that parsed
                    raise KnowledgeBaseError(f"{path}:{statement.location.begin.line}: "
                                             f"{_NO_SCRIPT}")
                parsed.append((path.name, statement, str(statement)))
        return parsed

    @cached_property
    def _named(self) -> list[ast.AST]:
        """The statements of ``_parsed`` with their anonymous variables named
        (:func:`_named_anonymous`), in the same order."""
        return [_named_anonymous(statement, text) for _, statement, text in self._parsed]

    def validate(self) -> None:
        """Refuse a knowledge base the engine cannot run faithfully, before any
        case is decided: raises :class:`KnowledgeBaseError` with one line naming
        ``file:line`` and what is wrong.

        Checked: every layer file is UTF-8 text without NUL bytes, holds no
        ``#script`` and ``#include``s nothing outside the knowledge base's
        directories, and parses; every criterion the KB names (each leaf of
        the indication tree, ``part/3``, and each constant ``Id`` of a
        ``holds(Case, Id)`` head that is no inner node) has its
        ``criterion(Id, Kind, "text")`` row with non-empty words (the
        explanation prints them; without one a node would silently drop out).
        A KB with no answer set is found when a batch is decided
        (:meth:`mrs_asp.engine.Engine.probe` asks on one small case first).
        """
        criteria, nodes, parts = self.criteria, self.nodes, self.parts
        # The criteria the KB itself names (its roots are its own, not Python's):
        # every leaf of the tree, and every constant id of a holds(Case, Id) head.
        leaves = [child for children in parts.values() for child in children
                  if child not in nodes]
        # (the statements' texts, kept in the cache of prepared KBs: a KB that
        # is valid is not parsed again to find that out)
        derived = [m[1] for text in self.statement_texts()
                   if (m := _HOLDS_HEAD.match(text)) and m[1] not in nodes]
        for cid in dict.fromkeys([*leaves, *derived]):
            criterion = criteria.get(cid)
            if criterion is None:
                raise KnowledgeBaseError(
                    f"{self._where(cid)}: criterion {cid} has no criterion({cid}, Kind, "
                    f"\"guideline text\") row (the explanation would leave it out)")
            if not criterion.text.strip():
                raise KnowledgeBaseError(
                    f"{self._where(cid, 'criterion(')}: criterion {cid} has empty guideline "
                    f"text")

    def _where(self, cid: str, head: str = "holds(") -> str:
        """``file:line`` of the first statement whose head is ``head...cid...``
        (a ``holds(C, cid)`` rule by default), else of the first whose head
        names ``cid`` at all (``part(vascular, 1, cid)``), else the directory."""
        by_name = {path.name: path for path in self.files}
        named = re.compile(rf"[(,]{re.escape(cid)}[,)]")
        first = None
        for name, statement, text in self._parsed:
            top = text.partition(" :- ")[0]
            if named.search(top):
                where = f"{by_name[name]}:{statement.location.begin.line}"
                if top.startswith(head):
                    return where
                first = first or where
        return first or str(self.directory)

    def statements(self, mode: str) -> list[ast.AST]:
        """Parsed statements for a mode: ``evaluate``, ``explain``, ``abduce`` or
        ``check``; their anonymous variables named unless ``MRS_ASP_PLAIN``
        says ``anonymous`` (:func:`_named_anonymous`)."""
        return self._mode_statements(mode, not tricks.plain("anonymous"))

    def _mode_statements(self, mode: str, named: bool) -> list[ast.AST]:
        key = mode if named else f"{mode} as written"
        if key not in self._statements:
            skipped, shown = _MODES[mode]
            layer = self.layers
            statements = self._named if named else [st for _, st, _ in self._parsed]
            self._statements[key] = [st for (name, _, _), st in zip(self._parsed, statements)
                                     if layer[name] not in skipped and _kept(st, shown)]
        return self._statements[key]

    def control(self, mode: str, arguments: list[str] | None = None) -> clingo.Control:
        """A fresh ``Control`` holding the knowledge base (not yet grounded)."""
        # The solver's own notes (e.g. "domRec ignored: No domain atoms found" for a
        # case no filling can approve) are not the user's business.
        ctl = clingo.Control(["--warn=none", *(arguments or [])], logger=_quiet)
        # The statements as prepared text: clingo reads it in one call, where
        # adding the parsed statements one by one crosses into it for each.
        ctl.add("base", [], self.program(mode))
        return ctl

    def program(self, mode: str) -> str:
        """The statements of a mode as program text (the anonymous variables of
        positive body atoms named, see _named_anonymous, unless ``MRS_ASP_PLAIN``
        says ``anonymous``), from the cache of prepared KBs when this KB's
        fingerprint is there."""
        return self._prepared["modes"][mode]

    @property
    def _prepared(self) -> dict:
        """What a decision needs of the KB (:meth:`_prepare`), for the setting
        of ``MRS_ASP_PLAIN=anonymous`` in force."""
        named = not tricks.plain("anonymous")
        prepared = self._prepared_by.get(named)
        if prepared is None:
            prepared = self._prepared_by[named] = self._prepare(named)
        return prepared

    @cached_property
    def _prepared_by(self) -> dict[bool, dict]:
        return {}

    def _prepare(self, named: bool) -> dict:
        """What a decision needs of the KB, prepared once for its fingerprint and
        kept in the cache directory (``$MRS_ASP_CACHE``, else
        ``$XDG_CACHE_HOME/mrs-asp``, else ``~/.cache/mrs-asp``; ``MRS_ASP_CACHE=``
        empty turns it off): each mode's program text, the statements' texts and
        the tables. Any edit to a layer changes the fingerprint, so a stale
        entry is never read; an unreadable or unwritable cache only costs the
        parse. The programs with and without the anonymous variables named
        (``named``) are kept apart, in memory and on disk."""
        path = _cache_file(self.fingerprint, named)
        if path is not None:
            try:
                kept = unsealed(path.read_bytes())
                data = json.loads(kept) if kept is not None else {}
                if data.get("version") == _CACHE_VERSION and data.get("fingerprint") == \
                        self.fingerprint and data.get("named", True) == named:
                    return data
            except (OSError, ValueError):
                pass
        criteria, nodes, parts, windows = self._computed_tables
        data = {
            "version": _CACHE_VERSION, "fingerprint": self.fingerprint, "named": named,
            "modes": {mode: "\n".join(str(st) for st in self._mode_statements(mode, named)) + "\n"
                      for mode in _MODES},
            "texts": [text for _, _, text in self._parsed],
            "tables": {"criteria": [[c.id, c.kind, c.text, c.rank] for c in criteria.values()],
                       "nodes": nodes, "parts": parts, "windows": windows},
        }
        if path is not None:
            write_atomically(path, sealed(json.dumps(data).encode()))
        return data

    @cached_property
    def _tables(self) -> tuple[dict[str, Criterion], dict[str, str], dict[str, list[str]],
                               list[tuple[int, int | None]]]:
        tables = self._prepared["tables"]
        criteria = {cid: Criterion(cid, kind, text, rank)
                    for cid, kind, text, rank in tables["criteria"]}
        windows = [tuple(w) for w in tables["windows"]]
        return criteria, tables["nodes"], tables["parts"], windows

    @cached_property
    def _computed_tables(self) -> tuple[dict[str, Criterion], dict[str, str],
                                        dict[str, list[str]], list[tuple[int, int | None]]]:
        # The KB states criterion/3, node/2 and part/3 as facts: grounding just
        # those statements is enough (and ten times quicker than the whole KB);
        # should one be derived by a rule, the whole KB is grounded instead.
        tables = [(st, text) for _, st, text in self._parsed if text.startswith(_TABLES)]
        ctl = clingo.Control(["--warn=none"], logger=_quiet)
        with ast.ProgramBuilder(ctl) as builder:
            for statement in ([st for st, _ in tables] if all(not st.body for st, _ in tables)
                              else self.statements("evaluate")):
                builder.add(statement)
        ctl.ground([("base", [])])
        raw: list[tuple[str, str, str]] = []
        nodes: dict[str, str] = {}
        parts: dict[str, list[tuple[int, str]]] = {}
        windows: set[tuple[int, int | None]] = set()
        for atom in ctl.symbolic_atoms:
            s = atom.symbol
            if s.name == "criterion" and len(s.arguments) == 3:
                raw.append((str(s.arguments[0]), str(s.arguments[1]), s.arguments[2].string))
            elif s.name == "node" and len(s.arguments) == 2:
                nodes[str(s.arguments[0])] = str(s.arguments[1])
            elif s.name == "part" and len(s.arguments) == 3:
                parts.setdefault(str(s.arguments[0]), []).append(
                    (s.arguments[1].number, str(s.arguments[2])))
            elif s.name == "window" and len(s.arguments) == 3:
                start, end = s.arguments[1], s.arguments[2]
                if start.type != clingo.SymbolType.Number or end.type not in (
                        clingo.SymbolType.Number, clingo.SymbolType.Supremum):
                    raise KnowledgeBaseError(
                        f"{self.directory}: {s}: a window is window(Name, FromDay, ToDay), "
                        f"ToDay a number or #sup")
                windows.add((start.number, end.number
                             if end.type == clingo.SymbolType.Number else None))
        children = {n: [c for _, c in sorted(ps)] for n, ps in parts.items()}
        # Reading order: by kind, and within a kind in the order the files state
        # the criteria (_parsed is in that order); each root - a criterion that
        # is no node's part (applies, indicated) - followed by its tree, depth-first.
        order: list[str] = []

        def visit(node: str) -> None:
            if node not in order:
                order.append(node)
            for child in children.get(node, ()):
                visit(child)

        stated = [text[len("criterion("):text.index(",")] for _, text in tables
                  if text.startswith("criterion(")]
        kind_of = {c: k for c, k, _ in raw}
        is_part = {c for cs in children.values() for c in cs}
        for kind in _KINDS:
            for cid in stated + [c for c, _, _ in raw]:
                if kind_of.get(cid) == kind and cid not in is_part:
                    visit(cid)
        rank = {cid: i for i, cid in enumerate(order)}
        criteria = {cid: Criterion(cid, kind, text, rank.get(cid, len(rank)))
                    for cid, kind, text in raw}
        return criteria, nodes, children, sorted(windows, key=lambda w: (w[0], w[1] is None, w[1]))

    def root(self, kind: str) -> str:
        """The root criterion of a kind, the first of that kind that is no node's
        part: ``applies`` for ``applicability``, ``indicated`` for ``indication``
        (the tree's top). KnowledgeBaseError if the KB has none."""
        root = self._roots.get(kind)
        if root is None:
            raise KnowledgeBaseError(f"{self.directory}: no criterion(Id, {kind}, Text) that "
                                     "is not a part of another")
        return root

    @cached_property
    def _roots(self) -> dict[str, str]:
        # every answer's explanation starts at a root: found once, not per case
        parts = {c for cs in self.parts.values() for c in cs}
        roots: dict[str, str] = {}
        for cid in sorted(self.criteria, key=lambda c: self.criteria[c].rank):
            kind = self.criteria[cid].kind
            if kind not in roots and cid not in parts:
                roots[kind] = cid
        return roots

    @property
    def criteria(self) -> dict[str, Criterion]:
        """Every criterion by id, with its kind and guideline words."""
        return self._tables[0]

    @property
    def nodes(self) -> dict[str, str]:
        """Inner nodes of the indication tree: id -> 'all' | 'any'."""
        return self._tables[1]

    @property
    def parts(self) -> dict[str, list[str]]:
        """Parts of each inner node, in the guideline's order."""
        return self._tables[2]

    @property
    def windows(self) -> list[tuple[int, int | None]]:
        """The windows of days before the request the rules compare study ages
        with (``window(Name, From, To)``): (From, To), To None for ``#sup``."""
        return self._tables[3]

    def statement_texts(self) -> list[str]:
        """The text of every statement of the layer files, in reading order."""
        return self._prepared["texts"]

    def ids(self, kind: str) -> list[str]:
        return sorted((c.id for c in self.criteria.values() if c.kind == kind),
                      key=lambda cid: self.criteria[cid].rank)
