"""Property-based tests of the contract (SPEC sections 3 and 4).

Each test draws a list of cases (tests/strategies.py) and decides them in as
few ``decide`` calls as it can: the knowledge base is grounded once per call,
so every reduced, patched or brute-forced variant of every case of an example
goes into one batch.

Conventions used throughout:

* A *documented fact* (SPEC section 3) is a leaf of ``findings`` or
  ``patient`` -- ``("findings", "glioma")`` -- or a whole entry of
  ``imaging``, ``implants`` or ``foreign_bodies`` -- ``("implants", 0)``.
  Indexes are always those of the case as given: ``materialize`` rebuilds a
  reduced case from the original, so no re-indexing bookkeeping is needed
  when entries are dropped.
* An operation of a patch is compared by ``(path, json value)``.
"""

from __future__ import annotations

import copy
import itertools
import json

import jsonpatch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mrs_asp.explain import walk
from mrs_asp import decide
from mrs_asp.answer import engine_for
from mrs_asp.case_errors import CaseError
from mrs_asp.cases import NON_INDICATIONS, Case
from mrs_asp.loading import case_from_data

from strategies import BOOLEAN_FINDINGS, cases, small_cases

PROPERTY = settings(
    deadline=None,
    derandomize=True,  # CI runs the same examples every time
    database=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

LEAF_CONTAINERS = ("findings", "patient")
ENTRY_CONTAINERS = ("imaging", "implants", "foreign_bodies")
CONVENTIONAL = ("MRI", "CT")


# ----------------------------------------------------------------------------
# helpers


def model(d: dict) -> Case:
    return case_from_data(d)


def with_ids(dicts: list[dict], prefix: str = "c") -> list[dict]:
    out = []
    for i, d in enumerate(dicts):
        d = copy.deepcopy(d)
        d["id"] = f"{prefix}{i}"
        out.append(d)
    return out


def dump(d: dict) -> str:
    return json.dumps(d, sort_keys=True)


def evidence_of(explanation: dict) -> set[str]:
    return {p for node in walk(explanation) for p in node["evidence"]}


def split(pointer: str) -> list[str]:
    assert pointer.startswith("/"), pointer
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer[1:].split("/")]


def fact_of(pointer: str):
    """The documented fact a pointer falls in, or None (request, id, ...)."""
    parts = split(pointer)
    if parts[0] in LEAF_CONTAINERS and len(parts) >= 2:
        return (parts[0], parts[1])
    if parts[0] in ENTRY_CONTAINERS and len(parts) >= 2 and parts[1].isdigit():
        return (parts[0], int(parts[1]))
    return None


def subfield_of(pointer: str):
    """(container, index, field) for a pointer into a field of an entry, else None."""
    parts = split(pointer)
    if parts[0] in ENTRY_CONTAINERS and len(parts) == 3 and parts[1].isdigit():
        return (parts[0], int(parts[1]), parts[2])
    return None


def materialize(case: dict, keep: set, drop_fields: frozenset = frozenset()) -> dict:
    """The case reduced to the documented facts ``keep`` (original indexes).

    ``request``, ``id`` and ``title`` stay. ``drop_fields`` holds
    (container, original index, field) triples deleted from kept entries.
    Containers left empty are left out (empty and absent read the same).
    """
    out = {k: copy.deepcopy(case[k]) for k in ("id", "title", "request") if k in case}
    for container in LEAF_CONTAINERS:
        leaves = {k: v for k, v in case.get(container, {}).items() if (container, k) in keep}
        if leaves:
            out[container] = copy.deepcopy(leaves)
    for container in ENTRY_CONTAINERS:
        entries = []
        for i, entry in enumerate(case.get(container, [])):
            if (container, i) in keep:
                entry = copy.deepcopy(entry)
                for c, j, name in drop_fields:
                    if c == container and j == i:
                        entry.pop(name, None)
                entries.append(entry)
        if entries:
            out[container] = entries
    return out


def deletion_variants(case: dict, cited: set[str]):
    """(pointer, case) for every cited fact deleted from the case reduced to ``cited``.

    A cited leaf or whole entry is deleted whole; a cited sub-field of an
    entry (``/implants/0/mr_status``) is deleted alone, its entry stays.
    """
    keep = {f for f in map(fact_of, cited) if f is not None}
    for pointer in sorted(cited):
        fact = fact_of(pointer)
        if fact is None:
            continue
        sub = subfield_of(pointer)
        if sub is not None:
            yield pointer, materialize(case, keep, frozenset({sub}))
        else:
            yield pointer, materialize(case, keep - {fact})


