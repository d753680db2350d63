"""The layer files of a knowledge-base directory (``NN_name.lp``), in reading
order, following a variant's ``extends`` file. Used by the engine
(mrs_asp/kb.py) and the linter (mrs_asp/lint.py).
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["EXTENDS", "LAYERS", "LayerError", "layer_files", "layer_of"]

#: The file of a variant knowledge base naming its base directory.
EXTENDS = "extends"

#: The layers a file may play, in reading order (kb/mrs.lp), each declared by
#: the file's first line ``%* layer: NAME``. What each task loads is chosen by
#: these names (mrs_asp/kb.py), never by a file's number.
LAYERS: tuple[str, ...] = (
    "case_facts",           # the input contract
    "concepts",             # clinical concepts, effective facts
    "applicability",        # applies
    "indications",          # the indication tree
    "non_indications",      # triggers/3, holds/2, blocked/3
    "notes",                # advisories
    "determination",        # the determination, what is reported
    "explanation",          # the minimal explanation
    "abduction",            # what is missing
    "why_nothing_missing",  # why nothing is missing
    "show",                 # what the engine reads back
)
_HEADER = re.compile(r"%\* layer: ([a-z_]+)")


class LayerError(ValueError):
    """The layer files of a knowledge-base directory cannot be determined."""


def layer_files(directory: str | Path) -> list[Path]:
    """The layer files of a knowledge base, in reading order.

    A layer file is a ``*.lp`` file whose name starts with a digit
    (``30_indications.lp``); ``mrs.lp`` only ``#include``s them. A directory
    holding a file ``extends`` (one line: a path to a base knowledge-base
    directory, relative to the directory itself) is a variant: the base's
    layer files are taken first, a variant file of the same name replaces the
    base's, and the result is ordered by file name. A base may itself extend
    another. Raises :class:`LayerError` for a missing directory, an empty or
    dangling ``extends``, or a cycle.
    """
    return _layer_files(Path(directory), ())


def layer_of(path: str | Path) -> str:
    """The layer a file declares on its first line (``%* layer: explanation``)."""
    try:
        with open(path, encoding="utf-8") as handle:
            first = handle.readline()
    except (OSError, UnicodeDecodeError) as exc:
        raise LayerError(f"{path}: cannot read: {exc}") from None
    match = _HEADER.match(first)
    if match is None:
        raise LayerError(f"{path}:1: expected a layer header '%* layer: NAME', "
                         f"NAME one of {', '.join(LAYERS)}")
    if match[1] not in LAYERS:
        raise LayerError(f"{path}:1: unknown layer {match[1]!r}, expected one of "
                         f"{', '.join(LAYERS)}")
    return match[1]


def _layer_files(directory: Path, seen: tuple[Path, ...]) -> list[Path]:
    if not directory.is_dir():
        raise LayerError(f"{directory}: not a knowledge-base directory")
    here = directory.resolve()
    if here in seen:
        chain = " -> ".join(str(p) for p in (*seen, here))
        raise LayerError(f"{directory}: '{EXTENDS}' makes a cycle: {chain}")
    by_name: dict[str, Path] = {}
    extends = directory / EXTENDS
    if extends.is_file():
        try:
            lines = [ln.strip() for ln in extends.read_text(encoding="utf-8").splitlines()]
        except (OSError, UnicodeDecodeError) as exc:
            raise LayerError(f"{extends}: cannot read: {exc}") from None
        target = next((ln for ln in lines if ln), "")
        if not target:
            raise LayerError(f"{extends}: empty, expected a path to the base knowledge base")
        base = directory / target
        if not base.is_dir():
            raise LayerError(f"{extends}: base {target!r} is not a directory")
        for path in _layer_files(base, (*seen, here)):
            by_name[path.name] = path
    for path in directory.glob("*.lp"):
        if path.name[:1].isdigit() and path.is_file():
            by_name[path.name] = path
    return [by_name[name] for name in sorted(by_name)]
