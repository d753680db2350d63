"""The ``mrs-asp`` command line: a thin layer over the library.

Every command turns a user-caused problem into one line on stderr and an exit
status (2 for bad input), never a traceback.
"""

# No `from __future__ import annotations` here: typer reads each command's
# parameters from its annotations, and string annotations make it evaluate
# every one of them at each start (~9 ms of every command line).
import errno
import functools
import itertools
import json
import os
import signal
import sys
import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from . import __version__, tricks
from .abduce import MAX_ALTERNATIVES
from .answer import decide, engine_for
from .case_errors import CaseError
from .cases import case_json_schema
from .loading import iter_cases, iter_unread
from .kb import KnowledgeBaseError
from .terminal import printable

app = typer.Typer(
    help="mrs-asp: the MR spectroscopy guideline (CPT 76390) as answer-set programming. "
         "Decide cases, explain them, and say what is missing to approve them.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    # Help texts are paragraphs (blank lines between them), rewrapped to the
    # terminal's width: a docstring's own line breaks never cut a sentence.
    rich_markup_mode="markdown")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mrs-asp {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True,
        help="Print the version and exit.")] = False) -> None:
    """mrs-asp: the MR spectroscopy guideline (CPT 76390) as answer-set programming.
    Decide cases, explain them, and say what is missing to approve them."""
    if problem := tricks.unknown():  # MRS_ASP_PLAIN misspelt (mrs_asp/tricks.py)
        raise _fail(problem)


class Format(str, Enum):
    text = "text"
    json = "json"
    pas = "pas"
    crd = "crd"


BATCH = 2000
PARALLEL_BATCH = 500  # small enough that every worker gets work

PathsArg = Annotated[list[Path], typer.Argument(
    help="Case files (.json), case libraries (.jsonl, one case per line), directories "
         "of .json cases, or - for standard input (one case, or one per line).",
    show_default=False,
    # the library reports an unreadable path as one line and goes on with the rest
    readable=False)]
KbOpt = Annotated[Optional[Path], typer.Option(
    "--kb", help="Knowledge-base directory (default: the shipped kb/).",
    show_default=False)]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]


def _fail(message: str, code: int = 2) -> typer.Exit:
    sys.stderr.write(f"mrs-asp: {printable(message)}\n")
    return typer.Exit(code)


def _warn(message: str) -> None:
    sys.stderr.write(f"mrs-asp: warning: {printable(message)}\n")


def _echo(line: str) -> None:
    """One line of human-facing output: whatever a case or file name holds, it
    stays one line and sends nothing to the terminal (mrs_asp.terminal)."""
    typer.echo(printable(line))