def op_key(op: dict) -> tuple[str, str]:
    return op["path"], json.dumps(op["value"], sort_keys=True)


def is_container(op: dict) -> bool:
    """SPEC section 4: where the case lacks ``findings`` or ``imaging``, the patch
    first adds it empty. Such an operation documents nothing and does not count
    when alternatives are compared for minimality."""
    return (op["op"] == "add" and op["path"] in ("/findings", "/imaging")
            and op["value"] == ({} if op["path"] == "/findings" else []))


def documenting(patch: list[dict]) -> list[dict]:
    """The operations of ``patch`` that document something."""
    return [op for op in patch if not is_container(op)]


def containers_for(case: dict, ops: list[dict]) -> list[dict]:
    """The container operations (SPEC section 4) that ``ops`` need on ``case``,
    written independently of mrs_asp: for the brute-force candidates."""
    heads = {split(op["path"])[0] for op in ops}
    return [{"op": "add", "path": f"/{name}", "value": empty}
            for name, empty in (("findings", {}), ("imaging", [])) if name in heads
            and name not in case]


def apply_patch(case: dict, patch: list[dict]) -> dict:
    """The case with ``patch`` applied, by jsonpatch (RFC 6902), to the case
    exactly as given: a patch that fails to apply fails the test."""
    return jsonpatch.apply_patch(case, patch)


def has_conventional_of_region(case: dict) -> bool:
    region = case["request"]["body_region"]
    return any(s["modality"] in CONVENTIONAL and s["body_region"] == region
               for s in case.get("imaging", []))


def allowed_slots(case: dict) -> list[list[dict]]:
    """Every filling SPEC section 4 allows, written independently of kb/.

    One slot per place that can be filled; a slot lists the values it can
    take (one value, or two for symptoms: new | worsening). At most one
    value of a slot goes into one patch.
    """
    slots: list[list[dict]] = []
    findings = case.get("findings", {})
    for name in BOOLEAN_FINDINGS:
        if name not in findings:
            slots.append([{"op": "add", "path": f"/findings/{name}", "value": True}])
    if "symptoms" not in findings:
        slots.append([{"op": "add", "path": "/findings/symptoms", "value": v}
                      for v in ("new", "worsening")])
    for i, implant in enumerate(case.get("implants", [])):
        if implant.get("mr_status", "unknown") == "unknown":
            slots.append([{"op": "add", "path": f"/implants/{i}/mr_status",
                           "value": "conditional"}])
        if "metallic" not in implant:
            slots.append([{"op": "add", "path": f"/implants/{i}/metallic", "value": False}])
    for i, body in enumerate(case.get("foreign_bodies", [])):
        if "metallic" not in body:
            slots.append([{"op": "add", "path": f"/foreign_bodies/{i}/metallic",
                           "value": False}])
    region = case["request"]["body_region"]
    for i, study in enumerate(case.get("imaging", [])):
        if (study["modality"] in CONVENTIONAL and study["body_region"] == region
                and "result" not in study):
            slots.append([{"op": "add", "path": f"/imaging/{i}/result",
                           "value": "inconclusive"}])
    if not has_conventional_of_region(case):
        slots.append([{"op": "add", "path": "/imaging/-",
                       "value": {"modality": "MRI", "body_region": region,
                                 "date": case["request"]["date"],
                                 "result": "inconclusive"}}])
    return slots


def allowed_operations(case: dict) -> set[tuple[str, str]]:
    return {op_key(op) for slot in allowed_slots(case) for op in slot}


def candidate_patches(case: dict):
    """Every combination of allowed fillings (at most one value per slot)."""
    slots = allowed_slots(case)
    for choice in itertools.product(*[[None] + slot for slot in slots]):
        yield [op for op in choice if op is not None]


def documented(case: dict, path: str) -> bool:
    """Whether ``path`` names a value the case documents."""
    node = case
    for part in split(path):
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                return False
            node = node[int(part)]
        elif isinstance(node, dict):
            if part not in node:
                return False
            node = node[part]
        else:
            return False
    return True


def report(failures: list[str]) -> None:
    assert not failures, "\n\n".join(failures)


