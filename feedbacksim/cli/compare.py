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
from typing import TYPE_CHECKING

from feedbacksim.cli.execution import (
    add_execution_options,
    announce_report,
    execution_options,
    print_report_path,
    progress_of,
)
from feedbacksim.cli.options import add_scenario_options, load_scenario, parse_overrides
from feedbacksim.errors import ScenarioError

if TYPE_CHECKING:
    from rich.console import Console

    from feedbacksim.run.compare import Comparison


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
    from rich.console import Console

    from feedbacksim.cli.display import compact_table, verdict_line

    console = console or Console()
    console.print(verdict_line(comparison.verdict, comparison.verdict_reason), soft_wrap=True)
    a, b = comparison.a, comparison.b
    table = compact_table(
        f"A: {a.scenario.name}  vs  B: {b.scenario.name} "
        f"({a.replications} replications each, seed {a.seed}, same seeds)"
    )
    table.add_column("analyzer", no_wrap=True)
    for column in ("A fail fraction (95% CI)", "B fail fraction (95% CI)"):
        table.add_column(column, min_width=10)
    table.add_column("B", no_wrap=True)
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
    diffs = compact_table(f"final {comparison.metric}, paired by replication")
    diffs.add_column("group", no_wrap=True)
    for column in ("mean A", "mean B", "B - A", "95% CI"):
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
    from feedbacksim.cli.display import exit_code
    from feedbacksim.run.compare import compare
    from feedbacksim.run.directory import default_run_dir
    from feedbacksim.run.runlock import hold_run_directory

    if args.b is None and not args.overrides:
        raise ScenarioError("compare needs a second scenario or --set overrides for the variant")
    a = load_scenario(args.a, args, overrides=False)
    b = load_scenario(args.b, args, overrides=False) if args.b else a
    common = parse_overrides(args.common_overrides)
    if common:
        a, b = a.with_overrides(common, "--set-all"), b.with_overrides(common, "--set-all")
    overrides = parse_overrides(args.overrides)
    if overrides:
        b = b.with_overrides(overrides, "--set")
    options = execution_options(args, default_run_dir(f"compare-{a.name}-vs-{b.name}"))
    progress = progress_of(options)
    with hold_run_directory(Path(str(options.directory))):
        comparison = compare(a, b, args.replications, args.seed, args.metric, options=options)
        progress.phase("results: writing comparison.json and comparison.png")
        announce_report(args, progress)
        out = comparison.save(Path(str(options.directory)), report=args.report)
    if not args.quiet:
        print_comparison(comparison)
        print(f"figure: {out / 'comparison.png'}")
        print(f"results: {out}")
    print_report_path(args, out)
    return exit_code(comparison.verdict)
