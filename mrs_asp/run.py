"""Deciding a stream of cases in batches, on every core.

The main process reads and validates cases and writes answers in input
order; worker processes (forked, so they inherit the parsed knowledge base)
ground, solve and render a batch each, into a file of a temporary spool
directory that the main process copies out in order. A single batch is
decided in-process, so one case pays no start-up of workers.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import multiprocessing
import os
import pickle
import signal
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from .abduce import MAX_ALTERNATIVES
from .answer import decide, engine_for
from .cases import case_json
from .loading import LoadedCase, parse_case
from .report import render

__all__ = ["Stopped", "rendered", "default_jobs"]


class Stopped(BaseException):
    """The run was stopped by SIGTERM or SIGHUP (``signum``); raised in the main
    process like ``KeyboardInterrupt`` for SIGINT, so that the same clean-up runs
    (workers terminated, the spool directory removed)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


_STOPPING = (signal.SIGTERM, signal.SIGHUP)


def _stop(signum: int, frame) -> None:
    raise Stopped(signum)


@contextlib.contextmanager
def _stopped_by_signals() -> Iterator[None]:
    """While the workers run, SIGTERM and SIGHUP raise :class:`Stopped` here."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    previous = {s: signal.signal(s, _stop) for s in _STOPPING}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _worker_init(parent: int) -> None:
    """A worker dies with its parent and leaves signals to it: the parent stops
    the workers itself (Pool.terminate) after SIGINT, SIGTERM or SIGHUP."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for s in _STOPPING:
        signal.signal(s, signal.SIG_DFL)
    try:  # Linux: SIGKILL when the parent dies, even by SIGKILL (prctl PR_SET_PDEATHSIG)
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _promptly(results) -> Iterator[str]:
    """The pool's results in order, waiting in short steps: a signal delivered to
    another thread of this process is only acted on when the main thread runs,
    and a batch can take seconds."""
    while True:
        try:
            yield results.next(timeout=0.2)
        except multiprocessing.TimeoutError:
            continue
        except StopIteration:
            return


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
    kb, missing, view, fmt, show_case, max_alternatives, spool, number = task
    with open(os.path.join(spool, f"{number}.in"), "rb") as batch_file:
        items = pickle.load(batch_file)
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
        context = multiprocessing.get_context("fork")
        with _stopped_by_signals(), tempfile.TemporaryDirectory(prefix="mrs-asp-") as spool, \
                context.Pool(jobs, _worker_init, (os.getpid(),)) as pool:
            # The pool's task thread sends each task down a pipe; after a stop,
            # Pool.terminate waits for that thread, so it must never be left
            # blocked on a full pipe nobody reads any more: a task is only the
            # number of a batch whose cases wait in the spool, and at most
            # `window` tasks are out at a time.
            window = threading.Semaphore(2 * jobs)
            stopping = threading.Event()

            def tasks() -> Iterator[tuple]:
                for number, batch in enumerate(itertools.chain(first, batches)):
                    while not window.acquire(timeout=0.1):
                        if stopping.is_set():
                            return
                    if stopping.is_set():
                        return
                    with open(os.path.join(spool, f"{number}.in"), "wb") as batch_file:
                        pickle.dump([(c.source, c.text if c.text is not None
                                      else case_json(c.case))
                                     if type(c) is LoadedCase else c  # a FHIR case keeps its provenance
                                     for c in batch], batch_file, pickle.HIGHEST_PROTOCOL)
                    yield kb, missing, view, fmt, show_case, max_alternatives, spool, number

            try:
                for number, path in enumerate(_promptly(pool.imap(_work, tasks()))):
                    with open(path, encoding="utf-8") as answers:
                        yield answers.read()
                    os.unlink(path)
                    os.unlink(os.path.join(spool, f"{number}.in"))
                    window.release()
            except BaseException:
                stopping.set()
                raise
    finally:
        gc.unfreeze()