# ----------------------------------------------------------------------------
# 1. explanation minimality, approved cases (SPEC section 3)


@settings(PROPERTY, max_examples=120)
@given(st.lists(cases(), min_size=1, max_size=12))
def test_success_approved_explanation_is_minimal(dicts):
    dicts = with_ids(dicts)
    answers = decide([model(d) for d in dicts], missing=False)
    checks = []  # (kind, original case, cited pointers, deleted pointer | None, variant)
    for d, a in zip(dicts, answers):
        if a.determination != "approved":
            continue
        cited = evidence_of(a.explanation)
        keep = {f for f in map(fact_of, cited) if f is not None}
        checks.append(("reduced", d, cited, None, materialize(d, keep)))
        for pointer, variant in deletion_variants(d, cited):
            checks.append(("deleted", d, cited, pointer, variant))
    if not checks:
        return
    results = decide([model(v) for *_, v in checks], missing=False)
    failures = []
    for (kind, d, cited, pointer, variant), r in zip(checks, results):
        if kind == "reduced" and r.determination != "approved":
            failures.append(
                f"case reduced to its cited facts {sorted(cited)} is {r.determination}, "
                f"not approved\ncase: {dump(d)}\nreduced: {dump(variant)}")
        if kind == "deleted" and r.determination == "approved":
            failures.append(
                f"deleting cited {pointer} from the reduced case keeps it approved "
                f"(the citation is not needed)\ncase: {dump(d)}\nvariant: {dump(variant)}")
    report(failures)


# ----------------------------------------------------------------------------
# 2. explanation minimality, denied by a non-indication (SPEC section 3)


@settings(PROPERTY, max_examples=100)
@given(st.lists(cases(), min_size=1, max_size=12))
def test_success_denied_non_indication_evidence_is_minimal(dicts):
    dicts = with_ids(dicts)
    answers = decide([model(d) for d in dicts], missing=False)
    failures = []
    checks = []  # (kind, case, non-indication, evidence, deleted pointer | None, variant)
    for d, a in zip(dicts, answers):
        if a.determination != "denied":
            continue
        shown = {}
        for node in walk(a.explanation):
            if node["criterion"] in NON_INDICATIONS and node["holds"]:
                shown[node["criterion"]] = set(node["evidence"])
        if set(shown) != set(a.non_indications):
            failures.append(
                f"non-indications shown as holding {sorted(shown)} != reported "
                f"{a.non_indications}\ncase: {dump(d)}")
        for name, evidence in shown.items():
            if not evidence:
                failures.append(f"{name} holds but cites nothing\ncase: {dump(d)}")
                continue
            keep = {f for f in map(fact_of, evidence) if f is not None}
            checks.append(("reduced", d, name, evidence, None, materialize(d, keep)))
            for pointer, variant in deletion_variants(d, evidence):
                checks.append(("deleted", d, name, evidence, pointer, variant))
    if checks:
        results = decide([model(v) for *_, v in checks], missing=False)
        for (kind, d, name, evidence, pointer, variant), r in zip(checks, results):
            if kind == "reduced" and name not in r.non_indications:
                failures.append(
                    f"case reduced to the evidence {sorted(evidence)} of {name} no longer "
                    f"shows it (shows {r.non_indications})\ncase: {dump(d)}\n"
                    f"reduced: {dump(variant)}")
            if kind == "deleted" and name in r.non_indications:
                failures.append(
                    f"deleting cited {pointer} of {name} from the reduced case still shows "
                    f"{name}\ncase: {dump(d)}\nvariant: {dump(variant)}")
    report(failures)


# ----------------------------------------------------------------------------
# 3. what is missing: soundness and minimality of each alternative (SPEC section 4)


