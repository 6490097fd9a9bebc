"""Degradation on synthetic quality series: a drop is caught with its change point, noise is not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from synthetic import ar1, retrain_events, series, trace

import feedbacksim
from feedbacksim.analyzers import DegradationAnalyzer
from feedbacksim.errors import ScenarioError
from feedbacksim.run.measures import RetrainMonitor

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"

N_NULL = 200
RETRAINS = 30


def quality_trace(auc: np.ndarray, agent: str = "lender"):
    times = 5.0 * np.arange(auc.shape[0])
    return trace(
        series("true_auc", auc, [agent], times),
        series("true_log_loss", 1 - auc, [agent], times),
        events=retrain_events(agent, times),
    )


def test_drop_after_a_change_point_is_detected():
    rng = np.random.default_rng(0)
    auc = 0.88 + rng.normal(0, 0.005, RETRAINS)
    auc[15:] -= 0.10  # the starved group's coefficients collapse at retrain 15 (t=75)
    (finding,) = DegradationAnalyzer().analyze(quality_trace(auc))
    assert finding.failed and finding.group == "lender"
    assert finding.first_detected_at == 75.0
    assert abs(finding.statistic - 0.10) < 0.02
    assert 70.0 <= finding.evidence["change_point"] <= 90.0


def test_lower_is_better_metrics_are_negated():
    auc = np.linspace(0.9, 0.7, RETRAINS)
    (finding,) = DegradationAnalyzer(quality="log_loss").analyze(quality_trace(auc))
    assert finding.failed  # log loss = 1 - auc rises from 0.1 to 0.3


def test_only_the_agents_own_deployments_count():
    times = np.arange(10.0)
    auc = np.array([0.9, 0.5] * 5)  # the odd ticks are another agent's retrains
    t = trace(
        series("true_auc", auc, ["a"], times),
        events=retrain_events("a", times[::2]) + retrain_events("b", times[1::2]),
    )
    (finding,) = DegradationAnalyzer().analyze(t)
    assert not finding.failed and finding.evidence["deployments"] == 5


def test_false_alarms_on_stationary_and_autocorrelated_quality():
    """200 series of 30 snapshots: AUC 0.88 plus AR(1) noise (phi 0.5, SD 0.006, the
    sampling SD of an AUC on 5,000 rows). A breach needs a 0.05 drop (8 SDs); the trend
    test runs at alpha 0.01 with the AR(1) correction. Measured: 1/200 at this seed; the
    limit 10/200 (5%) is 2.8 binomial SEs (1.5%) above it.
    """
    rng = np.random.default_rng(1)
    analyzer = DegradationAnalyzer()
    alarms = sum(
        analyzer.analyze(quality_trace(0.88 + ar1(rng, RETRAINS, 0.5, 0.006)))[0].failed
        for _ in range(N_NULL)
    )
    assert alarms / N_NULL <= 0.05


class _WorldRecordingTrueAuc:
    """A world that records its own ``true_auc`` (per group): the name the framework measures."""

    metrics = {"true_auc": "AUC per group", "approval_rate": "share approved"}

    @classmethod
    def has_population(cls) -> bool:
        return True


def test_a_world_metric_named_like_a_measured_one_is_refused():
    # Before, the monitor declared true_auc over the world's own series: the run crashed
    # mid-way (broadcasting 2 groups into 1 agent) or, with as many groups as agents,
    # the analyzer would have read the wrong numbers.
    with pytest.raises(
        ScenarioError, match=r"_WorldRecordingTrueAuc records its own metric 'true_auc'"
    ):
        RetrainMonitor({"quality"}).check(_WorldRecordingTrueAuc())
    RetrainMonitor({"training"}).check(_WorldRecordingTrueAuc())  # no clash: fine


def test_degradation_runs_on_the_lending_world():
    scenario = feedbacksim.load(SCENARIOS / "lending.yaml").with_overrides(
        {"analyzers": [{"kind": "degradation", "sample_size": 1000}], "horizon": 95}
    )
    results = scenario.run(replications=1, seed=3)
    trace = results.trace(0)
    # The framework measures per agent, the world per group, each under its own name.
    assert trace["true_auc"].groups == ("lender",)
    assert len(trace["group_auc"].groups) == 2
    # Pretraining and three retrains (t = 30, 60, 90): four measured models.
    assert trace["true_auc"].values.shape[0] >= 4
    assert 0.6 < trace["true_auc"].values[-1, 0] < 1.0
    (finding,) = results.findings
    assert finding.kind == "degradation" and finding.evidence["deployments"] >= 4
