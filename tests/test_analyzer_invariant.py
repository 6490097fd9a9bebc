"""Invariant on synthetic traces: first violation time and value, burn-in, duration, mixed time axes."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic import ar1, series, trace

from feedbacksim.analyzers import InvariantAnalyzer
from feedbacksim.core.registry import registry

N_NULL = 200


def shares(first_violation: int, n: int = 100):
    share0 = np.full(n, 0.7)
    share0[first_violation:] = 0.95
    return series("patrol_share", np.column_stack([share0, 1 - share0]), ["0", "1"])


def test_first_violation_time_and_values():
    (finding,) = InvariantAnalyzer(condition="max(patrol_share) <= 0.9").analyze(trace(shares(40)))
    assert finding.failed and finding.first_detected_at == 40.0
    assert finding.evidence["values"] == pytest.approx(
        {"patrol_share[0]": 0.95, "patrol_share[1]": 0.05}
    )
    assert "t=40" in finding.message


def test_after_is_a_burn_in_and_for_a_duration():
    share0 = np.full(100, 0.7)
    share0[5:8] = 0.95  # early and short
    share0[50:54] = 0.95  # 4 ticks: lasts 3 time units
    share0[70:] = 0.95  # lasts 29 time units
    t = trace(series("patrol_share", np.column_stack([share0, 1 - share0]), ["0", "1"]))
    check = "max(patrol_share) <= 0.9"
    assert InvariantAnalyzer(condition=check).analyze(t)[0].first_detected_at == 5.0
    assert InvariantAnalyzer(condition=check, after=10).analyze(t)[0].first_detected_at == 50.0
    long = InvariantAnalyzer(condition=check, after=10, for_=5).analyze(t)[0]
    assert long.first_detected_at == 70.0 and long.statistic == 29.0


def test_for_is_spelled_for_in_a_scenario():
    analyzer = registry.get("analyzer", "invariant").build(
        {"condition": "m <= 1", "for": 3.0}, name="inv"
    )
    assert analyzer.for_ == 3.0


def test_group_selector_and_metrics_on_other_time_axes():
    daily = series("acceptance_rate", np.full(100, 0.3), ["A"])
    # Measured at retrains only (every 10 days from t=5): carried forward between them.
    auc = series(
        "true_auc",
        [0.9, 0.9, 0.9, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6],
        ["lender"],
        times=np.arange(5, 100, 10),
    )
    analyzer = InvariantAnalyzer(
        condition="true_auc[group=lender] >= 0.7 and acceptance_rate >= 0.1"
    )
    (finding,) = analyzer.analyze(trace(daily, auc))
    assert finding.failed and finding.first_detected_at == 35.0  # ticks 0-4 have no AUC yet
    assert analyzer.required_metrics() == {"acceptance_rate"}  # true_auc is measured, not recorded


def test_non_boolean_condition_is_rejected():
    with pytest.raises(ValueError, match="not a comparison"):
        InvariantAnalyzer(condition="max(patrol_share)")


def test_no_false_alarms_on_noise_inside_the_bounds():
    """200 AR(1) series (phi 0.9, SD 0.02) around 0.6 against ``m <= 0.75`` (7.5 SDs):
    a deterministic rule, so the only alarms are genuine excursions; measured 0/200."""
    rng = np.random.default_rng(0)
    analyzer = InvariantAnalyzer(condition="m <= 0.75")
    alarms = sum(
        analyzer.analyze(trace(series("m", 0.6 + ar1(rng, 500, 0.9, 0.02))))[0].failed
        for _ in range(N_NULL)
    )
    assert alarms / N_NULL <= 0.05
