"""Figures for design reviews: metric bands across replications, with their events.

Each function takes plain data (a long metrics frame or the metrics as dense arrays,
events, summaries) and returns a matplotlib Figure; :mod:`feedbacksim.report.build` saves
them under ``figures/``. A run's report passes arrays read straight from its Parquet file
and its event tuples, so drawing it imports no pandas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from feedbacksim.report.style import COLUMN_FIGSIZE, PALETTE

if TYPE_CHECKING:
    import pandas as pd

    from feedbacksim.run.exports import MetricArrays

    #: A long metrics frame, or ``metric -> (times, groups, values[replication, time, group])``.
    Metrics: TypeAlias = pd.DataFrame | Mapping[str, MetricArrays]
    #: An events frame (columns time, kind, ...) or event tuples ``(time, kind, source, detail)``.
    Events: TypeAlias = pd.DataFrame | Sequence[tuple[Any, ...]]

MAX_EVENT_LINES = 40  # above this, events are drawn as counts per time bin in their strip
EVENT_BINS = 50
EVENT_STYLE = {  # kind -> (label, colour)
    "retrain": ("retrain", "#555555"),
    "retrain_skipped": ("skipped retrain", "#d62728"),
    "deploy_rejected": ("deployment rejected", "#ff7f0e"),
}


def band_arrays(frame: Metrics, metric: str) -> MetricArrays:
    """``(times, groups, values[replication, time, group])`` of one metric."""
    if isinstance(frame, Mapping):
        return frame[metric]
    sub = frame[frame["metric"] == metric]
    table = sub.pivot_table(
        index=["replication", "time"], columns="group", values="value", sort=True
    )
    groups = [str(g) for g in table.columns]
    replications = table.index.get_level_values(0).unique()
    times = table.index.get_level_values(1).unique().to_numpy(dtype=float)
    values = table.to_numpy().reshape(len(replications), len(times), len(groups))
    return times, groups, values


def _quantiles(values: np.ndarray, q: list[float]) -> np.ndarray:
    """Quantiles over replications (axis 0), NaN ignored; vectorized when there is none."""
    if np.isnan(values).any():
        return np.nanquantile(values, q, axis=0)  # a 1-D loop per column
    return np.quantile(values, q, axis=0)


def _events_by_kind(events: Events | None) -> dict[str, np.ndarray]:
    """Event times per kind of :data:`EVENT_STYLE`, in its order (kinds with none left out)."""
    if events is None or len(events) == 0:
        return {}
    if isinstance(events, Sequence):
        kinds = np.array([str(e[1]) for e in events])
        times = np.array([e[0] for e in events], dtype=float)
    else:
        kinds = events["kind"].to_numpy(dtype=str)
        times = events["time"].to_numpy(dtype=float)
    found = {kind: times[kinds == kind] for kind in EVENT_STYLE}
    return {kind: when for kind, when in found.items() if when.size}


def metric_bands(
    frame: Metrics,
    metric: str,
    *,
    time_unit: str = "days",
    ylabel: str | None = None,
    reference: str | None = None,
    events: Events | None = None,
    detections: Sequence[tuple[str, float]] = (),
    title: str | None = None,
) -> Any:
    """Median and 10-90% band across replications, per group, with retrains and detections marked.

    ``frame`` is a long metrics frame or the metrics as arrays (:func:`band_arrays`).
    ``reference`` (another metric) is drawn dashed per group; ``events`` are replication 0's
    events (retrains, skipped retrains, rejected deployments), drawn in a strip of their own
    under the data; ``detections`` are ``(label, median first detection time)`` pairs,
    drawn as dotted vertical lines. The legend sits below the axes, never on the data.
    """
    from matplotlib.figure import Figure

    times, groups, values = band_arrays(frame, metric)
    by_kind = _events_by_kind(events)
    fig = Figure(figsize=COLUMN_FIGSIZE, layout="constrained")
    if by_kind:
        ax, strip = fig.subplots(
            2, 1, sharex=True, gridspec_kw={"height_ratios": [5, 1], "hspace": 0.02}
        )
    else:
        ax, strip = fig.subplots(), None
    low, median, high = _quantiles(values, [0.1, 0.5, 0.9])
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
                _quantiles(ref[2][:, :, r], [0.5])[0],
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
        extra = _event_strip(strip, by_kind, times, time_unit)
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
    strip: Any, by_kind: dict[str, np.ndarray], times: np.ndarray, time_unit: str
) -> tuple[list, list[str]]:
    """Replication 0's events in their own strip: one tick each, or counts per bin when many.

    Returns the legend handles and labels of what it drew.
    """
    kinds = list(by_kind)
    strip.set_yticks([])
    strip.grid(False)
    strip.set_ylabel("events", rotation=0, ha="right", va="center", fontsize="small")
    span = (float(np.nanmin(times)), float(np.nanmax(times))) if times.size else (0.0, 1.0)
    edges = np.linspace(span[0], span[1] if span[1] > span[0] else span[0] + 1, EVENT_BINS + 1)
    handles, labels = [], []
    many = max((when.size for when in by_kind.values()), default=0) > MAX_EVENT_LINES
    for row, kind in enumerate(kinds):
        label, colour = EVENT_STYLE[kind]
        when = by_kind[kind]
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
