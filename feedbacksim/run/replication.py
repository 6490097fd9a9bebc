"""Running a scenario's analyzers on one replication: the open-loop twin, online checks, findings.

:func:`analyze_replication` is what the runner calls for each replication. It simulates
the open-loop twin first when an analyzer compares against it (same seed, the world's
``open_loop`` set, so every random draw that does not depend on decisions is the same),
attaches the :class:`~feedbacksim.run.measures.RetrainMonitor` when analyzers ask
for ground-truth measurements, and runs analyzers with ``stop_on_fail`` at retrain
boundaries, ending the replication at their first failing finding. Beside the analyzers'
findings it adds one ``evidence`` finding per replication (:func:`replication_evidence`):
what each agent did, which decides whether the run can be judged at all
(:mod:`feedbacksim.run.judgement`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from feedbacksim.analyzers.base import Analyzer, Finding
from feedbacksim.core.trace import MetricSeries, Trace
from feedbacksim.run.measures import MEASURED_METRICS, RetrainMonitor

#: kind (and analyzer name) of the per-replication evidence finding
EVIDENCE = "evidence"
#: reasons of skipped retrains that wait for data (``Agent._fit``): the design's own
#: ``min_samples``, or an agent that observes nothing (a fixed rule), not a fault
WAITING = ("too few rows", "no rows")

if TYPE_CHECKING:
    from feedbacksim.core.agent import Agent
    from feedbacksim.core.simulation import Simulation
    from feedbacksim.scenario.scenario import Scenario


def truncate(trace: Trace, until: float) -> Trace:
    """The part of ``trace`` recorded at or before ``until``."""
    metrics = {}
    for name, s in trace.metrics.items():
        keep = s.times <= until
        metrics[name] = MetricSeries(name, s.groups, s.times[keep], s.values[keep])
    events = [e for e in trace.events if e[0] <= until]
    return Trace(metrics, events, dict(trace.metadata))


def replication_evidence(trace: Trace, deployed: dict[str, bool], replication: int) -> Finding:
    """What each agent did in one replication: a model deployed or not, retrains done and skipped.

    ``deployed`` maps each agent to whether it had a fitted model at the end of the run
    (a pretrained or pre-fitted model counts). ``skipped`` counts the retrains that could
    not happen for a fault (an estimator that raised, one class, non-finite values);
    ``waiting`` those skipped for want of rows (:data:`WAITING`). The finding never
    fails; :mod:`feedbacksim.run.judgement` reads its evidence across replications.
    """
    agents: dict[str, dict[str, Any]] = {
        name: {"deployed": bool(fitted), "retrains": 0, "skipped": 0, "waiting": 0}
        for name, fitted in deployed.items()
    }
    for _, kind, source, detail in trace.events:
        record = agents.get(source)
        if record is None:
            continue
        if kind == "retrain":
            record["retrains"] += 1
        elif kind == "retrain_skipped" and detail.startswith(WAITING):
            record["waiting"] += 1
        elif kind == "retrain_skipped":
            record["skipped"] += 1
            record.setdefault("first_skip_reason", detail)
    stopped = trace.events_of("stopped")
    return Finding(
        analyzer=EVIDENCE,
        kind=EVIDENCE,
        severity="info",
        failed=False,
        metric="",
        group="",
        first_detected_at=None,
        statistic=None,
        threshold=None,
        message="what each agent did in this replication",
        evidence={"agents": agents, "stopped_at": stopped[0][0] if stopped else None},
        replication=replication,
    )


def run_analyzers(
    analyzers: Sequence[Analyzer], trace: Trace, twin: Trace | None, replication: int | None
) -> list[Finding]:
    """Every analyzer's findings on ``trace``, stamped with ``replication``."""
    findings: list[Finding] = []
    for analyzer in analyzers:
        unmeasured = _never_measured(analyzer, trace)
        if unmeasured:
            found = [
                analyzer.finding(
                    failed=False,
                    metric=unmeasured[0],
                    first_detected_at=None,
                    statistic=None,
                    threshold=None,
                    message=(
                        f"{analyzer.name}: no model was deployed during the run, so "
                        f"{', '.join(unmeasured)} (measured at each deployment) was never measured."
                    ),
                    inconclusive=True,
                )
            ]
        else:
            found = _unjudgeable(analyzer, trace) or analyzer.analyze_with_twin(trace, twin)
        findings.extend(dataclasses.replace(f, replication=replication) for f in found)
    return findings


