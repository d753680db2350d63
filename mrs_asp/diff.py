"""What a change to the knowledge base would flip.

``diff_library`` decides a case library under both versions and lists the
cases whose determination or criteria change. ``diff_witnesses`` looks beyond
the library: both versions are grounded side by side in one program (every
predicate but the case facts renamed ``old__``/``new__``) with the case space
of ``case_space.lp``, and clingo finds minimal cases the two decide
differently.
"""

from __future__ import annotations

import io
import posixpath
import subprocess
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import clingo
from clingo import Function, ast

from .answer import Answer, decide
from .loading import LoadedCase, case_from_data
from .check import CASE_PREDICATES, brief, indication_paths, space_statements, witness_case
from .facts import INPUT_PREDICATES, VOCABULARY_PREDICATES
from .kb import KnowledgeBase, KnowledgeBaseError
from .layers import EXTENDS

__all__ = ["Flip", "resolve_kb", "diff_library", "diff_witnesses"]

# The input contract and its vocabulary (kb/00_case_facts.lp) are shared by both versions.
_SHARED = INPUT_PREDICATES | VOCABULARY_PREDICATES


def _git(top: str, *args: str) -> bytes:
    return subprocess.run(["git", "-C", top, *args], capture_output=True, check=True).stdout


def resolve_kb(spec: str, workdir: Path) -> Path:
    """A KB directory, or a git revision of a KB in the repository (``HEAD~1``:
    its ``kb/``; ``main:kb/variants/x``: that directory) materialized under
    ``workdir``, which must be this spec's own folder.

    A revision keeps the repository's layout below ``workdir``, and a variant's
    ``extends`` is followed inside the same revision: its base is
    materialized from that revision too, never taken from the work tree.
    """
    path = Path(spec)
    if path.is_dir():
        return path
    revision, _, sub = spec.partition(":")
    sub = posixpath.normpath(sub.strip("/") or "kb")
    if revision.startswith("-") or sub.startswith(".."):  # never an option to git
        raise KnowledgeBaseError(
            f"{spec}: neither a knowledge-base directory nor a git revision of {sub}/")
    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True,
                             text=True, check=True).stdout.strip()
        _git(top, "rev-parse", "--verify", "--quiet", f"{revision}^{{tree}}")
        _git(top, "cat-file", "-e", f"{revision}:{sub}")
    except (OSError, subprocess.CalledProcessError):
        raise KnowledgeBaseError(
            f"{spec}: neither a knowledge-base directory nor a git revision of {sub}/") from None
    done: set[str] = set()
    pending = [sub]
    while pending:
        tree = pending.pop()
        if tree in done:
            continue
        done.add(tree)
        try:
            archive = _git(top, "archive", "--format=tar", revision, "--", tree)
        except subprocess.CalledProcessError:
            raise KnowledgeBaseError(f"{spec}: {revision} has no directory {tree}/") from None
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(workdir, filter="data")
        extends = workdir / tree / EXTENDS
        if extends.is_file():
            lines = extends.read_text(encoding="utf-8", errors="replace").split()
            base = posixpath.normpath(posixpath.join(tree, lines[0])) if lines else ""
            if not base or base == ".." or base.startswith("../") or base.startswith("/"):
                raise KnowledgeBaseError(f"{spec}: {tree}/{EXTENDS}: base {lines[:1]} is "
                                         f"not a directory of the repository at {revision}")
            pending.append(base)
    return workdir / sub


@dataclass
class Flip:
    id: str
    source: str
    old: str
    new: str
    changed: list[str] = field(default_factory=list)  # "+criterion" / "-criterion"

    def to_json(self) -> dict:
        return {"id": self.id, "source": self.source, "old": self.old, "new": self.new,
                "changed": self.changed}


def _shown(answer: Answer) -> set[str]:
    return set(answer.criteria) | set(answer.non_indications) | set(answer.advisories)


def diff_library(old: Path, new: Path, cases: Sequence[LoadedCase]) -> list[Flip]:
    """Library cases whose determination or reported criteria differ."""
    before = decide(cases, kb=old, missing=False)
    after = decide(cases, kb=new, missing=False)
    flips = []
    for loaded, a, b in zip(cases, before, after):
        sa, sb = _shown(a), _shown(b)
        if a.determination != b.determination or sa != sb:
            changed = [f"-{c}" for c in sorted(sa - sb)] + [f"+{c}" for c in sorted(sb - sa)]
            flips.append(Flip(loaded.id, loaded.source, a.determination, b.determination,
                              changed))
    return flips


