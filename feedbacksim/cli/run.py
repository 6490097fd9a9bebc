"""``feedbacksim run SCENARIO``: replications, a verdict table, a run directory, an exit code."""

from __future__ import annotations

import argparse
from pathlib import Path

from feedbacksim.cli.execution import (
    add_execution_options,
    add_mlflow_option,
    check_mlflow,
    execution_options,
    log_to_mlflow,
    progress_of,
    write_report_unless_skipped,
)
from feedbacksim.cli.options import add_scenario_options, load_scenario


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
    add_mlflow_option(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Run the scenario; exit 0 when the verdict passes, 1 when it fails, 3 when inconclusive."""
    from feedbacksim.cli.display import exit_code, print_verdict
    from feedbacksim.run.directory import default_run_dir, write_run
    from feedbacksim.run.runlock import hold_run_directory

    check_mlflow(args)
    scenario = load_scenario(args.scenario, args)
    options = execution_options(args, default_run_dir(scenario.name))
    progress = progress_of(options)
    with hold_run_directory(Path(str(options.directory))):
        results = scenario.run(replications=args.replications, seed=args.seed, options=options)
        progress.phase(f"results: writing findings.json and the metrics to {options.directory}")
        out = write_run(
            results, Path(str(options.directory)), extra=options.describe(), csv=args.csv
        )
        if not args.quiet:
            print_verdict(results)
            print(f"results: {out}")
        write_report_unless_skipped(args, out, progress)
    if log_to_mlflow(args, out, "run", progress):
        return 3
    return exit_code(results.verdict)
