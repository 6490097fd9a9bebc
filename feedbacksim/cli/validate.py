"""``feedbacksim validate FILE...``: check scenario files without running them.

Exit 0 when every file is valid, 2 otherwise; every problem of every file is printed, one
line each (``file:line:column: key.path: message``).
"""

from __future__ import annotations

import argparse
import sys

from feedbacksim.cli.options import add_scenario_options, load_scenario, parse_overrides
from feedbacksim.errors import ScenarioError


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``validate`` subcommand."""
    parser = sub.add_parser("validate", help="check scenario files and print every problem")
    parser.add_argument("files", nargs="+", metavar="FILE", help="scenario YAML file(s)")
    add_scenario_options(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Validate each file; exit 0 when all are valid, 2 otherwise."""
    parse_overrides(args.overrides)  # a malformed --set fails once, before any file
    invalid = 0
    for path in args.files:
        try:
            load_scenario(path, args)
        except ScenarioError as exc:
            invalid += 1
            for problem in exc.problems:
                print(f"error: {problem}", file=sys.stderr)
        else:
            print(f"{path}: ok")
    if invalid:
        print(f"{invalid} of {len(args.files)} file(s) invalid", file=sys.stderr)
    return 2 if invalid else 0
