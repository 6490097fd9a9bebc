"""Pricing worlds: the 2011 repricing war (deterministic) and the learned forecaster/pricer loop.

Learned case: with accurate models a deviation from equilibrium is multiplied each period
by ``1 - l - l * supply_slope / demand_slope`` (l = price smoothing). With supply slope
1.2 and no smoothing that is -1.2 (runs away); with 0.8 it is -0.8 and with smoothing 0.5
and slope 1.2 it is -0.1 (both settle). The tests run 10 replications of each region and
expect the runaway analyzer to fire in all of the first and in none of the others: with
noise SD 1 around an equilibrium of 45-56, a settled price stays within 0.05 of it (the
tolerance is 0.2), and a running-away one reaches the floor at 0 within 15 periods.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import feedbacksim

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
FACTOR_A, FACTOR_B = 0.9983, 1.270589


def test_repricing_war_multiplies_prices_by_1_268429_per_cycle():
    results = feedbacksim.load(SCENARIOS / "pricing.yaml").run(replications=1)
    trace = results.trace(0)
    price_b = trace["price"].group("b")
    ratios = price_b[1:] / price_b[:-1]
    assert np.allclose(ratios, 1.268429, rtol=0, atol=5e-7)
    assert round(FACTOR_A * FACTOR_B, 6) == 1.268429


def test_ceiling_crossing_cycle_and_analyzer_detection():
    results = feedbacksim.load(SCENARIOS / "pricing.yaml").run(replications=1)
    trace = results.trace(0)
    ceiling, start = 1000.0, 40.0
    # After cycle n seller B prices at start * factor^n: the first n above the ceiling.
    expected = math.floor(math.log(ceiling / start) / math.log(FACTOR_A * FACTOR_B)) + 1
    assert expected == 14
    times = trace["max_price"].times
    crossed = times[trace["max_price"].values[:, 0] > ceiling]
    assert crossed[0] == expected
    excess = trace["ceiling_excess"].values[:, 0]
    assert (excess[times < expected] == 0).all() and (excess[times >= expected] > 0).all()
    # The invariant analyzer checks every recorded cycle: it fires at the crossing itself.
    summary = results.summaries[0]
    assert summary.kind == "invariant"
    assert results.verdict == "fail" and summary.median_detection == expected


def test_price_guardrail_keeps_prices_under_the_ceiling():
    results = feedbacksim.load(SCENARIOS / "pricing_mitigated.yaml").run(replications=1)
    assert results.verdict == "pass"
    assert results.trace(0)["max_price"].values.max() <= 1000.0


def learned(overrides: dict) -> feedbacksim.Results:
    scenario = feedbacksim.load(SCENARIOS / "pricing_learned.yaml").with_overrides(
        {"horizon": 100, **overrides}
    )
    return scenario.run(replications=10, seed=3)


@pytest.mark.slow
def test_learned_pair_runs_away_when_supply_is_more_elastic_than_demand():
    results = learned({"environment.params.supply_slope": 1.2})
    assert results.summaries[0].failed_replications == 10
    # Growing oscillations end pinned between the price floor and about twice p*.
    assert (results.final("price_gap")[:, 0] > 0.9).all()


@pytest.mark.slow
def test_learned_pair_settles_when_supply_is_less_elastic_or_prices_are_smoothed():
    for overrides in (
        {"environment.params.supply_slope": 0.8},
        {"environment.params.supply_slope": 1.2, "environment.params.price_smoothing": 0.5},
    ):
        results = learned(overrides)
        assert results.summaries[0].failed_replications == 0, overrides
        assert (results.final("price_gap")[:, 0] < 0.05).all(), overrides
