"""The ``feedbacksim`` command: run, and the other subcommands, each in its own module.

Exit codes: 0 the verdict passes, 1 an analyzer failed, 2 the scenario or the command is
invalid. Invalid input is reported in one line per problem, never with a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from feedbacksim.cli import compare as compare_command
from feedbacksim.cli import list as list_command
from feedbacksim.cli import report as report_command
from feedbacksim.cli import run as run_command
from feedbacksim.cli import schema as schema_command
from feedbacksim.cli import sweep as sweep_command
from feedbacksim.cli import validate as validate_command
from feedbacksim.errors import ScenarioError

EXIT_PASS, EXIT_FAIL, EXIT_INVALID = 0, 1, 2

COMMANDS = [
    run_command,
    sweep_command,
    compare_command,
    validate_command,
    schema_command,
    list_command,
    report_command,
]


class _Parser(argparse.ArgumentParser):
    """argparse that exits 2 with one line (its default also exits 2, with usage)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_INVALID, f"feedbacksim: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one subparser per command module."""
    from feedbacksim import __version__

    parser = _Parser(
        prog="feedbacksim", description="Simulate the feedback loops of deployed ML systems."
    )
    parser.add_argument("--version", action="version", version=f"feedbacksim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for module in COMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except ScenarioError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
