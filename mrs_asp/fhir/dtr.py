"""The guideline's DTR Questionnaire (FHIR.md F1), generated, never written by hand.

The items come from the case vocabulary (:func:`mrs_asp.fhir.fields.case_fields`:
linkId, type, options, meaning); which criterion reads each field, and when a
question is asked at all (``enableWhen``), is data in ``kb/`` beside the
criterion that creates it, one comment line per question::

    % DTR ask findings.glioma_grading for glioma_grading when findings.glioma=true ...

(``for``: the criteria whose words the item carries; ``when``: the answers
that enable it, any one of them). A line names a field of the vocabulary or
one of the repeated groups (``imaging``, ``implants``, ``foreign_bodies``),
whose fields are asked inside each entry.

``questionnaire(case=..., answer=...)`` is the questionnaire of what is
missing for one case: only the items some alternative of ``missing`` fills,
with the same linkIds, the operations required in every way first (group
``missing.required``), then those of the alternatives (group
``missing.one-of``); a choice offers only the values the alternatives need.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..kb import GUIDELINE_VERSION, KnowledgeBaseError
from .fields import GROUPS, Field, case_fields, field_by_link_id

__all__ = ["DEFAULT_BASE", "Question", "dtr_questions", "missing_url", "questionnaire",
           "questionnaire_url", "DTR_PROFILE"]

DEFAULT_BASE = "http://example.org/mrs-asp"
DTR_PROFILE = "http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/dtr-std-questionnaire"
QUESTIONNAIRE_ID = "mrs-76390"

_LINE = re.compile(r"^%\s*DTR\s+ask\s+(?P<link>\S+)\s+for\s+(?P<criteria>\S+)"
                   r"(?:\s+when\s+(?P<when>.+?))?\s*$")


@dataclass(frozen=True)
class Question:
    link_id: str
    criteria: tuple[str, ...]
    enable_when: tuple[tuple[str, object], ...]   # (linkId, answer): any one enables it
    location: str


def _value(link_id: str, text: str, where: str):
    field = field_by_link_id().get(link_id)
    if field is None:
        raise KnowledgeBaseError(f"{where}: 'when {link_id}=...' names no case field")
    if field.kind == "boolean" and text in ("true", "false"):
        return text == "true"
    if field.kind == "choice" and text in field.options:
        return text
    raise KnowledgeBaseError(f"{where}: {link_id} cannot be answered {text!r}")


@lru_cache(maxsize=8)
def _questions(directory: Path, files: tuple[Path, ...]) -> dict[str, Question]:
    from ..kb import KnowledgeBase
    criteria = KnowledgeBase(directory).criteria
    fields = field_by_link_id()
    out: dict[str, Question] = {}
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not re.match(r"^%\s*DTR\s+ask\b", line):
                continue
            where = f"{path}:{number}"
            match = _LINE.match(line)
            if match is None:
                raise KnowledgeBaseError(f"{where}: expected '% DTR ask FIELD for CRITERION"
                                         "[,CRITERION] [when FIELD=VALUE ...]'")
            link = match["link"]
            if link not in fields and link not in GROUPS:
                raise KnowledgeBaseError(f"{where}: {link} is no case field")
            named = tuple(match["criteria"].split(","))
            for cid in named:
                if cid not in criteria:
                    raise KnowledgeBaseError(f"{where}: {cid} is no criterion of the KB")
            when = []
            for condition in (match["when"] or "").split():
                on, sep, value = condition.partition("=")
                if not sep:
                    raise KnowledgeBaseError(f"{where}: expected FIELD=VALUE, got {condition!r}")
                when.append((on, _value(on, value, where)))
            if link in out:
                raise KnowledgeBaseError(f"{where}: {link} is asked twice "
                                         f"(also at {out[link].location})")
            out[link] = Question(link, named, tuple(when), where)
    return out


def dtr_questions(kb=None) -> dict[str, Question]:
    """The questions the KB asks, by linkId (fields and groups), in reading order."""
    from ..answer import engine_for
    knowledge = engine_for(kb).kb
    return _questions(knowledge.directory, tuple(knowledge.files))


def _version(kb) -> str:
    from ..answer import engine_for
    return f"{GUIDELINE_VERSION}+{engine_for(kb).kb.fingerprint[:12]}"


def questionnaire_url(base: str = DEFAULT_BASE, kb=None) -> str:
    """The canonical of the guideline's questionnaire, with its version."""
    return f"{base}/Questionnaire/{QUESTIONNAIRE_ID}|{_version(kb)}"


