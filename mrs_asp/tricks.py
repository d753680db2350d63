"""The engine's speed tricks, each behind a switch.

Each trick gives the same answers as the plain way it replaces, only sooner;
``tests/test_speed_switches.py`` proves the answers byte-identical both ways,
and ``benchmarks/README.md`` states what each one gains
(``benchmarks/tricks.py`` measures it). The environment variable
``MRS_ASP_PLAIN`` names the tricks to leave off, separated by commas
(``all``: every one); unset or empty, all are on:

``anonymous`` (:func:`mrs_asp.kb._named_anonymous`)
    the anonymous variables of positive body atoms are named before
    grounding, so gringo does not project those atoms onto auxiliary ones.
    Plain: the rules as written.
``split`` (:func:`mrs_asp.engine.atom_texts`, :func:`~mrs_asp.engine.read_atoms`)
    a model's shown atoms are formatted by clingo in one call and the text is
    split and read by hand. Plain: each ``Symbol``'s name and arguments are
    walked through clingo's API.
``spool`` (:func:`mrs_asp.run.rendered`)
    the workers of ``--jobs`` take each batch of cases from a file of a
    temporary spool directory and leave its answers in another. Plain: both
    go through the worker pool's pipe.
``alike`` (:func:`mrs_asp.run._alike_json`)
    the JSON answers without what is missing are decided once for each
    distinct set of the compiled evaluation's inputs, and the text after the
    id is kept for the cases alike. Plain: each case is decided and its
    answer written on its own.

A switch is read when its trick is used: ``anonymous`` when a knowledge
base's program is prepared (the prepared-KB cache keeps the two settings
apart), ``split`` when a model is read, ``spool`` when workers start,
``alike`` for each batch. An engine kept by a process (``mrs_asp.warm``)
keeps the grounding it was built with.
"""

from __future__ import annotations

import os

__all__ = ["TRICKS", "plain", "unknown"]

#: The switchable tricks, by the name ``MRS_ASP_PLAIN`` gives them.
TRICKS = ("anonymous", "split", "spool", "alike")

_VARIABLE = "MRS_ASP_PLAIN"


def _named() -> set[str]:
    return {name.strip() for name in os.environ.get(_VARIABLE, "").split(",") if name.strip()}


def plain(trick: str) -> bool:
    """Whether ``MRS_ASP_PLAIN`` leaves ``trick`` off (runs the plain way)."""
    value = os.environ.get(_VARIABLE)
    if not value:  # the usual case, read on every model: one lookup
        return False
    names = _named()
    return trick in names or "all" in names


def unknown() -> str | None:
    """A line saying what in ``MRS_ASP_PLAIN`` names no trick, else None (a
    misspelt switch would otherwise measure the tricks it meant to leave off)."""
    wrong = sorted(_named() - {*TRICKS, "all"})
    if not wrong:
        return None
    return (f"{_VARIABLE}: unknown trick{'s' if len(wrong) > 1 else ''} "
            f"{', '.join(map(repr, wrong))}; the tricks are {', '.join(TRICKS)} (or all)")
