"""The ``feedbacksim`` command: run, and the other subcommands, each in its own module.

Exit codes (:class:`~feedbacksim.errors.ExitCode`): 0 the verdict passes, 1 the design
fails, 2 the scenario or the command is invalid (one line per problem, never a
traceback), 3 no verdict could be reached: any other error during the command. Exit 3
prints one line saying what happened and where its traceback is (``crash.log`` in the
run directory, or a temporary file when there is no run directory yet); ``--debug``
prints the traceback as well. Ctrl-C exits 130.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import traceback
from collections.abc import Sequence
from pathlib import Path

from feedbacksim.cli import compare as compare_command
from feedbacksim.cli import list as list_command
from feedbacksim.cli import report as report_command
from feedbacksim.cli import run as run_command
from feedbacksim.cli import schema as schema_command
from feedbacksim.cli import sweep as sweep_command
from feedbacksim.cli import validate as validate_command
from feedbacksim.errors import ExitCode, RunFailure, ScenarioError

EXIT_PASS, EXIT_FAIL, EXIT_INVALID = ExitCode.PASS, ExitCode.FAIL, ExitCode.INVALID
EXIT_INTERRUPTED = 130
CRASH_LOG = "crash.log"

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
    for command in sub.choices.values():
        command.add_argument(
            "--debug",
            action="store_true",
            help="print the traceback when the command fails with exit 3",
        )
    return parser


def _first_line(exc: BaseException) -> str:
    """``Type: first line of the message``, at most 300 characters."""
    text = str(exc).strip().splitlines()
    message = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
    return message if len(message) <= 300 else message[:297] + "..."


def write_crash_log(exc: BaseException, directory: Path | None) -> Path | None:
    """The traceback of ``exc`` in ``directory/crash.log`` (a temporary file when there is
    no run directory yet); None when neither can be written."""
    text = f"command: feedbacksim {' '.join(sys.argv[1:])}\n" + "".join(
        traceback.format_exception(exc)
    )
    if directory is not None and directory.is_dir():
        try:
            path = directory / CRASH_LOG
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            pass  # e.g. the disk is full: try the temporary directory
    try:
        fd, name = tempfile.mkstemp(prefix="feedbacksim-crash-", suffix=".log")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        return Path(name)
    except OSError:
        return None


def report_crash(exc: BaseException, args: argparse.Namespace) -> int:
    """One line on stderr for an error that left no verdict; the traceback to a log. Exit 3."""
    directory = getattr(args, "run_directory", None)
    details = exc.details if isinstance(exc, RunFailure) else None
    if details is None:
        log = write_crash_log(exc, Path(directory) if directory is not None else None)
        details = str(log) if log is not None else None
    what = str(exc) if isinstance(exc, RunFailure) else _first_line(exc)
    where = f"; details: {details}" if details else ""
    hint = "" if getattr(args, "debug", False) else " (--debug prints the traceback)"
    if getattr(args, "debug", False):
        traceback.print_exception(exc, file=sys.stderr)
    print(f"feedbacksim: no verdict: {what}{where}{hint}", file=sys.stderr)
    return ExitCode.NO_VERDICT


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
        return EXIT_INTERRUPTED
    except Exception as exc:  # any other failure: no verdict, never a traceback by default
        return report_crash(exc, args)


if __name__ == "__main__":
    sys.exit(main())