def missing_url(base: str, digest: str) -> str:
    return f"{base}/Questionnaire/{QUESTIONNAIRE_ID}-missing-{digest}"


def _words(question: Question | None, kb) -> list[str]:
    if question is None:
        return []
    from ..answer import engine_for
    criteria = engine_for(kb).kb.criteria
    return [f"{cid}: \"{criteria[cid].text}\"" for cid in question.criteria]


def _type(field: Field) -> str:
    return {"boolean": "boolean", "date": "date", "integer": "integer", "choice": "choice",
            "string": "string"}[field.kind]


def _coding(base: str, field: Field, code: str) -> dict:
    return {"system": f"{base}/CodeSystem/{field.link_id}", "code": code,
            "display": code.replace("_", " ")}


def _item(field: Field, base: str, question: Question | None, kb, asked: set[str],
          options: list | None = None) -> dict:
    item: dict = {"linkId": field.link_id, "text": field.text[:1].upper() + field.text[1:],
                  "type": _type(field)}
    if question is not None:
        item["code"] = [{"system": f"{base}/CodeSystem/criterion", "code": cid}
                        for cid in question.criteria]
    if field.kind == "choice":
        values = options if options is not None else list(field.options)
        item["answerOption"] = [{"valueCoding": _coding(base, field, v)} for v in values]
    if field.in_group and field.required:
        item["required"] = True
    if question is not None and question.enable_when:
        conditions = [(on, value) for on, value in question.enable_when if on in asked]
        if conditions:
            item["enableWhen"] = []
            for on, value in conditions:
                target = field_by_link_id()[on]
                answer = {"answerBoolean": value} if target.kind == "boolean" else \
                    {"answerCoding": _coding(base, target, value)}
                item["enableWhen"].append({"question": on, "operator": "=", **answer})
            if len(conditions) > 1:
                item["enableBehavior"] = "any"
    words = _words(question, kb)
    if words:
        item["item"] = [{"linkId": f"{field.link_id}.guideline", "type": "display",
                         "text": "Guideline: " + " / ".join(words)}]
    return item


def _group(group: str, children: list[dict], question: Question | None, kb,
           text: str | None = None) -> dict:
    item = {"linkId": group, "type": "group", "repeats": True,
            "text": text or {"imaging": "Prior imaging studies (one entry per study)",
                             "implants": "Implants (one entry per implant)",
                             "foreign_bodies": "Foreign bodies (one entry per foreign body)"
                             }[group],
            "item": children}
    words = _words(question, kb)
    if words:
        item["item"] = children + [{"linkId": f"{group}.guideline", "type": "display",
                                    "text": "Guideline: " + " / ".join(words)}]
    return item


def _asked_fields(kb) -> tuple[list[Field], dict[str, Question]]:
    """The vocabulary's fields the rules read (but what the order documents),
    with the KB's questions; an asked field the KB says nothing of is an error
    (its item would carry no guideline words)."""
    questions = dtr_questions(kb)
    fields = [f for f in case_fields() if f.asked]
    for f in fields:
        if (f.container if f.in_group else f.link_id) not in questions:
            raise KnowledgeBaseError(f"kb/: no '% DTR ask {f.container if f.in_group else f.link_id}"
                                     " for CRITERION' line: which criterion reads it?")
    return fields, questions


def _base_resource(qid: str, url: str, title: str, kb) -> dict:
    return {"resourceType": "Questionnaire", "id": qid,
            "meta": {"profile": [DTR_PROFILE]},
            "url": url, "version": _version(kb), "name": re.sub(r"[^A-Za-z0-9]", "", title)[:60],
            "title": title, "status": "active", "subjectType": ["Patient"]}


