"""``feedbacksim compare A.yaml [B.yaml]``: two designs under the same seeds, side by side.

B is the second file, or A with the ``--set`` overrides (``--set`` always applies to B only;
``--set-all`` applies to both, e.g. a shorter horizon).
Exit 0 when B fails in no more replications than A on every shared analyzer, 1 otherwise,
2 when a scenario or the command is invalid, 3 when the comparison is inconclusive (A or B
never deployed a model, skipped most retrains, or could not be judged in enough
replications to change the comparison). Writes ``a/`` and ``b/`` (one file per
replication), ``comparison.json``, ``comparison.png`` and ``manifest.json``.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from rich.console import Console
from rich.table import Table

from feedbacksim.cli.display import exit_code, verdict_line
from feedbacksim.cli.execution import (
    add_execution_options,
    execution_options,
    print_report_path,
)
from feedbacksim.cli.options import add_scenario_options, parse_overrides
from feedbacksim.errors import ScenarioError
from feedbacksim.run.compare import Comparison, compare
from feedbacksim.run.directory import default_run_dir
from feedbacksim.run.runlock import hold_run_directory
from feedbacksim.scenario.scenario import load


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``compare`` subcommand."""
    parser = sub.add_parser(
        "compare", help="run two designs with the same seeds; exit 0 when B is at least as good"
    )
    parser.add_argument("a", help="scenario A (the baseline)")
    parser.add_argument("b", nargs="?", help="scenario B (default: A with the --set overrides)")
    parser.add_argument(
        "--metric", help="metric whose final value is compared (default: the first analyzer's)"
    )
    parser.add_argument(
        "--set-all",
        dest="common_overrides",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="override a key in both A and B (e.g. horizon=500)",
    )
    add_execution_options(parser)
    add_scenario_options(parser)
    parser.set_defaults(handler=handle)


def _interval(low: float, high: float) -> str:
    if math.isnan(low):
        return "-"
    return f"{low:+.3g} to {high:+.3g}"


def print_comparison(comparison: Comparison, console: Console | None = None) -> None:
    """The analyzer table, the paired-difference table and the conclusion."""
    console = console or Console()
    console.print(verdict_line(comparison.verdict, comparison.verdict_reason), soft_wrap=True)
    a, b = comparison.a, comparison.b
    table = Table(
        title=f"A: {a.scenario.name}  vs  B: {b.scenario.name} "
        f"({a.replications} replications each, seed {a.seed}, same seeds)"
    )
    for column in ("analyzer", "A fail fraction (95% CI)", "B fail fraction (95% CI)", "B"):
        table.add_column(column)
    for row in comparison.analyzers:
        table.add_row(
            row.analyzer,
            f"{row.fraction_a:.0%} ({row.interval_a[0]:.0%}-{row.interval_a[1]:.0%})",
            f"{row.fraction_b:.0%} ({row.interval_b[0]:.0%}-{row.interval_b[1]:.0%})",
            "[yellow]undecided[/yellow]"
            if not row.decided
            else "[green]at least as good[/green]"
            if row.b_at_least_as_good
            else "[red]worse[/red]",
        )
    console.print(table)
    diffs = Table(title=f"final {comparison.metric}, paired by replication")
    for column in ("group", "mean A", "mean B", "B - A", "95% CI"):
        diffs.add_column(column)
    for d in comparison.differences:
        diffs.add_row(
            d.group or "-",
            f"{d.mean_a:.4g}",
            f"{d.mean_b:.4g}",
            f"{d.difference:+.4g}",
            _interval(d.low, d.high),
        )
    console.print(diffs)
    if comparison.verdict == "inconclusive":
        console.print("[bold yellow]No verdict: the comparison is inconclusive[/bold yellow]")
    elif comparison.b_at_least_as_good:
        console.print("[bold green]B is at least as good as A on every analyzer[/bold green]")
    else:
        console.print("[bold red]B is worse than A on at least one analyzer[/bold red]")


def handle(args: argparse.Namespace) -> int:
    """Run both designs; exit 0 when B is at least as good as A, 1 when worse, 3 when inconclusive."""
    if args.b is None and not args.overrides:
        raise ScenarioError("compare needs a second scenario or --set overrides for the variant")
    a = load(args.a, plugins=args.plugins)
    b = load(args.b, plugins=args.plugins) if args.b else a
    common = parse_overrides(args.common_overrides)
    if common:
        a, b = a.with_overrides(common), b.with_overrides(common)
    overrides = parse_overrides(args.overrides)
    if overrides:
        b = b.with_overrides(overrides)
    options = execution_options(args, default_run_dir(f"compare-{a.name}-vs-{b.name}"))
    with hold_run_directory(Path(str(options.directory))):
        comparison = compare(a, b, args.replications, args.seed, args.metric, options=options)
        out = comparison.save(Path(str(options.directory)), report=args.report)
    print_comparison(comparison)
    print(f"figure: {out / 'comparison.png'}")
    print(f"results: {out}")
    print_report_path(args, out)
    return exit_code(comparison.verdict)
