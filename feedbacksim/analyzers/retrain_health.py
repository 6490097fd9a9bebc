"""Retrain health: retrains that could not happen, and training data that lost a class or a group."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from feedbacksim.analyzers.base import Analyzer, FailIf, Finding, Severity
from feedbacksim.analyzers.degradation import agent_series
from feedbacksim.core.registry import register
from feedbacksim.core.trace import Trace

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


@register("analyzer", "retrain_health")
class RetrainHealthAnalyzer(Analyzer):
    """Flags skipped retrains, a collapsed class balance and a group starved of training rows.

    Three checks per agent, each its own finding:

    * ``retrain_skipped`` events (too few rows, one class, non-finite values, an estimator
      that raised): fails when they are more than ``max_skipped_fraction`` of the retrain
      attempts (retrains + skipped) after ``after``; the reasons are in the evidence.
    * class balance of the training window (``train_positive_rate``, the share of labels
      above 0, at each deployment): fails when it leaves ``[min_class_share,
      1 - min_class_share]``.
    * group shares of the training window (``train_group_share``, for worlds whose
      population has groups): fails when a group's share falls below ``min_group_share``.

    Checks on the training window start after the burn-in ``after``. Thresholds, not
    tests: they compare the window with fixed floors, so a clean window passes whatever
    its noise.
    """

    retrain_measures = frozenset({"training"})

    def __init__(
        self,
        min_group_share: Fraction = 0.05,
        min_class_share: Fraction = 0.01,
        max_skipped_fraction: Fraction = 0.2,
        after: Annotated[float, Field(ge=0)] = 0.0,
        agent: str | None = None,
        name: str | None = None,
        severity: Severity = "fail",
        fail_if: FailIf = "any",
        stop_on_fail: bool = False,
        check_every: Annotated[float, Field(gt=0)] | None = None,
    ) -> None:
        super().__init__(name, severity, fail_if, stop_on_fail, check_every)
        self.min_group_share = min_group_share
        self.min_class_share = min_class_share
        self.max_skipped_fraction = max_skipped_fraction
        self.after = after
        self.agent = agent

    def analyze(self, trace: Trace) -> list[Finding]:
        agents = [self.agent] if self.agent else list(trace["train_rows"].groups)
        findings = []
        for agent in agents:
            findings.append(self._skipped(trace, agent))
            findings.append(self._class_balance(trace, agent))
            if "train_group_share" in trace:
                for label in trace["train_group_share"].groups:
                    owner, _, group = label.rpartition(":")
                    if owner == agent:
                        findings.append(self._group_share(trace, agent, label, group))
        return findings

    def _skipped(self, trace: Trace, agent: str) -> Finding:
        attempts = [
            e
            for e in trace.events
            if e[2] == agent and e[1] in ("retrain", "retrain_skipped") and e[0] >= self.after
        ]
        skipped = [e for e in attempts if e[1] == "retrain_skipped"]
        fraction = len(skipped) / len(attempts) if attempts else 0.0
        failed = fraction > self.max_skipped_fraction
        reasons: dict[str, int] = {}
        for e in skipped:
            key = e[3].split(":")[0]
            reasons[key] = reasons.get(key, 0) + 1
        message = (
            f"{agent}: {len(skipped)} of {len(attempts)} retrains skipped "
            f"({fraction:.0%}, limit {self.max_skipped_fraction:.0%})"
            + (
                f"; most often: {max(reasons, key=lambda reason: reasons[reason])}"
                if reasons
                else ""
            )
            + "."
        )
        return self.finding(
            failed=failed,
            metric="retrain_skipped",
            group=agent,
            first_detected_at=skipped[0][0] if failed else None,
            statistic=fraction,
            threshold=self.max_skipped_fraction,
            message=message,
            evidence={"attempts": len(attempts), "skipped": len(skipped), "reasons": reasons},
        )

    def _below(
        self, trace: Trace, metric: str, label: str, agent: str, low: float, high: float = 1.0
    ) -> tuple[np.ndarray, np.ndarray, int | None]:
        times, values = agent_series(trace, metric, label, agent)
        keep = times >= self.after
        times, values = times[keep], values[keep]
        bad = np.flatnonzero((values < low) | (values > high))
        return times, values, (int(bad[0]) if bad.size else None)

    def _class_balance(self, trace: Trace, agent: str) -> Finding:
        low = self.min_class_share
        times, values, first = self._below(trace, "train_positive_rate", agent, agent, low, 1 - low)
        failed = first is not None
        worst = float(values[np.argmax(np.abs(values - 0.5))]) if values.size else float("nan")
        if failed:
            message = (
                f"{agent}'s training labels lost a class: positive share {values[first]:.3f} at "
                f"t={times[first]:g} (allowed {low:g}-{1 - low:g})."
            )
        else:
            message = f"{agent}'s training labels kept both classes (most extreme positive share {worst:.3f})."
        return self.finding(
            failed=failed,
            metric="train_positive_rate",
            group=agent,
            first_detected_at=float(times[first]) if failed else None,
            statistic=worst,
            threshold=low,
            message=message,
            evidence={"deployments": int(values.size)},
        )

    def _group_share(self, trace: Trace, agent: str, label: str, group: str) -> Finding:
        times, values, first = self._below(
            trace, "train_group_share", label, agent, self.min_group_share
        )
        failed = first is not None
        lowest = float(values.min()) if values.size else float("nan")
        if failed:
            message = (
                f"group {group} is starved in {agent}'s training data: {values[first]:.1%} of "
                f"the rows at t={times[first]:g} (floor {self.min_group_share:.0%}; lowest "
                f"{lowest:.1%})."
            )
        else:
            message = (
                f"group {group} kept at least {lowest:.1%} of {agent}'s training rows "
                f"(floor {self.min_group_share:.0%})."
            )
        return self.finding(
            failed=failed,
            metric="train_group_share",
            group=label,
            first_detected_at=float(times[first]) if failed else None,
            statistic=lowest,
            threshold=self.min_group_share,
            message=message,
            evidence={
                "first": float(values[0]) if values.size else None,
                "deployments": int(values.size),
            },
        )
