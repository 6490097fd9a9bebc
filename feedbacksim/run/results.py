"""Results of several replications: traces, findings, per-analyzer summaries and the verdict."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from feedbacksim.analyzers.base import Analyzer, Finding, plain
from feedbacksim.analyzers.statistics import wilson_interval
from feedbacksim.core.lazy_import import UpwardCall, lazy_module
from feedbacksim.core.trace import Trace
from feedbacksim.run.judgement import (
    one_sided_note,
    overall,
    rule_outcome,
    run_problem,
    undecided_reason,
)
from feedbacksim.run.replication import EVIDENCE

if TYPE_CHECKING:
    import pandas as pd

    from feedbacksim.scenario.scenario import Scenario
else:
    pd = lazy_module("pandas")  # imported on first use: start-up stays light


@dataclass(frozen=True)
class AnalyzerSummary:
    """One analyzer across replications: how often it detected, how sure, how early.

    ``fail_fraction`` is the share of replications with a failing finding, ``interval`` its
    Wilson 95% interval, ``median_detection`` the median over those replications of the
    earliest ``first_detected_at``; ``estimate`` holds numbers an analyzer aggregates
    itself (e.g. the loop amplification with its interval). ``status`` is ``fail`` when the
    verdict rule trips decisively for an analyzer of severity ``fail`` (only those fail the
    run), ``inconclusive`` when the replications do not decide that analyzer's rule
    (``reason`` says why, see :mod:`feedbacksim.run.judgement`), ``warn`` when the rule trips
    for one of severity ``warn``, else ``pass``. ``unjudged`` counts the replications in
    which the analyzer could not judge (only inconclusive findings, none failing).
    """

    analyzer: str
    kind: str
    severity: str
    metric: str
    replications: int
    failed_replications: int
    fail_fraction: float
    interval: tuple[float, float]
    median_detection: float | None
    fail_if: str | float
    failed: bool
    message: str
    estimate: dict[str, Any] = field(default_factory=dict)
    status: str = "pass"
    unjudged: int = 0
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (non-finite numbers in ``estimate`` become None)."""
        out = asdict(self)
        out["estimate"] = plain(out["estimate"])
        return out


def rule_fails(rule: str | float, failed: int, n: int, interval: tuple[float, float]) -> bool:
    """Apply a verdict rule to ``failed`` of ``n`` replications.

    ``any``: at least one failed; a number x: the failing fraction exceeds x; ``lower>x``:
    the lower end of the fraction's Wilson 95% ``interval`` exceeds x (the analyzer fails
    only when we are confident that more than x of such runs would fail).
    """
    if rule == "any":
        return failed > 0
    if isinstance(rule, str) and rule.startswith("lower>"):
        return interval[0] > float(rule.removeprefix("lower>"))
    return failed / n > float(rule) if n else False


def summarize(
    analyzer: Analyzer, findings: Sequence[Finding], replications: int
) -> AnalyzerSummary:
    """Aggregate one analyzer's findings over ``replications`` replications."""
    own = [f for f in findings if f.analyzer == analyzer.name]
    first: dict[int, float] = {}
    failed_reps: set[int] = set()
    unjudged_reps: dict[int, str] = {}
    metrics = sorted({f.metric for f in own}) or [""]
    for f in own:
        if f.failed and f.severity != "info":
            failed_reps.add(f.replication if f.replication is not None else -1)
            if f.first_detected_at is not None:
                rep = f.replication if f.replication is not None else -1
                first[rep] = min(first.get(rep, np.inf), f.first_detected_at)
        elif f.inconclusive:
            unjudged_reps.setdefault(f.replication if f.replication is not None else -1, f.message)
    k = len(failed_reps)
    u = len(set(unjudged_reps) - failed_reps)
    interval = wilson_interval(k, replications)
    median = float(np.median(list(first.values()))) if first else None
    tripped = analyzer.severity != "info" and rule_fails(
        analyzer.fail_if, k, replications, interval
    )
    status: str
    if analyzer.severity == "fail":
        # Decided only if the unjudged replications cannot change it (all passing: the
        # lowest count, all failing: the highest).
        lowest = rule_outcome(analyzer.fail_if, k, replications)
        highest = rule_outcome(analyzer.fail_if, k + u, replications)
        if lowest == "fail":
            status = "fail"
        elif highest == "pass":
            status = "pass"
        else:
            status = "inconclusive"
    else:
        status = "warn" if tripped else "pass"
    fails = status == "fail"
    fraction = k / replications if replications else 0.0
    when = f", median first detection t={median:g}" if median is not None else ""
    estimate = analyzer.aggregate(own)
    extra = "".join(
        f"; {name} {value:.3g}" + (f" (95% CI {iv[0]:.3g}-{iv[1]:.3g})" if iv else "")
        for name, value, iv in _estimates(estimate)
    )
    message = (
        f"{analyzer.name} detected in {k}/{replications} replications "
        f"({fraction:.0%}, 95% CI {interval[0]:.0%}-{interval[1]:.0%}){when}{extra}."
    ) + one_sided_note(analyzer.fail_if, k, replications)
    summary = AnalyzerSummary(
        analyzer=analyzer.name,
        kind=analyzer.kind,
        severity=analyzer.severity,
        metric=", ".join(metrics),
        replications=replications,
        failed_replications=k,
        fail_fraction=fraction,
        interval=interval,
        median_detection=median,
        fail_if=analyzer.fail_if,
        failed=fails,
        message=message,
        estimate=estimate,
        status=status,
        unjudged=u,
    )
    if status == "inconclusive":
        why = next((unjudged_reps[r] for r in sorted(unjudged_reps) if r not in failed_reps), "")
        reason = undecided_reason(summary, u, why.rstrip("."))
        summary = replace(summary, reason=reason, message=f"{message[:-1]}; {reason}.")
    return summary


