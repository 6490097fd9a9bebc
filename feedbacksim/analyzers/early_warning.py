"""Early warning: critical slowing down of a metric ahead of a transition (Dakos et al. 2012)."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from feedbacksim.analyzers.base import Analyzer, FailIf, Finding, Severity
from feedbacksim.analyzers.statistics import early_warning
from feedbacksim.core.registry import register
from feedbacksim.core.trace import Trace

MIN_POINTS = 20


@register("analyzer", "early_warning")
class EarlyWarningAnalyzer(Analyzer):
    """Warns when a metric's variance and lag-1 autocorrelation both rise significantly.

    Per group, the metric (up to ``transition_at`` when given: the warning must come
    before the transition) is detrended with a Gaussian kernel (SD ``detrend_bandwidth``
    of the series), its rolling variance and lag-1 autocorrelation over windows of
    ``window`` of the series (default half, as in Dakos et al. 2012) are computed, and the
    Kendall tau of each against time is compared with ``n_surrogates`` AR(1) (or
    phase-randomized) surrogates of the residuals: plain Kendall p-values are invalid
    for overlapping windows. It warns when both indicators' surrogate p-values are at
    most ``alpha`` (see :func:`~feedbacksim.analyzers.statistics.early_warning`).
    ``first_detected_at`` is the earliest time at which the rule held on the record so
    far; the lead time is ``transition_at`` (or the end of the record) minus that time.
    Surrogates draw from a generator seeded by ``seed`` and the replication index, so a
    finding is reproducible.
    """

    min_points = MIN_POINTS

    def __init__(
        self,
        metric: str,
        group: str | None = None,
        transition_at: float | None = None,
        window: Annotated[float, Field(gt=0, lt=1)] = 0.5,
        detrend_bandwidth: Annotated[float, Field(ge=0)] = 0.1,
        n_surrogates: Annotated[int, Field(ge=19)] = 99,
        alpha: Annotated[float, Field(gt=0, lt=1)] = 0.05,
        surrogate: Literal["ar1", "phase"] = "ar1",
        seed: Annotated[int, Field(ge=0)] = 0,
        name: str | None = None,
        severity: Severity = "warn",
        fail_if: FailIf = "any",
        stop_on_fail: bool = False,
        check_every: Annotated[float, Field(gt=0)] | None = None,
    ) -> None:
        super().__init__(name, severity, fail_if, stop_on_fail, check_every)
        self.metric = metric
        self.group = group
        self.transition_at = transition_at
        self.window = window
        self.detrend_bandwidth = detrend_bandwidth
        self.n_surrogates = n_surrogates
        self.alpha = alpha
        self.surrogate = surrogate
        self.seed = seed

    def required_metrics(self) -> set[str]:
        return {self.metric}

    def analyze(self, trace: Trace) -> list[Finding]:
        series = trace[self.metric]
        groups = [self.group] if self.group is not None else list(series.groups)
        keep = series.times <= self.transition_at if self.transition_at is not None else ...
        times = series.times[keep]
        replication = int(trace.metadata.get("replication", 0) or 0)
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, replication]))
        return [self._analyze_group(times, series.group(g)[keep], str(g), rng) for g in groups]

    def _analyze_group(
        self, times: np.ndarray, x: np.ndarray, group: str, rng: np.random.Generator
    ) -> Finding:
        finite = np.isfinite(x)
        times, x = times[finite], x[finite]
        if x.shape[0] < MIN_POINTS or np.ptp(x) == 0:
            return self.finding(
                failed=False,
                metric=self.metric,
                group=group,
                message=(
                    f"{self.metric}[{group}]: {x.shape[0]} finite points, range "
                    f"{np.ptp(x) if x.size else 0:g}: too short (fewer than {MIN_POINTS}) or "
                    "constant for early-warning indicators."
                ),
                evidence={"points": int(x.shape[0])},
                inconclusive=True,
            )
        result = early_warning(
            x,
            rng,
            window=self.window,
            detrend_bandwidth=self.detrend_bandwidth,
            n_surrogates=self.n_surrogates,
            alpha=self.alpha,
            surrogate=self.surrogate,
        )
        end = self.transition_at if self.transition_at is not None else float(times[-1])
        at = lead = None
        if result.warns and result.first_warning_index is not None:
            at = float(times[result.first_warning_index])
            lead = end - at
        evidence = {
            "variance_tau": result.variance_tau,
            "variance_p": result.variance_p,
            "ac1_tau": result.ac1_tau,
            "ac1_p": result.ac1_p,
            "lead_time": lead,
            "window": self.window,
            "n_surrogates": self.n_surrogates,
        }
        if result.warns:
            message = (
                f"{self.metric}[{group}] shows critical slowing down: rolling variance tau "
                f"{result.variance_tau:.2f} (p={result.variance_p:.3f}) and lag-1 "
                f"autocorrelation tau {result.ac1_tau:.2f} (p={result.ac1_p:.3f}), first at "
                f"t={at:g}, {lead:g} before t={end:g}."
            )
        else:
            message = (
                f"{self.metric}[{group}]: no early warning (variance tau "
                f"{result.variance_tau:.2f}, p={result.variance_p:.3f}; lag-1 autocorrelation "
                f"tau {result.ac1_tau:.2f}, p={result.ac1_p:.3f}; alpha {self.alpha:g})."
            )
        return self.finding(
            failed=result.warns,
            metric=self.metric,
            group=group,
            first_detected_at=at,
            statistic=max(result.variance_p, result.ac1_p),  # both must be <= alpha
            threshold=self.alpha,
            message=message,
            evidence=evidence,
        )
