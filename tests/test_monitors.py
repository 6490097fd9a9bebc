"""Monitors inside the loop, retraining on their alarms, and the monitoring analyzer's scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIOS

import feedbacksim
from feedbacksim.analyzers.monitoring import MonitoringAnalyzer, episodes, score_alarms
from feedbacksim.analyzers.monitors import Monitor, category_p_value, drift
from feedbacksim.core.trace import MetricSeries, Trace
from feedbacksim.errors import ScenarioError


def test_drift_statistics_and_chi_square():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 2000), rng.normal(0.5, 1, 2000)
    assert drift("ks", a, a[:1000]) < 0.05 < drift("ks", a, b)  # KS of a 0.5 SD shift: ~0.2
    assert drift("wasserstein", a, b) == pytest.approx(0.5, abs=0.06)
    same = pd.Series(rng.choice(list("abc"), 1000))
    moved = pd.Series(rng.choice(list("abc"), 1000, p=[0.6, 0.2, 0.2]))
    assert category_p_value(same, same.sample(500, random_state=1)) > 0.05
    assert category_p_value(same, moved) < 1e-6


def test_monitor_rejects_a_statistic_of_another_kind():
    with pytest.raises(ValueError, match="statistic must be one of auc"):
        Monitor("m", "performance", "psi", 0.1)


def test_on_alarm_must_name_a_monitor(tmp_path):
    text = (SCENARIOS / "monitoring.yaml").read_text()
    path = tmp_path / "bad.yaml"
    path.write_text(text.replace("on_alarm: [performance]", "on_alarm: [perf]"))
    with pytest.raises(ScenarioError, match="on_alarm names no monitor"):
        feedbacksim.load(path)


def test_alarms_are_events_and_metrics_and_trigger_retrains_after_the_cooldown():
    scenario = feedbacksim.load(SCENARIOS / "monitoring.yaml").with_overrides({"horizon": 170})
    trace = scenario.build(seed=1).run()
    alarm = trace["alarm:performance"]
    alarm_times = alarm.times[alarm.values[:, 0] > 0]
    events = [e for e in trace.events if e[1] == "alarm" and e[3].startswith("performance")]
    assert len(events) == alarm_times.size > 0
    retrains = np.array([e[0] for e in trace.events if e[1] == "retrain"])
    # The schedule is 180 days: every retrain after the first model is an alarm's.
    assert set(retrains[1:]) <= set(alarm_times)
    assert (np.diff(retrains[1:]) >= 15).all()  # cool-down
    # The concept shift starts at day 120; the performance monitor reads labels 10 days
    # late over a 20-day window, so it cannot alarm before day 130.
    assert retrains[1] > 125
    assert trace["monitor:inputs"].groups == ("checking_status", "duration_months", "credit_amount")


def _trace(truth_times, truth, alarms):
    metrics = {
        "holdout_auc": MetricSeries(
            "holdout_auc",
            ("all",),
            np.asarray(truth_times, float),
            np.asarray(truth, float)[:, None],
        )
    }
    for name, on in alarms.items():
        times = np.arange(len(on), dtype=float)
        metrics[f"alarm:{name}"] = MetricSeries(
            f"alarm:{name}", ("",), times, np.asarray(on, float)[:, None]
        )
    return Trace(metrics)


def test_monitoring_analyzer_delays_false_alarms_and_misses():
    days = np.arange(100)
    # Two episodes: [20, 40) and [70, 80).
    truth = np.where(((days >= 20) & (days < 40)) | ((days >= 70) & (days < 80)), 0.5, 0.8)
    fast = np.zeros(100)
    fast[[5, 6, 25, 26, 72]] = 1  # one false onset (5-6), delays 5 and 2
    slow = np.zeros(100)
    slow[[38, 90]] = 1  # delay 18, misses the second, one false alarm at 90
    trace = _trace(days, truth, {"fast": fast, "slow": slow})
    assert episodes(days, truth, 0.7) == [(20.0, 40.0), (70.0, 80.0)]
    finding = MonitoringAnalyzer(below=0.7, max_delay=10).analyze(trace)[0]
    ev = finding.evidence
    assert ev["monitors"]["fast"]["delays"] == [5.0, 2.0]
    assert ev["monitors"]["slow"]["delays"] == [18.0, None]
    assert ev["monitors"]["slow"]["missed"] == 1
    # 100 time units, 30 of them in episodes: 1 false onset in 70 -> 14.3 per 1,000.
    assert ev["monitors"]["fast"]["false_alarms_per_1000"] == pytest.approx(1000 / 70)
    assert ev["design"]["delays"] == [5.0, 2.0] and not finding.failed
    strict = MonitoringAnalyzer(below=0.7, max_delay=4).analyze(trace)[0]
    assert strict.failed  # 5 days > 4
    only_slow = MonitoringAnalyzer(below=0.7, monitors=["slow"]).analyze(trace)[0]
    assert only_slow.failed  # the second episode is missed
    summary = MonitoringAnalyzer(below=0.7).aggregate([finding, finding])
    assert summary["slow"]["missed_fraction"] == 0.5
    assert summary["fast"]["median_delay"] == 3.5


def test_score_alarms_counts_onsets_outside_episodes():
    out = score_alarms(np.array([1.0, 2.0, 50.0]), np.array([1.0, 50.0]), [(40.0, 60.0)], 100.0)
    assert out["delays"] == [10.0] and out["false_alarms"] == 1
    assert out["false_alarms_per_1000"] == pytest.approx(1000 / 80)


def test_monitor_names_are_unique_in_a_scenario(tmp_path):
    text = (SCENARIOS / "monitoring.yaml").read_text()
    path = tmp_path / "twice.yaml"
    path.write_text(text.replace("{name: predictions,", "{name: inputs,"))
    with pytest.raises(ScenarioError, match=r"monitor names must be unique.*\['inputs'\]"):
        feedbacksim.load(path)
