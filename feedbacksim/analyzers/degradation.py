"""Degradation: the deployed model's ground-truth quality falls after it starts learning from the loop."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from feedbacksim.analyzers.base import Analyzer, FailIf, Finding, Severity
from feedbacksim.analyzers.measured import QUALITY_PREFIX
from feedbacksim.analyzers.scales import (
    RelativeTolerance,
    ResolvedTolerance,
    Tolerance,
    ToleranceSpec,
    as_tolerance,
)
from feedbacksim.analyzers.statistics import detect_drop
from feedbacksim.core.quality import LOWER_IS_BETTER, QUALITY_METRICS
from feedbacksim.core.registry import register
from feedbacksim.core.trace import Trace

QualityName = Literal["auc", "accuracy", "log_loss", "brier", "ece", "rmse"]


#: Qualities bounded in [0, 1], whose scale is that range.
BOUNDED_QUALITIES = frozenset({"auc", "accuracy", "brier", "ece"})
#: The default largest tolerated drop: 5% of the quality's scale.
DEFAULT_MAX_DROP = RelativeTolerance(relative=0.05)


def retrain_times(trace: Trace, agent: str) -> np.ndarray:
    """Times at which ``agent`` deployed a new model (``retrain`` events)."""
    return np.array(
        [t for t, kind, source, _ in trace.events if kind == "retrain" and source == agent]
    )


def agent_series(
    trace: Trace, metric: str, group: str, agent: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(times, values)`` of a measurement group at ``agent``'s own deployments (NaNs dropped).

    ``agent`` defaults to ``group`` (measurements whose groups are agent names).
    """
    agent = group if agent is None else agent
    series = trace[metric]
    values = series.group(group)
    keep = np.isin(series.times, retrain_times(trace, agent)) & np.isfinite(values)
    # Two deployments at the same time (pretraining, then a retrain) leave two rows: keep the last.
    times, values = series.times[keep], values[keep]
    last = np.append(times[1:] != times[:-1], True) if times.size else np.array([], dtype=bool)
    return times[last], values[last]


@register("analyzer", "degradation")
class DegradationAnalyzer(Analyzer):
    """Flags a deployed model whose ground-truth quality drops below that of the first deployed model.

    At each deployment the environment measures the deployed model on a fresh sample of
    ``sample_size`` rows of the true population (never on the agent's own, loop-biased
    observations): ``quality`` is one of ``auc``, ``accuracy``, ``log_loss``, ``brier``,
    ``ece``, ``rmse``. The series (higher-is-better metrics as they are, the others
    negated) fails on a drop of more than ``max_drop`` from the first deployed model or
    on a significant downward trend (Mann-Kendall with the AR(1) correction at ``alpha``),
    per :func:`~feedbacksim.analyzers.statistics.detect_drop`. The change point (Page-Hinkley) is in
    the evidence. Defaults: AUC, ``max_drop`` 0.05 (the sampling SD of an AUC near 0.85
    on 5,000 rows is about 0.006, so 0.05 is eight SDs of the difference of two snapshots).

    ``max_drop`` is in the quality's own scale (:mod:`feedbacksim.analyzers.scales`): by
    default ``{relative: 0.05}``, where the scale of the bounded qualities (AUC, accuracy,
    Brier score, ECE) is their range, 1, and that of the unbounded ones (log loss, RMSE,
    in the outcome's units) the first deployed model's value: an RMSE that grows by 5%
    fails whatever the outcome's units. ``{absolute: x, unit: ...}`` or a bare number is
    a drop in the quality's units.
    """

    retrain_measures = frozenset({"quality"})

    def __init__(
        self,
        quality: QualityName = "auc",
        max_drop: Tolerance = DEFAULT_MAX_DROP,
        alpha: Annotated[float, Field(gt=0, lt=1)] = 0.01,
        agent: str | None = None,
        sample_size: Annotated[int, Field(ge=100)] = 5000,
        name: str | None = None,
        severity: Severity = "fail",
        fail_if: FailIf = "any",
        stop_on_fail: bool = False,
        check_every: Annotated[float, Field(gt=0)] | None = None,
    ) -> None:
        super().__init__(name, severity, fail_if, stop_on_fail, check_every)
        self.quality = quality
        self.max_drop = as_tolerance(max_drop)
        self.alpha = alpha
        self.agent = agent
        self.sample_size = sample_size

    @property
    def metric(self) -> str:
        """The recorded metric, ``true_<quality>``."""
        return f"{QUALITY_PREFIX}{self.quality}"

    def drop_limit(self, values: np.ndarray) -> ResolvedTolerance:
        """``max_drop`` in the quality's units: its range, or the first deployed model's value."""
        if not isinstance(self.max_drop, ToleranceSpec):
            return ResolvedTolerance(float(self.max_drop), None, "absolute, in the quality's units")
        if self.max_drop.relative is None:
            return ResolvedTolerance(
                float(self.max_drop.absolute or 0.0), None, f"absolute, {self.max_drop.unit}"
            )
        if self.quality in BOUNDED_QUALITIES:
            scale, source = 1.0, f"the range of {self.quality}"
        else:
            scale, source = abs(float(values[0])), "the first deployed model's value"
        return ResolvedTolerance(
            self.max_drop.relative * scale,
            scale,
            f"{self.max_drop.relative:g} x {scale:.4g}, {source}",
        )

    def analyze(self, trace: Trace) -> list[Finding]:
        series = trace[self.metric]
        agents = [self.agent] if self.agent else list(series.groups)
        return [self._analyze_agent(trace, agent) for agent in agents]

    def _analyze_agent(self, trace: Trace, agent: str) -> Finding:
        times, values = agent_series(trace, self.metric, agent)
        sign = -1.0 if self.quality in LOWER_IS_BETTER else 1.0
        what = QUALITY_METRICS[self.quality].split(" (")[0]
        if values.size < 2:
            return self.finding(
                failed=False,
                metric=self.metric,
                group=agent,
                message=f"{agent}: fewer than two deployed models were measured ({what}).",
                evidence={"deployments": int(values.size)},
                inconclusive=True,
            )
        limit = self.drop_limit(values)
        result = detect_drop(sign * values, max_drop=limit.value, alpha=self.alpha)
        at = None if result.at is None else float(times[result.at])
        change = None if result.change_point is None else float(times[result.change_point])
        worst = float(values[np.argmin(sign * values)])
        evidence = {
            "first": float(values[0]),
            "worst": worst,
            "last": float(values[-1]),
            "deployments": int(values.size),
            "trend_tau": result.trend.tau,
            "trend_p_value": result.trend.p_value,
            "change_point": change,
        }
        if result.dropped:
            message = (
                f"{agent}'s true {self.quality} degraded from {values[0]:.3f} (first model) to "
                f"{worst:.3f} (drop {result.drop:.3f}, limit {limit.describe()}; trend "
                f"p={result.trend.p_value:.1e}), first seen at t={at:g}"
                if at is not None
                else f"{agent}'s true {self.quality} trends down (p={result.trend.p_value:.1e})"
            ) + "."
        else:
            message = (
                f"{agent}'s true {self.quality} held: {values[0]:.3f} first, worst "
                f"{worst:.3f} over {values.size} deployments (limit {limit.describe()})."
            )
        return self.finding(
            failed=result.dropped,
            metric=self.metric,
            group=agent,
            first_detected_at=at,
            statistic=result.drop,
            threshold=limit.value,
            message=message,
            evidence=evidence,
        )
