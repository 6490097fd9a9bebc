"""Online analysis: analyzers with ``stop_on_fail`` run at retrain boundaries and end a replication early."""

from __future__ import annotations

import numpy as np
import pytest

import feedbacksim
from feedbacksim.errors import ScenarioError

GUARD = {
    "kind": "invariant",
    "condition": "max(patrol_share) <= 0.9",
    "stop_on_fail": True,
    "check_every": 10,
}


def test_stop_on_fail_ends_the_replication_at_the_first_failing_check(policing_path):
    scenario = feedbacksim.load(policing_path).with_overrides({"analyzers": [GUARD]})
    results = scenario.run(replications=4, seed=1)
    stopped = 0
    for i in range(4):
        trace = results.trace(i)
        end = trace["patrol_share"].times[-1]
        share = trace["patrol_share"].values
        first_bad = np.flatnonzero(share.max(axis=1) > 0.9)
        (finding,) = [f for f in results.findings if f.replication == i]
        if trace.events_of("stopped"):
            stopped += 1
            assert finding.failed and finding.online
            assert finding.first_detected_at == trace["patrol_share"].times[first_bad[0]]
            # Checked every 10 days at a retrain: the run ends within one interval.
            assert end - finding.first_detected_at <= 10
            assert end < 1999
            assert "invariant" in trace.events_of("stopped")[0][3]
        else:
            assert first_bad.size == 0 and end == 1999 and not finding.failed
    assert stopped >= 3  # 0.9 is crossed in ~80% of replications of this runaway loop


def test_without_stop_on_fail_the_run_reaches_the_horizon(policing_path):
    guard = {k: v for k, v in GUARD.items() if k not in ("stop_on_fail", "check_every")}
    scenario = feedbacksim.load(policing_path).with_overrides(
        {"analyzers": [guard], "horizon": 400}
    )
    results = scenario.run(replications=2, seed=1)
    for i in range(2):
        assert results.trace(i)["patrol_share"].times[-1] == 399
        assert not results.trace(i).events_of("stopped")
    assert not any(f.online for f in results.findings)


def test_measurements_a_world_cannot_give_are_a_clear_error(policing_path):
    scenario = feedbacksim.load(policing_path).with_overrides(
        {"analyzers": [{"kind": "degradation"}]}
    )
    with pytest.raises(ScenarioError, match="no population"):
        scenario.run(replications=1)


def test_a_stop_runs_before_anything_else_queued_for_the_same_time() -> None:
    # Two processes step at every integer time; the first stops the replication at t = 3.
    # With the stop at simpy's urgent priority the second never runs at t = 3.
    from feedbacksim.core.environment import Environment
    from feedbacksim.core.simulation import Simulation

    seen: dict[str, float] = {}

    class TwoClocks(Environment):
        metrics = {}

        def start(self) -> None:
            self.every(1.0, lambda: self.tick("a"))
            self.every(1.0, lambda: self.tick("b"))

        def tick(self, name: str) -> None:
            seen[name] = self.now
            if name == "a" and self.now == 3:
                self.sim.stop("test")

    Simulation(TwoClocks(), [], horizon=10, seed=0).run()
    assert seen == {"a": 3.0, "b": 2.0}
