"""ScenarioError: everything wrong with a scenario, each problem with its file, line and key."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum


def suggest(word: str, choices: Iterable[str]) -> str | None:
    """Return ``" (did you mean 'x'?)"`` for the closest of ``choices``, or None.

    Args:
        word: The unknown word.
        choices: The valid words.

    Returns:
        The hint fragment (with a leading space) or None if nothing is close (cutoff 0.6).
    """
    matches = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {matches[0]!r}?)" if matches else None


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario: where (file, line, column, key path) and what.

    ``override`` names the ``--set`` path (or ``with_overrides`` key) that put the
    offending value there, when it did not come from a file; such problems have no line.
    """

    message: str
    keypath: str = ""
    file: str | None = None
    line: int | None = None
    column: int | None = None
    override: str | None = None

    def __str__(self) -> str:
        where = self.file or "<scenario>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        key = f" {self.keypath}:" if self.keypath else ""
        via = f" (from --set {self.override})" if self.override else ""
        return f"{where}:{key} {self.message}{via}"


class ScenarioError(ValueError):
    """A scenario (file, overrides or command) that cannot be run; carries every problem found."""

    def __init__(self, problems: list[Problem] | Problem | str) -> None:
        if isinstance(problems, str):
            problems = [Problem(problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.problems,))


class ExitCode(IntEnum):
    """What the command's exit status says: the verdict, an invalid input, or no verdict."""

    PASS = 0
    FAIL = 1
    INVALID = 2
    NO_VERDICT = 3


class RunFailure(RuntimeError):
    """A run that could not reach a verdict (exit 3): a fault of the run, not of the design.

    ``details`` names where the full account is (a crash log in the run directory), if any.
    """

    def __init__(self, message: str, details: str | None = None) -> None:
        super().__init__(message)
        self.details = details
