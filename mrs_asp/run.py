"""Deciding a stream of cases in batches, on every core.

The main process reads the inputs (the lines of JSON Lines as they are,
other files read and validated) and writes answers and errors in input
order; worker processes (forked, so they inherit the prepared knowledge base
and its compiled form) validate the lines, decide and render a batch each,
into a file of a temporary spool directory that the main process reads back
in order, checking each valid case's id against those before it
(:func:`_merged`). A single batch is decided in-process, so one case pays no
start-up of workers.

The spool is a speed trick: ``MRS_ASP_PLAIN=spool`` sends each batch and its
answers through the pool's pipe instead (mrs_asp/tricks.py; the answers are
the same, benchmarks/README.md says what the spool gains).
"""

from __future__ import annotations

import collections
import contextlib
import gc
import itertools
import os
import signal
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

# multiprocessing, pickle and tempfile (~7 ms to import) are imported where the
# workers are used: one case, or one batch, is decided without them.

from . import tricks
from .abduce import MAX_ALTERNATIVES
from .answer import _answer_of, decide, engine_for
from .cases import case_json
from .case_errors import CaseError
from .loading import LoadedCase, UniqueIds, Unread, parse_case, validated_case
from .report import answer_json, json_text, render

__all__ = ["Chunk", "Outcomes", "Stopped", "rendered", "default_jobs"]


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
    import multiprocessing
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


def _can_fork() -> bool:
    import multiprocessing
    return "fork" in multiprocessing.get_all_start_methods()


def _render_batch(batch: list[LoadedCase], kb: Path | None, missing: bool, view: str,
                  fmt: str, show_case: bool = False,
                  max_alternatives: int | None = MAX_ALTERNATIVES) -> list[str]:
    """Each case's answer as the CLI prints it (valid cases)."""
    if fmt == "json" and not missing and not show_case and len(batch) > 1 \
            and not tricks.plain("alike"):
        lines = _alike_json(batch, kb)
        if lines is not None:
            return lines
    return _rendered(batch, kb, missing, view, fmt, show_case, max_alternatives)


def _rendered(batch: list[LoadedCase], kb: Path | None, missing: bool, view: str,
              fmt: str, show_case: bool, max_alternatives: int | None) -> list[str]:
    """Each case's answer as the CLI prints it."""
    # A lone case grounded on its own costs a command-line process less than
    # building the warm engine; a batch asks it what is missing (mrs_asp/warm.py).
    answers = decide(batch, kb=kb, missing=missing, max_alternatives=max_alternatives,
                     warm=missing and len(batch) > 1)
    # A case derived from FHIR answers in the FHIR input's terms (mrs_asp.fhir).
    answers = [loaded.cite(answer) if hasattr(loaded, "cite") else answer
               for loaded, answer in zip(batch, answers)]
    knowledge = engine_for(kb).kb
    return [render(view, fmt, loaded, answer, knowledge, show_case)
            for loaded, answer in zip(batch, answers)]


# -- cases alike (the trick ``alike``) ---------------------------------------------------
# The compiled evaluation (mrs_asp/compiled.py) gives each case the numbers of
# the shown atoms it has, and the answer is read from those atoms and the
# case's id alone: two cases with the same numbers have JSON answers that
# differ in the id and nowhere else. So a batch's JSON answers without what is
# missing are built once for each distinct set of shown atoms, and kept, in
# each process, as the text that follows the id (about 1.3 kB; at most
# _ALIKE_KEPT of them, then forgotten and kept again). Of 5,000 generated
# cases (benchmarks/generate.py) 919 have distinct sets.
_ALIKE: dict[object, dict[tuple[int, ...], str]] = {}  # per compiled form
_ALIKE_KEPT = 8192
_ID_FIRST = '{"id":'


def _alike_json(batch: list[LoadedCase], kb: Path | None) -> list[str] | None:
    """The JSON answers of ``batch`` without what is missing, as
    :func:`_rendered` writes them; None when the batch is small or the KB does
    not compile. A case beyond the generic slots, one not validated by this
    package's readers, one derived from FHIR, and one a constraint rules out
    are decided the usual way."""
    from .compiled import MIN_CASES, compiled_for
    if len(batch) < MIN_CASES:  # a batch grounding costs less than the compiled form
        return None
    compiled = compiled_for(kb)
    if compiled.run is None:
        return None
    kept = _ALIKE.setdefault(compiled, {})
    if len(kept) > _ALIKE_KEPT:
        kept.clear()
    positions = compiled.domain.positions
    keys = [None if shown is None else tuple(shown) for shown in compiled.shown_of(
        [positions(loaded.case) if type(loaded) is LoadedCase and loaded._checked else None
         for loaded in batch])]
    knowledge = engine_for(kb).kb
    for loaded, key in zip(batch, keys):
        if key is not None and key not in kept:
            answer = _answer_of(loaded.case, compiled.atoms_of(key), knowledge)
            answer.missing_computed = False
            line = answer_json(answer)
            head = _ID_FIRST + json_text(loaded.case.id)
            if line.startswith(head):
                kept[key] = line[len(head):]
    usual = [loaded for loaded, key in zip(batch, keys) if key not in kept]
    lines = iter(_rendered(usual, kb, False, "evaluate", "json", False, None) if usual else ())
    return [_ID_FIRST + json_text(loaded.case.id) + kept[key] + "\n"
            if key in kept else next(lines)
            for loaded, key in zip(batch, keys)]


