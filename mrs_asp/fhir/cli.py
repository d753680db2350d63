"""What the command line does with FHIR beyond reading it: ``--format pas|crd``
and ``mrs-asp questionnaire`` (cli.py stays a thin layer over these)."""

from __future__ import annotations

import json
import sys

from ..cases import CaseError

__all__ = ["print_questionnaires", "write_responses"]

_GUIDES = {"pas": ("pas", "a PAS request Bundle"), "crd": ("crd", "a CDS Hooks request")}
BATCH = 500


def _groups(batches, fmt: str, errors: list):
    """Each FHIR input's cases together, in input order; other cases are bad input here."""
    kind, words = _GUIDES[fmt]
    group: list = []
    for batch in batches:
        for loaded in batch:
            if getattr(loaded, "fhir_kind", None) != kind:
                err = CaseError(loaded.source, "", f"--format {fmt} answers {words}; this "
                                "input is " + ("a case" if not hasattr(loaded, "fhir_kind")
                                                else "another FHIR input"))
                errors.append(err)
                sys.stderr.write(f"{err}\n")
                continue
            if group and group[0].document_key != loaded.document_key:
                yield group
                group = []
            group.append(loaded)
    if group:
        yield group


def write_responses(batches, fmt: str, kb, base: str | None, errors: list) -> None:
    """One response per FHIR input, one JSON per line: the PAS response Bundle
    (``pas``) or the CDS Hooks response (``crd``)."""
    from ..answer import decide
    from . import crd_response, pas_response
    from .dtr import DEFAULT_BASE
    write = pas_response if fmt == "pas" else crd_response
    pending: list[list] = []

    def flush() -> None:
        cases = [c for g in pending for c in g]
        answers = iter(decide(cases, kb=kb))
        for g in pending:
            cited = [c.cite(next(answers)) for c in g]
            sys.stdout.write(json.dumps(write(g[0].document, g, cited, base=base or DEFAULT_BASE,
                                              kb=kb), ensure_ascii=False) + "\n")
        pending.clear()

    for group in _groups(batches, fmt, errors):
        pending.append(group)
        if sum(map(len, pending)) >= BATCH:
            flush()
    if pending:
        flush()


def print_questionnaires(batches, base: str, kb) -> None:
    """The guideline's questionnaire, or for each case that of what is missing."""
    from ..answer import decide
    from .dtr import questionnaire
    if batches is None:
        sys.stdout.write(json.dumps(questionnaire(base=base, kb=kb), indent=2,
                                    ensure_ascii=False) + "\n")
        return
    cases = [c for batch in batches for c in batch]
    answers = decide(cases, kb=kb)
    many = len(cases) > 1
    for loaded, answer in zip(cases, answers):
        if hasattr(loaded, "cite"):
            answer = loaded.cite(answer)
        if not answer.missing:
            sys.stderr.write(f"mrs-asp: {answer.id}: {answer.determination.replace('_', ' ')}: "
                             "nothing is missing that documentation could supply, so there is "
                             "no questionnaire of it\n")
            continue
        q = questionnaire(case=loaded, answer=answer, base=base, kb=kb)
        sys.stdout.write(json.dumps(q, ensure_ascii=False, indent=None if many else 2) + "\n")
