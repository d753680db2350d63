#!/usr/bin/env python3
"""Seeded random case libraries for the mrs-asp benchmarks.

    python benchmarks/generate.py N SEED OUT.jsonl

writes N valid cases (SPEC.md section 1), one JSON object per line, with
unique ids. The same N and SEED always give the same file. Importable too:

    from generate import generate
    cases = generate(5000, seed=1)      # list[dict]

The mix imitates a real prior-authorization queue rather than the policy's
corner cases (weights in ``SCENARIOS``):

* ~30% approved-looking: an inconclusive MRI/CT of the region, a qualifying
  condition, and, when that study is recent (<= 90 days), treatment since or
  new/worsening symptoms; implants and foreign bodies, when present, are
  documented harmless;
* most of the rest denied for one reason or another: recent advanced imaging,
  cardiac devices with unknown MR status, metallic fragments in the orbit or a
  critical area, no qualifying condition, no prior imaging at all, only
  conclusive imaging, a stale repeat MRS request;
* ~6% "thin" cases that document almost nothing (no findings, a study without
  result or none at all, implants and foreign bodies without metallic /
  mr_status), so that what-is-missing has dozens of alternatives;
* ~3% requests for other CPT codes (not_applicable).

Each case carries 0-4 prior studies, 0-3 implants and 0-2 foreign bodies;
studies are dated 0-400 days before the request, never after it. The scenario
name is part of the id (``bench-<seed>-<n>-<scenario>``) so a slow or odd case
can be traced back to the generator branch that made it. No ``expected`` is
written: these cases are for timing, not for checking answers.

Standard library only, so it runs with any Python >= 3.9.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sys
from pathlib import Path

__all__ = ["generate", "SCENARIOS", "main"]

REGIONS = ("brain", "spine", "head_neck", "chest", "abdomen", "pelvis", "extremity", "other")
# Requests for MRS are overwhelmingly brain; the policy itself is region-agnostic.
REQUEST_REGIONS = ("brain",) * 17 + ("head_neck", "spine", "other")
OTHER_CPT = ("70553", "70551", "70552", "72156", "76498", "76391", "78608")

BOOL_FINDINGS = (
    "glioma", "brain_tumor", "brain_mass", "glioma_grading", "brain_tumor_evaluation",
    "recurrence_vs_radiation_necrosis", "neonatal_hie", "mitochondrial_disease",
    "inborn_error_of_metabolism", "canavan_disease", "mitochondrial_encephalopathy",
    "leukodystrophy", "treatment_since_last_imaging", "repeat_influences_treatment",
    "prior_indeterminate_finding", "clarifying_follow_up_done", "monitoring_need_established",
)
CONDITION_FINDINGS = BOOL_FINDINGS[:12]

START = dt.date(2024, 1, 1)
SPAN_DAYS = 3 * 365


# ---------------------------------------------------------------------------
# Building blocks


def _request_date(rng: random.Random) -> dt.date:
    return START + dt.timedelta(days=rng.randrange(SPAN_DAYS))


def _study(rng: random.Random, req: dt.date, modality: str, region: str,
           days: tuple[int, int], result: str | None) -> dict:
    lo, hi = days
    study = {"modality": modality, "body_region": region,
             "date": (req - dt.timedelta(days=rng.randint(lo, hi))).isoformat()}
    if result is not None:
        study["result"] = result
    return study


def _old() -> tuple[int, int]:
    return (91, 400)


def _recent() -> tuple[int, int]:
    return (0, 90)


def _any_age() -> tuple[int, int]:
    return (0, 400)


def _noise_study(rng: random.Random, req: dt.date, region: str) -> dict:
    """A study that changes no criterion: plain film/ultrasound of the region, an old
    conclusive MRI/CT of the region, or anything of another region."""
    roll = rng.random()
    if roll < 0.4:
        return _study(rng, req, rng.choice(("XR", "US")), region, _any_age(),
                      rng.choice(("conclusive", "inconclusive", None)))
    if roll < 0.6:
        return _study(rng, req, rng.choice(("MRI", "CT")), region, _old(), "conclusive")
    other = rng.choice([r for r in REGIONS if r != region])
    return _study(rng, req, rng.choice(("MRI", "CT", "PET", "MRS", "XR", "US")), other,
                  _any_age(), rng.choice(("conclusive", "inconclusive", None)))


def _patient(rng: random.Random, condition: str | None) -> dict | None:
    if rng.random() < 0.08:
        return None  # nothing documented about the patient
    patient: dict = {}
    if condition == "hie":
        patient["age_days"] = rng.randint(0, 28)
    elif condition in ("metabolic", "inherited"):
        if rng.random() < 0.5:
            patient["age_days"] = rng.randint(20, 700)
        else:
            patient["age_years"] = rng.randint(1, 17)
    elif rng.random() < 0.95:
        patient["age_years"] = rng.randint(2, 89)
    adult = patient.get("age_years", 0) >= 18
    for name, p_doc, p_true in (("claustrophobic", 0.5, 0.12),
                                ("renal_insufficiency", 0.35, 0.10),
                                ("gadolinium_contraindicated", 0.25, 0.15)):
        if rng.random() < p_doc:
            patient[name] = rng.random() < p_true
    if adult and rng.random() < 0.3:
        patient["pregnant"] = rng.random() < 0.05
    return patient


def _condition(rng: random.Random, kind: str) -> dict:
    """Findings that satisfy one indication branch."""
    if kind == "grading":
        return {"glioma": True, "glioma_grading": True}
    if kind == "tumor":
        lesion = rng.choice(("glioma", "brain_tumor", "brain_mass"))
        question = rng.choice(("brain_tumor_evaluation", "recurrence_vs_radiation_necrosis"))
        return {lesion: True, question: True}
    if kind == "hie":
        return {"neonatal_hie": True}
    if kind == "metabolic":
        return {rng.choice(("mitochondrial_disease", "inborn_error_of_metabolism")): True}
    if kind == "inherited":
        return {rng.choice(("canavan_disease", "mitochondrial_encephalopathy",
                            "leukodystrophy")): True}
    raise ValueError(kind)


CONDITION_KINDS = ("grading", "tumor", "tumor", "tumor", "hie", "metabolic", "inherited")


def _document_negatives(rng: random.Random, findings: dict, share: float) -> None:
    """Well-documented charts also say what is *not* the case; this is what keeps the
    number of missing alternatives small for most denied cases."""
    for name in CONDITION_FINDINGS:
        if name not in findings and rng.random() < share:
            findings[name] = False


def _safe_implant(rng: random.Random) -> dict:
    return rng.choice((
        {"kind": "pacemaker", "mr_status": "conditional"},
        {"kind": "defibrillator", "mr_status": "conditional"},
        {"kind": "cardiac_valve", "mr_status": "safe"},
        {"kind": "cardiac_valve", "metallic": True, "mr_status": "conditional"},
        {"kind": "aneurysm_clip", "metallic": False},
        {"kind": "aneurysm_clip", "metallic": False, "mr_status": "safe"},
        {"kind": "orthopedic", "metallic": True, "mr_status": "conditional"},
        {"kind": "orthopedic", "metallic": False},
        {"kind": "cochlear_implant", "metallic": True, "mr_status": "conditional"},
        {"kind": "neurostimulator", "metallic": True, "mr_status": "conditional"},
        {"kind": "other", "metallic": False},
        {"kind": "other"},
    ))


def _harmless_foreign_body(rng: random.Random) -> dict:
    return rng.choice((
        {"location": "other", "metallic": True},
        {"location": "other"},
        {"location": "field_of_view", "metallic": True, "obscures_area_of_concern": False},
        {"location": "orbit", "metallic": False},
        {"location": "critical_area", "metallic": False},
    ))


def _maybe(rng: random.Random, p: float, make, *args) -> list:
    return [make(rng, *args)] if rng.random() < p else []


def _safe_hardware(rng: random.Random, case: dict, p_implant: float = 0.2,
                   p_body: float = 0.1) -> None:
    if rng.random() < p_implant:
        case["implants"] = [_safe_implant(rng) for _ in range(rng.randint(1, 3))]
    if rng.random() < p_body:
        case["foreign_bodies"] = [_harmless_foreign_body(rng)
                                  for _ in range(rng.randint(1, 2))]


def _recent_lift(rng: random.Random, findings: dict) -> None:
    """What lets a recent study through: treatment since, or new/worsening symptoms."""
    if rng.random() < 0.5:
        findings["treatment_since_last_imaging"] = True
    else:
        findings["symptoms"] = rng.choice(("new", "worsening"))


def _base(rng: random.Random, title: str, region: str | None = None,
          cpt: str = "76390") -> tuple[dict, dt.date, str]:
    req = _request_date(rng)
    region = region or rng.choice(REQUEST_REGIONS)
    request = {"cpt": cpt, "date": req.isoformat(), "body_region": region}
    if rng.random() < 0.7:
        request["setting"] = rng.choice(("outpatient",) * 3 + ("inpatient",))
    if rng.random() < 0.4:
        request["contrast"] = rng.random() < 0.3
    return {"title": title, "request": request}, req, region


def _finish(rng: random.Random, case: dict, studies: list[dict], findings: dict | None,
            condition: str | None = None) -> dict:
    patient = _patient(rng, condition)
    if patient is not None:
        case["patient"] = patient
    while len(studies) < 4 and rng.random() < 0.25:
        studies.append(_noise_study(rng, dt.date.fromisoformat(case["request"]["date"]),
                                    case["request"]["body_region"]))
    studies = studies[:4]
    rng.shuffle(studies)
    if studies:
        case["imaging"] = studies
    if findings:
        case["findings"] = findings
    return case


# ---------------------------------------------------------------------------
# Scenarios: each returns a case without id


def approved_looking(rng: random.Random) -> dict:
    kind = rng.choice(CONDITION_KINDS)
    case, req, region = _base(rng, f"inconclusive conventional imaging, {kind}")
    findings = _condition(rng, kind)
    _document_negatives(rng, findings, rng.choice((0.0, 0.5, 0.9)))
    recent = rng.random() < 0.45
    study = _study(rng, req, rng.choice(("MRI", "MRI", "CT")), region,
                   _recent() if recent else _old(), "inconclusive")
    if recent:
        _recent_lift(rng, findings)
    elif rng.random() < 0.3:
        findings["symptoms"] = rng.choice(("new", "worsening", "unchanged"))
    _safe_hardware(rng, case)
    return _finish(rng, case, [study], findings, kind)


def recent_imaging(rng: random.Random) -> dict:
    kind = rng.choice(CONDITION_KINDS)
    case, req, region = _base(rng, f"recent advanced imaging, {kind}")
    findings = _condition(rng, kind)
    _document_negatives(rng, findings, rng.choice((0.3, 0.9)))
    studies = [_study(rng, req, rng.choice(("MRI", "CT")), region, _old(), "inconclusive")]
    studies.append(_study(rng, req, rng.choice(("MRI", "CT", "PET", "MRS")), region,
                          _recent(), rng.choice(("inconclusive", "conclusive", None))))
    roll = rng.random()
    if roll < 0.5:  # documented: nothing changed, no treatment -> no way out
        findings["symptoms"] = "unchanged"
        findings["treatment_since_last_imaging"] = False
    elif roll < 0.8:
        findings["symptoms"] = "unchanged"
    _safe_hardware(rng, case, 0.15, 0.05)
    return _finish(rng, case, studies, findings, kind)


def device_unknown(rng: random.Random) -> dict:
    kind = rng.choice(CONDITION_KINDS)
    case, req, region = _base(rng, f"cardiac device, MR status not documented, {kind}")
    findings = _condition(rng, kind)
    _document_negatives(rng, findings, 0.6)
    study = _study(rng, req, rng.choice(("MRI", "CT")), region, _old(), "inconclusive")
    device = {"kind": rng.choice(("pacemaker", "defibrillator", "cardiac_valve"))}
    roll = rng.random()
    if roll < 0.4:
        device["mr_status"] = "unknown"
    elif roll < 0.55:
        device["mr_status"] = "unsafe"
    if rng.random() < 0.3:
        device["metallic"] = True
    implants = [device] + [_safe_implant(rng) for _ in range(rng.randint(0, 2))]
    rng.shuffle(implants)
    case["implants"] = implants
    return _finish(rng, case, [study], findings, kind)


def orbit_fragment(rng: random.Random) -> dict:
    kind = rng.choice(CONDITION_KINDS)
    case, req, region = _base(rng, f"metallic foreign body, {kind}")
    findings = _condition(rng, kind)
    _document_negatives(rng, findings, 0.6)
    study = _study(rng, req, rng.choice(("MRI", "CT")), region, _old(), "inconclusive")
    location = rng.choice(("orbit", "orbit", "orbit", "critical_area", "field_of_view"))
    body: dict = {"location": location}
    if rng.random() < 0.7:
        body["metallic"] = True
    if location == "field_of_view":
        body["obscures_area_of_concern"] = True
    bodies = [body] + _maybe(rng, 0.3, _harmless_foreign_body)
    rng.shuffle(bodies)
    case["foreign_bodies"] = bodies
    _safe_hardware(rng, case, 0.15, 0.0)
    return _finish(rng, case, [study], findings, kind)


def missing_condition(rng: random.Random) -> dict:
    case, req, region = _base(rng, "inconclusive imaging, no qualifying condition")
    findings: dict = {}
    roll = rng.random()
    if roll < 0.3:  # a lesion but no question, or a question but no lesion
        findings[rng.choice(("glioma", "brain_tumor", "brain_mass"))] = True
    elif roll < 0.5:
        findings[rng.choice(("glioma_grading", "brain_tumor_evaluation",
                             "recurrence_vs_radiation_necrosis"))] = True
    elif roll < 0.7:  # documented as absent
        findings.update(_condition(rng, rng.choice(CONDITION_KINDS)))
        findings = {k: False for k in findings}
    _document_negatives(rng, findings, rng.choice((0.2, 0.6, 1.0)))
    if rng.random() < 0.5:
        findings["symptoms"] = rng.choice(("new", "worsening", "unchanged"))
    study = _study(rng, req, rng.choice(("MRI", "CT")), region, _old(), "inconclusive")
    _safe_hardware(rng, case)
    return _finish(rng, case, [study], findings or None)


def no_imaging(rng: random.Random) -> dict:
    kind = rng.choice(CONDITION_KINDS)
    case, req, region = _base(rng, f"no prior MRI or CT of the region, {kind}")
    findings = _condition(rng, kind)
    _document_negatives(rng, findings, rng.choice((0.0, 0.7)))
    if rng.random() < 0.4:
        findings["symptoms"] = rng.choice(("new", "worsening", "unchanged"))
    studies: list[dict] = []
    if rng.random() < 0.4:  # only plain film / ultrasound of the region
        studies.append(_study(rng, req, rng.choice(("XR", "US")), region, _any_age(),
                              rng.choice(("conclusive", "inconclusive", None))))
    _safe_hardware(rng, case)
    return _finish(rng, case, studies, findings, kind)


def conclusive_imaging(rng: random.Random) -> dict:
    kind = rng.choice(CONDITION_KINDS)
    case, req, region = _base(rng, f"conclusive conventional imaging, {kind}")
    findings = _condition(rng, kind)
    _document_negatives(rng, findings, 0.5)
    studies = [_study(rng, req, rng.choice(("MRI", "CT")), region, _old(), "conclusive")
               for _ in range(rng.randint(1, 2))]
    _safe_hardware(rng, case)
    return _finish(rng, case, studies, findings, kind)


def repeat_mrs(rng: random.Random) -> dict:
    """A second MRS within 3 months; some meet a repeat criterion, most do not."""
    case, req, region = _base(rng, "repeat MRS request")
    findings: dict = {}
    studies = [_study(rng, req, rng.choice(("MRI", "CT")), region, _old(), "inconclusive"),
               _study(rng, req, "MRS", region, _recent(), None)]
    roll = rng.random()
    if roll < 0.25:
        findings.update(symptoms=rng.choice(("new", "worsening")),
                        repeat_influences_treatment=rng.random() < 0.7)
    elif roll < 0.5:
        findings.update(prior_indeterminate_finding=True,
                        clarifying_follow_up_done=rng.random() < 0.5)
        if rng.random() < 0.5:
            _recent_lift(rng, findings)
    elif roll < 0.75:
        findings.update(monitoring_need_established=True,
                        treatment_since_last_imaging=rng.random() < 0.6)
        if rng.random() < 0.5:
            findings["symptoms"] = "unchanged"
    else:
        findings["symptoms"] = "unchanged"
    _document_negatives(rng, findings, rng.choice((0.0, 0.8)))
    _safe_hardware(rng, case)
    return _finish(rng, case, studies, findings)


def thin(rng: random.Random) -> dict:
    """Almost nothing documented: dozens of ways to approval."""
    case, req, region = _base(rng, "sparsely documented request")
    studies: list[dict] = []
    roll = rng.random()
    if roll < 0.35:
        studies.append(_study(rng, req, rng.choice(("MRI", "CT")), region, _any_age(), None))
    elif roll < 0.5:
        studies.append(_study(rng, req, rng.choice(("MRI", "CT")), region, _any_age(), None))
        studies.append(_study(rng, req, "MRS", region, _recent(), None))
    findings: dict = {}
    if rng.random() < 0.3:
        findings[rng.choice(("glioma", "brain_tumor", "brain_mass"))] = True
    implants = [{"kind": rng.choice(("pacemaker", "defibrillator", "cardiac_valve",
                                     "aneurysm_clip", "neurostimulator", "orthopedic",
                                     "cochlear_implant", "other"))}
                for _ in range(rng.randint(0, 3))]
    if implants:
        case["implants"] = implants
    bodies = [{"location": rng.choice(("orbit", "critical_area", "field_of_view", "other"))}
              for _ in range(rng.randint(0, 2))]
    if bodies:
        case["foreign_bodies"] = bodies
    return _finish(rng, case, studies, findings or None)


def other_cpt(rng: random.Random) -> dict:
    case, req, region = _base(rng, "request for another procedure",
                              cpt=rng.choice(OTHER_CPT))
    findings = _condition(rng, rng.choice(CONDITION_KINDS))
    study = _study(rng, req, rng.choice(("MRI", "CT")), region, _any_age(),
                   rng.choice(("inconclusive", "conclusive")))
    _safe_hardware(rng, case)
    return _finish(rng, case, [study], findings)


SCENARIOS: tuple[tuple[str, float, object], ...] = (
    ("approved", 0.30, approved_looking),
    ("recent", 0.13, recent_imaging),
    ("device", 0.09, device_unknown),
    ("fragment", 0.07, orbit_fragment),
    ("nocondition", 0.10, missing_condition),
    ("noimaging", 0.08, no_imaging),
    ("conclusive", 0.08, conclusive_imaging),
    ("repeat", 0.06, repeat_mrs),
    ("thin", 0.06, thin),
    ("othercpt", 0.03, other_cpt),
)


# ---------------------------------------------------------------------------


def _check(case: dict) -> None:
    """Cheap structural guard (the full check is mrs_asp's own loader)."""
    req = case["request"]["date"]
    studies = case.get("imaging", [])
    assert len(studies) <= 4 and len(case.get("implants", [])) <= 3
    assert len(case.get("foreign_bodies", [])) <= 2
    assert all(s["date"] <= req for s in studies), case


def generate(n: int, seed: int = 1) -> list[dict]:
    """``n`` valid cases, reproducibly from ``seed``, ids unique within the list."""
    rng = random.Random(seed)
    names = [name for name, _, _ in SCENARIOS]
    weights = [w for _, w, _ in SCENARIOS]
    makers = {name: make for name, _, make in SCENARIOS}
    width = max(6, len(str(max(n - 1, 0))))
    out = []
    for i in range(n):
        name = rng.choices(names, weights)[0]
        body = makers[name](rng)
        case = {"id": f"bench-{seed}-{i:0{width}d}-{name}"}
        case.update(body)
        _check(case)
        out.append(case)
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 3:
        sys.stderr.write("usage: python benchmarks/generate.py N SEED OUT.jsonl\n")
        return 2
    try:
        n, seed = int(argv[0]), int(argv[1])
    except ValueError:
        sys.stderr.write("generate.py: N and SEED must be integers\n")
        return 2
    if n < 0:
        sys.stderr.write("generate.py: N must be >= 0\n")
        return 2
    out = Path(argv[2])
    with out.open("w", encoding="utf-8") as fh:
        for case in generate(n, seed):
            fh.write(json.dumps(case, separators=(",", ":")) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