def _sent(items: list) -> list:
    """A batch's items as a worker is given them: a case this process validated
    as its source and JSON text (a worker decodes it again, quicker than
    unpickling the model, and skips the checks made here); a line not yet read
    (:class:`~mrs_asp.loading.Unread`), a FHIR case (it keeps its provenance)
    and a case not yet validated (the worker's :func:`mrs_asp.decide`
    validates it) as themselves."""
    return [(c.source, c.text if c.text is not None else case_json(c.case))
            if type(c) is LoadedCase and c._checked else c for c in items]


class Outcomes(NamedTuple):
    """What became of the items of a batch sent to be decided, in a form quick to
    send back: the answers of the valid cases as one text, and per valid case
    its id and the length of its answer; the errors by the item's place."""

    text: str
    ids: list[str]
    lengths: list[int]
    errors: dict[int, CaseError]


def _decide_items(items: list, kb, missing, view, fmt, show_case, max_alternatives
                  ) -> Outcomes:
    """The items of a batch decided (:class:`Outcomes`); a line that is no
    valid case is an error."""
    # A batch allocates many small objects and makes no garbage cycles worth
    # chasing: the collector runs once after it rather than every few hundred
    # allocations during it (~2% of a batch's time).
    gc.disable()
    try:
        errors: dict[int, CaseError] = {}
        batch = []
        for n, item in enumerate(items):
            if isinstance(item, Unread):
                try:
                    item = parse_case(item.text, item.source)
                except CaseError as err:
                    errors[n] = err
                    continue
            elif isinstance(item, tuple):
                item = validated_case(item[1], item[0])
            batch.append(item)
        texts = _render_batch(batch, kb, missing, view, fmt, show_case,
                              max_alternatives) if batch else []
        return Outcomes("".join(texts), [loaded.case.id for loaded in batch],
                        [len(text) for text in texts], errors)
    finally:
        gc.enable()


def _work(task: tuple) -> str:
    """A batch from the spool, its outcomes left there: returns their file."""
    import pickle
    kb, missing, view, fmt, show_case, max_alternatives, spool, number = task
    with open(os.path.join(spool, f"{number}.in"), "rb") as batch_file:
        items = pickle.load(batch_file)
    outcomes = _decide_items(items, kb, missing, view, fmt, show_case, max_alternatives)
    path = os.path.join(spool, f"{number}.out")
    with open(path, "wb") as out:
        pickle.dump(outcomes, out, pickle.HIGHEST_PROTOCOL)
    return path


def _work_plain(task: tuple) -> Outcomes:
    """A batch through the pool's pipe, its outcomes back the same way
    (``MRS_ASP_PLAIN=spool``)."""
    kb, missing, view, fmt, show_case, max_alternatives, items = task
    return _decide_items(items, kb, missing, view, fmt, show_case, max_alternatives)


def _to_decide(batch: list) -> list:
    """The items of a batch that are to be decided (not errors already)."""
    return [item for item in batch if not isinstance(item, CaseError)]


class Chunk(NamedTuple):
    """What :func:`rendered` gives for a batch of input items."""

    text: str  # the answers of its valid cases, in order, as printed
    errors: list[CaseError]  # the errors of the rest, in input order
    cases: int  # how many valid cases it held


def _merged(batch: list, outcomes: Outcomes, ids: UniqueIds) -> Chunk:
    """A batch's items and the outcomes of those sent to be decided, in input
    order; a valid case whose id an earlier case has is an error (as
    :func:`~mrs_asp.loading.iter_cases` gives it), its answer dropped.

    A worker sees one batch, so it decides such a case before the repeat is
    found here. The answers and errors are the same as when the case is never
    decided, but for a knowledge base that has no answer set for that very
    case: the run then stops with that KB error, as for any other case."""
    text, cids, lengths, failed = outcomes
    errors: list[CaseError] = []
    dropped: list[int] = []  # the valid cases whose answers are dropped
    sent = decided = 0
    for item in batch:
        if isinstance(item, CaseError):
            errors.append(item)
            continue
        error = failed.get(sent) if failed else None
        sent += 1
        if error is not None:
            errors.append(error)
            continue
        repeated = ids.repeated(cids[decided], item.source)
        if repeated is not None:
            errors.append(repeated)
            dropped.append(decided)
        decided += 1
    if dropped:
        ends = list(itertools.accumulate(lengths))
        gone = set(dropped)
        text = "".join(text[end - length:end] for n, (end, length)
                       in enumerate(zip(ends, lengths)) if n not in gone)
    return Chunk(text, errors, decided - len(dropped))


