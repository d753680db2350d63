"""The ``mrs-asp`` command line: a thin layer over the library.

Every command turns a user-caused problem into one line on stderr and an exit
status (2 for bad input), never a traceback.
"""

from __future__ import annotations

import json
import sys
import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from .abduce import MAX_ALTERNATIVES
from .answer import decide, engine_for
from .case_errors import CaseError
from .cases import case_json_schema
from .loading import LoadedCase, iter_cases
from .kb import KnowledgeBaseError

app = typer.Typer(
    help="mrs-asp: the MR spectroscopy guideline (CPT 76390) as answer-set programming. "
         "Decide cases, explain them, and say what is missing to approve them.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


class Format(str, Enum):
    text = "text"
    json = "json"
    pas = "pas"
    crd = "crd"


BATCH = 2000
PARALLEL_BATCH = 500  # small enough that every worker gets work

PathsArg = Annotated[list[Path], typer.Argument(
    help="Case files (.json), case libraries (.jsonl, one case per line) or directories "
         "of .json cases.", show_default=False,
    # the library reports an unreadable path as one line and goes on with the rest
    readable=False)]
KbOpt = Annotated[Optional[Path], typer.Option(
    "--kb", help="Knowledge-base directory (default: the shipped kb/).",
    show_default=False)]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]


def _fail(message: str, code: int = 2) -> typer.Exit:
    sys.stderr.write(f"mrs-asp: {message}\n")
    return typer.Exit(code)


def _engine(kb: Path | None):
    try:
        return engine_for(kb)
    except KnowledgeBaseError as exc:
        raise _fail(str(exc)) from None


def _batches(paths: list[Path], errors: list[CaseError], size: int = BATCH,
             library: bool = False):
    """Valid cases in batches; each bad case is reported on stderr as it is met.
    A ``library`` (regress, check --cases) includes its sub-directories."""
    batch: list[LoadedCase] = []
    for item in iter_cases(paths, recursive=library):
        if isinstance(item, CaseError):
            errors.append(item)
            sys.stderr.write("".join(f"{error}\n" for error in item.errors))
            continue
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


JobsOpt = Annotated[int, typer.Option(
    "--jobs", "-j", min=0, help="Worker processes for large inputs (0: one per core).")]


MaxAlternativesOpt = Annotated[int, typer.Option(
    "--max-alternatives", min=0,
    help="List at most N ways to approval per case, the smallest (0: all). A cut "
         "answer says how many exist (JSON: missing_truncated, missing_total).")]
ShowCaseOpt = Annotated[bool, typer.Option(
    "--show-case", help="Also print each case as decided: for a FHIR input, the derived "
                        "case and where each fact was read (JSON Pointers into the FHIR).")]
BaseOpt = Annotated[str, typer.Option(
    "--base", help="Canonical base URL of the questionnaire and code systems written "
                   "(FHIR).")]


def _run(paths, kb, missing: bool, view: str, format: Format, jobs: int,
         show_case: bool = False, base: str | None = None,
         max_alternatives: int = MAX_ALTERNATIVES) -> None:
    from .run import default_jobs, rendered
    _engine(kb)
    errors: list[CaseError] = []
    if format in (Format.pas, Format.crd):
        from .fhir.cli import write_responses
        write_responses(_batches(paths, errors), format.value, kb, base, errors)
        if errors:
            raise typer.Exit(2)
        return
    jobs = jobs or default_jobs()
    out = sys.stdout.write
    for chunk in rendered(_batches(paths, errors, PARALLEL_BATCH if jobs > 1 else BATCH),
                          kb=kb, missing=missing, view=view, fmt=format.value, jobs=jobs,
                          show_case=show_case, max_alternatives=max_alternatives or None):
        out(chunk)
    if errors:
        raise typer.Exit(2)


@app.command()
def evaluate(paths: PathsArg, format: FormatOpt = Format.text,
             no_missing: Annotated[bool, typer.Option(
                 "--no-missing", help="Skip computing what is missing for denied cases.")] = False,
             kb: KbOpt = None, jobs: JobsOpt = 0, show_case: ShowCaseOpt = False,
             base: BaseOpt = "http://example.org/mrs-asp",
             max_alternatives: MaxAlternativesOpt = MAX_ALTERNATIVES) -> None:
    """Decide each case: determination, explanation, advisories, and what is missing.

    A PATH may also hold FHIR: a PAS request Bundle or a CDS Hooks order-sign /
    order-select request (one case per requested item). --format pas writes the PAS
    response Bundle, --format crd the CDS Hooks response, one JSON per input per line.

    Exits 0 whatever the determinations, 2 if any case is bad input (the others are
    still answered).
    """
    _run(paths, kb, not no_missing, "evaluate", format, jobs, show_case, base, max_alternatives)


