"""Errors that carry their own exit code and user-facing message.

Exit codes are part of the CI contract (see README): 0 pass, 1 the gate blocks,
2 usage error or invalid input, 3 internal error.
"""

from __future__ import annotations

EXIT_PASS = 0
EXIT_BLOCKED = 1
EXIT_INPUT = 2
EXIT_INTERNAL = 3


class CxauditError(Exception):
    """Base class: an error whose message is written for the user."""

    exit_code = EXIT_INTERNAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def format(self) -> str:
        """Return the message and, when there is one, the hint on its own line."""
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class InputError(CxauditError):
    """Invalid input from the user: a file, a column, a model. Exit code 2."""

    exit_code = EXIT_INPUT


class DataError(InputError):
    """A data file is missing, empty, unreadable or lacks a column the policy names."""


class ModelError(InputError):
    """A model cannot be loaded or used (untrusted pickle, no predict, ...)."""


class PolicyError(InputError):
    """A policy file is invalid; holds every problem found, not just the first."""

    def __init__(self, problems: list[PolicyProblem]) -> None:
        self.problems = problems
        plural = "s" if len(problems) != 1 else ""
        header = f"{len(problems)} problem{plural} in the policy:"
        super().__init__("\n".join([header, *(p.format() for p in problems)]))


class PolicyProblem:
    """One located policy problem: ``FILE:LINE:COL: yaml.path: message``."""

    __slots__ = ("file", "line", "column", "path", "message", "hint")

    def __init__(
        self,
        *,
        file: str,
        line: int | None,
        column: int | None,
        path: str,
        message: str,
        hint: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.column = column
        self.path = path
        self.message = message
        self.hint = hint

    def format(self) -> str:
        """Render as ``FILE:LINE:COL: path: message`` with an indented hint."""
        where = self.file
        if self.line is not None:
            where += f":{self.line}:{self.column or 1}"
        text = f"{where}: {self.path or '<top>'}: {self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text

    def __repr__(self) -> str:
        return f"PolicyProblem({self.format()!r})"
