"""The one declaration of the case vocabulary (mrs_asp/vocabulary.py) and
everything derived from it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from clingo import Function, Number

from mrs_asp import vocabulary
from mrs_asp.abduce import fill_operation
from mrs_asp.cases import Case, case_from_data, case_json_schema
from mrs_asp.facts import INPUT_PREDICATES, feed_program
from mrs_asp.space import space_program, witness_case

ROOT = Path(__file__).resolve().parents[1]
CASE = {"id": "v", "request": {"cpt": "76390", "date": "2026-03-02", "body_region": "brain"}}


def test_success_every_schema_property_is_a_declared_field() -> None:
    schema = case_json_schema()
    declared = {f.link_id for f in vocabulary.fields()} | {
        f.link_id for f in vocabulary.fields("expected")}
    found = set(schema["properties"]) - set(vocabulary.GROUPS)
    for name, g in vocabulary.GROUPS.items():
        found |= {f"{name}.{p}" for p in schema["$defs"][g.model]["properties"]}
    assert found == declared
    for f in vocabulary.fields():
        if f.group is None:
            continue
        prop = schema["$defs"][vocabulary.GROUPS[f.group].model]["properties"][f.name]
        assert prop["description"] == f.description
        if f.type == "enum":
            assert sorted(prop["enum"]) == sorted(f.values)


def test_success_fields_give_what_a_questionnaire_needs() -> None:
    """FHIR.md F1: one item per field the rules read, dotted linkIds, repeating groups."""
    items = list(vocabulary.fields(facts_only=True))
    ids = [f.link_id for f in items]
    assert "findings.glioma" in ids and "patient.pregnant" in ids and "request.contrast" in ids
    assert "request.setting" not in ids and "title" not in ids  # never reasoned on
    assert [g for g, group in vocabulary.GROUPS.items() if group.repeats] == [
        "imaging", "implants", "foreign_bodies"]
    assert {f.link_id for f in vocabulary.fields("imaging")} == {
        "imaging.modality", "imaging.body_region", "imaging.date", "imaging.result"}
    assert all(f.type in ("string", "date", "integer", "boolean", "enum") for f in items)
    assert all(f.description for f in items)
    assert vocabulary.field("findings.symptoms").fills == ("new", "worsening")
    assert vocabulary.field("implants.mr_status").undocumented == ("unknown",)
    assert vocabulary.field("implants.mr_status").pointer(1) == "/implants/1/mr_status"


def test_success_input_predicates_are_those_of_00_case_facts() -> None:
    text = (ROOT / "kb" / "00_case_facts.lp").read_text()
    declared = set(re.findall(r"#defined (\w+)/\d+\.", text))
    vocab = {name for name, _ in vocabulary.vocabulary_facts()}
    assert declared == set(INPUT_PREDICATES) | vocab


def test_success_fillings_become_their_fields_operations() -> None:
    case = case_from_data({**CASE, "implants": [{"kind": "pacemaker"}]})
    assert fill_operation(Function("finding", [Function("glioma"), Function("true")]),
                          case) == {"op": "add", "path": "/findings/glioma", "value": True}
    assert fill_operation(Function("imaging_result", [Number(2), Function("inconclusive")]),
                          case) == {"op": "add", "path": "/imaging/2/result",
                                    "value": "inconclusive"}
    assert fill_operation(Function("append", [Function("imaging")]), case) == {
        "op": "add", "path": "/imaging/-",
        "value": {"modality": "MRI", "body_region": "brain", "date": "2026-03-02",
                  "result": "inconclusive"}}


def test_success_witness_is_a_valid_case_in_declaration_order() -> None:
    symbols = [Function("imaging", [Number(0), Number(0), Function("mri"), Function("spine"),
                                    Number(909)]),
               Function("finding", [Number(0), Function("symptoms"), Function("new")]),
               Function("implant_mr_status", [Number(0), Number(0), Function("unknown")]),
               Function("implant", [Number(0), Number(0), Function("aneurysm_clip")])]
    case = witness_case(symbols, "w")
    assert case["imaging"] == [{"modality": "MRI", "body_region": "spine",
                                "date": "2026-03-02"}]
    assert case["implants"] == [{"kind": "aneurysm_clip", "mr_status": "unknown"}]
    assert case["findings"] == {"symptoms": "new"}
    assert isinstance(case_from_data(case), Case)


_EXTEND = r'''
import json, sys
from clingo import Control, Function, Number
from mrs_asp import vocabulary
from mrs_asp.abduce import fill_operation
from mrs_asp.answer import decide
from mrs_asp.cases import case_from_data, case_json_schema
from mrs_asp.facts import CaseFeed, feed_statements
from mrs_asp.space import space_program, witness_case
from mrs_asp.kb import KnowledgeBase, default_kb_dir

out = {}
schema = case_json_schema()
out["schema"] = "cochlear_stimulator" in schema["$defs"]["Implant"]["properties"]["kind"]["enum"]
out["questionnaire"] = "cochlear_stimulator" in vocabulary.field("implants.kind").values
case = case_from_data({"id": "x", "request": {"cpt": "76390", "date": "2026-03-02",
                       "body_region": "brain"},
                       "implants": [{"kind": "cochlear_stimulator", "metallic": True}],
                       "findings": {"symptoms": "fluctuating"}})
out["facts"] = sorted(str(a) for a in CaseFeed([case]).atoms() if a.name in ("implant", "finding"))
answer = decide([case])[0]
out["decided"] = [answer.determination, answer.non_indications]
out["space"] = 'space_value("implants.kind", cochlear_stimulator)' in space_program()
out["witness"] = witness_case([Function("implant", [Number(0), Number(0),
                                                    Function("cochlear_stimulator")])], "w")["implants"]
out["fill"] = fill_operation(Function("finding", [Function("symptoms"), Function("fluctuating")]),
                             case)
# The abduction's fillings: a case without symptoms may have them filled "fluctuating".
kb = KnowledgeBase(default_kb_dir())
ctl = kb.control("abduce")
from clingo import ast
with ast.ProgramBuilder(ctl) as builder:
    for st in feed_statements():
        builder.add(st)
bare = case_from_data({"id": "y", "request": {"cpt": "76390", "date": "2026-03-02",
                       "body_region": "brain"}})
ctl.ground([("base", [])], context=CaseFeed([bare]))
out["fillable"] = sorted(str(a.symbol) for a in ctl.symbolic_atoms.by_signature("fillable", 2)
                         if "symptoms" in str(a.symbol))
print(json.dumps(out))
'''


def test_success_one_new_enum_value_in_the_declaration_reaches_everything(tmp_path) -> None:
    """Adding an implant kind and a fillable symptoms value to vocabulary.py
    alone reaches the schema, the questionnaire fields, the facts, the KB's
    decision, the case space and its witnesses, the fillings and their patches."""
    shutil.copytree(ROOT / "mrs_asp", tmp_path / "mrs_asp",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "kb", tmp_path / "kb")
    source = tmp_path / "mrs_asp" / "vocabulary.py"
    text = source.read_text()
    text = text.replace('"aneurysm_clip", "orthopedic", "other")',
                        '"aneurysm_clip", "orthopedic", "other", "cochlear_stimulator")')
    text = text.replace('("new", "worsening", "unchanged"), fact="finding", keyed=True,\n'
                        '          fills=("new", "worsening")),',
                        '("new", "worsening", "unchanged", "fluctuating"), fact="finding",'
                        ' keyed=True,\n          fills=("new", "worsening", "fluctuating")),')
    assert text.count("cochlear_stimulator") == 1 and text.count("fluctuating") == 2
    source.write_text(text)
    run = subprocess.run([sys.executable, "-c", _EXTEND], cwd=tmp_path, capture_output=True,
                         text=True, env={"PYTHONPATH": str(tmp_path), "MRS_ASP_KB": str(tmp_path / "kb")})
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["schema"] and out["questionnaire"] and out["space"]
    assert out["facts"] == ["finding(0,symptoms,fluctuating)", "implant(0,0,cochlear_stimulator)"]
    # an implant of another kind, metallic, MR status not documented: incompatible_implant
    assert out["decided"] == ["denied", ["incompatible_implant"]]
    assert out["witness"] == [{"kind": "cochlear_stimulator"}]
    assert out["fill"] == {"op": "add", "path": "/findings/symptoms", "value": "fluctuating"}
    assert "fillable(0,finding(symptoms,fluctuating))" in out["fillable"]


def test_success_feed_and_space_cover_every_input_predicate() -> None:
    fed = set(re.findall(r"^(\w+)\(Case", feed_program(), re.M))
    assert fed == set(INPUT_PREDICATES)
    spaced = set(re.findall(r"(\w+)\(0[,)]", space_program()))
    assert spaced == set(INPUT_PREDICATES)
