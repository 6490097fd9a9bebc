"""``feedbacksim report DIR``: regenerate a run directory's figures, report.md and report.html."""

from __future__ import annotations

import argparse
from pathlib import Path

from feedbacksim.errors import ScenarioError


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``report`` subcommand."""
    parser = sub.add_parser(
        "report", help="regenerate the report of a run, sweep or compare directory"
    )
    parser.add_argument("directory", type=Path, help="a directory written by run, sweep or compare")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Write the report; exit 2 when the directory holds no run."""
    from feedbacksim.report import write_report
    from feedbacksim.run.runlock import hold_run_directory

    if not (args.directory / "manifest.json").is_file():
        raise ScenarioError(
            f"{args.directory}: not a run, sweep or compare directory (no manifest.json)"
        )
    with hold_run_directory(args.directory):
        paths = write_report(args.directory)
    print(f"report: {paths['html']}")
    return 0
