"""``feedbacksim sweep SCENARIO``: every point of the scenario's ``sweep:`` block, a phase diagram.

Writes into the run directory: ``points/<point>/`` (one file per replication),
``sweep.csv`` (one row per point and analyzer: the fail fraction with its 95% Wilson
interval), ``sweep.json``, ``phase_diagram.png`` and ``manifest.json``. A sweep explores,
it does not judge: it exits 0 when it completes, 2 when the scenario or sweep is invalid.
"""

from __future__ import annotations

import argparse
import platform
import sys
from datetime import datetime, timezone

from feedbacksim.cli.display import print_sweep
from feedbacksim.cli.execution import (
    add_execution_options,
    add_mlflow_option,
    execution_options,
    log_to_mlflow,
    write_report_unless_skipped,
)
from feedbacksim.cli.options import add_scenario_options, load_scenario
from feedbacksim.files import atomic_write_text
from feedbacksim.phase import phase_diagram
from feedbacksim.rundir import default_run_dir, package_versions, write_json
from feedbacksim.sweep import run_sweep


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
    if args.mlflow is not None:
        from feedbacksim.mlflow import require_mlflow

        require_mlflow()
    scenario = load_scenario(args.scenario, args)
    options = execution_options(args, default_run_dir(f"{scenario.name}-sweep"))
    out = options["directory"]
    sweep = run_sweep(scenario, replications=args.replications, seed=args.seed, **options)
    progress = options["progress"]
    progress.phase("results: writing sweep.csv, sweep.json and the phase diagram")
    atomic_write_text(out / "sweep.csv", sweep.to_frame().to_csv(index=False))
    write_json(out / "sweep.json", sweep.to_json())
    figure = phase_diagram(sweep, out / "phase_diagram.png")
    write_json(
        out / "manifest.json",
        {
            "scenario": scenario.to_dict(),
            "source": str(scenario.source) if scenario.source else None,
            "seed": sweep.seed,
            "points": len(sweep.points),
            "replications_per_point": sweep.replications,
            "overrides": scenario.overrides,
            "executor": options["executor"],
            "workers": options["workers"],
            "versions": package_versions(),
            "platform": platform.platform(),
            "wall_time_seconds": round(sweep.wall_time, 3),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": ["feedbacksim", *sys.argv[1:]],
        },
    )
    if not args.quiet:
        print_sweep(sweep)
        print(f"phase diagram: {figure}")
        print(f"results: {out}")
    write_report_unless_skipped(args, out, progress)
    return 3 if log_to_mlflow(args, out, "sweep", progress) else 0
