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

from .answer import decide, engine_for
from .cases import CaseError, LoadedCase, case_json_schema, iter_cases
from .kb import KnowledgeBaseError

app = typer.Typer(
    help="mrs-asp: the MR spectroscopy guideline (CPT 76390) as answer-set programming. "
         "Decide cases, explain them, and say what is missing to approve them.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


class Format(str, Enum):
    text = "text"
    json = "json"


BATCH = 2000

PathsArg = Annotated[list[Path], typer.Argument(
    help="Case files (.json), case libraries (.jsonl, one case per line) or directories "
         "of .json cases.", show_default=False)]
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


def _batches(paths: list[Path], errors: list[CaseError]):
    """Valid cases in batches; each bad case is reported on stderr as it is met."""
    batch: list[LoadedCase] = []
    for item in iter_cases(paths):
        if isinstance(item, CaseError):
            errors.append(item)
            sys.stderr.write(f"{item}\n")
            continue
        batch.append(item)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _run(paths, kb, missing: bool, emit) -> None:
    engine = _engine(kb)
    errors: list[CaseError] = []
    for batch in _batches(paths, errors):
        for loaded, answer in zip(batch, decide(batch, kb=kb, missing=missing)):
            emit(loaded, answer, engine.kb)
    if errors:
        raise typer.Exit(2)


@app.command()
def evaluate(paths: PathsArg, format: FormatOpt = Format.text,
             no_missing: Annotated[bool, typer.Option(
                 "--no-missing", help="Skip computing what is missing for denied cases.")] = False,
             kb: KbOpt = None) -> None:
    """Decide each case: determination, explanation, advisories, and what is missing.

    Exits 0 whatever the determinations, 2 if any case is bad input (the others are
    still answered).
    """
    from .report import answer_json, answer_text
    out = sys.stdout.write
    if format is Format.json:
        def emit(loaded, answer, knowledge):
            out(answer_json(answer) + "\n")
    else:
        def emit(loaded, answer, knowledge):
            out(answer_text(answer, knowledge, loaded.raw, loaded.case.title) + "\n\n")
    _run(paths, kb, not no_missing, emit)


@app.command()
def missing(paths: PathsArg, format: FormatOpt = Format.text, kb: KbOpt = None) -> None:
    """What documentation would turn each denied request into an approval."""
    from .report import answer_json, missing_text
    out = sys.stdout.write
    if format is Format.json:
        def emit(loaded, answer, knowledge):
            out(answer_json(answer) + "\n")
    else:
        def emit(loaded, answer, knowledge):
            out(missing_text(answer) + "\n\n")
    _run(paths, kb, True, emit)


@app.command()
def regress(directory: Annotated[Path, typer.Argument(
                help="Case library: a directory of .json cases or a .jsonl file.")] = Path("cases"),
            junit: Annotated[Optional[Path], typer.Option(
                "--junit", help="Also write JUnit XML to FILE.", show_default=False)] = None,
            kb: KbOpt = None) -> None:
    """Run a case library against each case's `expected`; exit 1 on any mismatch."""
    from .regress import Outcome, compare, junit_xml
    if not directory.exists():
        raise _fail(f"{directory}: no such file or directory")
    started = time.perf_counter()
    outcomes: list[Outcome] = []
    errors: list[CaseError] = []
    for batch in _batches([directory], errors):
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


@app.command()
def schema() -> None:
    """Print the JSON Schema of a case (SPEC section 1)."""
    typer.echo(json.dumps(case_json_schema(), indent=2))


def main() -> None:  # console script entry point
    app()


if __name__ == "__main__":
    main()
