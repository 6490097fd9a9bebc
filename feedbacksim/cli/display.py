"""Terminal output: the verdict table (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from feedbacksim.errors import ExitCode
from feedbacksim.run.results import AnalyzerSummary, Results

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
    """Analyzer, severity, metric, fail fraction with its 95% interval, median first detection.

    The estimate column (an analyzer's own number across replications, with its interval)
    is shown only when an analyzer has one, so the table fits an 80-column terminal.
    """
    table = Table(
        title=f"{results.scenario.name}: {results.replications} replications, seed {results.seed}"
    )
    estimates = [_estimate(s) for s in results.summaries]
    columns = ["analyzer", "severity", "metric", "fail fraction (95% CI)", "median first detection"]
    if any(e != "-" for e in estimates):
        columns.append("estimate (95% CI)")
    for column in (*columns, "verdict"):
        table.add_column(column, overflow="fold")
    for s, estimate in zip(results.summaries, estimates, strict=True):
        low, high = s.interval
        detection = "-" if s.median_detection is None else f"t={s.median_detection:g}"
        verdict = {
            "fail": "[red]FAIL[/red]",
            "warn": "[yellow]WARN[/yellow]",
            "inconclusive": "[yellow]INCONCLUSIVE[/yellow]",
        }.get(s.status, "[green]pass[/green]")
        cells = [
            s.analyzer,
            s.severity,
            s.metric,
            f"{s.fail_fraction:.0%} ({low:.0%}-{high:.0%})",
            detection,
        ]
        if len(columns) > 5:
            cells.append(estimate)
        table.add_row(*cells, verdict)
    return table


def print_verdict(results: Results, console: Console | None = None) -> None:
    """Print the verdict with its reason (first line), the table, each analyzer's sentence, the verdict."""
    console = console or Console()
    console.print(verdict_line(results.verdict, results.verdict_reason), soft_wrap=True)
    console.print(verdict_table(results))
    for s in results.summaries:
        console.print(f"- {s.message}")
    colour = COLOURS[results.verdict]
    console.print(f"verdict: [bold {colour}]{results.verdict.upper()}[/bold {colour}]")
