"""Conventions of the test suite itself (issue 9 item 8): a test's name says
whether it shows the program working (``test_success_*``) or refusing,
failing or reporting a fault (``test_fail_*``)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
PREFIXES = ("test_success_", "test_fail_")


def collected_names(tree: ast.Module) -> list[tuple[int, str]]:
    """The functions pytest collects (its defaults: ``test*`` at module level
    and in ``Test*`` classes), with their lines."""
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    found = []
    for node in tree.body:
        if isinstance(node, functions) and node.name.startswith("test"):
            found.append((node.lineno, node.name))
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            found += [(item.lineno, f"{node.name}.{item.name}") for item in node.body
                      if isinstance(item, functions) and item.name.startswith("test")]
    return found


def misnamed(tree: ast.Module) -> list[tuple[int, str]]:
    return [(line, name) for line, name in collected_names(tree)
            if not name.rpartition(".")[2].startswith(PREFIXES)]


def test_success_every_test_is_named_test_success_or_test_fail() -> None:
    files = sorted(TESTS.glob("test_*.py"))
    assert Path(__file__) in files
    wrong = [f"{path.name}:{line}: {name}" for path in files
             for line, name in misnamed(ast.parse(path.read_text(encoding="utf-8")))]
    assert not wrong, "name these test_success_* or test_fail_*:\n" + "\n".join(wrong)


def test_fail_a_test_named_otherwise_is_found() -> None:
    tree = ast.parse("def test_it(): pass\n"
                     "def test_success_it(): pass\n"
                     "def helper(): pass\n"
                     "class TestThings:\n"
                     "    def test_fail_one(self): pass\n"
                     "    def test_other(self): pass\n")
    assert [name for _, name in collected_names(tree)] == [
        "test_it", "test_success_it", "TestThings.test_fail_one", "TestThings.test_other"]
    assert misnamed(tree) == [(1, "test_it"), (6, "TestThings.test_other")]