@settings(PROPERTY, max_examples=60)
@given(st.lists(cases(), min_size=1, max_size=10))
def test_success_missing_alternatives_are_sound_minimal_and_well_formed(dicts):
    dicts = with_ids(dicts)
    answers = decide([model(d) for d in dicts], missing=True)
    failures = []
    checks = []  # (case, alternative patch, subset, is_full, variant)
    for d, a in zip(dicts, answers):
        if a.determination != "denied":
            if a.missing or a.required:
                failures.append(f"{a.determination} case has missing/required\ncase: {dump(d)}")
            continue
        full_patches = [alt["patch"] for alt in a.missing]
        patches = [documenting(p) for p in full_patches]
        keys = [frozenset(map(op_key, p)) for p in patches]
        # distinct, each a set of distinct operations, smallest first
        if len(set(keys)) != len(keys):
            failures.append(f"alternatives are not distinct: {patches}\ncase: {dump(d)}")
        if any(len(k) != len(p) for k, p in zip(keys, patches)):
            failures.append(f"an alternative repeats an operation: {patches}\ncase: {dump(d)}")
        if [len(p) for p in patches] != sorted(len(p) for p in patches):
            failures.append(f"alternatives not sorted by length: {patches}\ncase: {dump(d)}")
        # the container operations: exactly those the case lacks, first in the patch
        for full, patch in zip(full_patches, patches):
            want = containers_for(d, patch)
            if full[:len(want)] != want or len(full) != len(want) + len(patch):
                failures.append(f"patch {full} does not first add exactly the containers "
                                f"{want} the case lacks\ncase: {dump(d)}")
        # required = the intersection of all alternatives (container operations too)
        expected_required = (frozenset.intersection(*map(frozenset, (map(op_key, p)
                                                                     for p in full_patches)))
                             if keys else frozenset())
        got_required = [op_key(op) for op in a.required]
        if len(set(got_required)) != len(got_required) or set(got_required) != expected_required:
            failures.append(f"required {a.required} != intersection of {patches}\n"
                            f"case: {dump(d)}")
        if not patches and not a.why_nothing_missing:
            failures.append(f"missing is empty and the answer does not say why\ncase: {dump(d)}")
        # only fills what is not documented
        allowed = allowed_operations(d)
        for patch in patches:
            for op in patch:
                if op["op"] != "add":
                    failures.append(f"operation {op} is not an add\ncase: {dump(d)}")
                    continue
                path = op["path"]
                if path == "/imaging/-":
                    if has_conventional_of_region(d):
                        failures.append(f"appends an MRI though the case has an MRI/CT of "
                                        f"the region: {op}\ncase: {dump(d)}")
                elif documented(d, path):
                    parts = split(path)
                    unknown_status = (parts[0] == "implants" and parts[-1] == "mr_status"
                                      and d["implants"][int(parts[1])]["mr_status"] == "unknown")
                    if not unknown_status:
                        failures.append(f"operation {op} changes a documented value\n"
                                        f"case: {dump(d)}")
                if op_key(op) not in allowed:
                    failures.append(f"operation {op} is not an allowed filling (SPEC 4)\n"
                                    f"case: {dump(d)}")
        # applied as given: approved; no proper subset (in particular, no patch
        # minus one documenting operation, with the containers still added) approved
        for full, patch in zip(full_patches, patches):
            containers = [op for op in full if is_container(op)]
            for size in range(len(patch) + 1):
                for subset in itertools.combinations(patch, size):
                    variant = apply_patch(d, full if size == len(patch)
                                          else containers + list(subset))
                    checks.append((d, patch, list(subset), size == len(patch), variant))
    if checks:
        variants = []
        for d, patch, subset, full, variant in checks:
            try:
                variants.append(model(variant))
            except CaseError as err:  # the patch breaks SPEC 1
                failures.append(f"patch {subset} gives an invalid case: {err}\ncase: {dump(d)}")
                variants.append(None)
        valid = [(c, v) for c, v in zip(checks, variants) if v is not None]
        results = decide([v for _, v in valid], missing=False)
        for ((d, patch, subset, full, variant), _), r in zip(valid, results):
            if full and r.determination != "approved":
                failures.append(f"alternative {patch} applied gives {r.determination}\n"
                                f"case: {dump(d)}\npatched: {dump(variant)}")
            if not full and r.determination == "approved":
                failures.append(f"proper subset {subset} of alternative {patch} already "
                                f"gives approved (not subset-minimal)\ncase: {dump(d)}")
    report(failures)


# ----------------------------------------------------------------------------
# 4. what is missing: completeness, by brute force on small cases (SPEC section 4)

MAX_FILLINGS = 10


