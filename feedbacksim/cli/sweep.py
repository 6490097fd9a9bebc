"""``feedbacksim sweep SCENARIO``: every point of the scenario's ``sweep:`` block, a phase diagram.

Writes into the run directory: ``points/<point>/`` (one file per replication),
``sweep.csv`` (one row per point and analyzer: the fail fraction with its 95% Wilson
interval), ``sweep.json``, ``phase_diagram.png`` and ``manifest.json``. A sweep explores,
it does not judge: it exits 0 when it completes, 2 when the scenario or sweep is invalid.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from feedbacksim.cli.execution import (
    add_execution_options,
    add_mlflow_option,
    announce_report,
    check_mlflow,
    execution_options,
    log_to_mlflow,
    print_report_path,
    progress_of,
)
from feedbacksim.cli.options import add_scenario_options, load_scenario
from feedbacksim.errors import Problem, ScenarioError


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``sweep`` subcommand."""
    parser = sub.add_parser(
        "sweep", help="run every point of the scenario's sweep: block and draw its phase diagram"
    )
    parser.add_argument("scenario", help="scenario YAML file with a sweep: block")
    add_execution_options(parser)
    add_scenario_options(parser)
    add_mlflow_option(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Run the sweep, write its files, print its table; exit 0."""
    from feedbacksim.cli.display import print_sweep
    from feedbacksim.run.directory import default_run_dir
    from feedbacksim.run.runlock import hold_run_directory
    from feedbacksim.run.sweep import run_sweep, sweep_plan

    check_mlflow(args)
    scenario = load_scenario(args.scenario, args)
    if not scenario.spec.analyzers:
        origin = scenario.sources.origin(("name",))
        raise ScenarioError(
            Problem(
                "a sweep maps where the analyzers fail, and the scenario has none: add "
                "analyzers: (or use run to record metrics)",
                "analyzers",
                str(scenario.source) if scenario.source else None,
                origin.line,
                origin.column,
            )
        )
    sweep_plan(scenario, replications=args.replications)  # refused before any directory exists
    options = execution_options(args, default_run_dir(f"{scenario.name}-sweep"))
    progress = progress_of(options)
    with hold_run_directory(Path(str(options.directory))):
        sweep = run_sweep(scenario, replications=args.replications, seed=args.seed, options=options)
        progress.phase("results: writing sweep.csv, sweep.json and the phase diagram")
        announce_report(args, progress)
        out = sweep.save(Path(str(options.directory)), report=args.report)
    if not args.quiet:
        print_sweep(sweep)
        print(f"phase diagram: {out / 'phase_diagram.png'}")
        print(f"results: {out}")
    print_report_path(args, out)
    return 3 if log_to_mlflow(args, out, "sweep", progress) else 0