@app.command()
def missing(paths: PathsArg, format: FormatOpt = Format.text, kb: KbOpt = None,
            jobs: JobsOpt = 0, show_case: ShowCaseOpt = False,
            base: BaseOpt = "http://example.org/mrs-asp",
            max_alternatives: MaxAlternativesOpt = MAX_ALTERNATIVES) -> None:
    """What documentation would turn each denied request into an approval."""
    _run(paths, kb, True, "missing", format, jobs, show_case, base, max_alternatives)


@app.command()
def questionnaire(case: Annotated[Optional[Path], typer.Argument(
                      help="A case or FHIR input: print the questionnaire of what is missing "
                           "for it (for a FHIR input with several items, one per line).",
                      show_default=False)] = None,
                  base: BaseOpt = "http://example.org/mrs-asp", kb: KbOpt = None) -> None:
    """Print the guideline's DTR Questionnaire (FHIR R4), generated from kb/; with CASE,
    the questionnaire of what is missing to approve it."""
    from .fhir.cli import print_questionnaires
    from .kb import KnowledgeBaseError as _KbError
    _engine(kb)
    errors: list[CaseError] = []
    try:
        print_questionnaires(None if case is None else _batches([case], errors), base, kb)
    except _KbError as exc:
        raise _fail(str(exc)) from None
    if errors:
        raise typer.Exit(2)


@app.command()
def regress(directory: Annotated[Path, typer.Argument(
                help="Case library: a directory of .json cases and FHIR inputs "
                     "(sub-directories included) or a .jsonl file.",
                readable=False)] = Path("cases"),
            junit: Annotated[Optional[Path], typer.Option(
                "--junit", help="Also write JUnit XML to FILE.", show_default=False)] = None,
            kb: KbOpt = None) -> None:
    """Run a case library against each case's `expected`; exit 1 on any mismatch."""
    from .regress import Outcome, compare, junit_xml
    _engine(kb)
    if not directory.exists():
        raise _fail(f"{directory}: no such file or directory")
    started = time.perf_counter()
    outcomes: list[Outcome] = []
    errors: list[CaseError] = []
    for batch in _batches([directory], errors, library=True):
        for loaded, answer in zip(batch, decide(batch, kb=kb, missing=False)):
            outcomes.append(compare(loaded, answer))
    outcomes += [Outcome(e.file, "", error=str(e)) for e in errors]
    seconds = time.perf_counter() - started
    for o in outcomes:
        if o.differences:
            typer.echo(f"MISMATCH {o.source} ({o.id}): " + "; ".join(o.differences))
    bad = [o for o in outcomes if o.differences]
    typer.echo(f"{len(outcomes) - len(bad) - len(errors)} passed, {len(bad)} mismatched, "
               f"{len(errors)} bad input, {len(outcomes)} cases in {seconds:.2f}s")
    if junit is not None:
        try:
            junit.write_bytes(junit_xml(outcomes, seconds))
        except OSError as exc:
            raise _fail(f"{junit}: cannot write JUnit XML: {exc.strerror}") from None
    if errors:
        raise typer.Exit(2)
    if bad:
        raise typer.Exit(1)


class Severity(str, Enum):
    error = "error"
    warning = "warning"
    info = "info"