@settings(PROPERTY, max_examples=80)
@given(st.lists(small_cases(), min_size=1, max_size=6))
def test_success_missing_lists_exactly_the_subset_minimal_alternatives(dicts):
    dicts = [d for d in with_ids(dicts)
             if sum(len(s) for s in allowed_slots(d)) <= MAX_FILLINGS]
    if not dicts:
        return
    answers = decide([model(d) for d in dicts], missing=True)
    failures = []
    work = []  # (case index, candidate ops)
    for i, (d, a) in enumerate(zip(dicts, answers)):
        if a.determination != "denied":
            continue
        for patch in candidate_patches(d):
            work.append((i, patch))
    if not work:
        return
    results = decide([model(apply_patch(dicts[i], containers_for(dicts[i], p) + p))
                      for i, p in work], missing=False)
    approving: dict[int, list[frozenset]] = {}
    for (i, patch), r in zip(work, results):
        if r.determination == "approved":
            approving.setdefault(i, []).append(frozenset(map(op_key, patch)))
    for i, (d, a) in enumerate(zip(dicts, answers)):
        if a.determination != "denied":
            continue
        sets = approving.get(i, [])
        minimal = {s for s in sets if not any(t < s for t in sets)}
        got = {frozenset(map(op_key, documenting(alt["patch"]))) for alt in a.missing}
        if got != minimal:
            fmt = lambda ss: sorted(sorted(s) for s in ss)  # noqa: E731
            failures.append(
                f"missing != all subset-minimal approving fillings\ncase: {dump(d)}\n"
                f"only in answer: {fmt(got - minimal)}\n"
                f"only in brute force: {fmt(minimal - got)}")
    report(failures)


# SPEC section 4: "When no alternative exists ... missing is empty and the
# answer says why". A non-indication is a reason exactly when no set of
# allowed fillings lifts it; an indication criterion is a reason only when no
# set of fillings meets it, and only when the indication itself can be met by
# none (the reasons that decide: issue 8, item 6).
@settings(PROPERTY, max_examples=80)
@given(st.lists(small_cases(), min_size=1, max_size=6))
def test_success_why_nothing_missing_lists_exactly_what_no_filling_lifts(dicts):
    dicts = [d for d in with_ids(dicts)
             if sum(len(s) for s in allowed_slots(d)) <= MAX_FILLINGS]
    if not dicts:
        return
    answers = decide([model(d) for d in dicts], missing=True)
    work = []
    for i, (d, a) in enumerate(zip(dicts, answers)):
        if a.why_nothing_missing is not None:
            work.extend((i, p) for p in candidate_patches(d))
    if not work:
        return
    results = decide([model(apply_patch(dicts[i], containers_for(dicts[i], p) + p))
                      for i, p in work], missing=False)
    seen: dict[int, list] = {}
    for (i, _), r in zip(work, results):
        seen.setdefault(i, []).append(r)
    failures = []
    for i, variants in seen.items():
        d, a = dicts[i], answers[i]
        listed = {r["criterion"] for r in a.why_nothing_missing}
        for ni in a.non_indications:
            kept = all(ni in r.non_indications for r in variants)
            if kept != (ni in listed):
                failures.append(f"{ni}: no filling lifts it = {kept}, listed = {ni in listed}\n"
                                f"case: {dump(d)}")
        indicated_somewhere = any("indicated" in r.criteria for r in variants)
        for reason in listed - set(a.non_indications) - {"indicated"}:
            if indicated_somewhere or any(reason in r.criteria for r in variants):
                failures.append(f"{reason} listed, but some filling meets it or the "
                                f"indication\ncase: {dump(d)}")
            # it decides: no node above it can be met by any filling either
            for node in _ancestors(reason):
                if any(_met(node, r) for r in variants):
                    failures.append(f"{reason} listed, but {node} above it can be met: it "
                                    f"does not decide\ncase: {dump(d)}")
        if not indicated_somewhere and not listed - set(a.non_indications):
            failures.append(f"no filling meets the indication, but no criterion says so\n"
                            f"case: {dump(d)}")
    report(failures)


def _ancestors(criterion: str) -> list[str]:
    kb = engine_for().kb
    return [n for n, parts in kb.parts.items() if criterion in parts
            for n in [n, *_ancestors(n)]]


def _met(node: str, answer) -> bool:
    """Whether ``node`` holds in ``answer``; an inner node without an id of its
    own (repeat_circumstance) by its parts."""
    kb = engine_for().kb
    if node in kb.criteria:
        return node in answer.criteria
    parts = [_met(p, answer) for p in kb.parts[node]]
    return any(parts) if kb.nodes[node] == "any" else all(parts)