def questionnaire(*, case=None, answer=None, base: str = DEFAULT_BASE, kb=None) -> dict:
    """The guideline's Questionnaire; with ``case`` and its ``answer``, the
    questionnaire of what is missing for that case."""
    if case is not None:
        return _missing(case, answer, base, kb)
    fields, questions = _asked_fields(kb)
    asked = {f.link_id for f in fields}
    items: list[dict] = []
    for f in fields:
        if f.in_group:
            continue
        items.append(_item(f, base, questions.get(f.link_id), kb, asked))
    for group in GROUPS:
        if group not in questions:
            continue
        children = [_item(f, base, None, kb, asked) for f in fields if f.container == group]
        items.append(_group(group, children, questions[group], kb))
    resource = _base_resource(QUESTIONNAIRE_ID, f"{base}/Questionnaire/{QUESTIONNAIRE_ID}",
                              "Magnetic Resonance (MR) Spectroscopy (CPT 76390) documentation",
                              kb)
    resource["item"] = items
    return resource


def _missing(case, answer, base: str, kb) -> dict:
    from .cite import answers_of_patch
    if answer is None:
        raise ValueError("the questionnaire of what is missing needs the case's answer")
    if not answer.missing:
        raise ValueError(f"{answer.id}: {answer.determination}: nothing is missing that "
                         "documentation could supply, so there is no questionnaire of it")
    fields = field_by_link_id()
    questions = dtr_questions(kb)
    required_keys = {json.dumps(op, sort_keys=True) for op in answer.required}
    model = getattr(case, "case", case)

    def collect(ops) -> list[dict]:
        """Items for the answers of ``ops``: questions once, groups per entry."""
        by_link: dict[str, list] = {}
        order: list[str] = []
        groups: dict[str, dict[str, list]] = {}
        for a in answers_of_patch(list(ops), model):
            if "item" in a:
                group = groups.setdefault(a["linkId"], {})
                if a["linkId"] not in order:
                    order.append(a["linkId"])
                for child in a["item"]:
                    values = group.setdefault(child["linkId"], [])
                    if child["value"] not in values:
                        values.append(child["value"])
                continue
            values = by_link.setdefault(a["linkId"], [])
            if a["linkId"] not in order:
                order.append(a["linkId"])
            if a["value"] not in values:
                values.append(a["value"])
        out = []
        for link in order:
            if link in groups:
                children = []
                for child, values in groups[link].items():
                    f = fields[child]
                    children.append(_item(f, base, None, kb, set(),
                                          [v for v in values] if f.kind == "choice" else None))
                out.append(_group(link, children, questions.get(link), kb))
            else:
                f = fields[link]
                out.append(_item(f, base, questions.get(link), kb, set(),
                                 by_link[link] if f.kind == "choice" else None))
        return out

    required_ops = list(answer.required)
    other_ops = []
    for alternative in answer.missing:
        for op in alternative["patch"]:
            key = json.dumps(op, sort_keys=True)
            if key not in required_keys and op not in other_ops:
                other_ops.append(op)
    items = []
    if required_ops:
        items.append({"linkId": "missing.required", "type": "group",
                      "text": "Required in every way to approval", "item": collect(required_ops)})
    if other_ops:
        text = ("And one of the following ways (each way is listed in the payer's note)"
                if required_ops else "One of the following ways (each way is listed in the "
                "payer's note)")
        items.append({"linkId": "missing.one-of", "type": "group", "text": text,
                      "item": collect(other_ops)})
    digest = hashlib.sha256(json.dumps([_version(kb), model.id, answer.missing],
                                       sort_keys=True, default=str).encode()).hexdigest()[:16]
    resource = _base_resource(f"{QUESTIONNAIRE_ID}-missing-{digest}", missing_url(base, digest),
                              f"MR Spectroscopy (CPT 76390): what is missing for {model.id}", kb)
    resource["name"] = f"MRSpectroscopyMissing{digest}"
    resource["derivedFrom"] = [f"{base}/Questionnaire/{QUESTIONNAIRE_ID}|{_version(kb)}"]
    resource["item"] = [i for i in items if i["item"]]
    return resource
