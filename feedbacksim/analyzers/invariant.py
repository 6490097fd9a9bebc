"""Invariant: a condition over recorded metrics that must hold at every tick (unsafe states)."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from feedbacksim.analyzers.base import Analyzer, FailIf, Finding, Severity
from feedbacksim.analyzers.measured import RECORDED_METRICS
from feedbacksim.core.expressions import Condition, Expression, parse
from feedbacksim.core.registry import register
from feedbacksim.core.trace import Trace


def aligned_lookup(trace: Trace, expression: Expression) -> tuple[np.ndarray, np.ndarray, dict]:
    """Time axis, a mask of ticks where every referenced metric has a value, and the aligned arrays.

    The time axis is that of the referenced metric with the most ticks; every other metric
    is carried forward to it (its last value at or before each tick), so a daily metric and
    one recorded at retrains can appear in one condition.
    """
    names = sorted(expression.metrics())
    series = {name: trace[name] for name in names}
    base = max(series.values(), key=lambda s: s.times.shape[0])
    times = base.times
    ready = np.ones(times.shape[0], dtype=bool)
    arrays = {}
    for name, s in series.items():
        if s.times is base.times:
            arrays[name] = s.values
            continue
        index = np.searchsorted(s.times, times, side="right") - 1
        ready &= index >= 0
        arrays[name] = s.values[np.maximum(index, 0)]
    return times, ready, arrays


@register("analyzer", "invariant")
class InvariantAnalyzer(Analyzer):
    """Flags the first tick at which ``condition`` stops holding (after ``after``, for at least ``for``).

    ``condition`` is written in the restricted expression language over recorded metrics,
    e.g. ``max(patrol_share) <= 0.9`` or ``true_auc[group=lender] >= 0.7``; a comparison
    over a grouped metric holds when it holds for every group. It is evaluated at every
    recorded tick at once (vectorized over time). ``after`` is a burn-in: ticks before it
    are not checked. ``for`` is how long (in simulated time) the condition must stay
    violated before it counts: 0 flags the first violating tick. The finding reports the
    first time the rule held (the start of the violation), the violation's length, and
    the values of the referenced metrics at that tick.
    """

    def __init__(
        self,
        condition: Condition,
        after: Annotated[float, Field(ge=0)] = 0.0,
        for_: Annotated[float, Field(ge=0, alias="for")] = 0.0,
        name: str | None = None,
        severity: Severity = "fail",
        fail_if: FailIf = "any",
        stop_on_fail: bool = False,
        check_every: Annotated[float, Field(gt=0)] | None = None,
    ) -> None:
        super().__init__(name, severity, fail_if, stop_on_fail, check_every)
        self.condition = condition
        self.expression = parse(condition)
        if not self.expression.is_boolean:
            raise ValueError(f"condition {condition!r} is not a comparison or logic expression")
        self.after = after
        self.for_ = for_

    def required_metrics(self) -> set[str]:
        # Metrics measured by the framework at retrains are not the world's to record.
        return {m for m in self.expression.metrics() if m not in RECORDED_METRICS}

    def analyze(self, trace: Trace) -> list[Finding]:
        times, ready, arrays = aligned_lookup(trace, self.expression)

        def lookup(name: str, group: str | None) -> np.ndarray:
            values = arrays[name]
            if group is None:
                return values
            return values[:, [trace[name].groups.index(group)]]

        holds = self.expression.evaluate_series(lookup)
        violated = ~holds & ready & (times >= self.after)
        start, length = self._first_violation(times, violated)
        metric = ", ".join(sorted(self.expression.metrics()))
        if start is None:
            checked = int((ready & (times >= self.after)).sum())
            return [
                self.finding(
                    failed=False,
                    metric=metric,
                    message=f"{self.condition!r} held at all {checked} checked ticks.",
                    evidence={"checked_ticks": checked},
                )
            ]
        values = {
            f"{name}[{group}]": float(arrays[name][start, g])
            for name in sorted(arrays)
            for g, group in enumerate(trace[name].groups)
        }
        shown = ", ".join(f"{k}={v:.4g}" for k, v in values.items())
        lasting = f" for {length:g} time units" if self.for_ > 0 else ""
        message = f"{self.condition!r} was violated at t={times[start]:g}{lasting}: {shown}."
        return [
            self.finding(
                failed=True,
                metric=metric,
                first_detected_at=float(times[start]),
                statistic=length,
                threshold=self.for_,
                message=message,
                evidence={"values": values, "violation_length": length},
            )
        ]

    def _first_violation(self, times: np.ndarray, violated: np.ndarray) -> tuple[int | None, float]:
        """Index of the start of the first violation that lasted ``for``, and how long it lasted."""
        if not violated.any():
            return None, 0.0
        # Start index of the violation run each tick belongs to (vectorized run labelling).
        starts = violated & ~np.concatenate([[False], violated[:-1]])
        run_start = np.maximum.accumulate(np.where(starts, np.arange(times.shape[0]), 0))
        duration = np.where(violated, times - times[run_start], -1.0)
        hits = np.flatnonzero(duration >= self.for_)
        if hits.size == 0:
            return None, 0.0
        start = int(run_start[hits[0]])
        run = violated[start:]
        end = start + (int(np.argmin(run)) if not run.all() else run.shape[0])
        return start, float(times[end - 1] - times[start])
