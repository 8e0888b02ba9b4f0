"""Every error the package raises on user input is a PapergymError (a ValueError), so the command line
prints it as one line; a bare ``raise ValueError`` anywhere in the package is refused."""

from __future__ import annotations

import ast
from pathlib import Path

import papergym
from papergym.core.errors import PapergymError

PACKAGE = Path(papergym.__file__).parent


def _bare_value_errors(path: Path) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Raise) and node.exc is not None:
            raised = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(raised, ast.Name) and raised.id == "ValueError":
                lines.append(node.lineno)
    return lines


def test_no_bare_value_error_is_raised_anywhere_in_the_package():
    found = {str(path.relative_to(PACKAGE)): lines for path in sorted(PACKAGE.rglob("*.py"))
             if (lines := _bare_value_errors(path))}
    assert found == {}, f"raise PapergymError (user input) or TypeError/RuntimeError (a bug) instead: {found}"


def test_papergym_error_is_a_value_error():
    assert issubclass(PapergymError, ValueError)
