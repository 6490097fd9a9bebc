"""Runaway: a share metric departs from its reference and keeps moving away."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field
from scipy.stats import kendalltau

from feedbacksim.analyzers.base import Analyzer, Finding, Severity
from feedbacksim.registry import register
from feedbacksim.trace import Trace

MIN_POINTS = 20


@register("analyzer", "runaway")
class RunawayAnalyzer(Analyzer):
    """Flags a metric that departs from its reference by more than ``tolerance`` and keeps moving away.

    The distance ``d(t) = |metric(t) - reference(t)|`` is computed per group (``reference``
    is another recorded metric with the same groups, or a constant). A group runs away
    when, at some checkpoint t, ``d(t) > tolerance`` and ``d`` has a significant upward
    trend over the trailing window ending at t (Kendall tau > 0 with p < ``alpha``), *and*
    the departure persists: the mean distance over the last window is still above
    ``tolerance``. A transient excursion that the loop corrects is therefore not a runaway.
    ``first_detected_at`` is the first such checkpoint. Checkpoints are spaced a quarter
    window apart from the 20th point on (early windows are shorter); the window defaults
    to a tenth of the series (at least 20 points).
    """

    def __init__(
        self,
        metric: str,
        reference: str | float,
        tolerance: Annotated[float, Field(gt=0)] = 0.1,
        window: Annotated[int, Field(ge=5)] | None = None,
        alpha: Annotated[float, Field(gt=0, lt=1)] = 0.01,
        name: str | None = None,
        severity: Severity = "fail",
        fail_if: str | float = "any",
    ) -> None:
        super().__init__(name, severity, fail_if)
        self.metric = metric
        self.reference = reference
        self.tolerance = tolerance
        self.window = window
        self.alpha = alpha

    def required_metrics(self) -> set[str]:
        return {self.metric} | ({self.reference} if isinstance(self.reference, str) else set())

    def analyze(self, trace: Trace) -> list[Finding]:
        series = trace[self.metric]
        values = series.values
        if isinstance(self.reference, str):
            reference = trace[self.reference].values
        else:
            reference = np.full_like(values, float(self.reference))
        distance = np.abs(values - reference)
        n = distance.shape[0]
        window = self.window or max(20, n // 10)
        findings = []
        for g, group in enumerate(series.groups):
            findings.append(self._analyze_group(series.times, distance[:, g], group, window))
        return findings

    def _analyze_group(self, times: np.ndarray, d: np.ndarray, group: str, window: int) -> Finding:
        n = d.shape[0]
        final = float(d[-window:].mean()) if n else 0.0
        detected_at = None
        tau_at = p_at = None
        if n >= 5 and final > self.tolerance:
            step = max(1, window // 4)
            for end in range(min(MIN_POINTS, n), n + 1, step):
                if d[end - 1] <= self.tolerance:
                    continue
                segment = d[max(0, end - window) : end]
                tau, p = kendalltau(np.arange(segment.shape[0]), segment)
                if tau > 0 and p < self.alpha:
                    detected_at, tau_at, p_at = float(times[end - 1]), float(tau), float(p)
                    break
        reference = self.reference if isinstance(self.reference, str) else f"{self.reference:g}"
        if detected_at is not None:
            message = (
                f"{self.metric}[{group}] ran away from {reference}: distance {final:.3f} "
                f"over the last {window} points (tolerance {self.tolerance:g}), first detected "
                f"at t={detected_at:g} (Kendall tau {tau_at:.2f}, p={p_at:.1e})."
            )
        else:
            message = (
                f"{self.metric}[{group}] stayed within reach of {reference}: final distance "
                f"{final:.3f} (tolerance {self.tolerance:g})."
            )
        return self.finding(
            failed=detected_at is not None,
            metric=self.metric,
            group=group,
            first_detected_at=detected_at,
            statistic=final,
            threshold=self.tolerance,
            message=message,
            evidence={"window": window, "kendall_tau": tau_at, "p_value": p_at},
        )