def _estimates(estimate: dict[str, Any]) -> list[tuple[str, float, list[float] | None]]:
    """``(name, value, interval)`` of each numeric estimate (the ``interval`` key belongs to the first)."""
    interval = estimate.get("interval")
    out: list[tuple[str, float, list[float] | None]] = []
    for name, value in estimate.items():
        if name != "interval" and isinstance(value, (int, float)):
            out.append((name, float(value), interval if not out else None))
    return out


class Results:
    """Replications of one scenario: ``findings``, ``summaries``, ``verdict``, ``trace(i)``, ``to_frame()``.

    ``traces`` may be a list or any sequence that loads traces lazily (a run directory), so
    a large run need not hold every trace in memory.
    """

    #: Writes a saved directory's report (:func:`feedbacksim.report.write_report`), imported
    #: on first use, so that the run layer never imports the report layer above it.
    reporter: ClassVar[Callable[[Path], Any]] = UpwardCall("feedbacksim.report.build:write_report")

    def __init__(
        self,
        scenario: Scenario,
        traces: Sequence[Trace],
        findings: Sequence[Finding],
        analyzers: Sequence[Analyzer],
        seed: int,
        wall_time: float = 0.0,
    ) -> None:
        self.scenario = scenario
        self._traces = traces
        self.findings = [f for f in findings if f.kind != EVIDENCE]
        #: per replication, what each agent did (see :func:`feedbacksim.run.replication.replication_evidence`)
        self.evidence = [f for f in findings if f.kind == EVIDENCE]
        self.analyzers = list(analyzers)
        self.seed = seed
        self.wall_time = wall_time
        self.summaries = [summarize(a, self.findings, len(traces)) for a in self.analyzers]
        self._verdict, self.verdict_reason = overall(self.summaries, self.evidence, len(traces))
        #: why the system that ran was not the declared one (no model, most retrains skipped)
        self.run_problem = run_problem(self.evidence, len(traces))

    def __len__(self) -> int:
        return len(self._traces)

    @property
    def replications(self) -> int:
        """Number of replications."""
        return len(self._traces)

    @property
    def verdict(self) -> str:
        """``pass``, ``fail`` or ``inconclusive`` (the precedence is in :mod:`feedbacksim.run.judgement`).

        ``verdict_reason`` is the one-line reason with its numbers.
        """
        return self._verdict

    @property
    def inconclusive_reason(self) -> str | None:
        """Why the evidence cannot carry a verdict, or None when the verdict is pass or fail."""
        return self.verdict_reason if self._verdict == "inconclusive" else None

    def trace(self, i: int, events: bool = True) -> Trace:
        """The trace of replication ``i``.

        ``events=False``: a run read from its directory leaves the event log unread (for
        exports of the metrics alone); traces in memory are returned whole.
        """
        without_events = getattr(self._traces, "without_events", None)
        if not events and without_events is not None:
            return without_events(i)
        return self._traces[i]

    def to_frame(self) -> pd.DataFrame:
        """Every replication's metrics: columns replication, time, metric, group, value."""
        frames = []
        for i in range(len(self._traces)):
            frame = self._traces[i].to_frame()
            frame.insert(0, "replication", i)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    def findings_frame(self) -> pd.DataFrame:
        """Every finding as a row."""
        return pd.DataFrame([f.to_dict() for f in self.findings])

    def final(self, metric: str) -> np.ndarray:
        """The last value of ``metric`` per replication and group, shape (replications, groups)."""
        return np.stack([self._traces[i][metric].final for i in range(len(self._traces))])

    def save(self, directory: str | os.PathLike[str], report: bool = True) -> Path:
        """Write the run directory (findings.json, metrics, manifest.json) and, by default, its report."""
        from feedbacksim.run.directory import write_run

        out = write_run(self, Path(directory))
        if report:
            Results.reporter(out)
        return out

    def to_json(self) -> dict[str, Any]:
        """The ``findings.json`` document: verdict, per-analyzer summaries and every finding."""
        return {
            "verdict": self.verdict,
            "reason": self.verdict_reason,
            "scenario": self.scenario.name,
            "replications": self.replications,
            "seed": self.seed,
            "analyzers": [s.to_dict() for s in self.summaries],
            "findings": [f.to_dict() for f in self.findings if f.failed],
        }
