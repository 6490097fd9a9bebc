"""Loop amplification: how much further from its reference a metric ends with the loop closed than cut."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import numpy as np
from pydantic import Field

from feedbacksim.analyzers.base import Analyzer, FailIf, Finding, Severity
from feedbacksim.analyzers.runaway import distance_from_reference
from feedbacksim.core.lazy_import import lazy_module
from feedbacksim.core.registry import register
from feedbacksim.core.trace import Trace

stats = lazy_module("scipy.stats")

#: Floor on the open-loop distance, so an open loop that sits exactly on its reference
#: gives a large finite ratio rather than a division by zero.
MIN_DISTANCE = 1e-9


@register("analyzer", "loop_amplification")
class LoopAmplificationAnalyzer(Analyzer):
    """Ratio of the closed-loop distance from a reference to the open-loop twin's distance.

    The runner simulates each replication a second time with the same seed and the loop
    cut (the world's ``open_loop``: e.g. policing observes incidents in every region
    whatever the patrols). The distance of each run is the mean over time (from ``after``
    on) and groups of ``|metric - reference|``; the replication's amplification is
    ``closed / open``. It fails above ``max_amplification``. Across replications the
    summary reports the geometric mean amplification with a 95% t-interval on the log
    ratios (a ratio of two noisy distances is skewed; its logarithm is close to normal).
    """

    needs_open_loop = True

    def __init__(
        self,
        metric: str,
        reference: str | float,
        max_amplification: Annotated[float, Field(gt=0)] = 2.0,
        after: Annotated[float, Field(ge=0)] = 0.0,
        name: str | None = None,
        severity: Severity = "fail",
        fail_if: FailIf = "any",
        stop_on_fail: bool = False,
        check_every: Annotated[float, Field(gt=0)] | None = None,
    ) -> None:
        super().__init__(name, severity, fail_if, stop_on_fail, check_every)
        self.metric = metric
        self.reference = reference
        self.max_amplification = max_amplification
        self.after = after

    def required_metrics(self) -> set[str]:
        return {self.metric} | ({self.reference} if isinstance(self.reference, str) else set())

    def mean_distance(self, trace: Trace) -> float:
        """Mean ``|metric - reference|`` over the ticks from ``after`` on and all groups."""
        times, _, d = distance_from_reference(trace, self.metric, self.reference)
        d = d[times >= self.after]
        return float(d.mean()) if d.size else float("nan")

    def analyze(self, trace: Trace) -> list[Finding]:
        raise ValueError(f"{self.name} compares a run with its open-loop twin; none was run")

    def analyze_with_twin(self, trace: Trace, twin: Trace | None) -> list[Finding]:
        if twin is None:
            return self.analyze(trace)
        closed = self.mean_distance(trace)
        opened = self.mean_distance(twin)
        ratio = closed / max(opened, MIN_DISTANCE)
        failed = bool(ratio > self.max_amplification)
        verb = "amplifies" if failed else "does not amplify"
        message = (
            f"the loop {verb} the distance of {self.metric} from {self.reference}: "
            f"{closed:.4f} closed vs {opened:.4f} open, ratio {ratio:.2f} "
            f"(limit {self.max_amplification:g})."
        )
        return [
            self.finding(
                failed=failed,
                metric=self.metric,
                first_detected_at=None,  # a whole-run comparison has no detection time
                statistic=ratio,
                threshold=self.max_amplification,
                message=message,
                evidence={"closed_loop_distance": closed, "open_loop_distance": opened},
            )
        ]

    def aggregate(self, findings: Sequence[Finding]) -> dict[str, Any]:
        """Geometric mean amplification across replications with its 95% t-interval."""
        ratios = np.array([f.statistic for f in findings if f.statistic is not None], dtype=float)
        ratios = ratios[np.isfinite(ratios) & (ratios > 0)]
        if ratios.size == 0:
            return {}
        logs = np.log(ratios)
        center = float(np.exp(logs.mean()))
        if ratios.size < 2:
            return {"amplification": center, "interval": [float("nan"), float("nan")]}
        half = stats.t.ppf(0.975, logs.size - 1) * logs.std(ddof=1) / np.sqrt(logs.size)
        interval = [float(np.exp(logs.mean() - half)), float(np.exp(logs.mean() + half))]
        return {"amplification": center, "interval": interval}
