"""Validating what is written, with ``fhir.resources`` (R4B models) and the CRD
invariants. Only this module imports ``fhir.resources`` (about 200 ms and
pydantic): the tests, and a service that wants to check its answers, call it.
"""

from __future__ import annotations

from typing import Any

from .write import COVERAGE_INFORMATION

__all__ = ["ValidationError", "crd_invariant_errors", "validate_crd_response",
           "validate_resource"]


class ValidationError(ValueError):
    pass


def validate_resource(resource: dict) -> Any:
    """Parse ``resource`` with its R4B model (every contained/entry resource too)."""
    import importlib
    import pydantic
    rtype = resource.get("resourceType")
    try:
        module = importlib.import_module(f"fhir.resources.R4B.{rtype.lower()}")
        model = getattr(module, rtype)
    except (AttributeError, ImportError):
        raise ValidationError(f"no R4B model for resourceType {rtype!r}") from None
    try:
        parsed = model.model_validate(resource)
    except pydantic.ValidationError as exc:
        raise ValidationError(f"{rtype}: {exc}") from None
    if rtype == "Bundle":
        for entry in resource.get("entry") or []:
            validate_resource(entry["resource"])
    return parsed


def _values(extension: dict) -> dict[str, list]:
    out: dict[str, list] = {}
    for part in extension.get("extension") or []:
        value = next((v for k, v in part.items() if k.startswith("value")), part.get("extension"))
        out.setdefault(part["url"], []).append(value)
    return out


def crd_invariant_errors(extension: dict) -> list[str]:
    """The CRD 2.2.1 invariants crd-ci-q1..q9 of one coverage-information extension."""
    v = _values(extension)
    errors = []
    for required in ("coverage", "covered", "date", "coverage-assertion-id"):
        if len(v.get(required, [])) != 1:
            errors.append(f"{required} must occur exactly once")
    covered = (v.get("covered") or [None])[0]
    pa = (v.get("pa-needed") or [None])[0]
    if "questionnaire" in v and "doc-needed" not in v:
        errors.append("crd-ci-q1: questionnaire without doc-needed")
    if covered == "not-covered" and "pa-needed" in v:
        errors.append("crd-ci-q2: not-covered with pa-needed")
    conditional = covered == "conditional" or pa == "conditional" or \
        "conditional" in v.get("doc-needed", [])
    if conditional and "info-needed" not in v:
        errors.append("crd-ci-q3: conditional without info-needed")
    if pa in ("satisfied", "no-auth", "not-covered") and "withpa" in v.get("doc-purpose", []):
        errors.append("crd-ci-q4: doc-purpose withpa where no prior auth is needed")
    if (pa == "satisfied") != ("satisfied-pa-id" in v):
        errors.append("crd-ci-q5: satisfied-pa-id iff pa-needed satisfied")
    if "OTH" in v.get("info-needed", []) and "reason" not in v:
        errors.append("crd-ci-q6: info-needed OTH without reason")
    for reason in v.get("reason", []):
        if not reason.get("text"):
            errors.append("crd-ci-q7: reason without text")
    if any(p != "conditional" for p in v.get("doc-purpose", [])) and "reason" not in v:
        errors.append("crd-ci-q8: doc-purpose without reason")
    if "indeterminate" in (covered, pa, *v.get("doc-needed", [])) and "reason" not in v:
        errors.append("crd-ci-q9: indeterminate without reason")
    return errors


def validate_crd_response(response: dict) -> None:
    """A CDS Hooks response: cards with a summary under 140 characters and an
    indicator, each systemAction an ``update`` whose resource validates and
    carries one coverage-information extension obeying the CRD invariants."""
    if set(response) - {"cards", "systemActions"}:
        raise ValidationError(f"unexpected keys {sorted(set(response))}")
    for card in response.get("cards", []):
        if not card.get("summary") or len(card["summary"]) >= 140:
            raise ValidationError(f"card summary must be 1-139 characters: {card!r}")
        if card.get("indicator") not in ("info", "warning", "critical"):
            raise ValidationError(f"card indicator: {card.get('indicator')!r}")
        if not isinstance(card.get("source"), dict) or not card["source"].get("label"):
            raise ValidationError("card source.label is required")
    for action in response.get("systemActions", []):
        if action.get("type") != "update":
            raise ValidationError(f"systemAction type {action.get('type')!r}")
        resource = action["resource"]
        validate_resource(resource)
        found = [e for e in resource.get("extension") or [] if e["url"] == COVERAGE_INFORMATION]
        if len(found) != 1:
            raise ValidationError("each updated resource carries one coverage-information")
        errors = crd_invariant_errors(found[0])
        if errors:
            raise ValidationError("; ".join(errors))
