"""``feedbacksim run SCENARIO``: replications, a verdict table, a run directory, an exit code."""

from __future__ import annotations

import argparse
from pathlib import Path

from feedbacksim.cli.display import exit_code, print_verdict
from feedbacksim.cli.execution import (
    add_execution_options,
    execution_options,
    write_report_unless_skipped,
)
from feedbacksim.cli.options import add_scenario_options, load_scenario
from feedbacksim.run.directory import default_run_dir, write_run
from feedbacksim.run.runlock import hold_run_directory


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``run`` subcommand."""
    parser = sub.add_parser("run", help="run a scenario and print its verdict")
    parser.add_argument("scenario", help="scenario YAML file")
    add_execution_options(parser)
    parser.add_argument(
        "--csv",
        action="store_true",
        help="also write metrics.csv (metrics.parquet is always written)",
    )
    add_scenario_options(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Run the scenario; exit 0 when the verdict passes, 1 when it fails, 3 when inconclusive."""
    scenario = load_scenario(args.scenario, args)
    options = execution_options(args, default_run_dir(scenario.name))
    with hold_run_directory(Path(str(options.directory))):
        results = scenario.run(replications=args.replications, seed=args.seed, options=options)
        out = write_run(
            results, Path(str(options.directory)), extra=options.describe(), csv=args.csv
        )
        print_verdict(results)
        print(f"results: {out}")
        write_report_unless_skipped(args, out)
    return exit_code(results.verdict)