@app.command()
def check(kb: KbOpt = None,
          cases: Annotated[Optional[Path], typer.Option(
              "--cases", help="Also report criterion coverage of this case library.",
              show_default=False)] = None,
          min_coverage: Annotated[Optional[float], typer.Option(
              "--min-coverage", min=0.0, max=1.0,
              help="With --cases: the share of criteria that must be seen both holding and "
                   "failing (an error below it).", show_default=False)] = None,
          format: FormatOpt = Format.text,
          fail_on: Annotated[Severity, typer.Option(
              "--fail-on", help="Exit 1 when a finding at or above this severity exists.")]
          = Severity.error) -> None:
    """Check the rules: lint of kb/, conflicts with witness cases, dead, masked and
    redundant criteria over all valid cases, and (with --cases) library coverage."""
    from .check import check_kb
    from .findings import SEVERITIES, at_or_above
    from .lint import lint_kb
    engine = _engine(kb)
    findings = lint_kb(engine.kb.directory)
    if not any(f.kind == "parse_error" for f in findings):
        findings += check_kb(engine.kb)
    coverage = None
    if cases is not None:
        from .coverage import coverage_findings, criterion_ids, library_coverage
        errors: list[CaseError] = []
        answers = [a for batch in _batches([cases], errors, library=True)
                   for a in decide(batch, kb=kb, missing=False)]
        if errors:
            raise typer.Exit(2)
        coverage = library_coverage(answers, criterion_ids(kb), kb)
        findings += coverage_findings(coverage, min_coverage)
    findings.sort(key=lambda f: -SEVERITIES.index(f.severity))
    if format is Format.json:
        report = {"findings": [f.to_json() for f in findings]}
        if coverage is not None:
            report["coverage"] = coverage.to_json()
        typer.echo(json.dumps(report, indent=2))
    else:
        if coverage is not None:
            typer.echo(f"COVERAGE of {cases}: {coverage.ratio():.0%} of criteria seen both "
                       "holding and failing")
            width = max(map(len, coverage.counts))
            for cid, (held, failed) in coverage.counts.items():
                mark = "" if coverage.covered(cid) else "  <- gap"
                typer.echo(f"  {cid:<{width}}  holds {held:>4}  fails {failed:>4}{mark}")
        for severity in reversed(SEVERITIES):
            group = [f for f in findings if f.severity == severity]
            if not group:
                continue
            typer.echo(f"{severity.upper()} ({len(group)})")
            for f in group:
                where = f" [{f.location}]" if f.location else ""
                typer.echo(f"  {f.kind}: {f.message}{where}")
        counts = {s: sum(f.severity == s for f in findings) for s in SEVERITIES}
        typer.echo(", ".join(f"{counts[s]} {s}" for s in reversed(SEVERITIES)))
    if any(at_or_above(f.severity, fail_on.value) for f in findings):
        raise typer.Exit(1)


@app.command()
def diff(old: Annotated[str, typer.Argument(
             help="The current knowledge base: a directory, or a git revision of kb/ "
                  "(HEAD~1, main, or REV:path).")],
         new: Annotated[str, typer.Argument(help="The proposed knowledge base (same forms).")],
         cases: Annotated[Optional[Path], typer.Argument(
             help="Case library to replay (default: cases/ when it exists).",
             show_default=False)] = None,
         witnesses: Annotated[bool, typer.Option(
             "--witnesses/--no-witnesses",
             help="Also search all valid cases for ones the two versions decide differently.")]
         = True,
         format: FormatOpt = Format.text) -> None:
    """Which decisions a change to the rules would flip: library cases, and generated
    witness cases beyond the library."""
    from .diff import diff_library, diff_witnesses, materialize
    try:
        tmp, (old_dir, new_dir) = materialize([old, new])
    except KnowledgeBaseError as exc:
        raise _fail(str(exc)) from None
    with tmp:
        old_engine, new_engine = _engine(old_dir), _engine(new_dir)
        library = cases if cases is not None else (Path("cases") if Path("cases").is_dir()
                                                   else None)
        flips = []
        n_cases = 0
        if library is not None:
            errors: list[CaseError] = []
            loaded = [c for batch in _batches([library], errors) for c in batch]
            if errors:
                raise typer.Exit(2)
            n_cases = len(loaded)
            flips = diff_library(old_dir, new_dir, loaded)
        found = diff_witnesses(old_engine.kb, new_engine.kb) if witnesses else []
    if format is Format.json:
        typer.echo(json.dumps({"old": old, "new": new, "library": [f.to_json() for f in flips],
                               "witnesses": found}, indent=2))
        return
    if library is not None:
        flipped = [f for f in flips if f.old != f.new]
        typer.echo(f"{library}: {len(flipped)} of {n_cases} cases change determination, "
                   f"{len(flips) - len(flipped)} more change criteria only")
        for f in flips:
            arrow = f"{f.old} -> {f.new}" if f.old != f.new else f"{f.old} (unchanged)"
            typer.echo(f"  {f.id}: {arrow}; {' '.join(f.changed)}")
    if witnesses:
        typer.echo(f"beyond the library: {len(found)} generated case"
                   f"{'s' if len(found) != 1 else ''} decided differently")
        for w in found:
            typer.echo(f"  {w['old']} -> {w['new']} via {' + '.join(w['path'])}: {w['brief']}"
                       f"; {' '.join(w['changed'])}")


