"""Regression runs: a case library against its ``expected`` answers."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from xml.etree import ElementTree as ET

from .answer import Answer
from .loading import LoadedCase

__all__ = ["Outcome", "compare", "junit_xml"]

_LISTS = ("criteria", "non_indications", "advisories")


@dataclass
class Outcome:
    source: str
    id: str
    differences: list[str] = field(default_factory=list)
    error: str | None = None  # the case did not load

    @property
    def ok(self) -> bool:
        return not self.differences and self.error is None


def compare(loaded: LoadedCase, answer: Answer) -> Outcome:
    """What differs between a case's ``expected`` and its answer."""
    outcome = Outcome(loaded.source, loaded.id)
    expected = loaded.case.expected
    if expected is None:
        outcome.differences.append("no 'expected' in the case")
        return outcome
    if expected.determination != answer.determination:
        outcome.differences.append(
            f"determination: expected {expected.determination}, got {answer.determination}")
    for name in _LISTS:
        want = getattr(expected, name)
        if want is None:
            continue
        got = getattr(answer, name)
        extra, lacking = sorted(set(got) - set(want)), sorted(set(want) - set(got))
        if extra or lacking:
            parts = []
            if lacking:
                parts.append("expected but not derived: " + ", ".join(lacking))
            if extra:
                parts.append("derived but not expected: " + ", ".join(extra))
            outcome.differences.append(f"{name}: " + "; ".join(parts))
    return outcome


def junit_xml(outcomes: list[Outcome], seconds: float | None = None) -> bytes:
    failures = sum(1 for o in outcomes if o.differences)
    errors = sum(1 for o in outcomes if o.error)
    suite = ET.Element("testsuite", name="mrs-asp regress", tests=str(len(outcomes)),
                       failures=str(failures), errors=str(errors),
                       time=f"{seconds if seconds is not None else 0:.3f}",
                       timestamp=time.strftime("%Y-%m-%dT%H:%M:%S"))
    for o in outcomes:
        case = ET.SubElement(suite, "testcase", classname="cases", name=o.id or o.source,
                             file=o.source.rsplit(":", 1)[0])
        if o.error:
            ET.SubElement(case, "error", message=o.error).text = o.error
        elif o.differences:
            message = "; ".join(o.differences)
            ET.SubElement(case, "failure", message=message).text = "\n".join(o.differences)
    return ET.tostring(suite, encoding="utf-8", xml_declaration=True)
