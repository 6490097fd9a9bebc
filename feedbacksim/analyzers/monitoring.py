"""Monitoring: scores an agent's production monitors against ground truth.

A *degradation episode* is a maximal stretch of time during which the ground-truth quality
the world records (``truth``, e.g. the tabular world's ``holdout_auc``, group ``all``) is
below ``below``: it starts at the first measurement below and ends at the first one back at
or above (or at the end of the run). A monitor (see :mod:`feedbacksim.analyzers.monitors`) *detects*
an episode at its first alarm during it; the detection delay is that time minus the
episode's start. Alarms outside every episode are false alarms, counted as alarm onsets (a
check that alarms after one that did not) per 1,000 time units outside episodes.

The design (every listed monitor together: the first alarm of any of them) fails when an
episode is missed or detected later than ``max_delay``, or when its false alarms exceed
``max_false_alarms`` per 1,000 time units; each monitor's own delays, misses and false
alarms are in the evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import numpy as np
from pydantic import Field

from feedbacksim.analyzers.base import Analyzer, FailIf, Finding, Severity
from feedbacksim.core.registry import register
from feedbacksim.core.trace import Trace

ALARM_PREFIX = "alarm:"


def episodes(
    times: np.ndarray, values: np.ndarray, below: float, after: float = 0.0
) -> list[tuple[float, float]]:
    """``(start, end)`` of each stretch with ``values < below`` (end: first time back, or inf)."""
    low = values < below
    out = []
    start = None
    for t, is_low in zip(times, low, strict=True):
        if is_low and start is None:
            start = float(t)
        elif not is_low and start is not None:
            if start >= after:
                out.append((start, float(t)))
            start = None
    if start is not None and start >= after:
        out.append((start, float("inf")))
    return out


def score_alarms(
    alarm_times: np.ndarray,
    onset_times: np.ndarray,
    spans: list[tuple[float, float]],
    horizon: float,
    after: float = 0.0,
) -> dict[str, Any]:
    """Detection delay per episode, misses and false alarms per 1,000 time units of one monitor."""
    delays: list[float | None] = []
    inside = np.zeros(onset_times.shape[0], dtype=bool)
    for start, end in spans:
        hits = alarm_times[(alarm_times >= start) & (alarm_times < end)]
        delays.append(float(hits[0] - start) if hits.size else None)
        inside |= (onset_times >= start) & (onset_times < end)
    covered = sum(min(end, horizon) - start for start, end in spans)
    quiet = max(horizon - after - covered, 1e-9)
    false = int((~inside & (onset_times >= after)).sum())
    return {
        "delays": delays,
        "missed": sum(d is None for d in delays),
        "false_alarms": false,
        "false_alarms_per_1000": 1000.0 * false / quiet,
    }


@register("analyzer", "monitoring")
class MonitoringAnalyzer(Analyzer):
    """Scores a monitoring design against ground truth: detection delay per degradation, false alarms, misses.

    Args:
        truth: the world's ground-truth quality metric (higher is better).
        group: its group to read (``all`` for the tabular world's overall AUC).
        below: quality below this is a degradation.
        monitors: the monitors that make up the design (default: every monitor of the
            scenario; monitor names are unique across its agents).
        max_delay: fail when an episode is detected later than this (``None``: only
            missed episodes fail).
        max_false_alarms: fail above this many false alarms per 1,000 time units
            (``None``: not checked).
        after: ignore episodes that start before this time (burn-in).
    """

    def __init__(
        self,
        truth: str = "holdout_auc",
        group: str = "all",
        below: float = 0.7,
        monitors: list[str] | None = None,
        max_delay: Annotated[float, Field(ge=0)] | None = None,
        max_false_alarms: Annotated[float, Field(ge=0)] | None = None,
        after: Annotated[float, Field(ge=0)] = 0.0,
        name: str | None = None,
        severity: Severity = "fail",
        fail_if: FailIf = "any",
        stop_on_fail: bool = False,
        check_every: Annotated[float, Field(gt=0)] | None = None,
    ) -> None:
        super().__init__(name, severity, fail_if, stop_on_fail, check_every)
        self.truth = truth
        self.group = group
        self.below = below
        self.monitors = monitors
        self.max_delay = max_delay
        self.max_false_alarms = max_false_alarms
        self.after = after

    def required_metrics(self) -> set[str]:
        return {self.truth}

    def _alarms(self, trace: Trace) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Monitor name -> (times of alarming checks, times of alarm onsets)."""
        names = [m[len(ALARM_PREFIX) :] for m in trace.metrics if m.startswith(ALARM_PREFIX)]
        if self.monitors is not None:
            names = [n for n in names if n in self.monitors]
        out = {}
        for name in names:
            series = trace[f"{ALARM_PREFIX}{name}"]
            on = series.values[:, 0] > 0.5
            before = np.concatenate([[False], on[:-1]])
            out[name] = (series.times[on], series.times[on & ~before])
        return out

    def analyze(self, trace: Trace) -> list[Finding]:
        series = trace[self.truth]
        values = series.group(self.group)
        # The run's end: one time unit past its last record.
        horizon = 1.0 + max(
            (float(m.times[-1]) for m in trace.metrics.values() if m.times.size), default=0.0
        )
        spans = episodes(series.times, values, self.below, self.after)
        alarms = self._alarms(trace)
        per_monitor = {
            name: score_alarms(times, onsets, spans, horizon, self.after)
            for name, (times, onsets) in alarms.items()
        }
        union_times = np.sort(np.concatenate([t for t, _ in alarms.values()] or [np.empty(0)]))
        union_onsets = np.sort(np.concatenate([o for _, o in alarms.values()] or [np.empty(0)]))
        design = score_alarms(union_times, union_onsets, spans, horizon, self.after)
        delays = [d for d in design["delays"] if d is not None]
        late = [d for d in delays if self.max_delay is not None and d > self.max_delay]
        noisy = (
            self.max_false_alarms is not None
            and design["false_alarms_per_1000"] > self.max_false_alarms
        )
        failed = bool(design["missed"] or late or noisy)
        what = f"{self.truth}[{self.group}] < {self.below:g}"
        if not spans:
            message = (
                f"no degradation episode ({what}); {design['false_alarms']} false alarm(s) "
                f"({design['false_alarms_per_1000']:.1f} per 1,000 time units)."
            )
        else:
            worst = f", worst delay {max(delays):g}" if delays else ""
            message = (
                f"{len(spans)} degradation episode(s) ({what}), first at t={spans[0][0]:g}: "
                f"{len(spans) - design['missed']} detected{worst}"
                + (f" (limit {self.max_delay:g})" if self.max_delay is not None else "")
                + f", {design['missed']} missed; {design['false_alarms']} false alarm(s) "
                f"({design['false_alarms_per_1000']:.1f} per 1,000 time units"
                + (
                    f", limit {self.max_false_alarms:g}"
                    if self.max_false_alarms is not None
                    else ""
                )
                + ")."
            )
        first = min(delays) + spans[0][0] if delays and spans else None
        return [
            self.finding(
                failed=failed,
                metric=self.truth,
                group=self.group,
                first_detected_at=None if first is None else float(first),
                statistic=float(max(delays)) if delays else None,
                threshold=self.max_delay,
                message=message,
                evidence={
                    "episodes": [[s, None if e == float("inf") else e] for s, e in spans],
                    "design": design,
                    "monitors": per_monitor,
                },
            )
        ]

    def aggregate(self, findings: Sequence[Finding]) -> dict[str, Any]:
        """Across replications: median detection delay, miss rate and false-alarm rate, per monitor."""
        names = sorted({m for f in findings for m in f.evidence.get("monitors", {})})
        out: dict[str, Any] = {}
        for name in [*names, "design"]:
            stats = [
                f.evidence["design"] if name == "design" else f.evidence["monitors"].get(name)
                for f in findings
            ]
            stats = [s for s in stats if s is not None]
            delays = [d for s in stats for d in s["delays"]]
            detected = [d for d in delays if d is not None]
            out[name] = {
                "episodes": len(delays),
                "median_delay": float(np.median(detected)) if detected else None,
                "missed_fraction": (len(delays) - len(detected)) / len(delays) if delays else None,
                "false_alarms_per_1000": float(np.mean([s["false_alarms_per_1000"] for s in stats]))
                if stats
                else None,
            }
        return out
