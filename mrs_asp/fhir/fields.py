"""The case fields as the FHIR edge sees them: one adapter over the case vocabulary.

Everything in ``mrs_asp.fhir`` that needs the list of case fields (the
questionnaire's items and linkIds, how a QuestionnaireResponse answer becomes a
fact, the ``answers`` of what is missing) asks :func:`case_fields`. Today it
reads the msgspec case model of ``mrs_asp.cases`` (the one declaration there
is); when the project's vocabulary declaration lands, this function is the one
place to switch over.

A field's ``link_id`` is its path with dots (FHIR.md F1): ``findings.glioma``,
``patient.pregnant``, ``imaging.modality`` (a field of an entry of the repeated
group ``imaging``).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from functools import cache
from typing import Literal, get_args, get_origin

import msgspec
from msgspec import Meta

from .. import cases

__all__ = ["Field", "GROUPS", "case_fields", "field_by_link_id"]

#: The repeated groups of a case (arrays of entries).
GROUPS: tuple[str, ...] = ("imaging", "implants", "foreign_bodies")


@dataclass(frozen=True)
class Field:
    link_id: str                 # "findings.glioma", "imaging.result"
    container: str               # "findings", "imaging", ...
    name: str                    # "glioma", "result"
    kind: str                    # "boolean" | "date" | "integer" | "choice" | "string"
    options: tuple[str, ...]     # the values of a choice
    text: str                    # what the field means
    required: bool               # required in its object (SPEC section 1)

    @property
    def in_group(self) -> bool:
        return self.container in GROUPS


def _peel(kind):
    while getattr(kind, "__metadata__", None) is not None:
        kind = kind.__origin__
    return kind


def _description(kind) -> str:
    for meta in getattr(kind, "__metadata__", ()):
        if isinstance(meta, Meta) and meta.description:
            return meta.description
    return ""


def _kind(kind) -> tuple[str, tuple[str, ...]]:
    kind = _peel(kind)
    if get_origin(kind) is Literal:
        return "choice", tuple(get_args(kind))
    if kind is bool:
        return "boolean", ()
    if kind is int:
        return "integer", ()
    if kind is _dt.date:
        return "date", ()
    return "string", ()


def _words(container: str, name: str, described: str) -> str:
    if described:
        return described.rstrip(".")
    return f"{container.replace('_', ' ')}: {name.replace('_', ' ')}"


_MODELS = {"request": cases.Request, "patient": cases.Patient, "findings": cases.Findings,
           "imaging": cases.Study, "implants": cases.Implant,
           "foreign_bodies": cases.ForeignBody}


@cache
def case_fields() -> tuple[Field, ...]:
    """Every field of SPEC section 1 a fact can document, in the model's order
    (``id``, ``title`` and ``expected`` are not facts)."""
    out = []
    for container, model in _MODELS.items():
        for info in msgspec.structs.fields(model):
            kind, options = _kind(info.type)
            out.append(Field(f"{container}.{info.name}", container, info.name, kind, options,
                             _words(container, info.name, _description(info.type)),
                             info.required))
    return tuple(out)


@cache
def field_by_link_id() -> dict[str, Field]:
    return {f.link_id: f for f in case_fields()}
