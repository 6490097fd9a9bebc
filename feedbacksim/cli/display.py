"""Terminal output: the verdict and sweep tables (rich), sized for an 80-column terminal.

Names (analyzers, metrics, parameters) are never broken: a column that holds names does
not wrap, several metrics go one per line under their analyzer, and long dotted paths
are shown by their last part with the full path named under the table. Only free text
(headers, intervals) wraps, at spaces.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.table import Table

from feedbacksim.errors import ExitCode
from feedbacksim.run.results import AnalyzerSummary, Results

if TYPE_CHECKING:
    from feedbacksim.run.sweep import SweepResults


def compact_table(title: str) -> Table:
    """A table with one space between columns and no side borders: most columns in 80."""
    return Table(
        title=title,
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        pad_edge=False,
        collapse_padding=True,
    )


COLOURS = {"fail": "red", "inconclusive": "yellow", "pass": "green"}
EXIT_CODES = {"pass": ExitCode.PASS, "fail": ExitCode.FAIL, "inconclusive": ExitCode.NO_VERDICT}


def exit_code(verdict: str) -> ExitCode:
    """The exit status of a verdict: 0 pass, 1 fail, 3 inconclusive (no verdict)."""
    return EXIT_CODES[verdict]


def verdict_line(verdict: str, reason: str) -> str:
    """The first line of a command's output: the verdict and its reason with the numbers."""
    colour = COLOURS[verdict]
    return f"verdict: [bold {colour}]{verdict.upper()}[/bold {colour}]: {reason}"


def _estimate(summary: AnalyzerSummary) -> str:
    """An analyzer's own number across replications, e.g. ``amplification 22 (16-31)``."""
    if "interval" not in summary.estimate or len(summary.estimate) < 2:
        return "-"
    name, value = next((k, v) for k, v in summary.estimate.items() if k != "interval")
    lo, hi = summary.estimate["interval"]
    return f"{name} {value:.3g} ({lo:.3g}-{hi:.3g})"


def verdict_table(results: Results) -> Table:
    """Analyzer (its metrics and estimate beneath), severity, fail fraction with its 95%
    interval, median first detection and the verdict.

    The estimate (an analyzer's own number across replications, with its interval) is
    shown under the analyzer's metrics when it has one.
    """
    table = compact_table(
        f"{results.scenario.name}: {results.replications} replications, seed {results.seed}"
    )
    table.add_column("analyzer\n  metric", no_wrap=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("fail fraction\n(95% CI)", min_width=10)
    table.add_column("median first\ndetection", min_width=9)
    table.add_column("verdict", no_wrap=True)
    for s in results.summaries:
        low, high = s.interval
        detection = "-" if s.median_detection is None else f"t={s.median_detection:g}"
        verdict = {
            "fail": "[red]FAIL[/red]",
            "warn": "[yellow]WARN[/yellow]",
            "inconclusive": "[yellow]INCONCLUSIVE[/yellow]",
        }.get(s.status, "[green]pass[/green]")
        names = [s.analyzer, *(f"  {m}" for m in str(s.metric).split(", ") if m)]
        estimate = _estimate(s)
        if estimate != "-":
            names.append(f"  [dim]{estimate}[/dim]")
        table.add_row(
            "\n".join(names),
            s.severity,
            f"{s.fail_fraction:.0%} ({low:.0%}-{high:.0%})",
            detection,
            verdict,
        )
    return table


def _short_path(path: str) -> str:
    """``environment.params.incident_rates.0`` -> ``incident_rates.0``."""
    parts = path.split(".")
    keep = [parts.pop()]
    while parts and keep[0].isdigit():
        keep.insert(0, parts.pop())
    return ".".join(keep)


def sweep_table(sweep: SweepResults) -> tuple[Table, list[str]]:
    """One row per point: its values and each analyzer's fail fraction (95% CI).

    Returns the table and the lines that name each column's full parameter path.
    """
    table = compact_table(
        f"{sweep.scenario_name}: {len(sweep.points)} points x "
        f"{sweep.replications} replications, seed {sweep.seed}"
    )
    axes = sweep.plan.axes
    notes = []
    for axis in axes:
        short = " + ".join(_short_path(p) for p in axis.paths)
        table.add_column(short.replace(" + ", " +\n"), no_wrap=True)
        if short != axis.label:
            notes.append(f"{short}: {axis.label}")
    for name in sweep.analyzers:
        table.add_column(f"{name} fail fraction (95% CI)", min_width=10)
    for point, results in zip(sweep.points, sweep.results, strict=True):
        cells = [axis.tick(c) for axis, c in zip(axes, point.coords, strict=True)]
        for s in results.summaries:
            low, high = s.interval
            cells.append(f"{s.fail_fraction:.0%} ({low:.0%}-{high:.0%})")
        table.add_row(*cells)
    return table, notes


def print_sweep(sweep: SweepResults, console: Console | None = None) -> None:
    """Print the sweep table and the full path of each swept column."""
    console = console or Console()
    table, notes = sweep_table(sweep)
    console.print(table)
    for note in notes:
        console.print(f"  {note}", highlight=False)


def print_verdict(results: Results, console: Console | None = None) -> None:
    """Print the verdict with its reason (first line), the table, each analyzer's sentence, the verdict."""
    console = console or Console()
    console.print(verdict_line(results.verdict, results.verdict_reason), soft_wrap=True)
    console.print(verdict_table(results))
    for s in results.summaries:
        console.print(f"- {s.message}")
    colour = COLOURS[results.verdict]
    console.print(f"verdict: [bold {colour}]{results.verdict.upper()}[/bold {colour}]")
