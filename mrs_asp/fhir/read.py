"""Reading FHIR into cases, with provenance (FHIR.md F2-F5).

Two inputs are read, told apart by their content:

* a **PAS request Bundle**: ``resourceType: Bundle`` whose first entry is a
  ``Claim`` with ``use: preauthorization``; each ``Claim.item`` is one case;
* a **CDS Hooks request** for ``order-sign`` / ``order-select``: ``hook``,
  ``hookInstance``, ``context.draftOrders`` (a Bundle of ServiceRequests) and
  ``prefetch``; each draft ``ServiceRequest`` is one case.

Every fact of the derived case keeps the JSON Pointers (RFC 6901) of the FHIR
elements that document it (:attr:`FhirCase.provenance`, keyed by the pointer
of the fact in the derived case). Two sources documenting different values of
one fact are bad input, reported with both pointers; agreeing sources are one
fact, citing both.

Choices where FHIR.md is silent (a payer's integration engineer would expect
them; each is also in the README's FHIR section):

* Patient-level facts (diagnoses, Conditions, Devices, prior studies, the
  QuestionnaireResponse) document every requested item of the input;
  ``request.*`` comes from the item itself (and from questionnaire answers
  for ``request.contrast`` / ``request.setting``).
* For CDS Hooks, the ServiceRequest's ``reasonCode`` is read like
  ``Claim.diagnosis`` (it is the order's diagnosis), and a ServiceRequest
  without ``occurrence[x]`` is dated by ``authoredOn``.
* An item whose ``productOrService`` has no CPT coding keeps its first coding
  as ``request.cpt`` (``system|code``): the guideline does not apply to it.
* Resources with status ``entered-in-error`` (and Procedures ``not-done`` /
  ``preparation``, reports and studies ``cancelled`` / ``registered``) are
  not read; a resource that names no subject is taken as the patient's.
* Only QuestionnaireResponses answering this guideline's questionnaire
  (``.../Questionnaire/mrs-76390``) or one of what is missing
  (``.../Questionnaire/mrs-76390-missing-...``: the same linkIds), any base,
  any version, are read; an answer to a linkId that is no case field is bad
  input.
* Implant entries are matched by kind: a questionnaire entry (or a diagnosis)
  is the same implant as the one Device, diagnosis or entry of another
  response of its kind; several Devices (or entries of one response) of one
  kind are several implants, and a questionnaire entry that cannot tell which
  of them it speaks of is bad input. Foreign bodies are matched by location
  the same way, prior studies by (modality, region, date) and by the links
  between Procedure, DiagnosticReport and ImagingStudy.
"""

from __future__ import annotations

import datetime as _dt
import gc
import json
from dataclasses import dataclass, field
from typing import Any

import msgspec

from ..cases import CaseError, LoadedCase, case_from_data
from ..pointers import join as _ptr, parts as _parts, pointer as _pointer
from .fields import GROUPS, field_by_link_id
from .terminology import CPT, ICD10CM, SNOMED, Terminology, load, normal_icd

__all__ = ["FhirCase", "FhirError", "kind_of", "read", "read_bytes"]

QUESTIONNAIRE_ID = "mrs-76390"
BRAIN_DEFAULT = ("no bodySite: brain, the only region the guideline's indications "
                 "concern (FHIR.md F2)")

_ACTIVE_CLINICAL = {"active", "recurrence", "relapse"}
_NOT_VERIFIED = {"refuted", "entered-in-error"}
_SKIP_STATUS = {
    "Procedure": {"entered-in-error", "not-done", "preparation"},
    "DiagnosticReport": {"entered-in-error", "cancelled", "registered"},
    "ImagingStudy": {"entered-in-error", "cancelled", "registered"},
    "Device": {"entered-in-error"},
    "QuestionnaireResponse": {"entered-in-error", "stopped"},
    "Condition": set(),
}


#: Values that read as not documented, by field name (an implant's mr_status
#: 'unknown'): another source's documented value fills them without conflict.
_UNDOCUMENTED: dict[str, tuple[str, ...]] = {
    f.name: f.undocumented for f in field_by_link_id().values() if f.undocumented}


class FhirError(CaseError):
    """Bad FHIR input: the file, the JSON Pointer into the FHIR input, what is wrong."""



@dataclass(eq=False)
class FhirCase(LoadedCase):
    """One derived case of a FHIR input.

    ``raw`` is the FHIR input as given (the explanation's evidence points into
    it once :meth:`cite` has run); ``case`` is the derived case; ``provenance``
    maps each pointer of the derived case (``/findings/glioma``,
    ``/implants/0``, ``/implants/0/mr_status``) to the pointers of the FHIR
    elements that document it; ``notes`` says why a fact was taken as it was
    where no element says so directly (the default body region).
    """

    document: Any = None
    fhir_kind: str = ""             # "pas" | "crd"
    item_pointer: str = ""          # the Claim.item / ServiceRequest of this case
    provenance: dict[str, list[str]] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    document_key: int = 0           # the same for every case of one input

    @property
    def raw(self) -> dict[str, Any]:  # type: ignore[override]
        return self.document

    def derived(self) -> dict[str, Any]:
        """The derived case as plain JSON data."""
        from ..cases import case_data
        return case_data(self.case)

    def cite(self, answer):
        """The answer with its evidence pointing into the FHIR input and each
        ``missing`` alternative carrying its questionnaire ``answers``."""
        from .cite import cite
        return cite(self, answer)