def rendered(batches: Iterable[list], *, kb: Path | None, missing: bool,
             view: str, fmt: str, jobs: int = 1, show_case: bool = False,
             max_alternatives: int | None = MAX_ALTERNATIVES) -> Iterator[Chunk]:
    """Each batch decided, in order: its answers as printed and its errors.

    A batch holds what :func:`~mrs_asp.loading.iter_unread` yields: cases,
    lines not yet read (validated where they are decided, in a worker) and
    errors; no id is repeated among the valid cases (the later ones are
    errors, as :func:`~mrs_asp.loading.iter_cases` says)."""
    batches = iter(batches)
    first = list(itertools.islice(batches, 2))
    ids = UniqueIds()
    if jobs <= 1 or len(first) < 2 or not _can_fork():
        for batch in itertools.chain(first, batches):
            yield _merged(batch, _decide_items(_to_decide(batch), kb, missing, view, fmt,
                                               show_case, max_alternatives), ids)
        return
    import multiprocessing
    import pickle
    import tempfile
    engine_for(kb).prepare(missing)
    if missing:  # the workers inherit the warm engine's abduction grounding
        from .warm import warm_engine_for
        warm_engine_for(kb).prepare()
    else:  # the workers inherit the compiled evaluation (mrs_asp/compiled.py)
        from .compiled import compiled_for
        compiled_for(kb)
    # What the workers inherit (modules, the parsed KB) is kept out of their
    # collections, so the collector neither scans it nor copies its pages.
    gc.freeze()
    try:
        if tricks.plain("spool"):
            yield from _through_the_pipe(itertools.chain(first, batches), jobs, kb, missing,
                                         view, fmt, show_case, max_alternatives, ids)
            return
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
            out: collections.deque[list] = collections.deque()  # the batches sent, in order

            def tasks() -> Iterator[tuple]:
                for number, batch in enumerate(itertools.chain(first, batches)):
                    while not window.acquire(timeout=0.1):
                        if stopping.is_set():
                            return
                    if stopping.is_set():
                        return
                    with open(os.path.join(spool, f"{number}.in"), "wb") as batch_file:
                        pickle.dump(_sent(_to_decide(batch)), batch_file,
                                    pickle.HIGHEST_PROTOCOL)
                    out.append(batch)
                    yield kb, missing, view, fmt, show_case, max_alternatives, spool, number

            try:
                for number, path in enumerate(_promptly(pool.imap(_work, tasks()))):
                    with open(path, "rb") as outcomes:
                        got = pickle.load(outcomes)
                    yield _merged(out.popleft(), got, ids)
                    os.unlink(path)
                    os.unlink(os.path.join(spool, f"{number}.in"))
                    window.release()
            except BaseException:
                stopping.set()
                raise
    finally:
        gc.unfreeze()


def _through_the_pipe(batches: Iterator[list], jobs: int, kb, missing, view,
                      fmt, show_case, max_alternatives, ids: UniqueIds) -> Iterator[Chunk]:
    """:func:`rendered` without the spool (``MRS_ASP_PLAIN=spool``): each batch
    goes to a worker, and its answers come back, through the pool's pipes.

    A stop must not leave the pool's task thread blocked on the pipe: a batch
    (~0.3 MB) is more than the pipe holds, and Pool.terminate waits for that
    thread. It drains the pipe while the thread lives, but a batch still being
    pickled when the drain finds the pipe empty would be written to a pipe
    nobody reads any more. So, as in the spool's way, at most ``2 * jobs``
    batches are out at a time and none is handed out after a stop; and the one
    being handed over when the stop came (``handing``) is waited for before the
    pool is terminated: a worker takes it when it ends its batch.
    """
    import multiprocessing
    context = multiprocessing.get_context("fork")
    window = threading.Semaphore(2 * jobs)
    stopping = threading.Event()
    handing = threading.Event()  # set while the task thread writes a batch to the pipe
    out: collections.deque[list] = collections.deque()  # the batches sent, in order
    with _stopped_by_signals(), context.Pool(jobs, _worker_init, (os.getpid(),)) as pool:

        def tasks() -> Iterator[tuple]:
            for batch in batches:
                while not window.acquire(timeout=0.1):
                    if stopping.is_set():
                        return
                if stopping.is_set():
                    return
                handing.set()
                out.append(batch)
                yield (kb, missing, view, fmt, show_case, max_alternatives,
                       _sent(_to_decide(batch)))
                handing.clear()  # the task thread asks for the next one: this one is sent

        try:
            for got in _promptly(pool.imap(_work_plain, tasks())):
                yield _merged(out.popleft(), got, ids)
                window.release()
        except BaseException:
            stopping.set()
            deadline = time.monotonic() + 60  # a worker ends its batch in well under that
            while handing.is_set() and time.monotonic() < deadline:
                time.sleep(0.01)
            raise