@app.command()
def serve(host: Annotated[str, typer.Option(
              "--host", help="Address to listen on (loopback unless told otherwise).")]
          = "127.0.0.1",
          port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port.")]
          = 8080,
          kb: KbOpt = None,
          db: Annotated[Path, typer.Option(
              "--db", help="The decision log (SQLite, created if absent).")]
          = Path("mrs-asp-decisions.sqlite3"),
          issuers: Annotated[Optional[Path], typer.Option(
              "--issuers", help="JSON file: each EHR issuer allowed to call the CDS Hooks "
                                "services, with its JSON Web Key Set.", show_default=False)]
          = None,
          no_auth: Annotated[bool, typer.Option(
              "--no-auth", help="Accept CDS Hooks calls without a token (local trials only).")]
          = False,
          public_url: Annotated[Optional[str], typer.Option(
              "--public-url", help="The URL clients call this service by; a token's `aud` "
                                   "must be it plus the path called (default: "
                                   "http://HOST:PORT).", show_default=False)] = None,
          max_body: Annotated[int, typer.Option(
              "--max-body", min=1, help="Largest request body in bytes (413 above it).")]
          = 1024 * 1024,
          durability: Annotated[str, typer.Option(
              "--durability", help="full: each decision is synced to disk before it is "
                                   "answered; normal: it survives a crash of the service, "
                                   "not of the machine.")] = "full",
          access_log: Annotated[bool, typer.Option(
              "--access-log/--no-access-log", help="Log each request on stderr.")] = True,
          cases: Annotated[Optional[Path], typer.Option(
              "--cases", help="The case library the reviewer's and author's pages offer "
                              "(default: ./cases, else the source checkout's cases/).",
              show_default=False)] = None,
          ) -> None:
    """Serve decisions over HTTP: a JSON API, CDS Hooks (CRD), PAS and DTR; every
    decision recorded in the decision log. Stops gracefully on SIGTERM."""
    from .service.config import ServiceConfig
    if durability not in ("full", "normal"):
        raise _fail(f"--durability: expected 'full' or 'normal', got {durability!r}")
    config = ServiceConfig(host=host, port=port, kb=kb, db=db, issuers=issuers,
                           no_auth=no_auth, public_url=public_url, body_limit=max_body,
                           durability=durability, cases=cases)
    from .service.server import run
    from .service.store import StoreError
    try:
        run(config, access_log=access_log)
    except (KnowledgeBaseError, StoreError, ValueError) as exc:
        raise _fail(str(exc)) from None


@app.command()
def decisions(decision_id: Annotated[Optional[str], typer.Argument(
                  help="Show this decision's whole record (default: list recent ones).",
                  show_default=False)] = None,
              db: Annotated[Path, typer.Option("--db", help="The decision log.")]
              = Path("mrs-asp-decisions.sqlite3"),
              limit: Annotated[int, typer.Option("--limit", "-n", min=1,
                                                 help="How many to list.")] = 20,
              case_id: Annotated[Optional[str], typer.Option(
                  "--case", help="Only decisions of this case id.", show_default=False)]
              = None,
              format: FormatOpt = Format.text) -> None:
    """List the decisions `mrs-asp serve` recorded, newest first, or show one."""
    from .service.store import DecisionLog, StoreError
    try:
        log = DecisionLog(db, create=False)
    except StoreError as exc:
        raise _fail(str(exc)) from None
    if decision_id is not None:
        record = log.get(decision_id)
        if record is None:
            raise _fail(f"{db}: no recorded decision {decision_id!r}", 1)
        typer.echo(json.dumps(record.to_json(), indent=2, ensure_ascii=False))
        return
    records = log.list(limit=limit, case_id=case_id)
    if format is Format.json:
        for r in records:
            typer.echo(json.dumps(r.summary(), ensure_ascii=False))
        return
    for r in records:
        typer.echo(f"{r.id}  {r.recorded_at}  {r.determination:<14}  {r.case_id}  "
                   f"({r.endpoint})")
    typer.echo(f"{len(records)} of {log.count()} recorded decisions in {db}")


@app.command()
def schema() -> None:
    """Print the JSON Schema of a case (SPEC section 1)."""
    typer.echo(json.dumps(case_json_schema(), indent=2))


def main() -> None:  # console script entry point
    app()


if __name__ == "__main__":
    main()
