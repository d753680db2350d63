"""The README's example outputs are real runs (issue 8 item 9).

Every ```text block of README.md whose first line is ``$ mrs-asp ...`` is an
example: the command is run through the CLI (typer's CliRunner, from the
repository root) and its standard output must be exactly the rest of the
block. A block whose last line is ``...`` (indented or not) shows only the
head of the output: the lines above it must be the first lines of the output.

When a change of the program changes an example, regenerate them all from
real runs and review the difference:

    .venv/bin/python tests/test_readme.py --update && git diff README.md
"""

from __future__ import annotations

import difflib
import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PROMPT = "$ mrs-asp "
REGENERATE = ".venv/bin/python tests/test_readme.py --update"


@dataclass
class Example:
    line: int            # 1-based line of the command in README.md
    command: str         # what follows "$ mrs-asp "
    shown: list[str]     # the output lines the README shows
    start: int           # index of the first output line in the README's lines
    end: int             # index of the closing fence

    @property
    def elided(self) -> bool:
        return bool(self.shown) and self.shown[-1].strip() == "..."


def examples(lines: list[str]) -> list[Example]:
    found = []
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```text" and i + 1 < len(lines) \
                and lines[i + 1].startswith(PROMPT):
            end = i + 2
            while end < len(lines) and lines[end].strip() != "```":
                end += 1
            found.append(Example(i + 2, lines[i + 1][len(PROMPT):], lines[i + 2:end],
                                 i + 2, end))
            i = end
        i += 1
    return found


def run(command: str) -> list[str]:
    """The standard output of ``mrs-asp COMMAND`` run from the repository root."""
    from typer.testing import CliRunner

    from mrs_asp.cli import app
    here = os.getcwd()
    os.chdir(ROOT)
    try:
        result = CliRunner().invoke(app, shlex.split(command))
    finally:
        os.chdir(here)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"`mrs-asp {command}` raised {result.exception!r}")
    return result.stdout.rstrip("\n").splitlines()


def expected(example: Example, output: list[str]) -> list[str]:
    """What the README block should hold for ``output``."""
    if example.elided:
        head = len(example.shown) - 1
        return output[:head] + [example.shown[-1]]
    return output


def test_success_readme_has_examples():
    found = examples(README.read_text(encoding="utf-8").splitlines())
    commands = {e.command.split()[0] for e in found}
    assert {"missing", "diff", "check"} <= commands, commands


def test_success_readme_layout_table_names_every_layer():
    """Each layer file of kb/ has its row in the README's layout table."""
    text = README.read_text(encoding="utf-8")
    rows = {line.split("|")[1] for line in text.splitlines() if line.startswith("| `")}
    named = {name for row in rows for name in row.replace("`", " ").replace(",", " ").split()}
    layers = {p.name for p in (ROOT / "kb").glob("*.lp") if p.name != "mrs.lp"}
    assert layers <= named, f"README.md's layout table lacks {sorted(layers - named)}"


def test_success_readme_examples_are_real_runs():
    lines = README.read_text(encoding="utf-8").splitlines()
    failures = []
    for example in examples(lines):
        output = run(example.command)
        want = expected(example, output)
        if example.shown != want:
            diff = "\n".join(difflib.unified_diff(
                example.shown, want, "README.md (as shown)", f"mrs-asp {example.command} (now)",
                lineterm="", n=1))
            failures.append(f"README.md line {example.line}: the output of "
                            f"`mrs-asp {example.command}` differs:\n{diff}")
    assert not failures, ("\n\n".join(failures)
                          + f"\n\nRegenerate the README's examples from real runs with\n"
                            f"    {REGENERATE}\nand review `git diff README.md`.")


def update() -> int:
    """Rewrite every example block of README.md with the real output."""
    lines = README.read_text(encoding="utf-8").splitlines()
    changed = 0
    for example in reversed(examples(lines)):
        want = expected(example, run(example.command))
        if example.shown != want:
            lines[example.start:example.end] = want
            changed += 1
            print(f"README.md line {example.line}: mrs-asp {example.command}")
    README.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{changed} example(s) regenerated")
    return 0


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit(f"usage: {REGENERATE}")
    sys.path.insert(0, str(ROOT))
    sys.exit(update())
