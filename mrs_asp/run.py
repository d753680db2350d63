"""Deciding a stream of cases in batches, on every core.

The main process reads and validates cases and writes answers in input
order; worker processes (forked, so they inherit the parsed knowledge base)
ground, solve and render a batch each, into a file of a temporary spool
directory that the main process copies out in order. A single batch is
decided in-process, so one case pays no start-up of workers.
"""

from __future__ import annotations

import gc
import itertools
import multiprocessing
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from .abduce import MAX_ALTERNATIVES
from .answer import decide, engine_for
from .cases import case_json
from .loading import LoadedCase, parse_case
from .report import render

__all__ = ["rendered", "default_jobs"]


def default_jobs() -> int:
    """Every core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _render_batch(batch: list[LoadedCase], kb: Path | None, missing: bool, view: str,
                  fmt: str, show_case: bool = False,
                  max_alternatives: int | None = MAX_ALTERNATIVES) -> str:
    # A lone case grounded on its own costs a command-line process less than
    # building the warm engine; a batch asks it what is missing (mrs_asp/warm.py).
    answers = decide(batch, kb=kb, missing=missing, max_alternatives=max_alternatives,
                     warm=missing and len(batch) > 1)
    # A case derived from FHIR answers in the FHIR input's terms (mrs_asp.fhir).
    answers = [loaded.cite(answer) if hasattr(loaded, "cite") else answer
               for loaded, answer in zip(batch, answers)]
    knowledge = engine_for(kb).kb
    return "".join(render(view, fmt, loaded, answer, knowledge, show_case)
                   for loaded, answer in zip(batch, answers))


def _work(task: tuple) -> str:
    kb, missing, view, fmt, show_case, max_alternatives, spool, number, items = task
    # A batch allocates many small objects and makes no garbage cycles worth
    # chasing: the collector runs once after it rather than every few hundred
    # allocations during it (~2% of a batch's time).
    gc.disable()
    try:
        batch = [parse_case(item[1], item[0]) if isinstance(item, tuple) else item
                 for item in items]
        answers = _render_batch(batch, kb, missing, view, fmt, show_case, max_alternatives)
    finally:
        gc.enable()
    path = os.path.join(spool, f"{number}.out")
    with open(path, "w", encoding="utf-8") as out:
        out.write(answers)
    return path


def rendered(batches: Iterable[list[LoadedCase]], *, kb: Path | None, missing: bool,
             view: str, fmt: str, jobs: int = 1, show_case: bool = False,
             max_alternatives: int | None = MAX_ALTERNATIVES) -> Iterator[str]:
    """The rendered answers of each batch, in order."""
    batches = iter(batches)
    first = list(itertools.islice(batches, 2))
    if jobs <= 1 or len(first) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        for batch in itertools.chain(first, batches):
            yield _render_batch(batch, kb, missing, view, fmt, show_case, max_alternatives)
        return
    engine_for(kb).prepare(missing)
    if missing:  # the workers inherit the warm engine's abduction grounding
        from .warm import warm_engine_for
        warm_engine_for(kb).prepare()
    # What the workers inherit (modules, the parsed KB) is kept out of their
    # collections, so the collector neither scans it nor copies its pages.
    gc.freeze()
    try:
        # A worker leaves each batch's answers in a file of the spool directory
        # and goes on with the next batch: sent back through the pool's pipe, a
        # batch of answers (~0.7 MB) kept it waiting until this process had read it.
        with tempfile.TemporaryDirectory(prefix="mrs-asp-") as spool, \
                multiprocessing.get_context("fork").Pool(jobs) as pool:
            tasks = ((kb, missing, view, fmt, show_case, max_alternatives, spool, number,
                      [(c.source, c.text if c.text is not None else case_json(c.case))
                       if type(c) is LoadedCase else c  # a FHIR case keeps its provenance
                       for c in batch])
                     for number, batch in enumerate(itertools.chain(first, batches)))
            for path in pool.imap(_work, tasks):
                with open(path, encoding="utf-8") as answers:
                    yield answers.read()
                os.unlink(path)
    finally:
        gc.unfreeze()
