"""Cases in, answers and records out: the one place the service calls the
reasoning library and the decision log.

The knowledge base is loaded and warmed once, when the service starts.
Decisions run on the event loop's thread, one call at a time: the engine is
CPU-bound and not shared between threads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import msgspec

from ..answer import Answer, decide, engine_for
from ..cases import Case, case_json
from ..kb import GUIDELINE_VERSION, KnowledgeBase
from .config import ServiceConfig
from .store import DecisionLog, NewRecord

__all__ = ["Decided", "Decider"]

_encode = msgspec.json.Encoder().encode


@dataclass
class Decided:
    """One decided case: what was received, the case, its answer and its record id."""

    input: bytes
    case: Case
    answer: Answer
    decision_id: str = ""


class Decider:
    def __init__(self, config: ServiceConfig, log: DecisionLog) -> None:
        self.config = config
        self.log = log
        self.kb_dir = config.kb
        engine = engine_for(config.kb)  # KnowledgeBaseError if the KB is bad
        self.kb: KnowledgeBase = engine.kb
        self.fingerprint = self.kb.fingerprint
        self.guideline_version = GUIDELINE_VERSION

    def warm(self, sample: Case) -> None:
        """Ground once in each mode, so the first client does not wait for it."""
        decide([sample], kb=self.kb_dir, missing=True)
        decide([sample], kb=self.kb_dir, missing=False)

    def answers(self, cases: Sequence[Case], *, missing: bool = True) -> list[Answer]:
        return decide(cases, kb=self.kb_dir, missing=missing) if cases else []

    def decide_and_record(self, endpoint: str, input_type: str,
                          items: Sequence[tuple[bytes, Case]], *,
                          missing: bool = True) -> list[Decided]:
        """Decide ``items`` (input as received, case) and commit their records in one
        transaction, before anything is answered."""
        answers = self.answers([case for _, case in items], missing=missing)
        decided = [Decided(given, case, answer)
                   for (given, case), answer in zip(items, answers)]
        ids = self.log.record([self._record(endpoint, input_type, d) for d in decided])
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