def _unjudgeable(analyzer: Analyzer, trace: Trace) -> list[Finding]:
    """An inconclusive finding when a metric ``analyzer`` judges is NaN throughout or too short.

    Too short: fewer recorded points than the analyzer's ``min_points`` (a short horizon,
    or a run that stopped early); the sentence says when the run ended.
    """
    for metric in sorted(analyzer.required_metrics()):
        if metric not in trace:
            continue
        series = trace[metric]
        points = series.times.shape[0]
        if points < analyzer.min_points:
            why = f"{points} recorded points, fewer than the {analyzer.min_points} it needs"
        elif points and not np.isfinite(series.values).any():
            why = f"all {points} recorded values are NaN or infinite"
        else:
            continue
        stopped = trace.events_of("stopped")
        end = f"; the run stopped at t={stopped[0][0]:g}" if stopped else ""
        return [
            analyzer.finding(
                failed=False,
                metric=metric,
                message=f"{analyzer.name} could not judge {metric}: {why}{end}.",
                evidence={"points": points, "min_points": analyzer.min_points},
                inconclusive=True,
            )
        ]
    return []


def _never_measured(analyzer: Analyzer, trace: Trace) -> list[str]:
    """Metrics ``analyzer``'s measurements would have recorded, absent because nothing was deployed."""
    if trace.events_of("retrain"):
        return []
    measured = set().union(*(MEASURED_METRICS[m] for m in analyzer.retrain_measures))
    return sorted(m for m in measured if m not in trace)


class OnlineWatch:
    """Runs the ``stop_on_fail`` analyzers at retrain boundaries and stops the run at a failure."""

    def __init__(self, analyzers: Sequence[Analyzer], twin: Trace | None) -> None:
        self.analyzers = [a for a in analyzers if a.stop_on_fail]
        self.twin = twin
        self.last_check: dict[str, float] = {}
        self.findings: dict[str, list[Finding]] = {}

    def attach(self, sim: Simulation) -> None:
        """Listen to ``sim``'s deployments."""
        self.sim = sim
        sim.retrain_listeners.append(self.on_retrain)

    def on_retrain(self, agent: Agent) -> None:
        """Check each due analyzer on the trace so far; stop at the first failing finding."""
        if self.findings:
            return  # already stopping
        now = self.sim.now
        due = [
            a
            for a in self.analyzers
            if a.check_every is None
            or a.name not in self.last_check
            or now - self.last_check[a.name] >= a.check_every
        ]
        if not due:
            return
        trace = self.sim.recorder.trace(self.sim.metadata)
        twin = truncate(self.twin, now) if self.twin is not None else None
        for analyzer in due:
            self.last_check[analyzer.name] = now
            found = analyzer.analyze_with_twin(trace, twin)
            failed = [f for f in found if f.failed and f.severity != "info"]
            if failed:
                self.findings[analyzer.name] = [dataclasses.replace(f, online=True) for f in found]
                self.sim.stop(f"{analyzer.name}: {failed[0].message}")
                return


def simulate(
    scenario: Scenario,
    seed: np.random.SeedSequence,
    index: int,
    analyzers: Sequence[Analyzer],
    *,
    open_loop: bool = False,
    watch: OnlineWatch | None = None,
) -> Trace:
    """One run of replication ``index`` with the measurements ``analyzers`` ask for."""
    sim = scenario.build(seed, replication=index)
    if open_loop:
        sim.environment.open_loop = True
        sim.metadata["open_loop"] = True
    measures = frozenset().union(*(a.retrain_measures for a in analyzers))
    if measures:
        size = max((a.population_sample_size for a in analyzers), default=0) or 2000
        RetrainMonitor(measures, size).attach(sim)
    if watch is not None:
        watch.attach(sim)
    trace = sim.run()
    trace.metadata["deployed"] = {agent.name: agent.fitted for agent in sim.agents}
    return trace


def analyze_replication(
    scenario: Scenario, index: int, seed: np.random.SeedSequence
) -> tuple[Trace, list[Finding]]:
    """Simulate replication ``index`` (and its open-loop twin when needed) and analyze it."""
    analyzers = scenario.analyzers()
    twin = None
    if any(a.needs_open_loop for a in analyzers):
        twin = simulate(scenario, seed, index, analyzers, open_loop=True)
    watch = OnlineWatch(analyzers, twin) if any(a.stop_on_fail for a in analyzers) else None
    trace = simulate(scenario, seed, index, analyzers, watch=watch)
    stopped = watch.findings if watch is not None else {}
    offline = [a for a in analyzers if a.name not in stopped]
    findings = run_analyzers(offline, trace, twin, index)
    for name in stopped:
        findings.extend(dataclasses.replace(f, replication=index) for f in stopped[name])
    findings.append(replication_evidence(trace, trace.metadata["deployed"], index))
    return trace, findings
