"""The comparison figure: fail fractions of A and B side by side, then the metric per group over time."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from feedbacksim.run.compare import Comparison, metric_bands
from feedbacksim.run.files import atomic_save_figure

if TYPE_CHECKING:
    from feedbacksim.run.results import Results


def _references(results: Results, metric: str) -> list[str | float]:
    """The references the scenario's analyzers hold ``metric`` to (metric names or constants)."""
    out: list[str | float] = []
    for analyzer in results.scenario.analyzers():
        reference = getattr(analyzer, "reference", None)
        if (
            getattr(analyzer, "metric", None) == metric
            and reference is not None
            and not isinstance(reference, bool)
            and reference not in out
        ):
            out.append(reference)
    return out


def _signed(value: float) -> str:
    """A difference rounded for a title: two significant digits, sign always shown."""
    return "nan" if value != value else f"{value:+.2g}"


def comparison_figure(comparison: Comparison, path: str | os.PathLike[str]) -> Path:
    """Draw :func:`comparison_plot` into ``path`` (PNG) and return the path."""
    from feedbacksim.report.style import DPI

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    return atomic_save_figure(comparison_plot(comparison), target, dpi=DPI)


def comparison_plot(comparison: Comparison) -> Any:
    """Fail fractions side by side (95% Wilson intervals), then the metric over time per group.

    The top panel has one pair of bars per analyzer, each labelled with its value so that a
    0% bar is visible. Below it, one panel per group: the metric's median and 10-90% band for
    A and B, with the references the analyzers hold the metric to (dashed), and the group's
    paired difference of the final value in the panel's title.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from feedbacksim.report.labels import metric_label, time_unit
    from feedbacksim.report.style import COLUMN_FIGSIZE, PALETTE, figure_style

    scenario = comparison.a.scenario.to_dict()
    groups = comparison.differences
    width, height = COLUMN_FIGSIZE
    with figure_style():
        figure = Figure(
            figsize=(width, height * 0.75 * (1 + len(groups)) + 0.4), layout="constrained"
        )
        FigureCanvasAgg(figure)
        panels = figure.subplots(1 + len(groups), 1, squeeze=False)[:, 0]
        bars = panels[0]
        names = [row.analyzer for row in comparison.analyzers]
        x = np.arange(len(names))
        labels = (comparison.a.scenario.name, comparison.b.scenario.name)
        for k, (offset, label, fractions, intervals) in enumerate(
            (
                (
                    -0.2,
                    f"A: {labels[0]}",
                    [r.fraction_a for r in comparison.analyzers],
                    [r.interval_a for r in comparison.analyzers],
                ),
                (
                    0.2,
                    f"B: {labels[1]}",
                    [r.fraction_b for r in comparison.analyzers],
                    [r.interval_b for r in comparison.analyzers],
                ),
            )
        ):
            f = np.asarray(fractions)
            low, high = np.asarray(intervals).T
            drawn = bars.bar(
                x + offset,
                f,
                width=0.36,
                label=label,
                color=PALETTE[k],
                edgecolor=PALETTE[k],
                linewidth=1.5,
                yerr=[f - low, high - f],
                capsize=4,
            )
            # A stub at the bar's value keeps a 0% bar visible, not only its error bar.
            bars.hlines(f, x + offset - 0.18, x + offset + 0.18, color=PALETTE[k], linewidth=4)
            bars.bar_label(drawn, labels=[f"{v:.0%}" for v in f], padding=3, fontsize="small")
        bars.axhline(0, color="black", linewidth=0.8)
        bars.set_xticks(x, names)
        bars.set_ylim(0, 1.15)
        bars.set_ylabel("fail fraction\n(95% Wilson interval)")
        bars.set_title(f"{comparison.a.replications} replications each, the same seeds for A and B")
        bars.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, -0.12),
            ncol=2,
            frameon=False,
            fontsize="small",
        )
        references = _references(comparison.a, comparison.metric)
        unit = time_unit(scenario)
        for panel, d in zip(panels[1:], groups, strict=True):
            for k, (label, results) in enumerate((("A", comparison.a), ("B", comparison.b))):
                times, (p10, p50, p90) = metric_bands(results, comparison.metric, d.group)
                colour = PALETTE[k]
                panel.plot(times, p50, color=colour, label=f"{label} median, 10-90% band")
                panel.fill_between(times, p10, p90, color=colour, alpha=0.2, linewidth=0)
            for reference in references:
                if isinstance(reference, str):
                    times, (_, ref, _) = metric_bands(comparison.a, reference, d.group)
                    panel.plot(times, ref, color="black", linestyle="--", label=reference)
                else:
                    panel.axhline(
                        float(reference), color="black", linestyle="--", label=f"{reference:g}"
                    )
            name = f"{comparison.metric}[{d.group}]" if d.group else comparison.metric
            panel.set_title(
                f"{name}: final B - A = {_signed(d.difference)} "
                f"({d.confidence:.0%} CI {_signed(d.low)} to {_signed(d.high)})",
                fontsize="medium",
            )
            panel.set_ylabel(metric_label(scenario, comparison.metric), fontsize="small")
        panels[-1].set_xlabel(f"time ({unit})")
        if len(panels) > 1:
            handles, names = panels[1].get_legend_handles_labels()
            figure.legend(
                handles,
                names,
                loc="outside lower center",
                ncol=len(names),
                frameon=False,
                fontsize="small",
            )
    return figure
