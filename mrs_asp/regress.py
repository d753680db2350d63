"""Regression runs: a case library against its ``expected`` answers."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .answer import Answer
from .loading import LoadedCase
from .terminal import printable

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


def junit_xml(outcomes: list[Outcome], seconds: float | None = None,
              library: str = "cases") -> bytes:
    """The outcomes as JUnit XML: one ``testcase`` per case, named by its id
    (a case that did not load, by its file), of class ``library`` (the library
    folder's name).

    Written with lxml, which refuses any string XML cannot hold, and every
    string is first made printable (:func:`mrs_asp.terminal.printable`): an id
    holding ``\\x01`` or an escape sequence is shown escaped, and the file
    always parses.
    """
    from lxml import etree  # only a run that writes JUnit pays for the import

    failures = sum(1 for o in outcomes if o.differences)
    errors = sum(1 for o in outcomes if o.error)
    suite = etree.Element("testsuite", name=f"mrs-asp regress {printable(library)}",
                          tests=str(len(outcomes)), failures=str(failures),
                          errors=str(errors),
                          time=f"{seconds if seconds is not None else 0:.3f}",
                          timestamp=time.strftime("%Y-%m-%dT%H:%M:%S"))
    for o in outcomes:
        file, _, line = o.source.rpartition(":")  # 'lib.jsonl:3' -> 'lib.jsonl'
        if not (file and line.isdigit()):
            file = o.source
        case = etree.SubElement(suite, "testcase", classname=printable(library),
                                name=printable(o.id or o.source), file=printable(file))
        if o.error:
            message = printable(o.error)
            etree.SubElement(case, "error", message=message).text = message
        elif o.differences:
            lines = [printable(d) for d in o.differences]
            etree.SubElement(case, "failure", message="; ".join(lines)).text = "\n".join(lines)
    return etree.tostring(suite, encoding="UTF-8", xml_declaration=True, pretty_print=True)
