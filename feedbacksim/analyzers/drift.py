"""Drift: the agent's training data moves away from the true population."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from feedbacksim.analyzers.base import Analyzer, FailIf, Finding, Severity
from feedbacksim.analyzers.degradation import agent_series
from feedbacksim.analyzers.statistics import PSI_MAJOR
from feedbacksim.core.registry import register
from feedbacksim.core.trace import Trace

DriftStatistic = Literal["psi", "ks", "wasserstein"]


@register("analyzer", "drift")
class DriftAnalyzer(Analyzer):
    """Flags a feature (or the label) whose distribution in the training window departs from the population.

    At each deployment the framework compares the agent's training window with a fresh
    sample of ``sample_size`` rows of the true population, per feature column (``x0``,
    ``x1``, ...) and for the label: the Population Stability Index over 10 quantile bins
    of the population sample (``drift_psi``; 0.1 and 0.25 are the conventional moderate
    and major bands), the two-sample Kolmogorov-Smirnov statistic (``drift_ks``,
    ``scipy.stats.ks_2samp``) and the Wasserstein-1 distance (``drift_wasserstein``, in
    standard deviations of the population column, so that one threshold means the same
    in any units). All three are scale-free: rescaling a feature changes none of them. A column fails when ``statistic`` exceeds ``threshold`` (default: PSI
    above 0.25) at ``persist`` consecutive deployments; ``first_detected_at`` is the first
    of them. Thresholds rather than KS p-values: a training window of 100,000 rows makes a
    negligible shift significant.
    """

    retrain_measures = frozenset({"drift"})

    def __init__(
        self,
        statistic: DriftStatistic = "psi",
        threshold: Annotated[float, Field(gt=0)] = PSI_MAJOR,
        persist: Annotated[int, Field(ge=1)] = 1,
        columns: list[str] | None = None,
        agent: str | None = None,
        sample_size: Annotated[int, Field(ge=100)] = 2000,
        name: str | None = None,
        severity: Severity = "warn",
        fail_if: FailIf = "any",
        stop_on_fail: bool = False,
        check_every: Annotated[float, Field(gt=0)] | None = None,
    ) -> None:
        super().__init__(name, severity, fail_if, stop_on_fail, check_every)
        self.statistic = statistic
        self.threshold = threshold
        self.persist = persist
        self.columns = columns
        self.agent = agent
        self.sample_size = sample_size

    @property
    def metric(self) -> str:
        """The recorded metric, ``drift_<statistic>``."""
        return f"drift_{self.statistic}"

    def analyze(self, trace: Trace) -> list[Finding]:
        findings = []
        for label in trace[self.metric].groups:
            agent, _, column = label.rpartition(":")
            if (self.agent and agent != self.agent) or (
                self.columns is not None and column not in self.columns
            ):
                continue
            findings.append(self._analyze_column(trace, label, agent, column))
        return findings

    def _analyze_column(self, trace: Trace, label: str, agent: str, column: str) -> Finding:
        times, values = agent_series(trace, self.metric, label, agent)
        above = values > self.threshold
        # Runs of `persist` consecutive crossings: their last index minus persist - 1.
        run = np.convolve(above.astype(int), np.ones(self.persist, dtype=int), mode="valid")
        hits = np.flatnonzero(run == self.persist)
        failed = hits.size > 0
        at = float(times[hits[0]]) if failed else None
        peak = float(values.max()) if values.size else float("nan")
        where = f"{agent}'s training {column}"
        if failed:
            message = (
                f"{where} drifted from the population: {self.statistic} {values[hits[0]]:.3f} > "
                f"{self.threshold:g} at t={at:g} (peak {peak:.3f}, last {values[-1]:.3f})."
            )
        else:
            message = (
                f"{where} stayed close to the population: {self.statistic} peak {peak:.3f} "
                f"(threshold {self.threshold:g}, {values.size} deployments)."
            )
        return self.finding(
            failed=failed,
            metric=self.metric,
            group=label,
            first_detected_at=at,
            statistic=peak,
            threshold=self.threshold,
            message=message,
            evidence={
                "first": float(values[0]) if values.size else None,
                "last": float(values[-1]) if values.size else None,
                "deployments": int(values.size),
                "persist": self.persist,
            },
        )
