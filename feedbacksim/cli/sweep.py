"""``feedbacksim sweep SCENARIO``: every point of the scenario's ``sweep:`` block, a phase diagram.

Writes into the run directory: ``points/<point>/`` (one file per replication),
``sweep.csv`` (one row per point and analyzer: the fail fraction with its 95% Wilson
interval), ``sweep.json``, ``phase_diagram.png`` and ``manifest.json``. A sweep explores,
it does not judge: it exits 0 when it completes, 2 when the scenario or sweep is invalid.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

from feedbacksim.cli.execution import (
    add_execution_options,
    execution_options,
    print_report_path,
)
from feedbacksim.cli.options import add_scenario_options, load_scenario
from feedbacksim.run.directory import default_run_dir
from feedbacksim.run.runlock import hold_run_directory
from feedbacksim.run.sweep import SweepResults, run_sweep


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``sweep`` subcommand."""
    parser = sub.add_parser(
        "sweep", help="run every point of the scenario's sweep: block and draw its phase diagram"
    )
    parser.add_argument("scenario", help="scenario YAML file with a sweep: block")
    add_execution_options(parser)
    add_scenario_options(parser)
    parser.set_defaults(handler=handle)


def sweep_table(sweep: SweepResults) -> Table:
    """One row per point: its values and each analyzer's fail fraction (95% CI)."""
    table = Table(
        title=f"{sweep.scenario_name}: {len(sweep.points)} points x "
        f"{sweep.replications} replications, seed {sweep.seed}"
    )
    axes = sweep.plan.axes
    for axis in axes:
        table.add_column(axis.label)
    for name in sweep.analyzers:
        table.add_column(f"{name} fail fraction (95% CI)")
    for point, results in zip(sweep.points, sweep.results, strict=True):
        cells = [axis.tick(c) for axis, c in zip(axes, point.coords, strict=True)]
        for s in results.summaries:
            low, high = s.interval
            cells.append(f"{s.fail_fraction:.0%} ({low:.0%}-{high:.0%})")
        table.add_row(*cells)
    return table


def handle(args: argparse.Namespace) -> int:
    """Run the sweep, write its files, print its table; exit 0."""
    scenario = load_scenario(args.scenario, args)
    options = execution_options(args, default_run_dir(f"{scenario.name}-sweep"))
    with hold_run_directory(Path(str(options.directory))):
        sweep = run_sweep(scenario, replications=args.replications, seed=args.seed, options=options)
        out = sweep.save(Path(str(options.directory)), report=args.report)
    Console().print(sweep_table(sweep))
    print(f"phase diagram: {out / 'phase_diagram.png'}")
    print(f"results: {out}")
    print_report_path(args, out)
    return 0
