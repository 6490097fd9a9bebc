"""Runaway on synthetic traces: a drift away is caught, autocorrelated noise off the reference is not."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic import ar1, series, trace

from feedbacksim.analyzers import RunawayAnalyzer

N_NULL = 200


def test_linear_departure_is_detected_when_it_starts():
    rng = np.random.default_rng(0)
    n = 500
    # Shares of two regions: region 0 leaves 0.6 at t=100 and reaches 0.95 at the end.
    share0 = 0.6 + np.clip((np.arange(n) - 100) / 400 * 0.35, 0, None) + ar1(rng, n, 0.5, 0.01)
    t = trace(
        series("share", np.column_stack([share0, 1 - share0]), ["a", "b"]),
        series("truth", np.tile([0.6, 0.4], (n, 1)), ["a", "b"]),
    )
    findings = RunawayAnalyzer(metric="share", reference="truth", tolerance=0.1).analyze(t)
    assert [f.failed for f in findings] == [True, True]
    # The distance passes the tolerance at t = 100 + 0.1 / 0.35 * 400 = 214.
    assert 190 <= findings[0].first_detected_at <= 350  # noise SD 0.01 can cross a little early
    assert findings[0].statistic == pytest.approx(0.93 - 0.6, abs=0.03)
    assert findings[0].evidence["p_value"] < 0.05


def test_excursion_that_returns_is_not_a_runaway():
    n = 600
    bump = 0.3 * np.exp(-(((np.arange(n) - 200) / 60.0) ** 2))
    t = trace(series("m", 0.5 + bump))
    (finding,) = RunawayAnalyzer(metric="m", reference=0.5, tolerance=0.1).analyze(t)
    assert not finding.failed


@pytest.mark.slow
def test_false_alarms_on_autocorrelated_noise_beyond_tolerance():
    """200 stationary AR(1) series of 500 points offset 0.2 from the reference, tolerance 0.1.

    Every series is beyond the tolerance and persists, so only the trend test guards
    against a false alarm. Design rate <= alpha = 5% (AR(1)-corrected, Bonferroni over
    the checkpoints). Lag-1 autocorrelation 0.8 is the hard case (0.5 gave fewer alarms).
    Measured at this seed: 5/200; the limit 10/200 is the nominal 5%, about 1.6 binomial
    SEs (1.1%) above the measurement. The uncorrected Kendall test fires on far more.
    """
    rng = np.random.default_rng(1)
    analyzer = RunawayAnalyzer(metric="m", reference=0.0, tolerance=0.1)
    alarms = sum(
        analyzer.analyze(trace(series("m", 0.2 + ar1(rng, 500, 0.8, 0.03))))[0].failed
        for _ in range(N_NULL)
    )
    assert alarms / N_NULL <= 0.05


@pytest.mark.parametrize(
    "shape",
    [
        pytest.param(lambda t: 1.03**t, id="geometric"),
        pytest.param(lambda t: 2.0 * np.sqrt(t), id="sqrt"),
        pytest.param(lambda t: 5.0 / (1.0 + np.exp(-(t - 100) / 15.0)), id="logistic"),
    ],
)
def test_smooth_monotone_departures_are_detected(shape):
    """A distance that grows smoothly and monotonically (no noise) runs away, whatever its curvature.

    Such series have Kendall tau 1 in every window; when the trend test read their
    curvature as autocorrelation (the correction's residuals came from a straight-line
    fit), geometric growth and sqrt/logistic departures were never flagged.
    """
    t = np.arange(200, dtype=float)
    findings = RunawayAnalyzer(metric="m", reference=0.0, tolerance=1.0).analyze(
        trace(series("m", shape(t)))
    )
    assert findings[0].failed
    assert findings[0].evidence["p_value"] < 1e-4


def test_a_constant_metric_with_nothing_to_scale_by_is_inconclusive_not_a_crash():
    # No declared scale, a zero reference and no noise: a relative tolerance has no unit.
    t = trace(series("m", np.zeros(200)))
    findings = RunawayAnalyzer(metric="m", reference=0.0, tolerance={"relative": 0.1}).analyze(t)
    assert [f.inconclusive for f in findings] == [True]
    assert not findings[0].failed and "could not be judged" in findings[0].message
