"""No function in server/, mobile/ or shared/ runs past 60 lines (its body after the
docstring) unless it says why: a ``# long: <reason>`` comment on the line just above its
``def`` (or above its decorators). Split a long function into well-named helpers; keep it
whole only where splitting would truly hurt (a hot path's statements, a state machine read
top to bottom), and say so there."""

from __future__ import annotations

import ast
import pathlib
from dataclasses import dataclass

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("server", "mobile", "shared")
MAX_LINES = 60
MARK = "# long:"


@dataclass(frozen=True)
class Function:
    path: str
    name: str
    line: int  # of the ``def``
    length: int  # body lines after the docstring
    reason: str | None  # what the ``# long:`` comment above it says

    @property
    def excused(self) -> bool:
        """Within the limit, or over it with a reason given."""
        return self.length <= MAX_LINES or bool(self.reason)

    def __str__(self) -> str:
        return f"{self.path}:{self.line} {self.name} ({self.length} lines)"


def _body_start(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """The line the body is counted from: the ``def``, or the docstring's last line."""
    first = node.body[0] if node.body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return first.end_lineno or node.lineno
    return node.lineno


def _reason(lines: list[str], node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """The reason of a ``# long:`` comment just above the ``def`` or its decorators."""
    above = {node.lineno - 1}
    if node.decorator_list:
        above.add(min(d.lineno for d in node.decorator_list) - 1)
    for number in sorted(above):
        text = lines[number - 1].strip() if number >= 1 else ""
        if text.startswith(MARK):
            return text[len(MARK) :].strip()
    return None


def measure(source: str, path: str) -> list[Function]:
    """Every function (methods and nested ones too) of a module, with its length."""
    lines = source.splitlines()
    return [
        Function(
            path,
            node.name,
            node.lineno,
            (node.end_lineno or node.lineno) - _body_start(node),
            _reason(lines, node),
        )
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


def _functions() -> list[Function]:
    return [
        function
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for function in measure(path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix())
    ]


def test_no_function_runs_past_the_limit_without_saying_why() -> None:
    functions = _functions()
    assert functions, "no function measured: are server/, mobile/ and shared/ where they were?"
    long = [f for f in functions if not f.excused]
    assert long == [], (
        f"functions over {MAX_LINES} lines (after the docstring): split them into well-named "
        f"helpers, or put '{MARK} <why>' on the line above the def\n"
        + "\n".join(str(f) for f in sorted(long, key=lambda f: -f.length))
    )


def _function_of(lines: int, *, above: str = "", decorated: bool = False) -> str:
    body = "".join(f"    x = {i}\n" for i in range(lines))
    decorator = "@staticmethod\n" if decorated else ""
    return f'{above}{decorator}def f():\n    """Doc\n    string."""\n{body}'


@pytest.mark.parametrize(
    ("source", "length", "reason", "excused"),
    [
        (_function_of(60), 60, None, True),
        (_function_of(61), 61, None, False),
        (_function_of(61, above="# long: one statement\n"), 61, "one statement", True),
        (
            _function_of(61, above="# long: one statement\n", decorated=True),
            61,
            "one statement",
            True,
        ),
        (_function_of(61, above="# long:\n"), 61, "", False),
        (_function_of(61, above="# longer than it should be\n"), 61, None, False),
    ],
)
def test_the_measure(source: str, length: int, reason: str | None, excused: bool) -> None:
    """The docstring does not count; the comment is read above the def or its decorators,
    and a ``# long:`` without a reason excuses nothing."""
    (function,) = measure(source, "example.py")
    assert (function.length, function.reason, function.excused) == (length, reason, excused)
