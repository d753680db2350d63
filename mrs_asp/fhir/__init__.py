"""FHIR at the edge: PAS, CDS Hooks (CRD) and DTR in and out (../shared/spec/FHIR.md).

The knowledge base and the engine know nothing of FHIR. This package turns a
FHIR input into cases with provenance, and answers into FHIR::

    from mrs_asp import decide
    from mrs_asp import fhir

    cases = fhir.read(bundle)                      # one case per Claim.item / ServiceRequest
    answers = [c.cite(a) for c, a in zip(cases, decide(cases))]   # evidence into the FHIR
    fhir.pas_response(bundle, cases, answers)      # the PAS response Bundle (F6)
    fhir.crd_response(request, cases, answers)     # the CDS Hooks response (F6)
    fhir.questionnaire()                           # the DTR Questionnaire (F1)
    fhir.questionnaire(case=cases[0], answer=answers[0])   # ... of what is missing

or in one call: ``fhir.evaluate(doc)`` -> ``[(case, cited answer), ...]``.

Only writing and validating FHIR imports ``fhir.resources`` (tests, and
:func:`validate`); reading and writing plain JSON needs nothing heavy.
"""

from __future__ import annotations

from .read import FhirCase, FhirError, kind_of, read

__all__ = ["FhirCase", "FhirError", "crd_response", "evaluate", "kind_of", "pas_response",
           "questionnaire", "read", "respond"]


def evaluate(doc, *, kb=None, missing: bool = True, source: str = "(fhir)"):
    """Read ``doc``, decide each of its cases, and cite each answer into ``doc``."""
    from ..answer import decide
    cases = read(doc, source)
    return [(c, c.cite(a)) for c, a in zip(cases, decide(cases, kb=kb, missing=missing))]


def pas_response(*args, **kwargs):
    """The PAS response Bundle (FHIR.md F6); see :func:`mrs_asp.fhir.write.pas_response`."""
    from .write import pas_response as write
    return write(*args, **kwargs)


def crd_response(*args, **kwargs):
    """The CDS Hooks response (FHIR.md F6); see :func:`mrs_asp.fhir.write.crd_response`."""
    from .write import crd_response as write
    return write(*args, **kwargs)


def respond(doc, cases, answers, **kwargs):
    """The response its own guide expects: PAS Bundle for a PAS request, CDS Hooks
    response for a CDS Hooks request."""
    kind = kind_of(doc)
    return pas_response(doc, cases, answers, **kwargs) if kind == "pas" else \
        crd_response(doc, cases, answers, **kwargs)


def questionnaire(*args, **kwargs):
    """The DTR Questionnaire (FHIR.md F1); see :mod:`mrs_asp.fhir.dtr`."""
    from .dtr import questionnaire as build
    return build(*args, **kwargs)
