"""Comparisons of two designs under common random numbers: is B at least as good as A?

Both scenarios run the same replication seeds, so replication i of A and of B see the same
random streams wherever their components coincide, and the difference between them is the
design's. Per analyzer the fail fractions are set side by side; for a chosen metric the
final values are paired by replication and their mean difference (B - A) gets a t
confidence interval, which is much narrower than the difference of two independent
means when the runs are positively correlated. B is *at least as good* when, for every
analyzer the two share, B fails in no more replications than A. The comparison is
*inconclusive* when A or B did not run the declared system (an agent never had a model
deployed, or skipped most retrains: :func:`feedbacksim.run.judgement.run_problem`), or when
the replications an analyzer could not judge would change the count comparison.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from feedbacksim.core.lazy_import import UpwardCall, lazy_module
from feedbacksim.errors import ScenarioError
from feedbacksim.run.directory import manifest, write_json
from feedbacksim.run.options import RunOptions

if TYPE_CHECKING:
    from feedbacksim.run.results import Results
    from feedbacksim.scenario.scenario import Scenario

stats = lazy_module("scipy.stats")


@dataclass(frozen=True)
class AnalyzerComparison:
    """One analyzer in A and B: failed replications of each and whether B is at least as good."""

    analyzer: str
    replications: int
    failed_a: int
    failed_b: int
    fraction_a: float
    fraction_b: float
    interval_a: tuple[float, float]
    interval_b: tuple[float, float]
    b_at_least_as_good: bool
    unjudged_a: int = 0
    unjudged_b: int = 0

    @property
    def decided(self) -> bool:
        """Whether the replications neither side could judge cannot change ``b_at_least_as_good``."""
        if self.b_at_least_as_good:
            return self.failed_b + self.unjudged_b <= self.failed_a
        return self.failed_b > self.failed_a + self.unjudged_a


@dataclass(frozen=True)
class PairedDifference:
    """Mean of the paired differences B - A of a metric's final value in one group, with its CI."""

    metric: str
    group: str
    mean_a: float
    mean_b: float
    difference: float
    low: float
    high: float
    replications: int
    confidence: float


def paired_difference(
    a: np.ndarray, b: np.ndarray, confidence: float = 0.95
) -> tuple[float, float, float]:
    """Mean of ``b - a`` and its two-sided t interval (NaN bounds with fewer than two pairs)."""
    diff = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    mean = float(diff.mean())
    if diff.shape[0] < 2:
        return mean, float("nan"), float("nan")
    if np.ptp(diff) <= 1e-12 * max(1.0, abs(mean)):  # equal up to rounding: no spread
        return mean, mean, mean
    interval = stats.ttest_rel(b, a).confidence_interval(confidence)
    return mean, float(interval.low), float(interval.high)


@dataclass
class Comparison:
    """A and B run with the same seeds: analyzers side by side and paired metric differences."""

    a: Results
    b: Results
    metric: str
    analyzers: list[AnalyzerComparison]
    differences: list[PairedDifference]
    wall_time: float = 0.0
    execution: dict[str, Any] = field(default_factory=dict)

    #: Draws a saved comparison's figure and, when asked, its report (the report layer's
    #: :func:`~feedbacksim.report.saving.report_comparison`), imported on first use.
    reporter: ClassVar[Callable[[Comparison, Path, bool], Any]] = UpwardCall(
        "feedbacksim.report.saving:report_comparison"
    )

    def save(self, directory: str | os.PathLike[str], report: bool = True) -> Path:
        """Write ``comparison.json``, ``manifest.json``, the comparison figure and the report."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "comparison.json", self.to_json())
        a, b = self.a.scenario, self.b.scenario
        subject = {
            "a": a.to_dict(),
            "b": b.to_dict(),
            "sources": [str(s.source) if s.source else None for s in (a, b)],
            "replications": self.a.replications,
            "overrides": {"a": a.overrides, "b": b.overrides},
        }
        write_json(
            out / "manifest.json",
            manifest(subject, seed=self.a.seed, wall_time=self.wall_time, extra=self.execution),
        )
        Comparison.reporter(self, out, report)
        return out

    @property
    def b_at_least_as_good(self) -> bool:
        """B fails in no more replications than A on every shared analyzer."""
        return all(row.b_at_least_as_good for row in self.analyzers)

    @property
    def inconclusive_reason(self) -> str | None:
        """Why the comparison cannot be judged, or None (see the module docstring)."""
        for label, results in (("A", self.a), ("B", self.b)):
            if results.run_problem:
                return f"{label} ({results.scenario.name}): {results.run_problem}"
        for row in self.analyzers:
            if not row.decided:
                return (
                    f"{row.analyzer}: A failed in {row.failed_a}, B in {row.failed_b} of "
                    f"{row.replications} replications, and {row.unjudged_a} (A) and "
                    f"{row.unjudged_b} (B) could not be judged, enough to change the comparison"
                )
        return None

    @property
    def verdict(self) -> str:
        """``pass`` (B at least as good), ``fail`` (B worse) or ``inconclusive``."""
        if self.inconclusive_reason:
            return "inconclusive"
        return "pass" if self.b_at_least_as_good else "fail"

    @property
    def verdict_reason(self) -> str:
        """The one-line reason of :attr:`verdict`, with its numbers."""
        reason = self.inconclusive_reason
        if reason:
            return reason
        worse = [r for r in self.analyzers if not r.b_at_least_as_good]
        if not worse:
            return f"B fails in no more replications than A on all {len(self.analyzers)} shared analyzers"
        return "; ".join(
            f"{r.analyzer}: B failed in {r.failed_b}, A in {r.failed_a} of {r.replications} replications"
            for r in worse
        )

    def to_json(self) -> dict[str, Any]:
        """The ``comparison.json`` document."""
        return {
            "a": self.a.scenario.name,
            "b": self.b.scenario.name,
            "seed": self.a.seed,
            "replications": self.a.replications,
            "verdict": self.verdict,
            "reason": self.verdict_reason,
            "b_at_least_as_good": self.b_at_least_as_good,
            "analyzers": [asdict(row) for row in self.analyzers],
            "metric": self.metric,
            "paired_differences": [asdict(d) for d in self.differences],
        }


def recorded_metrics(scenario: Scenario) -> list[str]:
    """The metrics the scenario's environment records."""
    from feedbacksim.core.registry import registry

    return list(registry.get("environment", scenario.spec.environment.kind).cls.metrics)


