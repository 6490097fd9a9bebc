"""Assertions over Results whose failure says what went wrong and how to reproduce it.

A failing assertion raises :class:`FeedbackLoopFailure` (an ``AssertionError``): its
message holds the failing finding's sentence, the analyzer's summary across replications
and the exact ``feedbacksim run ... --set ... --seed ... --replications ...`` command that
reproduces the run. Under hypothesis, that is the command of the shrunk counterexample.
Results that cannot carry the judgement asked for (no model was deployed, most retrains
failed, replications the analyzer could not judge: :mod:`feedbacksim.run.judgement`) raise
:class:`CouldNotJudge`, whose message starts ``could not judge:`` with the reason: a
property test must not pass on a system that was not simulated.
"""

from __future__ import annotations

import os

import numpy as np

from feedbacksim.analyzers.base import Finding
from feedbacksim.run.judgement import agent_records, never_deployed
from feedbacksim.run.results import AnalyzerSummary, Results
from feedbacksim.testing.reproduce import reproduce_command


class FeedbackLoopFailure(AssertionError):
    """An assertion on Results failed; ``command`` reruns the run (None when it cannot)."""

    def __init__(self, message: str, results: Results, finding: Finding | None) -> None:
        self.command: str | None
        try:
            self.command = reproduce_command(results)
            how = f"reproduce it (in {os.getcwd()}):\n    {self.command}"
        except ValueError as exc:
            self.command = None
            how = f"no reproduction command: {exc}"
        super().__init__(f"{message}\n{how}")
        self.results = results
        self.finding = finding


class CouldNotJudge(FeedbackLoopFailure):
    """The results cannot carry the judgement an assertion asks for; the message says why."""

    def __init__(self, results: Results, reason: str) -> None:
        super().__init__(f"{results.scenario.name}: could not judge: {reason}", results, None)
        self.reason = reason


def _undeployed(results: Results) -> None:
    """Raise :class:`CouldNotJudge` when an agent never had a model deployed."""
    reason = never_deployed(agent_records(results.evidence), results.replications)
    if reason:
        raise CouldNotJudge(results, reason)


def _unjudged(results: Results, summaries: list[AnalyzerSummary], enough: int) -> None:
    """Raise :class:`CouldNotJudge` when most retrains failed or ``enough`` replications were unjudged."""
    if results.run_problem:
        raise CouldNotJudge(results, results.run_problem)
    for s in summaries:
        if s.unjudged >= enough:
            reason = (
                s.reason
                or f"{s.analyzer} could not judge {s.unjudged}/{s.replications} replications"
            )
            raise CouldNotJudge(results, reason)


def _summary(results: Results, analyzer: str) -> AnalyzerSummary:
    """The summary of the analyzer named ``analyzer`` (its name, or its kind when unique)."""
    by_name = [s for s in results.summaries if s.analyzer == analyzer]
    by_kind = [s for s in results.summaries if s.kind == analyzer]
    if by_name or len(by_kind) == 1:
        return (by_name or by_kind)[0]
    known = sorted(s.analyzer for s in results.summaries)
    raise ValueError(f"no analyzer named {analyzer!r} in the results; analyzers: {known}")


def _first_failure(results: Results, analyzer: str | None) -> Finding | None:
    """The earliest failing (non-info) finding of ``analyzer`` (any analyzer when None)."""
    failing = [
        f
        for f in results.findings
        if f.failed and f.severity != "info" and (analyzer is None or f.analyzer == analyzer)
    ]
    if not failing:
        return None
    return min(failing, key=lambda f: (f.replication or 0, f.first_detected_at or 0.0))


def _describe(finding: Finding) -> str:
    return f"replication {finding.replication}: {finding.message}"


def assert_no_failure(results: Results, analyzer: str | None = None) -> None:
    """No replication has a failing finding from ``analyzer`` (from any analyzer when None).

    Stricter than the verdict: one detection in one replication fails, whatever the
    analyzer's ``fail_if`` rule. :class:`CouldNotJudge` when no model was deployed (before
    looking at failures: they would be the placeholder's), or, with no failure, when most
    retrains failed or a replication could not be judged.
    """
    name = _summary(results, analyzer).analyzer if analyzer is not None else None
    _undeployed(results)
    finding = _first_failure(results, name)
    summaries = [s for s in results.summaries if name is None or s.analyzer == name]
    if finding is None:
        _unjudged(results, summaries, enough=1)
        return
    detail = " ".join(s.message for s in summaries if s.failed_replications)
    raise FeedbackLoopFailure(
        f"{results.scenario.name}: {finding.analyzer} failed. {_describe(finding)}\n{detail}",
        results,
        finding,
    )


def assert_verdict(results: Results, expected: str = "pass") -> None:
    """The overall verdict is ``expected`` (``pass`` or ``fail``); :class:`CouldNotJudge` when inconclusive."""
    if expected not in ("pass", "fail"):
        raise ValueError(f"expected verdict must be 'pass' or 'fail', got {expected!r}")
    if results.verdict == expected:
        return
    if results.verdict == "inconclusive":
        raise CouldNotJudge(results, results.verdict_reason)
    failed = [s for s in results.summaries if s.failed]
    finding = _first_failure(results, failed[0].analyzer) if failed else None
    lines = [f"{results.scenario.name}: verdict {results.verdict!r}, expected {expected!r}."]
    if finding is not None:
        lines.append(_describe(finding))
    lines += [s.message for s in (failed or results.summaries)]
    raise FeedbackLoopFailure("\n".join(lines), results, finding)


def assert_fail_fraction_below(results: Results, analyzer: str, x: float) -> None:
    """The fraction of replications in which ``analyzer`` detected a failure is below ``x``."""
    if not 0.0 < x <= 1.0:
        raise ValueError(f"x must be a fraction in (0, 1], got {x!r}")
    summary = _summary(results, analyzer)
    _undeployed(results)
    if summary.fail_fraction < x:
        # Unjudged replications matter when, had they failed, the fraction would reach x.
        n, k = summary.replications, summary.failed_replications
        _unjudged(results, [summary], enough=max(1, int(np.ceil(x * n)) - k))
        return
    finding = _first_failure(results, summary.analyzer)
    lines = [
        f"{results.scenario.name}: {summary.analyzer} failed in {summary.fail_fraction:.0%} of "
        f"replications, not below {x:.0%}."
    ]
    if finding is not None:
        lines.append(_describe(finding))
    lines.append(summary.message)
    raise FeedbackLoopFailure("\n".join(lines), results, finding)
