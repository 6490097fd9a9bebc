"""Figures for design reviews: metric bands across replications, the verdict table.

Each function takes plain data (a long metrics frame, events, summaries) and returns a
matplotlib Figure; :mod:`feedbacksim.report.build` saves them under ``figures/``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from feedbacksim.report.content import Table
from feedbacksim.report.style import PALETTE

MAX_EVENT_LINES = 60  # above this, retrains are drawn as a rug rather than as lines


def band_arrays(frame: pd.DataFrame, metric: str) -> tuple[np.ndarray, list[str], np.ndarray]:
    """``(times, groups, values[replication, time, group])`` of one metric from a long frame."""
    sub = frame[frame["metric"] == metric]
    table = sub.pivot_table(
        index=["replication", "time"], columns="group", values="value", sort=True
    )
    groups = [str(g) for g in table.columns]
    replications = table.index.get_level_values(0).unique()
    times = table.index.get_level_values(1).unique().to_numpy(dtype=float)
    values = table.to_numpy().reshape(len(replications), len(times), len(groups))
    return times, groups, values


def metric_bands(
    frame: pd.DataFrame,
    metric: str,
    *,
    time_unit: str = "days",
    reference: str | None = None,
    events: pd.DataFrame | None = None,
    detections: Sequence[tuple[str, float]] = (),
    title: str | None = None,
) -> Any:
    """Median and 10-90% band across replications, per group, with retrains and detections marked.

    ``reference`` (another metric) is drawn dashed per group; ``events`` are replication 0's
    retrain events; ``detections`` are ``(label, median first detection time)`` pairs.
    """
    from matplotlib.figure import Figure

    times, groups, values = band_arrays(frame, metric)
    fig = Figure()
    ax = fig.subplots()
    low, median, high = np.nanquantile(values, [0.1, 0.5, 0.9], axis=0)
    ref = band_arrays(frame, reference) if reference else None
    for g, group in enumerate(groups):
        colour = PALETTE[g % len(PALETTE)]
        label = f"{metric}[{group}]" if group else metric
        ax.fill_between(times, low[:, g], high[:, g], color=colour, alpha=0.2, linewidth=0)
        ax.plot(times, median[:, g], color=colour, label=f"{label} median (band: 10-90%)")
        if ref is not None and group in ref[1]:
            r = ref[1].index(group)
            ax.plot(
                ref[0],
                np.nanmedian(ref[2][:, :, r], axis=0),
                color=colour,
                linestyle="--",
                label=f"{reference}[{group}]",
            )
    _mark_events(ax, events)
    for i, (label, when) in enumerate(detections):
        ax.axvline(when, color="black", linestyle=":", linewidth=1.5)
        ax.annotate(
            f"{label}\nfirst detected (median t={when:g})",
            (when, 1 - 0.12 * (i + 1)),
            xycoords=("data", "axes fraction"),
            fontsize=10,
            xytext=(4, 0),
            textcoords="offset points",
        )
    ax.set_xlabel(f"time ({time_unit})")
    ax.set_ylabel(metric.replace("_", " "))
    n = values.shape[0]
    ax.set_title(title or f"{metric}: {n} replication{'s' if n != 1 else ''}")
    ax.legend(loc="best", framealpha=0.8)
    return fig


def _mark_events(ax: Any, events: pd.DataFrame | None) -> None:
    """Retrains as thin lines (or a rug when there are many), skipped retrains as red crosses."""
    if events is None or events.empty:
        return
    retrains = events.loc[events["kind"] == "retrain", "time"].to_numpy(dtype=float)
    skipped = events.loc[events["kind"] == "retrain_skipped", "time"].to_numpy(dtype=float)
    transform = ax.get_xaxis_transform()
    if 0 < retrains.size <= MAX_EVENT_LINES:
        for t in retrains:
            ax.axvline(t, color="grey", alpha=0.25, linewidth=0.8)
        ax.plot([], [], color="grey", alpha=0.5, linewidth=0.8, label="retrain (replication 0)")
    elif retrains.size:
        ax.plot(
            retrains,
            np.full(retrains.size, 0.01),
            "|",
            color="grey",
            alpha=0.4,
            transform=transform,
            label=f"retrains (replication 0: {retrains.size})",
        )
    if skipped.size:
        ax.plot(
            skipped,
            np.full(skipped.size, 0.03),
            "x",
            color="red",
            transform=transform,
            label=f"skipped retrain ({skipped.size})",
        )


def verdict_table(table: Table, verdict: str) -> Any:
    """The verdict table as a figure (for slides): the report's analyzer table without its
    summary column, failed rows in red."""
    from matplotlib.figure import Figure

    columns = table.columns[:-1]
    rows = [row[:-1] for row in table.rows]
    fig = Figure(figsize=(11, 0.8 + 0.5 * (len(rows) + 1)))
    ax = fig.subplots()
    ax.axis("off")
    if rows:
        cells = ax.table(cellText=rows, colLabels=columns, loc="center", cellLoc="left")
        cells.auto_set_font_size(False)
        cells.set_fontsize(11)
        cells.auto_set_column_width(list(range(len(columns))))
        cells.scale(1, 1.6)
        for i in range(len(rows)):
            colour = "#f8d7da" if i in table.failed_rows else "#d4edda"
            for j in range(len(columns)):
                cells[i + 1, j].set_facecolor(colour)
    ax.set_title(
        f"verdict: {verdict.upper()}",
        color={"fail": "#b00020", "inconclusive": "#8a6d00"}.get(verdict, "#1b7f3b"),
        fontweight="bold",
    )
    return fig