def default_metric(scenario: Scenario) -> str:
    """The metric of the first analyzer that names one, else the first recorded metric."""
    for analyzer in scenario.analyzers():
        metric = getattr(analyzer, "metric", None)
        if isinstance(metric, str):
            return metric
    return recorded_metrics(scenario)[0]


def summarize_comparison(
    a: Results, b: Results, metric: str, confidence: float = 0.95, wall_time: float = 0.0
) -> Comparison:
    """Compare two Results of the same seeds and replications."""
    if a.replications != b.replications or a.seed != b.seed:
        raise ScenarioError("a comparison needs the same replications and seed for A and B")
    rows = []
    b_summaries = {s.analyzer: s for s in b.summaries}
    for sa in a.summaries:
        sb = b_summaries.get(sa.analyzer)
        if sb is None:
            continue
        rows.append(
            AnalyzerComparison(
                analyzer=sa.analyzer,
                replications=sa.replications,
                failed_a=sa.failed_replications,
                failed_b=sb.failed_replications,
                fraction_a=sa.fail_fraction,
                fraction_b=sb.fail_fraction,
                interval_a=sa.interval,
                interval_b=sb.interval,
                b_at_least_as_good=sb.failed_replications <= sa.failed_replications,
                unjudged_a=sa.unjudged,
                unjudged_b=sb.unjudged,
            )
        )
    if not rows:
        raise ScenarioError("A and B share no analyzer (analyzers are matched by name)")
    final_a, final_b = a.final(metric), b.final(metric)
    groups = a.trace(0)[metric].groups
    differences = []
    for g, group in enumerate(groups):
        mean, low, high = paired_difference(final_a[:, g], final_b[:, g], confidence)
        differences.append(
            PairedDifference(
                metric=metric,
                group=group,
                mean_a=float(final_a[:, g].mean()),
                mean_b=float(final_b[:, g].mean()),
                difference=mean,
                low=low,
                high=high,
                replications=a.replications,
                confidence=confidence,
            )
        )
    return Comparison(a, b, metric, rows, differences, wall_time)


def compare(
    a: Scenario,
    b: Scenario,
    replications: int | None = None,
    seed: int | None = None,
    metric: str | None = None,
    options: RunOptions | None = None,
    **run_options: Any,
) -> Comparison:
    """Run A and B with the same seeds (A's replications and seed by default) and compare them.

    With ``directory`` the replications of A and B go to ``directory/a`` and ``directory/b``.
    """
    from feedbacksim.run.runner import run_stored

    n = a.spec.replications if replications is None else replications
    seed = a.spec.seed if seed is None else seed
    metric = metric or default_metric(a)
    for scenario in (a, b):
        recorded = recorded_metrics(scenario)
        if metric not in recorded:
            raise ScenarioError(
                f"metric {metric!r} is not recorded by {scenario.name}; it records {sorted(recorded)}"
            )
    started = time.perf_counter()
    plan = {"kind": "compare", "a": a.to_dict(), "b": b.to_dict(), "seed": seed, "replications": n}
    chosen = RunOptions.of(options, **run_options)
    results_a, results_b = run_stored(
        [a, b],
        n,
        seed,
        plan,
        ["a", "b"],
        keep_traces=True,
        options=chosen,
    )
    comparison = summarize_comparison(
        results_a, results_b, metric, wall_time=time.perf_counter() - started
    )
    comparison.execution = chosen.describe()
    return comparison


def metric_bands(results: Results, metric: str, group: str) -> tuple[np.ndarray, np.ndarray]:
    """Times and the 10th, 50th and 90th percentiles of ``metric`` in ``group`` across replications."""
    series = [results.trace(i)[metric] for i in range(results.replications)]
    length = max(s.times.shape[0] for s in series)
    values = np.full((len(series), length), np.nan)
    times = np.full(length, np.nan)
    for i, s in enumerate(series):
        column = s.group(group)
        values[i, : column.shape[0]] = column
        if s.times.shape[0] == length:
            times = s.times
    return times, np.nanquantile(values, [0.1, 0.5, 0.9], axis=0)
