"""Convergence: do successive deployed models settle (performative stability), oscillate or diverge?"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from feedbacksim.analyzers.base import Analyzer, FailIf, Finding, Severity
from feedbacksim.analyzers.measured import params_metric
from feedbacksim.analyzers.statistics import convergence, mann_kendall_ar1
from feedbacksim.core.registry import register
from feedbacksim.core.trace import Trace

Status = Literal["converging", "oscillating", "diverging", "undetermined"]


@register("analyzer", "convergence")
class ConvergenceAnalyzer(Analyzer):
    """Classifies the sequence of deployed models as converging, oscillating or diverging.

    At each deployment the framework records the model as a vector (``model_params:<agent>``):
    its coefficients where they exist, else its predictions on a probe set drawn once per
    replication from the true population, or, in a world without one, from the agent's
    first training window (e.g. the ``mean`` model of the performative world: its
    prediction on any probe row is its theta). The distances between successive models are
    fitted as ``distance_t ~ rate**t`` (Theil-Sen on the log distances, with its 95%
    interval; :func:`~feedbacksim.analyzers.statistics.convergence`): converging when the whole
    interval is below 1 (or the steps reach zero), diverging when it is above 1,
    oscillating when the rate is indistinguishable from 1 and at least 75% of successive
    steps point back (negative cosine). Repeated retraining converges to a performatively
    stable point at a geometric rate when the loop is weak enough (Perdomo et al. 2020).
    The finding fails when the status is in ``fail_on`` (default: diverging); the first
    ``after`` time units (burn-in) are ignored.

    "Diverging" additionally needs an upward trend of the log step norms in the
    Mann-Kendall test with the AR(1) correction at ``alpha``: successive steps of a model
    that only jitters around a fixed point share a model, so they are correlated and the
    Theil-Sen interval alone (which assumes independence) called 6% of such sequences
    diverging (12/200 at 40 retrains); with the trend test, 3/200. A geometric growth of
    5% per retrain over 40 retrains is still caught in 100/100 sequences.
    """

    retrain_measures = frozenset({"parameters"})

    def __init__(
        self,
        agent: str | None = None,
        fail_on: list[Status] | None = None,
        after: Annotated[float, Field(ge=0)] = 0.0,
        alpha: Annotated[float, Field(gt=0, lt=1)] = 0.01,
        sample_size: Annotated[int, Field(ge=100)] = 2000,
        name: str | None = None,
        severity: Severity = "fail",
        fail_if: FailIf = "any",
        stop_on_fail: bool = False,
        check_every: Annotated[float, Field(gt=0)] | None = None,
    ) -> None:
        super().__init__(name, severity, fail_if, stop_on_fail, check_every)
        self.agent = agent
        self.fail_on = list(fail_on) if fail_on is not None else ["diverging"]
        self.after = after
        self.alpha = alpha
        self.sample_size = sample_size

    def analyze(self, trace: Trace) -> list[Finding]:
        prefix = params_metric("")
        agents = (
            [self.agent]
            if self.agent
            else [m[len(prefix) :] for m in trace.metrics if m.startswith(prefix)]
        )
        if not agents:
            return [self._nothing_measured("", "no agent deployed a retrained model")]
        return [
            self._analyze_agent(trace, agent)
            if params_metric(agent) in trace.metrics
            else self._nothing_measured(agent, f"{agent} deployed no retrained model")
            for agent in agents
        ]

    def _nothing_measured(self, agent: str, why: str) -> Finding:
        """A non-failing finding that says so: no model sequence, nothing to classify."""
        return self.finding(
            failed=False,
            metric=params_metric(agent) if agent else params_metric("<agent>"),
            group=agent,
            statistic=None,
            threshold=1.0,
            message=f"Convergence could not be assessed: {why}.",
            evidence={"status": "undetermined", "retrains": 0},
            inconclusive=True,
        )

    def _growing(self, distances: np.ndarray) -> bool:
        positive = distances[distances > 0]
        return positive.size >= 4 and mann_kendall_ar1(np.log(positive), self.alpha).significant_up

    def _analyze_agent(self, trace: Trace, agent: str) -> Finding:
        metric = params_metric(agent)
        series = trace[metric]
        params = series.values[series.times >= self.after]
        steps = np.diff(params, axis=0)
        distances = np.linalg.norm(steps, axis=1)
        result = convergence(distances, steps)
        status = result.status
        if status == "diverging" and not self._growing(distances):
            status = "undetermined"
        failed = status in self.fail_on
        message = (
            f"{agent}'s successive models are {status}: step norms shrink by a factor "
            f"{result.rate:.3f} per retrain (95% CI {result.rate_low:.3f}-{result.rate_high:.3f}) "
            f"over {distances.size} retrains; last step {distances[-1] if distances.size else float('nan'):.3g}."
        )
        return self.finding(
            failed=failed,
            metric=metric,
            group=agent,
            first_detected_at=None,  # a property of the whole sequence, not of a moment
            statistic=result.rate,
            threshold=1.0,
            message=message,
            evidence={
                "status": status,
                "rate": result.rate,
                "rate_interval": [result.rate_low, result.rate_high],
                "retrains": int(distances.size),
                "alternating_fraction": result.alternating_fraction,
                "reached_zero": result.reached_zero,
            },
        )
