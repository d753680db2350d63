"""Cases in, answers and records out: the one place the service calls the
reasoning library and the decision log.

The knowledge base is loaded and warmed once, when the service starts. The
engine decides one call at a time (an asyncio lock; it is not thread-safe).
A call of a few cases is decided on the event loop's thread, the quickest
way; a large batch is decided in a worker thread, CHUNK cases at a time,
taking the lock for each chunk, so the loop keeps answering (health checks,
records) and single decisions, CRD calls among them, get their turn between
chunks instead of waiting for the whole batch.

Records are written by group commit: a call's records join those of every
call decided while the previous commit was syncing, and one transaction (one
fsync, in a worker thread) commits them all. Each call still gets its answer
only once its own records are committed; the event loop decides the next
calls meanwhile, so the disk's sync time is paid once per group, not per
decision.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import msgspec

from ..answer import Answer, engine_for
from ..warm import warm_engine_for
from ..cases import Case, LoadedCase, case_json
from ..kb import GUIDELINE_VERSION, KnowledgeBase
from .config import ServiceConfig
from .store import DecisionLog, NewRecord

__all__ = ["Decided", "Decider", "GroupCommit"]

_encode = msgspec.json.Encoder().encode


@dataclass
class Decided:
    """One decided case: what was received, the case, its answer and its record id."""

    input: bytes
    case: Case
    answer: Answer
    decision_id: str = ""


class GroupCommit:
    """Commits the records of concurrent calls together (module docstring)."""

    def __init__(self, log: DecisionLog) -> None:
        self.log = log
        self._pending: list[tuple[list[NewRecord], asyncio.Future]] = []
        self._writer: asyncio.Task | None = None

    async def commit(self, records: list[NewRecord]) -> list[str]:
        """The records' ids, once they are committed (StoreError if they cannot be)."""
        future = asyncio.get_running_loop().create_future()
        self._pending.append((records, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        return await asyncio.shield(future)

    async def _drain(self) -> None:
        while self._pending:
            group, self._pending = self._pending, []
            try:
                ids = await asyncio.to_thread(
                    self.log.record, [r for records, _ in group for r in records])
            except Exception as exc:  # StoreError: every call of the group hears it
                for _, future in group:
                    if not future.done():
                        future.set_exception(exc)
                continue
            start = 0
            for records, future in group:
                if not future.done():
                    future.set_result(ids[start:start + len(records)])
                start += len(records)


#: Calls of at most this many cases are decided on the event loop itself.
INLINE = 8
#: A larger call is decided this many cases at a time, in a worker thread.
CHUNK = 64


class Decider:
    def __init__(self, config: ServiceConfig, log: DecisionLog) -> None:
        self.config = config
        self.log = log
        self.kb_dir = config.kb
        engine = engine_for(config.kb)  # KnowledgeBaseError if the KB is bad
        self.warm_engine = warm_engine_for(config.kb)
        self.kb: KnowledgeBase = engine.kb
        self.fingerprint = self.kb.fingerprint
        self.guideline_version = GUIDELINE_VERSION
        self.commits = GroupCommit(log)
        self._turn: asyncio.Lock | None = None

    def start(self) -> None:
        """On the event loop that will serve (the application's startup)."""
        self._turn = asyncio.Lock()

    async def decided(self, cases: Sequence[Case], missing: bool) -> list[Answer]:
        """Answers for ``cases`` in the decider's turn (the warm engine is not shared
        between threads), recording nothing; long lists in chunks, so other calls
        get through between them."""
        if self._turn is None:
            self.start()
        turn = self._turn
        assert turn is not None
        if len(cases) <= INLINE:
            async with turn:
                return self.answers(cases, missing=missing)
        answers: list[Answer] = []
        for start in range(0, len(cases), CHUNK):
            async with turn:
                answers += await asyncio.to_thread(
                    self.answers, cases[start:start + CHUNK], missing=missing)
        return answers

    def warm(self, sample: Case) -> None:
        """Decide once in each mode, so the first client waits for nothing."""
        self.answers([sample], missing=True)
        self.answers([sample], missing=False)

    def answers(self, cases: Sequence[Case], *, missing: bool = True) -> list[Answer]:
        """On the warm engine (mrs_asp/warm.py): one generic grounding kept for the
        process, each case one solve on it; the same answers as
        :func:`mrs_asp.decide`, in well under a millisecond a case."""
        warm = self.warm_engine
        return [warm.decide(case, missing=missing) for case in cases]

    async def decide_and_record(self, endpoint: str, input_type: str,
                                items: Sequence[tuple[bytes, LoadedCase]], *,
                                missing: bool = True) -> list[Decided]:
        """Decide ``items`` (input as received, loaded case) and commit their records
        in one transaction, before anything is answered. The answer of a case read
        from FHIR is cited into the FHIR input (its evidence points there)."""
        answers = await self.decided([loaded.case for _, loaded in items], missing)
        decided = [Decided(given, loaded.case,
                           loaded.cite(answer) if hasattr(loaded, "cite") else answer)
                   for (given, loaded), answer in zip(items, answers)]
        if not decided:
            return []
        ids = await self.commits.commit(
            [self._record(endpoint, input_type, d) for d in decided])
        for d, decision_id in zip(decided, ids):
            d.decision_id = decision_id
        return decided

    def _record(self, endpoint: str, input_type: str, d: Decided) -> NewRecord:
        return NewRecord(endpoint=endpoint, case_id=d.case.id,
                         determination=d.answer.determination, input=d.input,
                         input_type=input_type, derived_case=case_json(d.case),
                         answer=_encode(d.answer.to_json()),
                         kb_fingerprint=self.fingerprint,
                         guideline_version=self.guideline_version)
