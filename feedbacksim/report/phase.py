"""Phase diagrams of a sweep: where in parameter space each analyzer fails.

One panel per analyzer. Two grid axes give a heat map of the fail fraction; one axis gives
a line with its 95% Wilson band; anything else (random samples, more axes) a scatter of the
first two swept parameters coloured by fail fraction. matplotlib is imported here, lazily,
and drawn on its Agg canvas without touching pyplot's global state.
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
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = sweep.analyzers
    figure = Figure(figsize=(6.4 * len(names), 4.8), layout="constrained")
    FigureCanvasAgg(figure)
    axes = sweep.plan.axes
    n = sweep.replications
    for k, name in enumerate(names):
        ax = figure.add_subplot(1, len(names), k + 1)
        counts = sweep.fail_counts(name)
        if len(axes) == 2 and all(a.kind != "random" for a in axes):
            _heat_map(figure, ax, axes[0], axes[1], counts / n)
        elif len(axes) == 1 and len(axes[0].paths) == 1:
            _line(ax, axes[0], counts, n)
        else:
            _scatter(figure, ax, sweep, counts.reshape(-1) / n)
        ax.set_title(f"{name}: fail fraction ({n} replications per point)")
    return atomic_save_figure(figure, Path(path), dpi=110)


def _heat_map(figure: Any, ax: Any, rows: Axis, columns: Axis, fraction: np.ndarray) -> None:
    image = ax.imshow(fraction, origin="lower", cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_yticks(range(len(rows)), [rows.tick(i) for i in range(len(rows))])
    ax.set_xticks(range(len(columns)), [columns.tick(i) for i in range(len(columns))])
    ax.set_ylabel(rows.label)
    ax.set_xlabel(columns.label)
    for (i, j), value in np.ndenumerate(fraction):
        ax.text(j, i, f"{value:.2f}", ha="center", va="center", color="w" if value < 0.6 else "k")
    figure.colorbar(image, ax=ax, label="fail fraction")


def _line(ax: Any, axis: Axis, counts: np.ndarray, n: int) -> None:
    numbers = axis.numeric()
    order = np.argsort(numbers) if numbers is not None else np.arange(len(axis))
    x = numbers[order] if numbers is not None else np.arange(len(axis), dtype=float)
    k = counts[order]
    bands = np.array([wilson_interval(int(c), n) for c in k])
    ax.fill_between(x, bands[:, 0], bands[:, 1], alpha=0.3, label="95% Wilson interval")
    ax.plot(x, k / n, marker="o", label="fail fraction")
    if numbers is None:
        ax.set_xticks(x, [axis.tick(int(i)) for i in order])
    ax.set_xlabel(axis.label)
    ax.set_ylim(-0.02, 1.02)
    ax.legend()


def _scatter(figure: Any, ax: Any, sweep: SweepResults, fraction: np.ndarray) -> None:
    paths = [p for a in sweep.plan.axes for p in a.paths][:2]
    columns = []
    for path in paths:
        column = [point.overrides[path] for point in sweep.points]
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in column)
        columns.append(np.asarray(column, dtype=float) if numeric else np.arange(len(column)))
    x = columns[0]
    y = columns[1] if len(columns) > 1 else np.zeros_like(x)
    image = ax.scatter(x, y, c=fraction, cmap="viridis", vmin=0.0, vmax=1.0, s=60)
    ax.set_xlabel(paths[0])
    if len(paths) > 1:
        ax.set_ylabel(paths[1])
    figure.colorbar(image, ax=ax, label="fail fraction")
