"""``feedbacksim validate FILE...``: check scenario files without running them.

Exit 0 when every file is valid, 2 otherwise; every problem of every file is printed, one
line each (``file:line:column: key.path: message``). Modules a file lists under
``plugins:`` are code: they are imported only with ``--plugin MODULE`` or
``--trust-plugins``; without, the components that need them are named as not checked.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from feedbacksim.cli.options import add_scenario_options, load_scenario, parse_overrides
from feedbacksim.errors import ScenarioError

if TYPE_CHECKING:
    from feedbacksim.scenario.scenario import Scenario


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``validate`` subcommand."""
    parser = sub.add_parser("validate", help="check scenario files and print every problem")
    parser.add_argument("files", nargs="+", metavar="FILE", help="scenario YAML file(s)")
    add_scenario_options(parser)
    parser.set_defaults(handler=handle)


def _unchecked(scenario: Scenario) -> str:
    """What validate could not check because the file's plugins were not trusted."""
    if scenario.trusted is None:
        return ""
    modules = [p for p in scenario.spec.plugins if p not in scenario.trusted]
    if not modules:
        return ""
    flags = " ".join(f"--plugin {m}" for m in modules)
    unchecked = f"; not checked: {', '.join(scenario.unchecked)}" if scenario.unchecked else ""
    return (
        f" (plugin modules not imported: {', '.join(modules)}{unchecked}; they run code: "
        f"pass {flags} or --trust-plugins to check them)"
    )


def handle(args: argparse.Namespace) -> int:
    """Validate each file; exit 0 when all are valid, 2 otherwise."""
    parse_overrides(args.overrides)  # a malformed --set fails once, before any file
    invalid = 0
    for path in args.files:
        try:
            scenario = load_scenario(path, args, partial=True)
        except ScenarioError as exc:
            invalid += 1
            for problem in exc.problems:
                print(f"error: {problem}", file=sys.stderr)
        else:
            print(f"{path}: ok{_unchecked(scenario)}")
    if invalid:
        print(f"{invalid} of {len(args.files)} file(s) invalid", file=sys.stderr)
    return 2 if invalid else 0
