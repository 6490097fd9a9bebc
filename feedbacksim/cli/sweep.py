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
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from feedbacksim.cli.execution import (
    add_execution_options,
    execution_options,
    write_report_unless_skipped,
)
from feedbacksim.cli.options import add_scenario_options, load_scenario

if TYPE_CHECKING:
    from feedbacksim.sweep import SweepResults


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
    from feedbacksim.files import atomic_write_text
    from feedbacksim.phase import phase_diagram
    from feedbacksim.rundir import default_run_dir, package_versions, write_json
    from feedbacksim.sweep import run_sweep

    scenario = load_scenario(args.scenario, args)
    options = execution_options(args, default_run_dir(f"{scenario.name}-sweep"))
    out = options["directory"]
    sweep = run_sweep(scenario, replications=args.replications, seed=args.seed, **options)
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
            "executor": options["executor"],
            "workers": options["workers"],
            "versions": package_versions(),
            "platform": platform.platform(),
            "wall_time_seconds": round(sweep.wall_time, 3),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": ["feedbacksim", *sys.argv[1:]],
        },
    )
    Console().print(sweep_table(sweep))
    print(f"phase diagram: {figure}")
    print(f"results: {out}")
    write_report_unless_skipped(args, out)
    return 0
