"""Criterion coverage of a case library.

A library covers a criterion when some case shows it holding and some case
shows it failing. A criterion is only reasoned on while the policy applies
(SPEC section 2: otherwise "nothing else is reasoned"), so "fails" counts the
cases where the policy applies and the criterion is not reported; for
``applies`` itself, "fails" is a ``not_applicable`` case. A criterion never
seen both ways is a ``coverage_gap`` (warning); with a minimum, a library
whose share of criteria seen both ways is below it fails the
``coverage_gate`` (error).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .answer import Answer, engine_for
from .findings import Finding

__all__ = ["Coverage", "coverage_findings", "criterion_ids", "library_coverage"]

@dataclass
class Coverage:
    # criterion id -> (cases where it holds, cases where it fails while the policy applies)
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)
    # the applicability criterion (the KB's root of kind applicability): it
    # fails on a not_applicable case
    applies: str = "applies"

    def covered(self, cid: str) -> bool:
        held, failed = self.counts[cid]
        return held > 0 and failed > 0

    def gaps(self) -> list[str]:
        """Criteria not seen both ways, in the order of ``counts``."""
        return [cid for cid in self.counts if not self.covered(cid)]

    def ratio(self) -> float:
        """Share of criteria seen both ways (1.0 when there are no criteria)."""
        if not self.counts:
            return 1.0
        return sum(1 for cid in self.counts if self.covered(cid)) / len(self.counts)

    def to_json(self) -> dict:
        return {"ratio": self.ratio(),
                "counts": {cid: {"holds": h, "fails": f} for cid, (h, f) in self.counts.items()}}


def criterion_ids(kb: str | Path | None = None) -> list[str]:
    """Every criterion id of the knowledge base (criteria, non-indications,
    advisories), in reading order (``Criterion.rank``)."""
    criteria = engine_for(kb).kb.criteria
    return sorted(criteria, key=lambda cid: criteria[cid].rank)


def library_coverage(answers: Iterable[Answer], ids: Sequence[str],
                     kb: str | Path | None = None) -> Coverage:
    """How often each of ``ids`` holds and fails across ``answers`` (decided
    with the knowledge base ``kb``).

    An id an answer reports that is not among ``ids`` is ignored.
    """
    applies_id = engine_for(kb).kb.root("applicability")
    held = dict.fromkeys(ids, 0)
    failed = dict.fromkeys(ids, 0)
    for answer in answers:
        applies = answer.determination != "not_applicable"
        reported = {*answer.criteria, *answer.non_indications, *answer.advisories}
        for cid in ids:
            if cid in reported:
                held[cid] += 1
            elif cid == applies_id:
                failed[cid] += not applies
            elif applies:
                failed[cid] += 1
    return Coverage({cid: (held[cid], failed[cid]) for cid in ids}, applies_id)


def coverage_findings(cov: Coverage, min_coverage: float | None) -> list[Finding]:
    """A ``coverage_gap`` warning per criterion not seen both ways, and a
    ``coverage_gate`` error when ``min_coverage`` is given and not reached."""
    findings: list[Finding] = []
    for cid in cov.gaps():
        held, failed = cov.counts[cid]
        fails_how = ("is never not_applicable" if cid == cov.applies
                     else "never fails while the policy applies")
        if not held and not failed:
            missing = f"never holds and {fails_how}"
        elif not held:
            missing = "never holds"
        else:
            missing = fails_how
        findings.append(Finding(
            kind="coverage_gap", severity="warning", criteria=(cid,),
            message=(f"criterion {cid} {missing} in the case library "
                     f"(holds in {held}, fails in {failed})"),
            witness={"holds": held, "fails": failed,
                     "missing": [w for w, n in (("holds", held), ("fails", failed)) if not n]}))
    ratio = cov.ratio()
    if min_coverage is not None and ratio < min_coverage:
        gaps = tuple(cov.gaps())
        findings.append(Finding(
            kind="coverage_gate", severity="error", criteria=gaps,
            message=(f"coverage {ratio:.1%} of {len(cov.counts)} criteria is below the "
                     f"minimum {min_coverage:.1%} ({len(gaps)} not seen both ways)"),
            witness={"ratio": ratio, "min_coverage": min_coverage,
                     "covered": len(cov.counts) - len(gaps), "total": len(cov.counts)}))
    return findings
