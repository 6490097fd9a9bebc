"""Terminal output: the verdict table (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from feedbacksim.results import Results


def verdict_table(results: Results) -> Table:
    """Analyzer, severity, metric, fail fraction with its 95% interval, median first detection."""
    table = Table(
        title=f"{results.scenario.name}: {results.replications} replications, seed {results.seed}"
    )
    for column in (
        "analyzer",
        "severity",
        "metric",
        "fail fraction (95% CI)",
        "median first detection",
        "estimate (95% CI)",
        "verdict",
    ):
        table.add_column(column)
    for s in results.summaries:
        low, high = s.interval
        detection = "-" if s.median_detection is None else f"t={s.median_detection:g}"
        verdict = {"fail": "[red]FAIL[/red]", "warn": "[yellow]WARN[/yellow]"}.get(
            s.status, "[green]pass[/green]"
        )
        estimate = "-"
        if "interval" in s.estimate and len(s.estimate) > 1:
            name, value = next((k, v) for k, v in s.estimate.items() if k != "interval")
            lo, hi = s.estimate["interval"]
            estimate = f"{name} {value:.3g} ({lo:.3g}-{hi:.3g})"
        table.add_row(
            s.analyzer,
            s.severity,
            s.metric,
            f"{s.fail_fraction:.0%} ({low:.0%}-{high:.0%})",
            detection,
            estimate,
            verdict,
        )
    return table


def print_verdict(results: Results, console: Console | None = None) -> None:
    """Print the table, each analyzer's sentence and the overall verdict."""
    console = console or Console()
    console.print(verdict_table(results))
    for s in results.summaries:
        console.print(f"- {s.message}")
    colour = "red" if results.verdict == "fail" else "green"
    console.print(f"verdict: [bold {colour}]{results.verdict.upper()}[/bold {colour}]")
