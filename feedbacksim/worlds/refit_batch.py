"""What the batched kernels of worlds whose agent refits on a training window share.

The policing and bandit kernels reproduce an agent that updates its model incrementally.
The model collapse, performative and demand kernels reproduce one that *refits* (clones
its model and fits it on its training window: every row, or the latest ``size``) at each
retrain, as ``Agent.retrain`` does for a model without ``partial_fit``. This module holds
their common parts: which agent settings that is, how many rows each fit sees, the retrain
events of each replication (a skipped retrain says why, as the serial agent does) and the
traces.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from feedbacksim.core.registry import registry
from feedbacksim.core.trace import METRIC_SCALES, EventLog, MetricSeries, Trace

#: ``Agent._fit``'s reason for a training window holding a NaN or an infinity.
NON_FINITE = "non-finite values (NaN or inf) in training data"


def refits_on_window(spec: Any) -> bool:
    """Whether the agent refits on its whole data or a sliding window (no reservoir, no
    ``partial_fit``: the kernels' models have none, so ``auto`` means a refit)."""
    agent = spec.agents[0]
    return agent.retrain.mode in ("auto", "refit") and agent.data.window in ("all", "sliding")


def window_rows(spec: Any, observed: int) -> int:
    """Rows of the agent's training window once ``observed`` rows have been observed."""
    data = spec.agents[0].data
    return observed if data.window == "all" else min(int(data.size), observed)


def horizon_days(spec: Any) -> int:
    """The steps of a run: times 0, 1, ... before the horizon."""
    return max(0, math.ceil(spec.horizon))


def retrain_days(spec: Any) -> range:
    """The days on which the agent's schedule retrains (every ``every`` days from day 0)."""
    every = int(spec.agents[0].retrain.every)
    return range(every, horizon_days(spec), every)


def model_of(spec: Any) -> Any:
    """The agent's model as the scenario builds it (its parameters with their defaults)."""
    model = spec.agents[0].model
    return registry.get("model", model.kind).build(model.params)


def retrain_events(
    spec: Any, days: Sequence[int], rows: Sequence[int], skipped: np.ndarray | None
) -> list[list[tuple[float, str, str, str]]]:
    """Each replication's event log: a ``retrain`` (with its rows) on each of ``days``, or a
    ``retrain_skipped`` for non-finite training data where ``skipped[i, j]`` holds.

    ``skipped`` is shaped (replications, len(days)); ``None``: no retrain was skipped (one
    replication's log is then shared by all).
    """
    name = spec.agents[0].name
    done = [(float(t), "retrain", name, f"rows={n}") for t, n in zip(days, rows, strict=True)]
    if skipped is None:
        return [done]
    logs = []
    for row in skipped:
        if not row.any():
            logs.append(done)
            continue
        logs.append(
            [
                (event[0], "retrain_skipped", name, NON_FINITE) if skip else event
                for event, skip in zip(done, row.tolist(), strict=True)
            ]
        )
    return logs


def make_traces(
    spec: Any,
    indices: Sequence[int],
    series: Mapping[str, tuple[tuple[str, ...], np.ndarray]],
    logs: Sequence[list[tuple[float, str, str, str]]],
    scales: Mapping[str, float],
    times: Mapping[str, np.ndarray] | None = None,
) -> list[Trace]:
    """One Trace per replication: ``series`` maps each metric (in the world's declaration
    order) to its groups and its values shaped (R, T, groups), recorded at times 0..T-1
    unless ``times`` gives a metric a mask (R, T) of the steps it was recorded at."""
    days = horizon_days(spec)
    steps = np.arange(days, dtype=float)
    shared = EventLog.shared(logs[0]) if len(logs) == 1 else None
    traces = []
    for i, index in enumerate(indices):
        metrics = {}
        for name, (groups, values) in series.items():
            if times is not None and name in times:
                mask = times[name][i]
                metrics[name] = MetricSeries(name, groups, steps[mask], values[i][mask])
            else:
                metrics[name] = MetricSeries(name, groups, steps, values[i])
        metadata = {"scenario": spec.name, "replication": index, METRIC_SCALES: dict(scales)}
        traces.append(Trace(metrics, shared if shared is not None else list(logs[i]), metadata))
    return traces
