"""Figures for design reviews: metric bands across replications, with their events.

Each function takes plain data (a long metrics frame, events, summaries) and returns a
matplotlib Figure; :mod:`feedbacksim.report.build` saves them under ``figures/``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from feedbacksim.report.style import COLUMN_FIGSIZE, PALETTE

MAX_EVENT_LINES = 40  # above this, events are drawn as counts per time bin in their strip
EVENT_BINS = 50
EVENT_STYLE = {  # kind -> (label, colour)
    "retrain": ("retrain", "#555555"),
    "retrain_skipped": ("skipped retrain", "#d62728"),
    "deploy_rejected": ("deployment rejected", "#ff7f0e"),
}


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
    ylabel: str | None = None,
    reference: str | None = None,
    events: pd.DataFrame | None = None,
    detections: Sequence[tuple[str, float]] = (),
    title: str | None = None,
) -> Any:
    """Median and 10-90% band across replications, per group, with retrains and detections marked.

    ``reference`` (another metric) is drawn dashed per group; ``events`` are replication 0's
    events (retrains, skipped retrains, rejected deployments), drawn in a strip of their own
    under the data; ``detections`` are ``(label, median first detection time)`` pairs,
    drawn as dotted vertical lines. The legend sits below the axes, never on the data.
    """
    from matplotlib.figure import Figure

    times, groups, values = band_arrays(frame, metric)
    has_events = events is not None and not events.empty
    fig = Figure(figsize=COLUMN_FIGSIZE, layout="constrained")
    if has_events:
        ax, strip = fig.subplots(
            2, 1, sharex=True, gridspec_kw={"height_ratios": [5, 1], "hspace": 0.02}
        )
    else:
        ax, strip = fig.subplots(), None
    low, median, high = np.nanquantile(values, [0.1, 0.5, 0.9], axis=0)
    ref = band_arrays(frame, reference) if reference else None
    for g, group in enumerate(groups):
        colour = PALETTE[g % len(PALETTE)]
        label = f"{metric}[{group}]" if group else metric
        ax.fill_between(times, low[:, g], high[:, g], color=colour, alpha=0.2, linewidth=0)
        ax.plot(times, median[:, g], color=colour, label=f"{label} median, 10-90% band")
        if ref is not None and group in ref[1]:
            r = ref[1].index(group)
            ax.plot(
                ref[0],
                np.nanmedian(ref[2][:, :, r], axis=0),
                color=colour,
                linestyle="--",
                label=f"{reference}[{group}]" if group else reference,
            )
    for i, (label, when) in enumerate(detections):
        ax.axvline(
            when,
            color="black",
            linestyle=[":", "-.", "--"][i % 3],
            linewidth=1.5,
            label=f"{label}: median first detection t={when:g}",
        )
    ax.set_ylabel(ylabel or metric.replace("_", " "))
    n = values.shape[0]
    ax.set_title(
        title or f"{metric}: median and 10-90% band of {n} replication{'s' if n != 1 else ''}"
    )
    handles, labels = ax.get_legend_handles_labels()
    bottom = ax
    if strip is not None:
        extra = _event_strip(strip, events, times, time_unit)
        handles, labels = handles + extra[0], labels + extra[1]
        ax.tick_params(labelbottom=False)
        bottom = strip
    bottom.set_xlabel(f"time ({time_unit})")
    fig.legend(
        handles,
        labels,
        loc="outside lower center",
        ncol=2 if len(labels) > 1 else 1,
        frameon=False,
        fontsize="small",
    )
    return fig


def _event_strip(
    strip: Any, events: pd.DataFrame, times: np.ndarray, time_unit: str
) -> tuple[list, list[str]]:
    """Replication 0's events in their own strip: one tick each, or counts per bin when many.

    Returns the legend handles and labels of what it drew.
    """
    kinds = [k for k in EVENT_STYLE if (events["kind"] == k).any()]
    strip.set_yticks([])
    strip.grid(False)
    strip.set_ylabel("events", rotation=0, ha="right", va="center", fontsize="small")
    span = (float(np.nanmin(times)), float(np.nanmax(times))) if times.size else (0.0, 1.0)
    edges = np.linspace(span[0], span[1] if span[1] > span[0] else span[0] + 1, EVENT_BINS + 1)
    handles, labels = [], []
    many = max((int((events["kind"] == k).sum()) for k in kinds), default=0) > MAX_EVENT_LINES
    for row, kind in enumerate(kinds):
        label, colour = EVENT_STYLE[kind]
        when = events.loc[events["kind"] == kind, "time"].to_numpy(dtype=float)
        if many:
            counts, _ = np.histogram(when, bins=edges)
            peak = max(int(counts.max()), 1)
            heights = counts / peak * 0.8
            bars = strip.bar(
                edges[:-1],
                heights,
                width=np.diff(edges),
                bottom=row,
                align="edge",
                color=colour,
                alpha=0.6,
                linewidth=0,
            )
            width = edges[1] - edges[0]
            handles.append(bars)
            labels.append(
                f"{label}s in replication 0: {when.size} "
                f"(bars: per {width:.3g} {time_unit}, max {peak})"
            )
        else:
            drawn = strip.vlines(when, row + 0.1, row + 0.9, color=colour, linewidth=1.2)
            handles.append(drawn)
            labels.append(f"{label} in replication 0 ({when.size})")
    strip.set_ylim(0, max(len(kinds), 1))
    return handles, labels