def _guarded(command):
    """A knowledge base that cannot be run is one line on stderr and exit 2,
    wherever in a command it is found."""
    @functools.wraps(command)
    def run(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except KnowledgeBaseError as exc:
            raise _fail(str(exc)) from None
    return run


def _engine(kb: Path | None, probe: bool = False):
    """The engine for ``kb``, validated (mrs_asp.kb.KnowledgeBase.validate);
    ``probe``: also decide one small case to find a KB with no answer set."""
    try:
        engine = engine_for(kb)
        if probe:
            engine.probe()
        return engine
    except KnowledgeBaseError as exc:
        raise _fail(str(exc)) from None


def _batches(paths: list[Path], errors: list[CaseError], size: int = BATCH,
             library: bool = False, tally: list[int] | None = None):
    """Valid cases in batches; each bad case is reported on stderr as it is met.
    A ``library`` (regress, check --cases) includes its sub-directories;
    ``tally[0]`` counts the valid cases."""
    def valid():
        for item in iter_cases(paths, recursive=library):
            if isinstance(item, CaseError):
                _report(item, errors)
                continue
            if tally is not None:
                tally[0] += 1
            yield item
    return _chunks(valid(), size)


def _chunks(items, size: int):
    """``items`` in lists of ``size`` (the last one shorter), read as they come."""
    items = iter(items)
    while batch := list(itertools.islice(items, size)):
        yield batch


def _report(error: CaseError, errors: list[CaseError]) -> None:
    """A bad input on stderr, every error of its document a line; kept in ``errors``."""
    errors.append(error)
    sys.stderr.write("".join(f"{printable(str(each))}\n" for each in error.errors))


def _items(paths: list[Path], size: int):
    """What the inputs hold in batches of ``size`` items (mrs_asp.loading.iter_unread:
    cases, JSON Lines not yet read, errors), for mrs_asp.run.rendered to decide."""
    return _chunks(iter_unread(paths), size)


def _no_cases(paths, errors: list[CaseError]) -> typer.Exit:
    """Exit for an input that holds no case at all (a gate must not pass on it)."""
    if errors:  # every case was bad input, each already reported
        return typer.Exit(2)
    return _fail(f"{', '.join(map(str, paths))}: no cases found (expected .json case files, "
                 f"a .jsonl library or a directory of .json cases)")


JobsOpt = Annotated[int, typer.Option(
    "--jobs", "-j", min=0,
    help="Worker processes for large inputs (0: one per core; at most one per core).")]


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
    from .run import Stopped, default_jobs, rendered
    _engine(kb)
    errors: list[CaseError] = []
    tally = [0]
    if format in (Format.pas, Format.crd):
        from .fhir.cli import write_responses
        write_responses(_batches(paths, errors, tally=tally), format.value, kb, base, errors)
        if not tally[0]:
            raise _no_cases(paths, errors)
        if errors:
            raise typer.Exit(2)
        return
    cores = default_jobs()
    if jobs > cores:
        # More workers than cores only adds memory and switching (1,000 workers on
        # 2 cores: +2 GB and 17 times slower).
        _warn(f"--jobs {jobs} is more than the {cores} core{'s' if cores != 1 else ''} "
              f"available; using {cores}")
        jobs = cores
    jobs = jobs or cores
    out = sys.stdout.write
    try:
        # The lines of JSON Lines are validated where they are decided (in the
        # workers, with --jobs), each bad one reported in input order.
        for chunk in rendered(_items(paths, PARALLEL_BATCH if jobs > 1 else BATCH),
                              kb=kb, missing=missing, view=view, fmt=format.value, jobs=jobs,
                              show_case=show_case, max_alternatives=max_alternatives or None):
            for error in chunk.errors:
                _report(error, errors)
            out(chunk.text)
            tally[0] += chunk.cases
    except Stopped as stop:
        raise _fail(f"stopped by {signal.Signals(stop.signum).name}",
                    128 + stop.signum) from None
    if not tally[0]:
        raise _no_cases(paths, errors)
    if errors:
        raise typer.Exit(2)


@app.command()
@_guarded
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

    Exits 0 whatever the determinations; 2 if any case is bad input (the others are
    still answered), if there is no case at all, or if the knowledge base is broken.
    With --no-missing the JSON answer has no "missing" and "required" fields.
    """
    _run(paths, kb, not no_missing, "evaluate", format, jobs, show_case, base, max_alternatives)


@app.command()
@_guarded
def missing(paths: PathsArg, format: FormatOpt = Format.text, kb: KbOpt = None,
            jobs: JobsOpt = 0, show_case: ShowCaseOpt = False,
            base: BaseOpt = "http://example.org/mrs-asp",
            max_alternatives: MaxAlternativesOpt = MAX_ALTERNATIVES) -> None:
    """What documentation would turn each denied request into an approval.

    Exit status as for evaluate.
    """
    _run(paths, kb, True, "missing", format, jobs, show_case, base, max_alternatives)


@app.command()
@_guarded
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
@_guarded
def regress(directory: Annotated[Path, typer.Argument(
                help="Case library: a directory of .json cases and FHIR inputs "
                     "(sub-directories included) or a .jsonl file.",
                readable=False)] = Path("cases"),
            junit: Annotated[Optional[Path], typer.Option(
                "--junit", help="Also write JUnit XML to FILE.", show_default=False)] = None,
            kb: KbOpt = None) -> None:
    """Run a case library against each case's `expected`.

    Prints one line per mismatch and a summary. Exit status: 0 when every case
    passes; 1 when some case does not match its `expected`; 2 for bad input (a
    case that does not load, a library with no cases, a broken knowledge base),
    which wins over 1.
    """
    from .regress import Outcome, compare, junit_xml
    _engine(kb)
    if str(directory) != "-" and not directory.exists():
        raise _fail(f"{directory}: no such file or directory")
    started = time.perf_counter()
    outcomes: list[Outcome] = []
    errors: list[CaseError] = []
    for batch in _batches([directory], errors, library=True):
        for loaded, answer in zip(batch, decide(batch, kb=kb, missing=False)):
            outcomes.append(compare(loaded, answer))
    if not outcomes and not errors:
        raise _no_cases([directory], errors)
    outcomes += [Outcome(e.file, "", error=str(e)) for e in errors]
    seconds = time.perf_counter() - started
    for o in outcomes:
        if o.differences:
            _echo(f"MISMATCH {o.source} ({o.id}): " + "; ".join(o.differences))
    bad = [o for o in outcomes if o.differences]
    _echo(f"{len(outcomes) - len(bad) - len(errors)} passed, {len(bad)} mismatched, "
          f"{len(errors)} bad input, {len(outcomes)} cases in {seconds:.2f}s")
    if junit is not None:
        library = directory.name.removesuffix(".jsonl") or str(directory)
        try:
            junit.write_bytes(junit_xml(outcomes, seconds, library))
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
@_guarded
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
          = Severity.error,
          show: Annotated[Optional[Severity], typer.Option(
              "--show", help="Print the findings at or above this severity (default: "
                             "warning, or the --fail-on level when lower).",
              show_default=False)] = None,
          verbose: Annotated[bool, typer.Option(
              "--verbose", "-v", help="Print every finding, infos too (as --show info).")]
          = False) -> None:
    """Check the rules: lint of kb/, conflicts with witness cases, dead, masked and
    redundant criteria over all valid cases, and (with --cases) library coverage.

    Text output lists errors and warnings; infos are counted, and printed with
    --verbose or --show info. JSON output holds every finding. Exit status: 0; 1 when
    a finding at or above --fail-on exists; 2 for bad input (a broken knowledge base,
    --min-coverage without --cases, an empty library, or bad cases in it; the
    coverage of the valid cases is still reported).
    """
    from .check import check_kb
    from .findings import SEVERITIES, at_or_above
    from .lint import lint_kb
    if min_coverage is not None and cases is None:
        raise _fail("--min-coverage needs --cases DIR: the coverage gate measures a case "
                    "library")
    engine = _engine(kb, probe=True)
    findings = lint_kb(engine.kb.directory)
    if not any(f.kind == "parse_error" for f in findings):
        findings += check_kb(engine.kb)
    coverage = None
    errors: list[CaseError] = []
    if cases is not None:
        from .coverage import coverage_findings, criterion_ids, library_coverage
        answers = [a for batch in _batches([cases], errors, library=True)
                   for a in decide(batch, kb=kb, missing=False)]
        if not answers:
            raise _no_cases([cases], errors)
        coverage = library_coverage(answers, criterion_ids(kb), kb)
        findings += coverage_findings(coverage, min_coverage)
    findings.sort(key=lambda f: -SEVERITIES.index(f.severity))
    if format is Format.json:
        report = {"findings": [f.to_json() for f in findings]}
        if coverage is not None:
            report["coverage"] = coverage.to_json()
        typer.echo(json.dumps(report, indent=2))
    else:
        threshold = "info" if verbose else (show.value if show is not None else (
            fail_on.value if not at_or_above(fail_on.value, "warning") else "warning"))
        _check_text(findings, coverage, cases, threshold)
    if errors:
        raise typer.Exit(2)
    if any(at_or_above(f.severity, fail_on.value) for f in findings):
        raise typer.Exit(1)


def _check_text(findings, coverage, cases, threshold: str) -> None:
    """`check` for a policy author: the coverage table (gaps marked there, once),
    then the findings at or above ``threshold`` by severity, then the counts."""
    from .findings import SEVERITIES, at_or_above
    if coverage is not None:
        _echo(f"COVERAGE of {cases}: {coverage.ratio():.0%} of criteria seen both "
              "holding and failing")
        width = max(map(len, coverage.counts))
        for cid, (held, failed) in coverage.counts.items():
            mark = "" if coverage.covered(cid) else "  <- gap"
            _echo(f"  {cid:<{width}}  holds {held:>4}  fails {failed:>4}{mark}")
    for severity in reversed(SEVERITIES):
        group = [f for f in findings if f.severity == severity]
        if not group or not at_or_above(severity, threshold):
            continue
        _echo(f"{severity.upper()} ({len(group)})")
        gaps = [f for f in group if f.kind == "coverage_gap"]
        for f in group:
            if f.kind == "coverage_gap":
                continue
            where = f" [{f.location}]" if f.location else ""
            _echo(f"  {f.kind}: {f.message}{where}")
        if gaps:  # each is marked in the table above: named once
            _echo(f"  coverage_gap: {len(gaps)} criteri{'a' if len(gaps) != 1 else 'on'} not "
                  f"seen both holding and failing in the library (marked above)")
    counts = {s: sum(f.severity == s for f in findings) for s in SEVERITIES}
    hidden = [s for s in SEVERITIES if counts[s] and not at_or_above(s, threshold)]
    note = (f" ({' and '.join(hidden)} not shown: --verbose or --show {hidden[0]} shows them)"
            if hidden else "")
    _echo(", ".join(f"{counts[s]} {s}" for s in reversed(SEVERITIES)) + note)


@app.command()
@_guarded
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
         fail_on_change: Annotated[bool, typer.Option(
             "--fail-on-change",
             help="Exit 1 when some library case changes determination or criteria.")]
         = False,
         format: FormatOpt = Format.text) -> None:
    """Which decisions a change to the rules would flip: library cases, and generated
    witness cases beyond the library.

    A git revision is read from the repository of the current directory, each
    version into its own temporary folder; a variant's `extends` is followed inside
    the same revision. Exit status: 0; 1 with --fail-on-change when a library case
    changes; 2 for bad input (a version that is neither a directory nor a revision,
    a broken knowledge base, an empty library, or bad cases in it: the others are
    still compared).
    """
    from .diff import diff_library, diff_witnesses, materialize
    try:
        tmp, (old_dir, new_dir) = materialize([old, new])
    except KnowledgeBaseError as exc:
        raise _fail(str(exc)) from None
    errors: list[CaseError] = []
    with tmp:
        old_engine, new_engine = _engine(old_dir, probe=True), _engine(new_dir, probe=True)
        library = cases if cases is not None else (Path("cases") if Path("cases").is_dir()
                                                   else None)
        flips = []
        n_cases = 0
        if library is not None:
            loaded = [c for batch in _batches([library], errors) for c in batch]
            if not loaded:
                raise _no_cases([library], errors)
            n_cases = len(loaded)
            flips = diff_library(old_dir, new_dir, loaded)
        found = diff_witnesses(old_engine.kb, new_engine.kb) if witnesses else []
    if format is Format.json:
        typer.echo(json.dumps({"old": old, "new": new, "library": [f.to_json() for f in flips],
                               "witnesses": found}, indent=2))
    else:
        if library is not None:
            flipped = [f for f in flips if f.old != f.new]
            _echo(f"{library}: {len(flipped)} of {n_cases} cases change determination, "
                  f"{len(flips) - len(flipped)} more change criteria only")
            for f in flips:
                arrow = f"{f.old} -> {f.new}" if f.old != f.new else f"{f.old} (unchanged)"
                _echo(f"  {f.id}: {arrow}; {' '.join(f.changed)}")
        if witnesses:
            _echo(f"beyond the library: {len(found)} generated case"
                  f"{'s' if len(found) != 1 else ''} decided differently")
            for w in found:
                _echo(f"  {w['old']} -> {w['new']} via {' + '.join(w['path'])}: {w['brief']}"
                      f"; {' '.join(w['changed'])}")
    if errors:
        raise typer.Exit(2)
    if fail_on_change and flips:
        raise typer.Exit(1)


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
    """The console script: the app, plus what only a real process meets.

    Standard output closed (``>&-``) or full (``> /dev/full``) is one line on
    stderr and exit 1; a closed pipe (``| head -1``) ends the run quietly, exit 1
    (as click does). Stopped by SIGTERM or SIGHUP while deciding, a run cleans up
    as for SIGINT and exits 128 + the signal's number.
    """
    if sys.stdout is None:
        sys.stderr.write("mrs-asp: cannot write standard output: it is closed\n")
        sys.exit(1)
    try:
        try:
            app()
        finally:
            sys.stdout.flush()
    except OSError as exc:
        # Nothing more can reach stdout; the interpreter must not try again at exit.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except OSError:
            pass
        if exc.errno != errno.EPIPE:
            sys.stderr.write(f"mrs-asp: cannot write standard output: "
                             f"{exc.strerror or exc}\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
