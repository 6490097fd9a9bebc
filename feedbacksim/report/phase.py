"""Phase diagrams of a sweep: where in parameter space each analyzer fails.

One panel per analyzer, stacked so the figure keeps a document column's width. Two grid
axes give a heat map of the fail fraction, each cell labelled with its fraction and 95%
Wilson interval; one axis gives a line with its 95% Wilson band; anything else (random
samples, more axes) a scatter of the first two swept parameters coloured by fail fraction.
Axes are named by the swept parameters' declared descriptions, not their dotted paths.
matplotlib is imported here, lazily, and drawn on its Agg canvas without touching pyplot's
global state.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from feedbacksim.analyzers.statistics import wilson_interval
from feedbacksim.run.files import atomic_save_figure

if TYPE_CHECKING:
    from feedbacksim.run.sweep import SweepResults
    from feedbacksim.scenario.sweep_block import Axis


def phase_diagram(sweep: SweepResults, path: str | os.PathLike[str]) -> Path:
    """Draw the sweep's phase diagram into ``path`` (PNG) and return the path."""
    from feedbacksim.report.style import DPI

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    return atomic_save_figure(phase_plot(sweep), target, dpi=DPI)


def phase_plot(sweep: SweepResults) -> Any:
    """The phase diagram as a matplotlib Figure: one panel per analyzer."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from feedbacksim.report.labels import axis_label
    from feedbacksim.report.style import COLUMN_FIGSIZE, figure_style

    names = sweep.analyzers
    scenario = sweep.results[0].scenario.to_dict() if sweep.results else {}
    axes = sweep.plan.axes
    labels = [axis_label(scenario, a.paths, width=45 if i == 0 else 60) for i, a in enumerate(axes)]
    n = sweep.replications
    width, height = COLUMN_FIGSIZE
    with figure_style():
        figure = Figure(figsize=(width, (height + 0.4) * len(names)), layout="constrained")
        FigureCanvasAgg(figure)
        for k, name in enumerate(names):
            ax = figure.add_subplot(len(names), 1, k + 1)
            counts = sweep.fail_counts(name)
            if len(axes) == 2 and all(a.kind != "random" for a in axes):
                _heat_map(figure, ax, axes[0], axes[1], counts, n, labels)
            elif len(axes) == 1 and len(axes[0].paths) == 1:
                _line(ax, axes[0], counts, n, labels[0])
            else:
                _scatter(figure, ax, sweep, counts.reshape(-1) / n, scenario)
            ax.set_title(f"{name}: fail fraction ({n} replications per point)")
    return figure


def _heat_map(
    figure: Any, ax: Any, rows: Axis, columns: Axis, counts: np.ndarray, n: int, labels: list[str]
) -> None:
    fraction = counts / n
    image = ax.imshow(fraction, origin="lower", cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_yticks(range(len(rows)), [rows.tick(i) for i in range(len(rows))])
    ax.set_xticks(range(len(columns)), [columns.tick(i) for i in range(len(columns))])
    ax.set_ylabel(labels[0], fontsize="small")
    ax.set_xlabel(labels[1], fontsize="small")
    ax.grid(False)
    small = len(rows) * len(columns) > 36
    for (i, j), value in np.ndenumerate(fraction):
        low, high = wilson_interval(int(counts[i, j]), n)
        text = f"{value:.0%}" if small else f"{value:.0%}\n({low:.0%}-{high:.0%})"
        ax.text(
            j,
            i,
            text,
            ha="center",
            va="center",
            fontsize="x-small",
            color="w" if value < 0.6 else "k",
        )
    figure.colorbar(image, ax=ax, label="fail fraction (cell: 95% Wilson interval)")


def _line(ax: Any, axis: Axis, counts: np.ndarray, n: int, label: str) -> None:
    numbers = axis.numeric()
    order = np.argsort(numbers) if numbers is not None else np.arange(len(axis))
    x = numbers[order] if numbers is not None else np.arange(len(axis), dtype=float)
    k = counts[order]
    bands = np.array([wilson_interval(int(c), n) for c in k])
    ax.fill_between(x, bands[:, 0], bands[:, 1], alpha=0.3, label="95% Wilson interval")
    ax.plot(x, k / n, marker="o", label="fail fraction")
    if numbers is None:
        ax.set_xticks(x, [axis.tick(int(i)) for i in order])
    ax.set_xlabel(label, fontsize="small")
    ax.set_ylabel("fail fraction")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize="small")


def _scatter(
    figure: Any, ax: Any, sweep: SweepResults, fraction: np.ndarray, scenario: dict[str, Any]
) -> None:
    from feedbacksim.report.labels import axis_label

    paths = [p for a in sweep.plan.axes for p in a.paths][:2]
    columns = []
    for path in paths:
        column = [point.overrides[path] for point in sweep.points]
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in column)
        columns.append(np.asarray(column, dtype=float) if numeric else np.arange(len(column)))
    x = columns[0]
    y = columns[1] if len(columns) > 1 else np.zeros_like(x)
    image = ax.scatter(x, y, c=fraction, cmap="viridis", vmin=0.0, vmax=1.0, s=60)
    ax.set_xlabel(axis_label(scenario, (paths[0],), width=55), fontsize="small")
    if len(paths) > 1:
        ax.set_ylabel(axis_label(scenario, (paths[1],), width=40), fontsize="small")
    figure.colorbar(image, ax=ax, label="fail fraction")