class _Rename(ast.Transformer):
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def _rename(self, term):
        if term.ast_type == ast.ASTType.Pool:  # p(a;b) is a pool of p(a) and p(b)
            return term.update(arguments=[self._rename(t) for t in term.arguments])
        if term.ast_type == ast.ASTType.Function and term.name not in _SHARED:
            return term.update(name=self.prefix + term.name)
        return term

    def visit_SymbolicAtom(self, node):  # noqa: N802 (clingo's AST names)
        return node.update(symbol=self._rename(node.symbol))

    def visit_Defined(self, node):  # noqa: N802
        if node.name in _SHARED:
            return node
        return node.update(name=self.prefix + node.name)


_QUESTION = """
#external want(Old, New) : outcome(Old), outcome(New), Old != New.
outcome(approved; denied).
:- want(Old, New), not old__determination(0, Old).
:- want(Old, New), not new__determination(0, New).
#external via(Side, Criterion) : side(Side), leaf(Criterion).
side(old; new).
:- via(old, Criterion), not old__holds(0, Criterion).
:- via(new, Criterion), not new__holds(0, Criterion).
"""


def diff_witnesses(old: KnowledgeBase, new: KnowledgeBase) -> list[dict]:
    """Minimal cases the two versions decide differently: for each direction of
    flip, one per indication path the approving version takes."""
    ctl = clingo.Control(["--warn=none", "--opt-strategy=usc"])
    skip = (ast.ASTType.ShowSignature, ast.ASTType.ShowTerm)
    with ast.ProgramBuilder(ctl) as builder:
        for prefix, kb in (("old__", old), ("new__", new)):
            rename = _Rename(prefix)
            for statement in kb.statements("check"):
                if statement.ast_type not in skip:
                    builder.add(rename(statement))
        for statement in space_statements(tuple(sorted({*old.windows, *new.windows},
                                                             key=str))):
            builder.add(statement)
        leaves = {c for kb in (old, new) for p in indication_paths(kb) for c in p}
        ast.parse_string(_QUESTION + "".join(f"leaf({c}).\n" for c in sorted(leaves)),
                         builder.add)
    ctl.ground([("base", [])])
    found: list[dict] = []
    seen: set[str] = set()
    for before, after in (("denied", "approved"), ("approved", "denied")):
        approving, side = (new, "new") if after == "approved" else (old, "old")
        for path in indication_paths(approving):
            switches = [Function("want", [Function(before), Function(after)])]
            switches += [Function("via", [Function(side), Function(c)]) for c in path]
            for s in switches:
                ctl.assign_external(s, True)
            models: list[list[clingo.Symbol]] = []
            ctl.solve(on_model=lambda m: models.append(
                [s for s in m.symbols(atoms=True) if s.name in CASE_PREDICATES]))
            for s in switches:
                ctl.assign_external(s, False)
            if not models:
                continue
            case = witness_case(models[-1], f"diff-witness-{len(found) + 1:03d}",
                                title="generated by mrs-asp diff")
            key = brief(case)
            if key in seen:
                continue
            seen.add(key)
            # Confirm with the engine itself: both versions, as any user would run them.
            a = decide([case_from_data(case)], kb=old.directory, missing=False)[0]
            b = decide([case_from_data(case)], kb=new.directory, missing=False)[0]
            if (a.determination, b.determination) != (before, after):
                raise RuntimeError(f"diff witness not confirmed by the engine: {case}")
            found.append({"case": case, "old": before, "new": after, "path": path,
                          "brief": key,
                          "changed": [f"-{c}" for c in sorted(_shown(a) - _shown(b))]
                          + [f"+{c}" for c in sorted(_shown(b) - _shown(a))]})
    return found


def materialize(specs: Sequence[str]) -> tuple[tempfile.TemporaryDirectory, list[Path]]:
    """Resolve OLD/NEW specs; the temporary directory holds git revisions, each
    spec in its own folder (two revisions of one commit never mix)."""
    tmp = tempfile.TemporaryDirectory(prefix="mrs-asp-diff-")
    try:
        return tmp, [resolve_kb(s, Path(tmp.name) / str(n)) for n, s in enumerate(specs)]
    except BaseException:
        tmp.cleanup()
        raise
