"""Degradation: the deployed model's ground-truth quality falls after it starts learning from the loop."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from feedbacksim.analyzers.base import Analyzer, FailIf, Finding, Severity
from feedbacksim.analyzers.measured import QUALITY_PREFIX
from feedbacksim.analyzers.statistics import detect_drop
from feedbacksim.core.quality import LOWER_IS_BETTER, QUALITY_METRICS
from feedbacksim.core.registry import register
from feedbacksim.core.trace import Trace

QualityName = Literal["auc", "accuracy", "log_loss", "brier", "ece", "rmse"]


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
    """

    retrain_measures = frozenset({"quality"})

    def __init__(
        self,
        quality: QualityName = "auc",
        max_drop: Annotated[float, Field(gt=0)] = 0.05,
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
        self.max_drop = max_drop
        self.alpha = alpha
        self.agent = agent
        self.sample_size = sample_size

    @property
    def metric(self) -> str:
        """The recorded metric, ``true_<quality>``."""
        return f"{QUALITY_PREFIX}{self.quality}"

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
            )
        result = detect_drop(sign * values, max_drop=self.max_drop, alpha=self.alpha)
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
                f"{worst:.3f} (drop {result.drop:.3f}, limit {self.max_drop:g}; trend "
                f"p={result.trend.p_value:.1e}), first seen at t={at:g}"
                if at is not None
                else f"{agent}'s true {self.quality} trends down (p={result.trend.p_value:.1e})"
            ) + "."
        else:
            message = (
                f"{agent}'s true {self.quality} held: {values[0]:.3f} first, worst "
                f"{worst:.3f} over {values.size} deployments (limit {self.max_drop:g})."
            )
        return self.finding(
            failed=result.dropped,
            metric=self.metric,
            group=agent,
            first_detected_at=at,
            statistic=result.drop,
            threshold=self.max_drop,
            message=message,
            evidence=evidence,
        )