# --------------------------------------------------------------------------
# Detection


def kind_of(doc: Any) -> str | None:
    """'pas', 'crd' or None (not a FHIR input this reads)."""
    if not isinstance(doc, dict):
        return None
    if doc.get("resourceType") == "Bundle":
        entries = doc.get("entry")
        if isinstance(entries, list) and entries and isinstance(entries[0], dict):
            first = entries[0].get("resource")
            if isinstance(first, dict) and first.get("resourceType") == "Claim" \
                    and first.get("use") == "preauthorization":
                return "pas"
        return None
    if "hook" in doc and "hookInstance" in doc:
        context = doc.get("context")
        if doc.get("hook") in ("order-sign", "order-select") and isinstance(context, dict) \
                and isinstance(context.get("draftOrders"), dict):
            return "crd"
    return None


def _looks_fhir(doc: Any) -> bool:
    return isinstance(doc, dict) and ("resourceType" in doc or "hookInstance" in doc)


def _not_ours(doc: dict) -> str:
    if "hookInstance" in doc:
        return ("expected a CDS Hooks order-sign or order-select request with "
                "context.draftOrders (a Bundle of ServiceRequests)")
    return (f"expected a PAS request Bundle (a Bundle whose first entry is a Claim with "
            f"use 'preauthorization') or a case, got a FHIR {doc.get('resourceType')!r}")


# --------------------------------------------------------------------------
# The resources of an input and their references


class _Index:
    def __init__(self, source: str) -> None:
        self.source = source
        self.resources: list[tuple[str, dict]] = []
        self.by_ref: dict[str, tuple[str, dict]] = {}
        self.by_type: dict[str, list[tuple[str, dict]]] = {}

    def add(self, pointer: str, resource: Any, full_url: Any = None) -> None:
        if not isinstance(resource, dict):
            return
        rtype = resource.get("resourceType")
        if not isinstance(rtype, str):
            return
        if rtype == "Bundle":  # a prefetch search result
            for i, entry in enumerate(_array(resource, "entry", pointer)):
                if isinstance(entry, dict):
                    self.add(f"{pointer}/entry/{i}/resource", entry.get("resource"),
                             entry.get("fullUrl"))
            return
        self.resources.append((pointer, resource))
        self.by_type.setdefault(rtype, []).append((pointer, resource))
        rid = resource.get("id")
        if isinstance(full_url, str) and full_url:
            self.by_ref.setdefault(full_url, (pointer, resource))
        if isinstance(rid, str) and rid:
            self.by_ref.setdefault(f"{rtype}/{rid}", (pointer, resource))

    def resolve(self, ref: Any, pointer: str) -> tuple[str, dict]:
        """The resource a Reference points at; a reference to nothing is bad input."""
        target = ref.get("reference") if isinstance(ref, dict) else None
        if not isinstance(target, str) or not target:
            raise FhirError(self.source, pointer, "expected a Reference with 'reference'")
        found = self.by_ref.get(target)
        if found is None and "/" in target and not target.startswith("urn:"):
            parts = target.rstrip("/").split("/")
            history = parts.index("_history") if "_history" in parts else len(parts)
            if history >= 2:
                found = self.by_ref.get(f"{parts[history - 2]}/{parts[history - 1]}")
        if found is None:
            raise FhirError(self.source, _ptr(pointer, "reference"),
                            f"the reference {target!r} resolves to nothing in the input")
        return found

    def of_type(self, rtype: str) -> list[tuple[str, dict]]:
        return self.by_type.get(rtype, [])


# --------------------------------------------------------------------------
# Facts and their sources


@dataclass
class _Fact:
    value: Any
    pointers: list[str]


