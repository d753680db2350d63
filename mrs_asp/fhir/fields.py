"""The case fields as the FHIR edge sees them: one adapter over the case vocabulary.

Everything in ``mrs_asp.fhir`` that needs the list of case fields (the
questionnaire's items and linkIds, how a QuestionnaireResponse answer becomes a
fact, the ``answers`` of what is missing) asks :func:`case_fields`, which
reads the project's one declaration of the vocabulary, ``mrs_asp.vocabulary``.

A field's ``link_id`` is its path with dots (FHIR.md F1): ``findings.glioma``,
``patient.pregnant``, ``imaging.modality`` (a field of an entry of the repeated
group ``imaging``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from .. import vocabulary

__all__ = ["Field", "FROM_THE_ORDER", "GROUPS", "case_fields", "field_by_link_id"]

#: The repeated groups of a case (arrays of entries).
GROUPS: tuple[str, ...] = tuple(g.name for g in vocabulary.GROUPS.values() if g.repeats)

#: What the requested item itself documents (FHIR.md F2), never a questionnaire's.
FROM_THE_ORDER: frozenset[str] = frozenset({"request.cpt", "request.date", "request.body_region"})

_KINDS = {"boolean": "boolean", "date": "date", "integer": "integer", "enum": "choice",
          "string": "string"}


@dataclass(frozen=True)
class Field:
    link_id: str                 # "findings.glioma", "imaging.result"
    container: str               # "findings", "imaging", ...
    name: str                    # "glioma", "result"
    kind: str                    # "boolean" | "date" | "integer" | "choice" | "string"
    options: tuple[str, ...]     # the values of a choice
    text: str                    # what the field means
    required: bool               # required in its object (SPEC section 1)
    read: bool                   # the knowledge base reads it (a fact)
    undocumented: tuple[str, ...] = ()   # values that read as not documented ('unknown')

    @property
    def in_group(self) -> bool:
        return self.container in GROUPS

    @property
    def asked(self) -> bool:
        """A question of the guideline's questionnaire: read by the rules, and not
        documented by the order itself."""
        return self.read and self.link_id not in FROM_THE_ORDER


@cache
def case_fields() -> tuple[Field, ...]:
    """Every field of SPEC section 1 a fact can document, in SPEC order (``id``,
    ``title`` and ``expected`` are not facts of the patient)."""
    return tuple(Field(f.link_id, f.group, f.name, _KINDS[f.type], tuple(f.values),
                       f.description.rstrip("."), f.required, f.fact is not None,
                       tuple(f.undocumented))
                 for f in vocabulary.fields() if f.group is not None)


@cache
def field_by_link_id() -> dict[str, Field]:
    return {f.link_id: f for f in case_fields()}
