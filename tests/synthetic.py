"""Synthetic traces with known answers for analyzer tests: built directly, no simulation."""

from __future__ import annotations

import numpy as np

from feedbacksim.core.trace import MetricSeries, Trace


def series(name: str, values, groups=None, times=None) -> MetricSeries:
    """A MetricSeries from ``values`` of shape (T,) or (T, G); times default to 0..T-1."""
    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    groups = tuple(str(g) for g in (groups if groups is not None else [""] * values.shape[1]))
    times = np.arange(values.shape[0], dtype=float) if times is None else np.asarray(times, float)
    return MetricSeries(name, groups, times, values)


def trace(*metrics: MetricSeries, events=(), replication: int = 0) -> Trace:
    """A Trace of ``metrics`` with ``events`` ``(time, kind, source, detail)``."""
    return Trace({m.name: m for m in metrics}, list(events), {"replication": replication})


def ar1(rng: np.random.Generator, n: int, phi: float, sd: float = 1.0) -> np.ndarray:
    """A stationary AR(1) series with marginal standard deviation ``sd``."""
    e = rng.normal(size=n) * sd * np.sqrt(1.0 - phi * phi)
    x = np.empty(n)
    x[0] = rng.normal() * sd
    for t in range(1, n):
        x[t] = phi * x[t - 1] + e[t]
    return x


def retrain_events(agent: str, times) -> list[tuple[float, str, str, str]]:
    """``retrain`` events of ``agent`` at ``times``."""
    return [(float(t), "retrain", agent, "rows=1") for t in times]