class _Facts:
    """Facts of one kind of container, with conflict checking."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.values: dict[str, _Fact] = {}

    def put(self, name: str, value: Any, pointer: str, what: str) -> None:
        known = self.values.get(name)
        if known is None:
            self.values[name] = _Fact(value, [pointer])
            return
        if known.value != value and value in _UNDOCUMENTED.get(name, ()):
            return  # 'unknown' documents nothing (SPEC section 1): no conflict
        if known.value != value and known.value in _UNDOCUMENTED.get(name, ()):
            self.values[name] = _Fact(value, [pointer])
            return
        if known.value != value:
            raise FhirError(self.source, pointer,
                            f"documents {what} = {_show(value)}, but {known.pointers[0]} "
                            f"documents {_show(known.value)}: conflicting sources")
        if pointer not in known.pointers:
            known.pointers.append(pointer)


@dataclass
class _Entry:
    group: str
    fields: _Facts
    sources: list[str]
    origin: str = "resource"        # "resource" | "diagnosis" | "questionnaire"
    response: str = ""              # the QuestionnaireResponse of a questionnaire entry

    def get(self, name: str) -> Any:
        fact = self.fields.values.get(name)
        return None if fact is None else fact.value


def _show(value: Any) -> str:
    return json.dumps(value.isoformat() if isinstance(value, _dt.date) else value)


# --------------------------------------------------------------------------
# Small readers of FHIR datatypes


class _Shape(Exception):
    """A FHIR element of the wrong JSON type (raised deep, reported with its pointer)."""

    def __init__(self, pointer: str, expected: str) -> None:
        super().__init__(pointer, expected)
        self.pointer, self.expected = pointer, expected


def _array(node: dict, key: str, pointer: str) -> list:
    """``node[key]`` as a list ([] when absent); another JSON type is bad input."""
    value = node.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Shape(f"{pointer}/{key}", "an array")
    return value


def _code(node: dict, key: str, pointer: str) -> str | None:
    value = node.get(key)
    if value is not None and not isinstance(value, str):
        raise _Shape(f"{pointer}/{key}", "a string")
    return value


def _codings(concept: Any, pointer: str):
    """(pointer of the coding, system, code) for each coding of a CodeableConcept."""
    if not isinstance(concept, dict):
        return
    for i, coding in enumerate(_array(concept, "coding", pointer)):
        if not isinstance(coding, dict):
            raise _Shape(f"{pointer}/coding/{i}", "a Coding object")
        at = f"{pointer}/coding/{i}"
        code = _code(coding, "code", at)
        if code is not None:
            yield at, _code(coding, "system", at), code


def _date(value: Any, pointer: str, source: str) -> _dt.date:
    """The date part of a FHIR date or dateTime; a partial date is not a day."""
    if isinstance(value, str) and len(value) >= 10:
        try:
            return _dt.date.fromisoformat(value[:10])
        except ValueError:
            pass
    raise FhirError(source, pointer, f"expected a FHIR date YYYY-MM-DD (or a dateTime), "
                                     f"got {json.dumps(value)}")


def _status_skipped(resource: dict, pointer: str = "") -> bool:
    return _code(resource, "status", pointer) in _SKIP_STATUS.get(resource.get("resourceType"), ())


def _concept_codes(resource: dict, key: str, pointer: str) -> list[dict]:
    value = resource.get(key)
    return value if isinstance(value, list) else ([value] if isinstance(value, dict) else [])


# --------------------------------------------------------------------------
# The reader


class _Reader:
    def __init__(self, doc: dict, source: str, terminology: Terminology) -> None:
        self.doc = doc
        self.source = source
        self.t = terminology
        self.index = _Index(source)
        self.patient: tuple[str, dict] | None = None
        self.patient_refs: set[str] = set()
        self.patient_facts = _Facts(source)
        self.findings = _Facts(source)
        self.request_answers = _Facts(source)
        self.imaging: list[_Entry] = []
        self.implants: list[_Entry] = []
        self.foreign_bodies: list[_Entry] = []
        # (pointer of the diagnosis element, code) from every source
        self.diagnoses: list[tuple[str, str]] = []

    # -- errors ------------------------------------------------------------
    def fail(self, pointer: str, message: str) -> FhirError:
        return FhirError(self.source, pointer, message)

    # -- the patient -------------------------------------------------------
    def set_patient(self, pointer: str, resource: dict, ref: str | None) -> None:
        self.patient = (pointer, resource)
        rid = resource.get("id")
        if ref:
            self.patient_refs.add(ref)
        if isinstance(rid, str):
            self.patient_refs.add(f"Patient/{rid}")
        for key, (p, r) in self.index.by_ref.items():
            if r is resource:
                self.patient_refs.add(key)

    def of_patient(self, resource: dict, pointer: str, key: str = "subject") -> bool:
        """Whether a resource is about the patient; another patient is bad input."""
        ref = resource.get(key)
        if ref is None:
            return True
        target = ref.get("reference") if isinstance(ref, dict) else None
        if not isinstance(target, str):
            return True
        if target in self.patient_refs or any(
                target.endswith("/" + known) for known in self.patient_refs
                if known.startswith("Patient/")):
            return True
        raise self.fail(_ptr(pointer, key), f"the resource is about {target!r}, not the "
                        f"patient of the request ({sorted(self.patient_refs)[0] if self.patient_refs else 'unknown'})")

    # -- diagnoses (F3) ----------------------------------------------------
    def diagnosis(self, concept: Any, pointer: str) -> None:
        for coding_ptr, system, code in _codings(concept, pointer):
            if system == ICD10CM:
                self.diagnoses.append((pointer, code))

    def conditions(self) -> None:
        for pointer, cond in self.index.of_type("Condition"):
            if not self.of_patient(cond, pointer):
                continue
            clinical = {c for _, s, c in _codings(cond.get("clinicalStatus"), "")}
            verification = {c for _, s, c in _codings(cond.get("verificationStatus"), "")}
            if not (clinical & _ACTIVE_CLINICAL) or (verification & _NOT_VERIFIED):
                continue
            self.diagnosis(cond.get("code"), _ptr(pointer, "code"))

    def apply_diagnoses(self) -> None:
        implant_kinds: dict[str, list[str]] = {}
        bodies: dict[str, list[tuple[str, Any, str]]] = {}
        for pointer, code in self.diagnoses:
            for container, name, value in self.t.icd10cm.get(normal_icd(code), ()):
                if container == "findings":
                    self.findings.put(name, value, pointer, f"findings.{name}")
            facts = self.t.icd10cm.get(normal_icd(code), ())
            kinds = [v for c, n, v in facts if c == "implants" and n == "kind"]
            for kind in kinds:
                implant_kinds.setdefault(kind, []).append(pointer)
            locations = [v for c, n, v in facts if c == "foreign_bodies" and n == "location"]
            for location in locations:
                metallic = [v for c, n, v in facts if c == "foreign_bodies" and n == "metallic"]
                bodies.setdefault(location, []).append(
                    (pointer, metallic[0] if metallic else None, code))
        for kind, pointers in implant_kinds.items():
            same = [e for e in self.implants if e.get("kind") == kind]
            if same:
                for entry in same[:1]:
                    entry.sources.extend(p for p in pointers if p not in entry.sources)
                continue
            entry = _Entry("implants", _Facts(self.source), [], "diagnosis")
            for p in pointers:
                entry.fields.put("kind", kind, p, "implants[].kind")
                if p not in entry.sources:
                    entry.sources.append(p)
            self.implants.append(entry)
        for location, found in bodies.items():
            same = [e for e in self.foreign_bodies if e.get("location") == location]
            if len(same) > 1:
                raise self.fail(found[0][0], f"this diagnosis of a foreign body in the "
                                f"{location} could be any of {len(same)} entries "
                                f"({', '.join(e.sources[0] for e in same)})")
            entry = same[0] if same else _Entry("foreign_bodies", _Facts(self.source), [],
                                                "diagnosis")
            for p, metallic, code in found:
                entry.fields.put("location", location, p, "foreign_bodies[].location")
                if metallic is not None:
                    entry.fields.put("metallic", metallic, p, "foreign_bodies[].metallic")
                if p not in entry.sources:
                    entry.sources.append(p)
            if not same:
                self.foreign_bodies.append(entry)

    # -- devices (F4) ------------------------------------------------------
    def devices(self) -> None:
        for pointer, device in self.index.of_type("Device"):
            if _status_skipped(device, pointer) or not self.of_patient(device, pointer,
                                                                        "patient"):
                continue
            entry = _Entry("implants", _Facts(self.source), [pointer])
            kind = "other"
            kind_ptr = pointer
            for coding_ptr, system, code in _codings(device.get("type"), _ptr(pointer, "type")):
                found = self.t.device_types.get((system, code))
                if found is not None:
                    kind, kind_ptr = found, _ptr(pointer, "type")
                    break
            if kind == "other" and isinstance(device.get("type"), dict):
                kind_ptr = _ptr(pointer, "type")
            entry.fields.put("kind", kind, kind_ptr, "implants[].kind")
            for i, concept in enumerate(_array(device, "safety", pointer)):
                for coding_ptr, system, code in _codings(concept, _ptr(pointer, "safety", i)):
                    status = self.t.mr_safety.get((system, code))
                    if status is not None:
                        entry.fields.put("mr_status", status, _ptr(pointer, "safety", i),
                                         "implants[].mr_status")
            self.implants.append(entry)

    # -- prior studies (F5) ------------------------------------------------
    def _region_of(self, resource: dict, pointer: str) -> tuple[str, str]:
        sites = resource.get("bodySite")
        sites = sites if isinstance(sites, list) else ([sites] if isinstance(sites, dict) else [])
        for i, site in enumerate(sites):
            at = _ptr(pointer, "bodySite", i) if isinstance(resource.get("bodySite"), list) \
                else _ptr(pointer, "bodySite")
            return self.body_region(site, at), at
        return "brain", pointer

    def body_region(self, concept: Any, pointer: str) -> str:
        for _, system, code in _codings(concept, pointer):
            region = self.t.body_sites.get((system, code))
            if region is not None:
                return region
        return "other"

    def studies(self) -> None:
        study_types = {"Procedure": ("code", ("performedDateTime", "performedPeriod")),
                       "ImagingStudy": ("procedureCode", ("started",)),
                       "DiagnosticReport": ("code", ("effectiveDateTime", "effectivePeriod"))}
        # union of linked resources
        parent: dict[str, str] = {}

        def find(p: str) -> str:
            while parent.setdefault(p, p) != p:
                p = parent[p]
            return p

        def link(a: str, b: str) -> None:
            parent[find(a)] = find(b)

        readable: dict[str, dict] = {}
        for rtype in study_types:
            for pointer, resource in self.index.of_type(rtype):
                if _status_skipped(resource, pointer) or not self.of_patient(resource, pointer):
                    continue
                readable[pointer] = resource
                find(pointer)
        links = {"Procedure": ("report",), "DiagnosticReport": ("imagingStudy",),
                 "ImagingStudy": ("procedureReference",)}
        for pointer, resource in readable.items():
            for key in links[resource["resourceType"]]:
                refs = resource.get(key)
                refs = refs if isinstance(refs, list) else ([refs] if refs else [])
                for i, ref in enumerate(refs):
                    at = _ptr(pointer, key, i) if isinstance(resource.get(key), list) \
                        else _ptr(pointer, key)
                    target, _ = self.index.resolve(ref, at)
                    if target in readable:
                        link(pointer, target)
        groups: dict[str, list[str]] = {}
        for pointer in readable:
            groups.setdefault(find(pointer), []).append(pointer)
        for members in groups.values():
            entry = _Entry("imaging", _Facts(self.source), [])
            coded = False
            for pointer in members:
                resource = readable[pointer]
                key, date_keys = study_types[resource["resourceType"]]
                concepts = resource.get(key)
                concepts = concepts if isinstance(concepts, list) else [concepts]
                for j, concept in enumerate(concepts):
                    at = _ptr(pointer, key, j) if isinstance(resource.get(key), list) \
                        else _ptr(pointer, key)
                    for _, system, code in _codings(concept, at):
                        study = self.t.studies.get((system, code))
                        if study is None:
                            continue
                        modality, region = study
                        region_ptr = at
                        if region == "bodySite":
                            region, region_ptr = self._region_of(resource, pointer)
                            if region_ptr == pointer:
                                region_ptr = at
                        entry.fields.put("modality", modality, at, "imaging[].modality")
                        entry.fields.put("body_region", region, region_ptr,
                                         "imaging[].body_region")
                        coded = True
                for date_key in date_keys:
                    value = resource.get(date_key)
                    if value is None:
                        continue
                    if date_key.endswith("Period"):
                        start = value.get("start") if isinstance(value, dict) else None
                        if start is None:
                            continue
                        at = _ptr(pointer, date_key, "start")
                        entry.fields.put("date", _date(start, at, self.source), at,
                                         "imaging[].date")
                    else:
                        at = _ptr(pointer, date_key)
                        entry.fields.put("date", _date(value, at, self.source), at,
                                         "imaging[].date")
                    break
                if resource["resourceType"] == "DiagnosticReport":
                    for i, concept in enumerate(_array(resource, "conclusionCode", pointer)):
                        for _, system, code in _codings(concept,
                                                        _ptr(pointer, "conclusionCode", i)):
                            result = self.t.results.get((system, code))
                            if result is not None:
                                entry.fields.put("result", result,
                                                 _ptr(pointer, "conclusionCode", i),
                                                 "imaging[].result")
                entry.sources.append(pointer)
            if not coded:
                continue  # no code of F5 among them: not a study the guideline reads
            if entry.get("date") is None:
                raise self.fail(members[0], "a prior study (a code of the prior-studies "
                                "table) needs a date: performedDateTime, performedPeriod."
                                "start, started or effectiveDateTime")
            # Two unlinked sources of the same modality, region and date are one study.
            same = [e for e in self.imaging
                    if all(e.get(n) == entry.get(n) for n in ("modality", "body_region", "date"))]
            if same:
                for name, fact in entry.fields.values.items():
                    for p in fact.pointers:
                        same[0].fields.put(name, fact.value, p, f"imaging[].{name}")
                same[0].sources.extend(entry.sources)
            else:
                self.imaging.append(entry)

    # -- the questionnaire response ----------------------------------------
    def questionnaire_responses(self) -> None:
        for pointer, qr in self.index.of_type("QuestionnaireResponse"):
            canonical = qr.get("questionnaire")
            name = canonical.split("|")[0].rstrip("/").split("/")[-1] \
                if isinstance(canonical, str) else ""
            # the guideline's questionnaire, or one of what is missing (same linkIds)
            if name != QUESTIONNAIRE_ID and not name.startswith(QUESTIONNAIRE_ID + "-missing-"):
                continue
            if _status_skipped(qr, pointer) or not self.of_patient(qr, pointer):
                continue
            self._items(_array(qr, "item", pointer), f"{pointer}/item")

    def _answer_value(self, f, answer: dict, pointer: str) -> Any:
        if f.kind == "boolean" and isinstance(answer.get("valueBoolean"), bool):
            return answer["valueBoolean"]
        if f.kind == "integer" and isinstance(answer.get("valueInteger"), int) \
                and not isinstance(answer.get("valueInteger"), bool):
            return answer["valueInteger"]
        if f.kind == "date":
            for key in ("valueDate", "valueDateTime"):
                if key in answer:
                    return _date(answer[key], _ptr(pointer, key), self.source)
        if f.kind == "choice":
            coding = answer.get("valueCoding")
            code = coding.get("code") if isinstance(coding, dict) else answer.get("valueString")
            if code in f.options:
                return code
            raise self.fail(pointer, f"{f.link_id}: expected one of "
                            f"{', '.join(map(repr, f.options))}, got {json.dumps(code)}")
        if f.kind == "string" and isinstance(answer.get("valueString"), str):
            return answer["valueString"]
        expected = {"boolean": "valueBoolean", "integer": "valueInteger",
                    "date": "valueDate", "string": "valueString"}.get(f.kind, "a value")
        raise self.fail(pointer, f"{f.link_id}: expected {expected}")

    def _answers(self, item: dict, pointer: str, f) -> list[tuple[str, Any]]:
        out = []
        for i, answer in enumerate(_array(item, "answer", pointer)):
            at = f"{pointer}/answer/{i}"
            if not isinstance(answer, dict):
                raise self.fail(at, "expected an answer object")
            out.append((at, self._answer_value(f, answer, at)))
        return out

    def _items(self, items: list, pointer: str) -> None:
        fields = field_by_link_id()
        for i, item in enumerate(items):
            at = f"{pointer}/{i}"
            if not isinstance(item, dict):
                raise self.fail(at, "expected a questionnaire response item")
            link_id = _code(item, "linkId", at)
            if link_id in GROUPS:
                self._group(link_id, item, at)
                continue
            f = fields.get(link_id)
            if f is not None and not f.in_group and f.link_id not in ("request.cpt",
                                                                      "request.date"):
                target = {"findings": self.findings, "patient": self.patient_facts,
                          "request": self.request_answers}[f.container]
                for answer_ptr, value in self._answers(item, at, f):
                    target.put(f.name, value, answer_ptr, f.link_id)
                continue
            if item.get("answer"):
                raise self.fail(_ptr(at, "linkId"), f"expected the linkId of a question of "
                                f"the guideline's questionnaire, got {json.dumps(link_id)}")
            self._items(_array(item, "item", at), f"{at}/item")

    def _group(self, group: str, item: dict, pointer: str) -> None:
        fields = field_by_link_id()
        entry = _Entry(group, _Facts(self.source), [pointer], "questionnaire",
                       pointer.split("/item/", 1)[0])
        for j, child in enumerate(_array(item, "item", pointer)):
            at = f"{pointer}/item/{j}"
            link_id = _code(child, "linkId", at) if isinstance(child, dict) else None
            f = fields.get(link_id) if link_id is not None else None
            if f is None or f.container != group:
                raise self.fail(_ptr(at, "linkId"), f"expected the linkId of a question of "
                                f"the {group} group, got {json.dumps(link_id)}")
            for answer_ptr, value in self._answers(child, at, f):
                entry.fields.put(f.name, value, answer_ptr, f.link_id)
        self._merge(entry)

    def _merge(self, entry: _Entry) -> None:
        group = entry.group
        entries = getattr(self, group)
        key = {"imaging": ("modality", "body_region", "date"), "implants": ("kind",),
               "foreign_bodies": ("location",)}[group]
        for name in key:
            if entry.get(name) is None:
                raise self.fail(entry.sources[0], f"a {group} entry of the questionnaire "
                                f"needs {group}.{name}")
        # A study is one study whoever documents it. An implant or a foreign body of
        # a questionnaire response is the one entry of its kind or location that a
        # resource, a diagnosis or another response documents; two entries of one
        # response are two implants.
        same = [e for e in entries if all(e.get(n) == entry.get(n) for n in key)
                and (group == "imaging" or e.origin != "questionnaire"
                     or e.response != entry.response)]
        if not same:
            entries.append(entry)
            return
        if len(same) > 1 and group != "imaging":
            raise self.fail(entry.sources[0], f"this {group} entry ({key[0]} "
                            f"{entry.get(key[0])}) could be any of {len(same)} entries "
                            f"({', '.join(e.sources[0] for e in same)}): cannot tell "
                            "which one it documents")
        target = same[0]
        for name, fact in entry.fields.values.items():
            for p in fact.pointers:
                target.fields.put(name, fact.value, p, f"{group}[].{name}")
        target.sources.extend(entry.sources)

    # -- one requested item ------------------------------------------------
    def request(self, cpt_concept: Any, cpt_ptr: str, date: tuple[Any, str] | None,
                sites: Any, sites_ptr: str, item_ptr: str) -> tuple[dict, dict, dict]:
        req = _Facts(self.source)
        notes: dict[str, str] = {}
        cpts = [(p, c) for p, s, c in _codings(cpt_concept, cpt_ptr) if s == CPT]
        if cpts:
            for p, code in cpts:
                req.put("cpt", code, p, "request.cpt")
        else:
            first = next(iter(_codings(cpt_concept, cpt_ptr)), None)
            if first is None:
                raise self.fail(cpt_ptr, "expected a CodeableConcept with a coding "
                                "(CPT: http://www.ama-assn.org/go/cpt)")
            p, system, code = first
            req.put("cpt", f"{system}|{code}", p, "request.cpt")
            notes["/request/cpt"] = "no CPT coding: the first coding, system|code"
        if date is None:
            raise self.fail(item_ptr, "the requested service needs a date")
        value, at = date
        req.put("date", _date(value, at, self.source), at, "request.date")
        if sites:
            sites_list = sites if isinstance(sites, list) else [sites]
            for i, site in enumerate(sites_list):
                at = _ptr(sites_ptr, i) if isinstance(sites, list) else sites_ptr
                req.put("body_region", self.body_region(site, at), at, "request.body_region")
        for name, fact in self.request_answers.values.items():
            for p in fact.pointers:
                req.put(name, fact.value, p, f"request.{name}")
        if "body_region" not in req.values:
            req.put("body_region", "brain", item_ptr, "request.body_region")
            notes["/request/body_region"] = BRAIN_DEFAULT
        return {k: f.value for k, f in req.values.items()}, \
            {_pointer(["request", k]): f.pointers for k, f in req.values.items()}, notes

    def case(self, case_id: str, request: tuple[dict, dict, dict], item_ptr: str,
             document_key: int, kind: str) -> FhirCase:
        values, provenance, notes = request
        data: dict[str, Any] = {"id": case_id, "request": dict(values)}
        provenance = dict(provenance)
        patient = {k: f.value for k, f in self.patient_facts.values.items()}
        for k, f in self.patient_facts.values.items():
            provenance[_pointer(["patient", k])] = list(f.pointers)
        if self.patient is not None:
            birth = self.patient[1].get("birthDate")
            if birth is not None:
                at = _ptr(self.patient[0], "birthDate")
                born = _date(birth, at, self.source)
                day = values["date"]
                years = day.year - born.year - ((day.month, day.day) < (born.month, born.day))
                ages = {"age_years": years}
                if years == 0:
                    ages["age_days"] = (day - born).days
                for name, age in ages.items():
                    if age < 0:
                        raise self.fail(at, f"the patient is born after the requested "
                                        f"service date {day.isoformat()}")
                    given = patient.get(name)
                    if given is not None and given != age:
                        raise self.fail(at, f"gives patient.{name} = {age}, but "
                                        f"{provenance[f'/patient/{name}'][0]} documents {given}: "
                                        "conflicting sources")
                    patient[name] = age
                    provenance.setdefault(_pointer(["patient", name]), []).append(at)
        if patient:
            data["patient"] = patient
        findings = {k: f.value for k, f in self.findings.values.items()}
        for k, f in self.findings.values.items():
            provenance[_pointer(["findings", k])] = list(f.pointers)
        if findings:
            data["findings"] = findings
        for group in GROUPS:
            entries = getattr(self, group)
            if not entries:
                continue
            data[group] = []
            for i, entry in enumerate(entries):
                data[group].append({k: f.value for k, f in entry.fields.values.items()})
                provenance[_pointer([group, i])] = list(entry.sources)
                for k, f in entry.fields.values.items():
                    provenance[_pointer([group, i, k])] = list(f.pointers)
        try:
            model = case_from_data(data, self.source)
        except CaseError as err:
            pointers = _closest(provenance, err.pointer) or [item_ptr]
            what = ".".join(_parts(err.pointer)) or "case"
            raise FhirError(self.source, pointers[0], f"{what}: {err.message}") from None
        return FhirCase(self.source, model, None, document=self.doc, fhir_kind=kind,
                        item_pointer=item_ptr, provenance=provenance, notes=notes,
                        document_key=document_key)

    # -- the two inputs ----------------------------------------------------
    def patient_level(self) -> None:
        self.devices()
        self.studies()
        self.questionnaire_responses()
        self.conditions()
        self.apply_diagnoses()

    def pas(self, document_key: int) -> list[FhirCase]:
        doc = self.doc
        for i, entry in enumerate(_array(doc, "entry", "")):
            if not isinstance(entry, dict):
                raise self.fail(_ptr("", "entry", i), "expected a Bundle entry object")
            self.index.add(_pointer(["entry", i, "resource"]), entry.get("resource"),
                           entry.get("fullUrl"))
        claim_ptr = "/entry/0/resource"
        claim = doc["entry"][0]["resource"]
        if "patient" not in claim:
            raise self.fail(claim_ptr, "the Claim needs a patient")
        pointer, patient = self.index.resolve(claim["patient"], _ptr(claim_ptr, "patient"))
        if patient.get("resourceType") != "Patient":
            raise self.fail(_ptr(claim_ptr, "patient"), "expected a reference to a Patient")
        self.set_patient(pointer, patient, claim["patient"].get("reference"))
        if not self.of_patient(claim, claim_ptr, "patient"):
            pass
        for j, diagnosis in enumerate(_array(claim, "diagnosis", claim_ptr)):
            at = _ptr(claim_ptr, "diagnosis", j)
            if not isinstance(diagnosis, dict):
                raise self.fail(at, "expected a diagnosis object")
            if "diagnosisReference" in diagnosis:
                self.index.resolve(diagnosis["diagnosisReference"],
                                   _ptr(at, "diagnosisReference"))
            self.diagnosis(diagnosis.get("diagnosisCodeableConcept"), at)
        for j, info in enumerate(_array(claim, "supportingInfo", claim_ptr)):
            if isinstance(info, dict) and "valueReference" in info:
                self.index.resolve(info["valueReference"],
                                   _ptr(claim_ptr, "supportingInfo", j, "valueReference"))
        self.patient_level()
        identifiers = _array(claim, "identifier", claim_ptr)
        base = identifiers[0].get("value") if identifiers and isinstance(identifiers[0], dict) \
            else None
        base = base or claim.get("id")
        if not isinstance(base, str) or not base:
            raise self.fail(claim_ptr, "the Claim needs an identifier[0].value or an id "
                            "(it names the cases)")
        items = claim.get("item")
        if not isinstance(items, list) or not items:
            raise self.fail(_ptr(claim_ptr, "item"), "expected at least one Claim.item")
        out = []
        for i, item in enumerate(items):
            at = _ptr(claim_ptr, "item", i)
            if not isinstance(item, dict):
                raise self.fail(at, "expected a Claim.item object")
            if "servicedDate" in item:
                date = (item["servicedDate"], _ptr(at, "servicedDate"))
            elif isinstance(item.get("servicedPeriod"), dict) and \
                    "start" in item["servicedPeriod"]:
                date = (item["servicedPeriod"]["start"], _ptr(at, "servicedPeriod", "start"))
            else:
                raise self.fail(at, "expected servicedDate or servicedPeriod.start "
                                "(the date of the requested service)")
            if "productOrService" not in item:
                raise self.fail(at, "expected productOrService")
            request = self.request(item["productOrService"], _ptr(at, "productOrService"),
                                   date, item.get("bodySite"), _ptr(at, "bodySite"), at)
            out.append(self.case(f"{base}/{item.get('sequence', i + 1)}", request, at,
                                 document_key, "pas"))
        return out

    def crd(self, document_key: int) -> list[FhirCase]:
        doc = self.doc
        orders_ptr = "/context/draftOrders"
        self.index.add(orders_ptr, doc["context"]["draftOrders"])
        prefetch = doc.get("prefetch")
        if isinstance(prefetch, dict):
            for key, value in prefetch.items():
                self.index.add(_ptr("/prefetch", key), value)
        patient_id = doc["context"].get("patientId")
        if not isinstance(patient_id, str) or not patient_id:
            raise self.fail("/context/patientId", "expected the patient's id")
        found = self.index.by_ref.get(f"Patient/{patient_id}")
        if found is not None:
            self.set_patient(found[0], found[1], None)
        self.patient_refs.add(f"Patient/{patient_id}")
        orders = [(p, r) for p, r in self.index.resources
                  if p.startswith(orders_ptr + "/") and r.get("resourceType") == "ServiceRequest"]
        if not orders:
            raise self.fail(orders_ptr, "expected at least one ServiceRequest in draftOrders")
        for pointer, order in orders:
            self.of_patient(order, pointer)
            for j, concept in enumerate(_array(order, "reasonCode", pointer)):
                self.diagnosis(concept, _ptr(pointer, "reasonCode", j))
            for j, ref in enumerate(_array(order, "reasonReference", pointer)):
                self.index.resolve(ref, _ptr(pointer, "reasonReference", j))
        # Prior studies, devices, conditions: only from the prefetch (draft orders
        # are what is requested, not what was done).
        self.index.by_type = {t: [(p, r) for p, r in found
                                  if not p.startswith(orders_ptr + "/") or t == "ServiceRequest"]
                              for t, found in self.index.by_type.items()}
        self.patient_level()
        out = []
        for pointer, order in orders:
            sid = order.get("id")
            if not isinstance(sid, str) or not sid:
                raise self.fail(pointer, "a draft ServiceRequest needs an id (it names the "
                                "case and the systemAction that updates it)")
            if "occurrenceDateTime" in order:
                date = (order["occurrenceDateTime"], _ptr(pointer, "occurrenceDateTime"))
            elif isinstance(order.get("occurrencePeriod"), dict) and \
                    "start" in order["occurrencePeriod"]:
                date = (order["occurrencePeriod"]["start"],
                        _ptr(pointer, "occurrencePeriod", "start"))
            elif "authoredOn" in order:
                date = (order["authoredOn"], _ptr(pointer, "authoredOn"))
            else:
                raise self.fail(pointer, "expected occurrenceDateTime, occurrencePeriod.start "
                                "or authoredOn (the date of the requested service)")
            if "code" not in order:
                raise self.fail(pointer, "expected the ServiceRequest's code")
            request = self.request(order["code"], _ptr(pointer, "code"), date,
                                   order.get("bodySite"), _ptr(pointer, "bodySite"), pointer)
            out.append(self.case(sid, request, pointer, document_key, "crd"))
        return out


def _closest(provenance: dict[str, list[str]], pointer: str) -> list[str]:
    while pointer:
        if pointer in provenance:
            return provenance[pointer]
        pointer = pointer.rsplit("/", 1)[0]
    return []


_documents = iter(range(1, 1 << 62))
_decode = msgspec.json.Decoder().decode


def read(doc: Any, source: str = "(fhir)", terminology: Terminology | None = None
         ) -> list[FhirCase]:
    """The derived cases of one FHIR input (a PAS request Bundle or a CDS Hooks
    order-sign / order-select request), in the order of its items.

    Raises :class:`FhirError` (a :class:`~mrs_asp.cases.CaseError`) for bad
    input: the message names the JSON Pointer into ``doc``.
    """
    kind = kind_of(doc)
    if kind is None:
        raise FhirError(source, "", _not_ours(doc) if isinstance(doc, dict)
                        else "expected a JSON object")
    reader = _Reader(doc, source, terminology or load())
    key = next(_documents)
    try:
        return reader.pas(key) if kind == "pas" else reader.crd(key)
    except FhirError:
        raise
    except _Shape as shape:
        raise FhirError(source, shape.pointer, f"expected {shape.expected}") from None
    except (AttributeError, TypeError, KeyError, IndexError) as exc:
        # a structure this reader does not expect (a string where FHIR has an object)
        raise FhirError(source, "", f"not a well-formed FHIR input ({type(exc).__name__}: "
                        f"{exc})") from None


def read_bytes(data: bytes, source: str, expected: dict | None = None
               ) -> list[FhirCase] | None:
    """``read`` on JSON text; None when the text is not a FHIR input at all (then it
    is read as a case). ``expected`` maps case ids to their ``expected`` answers."""
    # A FHIR input is thousands of small objects and no reference cycles: the
    # collector would only scan them (it took about half of the reading time).
    enabled = gc.isenabled()
    gc.disable()
    try:
        try:
            doc = _decode(data)
        except (msgspec.DecodeError, RecursionError):
            return None
        if not _looks_fhir(doc):
            return None
        cases = read(doc, source)
    finally:
        if enabled:
            gc.enable()
    if expected:
        unknown = sorted(set(expected) - {c.id for c in cases})
        if unknown:
            raise FhirError(source, "", f"the expected answers name {', '.join(unknown)}, "
                            f"which the input does not request (its cases: "
                            f"{', '.join(c.id for c in cases)})")
        from ..cases import Expected
        for c in cases:
            if c.id in expected:
                c.case = msgspec.structs.replace(c.case, expected=msgspec.convert(
                    expected[c.id], Expected))
    return cases
