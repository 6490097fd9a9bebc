"""Tolerances in the metric's own scale: a rescaled world that keeps its dynamics keeps its verdict."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from synthetic import ar1, series, trace

from feedbacksim.analyzers import DegradationAnalyzer, RunawayAnalyzer
from feedbacksim.analyzers.scales import noise_scale
from feedbacksim.core.trace import METRIC_SCALES
from feedbacksim.errors import ScenarioError
from feedbacksim.scenario import load, loads

ROOT = Path(__file__).resolve().parents[1]


def departing(
    rng: np.random.Generator, level: float, n: int = 400
) -> tuple[np.ndarray, np.ndarray]:
    """A metric leaving its reference ``level`` at t=100 by 40% of it, with AR(1) noise."""
    drift = np.clip((np.arange(n) - 100) / 300, 0, None) * 0.4 * level
    return level + drift + ar1(rng, n, 0.5, 0.01 * level), np.full(n, level)


@pytest.mark.parametrize("factor", [0.1, 1.0, 10.0, 1000.0])
def test_runaway_default_tolerance_follows_the_reference_level(factor):
    # The same departure at every level: the default tolerance (a tenth of the
    # reference's mean level) is crossed at the same time, so the verdict and the first
    # detection are the same; the departure reaches 0.4 level, four tolerances.
    metric, ref = departing(np.random.default_rng(3), 2.0 * factor)
    t = trace(series("m", metric), series("ref", ref))
    (finding,) = RunawayAnalyzer(metric="m", reference="ref").analyze(t)
    assert finding.failed
    assert finding.threshold == pytest.approx(0.2 * factor)
    assert finding.evidence["scale"] == pytest.approx(2.0 * factor)
    (base,) = RunawayAnalyzer(metric="m", reference="ref").analyze(
        trace(*(series(n, v / factor) for n, v in (("m", metric), ("ref", ref))))
    )
    assert finding.first_detected_at == base.first_detected_at


def test_runaway_stationary_metric_passes_at_every_level():
    # 5% off the reference (half the default tolerance), AR(1) noise of 1% of the level:
    # never a runaway, whatever the level.
    for factor in (0.01, 1.0, 100.0):
        rng = np.random.default_rng(4)
        m = factor * (1.05 + ar1(rng, 400, 0.8, 0.01))
        (finding,) = RunawayAnalyzer(metric="m", reference=factor).analyze(trace(series("m", m)))
        assert not finding.failed, finding.message


def test_declared_scale_wins_over_the_reference_level():
    # A share judged against 0.05 (one of twenty regions): the reference's level would
    # make the tolerance 0.005; the world's declared scale of a share (1) makes it 0.1.
    t = trace(series("share", np.linspace(0.05, 0.12, 300)))
    t.metadata[METRIC_SCALES] = {"share": 1.0}
    (finding,) = RunawayAnalyzer(metric="share", reference=0.05).analyze(t)
    assert finding.threshold == pytest.approx(0.1)
    assert not finding.failed  # 0.07 away at most: below a tenth of the share's range
    (by_level,) = RunawayAnalyzer(metric="share", reference=0.05, scale="reference").analyze(t)
    assert by_level.threshold == pytest.approx(0.005) and by_level.failed


def test_noise_scale_when_the_reference_is_zero():
    # Reference 0, no declared scale: the tolerance is relative to the noise SD, which the
    # differences estimate (0.3 here: white noise of SD 0.3 on a slow ramp). Measured
    # 0.283: the MAD of 2,000 (MA(1)-correlated) differences has an SE of about 3%; rel 0.1.
    rng = np.random.default_rng(5)
    m = np.linspace(0, 1, 2000) + 0.3 * rng.standard_normal(2000)
    assert noise_scale(m) == pytest.approx(0.3, rel=0.1)
    (finding,) = RunawayAnalyzer(metric="m", reference=0.0, tolerance={"relative": 2}).analyze(
        trace(series("m", m))
    )
    assert finding.threshold == pytest.approx(2 * noise_scale(m))


def test_absolute_tolerances_are_kept_as_written():
    t = trace(series("m", np.linspace(0, 1, 200)))
    bare = RunawayAnalyzer(metric="m", reference=0.0, tolerance=0.25).analyze(t)[0]
    unit = RunawayAnalyzer(
        metric="m", reference=0.0, tolerance={"absolute": 0.25, "unit": "units"}
    ).analyze(t)[0]
    assert bare.threshold == unit.threshold == 0.25
    assert "absolute, units" in unit.message


@pytest.mark.parametrize("factor", [0.1, 10.0])
def test_degradation_rmse_limit_is_relative_to_the_first_model(factor):
    # RMSE grows 10% from the first model (twice the default 5%): fails in any units;
    # 2% growth passes in any units (an absolute 0.05 would fail it at factor 10 and
    # miss the 10% growth at factor 0.1).
    times = np.arange(0, 300, 10.0)
    events = [(float(t), "retrain", "a", "") for t in times]
    for growth, fails in ((0.10, True), (0.02, False)):
        rmse = factor * (1.0 + growth * (times >= 150))
        t = trace(series("true_rmse", rmse, ["a"], times), events=events)
        (finding,) = DegradationAnalyzer(quality="rmse").analyze(t)
        assert finding.failed is fails, finding.message
        assert finding.threshold == pytest.approx(0.05 * factor)


def test_a_tolerance_mapping_is_checked_at_load():
    text = (ROOT / "scenarios" / "demand.yaml").read_text()
    bad = text.replace(
        "{kind: runaway, metric: forecast_ratio, reference: 1.0}",
        "{kind: runaway, metric: forecast_ratio, reference: 1.0, tolerance: {absolute: 0.1}}",
    )
    with pytest.raises(ScenarioError, match="needs its unit"):
        loads(bad, source=ROOT / "scenarios" / "demand.yaml")


def run_verdict(path: str, overrides: dict, replications: int = 1) -> str:
    scenario = load(ROOT / "scenarios" / path).with_overrides(overrides)
    return scenario.run(replications=replications, executor="serial").verdict


@pytest.mark.parametrize("eps, verdict", [(0.9, "pass"), (1.2, "fail")])
@pytest.mark.parametrize("factor", [1.0, 10.0])
def test_performative_verdict_is_invariant_to_units(eps, verdict, factor):
    # Outcomes N(mu + eps theta, sigma^2) from theta_0 = initial: multiplying mu, sigma and
    # the initial prediction by 10 multiplies theta, the stable point and every gap by 10
    # exactly (the same standard-normal draws), so the dynamics are the same in other
    # units. eps 0.9 settles (gap 0.42 after 30 rounds against a limit of a tenth of the
    # stable point, 1); eps 1.2 diverges from -5.
    overrides = {
        "environment.params.mu": 1.0 * factor,
        "environment.params.sigma": 1.0 * factor,
        "environment.params.eps": eps,
        "environment.params.samples_per_round": 2000,
        "agents.0.data.size": 2000,
    }
    assert run_verdict("performative.yaml", overrides) == verdict


@pytest.mark.parametrize("n", [400, 6000])
def test_runaway_verdict_holds_over_a_longer_horizon(n):
    # The same loop run 15x longer: the metric leaves 1 between t=100 and t=400 by 0.4
    # and stays there (saturated), with AR(1) noise (phi 0.5, SD 0.01). At n = 6000 the
    # window is 1,200 points (the O(n log n) slope selection path) and the rise is 300 of
    # them, still a clear trend at the first checkpoint after it; the stationary twin
    # (0.05 off, half the tolerance) passes at both horizons.
    rng = np.random.default_rng(8)
    rise = np.clip((np.arange(n) - 100) / 300, 0, 1) * 0.4
    (loop,) = RunawayAnalyzer(metric="m", reference=1.0).analyze(
        trace(series("m", 1.0 + rise + ar1(rng, n, 0.5, 0.01)))
    )
    assert loop.failed and loop.first_detected_at < 1500
    (still,) = RunawayAnalyzer(metric="m", reference=1.0).analyze(
        trace(series("m", 1.05 + ar1(rng, n, 0.5, 0.01)))
    )
    assert not still.failed
