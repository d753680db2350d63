"""Hypothesis strategies for mrs-asp cases (SPEC section 1).

``cases()`` draws valid case dicts biased toward the interesting corners of
the guideline: CPT 76390 and the brain most of the time, prior studies of the
requested region dated around the 90/91-day edge of "within 3 months",
inconclusive results, findings that meet or miss the indications, implants
and foreign bodies that trigger or are blocked from triggering a
non-indication.

``small_cases()`` draws cases that document almost everything, so that the
fillings SPEC section 4 allows stay few and a brute-force enumeration of all
their combinations stays cheap.

Both yield plain JSON-like dicts (dates as 'YYYY-MM-DD' strings); build a
model with ``case_from_data(d)``. A field left out of a dict means "not
documented"; ``ABSENT`` is only a marker used while drawing.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

from mrs_asp import vocabulary

__all__ = [
    "ABSENT",
    "BOOLEAN_FINDINGS",
    "REQUEST_DATE",
    "cases",
    "small_cases",
]

ABSENT = object()  # marker: leave the field out (not documented)

REQUEST_DATE = dt.date(2026, 3, 2)

# The values come from the one declaration of the vocabulary, so a value added
# there is drawn here too.
BODY_REGIONS = vocabulary.field("request.body_region").values
MODALITIES = vocabulary.field("imaging.modality").values
IMPLANT_KINDS = vocabulary.field("implants.kind").values
FOREIGN_BODY_LOCATIONS = vocabulary.field("foreign_bodies.location").values
BOOLEAN_FINDINGS = tuple(f.name for f in vocabulary.fields("findings") if f.type == "boolean")
# Findings that make an indication (any_condition) hold on their own or in pairs;
# they are drawn true more often so that approvals are common enough.
_CONDITION_FINDINGS = {
    "glioma", "glioma_grading", "brain_tumor", "brain_mass", "brain_tumor_evaluation",
    "recurrence_vs_radiation_necrosis", "neonatal_hie", "mitochondrial_disease",
    "inborn_error_of_metabolism", "canavan_disease", "mitochondrial_encephalopathy",
    "leukodystrophy",
}

# Days before the request: the 90/91 edge often, 0 and the far past too.
_DAYS = st.one_of(
    st.sampled_from([90, 91, 0, 89, 92, 200, 1, 45, 120]),
    st.integers(min_value=0, max_value=200),
)


def _strip(d: dict) -> dict:
    """Drop the ABSENT markers."""
    return {k: v for k, v in d.items() if v is not ABSENT}


def _tri(true_weight: int = 1, false_weight: int = 1, absent_weight: int = 1):
    """absent / true / false, with weights; shrinks toward absent."""
    return st.sampled_from([ABSENT] * absent_weight + [True] * true_weight
                           + [False] * false_weight)


def _date(days_before: int, request_date: dt.date) -> str:
    return (request_date - dt.timedelta(days=days_before)).isoformat()


@st.composite
def _request(draw, request_date: dt.date, *, region_bias: int = 6, cpt_bias: int = 20):
    cpt = draw(st.sampled_from(["76390"] * cpt_bias + ["70553", "76498"]))
    region = draw(st.sampled_from(["brain"] * region_bias + list(BODY_REGIONS[1:])))
    req = {
        "cpt": cpt,
        "date": request_date.isoformat(),
        "body_region": region,
        "setting": draw(st.sampled_from([ABSENT, "inpatient", "outpatient"])),
        "contrast": draw(_tri(absent_weight=2)),
    }
    return _strip(req)


@st.composite
def _study(draw, region: str, request_date: dt.date, *, conventional: bool = False):
    if conventional:  # an MRI or CT of the region, documented inconclusive
        modality = draw(st.sampled_from(["MRI", "CT"]))
        body_region, result = region, "inconclusive"
    else:
        modality = draw(st.sampled_from(["MRI", "MRI", "CT", "MRS", "MRS", "PET", "XR", "US"]))
        body_region = draw(st.sampled_from([region] * 4 + list(BODY_REGIONS)))
        result = draw(st.sampled_from([ABSENT, "inconclusive", "inconclusive", "conclusive"]))
    return _strip({
        "modality": modality,
        "body_region": body_region,
        "date": _date(draw(_DAYS), request_date),
        "result": result,
    })


@st.composite
def _findings(draw, approvable: bool = False):
    out = {}
    for name in BOOLEAN_FINDINGS:
        if name in _CONDITION_FINDINGS:
            if approvable:
                value = draw(st.sampled_from([ABSENT, True, True, False]))
            else:
                value = draw(st.sampled_from([ABSENT, ABSENT, True, False]))
        else:
            value = draw(_tri())
        out[name] = value
    out["symptoms"] = draw(st.sampled_from([ABSENT, "new", "worsening", "unchanged"]))
    return _strip(out)


@st.composite
def _implant(draw, approvable: bool = False):
    if approvable:  # mostly an implant whose non-indication is blocked
        metallic = draw(st.sampled_from([False, False, True, ABSENT]))
        status = draw(st.sampled_from(["safe", "conditional", "safe", "unknown", ABSENT]))
    else:
        metallic = draw(_tri())
        status = draw(st.sampled_from([ABSENT, "safe", "conditional", "unsafe", "unknown"]))
    return _strip({
        "kind": draw(st.sampled_from(IMPLANT_KINDS)),
        "metallic": metallic,
        "mr_status": status,
    })


@st.composite
def _foreign_body(draw, approvable: bool = False):
    metallic = draw(st.sampled_from([False, False, ABSENT, True]) if approvable else _tri())
    return _strip({
        "location": draw(st.sampled_from(FOREIGN_BODY_LOCATIONS)),
        "metallic": metallic,
        "obscures_area_of_concern": draw(_tri()),
    })


@st.composite
def _patient(draw):
    return _strip({
        "age_years": draw(st.one_of(st.just(ABSENT), st.integers(0, 100))),
        "pregnant": draw(_tri(absent_weight=2)),
        "claustrophobic": draw(_tri(absent_weight=2)),
        "renal_insufficiency": draw(_tri(absent_weight=2)),
        "gadolinium_contraindicated": draw(_tri(absent_weight=2)),
    })


@st.composite
def cases(draw, case_id: str = "case"):
    """A valid case dict (SPEC section 1), biased toward interesting cases.

    About half of the cases are drawn "approvable": an inconclusive MRI/CT of
    the region, condition findings more often true, implants and foreign
    bodies mostly documented safe. The rest are drawn plain.
    """
    approvable = draw(st.booleans())
    offset = draw(st.sampled_from([0, 0, 0, 59, 365]))  # 59: across a leap-day-free Feb
    request_date = REQUEST_DATE + dt.timedelta(days=offset)
    request = draw(_request(request_date))
    case: dict = {"id": case_id, "request": request}
    if draw(st.booleans()):
        case["title"] = "generated"
    if draw(st.sampled_from([False, False, True])):
        case["patient"] = draw(_patient())
    # imaging: absent, empty or 1-4 studies
    n_studies = draw(st.sampled_from([ABSENT, 0, 1, 1, 2, 2, 3, 4]))
    if n_studies is not ABSENT:
        case["imaging"] = [draw(_study(request["body_region"], request_date))
                           for _ in range(n_studies)]
    if approvable:
        studies = case.setdefault("imaging", [])
        at = draw(st.integers(0, len(studies)))
        studies.insert(at, draw(_study(request["body_region"], request_date, conventional=True)))
    if approvable or draw(st.sampled_from([True, True, True, False])):
        case["findings"] = draw(_findings(approvable))
    n_implants = draw(st.sampled_from([ABSENT, 0, 0, 1, 1, 2, 3]))
    if n_implants is not ABSENT:
        case["implants"] = [draw(_implant(approvable)) for _ in range(n_implants)]
    n_bodies = draw(st.sampled_from([ABSENT, 0, 0, 1, 2]))
    if n_bodies is not ABSENT:
        case["foreign_bodies"] = [draw(_foreign_body(approvable)) for _ in range(n_bodies)]
    return case


@st.composite
def small_cases(draw, case_id: str = "small"):
    """A valid case dict that leaves few fields undocumented.

    Almost every finding is documented (1-3 of them are left out, mostly
    ones an indication needs), at most one implant and one foreign body,
    0-2 studies. The brute force of the tests keeps only cases with few
    allowed fillings.
    """
    request_date = REQUEST_DATE
    request = draw(_request(request_date, region_bias=10, cpt_bias=30))
    region = request["body_region"]
    case: dict = {"id": case_id, "request": request}
    findings = {}
    for name in BOOLEAN_FINDINGS:
        if name in _CONDITION_FINDINGS:
            # mostly false, so that filling one in can matter
            findings[name] = draw(st.sampled_from([False, False, False, True]))
        else:
            findings[name] = draw(st.booleans())
    findings["symptoms"] = draw(st.sampled_from(["new", "worsening", "unchanged"]))
    names = sorted(findings)
    undocumented = draw(st.lists(
        st.one_of(st.sampled_from(sorted(_CONDITION_FINDINGS)), st.sampled_from(names)),
        min_size=1, max_size=3, unique=True))
    for name in undocumented:
        del findings[name]
    case["findings"] = findings

    studies = []
    for _ in range(draw(st.integers(0, 2))):
        studies.append(_strip({
            "modality": draw(st.sampled_from(["MRI", "CT", "MRS", "MRS", "PET", "XR"])),
            "body_region": draw(st.sampled_from([region, region, region, "spine"])),
            "date": _date(draw(_DAYS), request_date),
            "result": draw(st.sampled_from([ABSENT, ABSENT, "inconclusive", "conclusive"])),
        }))
    if studies or draw(st.booleans()):
        case["imaging"] = studies
    if draw(st.booleans()):
        case["implants"] = [draw(_implant(approvable=draw(st.booleans())))]
    if draw(st.sampled_from([False, False, True])):
        case["foreign_bodies"] = [draw(_foreign_body(approvable=draw(st.booleans())))]
    return case
