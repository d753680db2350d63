"""The terminology tables of FHIR.md F3-F5, as data a payer can extend.

The tables are CSV files in ``mrs_asp/fhir/terminology/`` (see the README
there): ICD-10-CM value sets (``icd10cm.csv``), SNOMED CT body sites, device
types and study results, NCI Thesaurus MR-safety codes, and prior studies by
CPT. A payer adds a row to a file; nothing in Python lists a code.

An ICD-10-CM row covers its code and every code below it in the tabular list.
The codes below are looked up in the released code set with
``simple-icd-10-cm``; because that library takes about two seconds to load,
the expansion is kept in ``icd10cm.expanded.json``, stamped with the SHA-256
of ``icd10cm.csv``. ``MRS_ASP_TERMINOLOGY=DIR`` points the reader at a
payer's own copy of the folder. When the stamp does not match the table (a row was
added), the expansion is rebuilt in memory with the library; run
``python -m mrs_asp.fhir.terminology`` to write the file again.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = ["CPT", "ICD10CM", "SNOMED", "Terminology", "TerminologyError", "load",
           "default_directory", "normal_icd", "build_icd_expansion"]

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
CPT = "http://www.ama-assn.org/go/cpt"
SNOMED = "http://snomed.info/sct"

_EXPANDED = "icd10cm.expanded.json"


class TerminologyError(ValueError):
    """A terminology table that cannot be read: ``file:line: what is wrong``."""


def default_directory() -> Path:
    return Path(__file__).with_name("terminology")


def normal_icd(code: str) -> str:
    """ICD-10-CM codes are written with or without the dot: C71.1 = C711."""
    return code.replace(".", "").strip().upper()


Fact = tuple[str, str, object]  # (container, field, value): ("findings", "glioma", True)


@dataclass(frozen=True)
class Terminology:
    directory: Path
    icd10cm: dict[str, tuple[Fact, ...]]              # normal code -> facts it documents
    icd10cm_rows: tuple[tuple[str, tuple[Fact, ...], str], ...]  # (code, facts, label)
    body_sites: dict[tuple[str, str], str]             # (system, code) -> region
    device_types: dict[tuple[str, str], str]           # -> implant kind
    mr_safety: dict[tuple[str, str], str]              # -> mr_status
    results: dict[tuple[str, str], str]                # -> imaging result
    studies: dict[tuple[str, str], tuple[str, str]]    # CPT -> (modality, region or 'bodySite')
    icd_source_sha256: str


def _rows(path: Path, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TerminologyError(f"{path}: cannot read: {exc.strerror or exc}") from None
    reader = csv.DictReader(text.splitlines())
    if tuple(reader.fieldnames or ()) != columns:
        raise TerminologyError(f"{path}:1: expected the columns {','.join(columns)}, "
                               f"got {','.join(reader.fieldnames or ())}")
    out = []
    for number, row in enumerate(reader, 2):
        if any(not (row.get(c) or "").strip() for c in columns[:-1]):
            raise TerminologyError(f"{path}:{number}: every column but the label is required")
        out.append((number, {k: v.strip() for k, v in row.items()}))
    return out


def _allowed(container: str, name: str) -> tuple[str, tuple]:
    from .fields import field_by_link_id
    field = field_by_link_id().get(f"{container}.{name}")
    if field is None:
        return "", ()
    return field.kind, field.options


def _facts(text: str, where: str) -> tuple[Fact, ...]:
    facts = []
    for part in text.split():
        path, sep, value = part.partition("=")
        container, dot, name = path.partition(".")
        kind, options = _allowed(container, name)
        if not sep or not dot or not kind:
            raise TerminologyError(f"{where}: expected field=value with a case field "
                                   f"(findings.glioma=true), got {part!r}")
        if kind == "boolean":
            if value not in ("true", "false"):
                raise TerminologyError(f"{where}: {path} takes true or false, got {value!r}")
            facts.append((container, name, value == "true"))
        elif kind == "choice" and value in options:
            facts.append((container, name, value))
        else:
            raise TerminologyError(f"{where}: {path} takes one of {', '.join(options)}, "
                                   f"got {value!r}")
    return tuple(facts)


def _value(path: Path, number: int, column: str, value: str, container: str,
           name: str) -> str:
    _, options = _allowed(container, name)
    if value not in options:
        raise TerminologyError(f"{path}:{number}: {column} must be one of "
                               f"{', '.join(options)}, got {value!r}")
    return value


def _coded(directory: Path, name: str, column: str, container: str, field: str
           ) -> dict[tuple[str, str], str]:
    path = directory / name
    return {(row["system"], row["code"]): _value(path, number, column, row[column],
                                                   container, field)
            for number, row in _rows(path, ("system", "code", column, "label"))}


def _icd_rows(directory: Path) -> tuple[tuple[str, tuple[Fact, ...], str], ...]:
    path = directory / "icd10cm.csv"
    return tuple((row["code"], _facts(row["documents"], f"{path}:{number}"), row["label"])
                 for number, row in _rows(path, ("code", "documents", "label")))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_icd_expansion(rows) -> dict[str, list[str]]:
    """Every code each row covers (its own and all below it), from the released
    ICD-10-CM code set (``simple-icd-10-cm``): normal code -> row codes."""
    import simple_icd_10_cm as icd  # ~2 s to load: only when the table changed
    out: dict[str, list[str]] = {}
    for code, _, _ in rows:
        if not icd.is_valid_item(code):
            raise TerminologyError(f"icd10cm.csv: {code} is not an ICD-10-CM code")
        for covered in [code, *icd.get_descendants(code)]:
            listed = out.setdefault(normal_icd(covered), [])
            if code not in listed:
                listed.append(code)
    return dict(sorted(out.items()))


def write_icd_expansion(directory: Path | None = None) -> Path:
    import importlib.metadata
    directory = Path(directory or default_directory())
    rows = _icd_rows(directory)
    expansion = {
        "source": "icd10cm.csv",
        "source_sha256": _sha256(directory / "icd10cm.csv"),
        "code_set": f"simple-icd-10-cm {importlib.metadata.version('simple-icd-10-cm')}",
        "codes": build_icd_expansion(rows),
    }
    target = directory / _EXPANDED
    head = json.dumps({k: v for k, v in expansion.items() if k != "codes"})[:-1]
    lines = [f"  {json.dumps(code)}: {json.dumps(listed)}"
             for code, listed in expansion["codes"].items()]
    target.write_text(head + ', "codes": {\n' + ",\n".join(lines) + "\n}}\n",
                      encoding="utf-8")
    return target


def _icd_index(directory: Path, rows) -> tuple[dict[str, tuple[Fact, ...]], str]:
    sha = _sha256(directory / "icd10cm.csv")
    try:
        stored = json.loads((directory / _EXPANDED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        stored = None
    if stored is not None and stored.get("source_sha256") == sha:
        expansion = stored["codes"]
    else:
        expansion = build_icd_expansion(rows)
    facts_of: dict[str, list[Fact]] = {}
    for code, facts, _ in rows:  # a code may stand on several rows (E75.28)
        facts_of.setdefault(normal_icd(code), []).extend(facts)
    index: dict[str, tuple[Fact, ...]] = {}
    for covered, listed in expansion.items():
        merged: list[Fact] = []
        for code in listed:
            for fact in facts_of.get(normal_icd(code), ()):
                if fact not in merged:
                    merged.append(fact)
        index[covered] = tuple(merged)
    return index, sha


@lru_cache(maxsize=4)
def _load(directory: Path) -> Terminology:
    rows = _icd_rows(directory)
    icd, sha = _icd_index(directory, rows)
    studies = {}
    path = directory / "prior-studies.csv"
    for number, row in _rows(path, ("system", "code", "modality", "region", "label")):
        modality = _value(path, number, "modality", row["modality"], "imaging", "modality")
        region = row["region"]
        if region != "bodySite":
            region = _value(path, number, "region", region, "imaging", "body_region")
        studies[(row["system"], row["code"])] = (modality, region)
    return Terminology(
        directory=directory, icd10cm=icd, icd10cm_rows=rows,
        body_sites=_coded(directory, "body-sites.csv", "region", "request", "body_region"),
        device_types=_coded(directory, "device-types.csv", "kind", "implants", "kind"),
        mr_safety=_coded(directory, "mr-safety.csv", "mr_status", "implants", "mr_status"),
        results=_coded(directory, "study-results.csv", "result", "imaging", "result"),
        studies=studies, icd_source_sha256=sha)


_SHIPPED: list[Terminology] = []


def load(directory: str | Path | None = None) -> Terminology:
    """The tables of ``directory`` (default: ``$MRS_ASP_TERMINOLOGY`` if set, else
    the shipped ones), cached. A payer that extends the tables copies this
    folder, adds rows, and points ``MRS_ASP_TERMINOLOGY`` at the copy."""
    if directory is None:
        directory = os.environ.get("MRS_ASP_TERMINOLOGY") or None
    if directory is None:
        if not _SHIPPED:
            _SHIPPED.append(_load(default_directory().resolve()))
        return _SHIPPED[0]
    return _load(Path(directory).resolve())


if __name__ == "__main__":  # python -m mrs_asp.fhir.terminology [DIR]
    written = write_icd_expansion(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
    print(f"wrote {written}")
